package application

import (
	"context"
	"errors"
	"fmt"

	"github.com/authd/authd/domain"
)

// ErrNothingToRevoke: logout named neither a refresh token nor an access token.
var ErrNothingToRevoke = errors.New("logout: a refresh token or a bearer access token is required")

// LogoutInput names the session(s) to end: by refresh token, by the
// session of an already verified access token, or both.
type LogoutInput struct {
	RefreshToken string
	// Principal is set when the request carried a valid bearer token.
	Principal *Principal
}

// Logout revokes the session on the server, not just in the client. It is
// idempotent: an unknown, spent or already revoked token is not an error, so
// a retried logout never fails.
func (s *Service) Logout(ctx context.Context, in LogoutInput) error {
	if in.RefreshToken == "" && in.Principal == nil {
		return ErrNothingToRevoke
	}
	now := s.clock.Now()
	if in.RefreshToken != "" {
		// A malformed token names no session: nothing to revoke by it.
		if hash, err := domain.ParseRefreshToken(in.RefreshToken); err == nil {
			if err := s.sessions.RevokeSessionByRefreshToken(ctx, hash, now); err != nil {
				return fmt.Errorf("logout: %w", err)
			}
		}
	}
	if in.Principal != nil {
		if err := s.sessions.RevokeSession(ctx, in.Principal.SessionID, now); err != nil {
			return fmt.Errorf("logout: %w", err)
		}
	}
	return nil
}
