package httpapi_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/adapters/memory"
	"github.com/authd/authd/adapters/postgres"
	"github.com/authd/authd/adapters/postgres/pgtest"
	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// hardenedStore is a store that also keeps the login throttle and the
// audit log, as the real stores do.
type hardenedStore interface {
	testStore
	ports.LoginThrottle
	ports.AuditLog
}

// withThrottleAndAudit wires the store's throttle and audit log, which the
// plain harness leaves out.
func withThrottleAndAudit(st hardenedStore) harnessOption {
	return func(d *deps) { d.Throttle, d.Audit = st, st }
}

func newHardenedHarness(t *testing.T) (*harness, *memory.Store) {
	t.Helper()
	st := memory.NewStore()
	return newHarness(t, st, withThrottleAndAudit(st)), st
}

const pw = "correct horse battery staple"

func creds(email, password string) string {
	return `{"email":"` + email + `","password":"` + password + `"}`
}

func TestSessionsListAndRevoke(t *testing.T) {
	h, _ := newHardenedHarness(t)
	h.register(t, "ada@example.com", pw)
	phone := h.login(t, "ada@example.com", pw)
	laptop := h.login(t, "ada@example.com", pw)

	r := h.do(t, "GET", "/v1/sessions", "", "Authorization", "Bearer "+laptop.AccessToken, "User-Agent", "laptop-browser")
	if r.status != 200 {
		t.Fatalf("list: %d %s", r.status, r.body)
	}
	list := r.json(t)["sessions"].([]any)
	if len(list) != 2 {
		t.Fatalf("want 2 sessions, got %d: %s", len(list), r.body)
	}
	current := 0
	var phoneID string
	for _, s := range list {
		m := s.(map[string]any)
		if m["current"] == true {
			current++
		} else {
			phoneID = m["id"].(string)
		}
		if m["ip"] != "127.0.0.1" || m["created_at"] == "" || m["last_used_at"] == "" {
			t.Fatalf("session fields: %v", m)
		}
	}
	if current != 1 {
		t.Fatalf("%d sessions marked current, want 1", current)
	}

	// Another account cannot see or end Ada's sessions: 404, never 403.
	h.register(t, "eve@example.com", pw)
	eve := h.login(t, "eve@example.com", pw)
	if r := h.do(t, "DELETE", "/v1/sessions/"+phoneID, "", "Authorization", "Bearer "+eve.AccessToken); r.status != 404 || r.json(t)["code"] != "not_found" {
		t.Fatalf("someone else's session: %d %s", r.status, r.body)
	}
	for _, bad := range []string{"not-a-uuid", "01900000-0000-7000-8000-000000000000"} {
		if r := h.do(t, "DELETE", "/v1/sessions/"+bad, "", "Authorization", "Bearer "+laptop.AccessToken); r.status != 404 {
			t.Fatalf("unknown session %s: %d", bad, r.status)
		}
	}
	// Ada ends the phone's session: its refresh token and access token die.
	if r := h.do(t, "DELETE", "/v1/sessions/"+phoneID, "", "Authorization", "Bearer "+laptop.AccessToken); r.status != 204 {
		t.Fatalf("revoke own session: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+phone.AccessToken); r.status != 401 {
		t.Fatalf("revoked session's access token: %d", r.status)
	}
	if r := h.do(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+phone.RefreshToken+`"}`); r.status != 401 {
		t.Fatalf("revoked session's refresh token: %d", r.status)
	}
	if r := h.do(t, "GET", "/v1/sessions", "", "Authorization", "Bearer "+laptop.AccessToken); len(r.json(t)["sessions"].([]any)) != 1 {
		t.Fatalf("after revoking: %s", r.body)
	}
	if r := h.do(t, "GET", "/v1/sessions", "", "X-Test-Deliberately-Invalid", "no credentials"); r.status != 401 {
		t.Fatalf("no token: %d", r.status)
	}
}

func TestLogoutScopes(t *testing.T) {
	h, _ := newHardenedHarness(t)
	h.register(t, "ada@example.com", pw)
	a, b, c := h.login(t, "ada@example.com", pw), h.login(t, "ada@example.com", pw), h.login(t, "ada@example.com", pw)
	if r := h.do(t, "POST", "/v1/auth/logout", `{"scope":"everything"}`, "Authorization", "Bearer "+a.AccessToken, "X-Test-Deliberately-Invalid", "unknown scope"); r.status != 422 {
		t.Fatalf("unknown scope: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/v1/auth/logout", `{"scope":"others"}`, "Authorization", "Bearer "+a.AccessToken); r.status != 204 {
		t.Fatalf("others: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+a.AccessToken); r.status != 200 {
		t.Fatalf("the asking session must survive 'others': %d", r.status)
	}
	for _, p := range []pair{b, c} {
		if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+p.AccessToken); r.status != 401 {
			t.Fatalf("another session survived 'others': %d", r.status)
		}
	}
	d := h.login(t, "ada@example.com", pw)
	// global, identified by a refresh token alone.
	if r := h.do(t, "POST", "/v1/auth/logout", `{"scope":"global","refresh_token":"`+d.RefreshToken+`"}`); r.status != 204 {
		t.Fatalf("global: %d %s", r.status, r.body)
	}
	for _, p := range []pair{a, d} {
		if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+p.AccessToken); r.status != 401 {
			t.Fatalf("a session survived 'global': %d", r.status)
		}
	}
}

func TestChangePassword(t *testing.T) {
	h, _ := newHardenedHarness(t)
	h.register(t, "ada@example.com", pw)
	here, other := h.login(t, "ada@example.com", pw), h.login(t, "ada@example.com", pw)
	auth := []string{"Authorization", "Bearer " + here.AccessToken}
	if r := h.do(t, "POST", "/v1/users/me/password", `{"current_password":"wrong password here","new_password":"a brand new passphrase"}`, auth...); r.status != 401 || r.json(t)["code"] != "invalid_credentials" {
		t.Fatalf("wrong current password: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/v1/users/me/password", `{"current_password":"`+pw+`","new_password":"short"}`, auth...); r.status != 422 {
		t.Fatalf("weak new password: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/v1/users/me/password", `{"current_password":"`+pw+`","new_password":"a brand new passphrase"}`, "X-Test-Deliberately-Invalid", "no credentials"); r.status != 401 {
		t.Fatalf("without a token: %d", r.status)
	}
	if r := h.do(t, "POST", "/v1/users/me/password", `{"current_password":"`+pw+`","new_password":"a brand new passphrase"}`, auth...); r.status != 204 {
		t.Fatalf("change: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/v1/users/me", "", auth...); r.status != 200 {
		t.Fatalf("the changing session must stay: %d", r.status)
	}
	if r := h.do(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+other.RefreshToken+`"}`); r.status != 401 {
		t.Fatalf("other sessions must end: %d", r.status)
	}
	if r := h.do(t, "POST", "/v1/auth/login", creds("ada@example.com", pw)); r.status != 401 {
		t.Fatalf("old password still works: %d", r.status)
	}
	if r := h.do(t, "POST", "/v1/auth/login", creds("ada@example.com", "a brand new passphrase")); r.status != 200 {
		t.Fatalf("new password: %d", r.status)
	}
}

func TestLoginThrottleOverHTTP(t *testing.T) {
	h, _ := newHardenedHarness(t)
	h.register(t, "ada@example.com", pw)
	var throttled response
	for i := range 10 {
		r := h.do(t, "POST", "/v1/auth/login", creds("ada@example.com", "wrong password here"))
		if r.status == 429 {
			throttled = r
			break
		}
		if r.status != 401 {
			t.Fatalf("attempt %d: %d %s", i+1, r.status, r.body)
		}
	}
	if throttled.status != 429 || throttled.json(t)["code"] != "rate_limited" || throttled.header.Get("Retry-After") == "" {
		t.Fatalf("no throttling within 10 wrong guesses: %d %s", throttled.status, throttled.body)
	}
	// While locked, even the right password waits (no hash is spent), and
	// an unknown email is throttled exactly like a known one.
	if r := h.do(t, "POST", "/v1/auth/login", creds("ada@example.com", pw)); r.status != 429 {
		t.Fatalf("right password while locked: %d", r.status)
	}
	for range 10 {
		h.do(t, "POST", "/v1/auth/login", creds("ghost@example.com", "wrong password here"))
	}
	if r := h.do(t, "POST", "/v1/auth/login", creds("ghost@example.com", "wrong password here")); r.status != 429 {
		t.Fatalf("unknown email not throttled alike: %d", r.status)
	}
	// After the lock, the owner gets in and the count resets.
	h.clock.Advance(2 * time.Minute)
	if r := h.do(t, "POST", "/v1/auth/login", creds("ada@example.com", pw)); r.status != 200 {
		t.Fatalf("owner after the lock: %d %s", r.status, r.body)
	}
	for i := range 4 {
		if r := h.do(t, "POST", "/v1/auth/login", creds("ada@example.com", "wrong password here")); r.status != 401 {
			t.Fatalf("after a success the free attempts are back: attempt %d got %d", i+1, r.status)
		}
	}
}

// TestConcurrentWrongGuessesOnPostgres: 50 wrong passwords at once for one
// account, on the real store: the attempts are claimed atomically before
// any hash, so only the free allowance is evaluated (401) and the rest are
// refused (429).
func TestConcurrentWrongGuessesOnPostgres(t *testing.T) {
	st, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	h := newHarness(t, st, withThrottleAndAudit(st))
	h.register(t, "ada@example.com", pw)
	got := h.race(t, 50, "/v1/auth/login", creds("ada@example.com", "wrong password here"))
	if got[401] > application.DefaultLoginFreeAttempts || got[401]+got[429] != 50 || got[401] == 0 {
		t.Fatalf("50 concurrent wrong guesses: %v; want at most %d evaluated (401), the rest 429", got, application.DefaultLoginFreeAttempts)
	}
	t.Logf("50 concurrent wrong guesses: %v", got)
}

func TestAdminEndpoints(t *testing.T) {
	h, st := newHardenedHarness(t)
	h.register(t, "root@example.com", pw)
	h.register(t, "ada@example.com", pw)
	user := h.login(t, "ada@example.com", pw)
	userAuth := []string{"Authorization", "Bearer " + user.AccessToken}
	userID := h.do(t, "GET", "/v1/users/me", "", userAuth...).json(t)["user"].(map[string]any)["id"].(string)

	// A plain user: 403 forbidden on every admin endpoint; no token: 401.
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/v1/admin/users", ""},
		{"PATCH", "/v1/admin/users/" + userID, `{"role":"admin"}`},
		{"POST", "/v1/admin/users/" + userID + "/revoke-sessions", ""},
		{"GET", "/v1/admin/events", ""},
	} {
		if r := h.do(t, c.method, c.path, c.body, userAuth...); r.status != 403 || r.json(t)["code"] != "forbidden" {
			t.Fatalf("%s %s as a user: %d %s", c.method, c.path, r.status, r.body)
		}
		if r := h.do(t, c.method, c.path, c.body, "X-Test-Deliberately-Invalid", "no credentials"); r.status != 401 {
			t.Fatalf("%s %s without a token: %d", c.method, c.path, r.status)
		}
	}

	// The first admin is made out of band (authd admin set-role); its next
	// login carries the role.
	rootEmail, err := domain.NewEmail("root@example.com")
	if err != nil {
		t.Fatal(err)
	}
	root, err := st.UserByEmail(context.Background(), rootEmail)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetRole(context.Background(), root.ID(), domain.RoleAdmin, time.Now()); err != nil {
		t.Fatal(err)
	}
	admin := h.login(t, "root@example.com", pw)
	auth := []string{"Authorization", "Bearer " + admin.AccessToken}

	r := h.do(t, "GET", "/v1/admin/users?limit=1", "", auth...)
	page := r.json(t)
	if r.status != 200 || len(page["users"].([]any)) != 1 || page["next_cursor"] == nil {
		t.Fatalf("first page: %d %s", r.status, r.body)
	}
	r = h.do(t, "GET", "/v1/admin/users?limit=1&after="+page["next_cursor"].(string), "", auth...)
	if r.status != 200 || len(r.json(t)["users"].([]any)) != 1 || r.json(t)["next_cursor"] != nil {
		t.Fatalf("second page: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/v1/admin/users?email=ADA", "", auth...); len(r.json(t)["users"].([]any)) != 1 {
		t.Fatalf("email filter: %s", r.body)
	}
	if r := h.do(t, "GET", "/v1/admin/users?limit=lots", "", auth...); r.status != 422 {
		t.Fatalf("bad limit: %d", r.status)
	}

	if r := h.do(t, "PATCH", "/v1/admin/users/"+userID, `{"role":"superuser"}`, append(auth, "X-Test-Deliberately-Invalid", "unknown role")...); r.status != 422 {
		t.Fatalf("unknown role: %d %s", r.status, r.body)
	}
	if r := h.do(t, "PATCH", "/v1/admin/users/01900000-0000-7000-8000-000000000000", `{"role":"admin"}`, auth...); r.status != 404 {
		t.Fatalf("unknown user: %d %s", r.status, r.body)
	}
	if r := h.do(t, "PATCH", "/v1/admin/users/"+userID, `{"role":"admin"}`, auth...); r.status != 200 || r.json(t)["user"].(map[string]any)["role"] != "admin" {
		t.Fatalf("promote: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/v1/admin/users/"+userID+"/revoke-sessions", "", auth...); r.status != 200 || r.json(t)["revoked"] != float64(1) {
		t.Fatalf("revoke sessions: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/v1/users/me", "", userAuth...); r.status != 401 {
		t.Fatalf("a revoked user's token: %d", r.status)
	}
	// Demotion takes effect at once on admin endpoints, not at token expiry.
	if err := st.SetRole(context.Background(), root.ID(), domain.RoleUser, time.Now()); err != nil {
		t.Fatal(err)
	}
	if r := h.do(t, "GET", "/v1/admin/users", "", auth...); r.status != 403 {
		t.Fatalf("a demoted admin's still-valid token: %d", r.status)
	}
	if err := st.SetRole(context.Background(), root.ID(), domain.RoleAdmin, time.Now()); err != nil {
		t.Fatal(err)
	}

	r = h.do(t, "GET", "/v1/admin/events?limit=100", "", auth...)
	if r.status != 200 {
		t.Fatalf("events: %d %s", r.status, r.body)
	}
	seen := map[string]bool{}
	for _, e := range r.json(t)["events"].([]any) {
		seen[e.(map[string]any)["type"].(string)] = true
	}
	for _, want := range []string{"registered", "login_succeeded", "role_changed", "session_revoked"} {
		if !seen[want] {
			t.Errorf("audit log lacks %s: %s", want, r.body)
		}
	}
	if strings.Contains(string(r.body), pw) || strings.Contains(string(r.body), user.AccessToken) || strings.Contains(string(r.body), user.RefreshToken) {
		t.Fatal("the audit log holds a secret")
	}
	r = h.do(t, "GET", "/v1/admin/events?type=role_changed", "", auth...)
	changes := r.json(t)["events"].([]any)
	if len(changes) != 1 {
		t.Fatalf("type filter: %s", r.body)
	}
	// The trail names the administrator who acted, and from where.
	if e := changes[0].(map[string]any); e["actor_id"] != root.ID().String() || e["user_id"] != userID || e["ip"] != "127.0.0.1" {
		t.Fatalf("role_changed event %v: want actor_id %s acting on %s from 127.0.0.1", e, root.ID(), userID)
	}
	if r := h.do(t, "GET", "/v1/admin/events?type=bogus", "", append(auth, "X-Test-Deliberately-Invalid", "unknown event type")...); r.status != 422 {
		t.Fatalf("unknown type: %d", r.status)
	}
}
