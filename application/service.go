// Package application holds the use cases. A Service depends on ports only:
// no HTTP, SQL or JWT library types, so any transport can drive it and any
// store can back it.
package application

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Deps are the ports a Service needs. All are required.
type Deps struct {
	Users    ports.UserRepository
	Sessions ports.SessionRepository
	Store    ports.Pinger
	Hasher   ports.PasswordHasher
	Issuer   ports.TokenIssuer
	Verifier ports.TokenVerifier
	Clock    ports.Clock
	IDs      ports.IDGenerator
	Random   ports.RandomSource
}

// Config holds the policy knobs of the use cases.
type Config struct {
	RefreshTTL time.Duration
}

// Service runs the use cases.
type Service struct {
	users      ports.UserRepository
	sessions   ports.SessionRepository
	store      ports.Pinger
	hasher     ports.PasswordHasher
	issuer     ports.TokenIssuer
	verifier   ports.TokenVerifier
	clock      ports.Clock
	ids        ports.IDGenerator
	random     ports.RandomSource
	refreshTTL time.Duration

	// dummyHash is verified against when the email is unknown, so that
	// "no such user" costs the same hash as "wrong password".
	dummyHash string
}

// NewService checks that every port is present and prepares the dummy
// hash used for unknown emails (one password hash).
func NewService(ctx context.Context, d Deps, cfg Config) (*Service, error) {
	if d.Users == nil || d.Sessions == nil || d.Store == nil || d.Hasher == nil || d.Issuer == nil ||
		d.Verifier == nil || d.Clock == nil || d.IDs == nil || d.Random == nil {
		return nil, errors.New("application: every dependency is required")
	}
	if cfg.RefreshTTL <= 0 {
		return nil, errors.New("application: refresh TTL must be positive")
	}
	p, err := domain.NewPassword("placeholder for accounts that do not exist")
	if err != nil {
		return nil, err
	}
	dummy, err := d.Hasher.Hash(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("application: dummy hash: %w", err)
	}
	return &Service{
		users: d.Users, sessions: d.Sessions, store: d.Store, hasher: d.Hasher,
		issuer: d.Issuer, verifier: d.Verifier, clock: d.Clock, ids: d.IDs, random: d.Random,
		refreshTTL: cfg.RefreshTTL, dummyHash: dummy,
	}, nil
}

// TokenPair is what a successful login or refresh returns.
type TokenPair struct {
	AccessToken      string
	AccessExpiresIn  time.Duration
	RefreshToken     string
	RefreshExpiresIn time.Duration
	User             domain.User
}

// Ready reports whether the store answers.
func (s *Service) Ready(ctx context.Context) error {
	if err := s.store.Ping(ctx); err != nil {
		return fmt.Errorf("ready: %w", err)
	}
	return nil
}

// issuePair mints an access token and packs it with an already minted
// refresh token.
func (s *Service) issuePair(ctx context.Context, u domain.User, sid domain.SessionID, refresh domain.RefreshToken, now time.Time) (TokenPair, error) {
	access, claims, err := s.issuer.IssueAccessToken(ctx, domain.AccessClaims{UserID: u.ID(), SessionID: sid, Role: u.Role()})
	if err != nil {
		return TokenPair{}, fmt.Errorf("issue access token: %w", err)
	}
	return TokenPair{
		AccessToken:      access,
		AccessExpiresIn:  claims.ExpiresAt.Sub(claims.IssuedAt),
		RefreshToken:     refresh.Plaintext(),
		RefreshExpiresIn: refresh.ExpiresAt().Sub(now),
		User:             u,
	}, nil
}
