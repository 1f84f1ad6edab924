package application_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
)

// allEvents reads the whole log, newest first, through ListEvents' pages.
func allEvents(t *testing.T, f *fixture, in application.ListEventsInput) []domain.AuditEvent {
	t.Helper()
	var out []domain.AuditEvent
	for pages := 0; ; pages++ {
		if pages > 1000 {
			t.Fatal("no last page")
		}
		page, err := f.svc.ListEvents(context.Background(), in)
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
	u, err := f.svc.Register(ctx, application.RegisterInput{Email: "ada@example.com", Password: password, Client: laptop})
	if err != nil {
		t.Fatal(err)
	}
	f.clock.now = f.clock.now.Add(time.Second)
	_ = loginErr(f, "nobody@example.com", wrong)
	_, _ = f.svc.Login(ctx, application.LoginInput{Email: "ada@example.com", Password: wrong, Client: phone})
	pair, p := f.loginFrom(t, "ada@example.com", password, laptop)
	f.clock.now = f.clock.now.Add(time.Second)
	next := f.refresh(t, pair.RefreshToken, laptop)
	_, _ = f.svc.Refresh(ctx, application.RefreshInput{RefreshToken: pair.RefreshToken, Client: phone}) // reuse
	pair2, p2 := f.loginFrom(t, "ada@example.com", password, laptop)
	f.clock.now = f.clock.now.Add(time.Second)
	if err := f.svc.ChangePassword(ctx, application.ChangePasswordInput{Principal: p2, CurrentPassword: password, NewPassword: newPassword, Client: laptop}); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Logout(ctx, application.LogoutInput{RefreshToken: pair2.RefreshToken, Client: laptop}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetRole(ctx, application.SetRoleInput{Email: "ada@example.com", Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	f.loginFrom(t, "ada@example.com", newPassword, laptop)
	if n, err := f.svc.RevokeUserSessions(ctx, "ada@example.com"); err != nil || n != 1 {
		t.Fatalf("revoke user sessions = %d, %v", n, err)
	}
	f.svc.RecordRateLimited(ctx, domain.ClientInfo{IP: "198.51.100.9", UserAgent: "flood"})

	events := allEvents(t, f, application.ListEventsInput{Limit: 2})
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
	stored, _ := f.store.UserByID(ctx, u.ID())
	secrets := []string{"SECRET", pair.RefreshToken, pair.AccessToken, next.RefreshToken, pair2.RefreshToken, stored.PasswordHash(), "fake$"}
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

// The audit log failing must not fail what it records: the login is a
// success, and OnAuditError hears of each lost event.
func TestAuditFailureNeverFailsTheUseCase(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.audit.fail = errors.Join(domain.ErrUnavailable, errors.New("audit table gone"))
	f.register(t, "ada@example.com", "correct horse")
	pair, p := f.loginFrom(t, "ada@example.com", "correct horse", laptop)
	f.refresh(t, pair.RefreshToken, laptop)
	if err := loginErr(f, "ada@example.com", "wrong guess"); !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("err = %v", err)
	}
	if err := f.svc.Logout(ctx, application.LogoutInput{Principal: &p}); err != nil {
		t.Fatal(err)
	}
	// Four lost: registered, login_succeeded, login_failed, logged_out. The
	// refreshed event is written by the rotation, in its transaction
	// (ports.SessionRepository.RotateRefreshToken), not by this log.
	errs := f.auditErrors.list()
	if len(errs) != 4 || !errors.Is(errs[0], domain.ErrUnavailable) || !strings.Contains(errs[1].Error(), "login_succeeded") {
		t.Fatalf("OnAuditError got %v", errs)
	}

	// Without OnAuditError, failures are ignored; without an audit log,
	// nothing is recorded and ListEvents is empty.
	clock := &fixedClock{now: t0}
	tokens := fakeTokens{clock: clock}
	g := newFixture(t)
	svc, err := application.NewService(ctx, application.Deps{
		Users: g.store, Sessions: g.store, Store: g.store, Hasher: &fakeHasher{},
		Issuer: tokens, Verifier: tokens, Clock: clock, IDs: &seqIDs{}, Random: &countingRandom{},
	}, application.Config{RefreshTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Register(ctx, application.RegisterInput{Email: "grace@example.com", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	if page, err := svc.ListEvents(ctx, application.ListEventsInput{}); err != nil || len(page.Events) != 0 {
		t.Fatalf("no audit log: %+v, %v", page, err)
	}
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

	all := allEvents(t, f, application.ListEventsInput{})
	if len(all) != 9 || all[0].Type != domain.EventRegistered || all[8].Type != domain.EventRegistered || all[8].UserID != ada.ID() {
		t.Fatalf("events: %+v", all)
	}
	for _, limit := range []int{1, 2, 4, 9, 10} {
		got := allEvents(t, f, application.ListEventsInput{Limit: limit})
		if fmt.Sprint(got) != fmt.Sprint(all) {
			t.Fatalf("limit %d: pages differ from one page", limit)
		}
	}
	page, err := f.svc.ListEvents(ctx, application.ListEventsInput{Limit: 9})
	if err != nil || page.Next != "" {
		t.Fatalf("a full last page promises another: %q, %v", page.Next, err)
	}
	logins := allEvents(t, f, application.ListEventsInput{Type: "login_succeeded", UserID: ada.ID().String(), Limit: 3})
	if len(logins) != 7 {
		t.Fatalf("%d logins of ada, want 7", len(logins))
	}

	for name, in := range map[string]application.ListEventsInput{
		"limit":         {Limit: application.MaxEventPageSize + 1},
		"limit below 1": {Limit: -1},
		"after":         {After: "yesterday"},
		"after id":      {After: "123_not-a-uuid"},
		"user_id":       {UserID: "ada@example.com"},
		"type":          {Type: "password_guessed"},
	} {
		_, err := f.svc.ListEvents(ctx, in)
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
		f.svc.RecordRateLimited(ctx, a)
		f.svc.RecordRateLimited(ctx, b)
	}
	f.clock.now = t0.Add(59 * time.Second)
	f.svc.RecordRateLimited(ctx, a)
	f.clock.now = t0.Add(time.Minute)
	f.svc.RecordRateLimited(ctx, a)
	events := allEvents(t, f, application.ListEventsInput{Type: "rate_limited"})
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
		f.svc.RecordRateLimited(ctx, domain.ClientInfo{IP: fmt.Sprintf("2001:db8:1:2::%x", i+1)})
	}
	f.svc.RecordRateLimited(ctx, domain.ClientInfo{IP: "2001:db8:1:3::1"})
	if events := allEvents(t, f, application.ListEventsInput{Type: "rate_limited"}); len(events) != 2 {
		t.Fatalf("%d rate_limited events, want 2 (one per /64)", len(events))
	}
}

func TestAdminEvents(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	u, err := f.svc.CreateUser(ctx, application.CreateUserInput{Email: "root@example.com", Password: "correct horse", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	// Setting the role it has changes nothing and records nothing.
	if _, err := f.svc.SetRole(ctx, application.SetRoleInput{Email: "root@example.com", Role: "admin"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SetRole(ctx, application.SetRoleInput{Email: "root@example.com", Role: "user"}); err != nil {
		t.Fatal(err)
	}
	// No session to end: nothing recorded.
	if _, err := f.svc.RevokeUserSessions(ctx, "root@example.com"); err != nil {
		t.Fatal(err)
	}
	events := allEvents(t, f, application.ListEventsInput{})
	if len(events) != 2 || events[1].Type != domain.EventRegistered || events[1].Detail != "by an operator" || events[1].UserID != u.ID() ||
		events[0].Type != domain.EventRoleChanged || events[0].Detail != "admin -> user" {
		t.Fatalf("events = %+v", events)
	}
}

// The HTTP admin API names accounts by id.
func TestAdminByID(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	u := f.register(t, "ada@example.com", "correct horse")
	_, p := f.loginFrom(t, "ada@example.com", "correct horse", laptop)

	change, err := f.svc.SetRole(ctx, application.SetRoleInput{UserID: u.ID().String(), Role: "admin"})
	if err != nil || change.User.Role() != domain.RoleAdmin || change.Previous != domain.RoleUser {
		t.Fatalf("SetRole by id = %+v, %v", change, err)
	}
	for _, id := range []string{"00000000-0000-7000-8000-999999999999", "not-an-id", "ADA@EXAMPLE.COM"} {
		if _, err := f.svc.SetRole(ctx, application.SetRoleInput{UserID: id, Role: "admin"}); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("SetRole(%q) = %v, want ErrNotFound", id, err)
		}
		if _, err := f.svc.RevokeUserSessionsByID(ctx, id, application.Actor{}); !errors.Is(err, domain.ErrNotFound) {
			t.Errorf("RevokeUserSessionsByID(%q) = %v, want ErrNotFound", id, err)
		}
	}
	if _, err := f.svc.RevokeUserSessionsByID(ctx, "", application.Actor{}); !errors.Is(err, domain.ErrNotFound) {
		t.Errorf("RevokeUserSessionsByID(\"\") = %v, want ErrNotFound", err)
	}
	_, err = f.svc.SetRole(ctx, application.SetRoleInput{UserID: u.ID().String(), Email: "ada@example.com", Role: "user"})
	if fieldCodes(t, err)["user_id"] != "invalid" {
		t.Fatalf("both email and id: err = %v", err)
	}
	if _, err := f.svc.SetRole(ctx, application.SetRoleInput{UserID: u.ID().String(), Role: "root"}); fieldCodes(t, err)["role"] != "invalid" {
		t.Fatalf("bad role by id: err = %v", err)
	}

	n, err := f.svc.RevokeUserSessionsByID(ctx, u.ID().String(), application.Actor{})
	if err != nil || n != 1 {
		t.Fatalf("RevokeUserSessionsByID = %d, %v", n, err)
	}
	if _, err := f.svc.CurrentUser(ctx, p); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("session after revocation: %v", err)
	}
	events := allEvents(t, f, application.ListEventsInput{UserID: u.ID().String()})
	if events[0].Type != domain.EventSessionRevoked || events[1].Type != domain.EventRoleChanged || events[1].Detail != "user -> admin" {
		t.Fatalf("events = %+v", events)
	}
}
