package application_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
)

var (
	laptop = domain.ClientInfo{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 Firefox/140.0"}
	phone  = domain.ClientInfo{IP: "2001:db8::42", UserAgent: "authd-ios/2.1"}
)

func (f *fixture) loginFrom(t *testing.T, email, password string, c domain.ClientInfo) (application.TokenPair, application.Principal) {
	t.Helper()
	pair, err := f.svc.Login(context.Background(), application.LoginInput{Email: email, Password: password, Client: c})
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	p, err := f.svc.Authenticate(context.Background(), pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return pair, p
}

func (f *fixture) refresh(t *testing.T, token string, c domain.ClientInfo) application.TokenPair {
	t.Helper()
	pair, err := f.svc.Refresh(context.Background(), application.RefreshInput{RefreshToken: token, Client: c})
	if err != nil {
		t.Fatalf("refresh at %s: %v", f.clock.now.Sub(t0), err)
	}
	return pair
}

func TestSessionIdleTimeout(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	pair, p := f.loginFrom(t, "ada@example.com", "correct horse", laptop)

	// Used just before the week is up, the session lives on for another week.
	f.clock.now = t0.Add(application.DefaultSessionIdleTTL - time.Second)
	if _, err := f.svc.CurrentUser(ctx, p); err != nil {
		t.Fatalf("before the idle limit: %v", err)
	}
	used := f.clock.now
	pair = f.refresh(t, pair.RefreshToken, phone)
	f.clock.now = used.Add(application.DefaultSessionIdleTTL - time.Second)
	if _, err := f.svc.CurrentUser(ctx, p); err != nil {
		t.Fatalf("a week after the last refresh, less a second: %v", err)
	}

	// A week after the last use it is over, for the refresh token and the
	// access token alike (CurrentUser does not count as use).
	f.clock.now = used.Add(application.DefaultSessionIdleTTL)
	if _, err := f.svc.CurrentUser(ctx, p); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("/me of an idle session: err = %v", err)
	}
	_, err := f.svc.Refresh(ctx, application.RefreshInput{RefreshToken: pair.RefreshToken})
	if !errors.Is(err, domain.ErrInvalidRefreshToken) || errors.Is(err, domain.ErrRefreshTokenReused) {
		t.Fatalf("refresh of an idle session: err = %v", err)
	}
}

func TestSessionMaxAge(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	pair, p := f.loginFrom(t, "ada@example.com", "correct horse", laptop)
	if pair.RefreshExpiresIn != 720*time.Hour {
		t.Fatalf("first refresh token lives %v", pair.RefreshExpiresIn)
	}
	// Refreshed every day: never idle, but thirty days is the end.
	for day := 1; day < 30; day++ {
		f.clock.now = t0.Add(time.Duration(day) * 24 * time.Hour)
		pair = f.refresh(t, pair.RefreshToken, laptop)
		if want := application.DefaultSessionMaxAge - time.Duration(day)*24*time.Hour; pair.RefreshExpiresIn != want {
			t.Fatalf("day %d: refresh token lives %v, want %v (the session's end)", day, pair.RefreshExpiresIn, want)
		}
	}
	f.clock.now = t0.Add(application.DefaultSessionMaxAge - time.Second)
	pair = f.refresh(t, pair.RefreshToken, laptop)
	if pair.RefreshExpiresIn != time.Second {
		t.Fatalf("last refresh token lives %v, want 1s", pair.RefreshExpiresIn)
	}
	f.clock.now = t0.Add(application.DefaultSessionMaxAge)
	if _, err := f.svc.Refresh(ctx, application.RefreshInput{RefreshToken: pair.RefreshToken}); !errors.Is(err, domain.ErrInvalidRefreshToken) {
		t.Fatalf("refresh at the max age: err = %v", err)
	}
	if _, err := f.svc.CurrentUser(ctx, p); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("/me at the max age: err = %v", err)
	}
	// A new login starts a new session.
	f.loginFrom(t, "ada@example.com", "correct horse", laptop)
}

