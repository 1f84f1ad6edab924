package domain

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"time"
)

// Session is one login: a family of refresh tokens of which at most one is
// live at a time. Revoking the session kills every token of the family.
type Session struct {
	id        SessionID
	userID    UserID
	createdAt time.Time
	revokedAt time.Time // zero while active
}

// NewSession starts a session for a user.
func NewSession(id SessionID, user UserID, now time.Time) Session {
	return Session{id: id, userID: user, createdAt: now.UTC()}
}

// RehydrateSession rebuilds a session from storage.
func RehydrateSession(id SessionID, user UserID, createdAt, revokedAt time.Time) Session {
	return Session{id: id, userID: user, createdAt: createdAt.UTC(), revokedAt: revokedAt.UTC()}
}

func (s Session) ID() SessionID        { return s.id }
func (s Session) UserID() UserID       { return s.userID }
func (s Session) CreatedAt() time.Time { return s.createdAt }
func (s Session) RevokedAt() time.Time { return s.revokedAt }
func (s Session) Active() bool         { return s.revokedAt.IsZero() }

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
	IssuedAt  time.Time
	ExpiresAt time.Time
}
