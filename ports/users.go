package ports

import (
	"context"
	"time"

	"github.com/authd/authd/domain"
)

// Users stores identities. Email uniqueness (case-insensitive) is enforced
// by the store itself, never by a read-then-write in a use case.
type Users interface {
	// CreateUser inserts u; a duplicate email is domain.ErrEmailTaken.
	CreateUser(ctx context.Context, u domain.User) error
	// UserByEmail and UserByID return domain.ErrNotFound for no such user.
	UserByEmail(ctx context.Context, email domain.Email) (domain.User, error)
	UserByID(ctx context.Context, id domain.UserID) (domain.User, error)
	// SetRole changes the role (an unknown role is an error and changes
	// nothing); domain.ErrNotFound for no such user.
	SetRole(ctx context.Context, id domain.UserID, role domain.Role, now time.Time) error
	// SetEmail moves the user to email, verified or not; an email another
	// user has is domain.ErrEmailTaken (decided by the store's unique
	// index), no such user domain.ErrNotFound.
	SetEmail(ctx context.Context, id domain.UserID, email domain.Email, verified bool, now time.Time) error
	// MarkEmailVerified records that the user proved the current address;
	// domain.ErrNotFound for no such user.
	MarkEmailVerified(ctx context.Context, id domain.UserID, now time.Time) error
	// ListUsers returns at most filter.Limit users in ascending id order
	// (UUIDv7: oldest first), after filter.After: a keyset cursor. A limit
	// below 1 or an After that is not a UUID is an error.
	ListUsers(ctx context.Context, filter UserFilter) ([]domain.User, error)
}

// UserFilter selects a page of users.
type UserFilter struct {
	// EmailContains matches case-insensitively as plain text; empty keeps all.
	EmailContains string
	After         domain.UserID
	Limit         int
}