func TestRefreshTokenCappedAtShortMaxAge(t *testing.T) {
	f := newFixtureWith(t, application.Config{RefreshTTL: 720 * time.Hour, SessionMaxAge: 2 * time.Hour})
	f.register(t, "ada@example.com", "correct horse")
	pair, _ := f.loginFrom(t, "ada@example.com", "correct horse", laptop)
	if pair.RefreshExpiresIn != 2*time.Hour {
		t.Fatalf("login: refresh token lives %v, want the 2h max age", pair.RefreshExpiresIn)
	}
	f.clock.now = t0.Add(90 * time.Minute)
	pair = f.refresh(t, pair.RefreshToken, laptop)
	if pair.RefreshExpiresIn != 30*time.Minute {
		t.Fatalf("refresh: token lives %v, want 30m", pair.RefreshExpiresIn)
	}
}

func TestListSessions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	f.register(t, "grace@example.com", "correct horse")
	first, _ := f.loginFrom(t, "ada@example.com", "correct horse", laptop)
	f.clock.now = t0.Add(time.Minute)
	_, second := f.loginFrom(t, "ada@example.com", "correct horse", domain.ClientInfo{
		IP:        "::ffff:192.0.2.1",
		UserAgent: "evil\x1b[31m\nagent " + strings.Repeat("é", 200),
	})
	f.clock.now = t0.Add(2 * time.Minute)
	ended, _ := f.loginFrom(t, "ada@example.com", "correct horse", domain.ClientInfo{IP: "not an ip", UserAgent: "gone"})
	if err := f.svc.Logout(ctx, application.LogoutInput{RefreshToken: ended.RefreshToken}); err != nil {
		t.Fatal(err)
	}
	f.loginFrom(t, "grace@example.com", "correct horse", phone)
	f.clock.now = t0.Add(time.Hour)
	f.refresh(t, first.RefreshToken, phone)

	views, err := f.svc.ListSessions(ctx, second)
	if err != nil {
		t.Fatal(err)
	}
	if len(views) != 2 {
		t.Fatalf("sessions = %+v, want the two live ones of ada", views)
	}
	got, old := views[0], views[1]
	if got.ID != second.SessionID || !got.Current || !got.CreatedAt.Equal(t0.Add(time.Minute)) || !got.LastUsedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("newest = %+v", got)
	}
	if got.IP != "192.0.2.1" || len(got.UserAgent) > domain.MaxUserAgentBytes || strings.ContainsAny(got.UserAgent, "\x1b\n") ||
		!strings.HasPrefix(got.UserAgent, "evil[31magent é") {
		t.Fatalf("client not cleaned: ip %q, user agent %q (%d bytes)", got.IP, got.UserAgent, len(got.UserAgent))
	}
	if old.Current || !old.CreatedAt.Equal(t0) || !old.LastUsedAt.Equal(t0.Add(time.Hour)) || old.IP != phone.IP || old.UserAgent != phone.UserAgent {
		t.Fatalf("refreshed session = %+v, want its latest use and client", old)
	}

	// An access token whose session ended lists nothing.
	_, p := f.loginFrom(t, "ada@example.com", "correct horse", laptop)
	if err := f.svc.Logout(ctx, application.LogoutInput{Principal: &p}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.ListSessions(ctx, p); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("list from an ended session: err = %v", err)
	}
}

