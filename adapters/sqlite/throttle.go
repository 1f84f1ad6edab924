package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/authd/authd/adapters/sqlite/internal/sqlcdb"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// ClaimLoginAttempt applies policy.Claim to the key's state in one write
// transaction: read, decide in Go, write back. Writers are serial (the
// transaction holds the write lock from BEGIN IMMEDIATE, across processes
// too), so concurrent claims cannot overrun the policy. The throttle is
// never part of a WithinTx transaction: its counts must survive a failed
// login.
func (s *Store) ClaimLoginAttempt(ctx context.Context, key domain.ThrottleKey, now time.Time, policy domain.ThrottlePolicy) (bool, time.Time, error) {
	const op = "claim login attempt"
	if err := policy.Validate(); err != nil {
		return false, time.Time{}, err
	}
	now = fromMicros(micros(now)) // the stored resolution, so every store decides alike
	var admitted bool
	var lockedUntil time.Time
	err := s.atomically(ctx, op, func(q *sqlcdb.Queries) error {
		var st domain.ThrottleState
		row, err := q.LoginThrottleState(ctx, key[:])
		switch {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return s.translate(op, err)
		default:
			st = domain.ThrottleState{Failures: int(row.Failures), WindowStart: fromMicros(row.WindowStart), LockedUntil: fromMicros(row.LockedUntil)}
		}
		next, ok := policy.Claim(st, now)
		admitted, lockedUntil = ok, fromMicros(micros(next.LockEnd(now)))
		if !ok {
			return nil
		}
		return s.translate(op, q.PutLoginThrottleState(ctx, sqlcdb.PutLoginThrottleStateParams{
			EmailKey:    key[:],
			Failures:    int64(next.Failures),
			WindowStart: micros(next.WindowStart),
			LockedUntil: micros(next.LockedUntil),
		}))
	})
	if err != nil {
		return false, time.Time{}, err
	}
	return admitted, lockedUntil, nil
}

// MarkLockAudited claims the recording of key's lock in force at now (see
// the MarkLockAudited query).
func (s *Store) MarkLockAudited(ctx context.Context, key domain.ThrottleKey, now time.Time) (bool, error) {
	n, err := s.w.MarkLockAudited(ctx, sqlcdb.MarkLockAuditedParams{EmailKey: key[:], Now: micros(now)})
	if err != nil {
		return false, s.translate("mark lock audited", err)
	}
	return n == 1, nil
}

// ResetLoginAttempts deletes the key's row.
func (s *Store) ResetLoginAttempts(ctx context.Context, key domain.ThrottleKey) error {
	return s.translate("reset login attempts", s.w.ResetLoginAttempts(ctx, key[:]))
}

// ReleaseLoginAttempt gives back one unevaluated attempt (see the port):
// two statements on disjoint rows in one write transaction.
func (s *Store) ReleaseLoginAttempt(ctx context.Context, key domain.ThrottleKey, now time.Time) error {
	const op = "release login attempt"
	return s.atomically(ctx, op, func(q *sqlcdb.Queries) error {
		if err := q.ForgetReleasedLoginAttempt(ctx, sqlcdb.ForgetReleasedLoginAttemptParams{EmailKey: key[:], Now: micros(now)}); err != nil {
			return s.translate(op, err)
		}
		return s.translate(op, q.DecrementLoginAttempts(ctx, key[:]))
	})
}

// PruneLoginThrottle deletes the keys a claim would start afresh (see the
// port).
func (s *Store) PruneLoginThrottle(ctx context.Context, now time.Time, policy domain.ThrottlePolicy, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune login throttle"
	if err := pruneLimit(op, b); err != nil {
		return ports.PruneResult{}, err
	}
	n, err := s.w.PruneLoginThrottle(ctx, sqlcdb.PruneLoginThrottleParams{Now: micros(now), WindowUs: policy.Window.Microseconds(), MaxRows: int64(b.Limit)})
	return pruned(s, op, n, b, err)
}
