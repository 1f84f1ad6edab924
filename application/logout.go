package application

import (
	"context"
	"errors"
	"fmt"

	"github.com/authd/authd/domain"
)

// ErrNothingToRevoke: logout named neither a refresh token nor an access token.
var ErrNothingToRevoke = errors.New("logout: a refresh token or a bearer access token is required")

// LogoutInput names the session to end: by refresh token, or by the
// session of an already verified access token.
type LogoutInput struct {
	RefreshToken string
	// Principal is set when the request carried a valid bearer token.
	Principal *Principal
}

// Logout revokes the session on the server, not just in the client. It is
// idempotent: an unknown, spent or already revoked token is not an error, so
// a retried logout never fails.
func (s *Service) Logout(ctx context.Context, in LogoutInput) error {
	now := s.clock.Now()
	switch {
	case in.RefreshToken != "":
		hash, err := domain.ParseRefreshToken(in.RefreshToken)
		if err != nil {
			// A malformed token names no session: nothing to revoke.
			return nil
		}
		if err := s.sessions.RevokeSessionByRefreshToken(ctx, hash, now); err != nil {
			return fmt.Errorf("logout: %w", err)
		}
	case in.Principal != nil:
		if err := s.sessions.RevokeSession(ctx, in.Principal.SessionID, now); err != nil {
			return fmt.Errorf("logout: %w", err)
		}
	default:
		return ErrNothingToRevoke
	}
	return nil
}
