package ports

import (
	"context"
	"time"

	"github.com/authd/authd/domain"
)

// Sessions stores sessions and their refresh-token families.
type Sessions interface {
	// CreateSession stores s with its first refresh token.
	CreateSession(ctx context.Context, s domain.Session, first domain.IssuedRefreshToken) error
	// RefreshToken returns the token with digest hash, its session and the
	// session's owner; domain.ErrNotFound for an unknown token. Inside a
	// transaction the token and the session stay locked until it ends:
	// the read of a rotation (domain.SessionPolicy.DecideRotation).
	RefreshToken(ctx context.Context, hash domain.RefreshTokenHash) (domain.RefreshTokenRecord, domain.Session, domain.User, error)
	// Rotate stores an allowed rotation: spends r.Spent, adds r.Next to the
	// session and records the session's use.
	Rotate(ctx context.Context, r domain.Rotation) error
	// SessionByID returns the session, revoked or not, with its owner, in
	// one read: every request that must see a logout at once makes it.
	SessionByID(ctx context.Context, id domain.SessionID) (domain.Session, domain.User, error)
	// SessionsOfUser returns at most limit of the user's sessions usable at
	// now under policy, newest first (creation, then id, descending).
	SessionsOfUser(ctx context.Context, user domain.UserID, now time.Time, policy domain.SessionPolicy, limit int) ([]domain.Session, error)
	// RevokeSession ends a session; an unknown or ended one is not an error.
	RevokeSession(ctx context.Context, id domain.SessionID, now time.Time) error
	// RevokeSessions ends every active session of user but keep (which may
	// be empty) and returns how many it ended; concurrent calls count each
	// session once.
	RevokeSessions(ctx context.Context, user domain.UserID, keep domain.SessionID, now time.Time) (int, error)
}
