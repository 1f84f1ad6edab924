package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authd/authd/adapters/postgres/internal/sqlcdb"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// ClaimLoginAttempt runs policy.Claim as one INSERT ... ON CONFLICT DO
// UPDATE (see the ClaimLoginAttempt query): the decision and the count are
// one atomic step on the key's row, so concurrent claims cannot overrun the
// policy. A refused claim reads the lock back to say when to retry; if by
// then no lock is in force (a successful login reset the key in between),
// it claims once more rather than refuse a claim nothing now locks.
func (s *Store) ClaimLoginAttempt(ctx context.Context, key domain.ThrottleKey, now time.Time, policy domain.ThrottlePolicy) (bool, time.Time, error) {
	const op = "claim login attempt"
	if err := policy.Validate(); err != nil {
		return false, time.Time{}, err
	}
	delays := policy.Delays()
	us := make([]int64, len(delays))
	for i, d := range delays {
		us[i] = d.Microseconds()
	}
	for try := 0; ; try++ {
		row, err := s.lazyQ.ClaimLoginAttempt(ctx, sqlcdb.ClaimLoginAttemptParams{
			EmailKey: key[:],
			Now:      now,
			DelaysUs: us,
			WindowUs: policy.Window.Microseconds(),
		})
		if err == nil {
			return true, row.LockedUntil, nil
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return false, time.Time{}, s.translate(op, err)
		}
		locked, err := s.lazyQ.LoginThrottleLockedUntil(ctx, sqlcdb.LoginThrottleLockedUntilParams{EmailKey: key[:], Now: now})
		switch {
		case errors.Is(err, pgx.ErrNoRows), err == nil && !locked.After(now):
			if try == 0 {
				continue // reset in between: claim again
			}
			return false, now, nil
		case err != nil:
			return false, time.Time{}, s.translate(op+": read lock", err)
		}
		return false, locked, nil
	}
}

// MarkLockAudited claims the recording of key's lock in force at now (see
// the MarkLockAudited query).
func (s *Store) MarkLockAudited(ctx context.Context, key domain.ThrottleKey, now time.Time) (bool, error) {
	n, err := s.lazyQ.MarkLockAudited(ctx, sqlcdb.MarkLockAuditedParams{EmailKey: key[:], Now: now})
	if err != nil {
		return false, s.translate("mark lock audited", err)
	}
	return n == 1, nil
}

// ResetLoginAttempts deletes the key's row.
func (s *Store) ResetLoginAttempts(ctx context.Context, key domain.ThrottleKey) error {
	return s.translate("reset login attempts", s.lazyQ.ResetLoginAttempts(ctx, key[:]))
}

// ReleaseLoginAttempt gives back one unevaluated attempt (see the port).
func (s *Store) ReleaseLoginAttempt(ctx context.Context, key domain.ThrottleKey, now time.Time) error {
	err := s.lazyQ.ReleaseLoginAttempt(ctx, sqlcdb.ReleaseLoginAttemptParams{Key: key[:], Now: now})
	return s.translate("release login attempt", err)
}

// PruneLoginThrottle deletes the keys a claim would start afresh (see the
// port).
func (s *Store) PruneLoginThrottle(ctx context.Context, now time.Time, policy domain.ThrottlePolicy, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune login throttle"
	limit, err := pruneLimit(op, b)
	if err != nil {
		return ports.PruneResult{}, err
	}
	n, err := s.lazyQ.PruneLoginThrottle(ctx, sqlcdb.PruneLoginThrottleParams{Now: now, WindowUs: policy.Window.Microseconds(), MaxRows: limit})
	return pruned(s, op, n, limit, err)
}
