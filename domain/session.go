package domain

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"slices"
	"time"
)

// Session is one login: a family of refresh tokens of which at most one is
// live at a time. Revoking the session kills every token of the family.
// Besides revocation a session ends by policy (see SessionPolicy): when it
// has not been used for the idle timeout, or has reached its maximum age.
type Session struct {
	id         SessionID
	userID     UserID
	createdAt  time.Time
	lastUsedAt time.Time // the login, then the latest refresh
	revokedAt  time.Time // zero while active
	client     ClientInfo
	// methods are the factors proven when the session was opened; its
	// tokens carry them as "amr", and its creation as "auth_time".
	methods []AuthMethod
}

// NewSession opens a session for what auth proved, at now, for client.
func NewSession(id SessionID, auth Authentication, now time.Time, client ClientInfo) Session {
	now = now.UTC()
	return Session{
		id: id, userID: auth.User().ID(), createdAt: now, lastUsedAt: now, client: client.Clean(),
		methods: auth.Methods(),
	}
}

// RehydrateSession rebuilds a session from storage.
func RehydrateSession(id SessionID, user UserID, createdAt, lastUsedAt, revokedAt time.Time, client ClientInfo, methods []AuthMethod) Session {
	return Session{
		id: id, userID: user, createdAt: createdAt.UTC(), lastUsedAt: lastUsedAt.UTC(), revokedAt: revokedAt.UTC(),
		client: client, methods: methods,
	}
}

func (s Session) ID() SessionID         { return s.id }
func (s Session) UserID() UserID        { return s.userID }
func (s Session) CreatedAt() time.Time  { return s.createdAt }
func (s Session) LastUsedAt() time.Time { return s.lastUsedAt }
func (s Session) RevokedAt() time.Time  { return s.revokedAt }
func (s Session) Client() ClientInfo    { return s.client }
func (s Session) IP() string            { return s.client.IP }
func (s Session) UserAgent() string     { return s.client.UserAgent }
func (s Session) Active() bool          { return s.revokedAt.IsZero() }
func (s Session) Methods() []AuthMethod { return slices.Clone(s.methods) }

// AuthTime is when the user authenticated: the session opens at once.
func (s Session) AuthTime() time.Time { return s.createdAt }

// Used returns s as used at now by client (a refresh).
func (s Session) Used(now time.Time, client ClientInfo) Session {
	s.lastUsedAt = now.UTC()
	s.client = client.Clean()
	return s
}

// Revoked returns s ended at now; an earlier revocation keeps its time.
func (s Session) Revoked(now time.Time) Session {
	if s.revokedAt.IsZero() {
		s.revokedAt = now.UTC()
	}
	return s
}

// SessionPolicy bounds a session's life beyond revocation (OWASP session
// management: an idle timeout and an absolute timeout). A zero field sets no
// limit; the application always configures both.
type SessionPolicy struct {
	// IdleTimeout ends a session not used (logged in to or refreshed) for this long.
	IdleTimeout time.Duration
	// MaxAge ends a session this long after the login that started it,
	// however active it is.
	MaxAge time.Duration
	// ReuseLeeway, when positive, forgives a spent refresh token presented
	// again within this long of its spending (two tabs, or two parallel
	// requests, refreshing one token): DecideRotation answers
	// RotationSibling instead of RotationReuse. Zero is strict reuse
	// detection. At most MaxReuseLeeway (see Validate).
	ReuseLeeway time.Duration
}

// MaxReuseLeeway bounds SessionPolicy.ReuseLeeway: within it a thief
// holding a just-spent token gets a live one without revoking anything.
const MaxReuseLeeway = time.Minute

// Validate refuses a policy with a negative limit or a reuse leeway above
// MaxReuseLeeway.
func (p SessionPolicy) Validate() error {
	switch {
	case p.IdleTimeout < 0, p.MaxAge < 0:
		return fmt.Errorf("session policy: negative timeout")
	case p.ReuseLeeway < 0:
		return fmt.Errorf("session policy: negative refresh reuse leeway %s", p.ReuseLeeway)
	case p.ReuseLeeway > MaxReuseLeeway:
		return fmt.Errorf("session policy: refresh reuse leeway %s exceeds %s", p.ReuseLeeway, MaxReuseLeeway)
	}
	return nil
}

