package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd/adapters/sqlite/internal/sqlcdb"
	"github.com/authd/authd/domain"
)

// SetPassword inserts or replaces the user's credential in one statement;
// the foreign key, not a read first, tells an unknown user
// (domain.ErrNotFound).
func (r *repos) SetPassword(ctx context.Context, user domain.UserID, hash string, now time.Time) error {
	const op = "set password"
	if !canonicalID(string(user)) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	err := r.w.SetPassword(ctx, sqlcdb.SetPasswordParams{UserID: string(user), Hash: hash, Now: micros(now)})
	if isForeignKeyViolation(err) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	return r.translate(op, err)
}

// PasswordHash returns the stored hash; no credential (or no user) is
// domain.ErrNotFound.
func (r *repos) PasswordHash(ctx context.Context, user domain.UserID) (string, error) {
	const op = "password hash"
	if !canonicalID(string(user)) {
		return "", fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	hash, err := r.r.PasswordHash(ctx, string(user))
	if err != nil {
		return "", r.translate(op, err)
	}
	return hash, nil
}

// errNoSwap carries the reason a compare-and-swap wrote nothing out of
// the write transaction (which it rolls back: there is nothing to undo,
// but nothing to commit either).
type errNoSwap struct{ reason error }

func (e errNoSwap) Error() string { return e.reason.Error() }

// SwapPasswordHash is a compare-and-swap in one write transaction (see the
// SwapPasswordHash query): no credential is domain.ErrNotFound, another
// hash domain.ErrPasswordChanged. Inside WithinTx the write lock the
// transaction holds keeps the new hash until it ends.
func (r *repos) SwapPasswordHash(ctx context.Context, user domain.UserID, oldHash, newHash string, now time.Time) error {
	const op = "swap password hash"
	if !canonicalID(string(user)) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	err := r.atomically(ctx, op, func(q *sqlcdb.Queries) error {
		n, err := q.SwapPasswordHash(ctx, sqlcdb.SwapPasswordHashParams{NewHash: newHash, Now: micros(now), UserID: string(user), OldHash: oldHash})
		if err != nil || n > 0 {
			return r.translate(op, err)
		}
		has, err := q.HasPasswordCredential(ctx, string(user))
		switch {
		case err != nil:
			return r.translate(op, err)
		case !has:
			return errNoSwap{domain.ErrNotFound}
		default:
			return errNoSwap{domain.ErrPasswordChanged}
		}
	})
	var ns errNoSwap
	if errors.As(err, &ns) {
		return fmt.Errorf("sqlite: %s: %w", op, ns.reason)
	}
	return err
}

// HoldPassword checks that the hash still is hash; no such row, for
// whatever reason, is domain.ErrPasswordChanged. Inside WithinTx the
// transaction's write lock (BEGIN IMMEDIATE) keeps it so until the
// transaction ends: a concurrent SwapPasswordHash, in a transaction of its
// own, waits for the writer.
func (r *repos) HoldPassword(ctx context.Context, user domain.UserID, hash string) error {
	const op = "hold password"
	if !canonicalID(string(user)) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrPasswordChanged)
	}
	_, err := r.r.HoldPassword(ctx, sqlcdb.HoldPasswordParams{UserID: string(user), Hash: hash})
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrPasswordChanged)
	}
	return r.translate(op, err)
}
