package application

import (
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd/domain"
)

// Config holds the policy knobs of the use cases. Zero durations and
// counts take the defaults below.
type Config struct {
	RefreshTTL time.Duration
	// SessionIdleTTL ends a session neither logged in to nor refreshed for
	// this long; SessionMaxAge ends it this long after its login however
	// active. No refresh token outlives it.
	SessionIdleTTL time.Duration
	SessionMaxAge  time.Duration
	// RefreshReuseLeeway forgives a refresh token presented again within
	// this long of its own rotation (domain.SessionPolicy.ReuseLeeway): the
	// client gets a sibling token instead of a revoked session. Zero, the
	// default, is strict reuse detection; at most domain.MaxReuseLeeway.
	RefreshReuseLeeway time.Duration
	// The account brute-force throttle (domain.ThrottlePolicy): per email,
	// LoginFreeAttempts failures in a row are free, then each attempt locks
	// the email for LoginBackoffBase, doubling up to LoginBackoffMax;
	// failures older than LoginWindow are forgotten.
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

	// MaxFailedLoginsPerHour is OWASP ASVS 2.2.1's bound on the guesses
	// one account may see in an hour.
	MaxFailedLoginsPerHour = 100
)

// Policies are the checked policies every capability reads from.
type Policies struct {
	RefreshTTL time.Duration
	Session    domain.SessionPolicy
	Throttle   domain.ThrottlePolicy
}

// Policies fills the defaults and refuses an unsound configuration: a
// negative value, or a throttle that would let an attacker try 100
// passwords an hour.
func (c Config) Policies() (Policies, error) {
	if c.RefreshTTL <= 0 {
		return Policies{}, errors.New("application: refresh TTL must be positive")
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
			return Policies{}, fmt.Errorf("application: %s must not be negative", f.name)
		case *f.v == 0:
			*f.v = f.def
		}
	}
	switch {
	case c.LoginFreeAttempts < 0:
		return Policies{}, errors.New("application: login free attempts must not be negative")
	case c.LoginFreeAttempts == 0:
		c.LoginFreeAttempts = DefaultLoginFreeAttempts
	}
	throttle := domain.ThrottlePolicy{
		FreeAttempts: c.LoginFreeAttempts,
		BaseDelay:    c.LoginBackoffBase,
		MaxDelay:     c.LoginBackoffMax,
		Window:       c.LoginWindow,
	}
	if err := throttle.Validate(); err != nil {
		return Policies{}, fmt.Errorf("application: %w", err)
	}
	if n := throttle.MaxAttemptsPerHour(); n >= MaxFailedLoginsPerHour {
		return Policies{}, fmt.Errorf("application: the login throttle admits %d attempts an hour; it must stay below %d (ASVS 2.2.1)", n, MaxFailedLoginsPerHour)
	}
	session := domain.SessionPolicy{IdleTimeout: c.SessionIdleTTL, MaxAge: c.SessionMaxAge, ReuseLeeway: c.RefreshReuseLeeway}
	if err := session.Validate(); err != nil {
		return Policies{}, fmt.Errorf("application: %w", err)
	}
	return Policies{
		RefreshTTL: c.RefreshTTL,
		Session:    session,
		Throttle:   throttle,
	}, nil
}
