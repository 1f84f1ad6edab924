package httpapi_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/adapters/httpapi"
)

// recordingObserver keeps what the adapter reports.
type recordingObserver struct {
	mu       sync.Mutex
	requests []string // "route method status"
	outcomes []string // "operation outcome"
}

func (o *recordingObserver) Request(route, method string, status int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.requests = append(o.requests, route+" "+method+" "+http.StatusText(status))
}

func (o *recordingObserver) Outcome(operation, outcome string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.outcomes = append(o.outcomes, operation+" "+outcome)
}

// observedServer is the harness's server (memory store, validated
// exchanges) with exactly the given options: the optional routes the
// harness turns on stay off unless opts sets them. Logs go to the returned
// buffer.
func observedServer(t *testing.T, opts httpapi.Options) (*httptest.Server, *bytes.Buffer) {
	t.Helper()
	h := newHarnessWith(t, nil, func(o *httpapi.Options) {
		opts.Logger, opts.JWKS = o.Logger, o.JWKS
		*o = opts
	})
	return h.srv, h.logs
}

func send(t *testing.T, srv *httptest.Server, method, path, body string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, srv.URL+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, b
}

func TestRequestIDIsHonouredWhenSaneAndEchoed(t *testing.T) {
	srv, logs := observedServer(t, httpapi.Options{})
	cases := []struct {
		name, sent string
		kept       bool
	}{
		{"uuid", "0195f3c2-8a4b-7c3d-9e1f-2a3b4c5d6e7f", true},
		{"dotted trace id", "trace.abc_DEF-123", true},
		{"absent", "", false},
		{"too long", strings.Repeat("a", 65), false},
		{"log injection", `x","level":"ERROR`, false},
		{"newline", "abc\tdef", false},
		{"unicode", "réq", false},
	}
	seen := map[string]bool{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var headers []string
			if c.sent != "" {
				headers = []string{"X-Request-ID", c.sent}
			}
			res, _ := send(t, srv, "GET", "/healthz", "", headers...)
			got := res.Header.Get("X-Request-ID")
			switch {
			case c.kept && got != c.sent:
				t.Fatalf("sane id %q not echoed: got %q", c.sent, got)
			case !c.kept && (got == c.sent || len(got) < 16):
				t.Fatalf("id %q should be replaced by a fresh one, got %q", c.sent, got)
			case !c.kept && seen[got]:
				t.Fatalf("generated id %q repeated", got)
			}
			seen[got] = true
			if !strings.Contains(logs.String(), `"request_id":"`+got+`"`) {
				t.Fatalf("access log lacks request_id %q", got)
			}
		})
	}
	if strings.Contains(logs.String(), `","level":"ERROR`) {
		t.Fatal("a header value was written into the log unescaped")
	}
}

func TestAccessLogNamesRouteAndUser(t *testing.T) {
	srv, logs := observedServer(t, httpapi.Options{})
	creds := `{"email":"log@example.com","password":"correct horse battery staple"}`
	send(t, srv, "POST", "/v1/auth/register", creds)
	_, body := send(t, srv, "POST", "/v1/auth/login", creds)
	var pair struct {
		AccessToken string `json:"access_token"`
		User        struct {
			ID string `json:"id"`
		} `json:"user"`
	}
	if err := json.Unmarshal(body, &pair); err != nil {
		t.Fatal(err)
	}
	send(t, srv, "GET", "/v1/users/me", "", "Authorization", "Bearer "+pair.AccessToken)
	send(t, srv, "GET", "/nowhere", "")

	var meLine, unmatched map[string]any
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil || m["msg"] != "request" {
			continue
		}
		switch m["path"] {
		case "/v1/users/me":
			meLine = m
		case "/nowhere":
			unmatched = m
		}
	}
	if meLine == nil || meLine["route"] != "/v1/users/me" || meLine["user_id"] != pair.User.ID || meLine["status"] != float64(200) {
		t.Fatalf("/me access log line: %v (want route, status 200 and user_id %s)", meLine, pair.User.ID)
	}
	if d, ok := meLine["duration_ms"].(float64); !ok || d <= 0 {
		t.Fatal("no duration in the access log")
	}
	if unmatched == nil || unmatched["route"] != "unmatched" || unmatched["user_id"] != nil {
		t.Fatalf("unmatched access log line: %v", unmatched)
	}
	for _, secret := range []string{"correct horse battery staple", pair.AccessToken, "Bearer"} {
		if strings.Contains(logs.String(), secret) {
			t.Fatalf("log contains %q", secret)
		}
	}
}

