package application_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/application/admin"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

func retryAfter(t *testing.T, err error) time.Duration {
	t.Helper()
	var ra ports.RetryAfter
	if !errors.As(err, &ra) {
		t.Fatalf("err = %v carries no RetryAfter", err)
	}
	return ra.RetryAfter()
}

// 50 concurrent wrong guesses on one account: exactly the free attempts
// are evaluated (one password hash each), every other one is refused as
// throttled without a hash. Unknown emails behave the same way.
func TestLoginThrottleConcurrentGuesses(t *testing.T) {
	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		t.Run(email, func(t *testing.T) {
			f := newFixture(t)
			f.register(t, "ada@example.com", "correct horse")
			before := f.hasher.verifies.Load()
			const n = 50
			errs := make([]error, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Go(func() {
					<-start
					errs[i] = loginErr(f, email, "wrong guess")
				})
			}
			close(start)
			wg.Wait()
			invalid, throttled := 0, 0
			for _, err := range errs {
				switch {
				case errors.Is(err, domain.ErrInvalidCredentials):
					invalid++
				case errors.Is(err, domain.ErrThrottled):
					throttled++
					if d := retryAfter(t, err); d < time.Second || d > time.Minute {
						t.Errorf("RetryAfter = %v", d)
					}
				default:
					t.Errorf("err = %v", err)
				}
			}
			if invalid != application.DefaultLoginFreeAttempts || throttled != n-invalid {
				t.Fatalf("%d evaluated, %d throttled; want %d and %d", invalid, throttled, application.DefaultLoginFreeAttempts, n-application.DefaultLoginFreeAttempts)
			}
			if got := f.hasher.verifies.Load() - before; got != int64(application.DefaultLoginFreeAttempts) {
				t.Fatalf("%d password hashes, want %d", got, application.DefaultLoginFreeAttempts)
			}
		})
	}
}

// Known and unknown emails get the same answers in the same order, so a
// 429 says nothing about whether an account exists.
func TestLoginThrottleSameForUnknownEmail(t *testing.T) {
	outcomes := func(email string) []string {
		f := newFixture(t)
		f.register(t, "ada@example.com", "correct horse")
		var out []string
		for i := range 8 {
			if i == 6 {
				f.clock.now = f.clock.now.Add(time.Second)
			}
			err := loginErr(f, email, "wrong guess")
			var ra ports.RetryAfter
			if errors.As(err, &ra) {
				out = append(out, err.Error()+" "+ra.RetryAfter().String())
			} else {
				out = append(out, err.Error())
			}
		}
		return out
	}
	known, unknown := outcomes("ada@example.com"), outcomes("nobody@example.com")
	if strings.Join(known, "|") != strings.Join(unknown, "|") {
		t.Fatalf("known:   %q\nunknown: %q", known, unknown)
	}
	if !strings.Contains(known[5], "too many") || !strings.Contains(known[6], "invalid credentials") || !strings.Contains(known[7], "too many") {
		t.Fatalf("outcomes %q: want the 6th throttled, the 7th (a second later) evaluated, the 8th throttled", known)
	}
}

func TestLoginThrottleWindowAndReset(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	for range 4 {
		if err := loginErr(f, "ada@example.com", "wrong guess"); !errors.Is(err, domain.ErrInvalidCredentials) {
			t.Fatalf("err = %v", err)
		}
	}
	// A success resets the count: five more free failures.
	f.login(t, "ada@example.com", "correct horse")
	for range 5 {
		if err := loginErr(f, "ada@example.com", "wrong guess"); !errors.Is(err, domain.ErrInvalidCredentials) {
			t.Fatalf("after a success: err = %v", err)
		}
	}
	err := loginErr(f, "ada@example.com", "correct horse") // even the right password waits
	if !errors.Is(err, domain.ErrThrottled) || retryAfter(t, err) != time.Second {
		t.Fatalf("sixth: err = %v", err)
	}
	// An hour after the window began, failures are forgotten.
	f.clock.now = t0.Add(time.Hour)
	for range 5 {
		if err := loginErr(f, "ada@example.com", "wrong guess"); !errors.Is(err, domain.ErrInvalidCredentials) {
			t.Fatalf("new window: err = %v", err)
		}
	}
}

