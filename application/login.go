package application

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd/domain"
)

// LoginInput is a login request as the transport received it.
type LoginInput struct {
	Email    string
	Password string
	// Client is who asked, for the session and the audit log.
	Client domain.ClientInfo
}

// Login checks the credentials and opens a session. An unknown email and a
// wrong password give the same domain.ErrInvalidCredentials after the same
// work (one password hash); a storage or hashing failure is never reported
// as bad credentials.
//
// Every attempt first claims a slot of the email's brute-force throttle
// (Config.Login*): refused, it is a *domain.ThrottledError
// (domain.ErrThrottled, with RetryAfter) and costs no password hash;
// unknown emails are throttled exactly like known ones. The claim counts
// the attempt as a failure before the password is checked, so concurrent
// guesses cannot overrun the limit; a successful login resets the count.
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
	client := in.Client.Clean()

	u, err := s.users.UserByEmail(ctx, email)
	known := err == nil
	if err != nil && !errors.Is(err, domain.ErrNotFound) {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	key := domain.ThrottleKeyFor(email)
	if err := s.claimAttempt(ctx, key, u.ID(), client, detailAtLogin); err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}

	if !known {
		if _, err := s.hasher.Verify(ctx, password, s.dummyHash); err != nil {
			return TokenPair{}, fmt.Errorf("login: %w", err)
		}
		s.record(ctx, s.clock.Now(), domain.AuditEvent{Type: domain.EventLoginFailed, Client: client, Detail: detailUnknownEmail})
		return TokenPair{}, fmt.Errorf("login: %w", domain.ErrInvalidCredentials)
	}

	verdict, err := s.hasher.Verify(ctx, password, u.PasswordHash())
	if err != nil {
		return TokenPair{}, fmt.Errorf("login: verify password: %w", err)
	}
	if !verdict.Match {
		s.record(ctx, s.clock.Now(), domain.AuditEvent{Type: domain.EventLoginFailed, UserID: u.ID(), Client: client, Detail: detailWrongPassword})
		return TokenPair{}, fmt.Errorf("login: %w", domain.ErrInvalidCredentials)
	}
	if err := s.resetAttempts(ctx, key); err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	if verdict.NeedsRehash {
		// Best effort: the login is already proven; a failed upgrade is
		// retried on the next login and must not lock the user out.
		if hash, err := s.hasher.Hash(ctx, password); err == nil {
			_ = s.users.UpdatePasswordHash(ctx, u.ID(), hash)
		}
	}

	now := s.clock.Now()
	session := domain.NewSession(s.ids.NewSessionID(), u.ID(), now, client)
	refresh, err := domain.NewRefreshToken(s.random, now, min(s.refreshTTL, s.sessionPolicy.MaxAge))
	if err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	if err := s.sessions.CreateSession(ctx, session, refresh.Record(session.ID())); err != nil {
		return TokenPair{}, fmt.Errorf("login: create session: %w", err)
	}
	pair, err := s.issuePair(ctx, u, session.ID(), refresh, refresh.ExpiresAt(), now)
	if err != nil {
		return TokenPair{}, fmt.Errorf("login: %w", err)
	}
	s.record(ctx, now, domain.AuditEvent{Type: domain.EventLoginSucceeded, UserID: u.ID(), SessionID: session.ID(), Client: client})
	return pair, nil
}

// claimAttempt claims a password check for key, or returns the
// *domain.ThrottledError that refuses it (recorded as login_throttled for
// user, who is empty when the email names no account). A hashing failure
// after the claim leaves it counted: refunding it would let an attacker
// reset the count by overloading the hasher.
func (s *Service) claimAttempt(ctx context.Context, key domain.ThrottleKey, user domain.UserID, client domain.ClientInfo, at string) error {
	if s.throttle == nil {
		return nil
	}
	now := s.clock.Now()
	admitted, lockedUntil, err := s.throttle.ClaimLoginAttempt(ctx, key, now, s.throttlePolicy)
	if err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	if admitted {
		return nil
	}
	s.record(ctx, now, domain.AuditEvent{Type: domain.EventLoginThrottled, UserID: user, Client: client, Detail: at})
	return &domain.ThrottledError{Retry: max(lockedUntil.Sub(now), time.Duration(0))}
}

// resetAttempts forgets key's failures once its password is proven. Its
// failure fails the login (before any session exists): the store is the
// one a session would be written to, and a count that never resets would
// lock out a user who keeps logging in.
func (s *Service) resetAttempts(ctx context.Context, key domain.ThrottleKey) error {
	if s.throttle == nil {
		return nil
	}
	if err := s.throttle.ResetLoginAttempts(ctx, key); err != nil {
		return fmt.Errorf("throttle: %w", err)
	}
	return nil
}
