package httpapi_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/adapters/memory"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

const (
	problemJSON = "application/problem+json"
	plainJSON   = "application/json"
)

// call is one row of the API.md endpoint table.
type call struct {
	name    string
	method  string
	path    string
	body    func(h *harness, p pair) string
	headers func(h *harness, p pair) []string
	status  int
	code    string            // problem code, "" for a success
	ctype   string            // expected Content-Type ("" = no body)
	want    map[string]string // headers that must be present with these values ("*" = any non-empty)
	invalid string            // why the request deliberately breaks docs/openapi.yaml ("" = it conforms)
}

func lit(s string) func(*harness, pair) string { return func(*harness, pair) string { return s } }
func hdr(kv ...string) func(*harness, pair) []string {
	return func(*harness, pair) []string { return kv }
}
func bearer(h *harness, p pair) []string { return []string{"Authorization", "Bearer " + p.AccessToken} }

var noStore = map[string]string{"Cache-Control": "no-store"}

func TestEndpointTable(t *testing.T) {
	big := `{"email":"a@example.com","password":"` + strings.Repeat("x", 70<<10) + `"}`
	creds := `{"email":"ada@example.com","password":"correct horse"}`
	calls := []call{
		// register
		{name: "register ok", method: "POST", path: "/v1/auth/register", body: lit(`{"email":"New@Example.com","password":"correct horse","name":"New"}`), status: 201, ctype: plainJSON, want: noStore},
		{name: "register charset param ok", method: "POST", path: "/v1/auth/register", body: lit(`{"email":"c@example.com","password":"correct horse"}`), headers: hdr("Content-Type", "application/json; charset=utf-8"), status: 201, ctype: plainJSON},
		{name: "register unknown fields ignored", method: "POST", path: "/v1/auth/register", body: lit(`{"email":"u@example.com","password":"correct horse","role":"admin"}`), status: 201, ctype: plainJSON},
		{name: "register malformed json", invalid: "the body is not JSON", method: "POST", path: "/v1/auth/register", body: lit(`{"email":`), status: 400, code: "malformed_request", ctype: problemJSON, want: noStore},
		{name: "register wrong type", invalid: "password is a number", method: "POST", path: "/v1/auth/register", body: lit(`{"email":"a@example.com","password":12345678}`), status: 400, code: "malformed_request", ctype: problemJSON},
		{name: "register trailing data", invalid: "trailing data after the object", method: "POST", path: "/v1/auth/register", body: lit(`{"email":"a@example.com","password":"correct horse"} {}`), status: 400, code: "malformed_request", ctype: problemJSON},
		{name: "register array body", invalid: "the body is an array", method: "POST", path: "/v1/auth/register", body: lit(`[]`), status: 400, code: "malformed_request", ctype: problemJSON},
		{name: "register empty body", invalid: "no body", method: "POST", path: "/v1/auth/register", headers: hdr("Content-Type", "application/json"), status: 400, code: "malformed_request", ctype: problemJSON},
		{name: "register duplicate", method: "POST", path: "/v1/auth/register", body: lit(`{"email":"ADA@example.com","password":"another password"}`), status: 409, code: "email_taken", ctype: problemJSON, want: noStore},
		{name: "register too large", invalid: "the password is over 1024 characters (and the body over 64 KiB)", method: "POST", path: "/v1/auth/register", body: lit(big), status: 413, code: "payload_too_large", ctype: problemJSON},
		{name: "register no content type", invalid: "no Content-Type", method: "POST", path: "/v1/auth/register", body: lit(creds), headers: hdr("Content-Type", ""), status: 415, code: "unsupported_media_type", ctype: problemJSON},
		{name: "register text/plain", invalid: "Content-Type text/plain", method: "POST", path: "/v1/auth/register", body: lit(creds), headers: hdr("Content-Type", "text/plain"), status: 415, code: "unsupported_media_type", ctype: problemJSON},
		{name: "register invalid fields", invalid: "email and password break the policy", method: "POST", path: "/v1/auth/register", body: lit(`{"email":"nope","password":"short"}`), status: 422, code: "validation_failed", ctype: problemJSON},
		// login
		{name: "login ok", method: "POST", path: "/v1/auth/login", body: lit(creds), status: 200, ctype: plainJSON, want: noStore},
		{name: "login malformed", invalid: "the body is not JSON", method: "POST", path: "/v1/auth/login", body: lit(`nope`), status: 400, code: "malformed_request", ctype: problemJSON},
		{name: "login wrong password", method: "POST", path: "/v1/auth/login", body: lit(`{"email":"ada@example.com","password":"wrong password"}`), status: 401, code: "invalid_credentials", ctype: problemJSON, want: noStore},
		{name: "login unknown email", method: "POST", path: "/v1/auth/login", body: lit(`{"email":"nobody@example.com","password":"correct horse"}`), status: 401, code: "invalid_credentials", ctype: problemJSON},
		{name: "login missing password", invalid: "password is required", method: "POST", path: "/v1/auth/login", body: lit(`{"email":"ada@example.com"}`), status: 422, code: "validation_failed", ctype: problemJSON},
		{name: "login 415", invalid: "Content-Type is a form", method: "POST", path: "/v1/auth/login", body: lit(creds), headers: hdr("Content-Type", "application/x-www-form-urlencoded"), status: 415, code: "unsupported_media_type", ctype: problemJSON},
		// refresh
		{name: "refresh ok", method: "POST", path: "/v1/auth/refresh", body: func(_ *harness, p pair) string { return `{"refresh_token":"` + p.RefreshToken + `"}` }, status: 200, ctype: plainJSON, want: noStore},
		{name: "refresh malformed", invalid: "refresh_token is a number", method: "POST", path: "/v1/auth/refresh", body: lit(`{"refresh_token":1}`), status: 400, code: "malformed_request", ctype: problemJSON},
		{name: "refresh unknown", method: "POST", path: "/v1/auth/refresh", body: lit(`{"refresh_token":"` + strings.Repeat("A", 43) + `"}`), status: 401, code: "invalid_refresh_token", ctype: problemJSON, want: noStore},
		{name: "refresh garbage token", method: "POST", path: "/v1/auth/refresh", body: lit(`{"refresh_token":"garbage"}`), status: 401, code: "invalid_refresh_token", ctype: problemJSON},
		{name: "refresh access token as refresh", method: "POST", path: "/v1/auth/refresh", body: func(_ *harness, p pair) string { return `{"refresh_token":"` + p.AccessToken + `"}` }, status: 401, code: "invalid_refresh_token", ctype: problemJSON},
		{name: "refresh missing field", invalid: "refresh_token is required", method: "POST", path: "/v1/auth/refresh", body: lit(`{}`), status: 422, code: "validation_failed", ctype: problemJSON},
		// logout
		{name: "logout by refresh token", method: "POST", path: "/v1/auth/logout", body: func(_ *harness, p pair) string { return `{"refresh_token":"` + p.RefreshToken + `"}` }, status: 204, want: noStore},
		{name: "logout by bearer", method: "POST", path: "/v1/auth/logout", headers: bearer, status: 204},
		{name: "logout unknown token is idempotent", method: "POST", path: "/v1/auth/logout", body: lit(`{"refresh_token":"` + strings.Repeat("A", 43) + `"}`), status: 204},
		{name: "logout neither", method: "POST", path: "/v1/auth/logout", status: 400, code: "malformed_request", ctype: problemJSON},
		{name: "logout empty object", method: "POST", path: "/v1/auth/logout", body: lit(`{}`), status: 400, code: "malformed_request", ctype: problemJSON},
		{name: "logout bad bearer", method: "POST", path: "/v1/auth/logout", headers: hdr("Authorization", "Bearer nope"), status: 401, code: "invalid_token", ctype: problemJSON, want: map[string]string{"WWW-Authenticate": "*"}},
		// me
		{name: "me ok", method: "GET", path: "/v1/users/me", headers: bearer, status: 200, ctype: plainJSON, want: noStore},
		{name: "me no header", invalid: "no credential", method: "GET", path: "/v1/users/me", status: 401, code: "invalid_token", ctype: problemJSON, want: map[string]string{"WWW-Authenticate": `Bearer realm="authd"`, "Cache-Control": "no-store"}},
		{name: "me bad token", method: "GET", path: "/v1/users/me", headers: hdr("Authorization", "Bearer abc.def.ghi"), status: 401, code: "invalid_token", ctype: problemJSON, want: map[string]string{"WWW-Authenticate": `Bearer realm="authd", error="invalid_token", error_description="the access token is invalid or expired"`}},
		{name: "me basic scheme", invalid: "Basic is not a bearer credential", method: "GET", path: "/v1/users/me", headers: hdr("Authorization", "Basic YTpi"), status: 401, code: "invalid_token", ctype: problemJSON, want: map[string]string{"WWW-Authenticate": "*"}},
		{name: "me refresh token as bearer", method: "GET", path: "/v1/users/me", headers: func(_ *harness, p pair) []string { return []string{"Authorization", "Bearer " + p.RefreshToken} }, status: 401, code: "invalid_token", ctype: problemJSON},
		// discovery and probes
		{name: "jwks", method: "GET", path: "/.well-known/jwks.json", status: 200, ctype: plainJSON},
		{name: "healthz", method: "GET", path: "/healthz", status: 200, ctype: plainJSON},
		{name: "readyz", method: "GET", path: "/readyz", status: 200, ctype: plainJSON},
		// routing
		{name: "unknown route", method: "GET", path: "/v1/nope", status: 404, code: "not_found", ctype: problemJSON},
		{name: "wrong method", method: "GET", path: "/v1/auth/login", status: 405, code: "method_not_allowed", ctype: problemJSON, want: map[string]string{"Allow": "POST"}},
		{name: "wrong method on me", method: "DELETE", path: "/v1/users/me", status: 405, code: "method_not_allowed", ctype: problemJSON, want: map[string]string{"Allow": "GET"}},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, nil)
			h.register(t, "ada@example.com", "correct horse")
			p := h.login(t, "ada@example.com", "correct horse")
			var body string
			if c.body != nil {
				body = c.body(h, p)
			}
			var headers []string
			if c.headers != nil {
				headers = c.headers(h, p)
			}
			if c.invalid != "" {
				headers = append(headers, deliberatelyInvalid, c.invalid)
			}
			r := h.do(t, c.method, c.path, body, headers...)
			if r.status != c.status {
				t.Fatalf("status = %d, want %d; body %s", r.status, c.status, r.body)
			}
			if got := r.header.Get("Content-Type"); got != c.ctype {
				t.Errorf("Content-Type = %q, want %q", got, c.ctype)
			}
			for k, v := range c.want {
				if got := r.header.Get(k); got == "" || (v != "*" && got != v) {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if strings.HasPrefix(c.path, "/v1/") && r.header.Get("Cache-Control") != "no-store" {
				t.Errorf("every /v1 response must be no-store, got %q", r.header.Get("Cache-Control"))
			}
			if c.code != "" {
				m := r.json(t)
				if m["code"] != c.code || int(m["status"].(float64)) != c.status || m["type"] == "" || m["title"] == "" {
					t.Errorf("problem = %s", r.body)
				}
			}
			for _, secret := range []string{"password_hash", "argon2id", p.RefreshToken} {
				if c.code != "" && strings.Contains(string(r.body), secret) {
					t.Errorf("response leaks %q: %s", secret, r.body)
				}
			}
		})
	}
}

