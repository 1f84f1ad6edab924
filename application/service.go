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

// Deps are the ports a Service needs. All are required except where noted.
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

	// Throttle counts failed password checks per account (Config.Login*).
	// Optional only for tests and tools that never check a password under
	// attack: nil disables the throttle. A server must set it.
	Throttle ports.LoginThrottle
	// Audit records security events. Optional: nil records nothing, and
	// ListEvents then returns empty pages.
	Audit ports.AuditLog
	// OnAuditError is told about every event Audit failed to store. A
	// failed append never fails the use case that made the event (a login
	// that succeeded stays a success); this is where it gets logged. nil
	// ignores the failures.
	OnAuditError func(error)
}

// Config holds the policy knobs of the use cases. Zero durations and
// counts take the defaults below.
type Config struct {
	RefreshTTL time.Duration

	// SessionIdleTTL ends a session neither logged in to nor refreshed for
	// this long (default DefaultSessionIdleTTL).
	SessionIdleTTL time.Duration
	// SessionMaxAge ends a session this long after its login, however
	// active (default DefaultSessionMaxAge). No refresh token outlives it.
	SessionMaxAge time.Duration

	// The account brute-force throttle (domain.ThrottlePolicy): per email,
	// LoginFreeAttempts failures in a row are free, then each attempt locks
	// the email for LoginBackoffBase, doubling up to LoginBackoffMax;
	// failures older than LoginWindow are forgotten. NewService refuses a
	// policy that would let an attacker try 100 passwords in an hour
	// (OWASP ASVS 2.2.1).
	LoginFreeAttempts int
	LoginBackoffBase  time.Duration
	LoginBackoffMax   time.Duration
	LoginWindow       time.Duration
}

// Policy defaults.
const (
	DefaultSessionIdleTTL    = 168 * time.Hour
	DefaultSessionMaxAge     = 720 * time.Hour
	DefaultLoginFreeAttempts = 5
	DefaultLoginBackoffBase  = time.Second
	DefaultLoginBackoffMax   = time.Minute
	DefaultLoginWindow       = time.Hour

	// MaxFailedLoginsPerHour is ASVS 2.2.1's bound on the guesses one
	// account may see in an hour.
	MaxFailedLoginsPerHour = 100
)

// Service runs the use cases.
type Service struct {
	users        ports.UserRepository
	sessions     ports.SessionRepository
	store        ports.Pinger
	hasher       ports.PasswordHasher
	issuer       ports.TokenIssuer
	verifier     ports.TokenVerifier
	clock        ports.Clock
	ids          ports.IDGenerator
	random       ports.RandomSource
	throttle     ports.LoginThrottle
	audit        ports.AuditLog
	onAuditError func(error)

	refreshTTL     time.Duration
	sessionPolicy  domain.SessionPolicy
	throttlePolicy domain.ThrottlePolicy
	rateLimited    rateLimitedLog

	// dummyHash is verified against when the email is unknown, so that
	// "no such user" costs the same hash as "wrong password".
	dummyHash string
}

// NewService checks that every required port is present and the policy is
// sound, and prepares the dummy hash used for unknown emails (one password
// hash).
func NewService(ctx context.Context, d Deps, cfg Config) (*Service, error) {
	if d.Users == nil || d.Sessions == nil || d.Store == nil || d.Hasher == nil || d.Issuer == nil ||
		d.Verifier == nil || d.Clock == nil || d.IDs == nil || d.Random == nil {
		return nil, errors.New("application: every dependency is required")
	}
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	throttle := domain.ThrottlePolicy{
		FreeAttempts: cfg.LoginFreeAttempts,
		BaseDelay:    cfg.LoginBackoffBase,
		MaxDelay:     cfg.LoginBackoffMax,
		Window:       cfg.LoginWindow,
	}
	if err := throttle.Validate(); err != nil {
		return nil, fmt.Errorf("application: %w", err)
	}
	if n := throttle.MaxAttemptsPerHour(); n >= MaxFailedLoginsPerHour {
		return nil, fmt.Errorf("application: the login throttle admits %d attempts an hour; it must stay below %d (ASVS 2.2.1)", n, MaxFailedLoginsPerHour)
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
		throttle: d.Throttle, audit: d.Audit, onAuditError: d.OnAuditError,
		refreshTTL:     cfg.RefreshTTL,
		sessionPolicy:  domain.SessionPolicy{IdleTimeout: cfg.SessionIdleTTL, MaxAge: cfg.SessionMaxAge},
		throttlePolicy: throttle,
		rateLimited:    rateLimitedLog{seen: map[string]time.Time{}},
		dummyHash:      dummy,
	}, nil
}

// withDefaults fills the zero fields and rejects negative ones.
func (c Config) withDefaults() (Config, error) {
	if c.RefreshTTL <= 0 {
		return c, errors.New("application: refresh TTL must be positive")
	}
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"session idle TTL", &c.SessionIdleTTL, DefaultSessionIdleTTL},
		{"session max age", &c.SessionMaxAge, DefaultSessionMaxAge},
		{"login backoff base", &c.LoginBackoffBase, DefaultLoginBackoffBase},
		{"login backoff max", &c.LoginBackoffMax, DefaultLoginBackoffMax},
		{"login window", &c.LoginWindow, DefaultLoginWindow},
	} {
		switch {
		case *f.v < 0:
			return c, fmt.Errorf("application: %s must not be negative", f.name)
		case *f.v == 0:
			*f.v = f.def
		}
	}
	switch {
	case c.LoginFreeAttempts < 0:
		return c, errors.New("application: login free attempts must not be negative")
	case c.LoginFreeAttempts == 0:
		c.LoginFreeAttempts = DefaultLoginFreeAttempts
	}
	return c, nil
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
// refresh token, which expires at refreshExpires (the token's own expiry,
// or the session's end if that comes first).
func (s *Service) issuePair(ctx context.Context, u domain.User, sid domain.SessionID, refresh domain.RefreshToken, refreshExpires, now time.Time) (TokenPair, error) {
	access, claims, err := s.issuer.IssueAccessToken(ctx, domain.AccessClaims{UserID: u.ID(), SessionID: sid, Role: u.Role()})
	if err != nil {
		return TokenPair{}, fmt.Errorf("issue access token: %w", err)
	}
	return TokenPair{
		AccessToken:      access,
		AccessExpiresIn:  claims.ExpiresAt.Sub(claims.IssuedAt),
		RefreshToken:     refresh.Plaintext(),
		RefreshExpiresIn: refreshExpires.Sub(now),
		User:             u,
	}, nil
}
