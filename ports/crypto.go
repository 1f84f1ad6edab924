package ports

import (
	"context"
	"time"

	"github.com/authd/authd/domain"
)

// PasswordVerdict is the outcome of checking a password against a hash.
type PasswordVerdict struct {
	Match bool
	// NeedsRehash: the hash uses outdated parameters; replace it now that
	// the plaintext is known to be right.
	NeedsRehash bool
}

// PasswordHasher hashes and verifies passwords. Both are deliberately slow
// and may return domain.ErrUnavailable (with RetryAfter) when the hashing
// capacity is saturated.
type PasswordHasher interface {
	Hash(ctx context.Context, password domain.Password) (string, error)
	Verify(ctx context.Context, password domain.Password, encoded string) (PasswordVerdict, error)
}

// Admission is implemented by a hasher that can tell cheaply, before any
// other work, that it would refuse a hash now, so an overloaded server
// sheds a login before spending store round trips on it.
type Admission interface {
	Admit() error
}

// RetryAfter is implemented by errors that know when a retry may succeed.
type RetryAfter interface {
	RetryAfter() time.Duration
}

var _ RetryAfter = (*domain.ThrottledError)(nil)

// TokenIssuer signs access tokens; it sets the lifetime, issue time and
// token id itself and reports them in the returned claims.
type TokenIssuer interface {
	IssueAccessToken(ctx context.Context, claims domain.AccessClaims) (string, domain.AccessClaims, error)
}

// TokenVerifier checks access tokens; every failure is domain.ErrInvalidToken.
type TokenVerifier interface {
	VerifyAccessToken(ctx context.Context, token string) (domain.AccessClaims, error)
}
