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

// CreateUser inserts u. The unique index on lower(email) decides
// duplicates, so concurrent registrations of one address cannot both win.
func (s *Store) CreateUser(ctx context.Context, u domain.User) error {
	id, ok := userUUID(u.ID())
	if !ok {
		return fmt.Errorf("postgres: create user: id %q is not a canonical UUID", u.ID())
	}
	err := s.q.CreateUser(ctx, sqlcdb.CreateUserParams{
		ID:           id,
		Email:        u.Email().String(),
		Name:         u.Name(),
		Role:         u.Role().String(),
		PasswordHash: u.PasswordHash(),
		CreatedAt:    u.CreatedAt(),
	})
	return s.translate("create user", err)
}

// UserByEmail finds a user by case-folded email.
func (s *Store) UserByEmail(ctx context.Context, email domain.Email) (domain.User, error) {
	row, err := s.q.UserByEmail(ctx, email.String())
	if err != nil {
		return domain.User{}, s.translate("user by email", err)
	}
	return userFromRow(sqlcdb.UserByIDRow(row))
}

// UserByID finds a user by id; an id that is not a canonical UUID names no user.
func (s *Store) UserByID(ctx context.Context, id domain.UserID) (domain.User, error) {
	uid, ok := userUUID(id)
	if !ok {
		return domain.User{}, fmt.Errorf("postgres: user by id: %w", domain.ErrNotFound)
	}
	row, err := s.q.UserByID(ctx, uid)
	if err != nil {
		return domain.User{}, s.translate("user by id", err)
	}
	return userFromRow(row)
}

// UpdatePasswordHash swaps oldHash for newHash in one statement (see the
// UpdatePasswordHash query); no row is a stale oldHash
// (domain.ErrPasswordChanged) or an unknown user (domain.ErrNotFound).
func (s *Store) UpdatePasswordHash(ctx context.Context, id domain.UserID, oldHash, newHash string) error {
	const op = "update password hash"
	uid, ok := userUUID(id)
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	n, err := s.q.UpdatePasswordHash(ctx, sqlcdb.UpdatePasswordHashParams{NewHash: newHash, ID: uid, OldHash: oldHash})
	if err != nil {
		return s.translate(op, err)
	}
	if n == 0 {
		return s.noSwap(ctx, s.q, op, uid)
	}
	return nil
}

// noSwap explains a compare-and-swap of a password hash that found no row:
// domain.ErrNotFound when the user does not exist, else
// domain.ErrPasswordChanged.
func (s *Store) noSwap(ctx context.Context, q *sqlcdb.Queries, op string, uid uuid.UUID) error {
	exists, err := q.UserExists(ctx, uid)
	switch {
	case err != nil:
		return s.translate(op+": look up user", err)
	case !exists:
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	default:
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrPasswordChanged)
	}
}

// SetRole changes the role and sets updated_at to now; an unknown user is
// domain.ErrNotFound, an unknown role the CHECK constraint's error.
func (s *Store) SetRole(ctx context.Context, id domain.UserID, role domain.Role, now time.Time) error {
	uid, ok := userUUID(id)
	if !ok {
		return fmt.Errorf("postgres: set role: %w", domain.ErrNotFound)
	}
	n, err := s.q.SetRole(ctx, sqlcdb.SetRoleParams{Role: role.String(), Now: now, ID: uid})
	if err != nil {
		return s.translate("set role", err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: set role: %w", domain.ErrNotFound)
	}
	return nil
}

// ListUsers reads one keyset page (see the ListUsers query).
func (s *Store) ListUsers(ctx context.Context, f ports.UserFilter) ([]domain.User, error) {
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
	rows, err := s.q.ListUsers(ctx, sqlcdb.ListUsersParams{After: after, EmailContains: f.EmailContains, MaxRows: int32(f.Limit)})
	if err != nil {
		return nil, s.translate("list users", err)
	}
	users := make([]domain.User, 0, len(rows))
	for _, r := range rows {
		u, err := userFromRow(sqlcdb.UserByIDRow(r))
		if err != nil {
			return nil, err
		}
		users = append(users, u)
	}
	return users, nil
}

func userFromRow(r sqlcdb.UserByIDRow) (domain.User, error) {
	role, err := domain.ParseRole(r.Role)
	if err != nil {
		// The CHECK constraint makes this unreachable short of a schema drift.
		return domain.User{}, fmt.Errorf("postgres: user %s: %w", r.ID, err)
	}
	return domain.RehydrateUser(
		domain.UserID(r.ID.String()),
		domain.RehydrateEmail(r.Email),
		r.Name,
		role,
		r.PasswordHash,
		r.CreatedAt,
	), nil
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
