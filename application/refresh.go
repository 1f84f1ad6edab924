package application

import (
	"context"
	"errors"
	"fmt"

	"github.com/authd/authd/domain"
)

// RefreshInput is a refresh request as the transport received it.
type RefreshInput struct {
	RefreshToken string
	// Client is who asked: it becomes the session's latest client.
	Client domain.ClientInfo
}

// Refresh spends a refresh token and returns a new pair (RFC 9700 rotation).
// The spend, the issue of the successor and the session's "last used" are
// one atomic store operation; presenting a spent token revokes the whole
// session. A session idle for Config.SessionIdleTTL or older than
// Config.SessionMaxAge is refused like an expired token
// (domain.ErrInvalidRefreshToken), and the new refresh token never outlives
// the session's maximum age.
func (s *Service) Refresh(ctx context.Context, in RefreshInput) (TokenPair, error) {
	if in.RefreshToken == "" {
		v := &domain.ValidationError{}
		v.Add("refresh_token", domain.CodeRequired, "refresh_token is required")
		return TokenPair{}, fmt.Errorf("refresh: %w", v)
	}
	hash, err := domain.ParseRefreshToken(in.RefreshToken)
	if err != nil {
		return TokenPair{}, fmt.Errorf("refresh: %w", err)
	}
	client := in.Client.Clean()
	now := s.clock.Now()
	next, err := domain.NewRefreshToken(s.random, now, s.refreshTTL)
	if err != nil {
		return TokenPair{}, fmt.Errorf("refresh: %w", err)
	}
	// The "refreshed" event is written by the rotation itself, in its
	// transaction (see ports.SessionRepository.RotateRefreshToken).
	var event *domain.AuditEvent
	if s.audit != nil {
		event = &domain.AuditEvent{ID: s.ids.NewEventID(), At: now, Type: domain.EventRefreshed, Client: client}
	}
	session, u, err := s.sessions.RotateRefreshToken(ctx, hash, next.Record(""), now, s.sessionPolicy, client, event)
	if errors.Is(err, domain.ErrRefreshTokenReused) {
		s.record(ctx, now, domain.AuditEvent{
			Type: domain.EventRefreshReuseDetected, UserID: session.UserID(), SessionID: session.ID(),
			Client: client, Detail: detailReuseRevokedSession,
		})
	}
	if err != nil {
		return TokenPair{}, fmt.Errorf("refresh: %w", err)
	}
	pair, err := s.issuePair(ctx, u, session.ID(), next, s.sessionPolicy.CapExpiry(session.CreatedAt(), next.ExpiresAt()), now)
	if err != nil {
		return TokenPair{}, fmt.Errorf("refresh: %w", err)
	}
	return pair, nil
}
