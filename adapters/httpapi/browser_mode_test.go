package httpapi_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/authd/authd/adapters/httpapi"
	"github.com/authd/authd/adapters/memory"
)

// Browser mode: tokens in cookies, CSRF proof for cookie-authenticated
// unsafe requests, CORS for an allowlist (cookies.go, csrf.go, cors.go).

const (
	accessCookie  = "__Host-authd_at"
	refreshCookie = "__Secure-authd_rt"
	csrfCookie    = "__Host-authd_csrf"
	appOrigin     = "https://app.example.com"
	evilOrigin    = "https://evil.example.com"
)

// browserOptions turns browser mode on in a harness.
func browserOptions(cookieMode bool, origins ...string) func(*httpapi.Options) {
	return func(o *httpapi.Options) {
		o.Cookies = httpapi.CookieOptions{Mode: cookieMode}
		o.CORSOrigins = origins
	}
}

// apiKeyPresent checks an apiKey credential of docs/openapi.yaml: browser
// mode's access or refresh cookie, or the X-CSRF-Token header. Whether it
// is valid is the server's business.
func apiKeyPresent(in *openapi3filter.AuthenticationInput) error {
	req := in.RequestValidationInput.Request
	name := in.SecurityScheme.Name
	switch in.SecurityScheme.In {
	case "cookie":
		if c, err := req.Cookie(name); err == nil && c.Value != "" {
			return nil
		}
	case "header":
		if req.Header.Get(name) != "" {
			return nil
		}
	}
	return fmt.Errorf("no %s %s", in.SecurityScheme.In, name)
}

// browserSession is what a browser holds after a cookie-form login.
type browserSession struct {
	at, rt, csrf string
}

// cookie is the Cookie header a browser would send to path: the refresh
// cookie only to the refresh and logout paths.
func (s browserSession) cookie(path string) string {
	parts := []string{accessCookie + "=" + s.at, csrfCookie + "=" + s.csrf}
	if path == "/v1/auth/refresh" || path == "/v1/auth/logout" {
		parts = append(parts, refreshCookie+"="+s.rt)
	}
	return strings.Join(parts, "; ")
}

// setCookies parses every Set-Cookie of a response.
func setCookies(t *testing.T, r response) []*http.Cookie {
	t.Helper()
	var out []*http.Cookie
	for _, line := range r.header.Values("Set-Cookie") {
		c, err := http.ParseSetCookie(line)
		if err != nil {
			t.Fatalf("Set-Cookie %q: %v", line, err)
		}
		out = append(out, c)
	}
	return out
}

// sessionFrom reads the cookies of a cookie-form answer.
func sessionFrom(t *testing.T, r response) browserSession {
	t.Helper()
	var s browserSession
	for _, c := range setCookies(t, r) {
		switch c.Name {
		case accessCookie:
			s.at = c.Value
		case refreshCookie:
			s.rt = c.Value
		case csrfCookie:
			s.csrf = c.Value
		}
	}
	if s.at == "" || s.rt == "" || s.csrf == "" {
		t.Fatalf("cookie-form answer lacks a cookie: %q", r.header.Values("Set-Cookie"))
	}
	return s
}

func (h *harness) cookieLogin(t *testing.T, email, password string) (browserSession, response) {
	t.Helper()
	r := h.do(t, "POST", "/v1/auth/login", `{"email":"`+email+`","password":"`+password+`"}`, "X-Auth-Cookies", "1")
	if r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	return sessionFrom(t, r), r
}

func problemCode(t *testing.T, r response) string {
	t.Helper()
	code, _ := r.json(t)["code"].(string)
	return code
}

