package postgres

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/adapters/postgres/internal/sqlcdb"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// CreateUser inserts u. The unique index on the email key decides
// duplicates, so concurrent registrations of one address cannot both win.
func (r *repos) CreateUser(ctx context.Context, u domain.User) error {
	id, ok := userUUID(u.ID())
	if !ok {
		return fmt.Errorf("postgres: create user: id %q is not a canonical UUID", u.ID())
	}
	err := r.q.CreateUser(ctx, sqlcdb.CreateUserParams{
		ID:            id,
		Email:         u.Email().String(),
		EmailKey:      u.Email().Key(),
		EmailVerified: u.EmailVerified(),
		Name:          u.Name(),
		Role:          u.Role().String(),
		CreatedAt:     u.CreatedAt(),
	})
	return r.translate("create user", err)
}

// UserByEmail finds a user by the email's key.
func (r *repos) UserByEmail(ctx context.Context, email domain.Email) (domain.User, error) {
	row, err := r.q.UserByEmail(ctx, email.Key())
	if err != nil {
		return domain.User{}, r.translate("user by email", err)
	}
	return userFromRow(sqlcdb.UserByIDRow(row))
}

// UserByID finds a user by id; an id that is not a canonical UUID names no user.
func (r *repos) UserByID(ctx context.Context, id domain.UserID) (domain.User, error) {
	uid, ok := userUUID(id)
	if !ok {
		return domain.User{}, fmt.Errorf("postgres: user by id: %w", domain.ErrNotFound)
	}
	row, err := r.q.UserByID(ctx, uid)
	if err != nil {
		return domain.User{}, r.translate("user by id", err)
	}
	return userFromRow(row)
}

// SetRole changes the role and sets updated_at to now; an unknown user is
// domain.ErrNotFound, an unknown role the CHECK constraint's error.
func (r *repos) SetRole(ctx context.Context, id domain.UserID, role domain.Role, now time.Time) error {
	uid, ok := userUUID(id)
	if !ok {
		return fmt.Errorf("postgres: set role: %w", domain.ErrNotFound)
	}
	n, err := r.q.SetRole(ctx, sqlcdb.SetRoleParams{Role: role.String(), Now: now, ID: uid})
	if err != nil {
		return r.translate("set role", err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: set role: %w", domain.ErrNotFound)
	}
	return nil
}

// ListUsers reads one keyset page (see the ListUsers query).
func (r *repos) ListUsers(ctx context.Context, f ports.UserFilter) ([]domain.User, error) {
	if f.Limit < 1 || f.Limit > math.MaxInt32 {
		return nil, fmt.Errorf("postgres: list users: limit %d out of range", f.Limit)
	}
	var after *uuid.UUID
	if f.After != "" {
		u, ok := userUUID(f.After)
		if !ok {
			return nil, fmt.Errorf("postgres: list users: cursor %q is not a canonical UUID", f.After)
		}
		after = &u
	}
	rows, err := r.q.ListUsers(ctx, sqlcdb.ListUsersParams{After: after, EmailContains: f.EmailContains, MaxRows: int32(f.Limit)})
	if err != nil {
		return nil, r.translate("list users", err)
	}
	users := make([]domain.User, 0, len(rows))
	for _, row := range rows {
		u, err := userFromRow(sqlcdb.UserByIDRow(row))
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, nil
}

// userFromRow rebuilds a user from the columns every user query returns
// (their row types convert to this one; the joined session queries fill
// it field by field).
func userFromRow(r sqlcdb.UserByIDRow) (domain.User, error) {
	role, err := domain.ParseRole(r.Role)
	if err != nil {
		// The CHECK constraint makes this unreachable short of a schema drift.
		return domain.User{}, fmt.Errorf("postgres: user %s: %w", r.ID, err)
	}
	return domain.RehydrateUser(
		domain.UserID(r.ID.String()),
		domain.RehydrateEmail(r.Email, r.EmailKey),
		r.EmailVerified,
		r.Name,
		role,
		r.CreatedAt,
	).WithMFAEnabled(r.MfaEnabled), nil
}

// userUUID converts an id to the column type. Only the canonical lower-case
// form is accepted, the same rule domain.ParseUserID and the memory store
// apply, so both stores agree on which ids exist.
func userUUID(id domain.UserID) (uuid.UUID, bool) {
	if _, err := domain.ParseUserID(string(id)); err != nil {
		return uuid.UUID{}, false
	}
	u, err := uuid.Parse(string(id))
	return u, err == nil
}

func sessionUUID(id domain.SessionID) (uuid.UUID, bool) {
	if _, err := domain.ParseSessionID(string(id)); err != nil {
		return uuid.UUID{}, false
	}
	u, err := uuid.Parse(string(id))
	return u, err == nil
}
