package application_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/adapters/memory"
	"github.com/authd/authd/application"
	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/admin"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// allEvents reads the whole log, newest first, through ListEvents' pages.
func allEvents(t *testing.T, f *fixture, in admin.ListEventsInput) []domain.AuditEvent {
	t.Helper()
	var out []domain.AuditEvent
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("no last page")
		}
		page, err := f.admin.ListEvents(context.Background(), in)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, page.Events...)
		if page.Next == "" {
			return out
		}
		in.After = page.Next
	}
}

// A whole account's life leaves one event per step, with the right fields,
// and no event carries a password, a token or a hash.
func TestAuditTrail(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	const password, newPassword, wrong = "correct horse SECRET1", "battery staple SECRET2", "wrong guess SECRET3"
	u, err := f.registration.Register(ctx, account.RegisterInput{Email: "ada@example.com", Password: password, Client: laptop})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.now = f.clock.now.Add(time.Second)
	_ = loginErr(f, "nobody@example.com", wrong)
	_, _ = f.logins.Login(ctx, signin.LoginInput{Email: "ada@example.com", Password: wrong, Client: phone})
	pair, p := f.loginFrom(t, "ada@example.com", password, laptop)
	f.clock.now = f.clock.now.Add(time.Second)
	next := f.refresh(t, pair.RefreshToken, laptop)
	_, _ = f.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: pair.RefreshToken, Client: phone}) // reuse
	pair2, p2 := f.loginFrom(t, "ada@example.com", password, laptop)
	f.clock.now = f.clock.now.Add(time.Second)
	if err := f.changePassword(account.ChangePasswordInput{Principal: p2, CurrentPassword: password, NewPassword: newPassword, Client: laptop}); err != nil {
		t.Fatal(err)
	}
	if err := f.sessions.Logout(ctx, sessions.LogoutInput{RefreshToken: pair2.RefreshToken, Client: laptop}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.SetRole(ctx, admin.SetRoleInput{Email: "ada@example.com", Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	f.loginFrom(t, "ada@example.com", newPassword, laptop)
	if n, err := f.admin.RevokeUserSessions(ctx, "ada@example.com"); err != nil || n != 1 {
		t.Fatalf("revoke user sessions = %d, %v", n, err)
	}
	f.recorder.RecordRateLimited(ctx, domain.ClientInfo{IP: "198.51.100.9", UserAgent: "flood"})

	events := allEvents(t, f, admin.ListEventsInput{Limit: 2})
	type want struct {
		typ     domain.EventType
		user    domain.UserID
		session domain.SessionID
		client  domain.ClientInfo
		detail  string
	}
	// Oldest first here; the log reads newest first.
	wants := []want{
		{domain.EventRegistered, u.ID(), "", laptop, ""},
		{domain.EventLoginFailed, "", "", domain.ClientInfo{}, "no account has this email"},
		{domain.EventLoginFailed, u.ID(), "", phone, "wrong password"},
		{domain.EventLoginSucceeded, u.ID(), p.SessionID, laptop, ""},
		{domain.EventRefreshed, u.ID(), p.SessionID, laptop, ""},
		{domain.EventRefreshReuseDetected, u.ID(), p.SessionID, phone, "spent refresh token presented; session revoked"},
		{domain.EventLoginSucceeded, u.ID(), p2.SessionID, laptop, ""},
		{domain.EventPasswordChanged, u.ID(), p2.SessionID, laptop, "other sessions revoked"},
		{domain.EventLoggedOut, u.ID(), p2.SessionID, laptop, "this session"},
		{domain.EventRoleChanged, u.ID(), "", domain.ClientInfo{}, "user -> admin"},
		{domain.EventLoginSucceeded, u.ID(), "", laptop, ""},
		{domain.EventSessionRevoked, u.ID(), "", domain.ClientInfo{}, "all sessions, by an operator"},
		{domain.EventRateLimited, "", "", domain.ClientInfo{IP: "198.51.100.9", UserAgent: "flood"}, "per-IP request limit"},
	}
	if len(events) != len(wants) {
		for _, e := range events {
			t.Logf("%+v", e)
		}
		t.Fatalf("%d events, want %d", len(events), len(wants))
	}
	ids := map[domain.EventID]bool{}
	for i, w := range wants {
		e := events[len(events)-1-i]
		if w.typ == domain.EventLoginSucceeded && w.session == "" {
			w.session = e.SessionID // the last login's session: not otherwise known here
		}
		if e.Type != w.typ || e.UserID != w.user || e.SessionID != w.session || e.Client != w.client || e.Detail != w.detail {
			t.Errorf("event %d = %+v\n want %+v", i, e, w)
		}
		if _, err := domain.ParseEventID(e.ID.String()); err != nil || ids[e.ID] || e.At.IsZero() {
			t.Errorf("event %d: id %q (seen %t), at %s", i, e.ID, ids[e.ID], e.At)
		}
		ids[e.ID] = true
	}
	secrets := []string{"SECRET", pair.RefreshToken, pair.AccessToken, next.RefreshToken, pair2.RefreshToken, f.passwordHash(t, u.ID()), "fake$"}
	for _, e := range events {
		all := fmt.Sprintf("%+v %#v", e, e)
		for _, s := range secrets {
			if strings.Contains(all, s) {
				t.Errorf("event %+v contains %q", e, s)
			}
		}
	}
	if errs := f.auditErrors.list(); len(errs) != 0 {
		t.Fatalf("audit errors: %v", errs)
	}
}

// The audit log failing must not fail what it records: a failed append of
// an event recorded on its own (Recorder.Record: login_failed,
// login_throttled, logged_out, session_revoked, role_changed,
// rate_limited) leaves the use case as it was, and onError hears of each
// lost event.
//
// The documented exception: the events written in the transaction of the
// change they describe (Recorder.InTx: registered, login_succeeded,
// refreshed, refresh_reuse_detected, password_changed) stand or fall with
// it, so a failed append there fails the use case and leaves nothing
// behind. Those are errors returned, not events lost: onError hears
// nothing of them.
func TestAuditFailureNeverFailsTheUseCase(t *testing.T) {
	ctx := context.Background()
	auditDown := errors.Join(domain.ErrUnavailable, errors.New("audit table gone"))

	t.Run("recorded on its own", func(t *testing.T) {
		f := newFixture(t)
		f.auditLog.setFail(auditDown)
		f.register(t, "ada@example.com", "correct horse")
		f.register(t, "grace@example.com", "correct horse")
		pair, p := f.loginFrom(t, "ada@example.com", "correct horse", laptop)
		_, other := f.loginFrom(t, "ada@example.com", "correct horse", phone)
		f.refresh(t, pair.RefreshToken, laptop)
		if err := loginErr(f, "grace@example.com", "wrong guess"); !errors.Is(err, domain.ErrInvalidCredentials) {
			t.Fatalf("err = %v", err)
		}
		for range application.DefaultLoginFreeAttempts {
			_ = loginErr(f, "nobody@example.com", "wrong guess")
		}
		if err := loginErr(f, "nobody@example.com", "wrong guess"); !errors.Is(err, domain.ErrThrottled) {
			t.Fatalf("throttled: err = %v", err)
		}
		if err := f.sessions.Revoke(ctx, sessions.RevokeInput{Principal: p, SessionID: other.SessionID.String()}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.sessions.CurrentUser(ctx, other); !errors.Is(err, domain.ErrInvalidToken) {
			t.Fatalf("revoked session: err = %v", err)
		}
		if _, err := f.admin.SetRole(ctx, admin.SetRoleInput{Email: "grace@example.com", Role: "admin"}); err != nil {
			t.Fatal(err)
		}
		grace, _ := f.store.UserByEmail(ctx, mustEmail(t, "grace@example.com"))
		if grace.Role() != domain.RoleAdmin {
			t.Fatalf("role = %q", grace.Role())
		}
		f.recorder.RecordRateLimited(ctx, laptop)
		if err := f.sessions.Logout(ctx, sessions.LogoutInput{Principal: &p}); err != nil {
			t.Fatal(err)
		}
		if _, err := f.sessions.CurrentUser(ctx, p); !errors.Is(err, domain.ErrInvalidToken) {
			t.Fatalf("logged-out session: err = %v", err)
		}
		// Lost, in order: login_failed (grace), five login_failed for the
		// unknown email, login_throttled, session_revoked, role_changed,
		// rate_limited, logged_out. registered, login_succeeded and
		// refreshed went through the transactions' own audit log.
		wantTypes := []domain.EventType{domain.EventLoginFailed}
		for range application.DefaultLoginFreeAttempts {
			wantTypes = append(wantTypes, domain.EventLoginFailed)
		}
		wantTypes = append(wantTypes, domain.EventLoginThrottled, domain.EventSessionRevoked, domain.EventRoleChanged,
			domain.EventRateLimited, domain.EventLoggedOut)
		errs := f.auditErrors.list()
		if len(errs) != len(wantTypes) {
			t.Fatalf("onError got %d errors, want %d: %v", len(errs), len(wantTypes), errs)
		}
		for i, err := range errs {
			if !errors.Is(err, domain.ErrUnavailable) || !strings.Contains(err.Error(), " "+string(wantTypes[i])+" ") {
				t.Errorf("onError #%d = %v, want the %s event lost", i, err, wantTypes[i])
			}
		}
		// The events of the transactions are all there, and nothing else.
		events := allEvents(t, f, admin.ListEventsInput{})
		counts := map[domain.EventType]int{}
		for _, e := range events {
			counts[e.Type]++
		}
		if len(events) != 5 || counts[domain.EventRegistered] != 2 || counts[domain.EventLoginSucceeded] != 2 || counts[domain.EventRefreshed] != 1 {
			t.Fatalf("stored events = %v", counts)
		}
	})

	t.Run("in the transaction of the change", func(t *testing.T) {
		f := newFixture(t)
		ada := f.register(t, "ada@example.com", "correct horse")
		pairA, a := f.loginFrom(t, "ada@example.com", "correct horse", laptop)
		pairB, b := f.loginFrom(t, "ada@example.com", "correct horse", phone)
		f.clock.now = t0.Add(time.Minute)
		f.refresh(t, pairB.RefreshToken, phone) // pairB's token is now spent
		before := allEvents(t, f, admin.ListEventsInput{})
		liveSessions := func() int {
			t.Helper()
			s, err := f.store.SessionsOfUser(ctx, ada.ID(), f.clock.now, domain.SessionPolicy{}, 100)
			if err != nil {
				t.Fatal(err)
			}
			return len(s)
		}

		f.clock.now = t0.Add(time.Hour)
		f.store.failTxAudit = auditDown
		failed := func(what string, err error, notWant ...error) {
			t.Helper()
			if !errors.Is(err, domain.ErrUnavailable) {
				t.Fatalf("%s: err = %v, want the audit failure", what, err)
			}
			for _, nw := range notWant {
				if errors.Is(err, nw) {
					t.Fatalf("%s: err = %v must not be %v", what, err, nw)
				}
			}
		}

		// registered: no user, no password.
		_, err := f.registration.Register(ctx, account.RegisterInput{Email: "grace@example.com", Password: "correct horse"})
		failed("register", err, domain.ErrEmailTaken)
		_, err = f.admin.CreateUser(ctx, admin.CreateUserInput{Email: "root@example.com", Password: "correct horse", Role: "admin"})
		failed("create user", err, domain.ErrEmailTaken)
		for _, email := range []string{"grace@example.com", "root@example.com"} {
			if _, err := f.store.Store.UserByEmail(ctx, mustEmail(t, email)); !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("%s stored after a failed sign-up: err = %v", email, err)
			}
		}
		if page, err := f.admin.ListUsers(ctx, admin.ListUsersInput{}); err != nil || len(page.Users) != 1 {
			t.Fatalf("users = %+v, %v", page.Users, err)
		}

		// login_succeeded: no session.
		_, err = f.logins.Login(ctx, signin.LoginInput{Email: "ada@example.com", Password: "correct horse"})
		failed("login", err, domain.ErrInvalidCredentials)
		if n := liveSessions(); n != 2 {
			t.Fatalf("%d sessions after a failed login, want the 2 from before", n)
		}

		// refreshed: the token stays unspent, the session unused.
		_, err = f.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: pairA.RefreshToken})
		failed("refresh", err, domain.ErrInvalidRefreshToken)
		if s, _, err := f.store.SessionByID(ctx, a.SessionID); err != nil || !s.LastUsedAt().Equal(t0) {
			t.Fatalf("session after a failed refresh: last used %v, %v", s.LastUsedAt(), err)
		}

		// password_changed: the old password stands, the other session lives.
		err = f.changePassword(account.ChangePasswordInput{Principal: a, CurrentPassword: "correct horse", NewPassword: "battery staple"})
		failed("change password", err, domain.ErrInvalidCredentials)
		if hash := f.passwordHash(t, ada.ID()); hash != "fake$correct horse" {
			t.Fatalf("hash after a failed change = %q", hash)
		}
		if _, err := f.sessions.CurrentUser(ctx, b); err != nil {
			t.Fatalf("other session after a failed change: %v", err)
		}

		if after := allEvents(t, f, admin.ListEventsInput{}); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("events changed by failed use cases:\n%+v\nwant\n%+v", after, before)
		}
		if errs := f.auditErrors.list(); len(errs) != 0 {
			t.Fatalf("onError told of %v: nothing was lost, it all failed", errs)
		}

		// refresh_reuse_detected is the exception: a revocation must not
		// depend on its event. The session is revoked on its own and the
		// event recorded best effort, outside the failed transaction.
		_, err = f.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: pairB.RefreshToken})
		if !errors.Is(err, domain.ErrRefreshTokenReused) {
			t.Fatalf("reuse with the audit failing in transactions: %v, want ErrRefreshTokenReused", err)
		}
		if _, err := f.sessions.CurrentUser(ctx, b); !errors.Is(err, domain.ErrInvalidToken) {
			t.Fatalf("session after a reuse detection whose event failed in the transaction: %v, want revoked", err)
		}
		reuse := allEvents(t, f, admin.ListEventsInput{Type: string(domain.EventRefreshReuseDetected)})
		if len(reuse) != 1 || reuse[0].SessionID != b.SessionID {
			t.Fatalf("reuse events: %+v, want the one recorded outside the transaction", reuse)
		}

		// The audit log is back: everything works from where it was.
		f.store.failTxAudit = nil
		f.refresh(t, pairA.RefreshToken, laptop)
		if err := f.changePassword(account.ChangePasswordInput{Principal: a, CurrentPassword: "correct horse", NewPassword: "battery staple"}); err != nil {
			t.Fatal(err)
		}
		f.register(t, "grace@example.com", "correct horse")
		f.login(t, "ada@example.com", "battery staple")
	})

	// Without onError, failures are ignored; without an audit log, nothing
	// is recorded and ListEvents is empty.
	t.Run("no onError, no audit log", func(t *testing.T) {
		for _, w := range []struct {
			name  string
			audit ports.AuditLog
		}{
			{"failing log, no onError", &flakyAudit{fail: auditDown}},
			{"no log", nil},
		} {
			t.Run(w.name, func(t *testing.T) {
				st := &flakyStore{Store: memory.NewStore()}
				clock := &fixedClock{now: t0}
				uc := wireUseCases(t, wiring{
					store: st, audit: w.audit, hasher: &fakeHasher{}, tokens: fakeTokens{clock: clock},
					clock: clock, ids: &seqIDs{}, random: &countingRandom{}, config: application.Config{RefreshTTL: time.Hour},
				})
				if _, err := uc.registration.Register(ctx, account.RegisterInput{Email: "grace@example.com", Password: "correct horse"}); err != nil {
					t.Fatal(err)
				}
				if _, err := uc.logins.Login(ctx, signin.LoginInput{Email: "grace@example.com", Password: "wrong guess"}); !errors.Is(err, domain.ErrInvalidCredentials) {
					t.Fatalf("wrong password: err = %v", err)
				}
				pair, err := uc.logins.Login(ctx, signin.LoginInput{Email: "grace@example.com", Password: "correct horse"})
				if err != nil {
					t.Fatal(err)
				}
				if err := uc.sessions.Logout(ctx, sessions.LogoutInput{RefreshToken: pair.RefreshToken}); err != nil {
					t.Fatal(err)
				}
				uc.recorder.RecordRateLimited(ctx, laptop)
				if w.audit != nil {
					return // the transactions' events went to the store
				}
				if page, err := uc.admin.ListEvents(ctx, admin.ListEventsInput{}); err != nil || len(page.Events) != 0 {
					t.Fatalf("no audit log: %+v, %v", page, err)
				}
				// An admin service without an event log lists empty pages.
				bare := admin.New(st, st, nil, uc.registration, clock, uc.recorder)
				if page, err := bare.ListEvents(ctx, admin.ListEventsInput{}); err != nil || len(page.Events) != 0 || page.Next != "" {
					t.Fatalf("no event log: %+v, %v", page, err)
				}
			})
		}
	})
}