var (
	jwtShape     = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`)
	refreshShape = regexp.MustCompile(`^[A-Za-z0-9_-]{43}$`)
	csrfShape    = regexp.MustCompile(`^[A-Z2-7]{26}$`)
)

// TestBrowserCookieAttributes: a cookie-form login sets exactly the
// documented cookies with the documented attributes, and the body carries
// no token; without the opt-in the JSON pair is unchanged.
func TestBrowserCookieAttributes(t *testing.T) {
	h := newHarnessWith(t, nil, browserOptions(false, appOrigin))
	h.register(t, "ada@example.com", "correct horse")

	plain := h.do(t, "POST", "/v1/auth/login", `{"email":"ada@example.com","password":"correct horse"}`)
	if plain.status != 200 || len(plain.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("login without opt-in: %d, Set-Cookie %q", plain.status, plain.header.Values("Set-Cookie"))
	}
	if m := plain.json(t); m["access_token"] == nil || m["refresh_token"] == nil || m["csrf_token"] != nil {
		t.Fatalf("login without opt-in must answer the token pair as before: %s", plain.body)
	}

	s, r := h.cookieLogin(t, "ada@example.com", "correct horse")
	body := r.json(t)
	keys := slices.Sorted(func(yield func(string) bool) {
		for k := range body {
			if !yield(k) {
				return
			}
		}
	})
	if !slices.Equal(keys, []string{"csrf_token", "expires_in", "refresh_expires_in", "user"}) {
		t.Fatalf("cookie-form body keys = %v, want no token: %s", keys, r.body)
	}
	if strings.Contains(string(r.body), s.at) || strings.Contains(string(r.body), s.rt) {
		t.Fatal("a token leaked into the cookie-form body")
	}

	cookies := setCookies(t, r)
	if len(cookies) != 4 {
		t.Fatalf("want 4 Set-Cookie (access, refresh twice, csrf), got %q", r.header.Values("Set-Cookie"))
	}
	var refreshPaths []string
	var refreshValues []string
	for _, c := range cookies {
		if !c.Secure {
			t.Errorf("%s: not Secure", c.Name)
		}
		if c.Domain != "" {
			t.Errorf("%s: Domain=%s, want host-only", c.Name, c.Domain)
		}
		if strings.HasPrefix(c.Name, "__Host-") && (c.Path != "/" || !c.Secure || c.Domain != "") {
			t.Errorf("%s breaks the __Host- prefix rules: Path=%q Secure=%v Domain=%q", c.Name, c.Path, c.Secure, c.Domain)
		}
		switch c.Name {
		case accessCookie:
			if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.MaxAge != 900 || !jwtShape.MatchString(c.Value) {
				t.Errorf("access cookie: %s", c)
			}
		case refreshCookie:
			if !c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.MaxAge != 168*3600 || !refreshShape.MatchString(c.Value) {
				t.Errorf("refresh cookie: %s", c)
			}
			refreshPaths = append(refreshPaths, c.Path)
			refreshValues = append(refreshValues, c.Value)
		case csrfCookie:
			if c.HttpOnly || c.SameSite != http.SameSiteStrictMode || c.Path != "/" || c.MaxAge != 168*3600 || !csrfShape.MatchString(c.Value) {
				t.Errorf("csrf cookie: %s", c)
			}
			if body["csrf_token"] != c.Value {
				t.Errorf("body csrf_token %v != cookie %s", body["csrf_token"], c.Value)
			}
		default:
			t.Errorf("unexpected cookie %s", c.Name)
		}
	}
	slices.Sort(refreshPaths)
	if !slices.Equal(refreshPaths, []string{"/v1/auth/logout", "/v1/auth/refresh"}) || refreshValues[0] != refreshValues[1] {
		t.Errorf("refresh cookie paths %v (values equal: %v), want refresh and logout with one value", refreshPaths, refreshValues[0] == refreshValues[1])
	}
	for _, line := range r.header.Values("Set-Cookie") {
		if strings.HasPrefix(line, accessCookie+"=") && !strings.Contains(line, "Max-Age=900") {
			t.Errorf("access cookie without Max-Age=900: %s", line)
		}
	}

	// Cookie mode: every login answers in cookie form, without the opt-in.
	hm := newHarnessWith(t, nil, browserOptions(true))
	hm.register(t, "bob@example.com", "correct horse")
	r = hm.do(t, "POST", "/v1/auth/login", `{"email":"bob@example.com","password":"correct horse"}`)
	if m := r.json(t); r.status != 200 || m["access_token"] != nil || m["refresh_token"] != nil || m["csrf_token"] == nil {
		t.Fatalf("cookie mode login: %d %s", r.status, r.body)
	}
	s = sessionFrom(t, r)
	// In cookie mode a body-token refresh also answers in cookie form.
	r = hm.do(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+s.rt+`"}`)
	if m := r.json(t); r.status != 200 || m["refresh_token"] != nil || len(setCookies(t, r)) != 4 {
		t.Fatalf("cookie mode refresh by body: %d %s", r.status, r.body)
	}
}

