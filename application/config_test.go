package application_test

import (
	"context"
	"testing"
	"time"

	"github.com/authd/authd/adapters/memory"
	"github.com/authd/authd/application"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/domain"
)

func TestConfigPolicies(t *testing.T) {
	for name, cfg := range map[string]application.Config{
		"too many free attempts":    {RefreshTTL: time.Hour, LoginFreeAttempts: 100},
		"backoff that never grows":  {RefreshTTL: time.Hour, LoginFreeAttempts: 5, LoginBackoffBase: time.Millisecond, LoginBackoffMax: time.Millisecond},
		"negative idle TTL":         {RefreshTTL: time.Hour, SessionIdleTTL: -time.Hour},
		"negative max age":          {RefreshTTL: time.Hour, SessionMaxAge: -time.Hour},
		"max below base":            {RefreshTTL: time.Hour, LoginBackoffBase: time.Minute, LoginBackoffMax: time.Second},
		"negative free attempts":    {RefreshTTL: time.Hour, LoginFreeAttempts: -1},
		"missing refresh TTL":       {},
		"negative window":           {RefreshTTL: time.Hour, LoginWindow: -time.Hour},
		"zero-length lock, 1 free":  {RefreshTTL: time.Hour, LoginFreeAttempts: 1, LoginBackoffBase: time.Microsecond, LoginBackoffMax: 2 * time.Microsecond},
		"lax but short window":      {RefreshTTL: time.Hour, LoginFreeAttempts: 50, LoginWindow: 10 * time.Minute},
		"backoff capped too low":    {RefreshTTL: time.Hour, LoginBackoffMax: 10 * time.Second},
		"defaults are fine (below)": {RefreshTTL: time.Hour},
	} {
		_, err := cfg.Policies()
		if (err == nil) != (name == "defaults are fine (below)") {
			t.Errorf("%s: Policies err = %v", name, err)
		}
	}

	p, err := application.Config{RefreshTTL: time.Hour}.Policies()
	if err != nil {
		t.Fatal(err)
	}
	want := application.Policies{
		RefreshTTL: time.Hour,
		Session:    domain.SessionPolicy{IdleTimeout: application.DefaultSessionIdleTTL, MaxAge: application.DefaultSessionMaxAge},
		Throttle: domain.ThrottlePolicy{
			FreeAttempts: application.DefaultLoginFreeAttempts, BaseDelay: application.DefaultLoginBackoffBase,
			MaxDelay: application.DefaultLoginBackoffMax, Window: application.DefaultLoginWindow,
		},
	}
	if p != want {
		t.Fatalf("defaults = %+v, want %+v", p, want)
	}
}

func TestSessionsRequireEveryPort(t *testing.T) {
	p, err := application.Config{RefreshTTL: time.Hour}.Policies()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := sessions.New(sessions.Deps{}, p); err == nil {
		t.Fatal("want an error for missing ports")
	}
	st := memory.NewStore()
	clock := &fixedClock{now: t0}
	tokens := fakeTokens{clock: clock}
	full := sessions.Deps{Tx: st, Sessions: st, Issuer: tokens, Clock: clock, IDs: &seqIDs{}, Random: &countingRandom{}}
	if _, err := sessions.New(full, p); err != nil {
		t.Fatalf("every port (no audit): %v", err)
	}
	for name, drop := range map[string]func(*sessions.Deps){
		"tx":       func(d *sessions.Deps) { d.Tx = nil },
		"sessions": func(d *sessions.Deps) { d.Sessions = nil },
		"issuer":   func(d *sessions.Deps) { d.Issuer = nil },
		"clock":    func(d *sessions.Deps) { d.Clock = nil },
		"ids":      func(d *sessions.Deps) { d.IDs = nil },
		"random":   func(d *sessions.Deps) { d.Random = nil },
	} {
		d := full
		drop(&d)
		if _, err := sessions.New(d, p); err == nil {
			t.Errorf("no %s: want an error", name)
		}
	}
}

// signin.NewPassword pays its dummy hash up front; a hasher that cannot
// hash makes it fail rather than leave unknown emails cheaper to check.
func TestNewPasswordNeedsItsDummyHash(t *testing.T) {
	st := memory.NewStore()
	clock := &fixedClock{now: t0}
	h := &fakeHasher{err: domain.ErrUnavailable}
	if _, err := signin.NewPassword(context.Background(), st, st, nil, h, clock, nil); err == nil {
		t.Fatal("want an error when the dummy hash cannot be made")
	}
	h.err = nil
	if _, err := signin.NewPassword(context.Background(), st, st, nil, h, clock, nil); err != nil || h.hashes.Load() != 1 {
		t.Fatalf("NewPassword = %v after %d hashes, want one", err, h.hashes.Load())
	}
}
