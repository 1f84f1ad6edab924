package ports

import (
	"context"
	"time"

	"github.com/authd/authd/domain"
)

// LoginThrottle keeps the per-account brute-force counts
// (domain.ThrottlePolicy). Keys are digests of emails, so unknown emails
// are throttled exactly like known ones. Each call is atomic on its own:
// the counts are not part of any transaction, so a refused login still
// counts.
type LoginThrottle interface {
	// ClaimLoginAttempt applies policy.Claim to key's state atomically and
	// returns whether the attempt is admitted and until when key is locked.
	ClaimLoginAttempt(ctx context.Context, key domain.ThrottleKey, now time.Time, policy domain.ThrottlePolicy) (admitted bool, lockedUntil time.Time, err error)
	// ResetLoginAttempts forgets key (its owner proved the password).
	ResetLoginAttempts(ctx context.Context, key domain.ThrottleKey) error
	// MarkLockAudited reports whether this call is the first to see the
	// lock of key in force at now, and notes that it was: the one refusal
	// of a lock period that is recorded as login_throttled, across
	// replicas and restarts. False when no lock is in force.
	MarkLockAudited(ctx context.Context, key domain.ThrottleKey, now time.Time) (bool, error)
	// ReleaseLoginAttempt gives back one admitted attempt whose password
	// was never checked: the count drops by one, the lock stays.
	ReleaseLoginAttempt(ctx context.Context, key domain.ThrottleKey, now time.Time) error
	// PruneLoginThrottle forgets up to b.Limit of the keys a claim would
	// start afresh (window over, lock ended); Done when it found fewer.
	PruneLoginThrottle(ctx context.Context, now time.Time, policy domain.ThrottlePolicy, b PruneBatch) (PruneResult, error)
}
