package domain

import (
	"fmt"
	"time"
)

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
	// RotationSibling: the token was already spent, but within the policy's
	// ReuseLeeway of its spending (a client that refreshed twice at once).
	// The token stays spent and its successor live; a sibling, a new token
	// in the same session, is issued beside it. Nothing is revoked.
	RotationSibling
)

// String names the verdict for test failures and logs.
func (v RotationVerdict) String() string {
	switch v {
	case RotationRefused:
		return "refused"
	case RotationAllowed:
		return "allowed"
	case RotationReuse:
		return "reuse"
	case RotationSibling:
		return "sibling"
	}
	return fmt.Sprintf("RotationVerdict(%d)", int(v))
}

// DecideRotation is the one rule of refresh-token rotation; stores apply
// its verdict atomically, with the token and its session locked. A revoked
// session refuses before reuse is considered (nothing is left to revoke).
// A spent token is reuse, even once expired (the copy is still a theft),
// unless the policy has a ReuseLeeway and the token was spent at most that
// long before now: then it is a sibling, if the token and the session
// would still be good for a rotation, and refused otherwise (an expired
// token or an ended session is not evidence of theft within the leeway).
func (p SessionPolicy) DecideRotation(t RefreshTokenRecord, s Session, now time.Time) RotationVerdict {
	switch {
	case !s.Active():
		return RotationRefused
	case !t.SpentAt.IsZero() && !p.withinLeeway(t.SpentAt, now):
		return RotationReuse
	case !t.ExpiresAt.After(now), !p.Usable(s, now):
		return RotationRefused
	case !t.SpentAt.IsZero():
		return RotationSibling
	}
	return RotationAllowed
}

// withinLeeway reports whether a token spent at spentAt and presented at
// now is within the reuse leeway: now - spentAt <= ReuseLeeway. A spending
// "after" now (clocks of two replicas) counts as within.
func (p SessionPolicy) withinLeeway(spentAt, now time.Time) bool {
	return p.ReuseLeeway > 0 && !now.After(spentAt.Add(p.ReuseLeeway))
}

// Rotation is an allowed rotation, ready to store: spend Spent (or, for a
// sibling, check that it is a spent token of Session and leave it so), add
// Next to Session, and record the session's use at At by Client.
type Rotation struct {
	Spent   RefreshTokenHash
	Next    IssuedRefreshToken
	Session SessionID
	At      time.Time
	Client  ClientInfo
	// Sibling: Spent was already spent (RotationSibling); Next is issued
	// beside its successor, and nothing is spent.
	Sibling bool
}

// Spends reports whether storing r spends r.Spent.
func (r Rotation) Spends() bool { return !r.Sibling }

// Rotate returns the rotation of t in s at now: the successor's expiry is
// capped at the session's end, and s is the session as used. A t already
// spent (verdict RotationSibling) yields a sibling rotation.
func (p SessionPolicy) Rotate(t RefreshTokenRecord, s Session, next RefreshToken, now time.Time, client ClientInfo) (Rotation, Session) {
	rec := next.Record(s.ID())
	rec.ExpiresAt = p.CapExpiry(s.CreatedAt(), rec.ExpiresAt)
	return Rotation{Spent: t.Hash, Next: rec, Session: s.ID(), At: now.UTC(), Client: client.Clean(), Sibling: !t.SpentAt.IsZero()},
		s.Used(now, client)
}
