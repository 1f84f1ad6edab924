package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"time"

	"github.com/authd/authd/adapters/sqlite/internal/sqlcdb"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// CreateUser inserts u. The unique index on the email key decides
// duplicates, so concurrent registrations of one address cannot both win.
func (r *repos) CreateUser(ctx context.Context, u domain.User) error {
	if !canonicalID(string(u.ID())) {
		return fmt.Errorf("sqlite: create user: id %q is not a canonical UUID", u.ID())
	}
	err := r.w.CreateUser(ctx, sqlcdb.CreateUserParams{
		ID:            string(u.ID()),
		Email:         u.Email().String(),
		EmailKey:      u.Email().Key(),
		EmailVerified: boolInt(u.EmailVerified()),
		Name:          u.Name(),
		Role:          u.Role().String(),
		CreatedAt:     micros(u.CreatedAt()),
	})
	return r.translate("create user", err)
}

// UserByEmail finds a user by the email's key.
func (r *repos) UserByEmail(ctx context.Context, email domain.Email) (domain.User, error) {
	row, err := r.r.UserByEmail(ctx, email.Key())
	if err != nil {
		return domain.User{}, r.translate("user by email", err)
	}
	return userFromRow(sqlcdb.UserByIDRow(row))
}

// UserByID finds a user by id; an id that is not a canonical UUID names no user.
func (r *repos) UserByID(ctx context.Context, id domain.UserID) (domain.User, error) {
	if !canonicalID(string(id)) {
		return domain.User{}, fmt.Errorf("sqlite: user by id: %w", domain.ErrNotFound)
	}
	row, err := r.r.UserByID(ctx, string(id))
	if err != nil {
		return domain.User{}, r.translate("user by id", err)
	}
	return userFromRow(row)
}

// SetRole changes the role and sets updated_at to now; an unknown user is
// domain.ErrNotFound, an unknown role the CHECK constraint's error.
func (r *repos) SetRole(ctx context.Context, id domain.UserID, role domain.Role, now time.Time) error {
	if !canonicalID(string(id)) {
		return fmt.Errorf("sqlite: set role: %w", domain.ErrNotFound)
	}
	n, err := r.w.SetRole(ctx, sqlcdb.SetRoleParams{Role: role.String(), Now: micros(now), ID: string(id)})
	if err != nil {
		return r.translate("set role", err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: set role: %w", domain.ErrNotFound)
	}
	return nil
}

// ListUsers reads one keyset page (see the ListUsers query).
func (r *repos) ListUsers(ctx context.Context, f ports.UserFilter) ([]domain.User, error) {
	if f.Limit < 1 || f.Limit > math.MaxInt32 {
		return nil, fmt.Errorf("sqlite: list users: limit %d out of range", f.Limit)
	}
	if f.After != "" && !canonicalID(string(f.After)) {
		return nil, fmt.Errorf("sqlite: list users: cursor %q is not a canonical UUID", f.After)
	}
	rows, err := r.r.ListUsers(ctx, sqlcdb.ListUsersParams{After: string(f.After), EmailContains: f.EmailContains, MaxRows: int64(f.Limit)})
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

// userFromRow rebuilds a user from the columns every user query returns.
func userFromRow(r sqlcdb.UserByIDRow) (domain.User, error) {
	role, err := domain.ParseRole(r.Role)
	if err != nil {
		// The CHECK constraint makes this unreachable short of a schema drift.
		return domain.User{}, fmt.Errorf("sqlite: user %s: %w", r.ID, err)
	}
	return domain.RehydrateUser(
		domain.UserID(r.ID),
		domain.RehydrateEmail(r.Email, r.EmailKey),
		r.EmailVerified != 0,
		r.Name,
		role,
		fromMicros(r.CreatedAt),
	).WithMFAEnabled(r.MfaEnabled != 0), nil
}

// canonicalID reports a canonical lower-case UUID, the only form of id the
// stores know (domain.ParseUserID's rule, the same for every kind of id):
// anything else names nothing.
func canonicalID(s string) bool {
	_, err := domain.ParseUserID(s)
	return err == nil
}

// micros is t as stored: microseconds since the epoch (truncated, like
// Postgres's timestamptz; UnixMicro floors).
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros is a stored time, in UTC.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// nullMicros stores the zero time as NULL.
func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: micros(t), Valid: true}
}

// fromNullMicros reads NULL as the zero time.
func fromNullMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

func boolInt(b bool) int64 {
	if b {
		return 1
	}
	return 0
}