func TestRevokeSession(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	f.register(t, "grace@example.com", "correct horse")
	_, mine := f.loginFrom(t, "ada@example.com", "correct horse", laptop)
	otherPair, other := f.loginFrom(t, "ada@example.com", "correct horse", phone)
	gracePair, grace := f.loginFrom(t, "grace@example.com", "correct horse", phone)

	// Someone else's session, an unknown id and garbage: one answer.
	for _, id := range []string{grace.SessionID.String(), "00000000-0000-7000-8000-999999999999", "../etc", ""} {
		err := f.svc.RevokeSession(ctx, application.RevokeSessionInput{Principal: mine, SessionID: id})
		if !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("revoke %q: err = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := f.svc.CurrentUser(ctx, grace); err != nil {
		t.Fatalf("grace's session after ada's attempt: %v", err)
	}
	f.refresh(t, gracePair.RefreshToken, phone)

	in := application.RevokeSessionInput{Principal: mine, SessionID: other.SessionID.String(), Client: laptop}
	for range 2 { // idempotent
		if err := f.svc.RevokeSession(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.svc.Refresh(ctx, application.RefreshInput{RefreshToken: otherPair.RefreshToken}); !errors.Is(err, domain.ErrInvalidRefreshToken) {
		t.Fatalf("refresh of the revoked session: err = %v", err)
	}
	if _, err := f.svc.CurrentUser(ctx, mine); err != nil {
		t.Fatalf("the revoking session: %v", err)
	}
	page, _ := f.svc.ListEvents(ctx, application.ListEventsInput{Type: "session_revoked"})
	if len(page.Events) != 2 || page.Events[0].SessionID != other.SessionID || page.Events[0].UserID != mine.UserID ||
		page.Events[0].Client != laptop || page.Events[0].Detail != "by its owner" {
		t.Fatalf("events = %+v", page.Events)
	}

	// The current session too: that is a logout. Afterwards the token can
	// manage nothing.
	if err := f.svc.RevokeSession(ctx, application.RevokeSessionInput{Principal: mine, SessionID: mine.SessionID.String()}); err != nil {
		t.Fatal(err)
	}
	err := f.svc.RevokeSession(ctx, application.RevokeSessionInput{Principal: mine, SessionID: mine.SessionID.String()})
	if !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("revoke with an ended session's token: err = %v", err)
	}
}

func TestLogoutScopes(t *testing.T) {
	ctx := context.Background()
	type sessions struct {
		current        application.Principal
		currentPair    application.TokenPair
		others         []application.TokenPair
		graceUntouched application.TokenPair
	}
	setup := func(t *testing.T) (*fixture, sessions) {
		f := newFixture(t)
		f.register(t, "ada@example.com", "correct horse")
		f.register(t, "grace@example.com", "correct horse")
		var s sessions
		s.currentPair, s.current = f.loginFrom(t, "ada@example.com", "correct horse", laptop)
		for range 2 {
			p, _ := f.loginFrom(t, "ada@example.com", "correct horse", phone)
			s.others = append(s.others, p)
		}
		s.graceUntouched, _ = f.loginFrom(t, "grace@example.com", "correct horse", phone)
		return f, s
	}
	alive := func(f *fixture, pair application.TokenPair) bool {
		p, _ := f.svc.Authenticate(ctx, pair.AccessToken)
		_, err := f.svc.CurrentUser(ctx, p)
		return err == nil
	}
	for _, tt := range []struct {
		name        string
		in          func(s sessions) application.LogoutInput
		keepCurrent bool
		detail      string
	}{
		{"others by bearer", func(s sessions) application.LogoutInput {
			return application.LogoutInput{Principal: &s.current, Scope: application.LogoutOthers}
		}, true, "others"},
		{"others by refresh token", func(s sessions) application.LogoutInput {
			return application.LogoutInput{RefreshToken: s.currentPair.RefreshToken, Scope: application.LogoutOthers}
		}, true, "others"},
		{"global by bearer", func(s sessions) application.LogoutInput {
			return application.LogoutInput{Principal: &s.current, Scope: application.LogoutGlobal}
		}, false, "global"},
		{"global by refresh token", func(s sessions) application.LogoutInput {
			return application.LogoutInput{RefreshToken: s.currentPair.RefreshToken, Scope: application.LogoutGlobal}
		}, false, "global"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, s := setup(t)
			in := tt.in(s)
			in.Client = laptop
			if err := f.svc.Logout(ctx, in); err != nil {
				t.Fatal(err)
			}
			// Others is idempotent; after global the asking credential is
			// dead too, so a retry is refused like any dead credential.
			err := f.svc.Logout(ctx, in)
			if tt.keepCurrent && err != nil {
				t.Fatalf("repeated: %v", err)
			}
			if !tt.keepCurrent && !errors.Is(err, domain.ErrInvalidToken) && !errors.Is(err, domain.ErrInvalidRefreshToken) {
				t.Fatalf("repeated global: err = %v, want the credential refused", err)
			}
			if alive(f, s.currentPair) != tt.keepCurrent {
				t.Fatalf("current session alive = %t, want %t", !tt.keepCurrent, tt.keepCurrent)
			}
			for i, o := range s.others {
				if alive(f, o) {
					t.Fatalf("other session %d survived", i)
				}
			}
			if !alive(f, s.graceUntouched) {
				t.Fatal("another user's session was ended")
			}
			page, _ := f.svc.ListEvents(ctx, application.ListEventsInput{Type: "logged_out"})
			if len(page.Events) == 0 || page.Events[len(page.Events)-1].Detail != tt.detail ||
				page.Events[len(page.Events)-1].UserID != s.current.UserID || page.Events[len(page.Events)-1].SessionID != s.current.SessionID {
				t.Fatalf("events = %+v", page.Events)
			}
		})
	}

	t.Run("refused without a proven caller", func(t *testing.T) {
		f, s := setup(t)
		rotated := f.refresh(t, s.others[0].RefreshToken, phone)
		_ = rotated
		for name, in := range map[string]application.LogoutInput{
			"spent refresh token":     {RefreshToken: s.others[0].RefreshToken, Scope: application.LogoutGlobal},
			"unknown refresh token":   {RefreshToken: strings.Repeat("A", 43), Scope: application.LogoutOthers},
			"malformed refresh token": {RefreshToken: "garbage", Scope: application.LogoutOthers},
		} {
			if err := f.svc.Logout(ctx, in); !errors.Is(err, domain.ErrInvalidRefreshToken) {
				t.Errorf("%s: err = %v, want ErrInvalidRefreshToken", name, err)
			}
		}
		if err := f.svc.Logout(ctx, application.LogoutInput{Principal: &s.current, Scope: "everything"}); fieldCodes(t, err)["scope"] != "invalid" {
			t.Errorf("unknown scope: err = %v", err)
		}
		// A bearer whose session already ended cannot end the others.
		if err := f.svc.Logout(ctx, application.LogoutInput{Principal: &s.current}); err != nil {
			t.Fatal(err)
		}
		if err := f.svc.Logout(ctx, application.LogoutInput{Principal: &s.current, Scope: application.LogoutOthers}); !errors.Is(err, domain.ErrInvalidToken) {
			t.Errorf("ended bearer: err = %v, want ErrInvalidToken", err)
		}
		for i, o := range s.others[1:] {
			if !alive(f, o) {
				t.Fatalf("other session %d ended by a refused logout", i)
			}
		}
	})

	for _, raw := range []string{"", "this", "others", "global"} {
		if _, err := application.ParseLogoutScope(raw); err != nil {
			t.Errorf("ParseLogoutScope(%q) = %v", raw, err)
		}
	}
	if _, err := application.ParseLogoutScope("Global"); err == nil {
		t.Error("ParseLogoutScope(Global) = nil error")
	}
}

func TestChangePassword(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	_, current := f.loginFrom(t, "ada@example.com", "correct horse", laptop)
	otherPair, other := f.loginFrom(t, "ada@example.com", "correct horse", phone)
	f.register(t, "grace@example.com", "correct horse")
	_, grace := f.loginFrom(t, "grace@example.com", "correct horse", phone)

	in := application.ChangePasswordInput{Principal: current, CurrentPassword: "correct horse", NewPassword: "battery staple", Client: laptop}
	if err := f.svc.ChangePassword(ctx, in); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.CurrentUser(ctx, current); err != nil {
		t.Fatalf("the changing session must stay: %v", err)
	}
	if _, err := f.svc.CurrentUser(ctx, other); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("another session of the account: err = %v", err)
	}
	if _, err := f.svc.Refresh(ctx, application.RefreshInput{RefreshToken: otherPair.RefreshToken}); !errors.Is(err, domain.ErrInvalidRefreshToken) {
		t.Fatalf("another session's refresh: err = %v", err)
	}
	if _, err := f.svc.CurrentUser(ctx, grace); err != nil {
		t.Fatalf("another account's session: %v", err)
	}
	if err := loginErr(f, "ada@example.com", "correct horse"); !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("old password: err = %v", err)
	}
	f.login(t, "ada@example.com", "battery staple")

	page, _ := f.svc.ListEvents(ctx, application.ListEventsInput{Type: "password_changed"})
	if len(page.Events) != 1 || page.Events[0].UserID != current.UserID || page.Events[0].SessionID != current.SessionID ||
		page.Events[0].Client != laptop {
		t.Fatalf("events = %+v", page.Events)
	}
}

