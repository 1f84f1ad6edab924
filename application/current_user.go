package application

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd/domain"
)

// Principal is the caller proven by an access token.
type Principal struct {
	UserID    domain.UserID
	SessionID domain.SessionID
	Role      domain.Role
	ExpiresAt time.Time
}

// Authenticate verifies an access token's signature and claims. It is
// stateless (no store access), so any backend holding the JWKS could do the
// same; endpoints that must see a logout at once also call CurrentUser.
func (s *Service) Authenticate(ctx context.Context, accessToken string) (Principal, error) {
	c, err := s.verifier.VerifyAccessToken(ctx, accessToken)
	if err != nil {
		return Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	return Principal{UserID: c.UserID, SessionID: c.SessionID, Role: c.Role, ExpiresAt: c.ExpiresAt}, nil
}

// CurrentUser returns the caller's account, after checking that the
// token's session is still active: a logged-out session's access token is
// refused here at once, not only when it expires.
//
// The session and its owner are one read (SessionByID), so this is one
// round trip to the store.
func (s *Service) CurrentUser(ctx context.Context, p Principal) (domain.User, error) {
	session, owner, err := s.sessions.SessionByID(ctx, p.SessionID)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return domain.User{}, fmt.Errorf("current user: session or account gone: %w", domain.ErrInvalidToken)
	case err != nil:
		return domain.User{}, fmt.Errorf("current user: %w", err)
	case !session.Active() || session.UserID() != p.UserID || owner.ID() != p.UserID:
		return domain.User{}, fmt.Errorf("current user: session ended: %w", domain.ErrInvalidToken)
	}
	return owner, nil
}
