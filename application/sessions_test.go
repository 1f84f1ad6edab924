package application_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/admin"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/domain"
)

func TestRefreshRotatesAndDetectsReuse(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	first := f.login(t, "ada@example.com", "correct horse")

	f.clock.now = t0.Add(time.Hour)
	second, err := f.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: first.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == first.RefreshToken || second.User.ID() != first.User.ID() {
		t.Fatalf("rotation did not mint a new token: %+v", second)
	}
	p, _ := f.bearer.Authenticate(ctx, second.AccessToken)
	p1, _ := f.bearer.Authenticate(ctx, first.AccessToken)
	if p.SessionID != p1.SessionID {
		t.Fatalf("refresh must stay in the same session")
	}

	// Reuse of the spent token revokes the session: the newest token dies too.
	if _, err := f.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: first.RefreshToken}); !errors.Is(err, domain.ErrRefreshTokenReused) || !errors.Is(err, domain.ErrInvalidRefreshToken) {
		t.Fatalf("reuse: err = %v", err)
	}
	if _, err := f.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: second.RefreshToken}); !errors.Is(err, domain.ErrInvalidRefreshToken) {
		t.Fatalf("newest token after reuse: err = %v", err)
	}
	if _, err := f.sessions.CurrentUser(ctx, p); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("/me after reuse: err = %v", err)
	}
}

func TestRefreshRejects(t *testing.T) {
	tests := []struct {
		name  string
		token func(f *fixture, pair application.TokenPair) string
		want  error
	}{
		{"empty", func(*fixture, application.TokenPair) string { return "" }, nil},
		{"malformed", func(*fixture, application.TokenPair) string { return "not a token" }, domain.ErrInvalidRefreshToken},
		{"unknown", func(*fixture, application.TokenPair) string { return strings.Repeat("A", 43) }, domain.ErrInvalidRefreshToken},
		{"expired", func(f *fixture, p application.TokenPair) string {
			f.clock.now = t0.Add(720*time.Hour + time.Second)
			return p.RefreshToken
		}, domain.ErrInvalidRefreshToken},
		{"after logout", func(f *fixture, p application.TokenPair) string {
			if err := f.sessions.Logout(context.Background(), sessions.LogoutInput{RefreshToken: p.RefreshToken}); err != nil {
				t.Fatal(err)
			}
			return p.RefreshToken
		}, domain.ErrInvalidRefreshToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.register(t, "ada@example.com", "correct horse")
			pair := f.login(t, "ada@example.com", "correct horse")
			_, err := f.sessions.Refresh(context.Background(), sessions.RefreshInput{RefreshToken: tt.token(f, pair)})
			if tt.want == nil {
				if fieldCodes(t, err)["refresh_token"] != "required" {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		in   func(pair application.TokenPair, p application.Principal) sessions.LogoutInput
	}{
		{"by refresh token", func(pair application.TokenPair, _ application.Principal) sessions.LogoutInput {
			return sessions.LogoutInput{RefreshToken: pair.RefreshToken}
		}},
		{"by access token", func(_ application.TokenPair, p application.Principal) sessions.LogoutInput {
			return sessions.LogoutInput{Principal: &p}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.register(t, "ada@example.com", "correct horse")
			pair := f.login(t, "ada@example.com", "correct horse")
			p, err := f.bearer.Authenticate(ctx, pair.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.sessions.CurrentUser(ctx, p); err != nil {
				t.Fatalf("before logout: %v", err)
			}
			for i := range 2 { // idempotent
				if err := f.sessions.Logout(ctx, tt.in(pair, p)); err != nil {
					t.Fatalf("logout #%d: %v", i+1, err)
				}
			}
			if _, err := f.sessions.CurrentUser(ctx, p); !errors.Is(err, domain.ErrInvalidToken) {
				t.Fatalf("access token of a logged-out session: err = %v", err)
			}
			if _, err := f.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: pair.RefreshToken}); !errors.Is(err, domain.ErrInvalidRefreshToken) {
				t.Fatalf("refresh after logout: err = %v", err)
			}
		})
	}
}

func TestLogoutEdgeCases(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.sessions.Logout(ctx, sessions.LogoutInput{}); !errors.Is(err, sessions.ErrNothingToRevoke) {
		t.Fatalf("neither credential: err = %v", err)
	}
	for _, tok := range []string{"garbage", strings.Repeat("B", 43)} {
		if err := f.sessions.Logout(ctx, sessions.LogoutInput{RefreshToken: tok}); err != nil {
			t.Fatalf("unknown token %q: err = %v", tok, err)
		}
	}
}

func TestCurrentUserStoreFailure(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	pair := f.login(t, "ada@example.com", "correct horse")
	p, _ := f.bearer.Authenticate(context.Background(), pair.AccessToken)
	f.store.failSession = domain.ErrUnavailable
	if _, err := f.sessions.CurrentUser(context.Background(), p); !errors.Is(err, domain.ErrUnavailable) || errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrUnavailable only", err)
	}
}

func TestAuthenticateRejectsGarbage(t *testing.T) {
	f := newFixture(t)
	if _, err := f.bearer.Authenticate(context.Background(), "nope"); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("err = %v", err)
	}
}