func TestShapes(t *testing.T) {
	h := newHarness(t, nil)
	r := h.do(t, "POST", "/v1/auth/register", `{"email":" Ada@Example.com ","password":"correct horse","name":"Ada"}`)
	u := r.json(t)["user"].(map[string]any)
	if len(u) != 7 || u["email"] != "Ada@Example.com" || u["role"] != "user" || u["name"] != "Ada" || u["email_verified"] != false || u["mfa_enabled"] != false {
		t.Fatalf("user = %v", u)
	}
	if _, err := time.Parse(time.RFC3339, u["created_at"].(string)); err != nil || !strings.HasSuffix(u["created_at"].(string), "Z") {
		t.Fatalf("created_at = %v", u["created_at"])
	}

	r = h.do(t, "POST", "/v1/auth/login", `{"email":"ada@example.com","password":"correct horse"}`)
	m := r.json(t)
	// refresh_expires_in is the 168h idle limit, which ends the session
	// before the refresh token's 720h TTL.
	if m["token_type"] != "Bearer" || m["expires_in"] != float64(900) || m["refresh_expires_in"] != float64(168*3600) ||
		m["access_token"] == "" || len(m["refresh_token"].(string)) != 43 || m["user"].(map[string]any)["id"] != u["id"] {
		t.Fatalf("token pair = %s", r.body)
	}

	r = h.do(t, "POST", "/v1/auth/register", `{"email":"x","password":"short","name":"`+strings.Repeat("n", 101)+`"}`,
		deliberatelyInvalid, "every field breaks the policy")
	var prob struct {
		Errors []struct{ Field, Code, Message string }
	}
	if err := json.Unmarshal(r.body, &prob); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, e := range prob.Errors {
		got[e.Field] = e.Code
		if e.Message == "" {
			t.Errorf("field %s has no message", e.Field)
		}
	}
	if got["email"] != "invalid" || got["password"] != "too_short" || got["name"] != "too_long" {
		t.Fatalf("errors = %s", r.body)
	}

	r = h.do(t, "GET", "/.well-known/jwks.json", "")
	var set struct{ Keys []map[string]any }
	if err := json.Unmarshal(r.body, &set); err != nil || len(set.Keys) != 1 {
		t.Fatalf("jwks = %s", r.body)
	}
	k := set.Keys[0]
	if k["kid"] != h.key.ID() || k["alg"] != "ES256" || k["use"] != "sig" || k["d"] != nil {
		t.Fatalf("jwk = %v", k)
	}
	if h.do(t, "GET", "/healthz", "").json(t)["status"] != "ok" {
		t.Fatal("healthz body")
	}
}

