package application

import (
	"context"
	"fmt"

	"github.com/authd/authd/domain"
)

// Refresh spends a refresh token and returns a new pair (RFC 9700 rotation).
// The spend and the issue of the successor are one atomic store operation;
// presenting a spent token revokes the whole session.
func (s *Service) Refresh(ctx context.Context, presented string) (TokenPair, error) {
	if presented == "" {
		v := &domain.ValidationError{}
		v.Add("refresh_token", domain.CodeRequired, "refresh_token is required")
		return TokenPair{}, fmt.Errorf("refresh: %w", v)
	}
	hash, err := domain.ParseRefreshToken(presented)
	if err != nil {
		return TokenPair{}, fmt.Errorf("refresh: %w", err)
	}
	now := s.clock.Now()
	next, err := domain.NewRefreshToken(s.random, now, s.refreshTTL)
	if err != nil {
		return TokenPair{}, fmt.Errorf("refresh: %w", err)
	}
	session, u, err := s.sessions.RotateRefreshToken(ctx, hash, next.Record(""), now)
	if err != nil {
		return TokenPair{}, fmt.Errorf("refresh: %w", err)
	}
	pair, err := s.issuePair(ctx, u, session.ID(), next, now)
	if err != nil {
		return TokenPair{}, fmt.Errorf("refresh: %w", err)
	}
	return pair, nil
}