func TestChangePasswordRefusals(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	_, p := f.loginFrom(t, "ada@example.com", "correct horse", laptop)
	change := func(current, next string) error {
		return f.svc.ChangePassword(ctx, application.ChangePasswordInput{Principal: p, CurrentPassword: current, NewPassword: next})
	}
	if got := fieldCodes(t, change("", "short")); got["current_password"] != "required" || got["new_password"] != "too_short" || len(got) != 2 {
		t.Fatalf("fields = %v", got)
	}
	if got := fieldCodes(t, change("correct horse", strings.Repeat("x", 1025))); got["new_password"] != "too_long" {
		t.Fatalf("fields = %v", got)
	}
	var v *domain.ValidationError
	if errors.As(change("", "short"), &v) && !strings.HasPrefix(v.Fields[0].Message, "current_password") {
		t.Fatalf("message = %q", v.Fields[0].Message)
	}
	hashes := f.hasher.hashes.Load()
	// Wrong current passwords share the login throttle of the account's email.
	for range 5 {
		if err := change("wrong guess", "battery staple"); !errors.Is(err, domain.ErrInvalidCredentials) {
			t.Fatalf("wrong current: err = %v", err)
		}
	}
	verifies := f.hasher.verifies.Load()
	err := change("correct horse", "battery staple")
	if !errors.Is(err, domain.ErrThrottled) || retryAfter(t, err) != time.Second {
		t.Fatalf("sixth: err = %v, want throttled", err)
	}
	if err := loginErr(f, "ada@example.com", "correct horse"); !errors.Is(err, domain.ErrThrottled) {
		t.Fatalf("login after five wrong current passwords: err = %v, want throttled", err)
	}
	if f.hasher.verifies.Load() != verifies || f.hasher.hashes.Load() != hashes {
		t.Fatal("a throttled or refused change paid a hash")
	}
	f.clock.now = t0.Add(time.Second)
	if err := change("correct horse", "battery staple"); err != nil {
		t.Fatalf("after the lock: %v", err)
	}
	failed, _ := f.svc.ListEvents(ctx, application.ListEventsInput{Type: "login_failed"})
	if len(failed.Events) != 5 || failed.Events[0].Detail != "wrong current password at password change" || failed.Events[0].SessionID != p.SessionID {
		t.Fatalf("failed events = %+v", failed.Events)
	}

	// An access token whose session ended cannot change the password.
	if err := f.svc.Logout(ctx, application.LogoutInput{Principal: &p}); err != nil {
		t.Fatal(err)
	}
	if err := change("battery staple", "another horse"); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("ended session: err = %v", err)
	}
}
