package main_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/adapters/postgres/pgtest"
)

// TestSlowDatabaseOverHTTP: with every round trip to Postgres three times
// longer than AUTH_REQUEST_TIMEOUT, requests that need the database (more
// at once than the pool has connections) are answered 503 unavailable with
// Retry-After at their deadline instead of waiting for the database or for
// one another; /healthz answers at once meanwhile and /readyz says 503.
// Once the latency is gone the same process serves again, and the refresh
// token whose refresh was cut is not spent.
func TestSlowDatabaseOverHTTP(t *testing.T) {
	proxy := pgtest.NewSlowProxy(t, pgtest.NewDatabase(t), url.Values{"pool_max_conns": {"2"}})
	key := keyFile(t, t.TempDir(), "signing.pem", "ES256")
	const timeout = time.Second
	p := start(t, "AUTH_DATABASE_URL="+proxy.URL(), "AUTH_SIGNING_KEY_FILE="+key,
		"AUTH_REQUEST_TIMEOUT="+timeout.String(), "AUTH_IP_RATE_PER_MINUTE=0")
	creds := `{"email":"ada@example.com","password":"correct horse battery"}`
	code, _ := p.call(t, "POST", "/v1/auth/register", creds, "")
	want(t, code, 201)
	code, tokens := p.call(t, "POST", "/v1/auth/login", creds, "")
	want(t, code, 200)
	access, refresh := tokens["access_token"].(string), tokens["refresh_token"].(string)

	// Anything that reaches the database now takes at least 3 s; a request
	// answered well before that was cut at its deadline.
	const latency = 3 * timeout
	const answeredBy = latency - 500*time.Millisecond
	proxy.SetDelay(latency)
	type request struct{ name, method, path, body, bearer string }
	reqs := []request{
		{"refresh", "POST", "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, refresh), ""},
		{"me", "GET", "/v1/users/me", "", access},
		{"me", "GET", "/v1/users/me", "", access},
		{"register", "POST", "/v1/auth/register", `{"email":"bob@example.com","password":"correct horse battery"}`, ""},
	}
	for range 4 {
		reqs = append(reqs, request{"login", "POST", "/v1/auth/login", creds, ""})
	}
	client := loadClient()
	var wg sync.WaitGroup
	errs := make(chan error, len(reqs))
	for _, r := range reqs {
		wg.Go(func() {
			start := time.Now()
			req, _ := http.NewRequest(r.method, p.base+r.path, strings.NewReader(r.body))
			req.Header.Set("Content-Type", "application/json")
			if r.bearer != "" {
				req.Header.Set("Authorization", "Bearer "+r.bearer)
			}
			res, err := client.Do(req)
			if err != nil {
				errs <- fmt.Errorf("%s: %v", r.name, err)
				return
			}
			res.Body.Close()
			took := time.Since(start)
			switch {
			case res.StatusCode != http.StatusServiceUnavailable:
				errs <- fmt.Errorf("%s while the database is slow: %d, want 503", r.name, res.StatusCode)
			case res.Header.Get("Retry-After") == "":
				errs <- fmt.Errorf("%s: 503 without Retry-After", r.name)
			case took >= answeredBy:
				errs <- fmt.Errorf("%s answered after %v: not cut at the %v deadline", r.name, took, timeout)
			}
		})
	}
	// While those wait on the database, liveness never touches it.
	time.Sleep(timeout / 2)
	healthStart := time.Now()
	res, err := client.Get(p.base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if took := time.Since(healthStart); res.StatusCode != 200 || took >= answeredBy {
		t.Errorf("/healthz while the database is slow: %d after %v, want 200 at once", res.StatusCode, took)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if code, _ := p.call(t, "GET", "/readyz", "", ""); code != 503 {
		t.Errorf("/readyz while the database is slow: %d, want 503", code)
	}

	// The latency goes away: the process serves again by itself.
	proxy.SetDelay(0)
	back := time.Now()
	for {
		res, err := client.Post(p.base+"/v1/auth/login", "application/json", strings.NewReader(creds))
		if err == nil {
			res.Body.Close()
			if res.StatusCode == 200 {
				break
			}
		}
		if time.Since(back) > 10*time.Second {
			t.Fatalf("no successful login 10 s after the latency went away (last: %v %v)\n%s", res, err, p.log())
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("serving again %v after the latency went away", time.Since(back).Round(time.Millisecond))
	code, _ = p.call(t, "GET", "/readyz", "", "")
	want(t, code, 200)
	code, _ = p.call(t, "GET", "/v1/users/me", "", access)
	want(t, code, 200)
	code, _ = p.call(t, "POST", "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, refresh), "")
	want(t, code, 200) // the cut refresh spent nothing
}
