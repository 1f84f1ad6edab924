package sessions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
)

// MaxListed is the most sessions List returns: the newest.
const MaxListed = 100

// View is one of the caller's sessions as the caller may see it.
type View struct {
	ID         domain.SessionID
	CreatedAt  time.Time
	LastUsedAt time.Time
	UserAgent  string
	IP         string
	// Current: the session of the access token that asked.
	Current bool
}

// List returns the caller's usable sessions, newest first, at most
// MaxListed. The caller's own session must be usable (else
// domain.ErrInvalidToken).
func (s *Service) List(ctx context.Context, p application.Principal) ([]View, error) {
	if _, _, err := s.Live(ctx, p); err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	sessions, err := s.sessions.SessionsOfUser(ctx, p.UserID, s.clock.Now(), s.policy, MaxListed)
	if err != nil {
		return nil, fmt.Errorf("list sessions: %w", err)
	}
	views := make([]View, len(sessions))
	for i, sess := range sessions {
		views[i] = View{
			ID: sess.ID(), CreatedAt: sess.CreatedAt(), LastUsedAt: sess.LastUsedAt(),
			UserAgent: sess.UserAgent(), IP: sess.IP(), Current: sess.ID() == p.SessionID,
		}
	}
	return views, nil
}

// RevokeInput names one of the caller's sessions to end.
type RevokeInput struct {
	Principal application.Principal
	// SessionID is as the client sent it: anything that is not one of the
	// caller's session ids is domain.ErrNotFound.
	SessionID string
	Client    domain.ClientInfo
}

// Revoke ends one of the caller's sessions, the current one included (a
// logout). An id that does not exist, is malformed or is another
// account's is one answer, domain.ErrNotFound, so ids cannot be probed.
// Revoking an already ended session of the caller's is not an error.
func (s *Service) Revoke(ctx context.Context, in RevokeInput) error {
	if _, _, err := s.Live(ctx, in.Principal); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	id, err := domain.ParseSessionID(in.SessionID)
	if err != nil {
		return fmt.Errorf("revoke session: %w", domain.ErrNotFound)
	}
	target, _, err := s.sessions.SessionByID(ctx, id)
	switch {
	case errors.Is(err, domain.ErrNotFound), err == nil && target.UserID() != in.Principal.UserID:
		return fmt.Errorf("revoke session: %w", domain.ErrNotFound)
	case err != nil:
		return fmt.Errorf("revoke session: %w", err)
	}
	now := s.clock.Now()
	if err := s.sessions.RevokeSession(ctx, id, now); err != nil {
		return fmt.Errorf("revoke session: %w", err)
	}
	s.audit.Record(ctx, domain.AuditEvent{
		At: now, Type: domain.EventSessionRevoked, UserID: in.Principal.UserID, SessionID: id,
		Client: in.Client, Detail: application.DetailByOwner,
	})
	return nil
}