// ASVS 2.2.1 with a fake clock: an attacker who retries the moment each
// lock ends has fewer than 100 guesses evaluated in an hour (in any hour:
// two windows are walked), and once the attacker stops the owner waits at
// most the one-minute cap.
func TestLoginThrottleBoundsAnHourOfGuessing(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	before := f.hasher.verifies.Load()
	var evaluated []time.Time
	end := t0.Add(2 * time.Hour)
	for f.clock.now.Before(end) {
		err := loginErr(f, "ada@example.com", "wrong guess")
		switch {
		case errors.Is(err, domain.ErrInvalidCredentials):
			evaluated = append(evaluated, f.clock.now)
		case errors.Is(err, domain.ErrThrottled):
			f.clock.now = f.clock.now.Add(retryAfter(t, err))
		default:
			t.Fatalf("err = %v", err)
		}
	}
	if int64(len(evaluated)) != f.hasher.verifies.Load()-before {
		t.Fatalf("%d evaluated guesses but %d hashes", len(evaluated), f.hasher.verifies.Load()-before)
	}
	most, lo := 0, 0
	for hi := range evaluated {
		for !evaluated[hi].Before(evaluated[lo].Add(time.Hour)) {
			lo++
		}
		most = max(most, hi-lo+1)
	}
	if most >= application.MaxFailedLoginsPerHour || most < 50 {
		t.Fatalf("at most %d guesses in an hour; want fewer than %d (and the attacker should get a fair number, not none)", most, application.MaxFailedLoginsPerHour)
	}
	t.Logf("an attacker guessing as fast as allowed: at most %d evaluated guesses in any hour", most)

	// The attacker stops; the owner arrives at once and waits at most the cap.
	err := loginErr(f, "ada@example.com", "correct horse")
	if errors.Is(err, domain.ErrThrottled) {
		wait := retryAfter(t, err)
		if wait > application.DefaultLoginBackoffMax {
			t.Fatalf("the owner is told to wait %v, more than the cap", wait)
		}
		f.clock.now = f.clock.now.Add(wait)
		err = loginErr(f, "ada@example.com", "correct horse")
	}
	if err != nil {
		t.Fatalf("the owner after the wait: %v", err)
	}
}

func TestThrottledLoginIsAudited(t *testing.T) {
	f := newFixture(t)
	u := f.register(t, "ada@example.com", "correct horse")
	client := domain.ClientInfo{IP: "198.51.100.9", UserAgent: "guesser/1.0"}
	for range 6 {
		_, _ = f.logins.Login(context.Background(), signin.LoginInput{Email: "ada@example.com", Password: "wrong guess", Client: client})
	}
	_, _ = f.logins.Login(context.Background(), signin.LoginInput{Email: "nobody@example.com", Password: "wrong guess", Client: client})
	page, err := f.admin.ListEvents(context.Background(), admin.ListEventsInput{Type: "login_throttled"})
	if err != nil || len(page.Events) != 1 {
		t.Fatalf("throttled events: %+v, %v", page.Events, err)
	}
	e := page.Events[0]
	if e.UserID != u.ID() || e.Client != client || e.Detail != "login" {
		t.Fatalf("event = %+v", e)
	}
	failed, _ := f.admin.ListEvents(context.Background(), admin.ListEventsInput{Type: "login_failed"})
	if len(failed.Events) != 6 || failed.Events[0].UserID != "" || failed.Events[0].Detail != "no account has this email" ||
		failed.Events[1].UserID != u.ID() || failed.Events[1].Detail != "wrong password" {
		t.Fatalf("failed events: %+v", failed.Events)
	}
}

// TestOneThrottledEventPerLock: a guesser hammering a locked account gets
// one login_throttled event per lock period, not one per refusal.
func TestOneThrottledEventPerLock(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	for range application.DefaultLoginFreeAttempts + 1 { // the last one earns the first lock
		_ = loginErr(f, "ada@example.com", "wrong guess")
	}
	count := func() int {
		page, err := f.admin.ListEvents(context.Background(), admin.ListEventsInput{Type: "login_throttled"})
		if err != nil {
			t.Fatal(err)
		}
		return len(page.Events)
	}
	for range 20 {
		if err := loginErr(f, "ada@example.com", "wrong guess"); !errors.Is(err, domain.ErrThrottled) {
			t.Fatalf("locked account: %v, want throttled", err)
		}
	}
	if n := count(); n != 1 {
		t.Fatalf("20 refusals in one lock period: %d login_throttled events, want 1", n)
	}
	// The lock ends; the next guess is admitted and earns a longer lock;
	// refusals under it are a new period: one more event.
	wait := retryAfter(t, loginErr(f, "ada@example.com", "wrong guess"))
	f.clock.now = f.clock.now.Add(wait)
	_ = loginErr(f, "ada@example.com", "wrong guess")
	for range 5 {
		_ = loginErr(f, "ada@example.com", "wrong guess")
	}
	if n := count(); n != 2 {
		t.Fatalf("two lock periods: %d login_throttled events, want 2", n)
	}
}

func TestThrottleStoreFailureIsNotBadCredentials(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	f.store.failThrottle = domain.ErrUnavailable
	err := loginErr(f, "ada@example.com", "correct horse")
	if !errors.Is(err, domain.ErrUnavailable) || errors.Is(err, domain.ErrInvalidCredentials) || errors.Is(err, domain.ErrThrottled) {
		t.Fatalf("err = %v, want ErrUnavailable only", err)
	}
}
