package application_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/domain"
)

// busy is what a saturated hasher answers: unavailable, with a retry hint.
type busy struct{}

func (busy) Error() string             { return "hashing queue full" }
func (busy) Unwrap() error             { return domain.ErrUnavailable }
func (busy) RetryAfter() time.Duration { return 3 * time.Second }

// An overloaded hasher sheds a login before any store work: no user
// lookup, no throttle claim (the account keeps its free attempts), no hash.
func TestLoginShedsBeforeTouchingTheStore(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	f.hasher.shed = busy{}
	verifies := f.hasher.verifies.Load()
	for range 10 {
		_, err := f.logins.Login(context.Background(), signin.LoginInput{Email: "ada@example.com", Password: "wrong guess"})
		if !errors.Is(err, domain.ErrUnavailable) {
			t.Fatalf("shed login: %v, want ErrUnavailable", err)
		}
	}
	if n := f.hasher.verifies.Load() - verifies; n != 0 {
		t.Fatalf("%d hashes for shed logins", n)
	}
	f.hasher.shed = nil
	for i := range application.DefaultLoginFreeAttempts - 1 {
		if err := loginErr(f, "ada@example.com", "wrong guess"); !errors.Is(err, domain.ErrInvalidCredentials) {
			t.Fatalf("attempt %d after the overload: %v (shed logins must not use up the free attempts)", i+1, err)
		}
	}
}

// A login the hasher turns away after its throttle claim (overload) gives
// the claim back: an overloaded server must not lock the accounts of the
// users it could not serve.
func TestOverloadDoesNotUseUpTheFreeAttempts(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	f.hasher.err = busy{}
	for range 20 {
		if err := loginErr(f, "ada@example.com", "correct horse"); !errors.Is(err, domain.ErrUnavailable) {
			t.Fatalf("overloaded login: %v", err)
		}
	}
	f.hasher.err = nil
	for i := range application.DefaultLoginFreeAttempts - 1 {
		if err := loginErr(f, "ada@example.com", "wrong guess"); !errors.Is(err, domain.ErrInvalidCredentials) {
			t.Fatalf("wrong guess %d after the overload: %v (refused logins used up the free attempts)", i+1, err)
		}
	}
	if _, err := f.logins.Login(context.Background(), signin.LoginInput{Email: "ada@example.com", Password: "correct horse"}); err != nil {
		t.Fatalf("the owner after the overload: %v", err)
	}
}

func TestPruneThrottleForgetsStaleKeys(t *testing.T) {
	f := newFixture(t)
	for range 3 {
		_ = loginErr(f, "ghost@example.com", "wrong guess")
	}
	policies, err := application.Config{RefreshTTL: 720 * time.Hour}.Policies()
	if err != nil {
		t.Fatal(err)
	}
	p, err := application.NewPruner(f.store.Store, f.store, f.clock, application.PrunerConfig{Policies: policies})
	if err != nil {
		t.Fatal(err)
	}
	if rep, err := p.Run(context.Background()); err != nil || rep.ThrottleKeys != 0 {
		t.Fatalf("inside the window: pruned %+v, %v", rep, err)
	}
	f.clock.now = t0.Add(application.DefaultLoginWindow + time.Minute)
	if rep, err := p.Run(context.Background()); err != nil || rep.ThrottleKeys != 1 {
		t.Fatalf("after the window: pruned %+v, %v; want 1 throttle key", rep, err)
	}
}