// TestBrowserRefreshByCookie: the refresh cookie rotates; the old value is
// spent (and presenting it again is reuse, which ends the session).
func TestBrowserRefreshByCookie(t *testing.T) {
	h := newHarnessWith(t, nil, browserOptions(false, appOrigin))
	h.register(t, "ada@example.com", "correct horse")
	s, _ := h.cookieLogin(t, "ada@example.com", "correct horse")

	r := h.do(t, "POST", "/v1/auth/refresh", "", "Cookie", s.cookie("/v1/auth/refresh"), "X-CSRF-Token", s.csrf, "Origin", appOrigin)
	if r.status != 200 {
		t.Fatalf("refresh by cookie: %d %s", r.status, r.body)
	}
	if m := r.json(t); m["access_token"] != nil || m["refresh_token"] != nil || m["csrf_token"] != s.csrf {
		t.Fatalf("refresh by cookie must answer in cookie form and keep the CSRF token: %s", r.body)
	}
	next := sessionFrom(t, r)
	if next.rt == s.rt || next.at == s.at || next.csrf != s.csrf {
		t.Fatalf("rotation: rt changed %v, at changed %v, csrf kept %v", next.rt != s.rt, next.at != s.at, next.csrf == s.csrf)
	}
	if r := h.do(t, "GET", "/v1/users/me", "", "Cookie", next.cookie("/v1/users/me")); r.status != 200 {
		t.Fatalf("me with the rotated access cookie: %d", r.status)
	}
	// The old refresh cookie is spent; presenting it is reuse: the whole
	// session ends, the newest refresh cookie included.
	if r := h.do(t, "POST", "/v1/auth/refresh", "", "Cookie", s.cookie("/v1/auth/refresh"), "X-CSRF-Token", s.csrf); r.status != 401 || problemCode(t, r) != "invalid_refresh_token" {
		t.Fatalf("spent refresh cookie: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/v1/auth/refresh", "", "Cookie", next.cookie("/v1/auth/refresh"), "X-CSRF-Token", next.csrf); r.status != 401 {
		t.Fatalf("after reuse the rotated refresh cookie must fail too: %d", r.status)
	}

	// A body token is an explicit credential: cookies alongside it are
	// ignored and no CSRF token is needed; the answer stays the JSON pair.
	p := h.login(t, "ada@example.com", "correct horse")
	s2, _ := h.cookieLogin(t, "ada@example.com", "correct horse")
	r = h.do(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+p.RefreshToken+`"}`, "Cookie", s2.cookie("/v1/auth/refresh"), "Origin", evilOrigin)
	if m := r.json(t); r.status != 200 || m["refresh_token"] == nil || len(r.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("body-token refresh with cookies around: %d %s", r.status, r.body)
	}
	// Without a refresh cookie, a body-less refresh is told refresh_token
	// is missing (TestRefreshWithoutToken).
	missingRefreshToken(t, "empty refresh without cookie", h.do(t, "POST", "/v1/auth/refresh", "", "Content-Type", "application/json"))
}

// TestBrowserAccessCookie: /v1/users/me accepts the access cookie when
// there is no Authorization header; the header wins when present.
func TestBrowserAccessCookie(t *testing.T) {
	h := newHarnessWith(t, nil, browserOptions(false, appOrigin))
	h.register(t, "ada@example.com", "correct horse")
	s, _ := h.cookieLogin(t, "ada@example.com", "correct horse")

	r := h.do(t, "GET", "/v1/users/me", "", "Cookie", s.cookie("/v1/users/me"))
	if r.status != 200 || r.json(t)["user"].(map[string]any)["email"] != "ada@example.com" {
		t.Fatalf("me by access cookie: %d %s", r.status, r.body)
	}
	// Safe method: no CSRF token needed, even from a foreign origin (CORS
	// keeps the answer from its scripts).
	if r := h.do(t, "GET", "/v1/users/me", "", "Cookie", accessCookie+"="+s.at, "Origin", evilOrigin); r.status != 200 || r.header.Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("me by cookie from a foreign origin: %d, ACAO %q", r.status, r.header.Get("Access-Control-Allow-Origin"))
	}
	if r := h.do(t, "GET", "/v1/users/me", "", "Cookie", accessCookie+"=garbage"); r.status != 401 || problemCode(t, r) != "invalid_token" {
		t.Fatalf("me by a garbage cookie: %d %s", r.status, r.body)
	}
	// A bad Authorization header is not rescued by a good cookie.
	if r := h.do(t, "GET", "/v1/users/me", "", "Cookie", s.cookie("/v1/users/me"), "Authorization", "Bearer garbage"); r.status != 401 {
		t.Fatalf("bad bearer with a good cookie: %d", r.status)
	}
}

