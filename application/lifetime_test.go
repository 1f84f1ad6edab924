package application_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/domain"
)

// refreshStopsAt checks that the refresh token, issued at issued, is
// refused refresh_expires_in later.
func refreshStopsAt(t *testing.T, f *fixture, token string, issued time.Time, expiresIn time.Duration) {
	t.Helper()
	f.clock.now = issued.Add(expiresIn)
	_, err := f.sessions.Refresh(context.Background(), sessions.RefreshInput{RefreshToken: token})
	if !errors.Is(err, domain.ErrInvalidRefreshToken) || errors.Is(err, domain.ErrRefreshTokenReused) {
		t.Fatalf("refresh at refresh_expires_in (%v after issue): err = %v, want it refused", expiresIn, err)
	}
}

func TestRefreshExpiresInIsTheIdleTimeout(t *testing.T) {
	// The defaults: a 30-day refresh token in a session that goes idle
	// after 7 days. The idle timeout ends the token first.
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	pair := f.login(t, "ada@example.com", "correct horse")
	if pair.RefreshExpiresIn != application.DefaultSessionIdleTTL {
		t.Fatalf("login: refresh_expires_in = %v, want the idle timeout %v", pair.RefreshExpiresIn, application.DefaultSessionIdleTTL)
	}

	// A refresh is a use: the idle clock starts again.
	f.clock.now = t0.Add(3 * 24 * time.Hour)
	issued := f.clock.now
	pair = f.refresh(t, pair.RefreshToken, laptop)
	if pair.RefreshExpiresIn != application.DefaultSessionIdleTTL {
		t.Fatalf("refresh: refresh_expires_in = %v, want the idle timeout", pair.RefreshExpiresIn)
	}

	// It is the truth: a twin session, opened at the same instant, still
	// refreshes a second before the end; at the end, the token is refused.
	twin := f.login(t, "ada@example.com", "correct horse")
	f.clock.now = issued.Add(pair.RefreshExpiresIn - time.Second)
	f.refresh(t, twin.RefreshToken, phone)
	refreshStopsAt(t, f, pair.RefreshToken, issued, pair.RefreshExpiresIn)
}

func TestRefreshExpiresInNearMaxAge(t *testing.T) {
	f := newFixtureWith(t, application.Config{RefreshTTL: 720 * time.Hour, SessionIdleTTL: 168 * time.Hour, SessionMaxAge: 720 * time.Hour})
	f.register(t, "ada@example.com", "correct horse")
	pair := f.login(t, "ada@example.com", "correct horse")
	// Refreshed every six days, the session never goes idle.
	for day := 6; day <= 18; day += 6 {
		f.clock.now = t0.Add(time.Duration(day) * 24 * time.Hour)
		pair = f.refresh(t, pair.RefreshToken, laptop)
		if pair.RefreshExpiresIn != 168*time.Hour {
			t.Fatalf("day %d: refresh_expires_in = %v, want the idle timeout", day, pair.RefreshExpiresIn)
		}
	}
	// From day 23 on, the max age comes before the idle timeout.
	for _, c := range []struct {
		day  int
		left time.Duration
	}{{24, 144 * time.Hour}, {28, 48 * time.Hour}} {
		f.clock.now = t0.Add(time.Duration(c.day) * 24 * time.Hour)
		pair = f.refresh(t, pair.RefreshToken, laptop)
		if pair.RefreshExpiresIn != c.left {
			t.Fatalf("day %d: refresh_expires_in = %v, want the %v left before the max age", c.day, pair.RefreshExpiresIn, c.left)
		}
	}
	issued := f.clock.now
	refreshStopsAt(t, f, pair.RefreshToken, issued, pair.RefreshExpiresIn)
}

func TestRefreshExpiresInIsTheTokenTTL(t *testing.T) {
	// A refresh token shorter than both session limits ends first.
	f := newFixtureWith(t, application.Config{RefreshTTL: time.Hour})
	f.register(t, "ada@example.com", "correct horse")
	pair := f.login(t, "ada@example.com", "correct horse")
	if pair.RefreshExpiresIn != time.Hour {
		t.Fatalf("login: refresh_expires_in = %v, want the 1h token TTL", pair.RefreshExpiresIn)
	}
	f.clock.now = t0.Add(30 * time.Minute)
	issued := f.clock.now
	pair = f.refresh(t, pair.RefreshToken, laptop)
	if pair.RefreshExpiresIn != time.Hour {
		t.Fatalf("refresh: refresh_expires_in = %v, want the 1h token TTL", pair.RefreshExpiresIn)
	}
	refreshStopsAt(t, f, pair.RefreshToken, issued, pair.RefreshExpiresIn)
}
