package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authd/authd/adapters/postgres/internal/sqlcdb"
	"github.com/authd/authd/domain"
)

// SetPassword inserts or replaces the user's credential in one statement;
// the foreign key, not a read first, tells an unknown user
// (domain.ErrNotFound through translate).
func (r *repos) SetPassword(ctx context.Context, user domain.UserID, hash string, now time.Time) error {
	const op = "set password"
	uid, ok := userUUID(user)
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	return r.translate(op, r.q.SetPassword(ctx, sqlcdb.SetPasswordParams{UserID: uid, Hash: hash, Now: now}))
}

// PasswordHash returns the stored hash; no credential (or no user) is
// domain.ErrNotFound.
func (r *repos) PasswordHash(ctx context.Context, user domain.UserID) (string, error) {
	const op = "password hash"
	uid, ok := userUUID(user)
	if !ok {
		return "", fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	hash, err := r.q.PasswordHash(ctx, uid)
	if err != nil {
		return "", r.translate(op, err)
	}
	return hash, nil
}

// SwapPasswordHash is one compare-and-swap statement (see the
// SwapPasswordHash query), which also says why nothing was swapped: no
// credential is domain.ErrNotFound, another hash domain.ErrPasswordChanged.
// Inside a transaction the UPDATE's row lock lasts until it ends, which is
// what makes a password change exclusive with a login's HoldPassword.
func (r *repos) SwapPasswordHash(ctx context.Context, user domain.UserID, oldHash, newHash string, now time.Time) error {
	const op = "swap password hash"
	uid, ok := userUUID(user)
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	row, err := r.q.SwapPasswordHash(ctx, sqlcdb.SwapPasswordHashParams{UserID: uid, OldHash: oldHash, NewHash: newHash, Now: now})
	switch {
	case err != nil:
		return r.translate(op, err)
	case row.Swapped:
		return nil
	case !row.HasCredential:
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	default:
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrPasswordChanged)
	}
}

// HoldPassword locks the credential FOR SHARE provided its hash still is
// hash (see the HoldPassword query); no such row, for whatever reason, is
// domain.ErrPasswordChanged: the password the caller checked is not the
// account's (any more).
func (r *repos) HoldPassword(ctx context.Context, user domain.UserID, hash string) error {
	const op = "hold password"
	uid, ok := userUUID(user)
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrPasswordChanged)
	}
	_, err := r.q.HoldPassword(ctx, sqlcdb.HoldPasswordParams{UserID: uid, Hash: hash})
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrPasswordChanged)
	}
	return r.translate(op, err)
}