func TestObserverSeesRoutesAndOutcomes(t *testing.T) {
	obs := &recordingObserver{}
	srv, _ := observedServer(t, httpapi.Options{Observer: obs})
	creds := `{"email":"obs@example.com","password":"correct horse battery staple"}`
	send(t, srv, "POST", "/v1/auth/register", creds)
	send(t, srv, "POST", "/v1/auth/register", creds)
	send(t, srv, "POST", "/v1/auth/login", `{"email":"obs@example.com","password":"wrong password here"}`)
	_, body := send(t, srv, "POST", "/v1/auth/login", creds)
	var pair struct {
		RefreshToken string `json:"refresh_token"`
	}
	_ = json.Unmarshal(body, &pair)
	send(t, srv, "POST", "/v1/auth/refresh", `{"refresh_token":"`+pair.RefreshToken+`"}`)
	send(t, srv, "POST", "/v1/auth/refresh", `{"refresh_token":"`+pair.RefreshToken+`"}`) // reuse
	send(t, srv, "POST", "/v1/auth/logout", `{"refresh_token":`, deliberatelyInvalid, "malformed JSON")
	send(t, srv, "BREW", "/v1/users/me", "")

	obs.mu.Lock()
	defer obs.mu.Unlock()
	wantOutcomes := []string{
		"register success", "register email_taken", "login invalid_credentials", "login success",
		"refresh success", "refresh reuse_detected", "logout invalid_request",
	}
	if strings.Join(obs.outcomes, "|") != strings.Join(wantOutcomes, "|") {
		t.Fatalf("outcomes:\n got %q\nwant %q", obs.outcomes, wantOutcomes)
	}
	wantRequests := []string{
		"/v1/auth/register POST Created", "/v1/auth/register POST Conflict", "/v1/auth/login POST Unauthorized",
		"/v1/auth/login POST OK", "/v1/auth/refresh POST OK", "/v1/auth/refresh POST Unauthorized",
		"/v1/auth/logout POST Bad Request", "unmatched OTHER Method Not Allowed",
	}
	if strings.Join(obs.requests, "|") != strings.Join(wantRequests, "|") {
		t.Fatalf("requests:\n got %q\nwant %q", obs.requests, wantRequests)
	}
}

func TestDiscoveryJWKSAndOpenAPIAreCacheable(t *testing.T) {
	srv, _ := observedServer(t, httpapi.Options{
		Issuer: "https://auth.example.com/", SigningAlgs: []string{"ES256"},
		OpenAPI: []byte("openapi: 3.1.0\n"),
	})
	res, body := send(t, srv, "GET", "/.well-known/oauth-authorization-server", "")
	var doc map[string]any
	if err := json.Unmarshal(body, &doc); err != nil || res.StatusCode != 200 {
		t.Fatalf("discovery: %d %s", res.StatusCode, body)
	}
	want := map[string]string{
		"issuer":            "https://auth.example.com/",
		"jwks_uri":          "https://auth.example.com/.well-known/jwks.json",
		"token_endpoint":    "https://auth.example.com/v1/auth/refresh",
		"userinfo_endpoint": "https://auth.example.com/v1/users/me",
	}
	for k, v := range want {
		if doc[k] != v {
			t.Errorf("discovery %s = %v, want %s", k, doc[k], v)
		}
	}
	if algs, _ := doc["access_token_signing_alg_values_supported"].([]any); len(algs) != 1 || algs[0] != "ES256" {
		t.Errorf("signing algs = %v", doc["access_token_signing_alg_values_supported"])
	}

	for _, c := range []struct{ path, contentType string }{
		{"/.well-known/jwks.json", "application/json"},
		{"/.well-known/oauth-authorization-server", "application/json"},
		{"/openapi.yaml", "application/yaml"},
	} {
		res, body := send(t, srv, "GET", c.path, "")
		etag := res.Header.Get("ETag")
		if res.StatusCode != 200 || etag == "" || !strings.HasPrefix(res.Header.Get("Cache-Control"), "public, max-age=") ||
			res.Header.Get("Content-Type") != c.contentType || len(body) == 0 {
			t.Fatalf("%s: %d etag %q cache %q type %q", c.path, res.StatusCode, etag, res.Header.Get("Cache-Control"), res.Header.Get("Content-Type"))
		}
		for _, inm := range []string{etag, "W/" + etag, `"other", ` + etag, "*"} {
			res, body := send(t, srv, "GET", c.path, "", "If-None-Match", inm)
			if res.StatusCode != http.StatusNotModified || len(body) != 0 || res.Header.Get("ETag") != etag {
				t.Fatalf("%s If-None-Match %s: %d, %d bytes", c.path, inm, res.StatusCode, len(body))
			}
		}
		if res, _ := send(t, srv, "GET", c.path, "", "If-None-Match", `"stale"`); res.StatusCode != 200 {
			t.Fatalf("%s with a stale ETag: %d", c.path, res.StatusCode)
		}
	}
}