// TestBrowserLogoutByCookie: logout by cookies (with CSRF proof) revokes
// the session and expires every auth cookie with its name and path.
func TestBrowserLogoutByCookie(t *testing.T) {
	h := newHarnessWith(t, nil, browserOptions(false, appOrigin))
	h.register(t, "ada@example.com", "correct horse")
	s, _ := h.cookieLogin(t, "ada@example.com", "correct horse")

	r := h.do(t, "POST", "/v1/auth/logout", "", "Cookie", s.cookie("/v1/auth/logout"), "X-CSRF-Token", s.csrf, "Origin", appOrigin)
	if r.status != 204 {
		t.Fatalf("logout by cookie: %d %s", r.status, r.body)
	}
	cleared := map[string]bool{}
	for _, c := range setCookies(t, r) {
		if c.MaxAge >= 0 || c.Value != "" || !c.Secure {
			t.Errorf("not an expiring cookie: %s", c)
		}
		if strings.HasPrefix(c.Name, "__Host-") && c.Path != "/" {
			t.Errorf("%s cleared on Path=%s", c.Name, c.Path)
		}
		if (c.Name == accessCookie || c.Name == refreshCookie) != c.HttpOnly {
			t.Errorf("%s cleared with HttpOnly=%v", c.Name, c.HttpOnly)
		}
		cleared[c.Name+" "+c.Path] = true
	}
	for _, want := range []string{accessCookie + " /", refreshCookie + " /v1/auth/refresh", refreshCookie + " /v1/auth/logout", csrfCookie + " /"} {
		if !cleared[want] {
			t.Errorf("logout does not clear %s (cleared %v)", want, cleared)
		}
	}
	for _, line := range r.header.Values("Set-Cookie") {
		if !strings.Contains(line, "Max-Age=0") {
			t.Errorf("clearing cookie without Max-Age=0: %s", line)
		}
	}
	if r := h.do(t, "GET", "/v1/users/me", "", "Cookie", s.cookie("/v1/users/me")); r.status != 401 {
		t.Fatalf("me after logout: %d", r.status)
	}
	if r := h.do(t, "POST", "/v1/auth/refresh", "", "Cookie", s.cookie("/v1/auth/refresh"), "X-CSRF-Token", s.csrf); r.status != 401 {
		t.Fatalf("refresh after logout: %d", r.status)
	}

	// The refresh cookie alone (the access cookie expired) logs out too.
	s, _ = h.cookieLogin(t, "ada@example.com", "correct horse")
	r = h.do(t, "POST", "/v1/auth/logout", "", "Cookie", refreshCookie+"="+s.rt+"; "+csrfCookie+"="+s.csrf, "X-CSRF-Token", s.csrf)
	if r.status != 204 {
		t.Fatalf("logout by refresh cookie: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/v1/users/me", "", "Cookie", s.cookie("/v1/users/me")); r.status != 401 {
		t.Fatalf("me after logout by refresh cookie: %d", r.status)
	}
}

// TestBrowserCSRF: a cookie-authenticated unsafe request without the right
// proof is 403 csrf_failed and does nothing; bearer and body credentials
// need no proof.
func TestBrowserCSRF(t *testing.T) {
	h := newHarnessWith(t, nil, browserOptions(false, appOrigin))
	h.register(t, "ada@example.com", "correct horse")
	h.register(t, "eve@example.com", "correct horse")
	s, _ := h.cookieLogin(t, "ada@example.com", "correct horse")
	other, _ := h.cookieLogin(t, "eve@example.com", "correct horse")

	refusals := []struct {
		name    string
		headers []string
	}{
		{"missing token", nil},
		{"wrong token", []string{"X-CSRF-Token", strings.Repeat("A", 26)}},
		{"token of another session", []string{"X-CSRF-Token", other.csrf}},
		{"right token, foreign Origin", []string{"X-CSRF-Token", s.csrf, "Origin", evilOrigin}},
		{"right token, Origin null", []string{"X-CSRF-Token", s.csrf, "Origin", "null"}},
		{"right token, foreign Referer", []string{"X-CSRF-Token", s.csrf, "Referer", evilOrigin + "/page"}},
		{"right token, sibling port", []string{"X-CSRF-Token", s.csrf, "Origin", appOrigin + ":8443"}},
	}
	for _, path := range []string{"/v1/auth/refresh", "/v1/auth/logout"} {
		for _, tc := range refusals {
			t.Run(path+" "+tc.name, func(t *testing.T) {
				r := h.do(t, "POST", path, "", append([]string{"Cookie", s.cookie(path)}, tc.headers...)...)
				if r.status != 403 || problemCode(t, r) != "csrf_failed" {
					t.Fatalf("%d %s", r.status, r.body)
				}
				if len(r.header.Values("Set-Cookie")) != 0 {
					t.Fatalf("a refused request changed cookies: %q", r.header.Values("Set-Cookie"))
				}
			})
		}
	}
	// The CSRF cookie must be the one authd set: a planted empty or junk
	// cookie matching the header is no proof.
	for _, junk := range []string{"", "x", "not-base32-but-26-chars!!!"} {
		cookie := accessCookie + "=" + s.at + "; " + refreshCookie + "=" + s.rt + "; " + csrfCookie + "=" + junk
		if r := h.do(t, "POST", "/v1/auth/logout", "", "Cookie", cookie, "X-CSRF-Token", junk+" "); r.status != 403 {
			t.Fatalf("junk CSRF cookie %q: %d", junk, r.status)
		}
	}
	// Nothing above acted: the session is alive, its refresh token unspent.
	if r := h.do(t, "GET", "/v1/users/me", "", "Cookie", s.cookie("/v1/users/me")); r.status != 200 {
		t.Fatalf("session after refusals: %d", r.status)
	}

	// Acceptances: the right token from the allowlisted origin, from
	// authd's own host, and with no Origin at all (a non-browser client).
	self := strings.TrimPrefix(h.srv.URL, "http://")
	for _, origin := range []string{appOrigin, "https://APP.example.com:443", "http://" + self, ""} {
		headers := []string{"Cookie", s.cookie("/v1/auth/refresh"), "X-CSRF-Token", s.csrf}
		if origin != "" {
			headers = append(headers, "Origin", origin)
		}
		r := h.do(t, "POST", "/v1/auth/refresh", "", headers...)
		if r.status != 200 {
			t.Fatalf("refresh with the right token, Origin %q: %d %s", origin, r.status, r.body)
		}
		s = sessionFrom(t, r)
	}
	if r := h.do(t, "POST", "/v1/auth/refresh", "", "Cookie", s.cookie("/v1/auth/refresh"), "X-CSRF-Token", s.csrf, "Referer", appOrigin+"/settings"); r.status != 200 {
		t.Fatalf("refresh with an allowed Referer: %d %s", r.status, r.body)
	} else {
		s = sessionFrom(t, r)
	}

	// Bearer-authenticated: no CSRF token, even with cookies and a foreign
	// Origin around (a forging page cannot attach an Authorization header).
	p := h.login(t, "ada@example.com", "correct horse")
	r := h.do(t, "POST", "/v1/auth/logout", "", "Authorization", "Bearer "+p.AccessToken, "Cookie", s.cookie("/v1/auth/logout"), "Origin", evilOrigin)
	if r.status != 204 {
		t.Fatalf("bearer logout without CSRF token: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+p.AccessToken); r.status != 401 {
		t.Fatalf("the bearer's session must be revoked: %d", r.status)
	}
	// ... and only it: the cookie session was not used, so it lives on.
	if r := h.do(t, "GET", "/v1/users/me", "", "Cookie", s.cookie("/v1/users/me")); r.status != 200 {
		t.Fatalf("the cookie session must be untouched by a bearer logout: %d", r.status)
	}
	// Body-token logout: no CSRF token either.
	p = h.login(t, "ada@example.com", "correct horse")
	if r := h.do(t, "POST", "/v1/auth/logout", `{"refresh_token":"`+p.RefreshToken+`"}`, "Origin", evilOrigin); r.status != 204 {
		t.Fatalf("body-token logout: %d %s", r.status, r.body)
	}
}

// TestBrowserCSRFEndpoint: GET /v1/auth/csrf tells an app on another host
// its CSRF token, or sets a fresh one.
func TestBrowserCSRFEndpoint(t *testing.T) {
	h := newHarnessWith(t, nil, browserOptions(false, appOrigin))
	h.register(t, "ada@example.com", "correct horse")
	s, _ := h.cookieLogin(t, "ada@example.com", "correct horse")

	r := h.do(t, "GET", "/v1/auth/csrf", "", "Cookie", s.cookie("/v1/auth/csrf"), "Origin", appOrigin)
	if r.status != 200 || r.json(t)["csrf_token"] != s.csrf || len(r.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("csrf with a cookie: %d %s %q", r.status, r.body, r.header.Values("Set-Cookie"))
	}
	if r.header.Get("Access-Control-Allow-Origin") != appOrigin || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("csrf answer headers: %v", r.header)
	}
	for _, cookie := range []string{"", csrfCookie + "=junk"} {
		r = h.do(t, "GET", "/v1/auth/csrf", "", "Cookie", cookie)
		cs := setCookies(t, r)
		if r.status != 200 || len(cs) != 1 || cs[0].Name != csrfCookie || cs[0].Value != r.json(t)["csrf_token"] || cs[0].HttpOnly || !cs[0].Secure || cs[0].MaxAge != 0 {
			t.Fatalf("csrf without a valid cookie (%q): %d %s %q", cookie, r.status, r.body, r.header.Values("Set-Cookie"))
		}
	}
}

// TestBrowserCORS: allowlisted origins get exact-origin CORS headers on
// preflights and on every answer, problems included; others get none;
// "*" is never sent.
func TestBrowserCORS(t *testing.T) {
	h := newHarnessWith(t, nil, browserOptions(false, appOrigin, "http://localhost:5173"))
	var seen []response
	do := func(method, path, body string, headers ...string) response {
		t.Helper()
		r := h.do(t, method, path, body, headers...)
		seen = append(seen, r)
		return r
	}

	for _, path := range []string{"/v1/auth/login", "/v1/auth/refresh", "/v1/auth/logout", "/v1/auth/register", "/v1/users/me", "/v1/auth/csrf"} {
		r := do("OPTIONS", path, "", "Origin", appOrigin, "Access-Control-Request-Method", "POST", "Access-Control-Request-Headers", "content-type,x-csrf-token,x-auth-cookies")
		hd := r.header
		if r.status != 204 || hd.Get("Access-Control-Allow-Origin") != appOrigin || hd.Get("Access-Control-Allow-Credentials") != "true" ||
			hd.Get("Access-Control-Max-Age") == "" || !strings.Contains(hd.Get("Access-Control-Allow-Methods"), "OPTIONS") {
			t.Fatalf("preflight %s from the allowed origin: %d %v", path, r.status, hd)
		}
		for _, want := range []string{"Content-Type", "Authorization", "X-CSRF-Token", "X-Request-ID", "X-Auth-Cookies"} {
			if !strings.Contains(hd.Get("Access-Control-Allow-Headers"), want) {
				t.Errorf("preflight %s: Allow-Headers %q lacks %s", path, hd.Get("Access-Control-Allow-Headers"), want)
			}
		}
		if !slices.Contains(hd.Values("Vary"), "Origin") {
			t.Errorf("preflight %s: Vary %q lacks Origin", path, hd.Values("Vary"))
		}
		if n, err := strconv.Atoi(hd.Get("Access-Control-Max-Age")); err != nil || n < 60 || n > 7200 {
			t.Errorf("Max-Age %q", hd.Get("Access-Control-Max-Age"))
		}
	}
	if r := do("OPTIONS", "/v1/users/me", "", "Origin", appOrigin, "Access-Control-Request-Method", "GET"); r.header.Get("Access-Control-Allow-Methods") != "GET, OPTIONS" || r.header.Get("Allow") != "GET, OPTIONS" {
		t.Fatalf("methods of /v1/users/me: %q / %q", r.header.Get("Access-Control-Allow-Methods"), r.header.Get("Allow"))
	}

	noCORS := func(r response, what string) {
		t.Helper()
		for k := range r.header {
			if strings.HasPrefix(k, "Access-Control-") {
				t.Errorf("%s: %s: %q must not be sent", what, k, r.header.Get(k))
			}
		}
	}
	for _, origin := range []string{evilOrigin, "null", "https://app.example.com.evil.test", "http://app.example.com", "https://app.example.com:444"} {
		r := do("OPTIONS", "/v1/auth/refresh", "", "Origin", origin, "Access-Control-Request-Method", "POST")
		if r.status != 204 || r.header.Get("Allow") != "POST, OPTIONS" {
			t.Fatalf("preflight from %s: %d %v", origin, r.status, r.header)
		}
		noCORS(r, "preflight from "+origin)
		noCORS(do("POST", "/v1/auth/login", `{"email":"x@example.com","password":"wrong password"}`, "Origin", origin), "login from "+origin)
	}

	// Actual answers, problems included, carry the CORS headers.
	for _, r := range []response{
		do("POST", "/v1/auth/login", `{"email":"x@example.com","password":"wrong password"}`, "Origin", appOrigin),
		do("GET", "/v1/users/me", "", "Origin", "http://localhost:5173", deliberatelyInvalid, "no credential"),
		do("GET", "/nowhere", "", "Origin", appOrigin),
		do("GET", "/healthz", "", "Origin", appOrigin),
	} {
		origin := r.header.Get("Access-Control-Allow-Origin")
		if (origin != appOrigin && origin != "http://localhost:5173") || r.header.Get("Access-Control-Allow-Credentials") != "true" ||
			r.header.Get("Access-Control-Expose-Headers") != "X-Request-ID, Retry-After, WWW-Authenticate" || !slices.Contains(r.header.Values("Vary"), "Origin") {
			t.Fatalf("answer %d to an allowed origin: %v", r.status, r.header)
		}
	}
	// Answers without an Origin still say they vary by it.
	if r := do("GET", "/.well-known/jwks.json", ""); !slices.Contains(r.header.Values("Vary"), "Origin") {
		t.Fatalf("jwks Vary %q", r.header.Values("Vary"))
	}
	for _, r := range seen {
		if r.header.Get("Access-Control-Allow-Origin") == "*" {
			t.Fatal(`Access-Control-Allow-Origin: "*" was sent`)
		}
	}

	// Without an allowlist there is no CORS at all: OPTIONS is 405.
	plain := newHarness(t, memory.NewStore())
	r := plain.do(t, "OPTIONS", "/v1/auth/login", "", "Origin", appOrigin, "Access-Control-Request-Method", "POST")
	if r.status != 405 || r.header.Get("Vary") != "" {
		t.Fatalf("OPTIONS without an allowlist: %d %v", r.status, r.header)
	}
	noCORS(r, "no allowlist")
}

func TestValidateCORSOrigins(t *testing.T) {
	for _, ok := range [][]string{nil, {"https://app.example.com"}, {"http://localhost:3000", "https://App.Example.com:443", "https://app.example.com/"}, {"http://[::1]:8080"}} {
		if err := httpapi.ValidateCORSOrigins(ok); err != nil {
			t.Errorf("%q: %v", ok, err)
		}
	}
	for _, bad := range []string{"*", "https://*.example.com", "null", "", "app.example.com", "ftp://app.example.com", "https://app.example.com/path", "https://user@app.example.com", "https://app.example.com?x", "https://app.example.com#f", "https://"} {
		if err := httpapi.ValidateCORSOrigins([]string{"https://ok.example.com", bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	defer func() {
		if recover() == nil {
			t.Error(`NewHandler accepted CORSOrigins ["*"]`)
		}
	}()
	httpapi.NewHandler(httpapi.UseCases{}, httpapi.Options{CORSOrigins: []string{"*"}})
}

// TestBrowserModeDocumented: the cookie and CSRF names the tests use are
// the ones docs/openapi.yaml declares.
func TestBrowserModeDocumented(t *testing.T) {
	s := openAPI(t)
	want := map[string][2]string{"accessCookie": {"cookie", accessCookie}, "refreshCookie": {"cookie", refreshCookie}, "csrfToken": {"header", "X-CSRF-Token"}}
	for name, w := range want {
		ref := s.doc.Components.SecuritySchemes[name]
		if ref == nil || ref.Value.Type != "apiKey" || ref.Value.In != w[0] || ref.Value.Name != w[1] {
			b, _ := json.Marshal(ref)
			t.Errorf("securitySchemes.%s = %s, want apiKey in %s named %s", name, b, w[0], w[1])
		}
	}
}
