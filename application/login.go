package application

import (
	"context"
	"errors"
	"fmt"

	"github.com/authd/authd/domain"
)

// LoginInput is a login request as the transport received it.
type LoginInput struct {
	Email    string
	Password string
}

// Login checks the credentials and opens a session. An unknown email and a
// wrong password give the same domain.ErrInvalidCredentials after the same
// work (one password hash); a storage or hashing failure is never reported
// as bad credentials.
func (s *Service) Login(ctx context.Context, in LoginInput) (TokenPair, error) {
	v := &domain.ValidationError{}
	email, err := domain.NewEmail(in.Email)
	if err := domain.MergeValidation(v, err); err != nil {
		return TokenPair{}, err
	}
	password, err := domain.LoginPassword(in.Password)
	if err := domain.MergeValidation(v, err); err != nil {
		return TokenPair{}, err
	}
	if err := v.Err(); err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}

	u, err := s.users.UserByEmail(ctx, email)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		if _, err := s.hasher.Verify(ctx, password, s.dummyHash); err != nil {
			return TokenPair{}, fmt.Errorf("login: %w", err)
		}
		return TokenPair{}, fmt.Errorf("login: %w", domain.ErrInvalidCredentials)
	case err != nil:
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}

	verdict, err := s.hasher.Verify(ctx, password, u.PasswordHash())
	if err != nil {
		return TokenPair{}, fmt.Errorf("login: verify password: %w", err)
	}
	if !verdict.Match {
		return TokenPair{}, fmt.Errorf("login: %w", domain.ErrInvalidCredentials)
	}
	if verdict.NeedsRehash {
		// Best effort: the login is already proven; a failed upgrade is
		// retried on the next login and must not lock the user out.
		if hash, err := s.hasher.Hash(ctx, password); err == nil {
			_ = s.users.UpdatePasswordHash(ctx, u.ID(), hash)
		}
	}

	now := s.clock.Now()
	session := domain.NewSession(s.ids.NewSessionID(), u.ID(), now)
	refresh, err := domain.NewRefreshToken(s.random, now, s.refreshTTL)
	if err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	if err := s.sessions.CreateSession(ctx, session, refresh.Record(session.ID())); err != nil {
		return TokenPair{}, fmt.Errorf("login: create session: %w", err)
	}
	pair, err := s.issuePair(ctx, u, session.ID(), refresh, now)
	if err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	return pair, nil
}
