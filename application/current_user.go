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
// token's session is still usable: a logged-out session's access token is
// refused here at once, not only when it expires, and so is one of a
// session past its idle timeout or maximum age (domain.ErrInvalidToken).
//
// The session and its owner are one read (SessionByID), so this is one
// round trip to the store.
func (s *Service) CurrentUser(ctx context.Context, p Principal) (domain.User, error) {
	_, owner, err := s.liveSession(ctx, p, s.clock.Now())
	if err != nil {
		return domain.User{}, fmt.Errorf("current user: %w", err)
	}
	return owner, nil
}

// liveSession returns the principal's session and its owner when the
// session is usable at now and belongs to the principal; otherwise
// domain.ErrInvalidToken (a storage failure stays what it is). Every use
// case that acts for a bearer on the server side starts here, so an access
// token outliving its session's logout cannot manage sessions or the
// password.
func (s *Service) liveSession(ctx context.Context, p Principal, now time.Time) (domain.Session, domain.User, error) {
	session, owner, err := s.sessions.SessionByID(ctx, p.SessionID)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return domain.Session{}, domain.User{}, fmt.Errorf("session or account gone: %w", domain.ErrInvalidToken)
	case err != nil:
		return domain.Session{}, domain.User{}, err
	case session.UserID() != p.UserID || owner.ID() != p.UserID:
		return domain.Session{}, domain.User{}, fmt.Errorf("session of another account: %w", domain.ErrInvalidToken)
	case !session.Active():
		return domain.Session{}, domain.User{}, fmt.Errorf("session ended: %w", domain.ErrInvalidToken)
	case !s.sessionPolicy.Usable(session, now):
		return domain.Session{}, domain.User{}, fmt.Errorf("session idle or too old: %w", domain.ErrInvalidToken)
	}
	return session, owner, nil
}