func TestOptionalRoutesAreAbsentUnlessConfigured(t *testing.T) {
	srv, _ := observedServer(t, httpapi.Options{})
	for _, path := range []string{"/.well-known/oauth-authorization-server", "/openapi.yaml", "/metrics"} {
		if res, _ := send(t, srv, "GET", path, ""); res.StatusCode != http.StatusNotFound {
			t.Errorf("%s without its option: %d, want 404", path, res.StatusCode)
		}
	}
	metrics := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.WriteString(w, "authd_up 1\n") })
	srv, _ = observedServer(t, httpapi.Options{Metrics: metrics})
	if res, body := send(t, srv, "GET", "/metrics", ""); res.StatusCode != 200 || string(body) != "authd_up 1\n" {
		t.Errorf("/metrics with a handler: %d %q", res.StatusCode, body)
	}
}

func TestPerIPRateLimitOnCredentialEndpoints(t *testing.T) {
	obs := &recordingObserver{}
	srv, logs := observedServer(t, httpapi.Options{
		RateLimit:      httpapi.RateLimit{PerMinute: 1, Burst: 3},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		Observer:       obs,
	})
	bad := `{"email":"nobody@example.com","password":"wrong password here"}`
	for i := range 3 {
		if res, _ := send(t, srv, "POST", "/v1/auth/login", bad, "X-Forwarded-For", "198.51.100.1"); res.StatusCode != 401 {
			t.Fatalf("attempt %d: %d, want 401", i+1, res.StatusCode)
		}
	}
	res, body := send(t, srv, "POST", "/v1/auth/login", bad, "X-Forwarded-For", "198.51.100.1")
	var p map[string]any
	_ = json.Unmarshal(body, &p)
	if res.StatusCode != 429 || p["code"] != "rate_limited" || res.Header.Get("Retry-After") == "" {
		t.Fatalf("over the limit: %d %s Retry-After %q", res.StatusCode, body, res.Header.Get("Retry-After"))
	}
	// The bucket is shared by every credential endpoint...
	if res, _ := send(t, srv, "POST", "/v1/auth/refresh", `{"refresh_token":"x"}`, "X-Forwarded-For", "198.51.100.1"); res.StatusCode != 429 {
		t.Fatalf("refresh from the limited address: %d", res.StatusCode)
	}
	// ...but not by other clients behind the same trusted proxy, nor by
	// endpoints that take no credentials.
	if res, _ := send(t, srv, "POST", "/v1/auth/login", bad, "X-Forwarded-For", "198.51.100.2"); res.StatusCode != 401 {
		t.Fatalf("another client: %d", res.StatusCode)
	}
	if res, _ := send(t, srv, "GET", "/healthz", "", "X-Forwarded-For", "198.51.100.1"); res.StatusCode != 200 {
		t.Fatalf("healthz: %d", res.StatusCode)
	}
	if !strings.Contains(logs.String(), `"ip":"198.51.100.1"`) {
		t.Fatal("the access log lacks the client address")
	}
	obs.mu.Lock()
	defer obs.mu.Unlock()
	if !slices.Contains(obs.outcomes, "login rate_limited") {
		t.Fatalf("outcomes %v lack login rate_limited", obs.outcomes)
	}
}

func TestForwardedForIgnoredFromUntrustedPeers(t *testing.T) {
	srv, _ := observedServer(t, httpapi.Options{RateLimit: httpapi.RateLimit{PerMinute: 1, Burst: 1}})
	bad := `{"email":"nobody@example.com","password":"wrong password here"}`
	send(t, srv, "POST", "/v1/auth/login", bad, "X-Forwarded-For", "198.51.100.1")
	// A client rotating the header still lands in its own (peer) bucket.
	if res, _ := send(t, srv, "POST", "/v1/auth/login", bad, "X-Forwarded-For", "198.51.100.99"); res.StatusCode != 429 {
		t.Fatalf("spoofed X-Forwarded-For escaped the limit: %d", res.StatusCode)
	}
}