func TestLogoutEndsAccessAtOnce(t *testing.T) {
	h := newHarness(t, nil)
	h.register(t, "ada@example.com", "correct horse")
	p := h.login(t, "ada@example.com", "correct horse")
	if r := h.do(t, "POST", "/v1/auth/logout", "", "Authorization", "Bearer "+p.AccessToken); r.status != 204 {
		t.Fatalf("logout: %d", r.status)
	}
	if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+p.AccessToken); r.status != 401 {
		t.Fatalf("me after logout: %d", r.status)
	}
	if r := h.do(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+p.RefreshToken+`"}`); r.status != 401 {
		t.Fatalf("refresh after logout: %d", r.status)
	}
	// A second logout with the same (still signed, still unexpired) token is fine.
	if r := h.do(t, "POST", "/v1/auth/logout", "", "Authorization", "Bearer "+p.AccessToken); r.status != 204 {
		t.Fatalf("second logout: %d", r.status)
	}
}

func TestRefreshReuseRevokesSession(t *testing.T) {
	h := newHarness(t, nil)
	h.register(t, "ada@example.com", "correct horse")
	first := h.login(t, "ada@example.com", "correct horse")
	r := h.do(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+first.RefreshToken+`"}`)
	var second pair
	if err := json.Unmarshal(r.body, &second); err != nil || r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+first.RefreshToken+`"}`); r.status != 401 || r.json(t)["code"] != "invalid_refresh_token" {
		t.Fatalf("reuse: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+second.RefreshToken+`"}`); r.status != 401 {
		t.Fatalf("newest token after reuse: %d", r.status)
	}
	if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+second.AccessToken); r.status != 401 {
		t.Fatalf("me after reuse: %d", r.status)
	}
	if !strings.Contains(h.logs.String(), "reuse detected") {
		t.Error("reuse must be logged")
	}
}

func TestExpiredAccessToken(t *testing.T) {
	h := newHarness(t, nil)
	h.register(t, "ada@example.com", "correct horse")
	p := h.login(t, "ada@example.com", "correct horse")
	h.clock.Advance(16 * time.Minute)
	if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+p.AccessToken); r.status != 401 {
		t.Fatalf("expired token: %d", r.status)
	}
}

// busyHasher stands for a saturated admission gate.
type busyHasher struct{ ports.PasswordHasher }

type busyErr struct{}

func (busyErr) Error() string             { return "hashing gate saturated" }
func (busyErr) Is(t error) bool           { return t == domain.ErrUnavailable }
func (busyErr) RetryAfter() time.Duration { return 1500 * time.Millisecond }

func (b busyHasher) Verify(context.Context, domain.Password, string) (ports.PasswordVerdict, error) {
	return ports.PasswordVerdict{}, busyErr{}
}

func TestLoginSaturatedIs503WithRetryAfter(t *testing.T) {
	h := newHarness(t, nil, func(d *deps) { d.Hasher = busyHasher{d.Hasher} })
	h.register(t, "ada@example.com", "correct horse")
	r := h.do(t, "POST", "/v1/auth/login", `{"email":"ada@example.com","password":"correct horse"}`)
	if r.status != 503 || r.json(t)["code"] != "unavailable" || r.header.Get("Retry-After") != "2" {
		t.Fatalf("got %d Retry-After=%q %s", r.status, r.header.Get("Retry-After"), r.body)
	}
}

// brokenStore fails like a database whose driver leaks SQL in its errors.
type brokenStore struct {
	*memory.Store
	err error
}

func (b brokenStore) UserByEmail(context.Context, domain.Email) (domain.User, error) {
	return domain.User{}, b.err
}
func (b brokenStore) Ping(context.Context) error { return b.err }

func TestStorageFailuresAreNeverBadCredentials(t *testing.T) {
	leaky := errors.New(`ERROR: relation "users" does not exist: SELECT password_hash FROM users`)
	tests := []struct {
		name   string
		err    error
		status int
		code   string
	}{
		{"unavailable", errors.Join(domain.ErrUnavailable, leaky), 503, "unavailable"},
		{"unexpected", leaky, 500, "internal_error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, brokenStore{Store: memory.NewStore(), err: tt.err})
			r := h.do(t, "POST", "/v1/auth/login", `{"email":"ada@example.com","password":"correct horse"}`)
			if r.status != tt.status || r.json(t)["code"] != tt.code {
				t.Fatalf("got %d %s", r.status, r.body)
			}
			if strings.Contains(string(r.body), "SELECT") || strings.Contains(string(r.body), "relation") {
				t.Fatalf("5xx leaks internals: %s", r.body)
			}
			if !strings.Contains(h.logs.String(), "relation") {
				t.Fatalf("the cause must be logged")
			}
			if r := h.do(t, "GET", "/readyz", ""); r.status != 503 || r.json(t)["code"] != "unavailable" || r.header.Get("Retry-After") == "" {
				t.Fatalf("readyz = %d %s (Retry-After %q)", r.status, r.body, r.header.Get("Retry-After"))
			}
		})
	}
}

// TestLogsNeverContainSecrets walks every endpoint, successes and failures,
// at debug level, and then looks for any password, token (or a recognisable
// piece of one), password hash or Authorization value in the whole log.
func TestLogsNeverContainSecrets(t *testing.T) {
	h := newHarness(t, nil)
	h.register(t, "ada@example.com", "correct horse battery")
	p := h.login(t, "ada@example.com", "correct horse battery")
	h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+p.AccessToken)
	h.do(t, "GET", "/v1/users/me?access_token="+p.AccessToken, "", "X-Test-Deliberately-Invalid", "a token in the query string is not accepted")
	rotated := h.do(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+p.RefreshToken+`"}`).json(t)
	h.do(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+p.RefreshToken+`"}`) // reuse: revokes, logs a warning
	h.do(t, "POST", "/v1/auth/login", `{"email":"ada@example.com","password":"wrong horse battery"}`)
	h.do(t, "POST", "/v1/auth/register", `{"email":"ada@example.com","password":"another horse battery"}`)
	h.do(t, "POST", "/v1/auth/register", `{"email":"bob@example.com","password":"short"}`, "X-Test-Deliberately-Invalid", "password below the policy")
	h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer forged.tokenpayloadSECRETLIKE.signature")
	h.do(t, "GET", "/v1/users/me", "", "Authorization", "Basic YWRhOmNvcnJlY3QgaG9yc2U=", "X-Test-Deliberately-Invalid", "Basic is not a bearer credential")
	p2 := h.login(t, "ada@example.com", "correct horse battery")
	h.do(t, "POST", "/v1/auth/logout", `{"refresh_token":"`+p2.RefreshToken+`"}`, "Authorization", "Bearer "+p2.AccessToken)
	h.do(t, "POST", "/v1/auth/logout", "", "Authorization", "Bearer "+p2.AccessToken)

	logs := h.logs.String()
	for _, must := range []string{`"path":"/v1/auth/login"`, `"level":"WARN"`, `"level":"DEBUG"`} {
		if !strings.Contains(logs, must) {
			t.Fatalf("the walk did not log %s: the test would prove little\n%s", must, logs)
		}
	}
	secrets := map[string]string{
		"password":                 "correct horse battery",
		"wrong password":           "wrong horse battery",
		"duplicate sign-up's":      "another horse battery",
		"rejected short password":  `"short"`,
		"forged token":             "SECRETLIKE",
		"Basic credentials":        "YWRhOmNvcnJlY3QgaG9yc2U",
		"Authorization scheme":     "Bearer ",
		"password hash":            "$argon2id$",
		"access token":             p.AccessToken,
		"refresh token":            p.RefreshToken,
		"rotated refresh token":    rotated["refresh_token"].(string),
		"second session's token":   p2.AccessToken,
		"second session's refresh": p2.RefreshToken,
		"access token's signature": p.AccessToken[strings.LastIndexByte(p.AccessToken, '.')+1:],
		"refresh token's half":     p.RefreshToken[:len(p.RefreshToken)/2],
	}
	for what, secret := range secrets {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains the %s", what)
		}
	}
}
