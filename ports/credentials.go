package ports

import (
	"context"
	"time"

	"github.com/authd/authd/domain"
)

// Passwords stores the password credential of users, apart from the users
// themselves: an account may have none.
type Passwords interface {
	// SetPassword gives user a password hash, replacing any; domain.ErrNotFound
	// for no such user.
	SetPassword(ctx context.Context, user domain.UserID, hash string, now time.Time) error
	// PasswordHash returns the user's hash; domain.ErrNotFound when the user
	// has no password (or does not exist).
	PasswordHash(ctx context.Context, user domain.UserID) (string, error)
	// SwapPasswordHash writes newHash only over oldHash, atomically: a
	// stored hash other than oldHash is domain.ErrPasswordChanged, a user
	// without a password domain.ErrNotFound, and neither changes anything. Inside a transaction the credential stays locked
	// until it ends.
	SwapPasswordHash(ctx context.Context, user domain.UserID, oldHash, newHash string, now time.Time) error
	// HoldPassword checks that the stored hash still is hash
	// (domain.ErrPasswordChanged otherwise, no password included) and, inside a transaction,
	// keeps it so until the transaction ends: a concurrent
	// SwapPasswordHash waits. A login opens its session under it, so a
	// password change either sees the session (and revokes it) or makes
	// the login fail.
	HoldPassword(ctx context.Context, user domain.UserID, hash string) error
}
