package domain

import "time"

// RefreshTokenRecord is what a store keeps of one refresh token.
type RefreshTokenRecord struct {
	Hash      RefreshTokenHash
	SessionID SessionID
	ExpiresAt time.Time
	SpentAt   time.Time // zero while unspent
}

// Live reports whether the token may still be presented at now: unspent
// and unexpired. Its session decides the rest.
func (t RefreshTokenRecord) Live(now time.Time) bool {
	return t.SpentAt.IsZero() && t.ExpiresAt.After(now)
}

// RotationVerdict is what presenting a refresh token leads to.
type RotationVerdict int

const (
	// RotationRefused: the token is expired, or its session is revoked,
	// idle too long or too old. Nothing changes.
	RotationRefused RotationVerdict = iota
	// RotationAllowed: spend the token, issue its successor.
	RotationAllowed
	// RotationReuse: the token was already spent. Someone holds a copy, so
	// the whole session is revoked (RFC 9700 section 4.14.2).
	RotationReuse
)

// DecideRotation is the one rule of refresh-token rotation; stores apply
// its verdict atomically, with the token and its session locked. A revoked
// session refuses before reuse is considered (nothing is left to revoke),
// and a spent token is reuse even once expired: the copy is still a theft.
func (p SessionPolicy) DecideRotation(t RefreshTokenRecord, s Session, now time.Time) RotationVerdict {
	switch {
	case !s.Active():
		return RotationRefused
	case !t.SpentAt.IsZero():
		return RotationReuse
	case !t.ExpiresAt.After(now), !p.Usable(s, now):
		return RotationRefused
	}
	return RotationAllowed
}

// Rotation is an allowed rotation, ready to store: spend Spent, add Next
// to Session, and record the session's use at At by Client.
type Rotation struct {
	Spent   RefreshTokenHash
	Next    IssuedRefreshToken
	Session SessionID
	At      time.Time
	Client  ClientInfo
}

// Rotate returns the rotation of t in s at now: the successor's expiry is
// capped at the session's end, and s is the session as used.
func (p SessionPolicy) Rotate(t RefreshTokenRecord, s Session, next RefreshToken, now time.Time, client ClientInfo) (Rotation, Session) {
	rec := next.Record(s.ID())
	rec.ExpiresAt = p.CapExpiry(s.CreatedAt(), rec.ExpiresAt)
	return Rotation{Spent: t.Hash, Next: rec, Session: s.ID(), At: now.UTC(), Client: client.Clean()}, s.Used(now, client)
}
