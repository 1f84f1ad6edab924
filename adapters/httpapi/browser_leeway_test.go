package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserTwoTabsRefreshAtOnce drives two tabs of one headless Chromium
// (one cookie jar) in cookie mode: both refresh at the same moment with the
// same refresh cookie, as two tabs of an app waking up together do. A
// barrier in front of authd holds the first refresh until the second has
// been sent, so both really carry the one token.
//
// With AUTH_REFRESH_REUSE_LEEWAY on, both refreshes succeed and both tabs
// stay logged in (one rotates, the other gets a sibling token). With the
// leeway at 0, the documented strict behaviour: one succeeds, the other is
// reuse, and the session is revoked for both tabs.
func TestBrowserTwoTabsRefreshAtOnce(t *testing.T) {
	chromium := findChromium(t)
	for _, tc := range []struct {
		name   string
		leeway time.Duration
	}{{"leeway 10s", 10 * time.Second}, {"leeway 0 (strict)", 0}} {
		t.Run(tc.name, func(t *testing.T) {
			appURL := staticPage(t, "localhost")
			h := newHarnessWith(t, nil, browserOptions(true, appURL), func(d *deps) { d.ReuseLeeway = tc.leeway })
			h.register(t, "ada@example.com", "correct horse battery")
			authd := refreshBarrier(t, h.srv.URL, 2)

			ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
			defer cancel()
			allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
				chromedp.ExecPath(chromium),
				chromedp.NoSandbox,
				chromedp.Flag("headless", "new"),
				chromedp.DisableGPU,
				chromedp.Flag("disable-dev-shm-usage", true),
				chromedp.UserDataDir(t.TempDir()),
			)...)
			defer cancelAlloc()
			browser, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(string, ...any) {}))
			defer cancelBrowser()
			if err := chromedp.Do(browser); err != nil {
				t.Fatalf("start Chromium (%s): %v", chromium, err)
			}
			second, cancelSecond := chromedp.NewContext(browser) // a second tab, same cookie jar
			defer cancelSecond()
			if err := chromedp.Do(second); err != nil { // its first Run owns the tab
				t.Fatalf("open a second tab: %v", err)
			}
			tabs := []*tab{{t: t, ctx: browser, authd: authd}, {t: t, ctx: second, authd: authd}}
			for _, b := range tabs {
				b.open(appURL)
			}
			r := tabs[0].fetch("/v1/auth/login", `{method: "POST", headers: {"Content-Type": "application/json"},
				body: JSON.stringify({email: "ada@example.com", password: "correct horse battery"})}`)
			if !r.OK || r.Status != 200 {
				t.Fatalf("login: %+v", r)
			}
			for i, b := range tabs {
				if r := b.fetch("/v1/users/me", `{}`); r.Status != 200 {
					t.Fatalf("tab %d before the refreshes: %+v", i, r)
				}
			}
			before := tabs[0].cookies()[refreshCookie].Value

			// Both tabs refresh at once (the barrier lets neither through
			// until both have arrived).
			results := make([]fetchResult, 2)
			var wg sync.WaitGroup
			for i, b := range tabs {
				wg.Go(func() {
					out := runStepNoFatal(b, fmt.Sprintf(`call(%q, {method: "POST", headers: {"X-CSRF-Token": csrfFromCookie()}})`, b.authd+"/v1/auth/refresh"))
					results[i] = out
				})
			}
			wg.Wait()
			t.Logf("simultaneous refreshes: tab 0 -> %d %s; tab 1 -> %d %s", results[0].Status, strings.TrimSpace(results[0].Body),
				results[1].Status, strings.TrimSpace(results[1].Body))
			if tabs[0].cookies()[refreshCookie] != nil && tabs[0].cookies()[refreshCookie].Value == before {
				t.Fatal("the refresh cookie did not change")
			}

			if tc.leeway > 0 {
				for i, r := range results {
					if !r.OK || r.Status != 200 {
						t.Fatalf("tab %d: refresh within the leeway: %+v; want 200", i, r)
					}
				}
				// Both stay logged in: each reads the user and refreshes again.
				for i, b := range tabs {
					if r := b.fetch("/v1/users/me", `{}`); r.Status != 200 {
						t.Fatalf("tab %d after the refreshes: %+v", i, r)
					}
					if r := b.fetch("/v1/auth/refresh", `{method: "POST", headers: {"X-CSRF-Token": csrfFromCookie()}}`); r.Status != 200 {
						t.Fatalf("tab %d: a later refresh: %+v", i, r)
					}
				}
				t.Log("both tabs logged in: /v1/users/me 200 and a later refresh 200 in each")
				return
			}
			ok, reused := 0, 0
			for _, r := range results {
				switch {
				case r.OK && r.Status == 200:
					ok++
				case r.OK && r.Status == 401 && strings.Contains(r.Body, `"code":"invalid_refresh_token"`): // reuse looks like any bad token on the wire
					reused++
				}
			}
			if ok != 1 || reused != 1 {
				t.Fatalf("strict: %+v; want one 200 and one 401 invalid_refresh_token (the reuse)", results)
			}
			for i, b := range tabs {
				if r := b.fetch("/v1/users/me", `{}`); r.Status != 401 {
					t.Fatalf("tab %d after the reuse: %+v; want 401, the session revoked", i, r)
				}
				if r := b.fetch("/v1/auth/refresh", `{method: "POST", headers: {"X-CSRF-Token": csrfFromCookie()}}`); r.Status != 401 {
					t.Fatalf("tab %d: refresh after the reuse: %+v; want 401", i, r)
				}
			}
			t.Log("strict: one refresh 200, the other reuse 401; the session is revoked in both tabs")
		})
	}
}

// runStepNoFatal evaluates a fetch from a goroutine: it reports a failure
// as a result instead of calling Fatal off the test goroutine.
func runStepNoFatal(b *tab, js string) fetchResult {
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	out, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
	if err != nil {
		return fetchResult{Error: err.Error()}
	}
	var r fetchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return fetchResult{Error: err.Error() + ": " + out}
	}
	return r
}

// refreshBarrier serves a reverse proxy to target on localhost (the same
// site as target, so the cookies flow) that holds every POST
// /v1/auth/refresh until n of them have arrived (or 5s pass), then lets
// them all through at once.
func refreshBarrier(t *testing.T, target string, n int) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	proxy := httputil.NewSingleHostReverseProxy(u)
	var (
		mu      sync.Mutex
		arrived int
		open    = make(chan struct{})
	)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && r.URL.Path == "/v1/auth/refresh" {
			mu.Lock()
			arrived++
			if arrived == n {
				close(open)
			}
			mu.Unlock()
			select {
			case <-open:
			case <-time.After(5 * time.Second):
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return "http://localhost:" + port
}