func TestSessionIdleTimeout(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	pair, p := f.loginFrom(t, "ada@example.com", "correct horse", laptop)

	// Used just before the week is up, the session lives on for another week.
	f.clock.now = t0.Add(application.DefaultSessionIdleTTL - time.Second)
	if _, err := f.sessions.CurrentUser(ctx, p); err != nil {
		t.Fatalf("before the idle limit: %v", err)
	}
	used := f.clock.now
	pair = f.refresh(t, pair.RefreshToken, phone)
	f.clock.now = used.Add(application.DefaultSessionIdleTTL - time.Second)
	if _, err := f.sessions.CurrentUser(ctx, p); err != nil {
		t.Fatalf("a week after the last refresh, less a second: %v", err)
	}

	// A week after the last use it is over, for the refresh token and the
	// access token alike (CurrentUser does not count as use).
	f.clock.now = used.Add(application.DefaultSessionIdleTTL)
	if _, err := f.sessions.CurrentUser(ctx, p); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("/me of an idle session: err = %v", err)
	}
	_, err := f.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: pair.RefreshToken})
	if !errors.Is(err, domain.ErrInvalidRefreshToken) || errors.Is(err, domain.ErrRefreshTokenReused) {
		t.Fatalf("refresh of an idle session: err = %v", err)
	}
}

func TestSessionMaxAge(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	pair, p := f.loginFrom(t, "ada@example.com", "correct horse", laptop)
	if pair.RefreshExpiresIn != application.DefaultSessionIdleTTL {
		t.Fatalf("first refresh token lives %v, want the idle timeout", pair.RefreshExpiresIn)
	}
	// Refreshed every day: never idle, but thirty days is the end.
	for day := 1; day < 30; day++ {
		f.clock.now = t0.Add(time.Duration(day) * 24 * time.Hour)
		pair = f.refresh(t, pair.RefreshToken, laptop)
		want := min(application.DefaultSessionIdleTTL, application.DefaultSessionMaxAge-time.Duration(day)*24*time.Hour)
		if pair.RefreshExpiresIn != want {
			t.Fatalf("day %d: refresh token lives %v, want %v (idle, or the session's end)", day, pair.RefreshExpiresIn, want)
		}
	}
	f.clock.now = t0.Add(application.DefaultSessionMaxAge - time.Second)
	pair = f.refresh(t, pair.RefreshToken, laptop)
	if pair.RefreshExpiresIn != time.Second {
		t.Fatalf("last refresh token lives %v, want 1s", pair.RefreshExpiresIn)
	}
	f.clock.now = t0.Add(application.DefaultSessionMaxAge)
	if _, err := f.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: pair.RefreshToken}); !errors.Is(err, domain.ErrInvalidRefreshToken) {
		t.Fatalf("refresh at the max age: err = %v", err)
	}
	if _, err := f.sessions.CurrentUser(ctx, p); !errors.Is(err, domain.ErrInvalidToken) {
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
	if err := f.sessions.Logout(ctx, sessions.LogoutInput{RefreshToken: ended.RefreshToken}); err != nil {
		t.Fatal(err)
	}
	f.loginFrom(t, "grace@example.com", "correct horse", phone)
	f.clock.now = t0.Add(time.Hour)
	f.refresh(t, first.RefreshToken, phone)

	views, err := f.sessions.List(ctx, second)
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
	if err := f.sessions.Logout(ctx, sessions.LogoutInput{Principal: &p}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sessions.List(ctx, p); !errors.Is(err, domain.ErrInvalidToken) {
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
		err := f.sessions.Revoke(ctx, sessions.RevokeInput{Principal: mine, SessionID: id})
		if !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("revoke %q: err = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := f.sessions.CurrentUser(ctx, grace); err != nil {
		t.Fatalf("grace's session after ada's attempt: %v", err)
	}
	f.refresh(t, gracePair.RefreshToken, phone)

	in := sessions.RevokeInput{Principal: mine, SessionID: other.SessionID.String(), Client: laptop}
	for range 2 { // idempotent
		if err := f.sessions.Revoke(ctx, in); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: otherPair.RefreshToken}); !errors.Is(err, domain.ErrInvalidRefreshToken) {
		t.Fatalf("refresh of the revoked session: err = %v", err)
	}
	if _, err := f.sessions.CurrentUser(ctx, mine); err != nil {
		t.Fatalf("the revoking session: %v", err)
	}
	page, _ := f.admin.ListEvents(ctx, admin.ListEventsInput{Type: "session_revoked"})
	if len(page.Events) != 2 || page.Events[0].SessionID != other.SessionID || page.Events[0].UserID != mine.UserID ||
		page.Events[0].Client != laptop || page.Events[0].Detail != "by its owner" {
		t.Fatalf("events = %+v", page.Events)
	}

	// The current session too: that is a logout. Afterwards the token can
	// manage nothing.
	if err := f.sessions.Revoke(ctx, sessions.RevokeInput{Principal: mine, SessionID: mine.SessionID.String()}); err != nil {
		t.Fatal(err)
	}
	err := f.sessions.Revoke(ctx, sessions.RevokeInput{Principal: mine, SessionID: mine.SessionID.String()})
	if !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("revoke with an ended session's token: err = %v", err)
	}
}