// Usable reports whether s may be used at now: not revoked, now before
// last use + IdleTimeout and before creation + MaxAge.
func (p SessionPolicy) Usable(s Session, now time.Time) bool {
	switch {
	case !s.Active():
		return false
	case p.IdleTimeout > 0 && !now.Before(s.lastUsedAt.Add(p.IdleTimeout)):
		return false
	case p.MaxAge > 0 && !now.Before(s.createdAt.Add(p.MaxAge)):
		return false
	}
	return true
}

// UsedAfter is the earliest last-use time a session may have to be usable
// at now (now - IdleTimeout); zero when there is no idle limit. Stores
// compare last_used_at > UsedAfter.
func (p SessionPolicy) UsedAfter(now time.Time) time.Time {
	if p.IdleTimeout <= 0 {
		return time.Time{}
	}
	return now.Add(-p.IdleTimeout)
}

// CreatedAfter is the earliest creation time a session may have to be
// usable at now (now - MaxAge); zero when there is no age limit.
func (p SessionPolicy) CreatedAfter(now time.Time) time.Time {
	if p.MaxAge <= 0 {
		return time.Time{}
	}
	return now.Add(-p.MaxAge)
}

// CapExpiry returns t, or the end of the session's maximum age if that
// comes first: no refresh token outlives its session.
func (p SessionPolicy) CapExpiry(createdAt, t time.Time) time.Time {
	if p.MaxAge <= 0 {
		return t
	}
	if end := createdAt.Add(p.MaxAge); end.Before(t) {
		return end
	}
	return t
}

// refreshTokenBytes is the entropy of a refresh token: 256 bits.
const refreshTokenBytes = 32

// RefreshTokenHash is the SHA-256 digest of a refresh token; only the
// digest is ever stored. A fast hash is right here: the token has 256 bits
// of entropy, so it cannot be guessed, only stolen.
type RefreshTokenHash [sha256.Size]byte

// Equal compares in constant time.
func (h RefreshTokenHash) Equal(o RefreshTokenHash) bool {
	return subtle.ConstantTimeCompare(h[:], o[:]) == 1
}

// RefreshToken is a newly minted opaque token: the plaintext, shown to the
// client once, and its digest, kept by the store.
type RefreshToken struct {
	plain     string
	hash      RefreshTokenHash
	expiresAt time.Time
}

// NewRefreshToken draws 256 bits from random and encodes them base64url.
func NewRefreshToken(random io.Reader, now time.Time, ttl time.Duration) (RefreshToken, error) {
	var b [refreshTokenBytes]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return RefreshToken{}, fmt.Errorf("refresh token entropy: %w", err)
	}
	plain := base64.RawURLEncoding.EncodeToString(b[:])
	return RefreshToken{plain: plain, hash: sha256.Sum256([]byte(plain)), expiresAt: now.Add(ttl).UTC()}, nil
}

// ParseRefreshToken checks the shape of a presented token and returns its
// digest. Anything that is not 32 base64url bytes is ErrInvalidRefreshToken.
func ParseRefreshToken(presented string) (RefreshTokenHash, error) {
	b, err := base64.RawURLEncoding.DecodeString(presented)
	if err != nil || len(b) != refreshTokenBytes {
		return RefreshTokenHash{}, ErrInvalidRefreshToken
	}
	return sha256.Sum256([]byte(presented)), nil
}

func (t RefreshToken) Plaintext() string      { return t.plain }
func (t RefreshToken) Hash() RefreshTokenHash { return t.hash }
func (t RefreshToken) ExpiresAt() time.Time   { return t.expiresAt }
func (RefreshToken) String() string           { return "[REDACTED]" }
func (RefreshToken) GoString() string         { return "[REDACTED]" }

// IssuedRefreshToken is what the store keeps of a refresh token.
type IssuedRefreshToken struct {
	Hash      RefreshTokenHash
	SessionID SessionID
	ExpiresAt time.Time
}

// Record returns the storable form of t for a session.
func (t RefreshToken) Record(session SessionID) IssuedRefreshToken {
	return IssuedRefreshToken{Hash: t.hash, SessionID: session, ExpiresAt: t.expiresAt}
}

// AccessClaims is what an access token asserts, independent of its encoding.
type AccessClaims struct {
	UserID    UserID
	SessionID SessionID
	Role      Role
	// Methods ("amr") and AuthTime ("auth_time") say how and when the user
	// authenticated; they stay those of the login across refreshes.
	Methods   []AuthMethod
	AuthTime  time.Time
	IssuedAt  time.Time
	ExpiresAt time.Time
}