func mustEmail(t *testing.T, s string) domain.Email {
	t.Helper()
	e, err := domain.NewEmail(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestListEventsPagingAndFilters(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	ada := f.register(t, "ada@example.com", "correct horse")
	for i := range 7 {
		f.clock.now = t0.Add(time.Duration(i/3) * time.Second) // ties: ids order them
		f.loginFrom(t, "ada@example.com", "correct horse", laptop)
	}
	f.register(t, "grace@example.com", "correct horse")

	all := allEvents(t, f, admin.ListEventsInput{})
	if len(all) != 9 || all[0].Type != domain.EventRegistered || all[8].Type != domain.EventRegistered || all[8].UserID != ada.ID() {
		t.Fatalf("events: %+v", all)
	}
	for _, limit := range []int{1, 2, 4, 9, 10} {
		got := allEvents(t, f, admin.ListEventsInput{Limit: limit})
		if fmt.Sprint(got) != fmt.Sprint(all) {
			t.Fatalf("limit %d: pages differ from one page", limit)
		}
	}
	page, err := f.admin.ListEvents(ctx, admin.ListEventsInput{Limit: 9})
	if err != nil || page.Next != "" {
		t.Fatalf("a full last page promises another: %q, %v", page.Next, err)
	}
	logins := allEvents(t, f, admin.ListEventsInput{Type: "login_succeeded", UserID: ada.ID().String(), Limit: 3})
	if len(logins) != 7 {
		t.Fatalf("%d logins of ada, want 7", len(logins))
	}

	for name, in := range map[string]admin.ListEventsInput{
		"limit":         {Limit: admin.MaxEventPageSize + 1},
		"limit below 1": {Limit: -1},
		"after":         {After: "yesterday"},
		"after id":      {After: "123_not-a-uuid"},
		"user_id":       {UserID: "ada@example.com"},
		"type":          {Type: "password_guessed"},
	} {
		_, err := f.admin.ListEvents(ctx, in)
		if got := fieldCodes(t, err); len(got) != 1 || got[strings.Fields(name)[0]] != "invalid" {
			t.Errorf("%s: fields %v", name, got)
		}
	}
}

func TestRecordRateLimitedOncePerIPAMinute(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	a := domain.ClientInfo{IP: "198.51.100.1", UserAgent: "flood"}
	b := domain.ClientInfo{IP: "198.51.100.2", UserAgent: "flood\x00"}
	for range 100 {
		f.recorder.RecordRateLimited(ctx, a)
		f.recorder.RecordRateLimited(ctx, b)
	}
	f.clock.now = t0.Add(59 * time.Second)
	f.recorder.RecordRateLimited(ctx, a)
	f.clock.now = t0.Add(time.Minute)
	f.recorder.RecordRateLimited(ctx, a)
	events := allEvents(t, f, admin.ListEventsInput{Type: "rate_limited"})
	if len(events) != 3 || events[0].Client != a || !events[0].At.Equal(t0.Add(time.Minute)) || events[1].Client.UserAgent != "flood" {
		t.Fatalf("events = %+v", events)
	}
}

// An IPv6 client rotating addresses inside its /64 (one limiter bucket)
// gets one event a minute, not one per address.
func TestRecordRateLimitedGroupsIPv6By64(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	for i := range 300 {
		f.recorder.RecordRateLimited(ctx, domain.ClientInfo{IP: fmt.Sprintf("2001:db8:1:2::%x", i+1)})
	}
	f.recorder.RecordRateLimited(ctx, domain.ClientInfo{IP: "2001:db8:1:3::1"})
	if events := allEvents(t, f, admin.ListEventsInput{Type: "rate_limited"}); len(events) != 2 {
		t.Fatalf("%d rate_limited events, want 2 (one per /64)", len(events))
	}
}

func TestAdminEvents(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	u, err := f.admin.CreateUser(ctx, admin.CreateUserInput{Email: "root@example.com", Password: "correct horse", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	// Setting the role it has changes nothing and records nothing.
	if _, err := f.admin.SetRole(ctx, admin.SetRoleInput{Email: "root@example.com", Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.admin.SetRole(ctx, admin.SetRoleInput{Email: "root@example.com", Role: "user"}); err != nil {
		t.Fatal(err)
	}
	// No session to end: nothing recorded.
	if _, err := f.admin.RevokeUserSessions(ctx, "root@example.com"); err != nil {
		t.Fatal(err)
	}
	events := allEvents(t, f, admin.ListEventsInput{})
	if len(events) != 2 || events[1].Type != domain.EventRegistered || events[1].Detail != "by an operator" || events[1].UserID != u.ID() ||
		events[0].Type != domain.EventRoleChanged || events[0].Detail != "admin -> user" {
		t.Fatalf("events = %+v", events)
	}
}

// The HTTP admin API names accounts by id, and the acting administrator
// is recorded.
func TestAdminByID(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	u := f.register(t, "ada@example.com", "correct horse")
	_, p := f.loginFrom(t, "ada@example.com", "correct horse", laptop)

	change, err := f.admin.SetRole(ctx, admin.SetRoleInput{UserID: u.ID().String(), Role: "admin"})
	if err != nil || change.User.Role() != domain.RoleAdmin || change.Previous != domain.RoleUser {
		t.Fatalf("SetRole by id = %+v, %v", change, err)
	}
	for _, id := range []string{"00000000-0000-7000-8000-999999999999", "not-an-id", "ADA@EXAMPLE.COM"} {
		if _, err := f.admin.SetRole(ctx, admin.SetRoleInput{UserID: id, Role: "admin"}); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("SetRole(%q) = %v, want ErrNotFound", id, err)
		}
		if _, err := f.admin.RevokeUserSessionsByID(ctx, id, application.Actor{}); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("RevokeUserSessionsByID(%q) = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := f.admin.RevokeUserSessionsByID(ctx, "", application.Actor{}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("RevokeUserSessionsByID(\"\") = %v, want ErrNotFound", err)
	}
	_, err = f.admin.SetRole(ctx, admin.SetRoleInput{UserID: u.ID().String(), Email: "ada@example.com", Role: "user"})
	if fieldCodes(t, err)["user_id"] != "invalid" {
		t.Fatalf("both email and id: err = %v", err)
	}
	if _, err := f.admin.SetRole(ctx, admin.SetRoleInput{UserID: u.ID().String(), Role: "root"}); fieldCodes(t, err)["role"] != "invalid" {
		t.Fatalf("bad role by id: err = %v", err)
	}

	by := application.Actor{UserID: "00000000-0000-7000-9000-000000000042", Client: phone}
	n, err := f.admin.RevokeUserSessionsByID(ctx, u.ID().String(), by)
	if err != nil || n != 1 {
		t.Fatalf("RevokeUserSessionsByID = %d, %v", n, err)
	}
	if _, err := f.sessions.CurrentUser(ctx, p); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("session after revocation: %v", err)
	}
	events := allEvents(t, f, admin.ListEventsInput{UserID: u.ID().String()})
	if events[0].Type != domain.EventSessionRevoked || events[0].ActorID != by.UserID || events[0].Client != phone ||
		events[1].Type != domain.EventRoleChanged || events[1].Detail != "user -> admin" || events[1].ActorID != "" {
		t.Fatalf("events = %+v", events)
	}
}