func TestLogoutScopes(t *testing.T) {
	ctx := context.Background()
	type accountSessions struct {
		current        application.Principal
		currentPair    application.TokenPair
		others         []application.TokenPair
		graceUntouched application.TokenPair
	}
	setup := func(t *testing.T) (*fixture, accountSessions) {
		f := newFixture(t)
		f.register(t, "ada@example.com", "correct horse")
		f.register(t, "grace@example.com", "correct horse")
		var s accountSessions
		s.currentPair, s.current = f.loginFrom(t, "ada@example.com", "correct horse", laptop)
		for range 2 {
			p, _ := f.loginFrom(t, "ada@example.com", "correct horse", phone)
			s.others = append(s.others, p)
		}
		s.graceUntouched, _ = f.loginFrom(t, "grace@example.com", "correct horse", phone)
		return f, s
	}
	alive := func(f *fixture, pair application.TokenPair) bool {
		p, _ := f.bearer.Authenticate(ctx, pair.AccessToken)
		_, err := f.sessions.CurrentUser(ctx, p)
		return err == nil
	}
	for _, tt := range []struct {
		name        string
		in          func(s accountSessions) sessions.LogoutInput
		keepCurrent bool
		detail      string
	}{
		{"others by bearer", func(s accountSessions) sessions.LogoutInput {
			return sessions.LogoutInput{Principal: &s.current, Scope: sessions.LogoutOthers}
		}, true, "others"},
		{"others by refresh token", func(s accountSessions) sessions.LogoutInput {
			return sessions.LogoutInput{RefreshToken: s.currentPair.RefreshToken, Scope: sessions.LogoutOthers}
		}, true, "others"},
		{"global by bearer", func(s accountSessions) sessions.LogoutInput {
			return sessions.LogoutInput{Principal: &s.current, Scope: sessions.LogoutGlobal}
		}, false, "global"},
		{"global by refresh token", func(s accountSessions) sessions.LogoutInput {
			return sessions.LogoutInput{RefreshToken: s.currentPair.RefreshToken, Scope: sessions.LogoutGlobal}
		}, false, "global"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f, s := setup(t)
			in := tt.in(s)
			in.Client = laptop
			if err := f.sessions.Logout(ctx, in); err != nil {
				t.Fatal(err)
			}
			// Others is idempotent; after global the asking credential is
			// dead too, so a retry is refused like any dead credential.
			err := f.sessions.Logout(ctx, in)
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
			page, _ := f.admin.ListEvents(ctx, admin.ListEventsInput{Type: "logged_out"})
			if len(page.Events) == 0 || page.Events[len(page.Events)-1].Detail != tt.detail ||
				page.Events[len(page.Events)-1].UserID != s.current.UserID || page.Events[len(page.Events)-1].SessionID != s.current.SessionID {
				t.Fatalf("events = %+v", page.Events)
			}
		})
	}

	t.Run("refused without a proven caller", func(t *testing.T) {
		f, s := setup(t)
		f.refresh(t, s.others[0].RefreshToken, phone)
		for name, in := range map[string]sessions.LogoutInput{
			"spent refresh token":     {RefreshToken: s.others[0].RefreshToken, Scope: sessions.LogoutGlobal},
			"unknown refresh token":   {RefreshToken: strings.Repeat("A", 43), Scope: sessions.LogoutOthers},
			"malformed refresh token": {RefreshToken: "garbage", Scope: sessions.LogoutOthers},
		} {
			if err := f.sessions.Logout(ctx, in); !errors.Is(err, domain.ErrInvalidRefreshToken) {
				t.Errorf("%s: err = %v, want ErrInvalidRefreshToken", name, err)
			}
		}
		if err := f.sessions.Logout(ctx, sessions.LogoutInput{Principal: &s.current, Scope: "everything"}); fieldCodes(t, err)["scope"] != "invalid" {
			t.Errorf("unknown scope: err = %v", err)
		}
		// A bearer whose session already ended cannot end the others.
		if err := f.sessions.Logout(ctx, sessions.LogoutInput{Principal: &s.current}); err != nil {
			t.Fatal(err)
		}
		if err := f.sessions.Logout(ctx, sessions.LogoutInput{Principal: &s.current, Scope: sessions.LogoutOthers}); !errors.Is(err, domain.ErrInvalidToken) {
			t.Errorf("ended bearer: err = %v, want ErrInvalidToken", err)
		}
		for i, o := range s.others[1:] {
			if !alive(f, o) {
				t.Fatalf("other session %d ended by a refused logout", i)
			}
		}
	})

	for _, raw := range []string{"", "this", "others", "global"} {
		if _, err := sessions.ParseLogoutScope(raw); err != nil {
			t.Errorf("ParseLogoutScope(%q) = %v", raw, err)
		}
	}
	if _, err := sessions.ParseLogoutScope("Global"); err == nil {
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

	in := account.ChangePasswordInput{Principal: current, CurrentPassword: "correct horse", NewPassword: "battery staple", Client: laptop}
	if err := f.changePassword(in); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sessions.CurrentUser(ctx, current); err != nil {
		t.Fatalf("the changing session must stay: %v", err)
	}
	if _, err := f.sessions.CurrentUser(ctx, other); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("another session of the account: err = %v", err)
	}
	if _, err := f.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: otherPair.RefreshToken}); !errors.Is(err, domain.ErrInvalidRefreshToken) {
		t.Fatalf("another session's refresh: err = %v", err)
	}
	if _, err := f.sessions.CurrentUser(ctx, grace); err != nil {
		t.Fatalf("another account's session: %v", err)
	}
	if err := loginErr(f, "ada@example.com", "correct horse"); !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("old password: err = %v", err)
	}
	f.login(t, "ada@example.com", "battery staple")

	page, _ := f.admin.ListEvents(ctx, admin.ListEventsInput{Type: "password_changed"})
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
		return f.changePassword(account.ChangePasswordInput{Principal: p, CurrentPassword: current, NewPassword: next})
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
	failed, _ := f.admin.ListEvents(ctx, admin.ListEventsInput{Type: "login_failed"})
	if len(failed.Events) != 5 || failed.Events[0].Detail != "wrong current password at password change" || failed.Events[0].SessionID != p.SessionID {
		t.Fatalf("failed events = %+v", failed.Events)
	}

	// An access token whose session ended cannot change the password.
	if err := f.sessions.Logout(ctx, sessions.LogoutInput{Principal: &p}); err != nil {
		t.Fatal(err)
	}
	if err := change("battery staple", "another horse"); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("ended session: err = %v", err)
	}
}
