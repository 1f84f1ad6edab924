package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/authd/authd/adapters/httpapi"
)

// TestBrowserModeInChromium drives a real headless Chromium against authd
// in browser mode, with three pages:
//
//   - the app, http://localhost:B: allowlisted, same site as authd
//     (http://localhost:A; ports do not change the site), so its SameSite
//     cookies flow;
//   - a sibling, http://localhost:D: same site, NOT allowlisted: the
//     browser sends the cookies, so only CORS and the CSRF check stand;
//   - a foreign page, http://127.0.0.1:C: another site, whose requests carry
//     no SameSite cookie at all.
//
// The app logs in, reads the user, refreshes and logs out with fetch and
// credentials; its scripts never see a token. The sibling and the foreign
// page can neither read answers nor act on the session, which is checked
// on the server.
func TestBrowserModeInChromium(t *testing.T) {
	chromium := findChromium(t)

	appURL := staticPage(t, "localhost")
	siblingURL := staticPage(t, "localhost")
	foreignURL := staticPage(t, "127.0.0.1")
	log := &exchangeLog{}
	h := newHarnessWith(t, nil, func(o *httpapi.Options) {
		browserOptions(false, appURL)(o)
		log.next, o.Observer = o.Observer, log
	})
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(h.srv.URL, "http://"))
	authd := "http://localhost:" + port
	h.register(t, "ada@example.com", "correct horse battery")

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromium),
		chromedp.NoSandbox, // root in a container
		chromedp.Flag("headless", "new"),
		chromedp.DisableGPU,
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
	)...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithErrorf(func(string, ...any) {}))
	defer cancelBrowser()
	// Start the browser on the long-lived context: the first Run owns it.
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start Chromium (%s): %v", chromium, err)
	}
	b := &tab{t: t, ctx: browser, authd: authd}

	// --- the app ---------------------------------------------------------
	b.open(appURL)
	r := b.fetch("/v1/auth/login", `{method: "POST", headers: {"Content-Type": "application/json", "X-Auth-Cookies": "1"},
		body: JSON.stringify({email: "ada@example.com", password: "correct horse battery"})}`)
	var login struct {
		CSRFToken   string         `json:"csrf_token"`
		AccessToken string         `json:"access_token"`
		User        map[string]any `json:"user"`
	}
	if !r.OK || r.Status != 200 || json.Unmarshal([]byte(r.Body), &login) != nil || login.CSRFToken == "" || login.AccessToken != "" {
		t.Fatalf("app login: %+v", r)
	}
	if r.RequestID == "" {
		t.Errorf("the app cannot read X-Request-ID (Expose-Headers): %+v", r)
	}
	jsCookies := b.eval(`document.cookie`)
	t.Logf("app: login 200 %s; document.cookie = %q", strings.TrimSpace(r.Body), jsCookies)
	if jsCookies != csrfCookie+"="+login.CSRFToken {
		t.Fatalf("document.cookie = %q: want the CSRF cookie only (the token cookies are HttpOnly)", jsCookies)
	}
	stored := b.cookies()
	for _, name := range []string{accessCookie, refreshCookie, csrfCookie} {
		c := stored[name]
		if c == nil || !c.Secure || c.HTTPOnly != (name != csrfCookie) {
			t.Fatalf("Chromium's %s cookie: %+v", name, c)
		}
	}
	t.Logf("Chromium stored: %s (HttpOnly, SameSite=%s), %s (HttpOnly, SameSite=%s, path %s), %s (SameSite=%s)",
		accessCookie, stored[accessCookie].SameSite, refreshCookie, stored[refreshCookie].SameSite, stored[refreshCookie].Path, csrfCookie, stored[csrfCookie].SameSite)

	r = b.fetch("/v1/users/me", `{}`)
	if !r.OK || r.Status != 200 || !strings.Contains(r.Body, `"email":"ada@example.com"`) {
		t.Fatalf("app /v1/users/me: %+v", r)
	}
	t.Logf("app: GET /v1/users/me -> %d %s", r.Status, strings.TrimSpace(r.Body))

	r = b.fetch("/v1/auth/refresh", `{method: "POST"}`)
	if !r.OK || r.Status != 403 || !strings.Contains(r.Body, `"code":"csrf_failed"`) {
		t.Fatalf("app refresh without X-CSRF-Token: %+v", r)
	}
	t.Logf("app: refresh without X-CSRF-Token -> %d csrf_failed", r.Status)
	r = b.fetch("/v1/auth/refresh", `{method: "POST", headers: {"X-CSRF-Token": csrfFromCookie()}}`)
	if !r.OK || r.Status != 200 || strings.Contains(r.Body, "refresh_token") || !strings.Contains(r.Body, login.CSRFToken) {
		t.Fatalf("app refresh: %+v", r)
	}
	rotated := b.cookies()
	if rotated[refreshCookie].Value == stored[refreshCookie].Value || rotated[accessCookie].Value == stored[accessCookie].Value {
		t.Fatal("refresh did not rotate the cookies in the browser")
	}
	access := rotated[accessCookie].Value
	t.Logf("app: refresh with X-CSRF-Token -> %d, cookies rotated", r.Status)

	// --- a same-site page that is not allowlisted -------------------------
	b.open(siblingURL)
	attacks := log.mark()
	mark := attacks
	if r := b.fetch("/v1/users/me", `{}`); r.OK {
		t.Fatalf("sibling read /v1/users/me: %+v", r)
	} else {
		t.Logf("sibling: fetch /v1/users/me -> rejected (%s)", r.Error)
	}
	if r := b.fetch("/v1/auth/logout", `{method: "POST", mode: "no-cors"}`); !r.OK || r.Type != "opaque" {
		t.Fatalf("sibling no-cors logout: %+v", r)
	}
	b.submitForm("/v1/auth/logout")
	got := log.waitFor(t, mark, "POST /v1/auth/logout 403", "POST /v1/auth/logout 403")
	t.Logf("sibling: fetch(no-cors) and form POST to logout -> opaque to the page; server saw %v", got)

	// --- a page on another site -------------------------------------------
	b.open(foreignURL)
	mark = log.mark()
	if r := b.fetch("/v1/users/me", `{}`); r.OK {
		t.Fatalf("foreign page read /v1/users/me: %+v", r)
	}
	if r := b.fetch("/v1/auth/refresh", `{method: "POST", headers: {"X-CSRF-Token": "guess"}}`); r.OK {
		t.Fatalf("foreign page's refresh passed the preflight: %+v", r)
	}
	if r := b.fetch("/v1/auth/logout", `{method: "POST", mode: "no-cors"}`); !r.OK || r.Type != "opaque" {
		t.Fatalf("foreign no-cors logout: %+v", r)
	}
	b.submitForm("/v1/auth/logout")
	b.submitForm("/v1/auth/refresh")
	// 400: the logouts arrived with no credential (SameSite kept the
	// cookies home); 422: the form refresh, also without its cookie, sent
	// no refresh token (its empty form body names none).
	got = log.waitFor(t, mark, "POST /v1/auth/logout 400", "POST /v1/auth/logout 400", "POST /v1/auth/refresh 422")
	t.Logf("foreign: fetch /v1/users/me and refresh rejected by CORS; no-cors and form POSTs -> server saw %v", got)
	for _, e := range log.since(attacks) {
		if e == "POST /v1/auth/logout 204" || e == "POST /v1/auth/refresh 200" {
			t.Fatalf("a sibling or foreign request acted: %v", log.since(attacks))
		}
	}

	// The session is still active: checked on the server with the access
	// token the browser holds.
	if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+access); r.status != 200 {
		t.Fatalf("the session did not survive the foreign pages: %d %s", r.status, r.body)
	}
	t.Log("server: the session is still active")

	// --- back to the app: log out ------------------------------------------
	b.open(appURL)
	if r := b.fetch("/v1/users/me", `{}`); r.Status != 200 {
		t.Fatalf("app after the attacks: %+v", r)
	}
	r = b.fetch("/v1/auth/logout", `{method: "POST", headers: {"X-CSRF-Token": csrfFromCookie()}}`)
	if !r.OK || r.Status != 204 {
		t.Fatalf("app logout: %+v", r)
	}
	if c := b.eval(`document.cookie`); c != "" {
		t.Fatalf("document.cookie after logout = %q", c)
	}
	if left := b.cookies(); len(left) != 0 {
		t.Fatalf("cookies left after logout: %v", left)
	}
	if r := b.fetch("/v1/users/me", `{}`); !r.OK || r.Status != 401 {
		t.Fatalf("app /v1/users/me after logout: %+v", r)
	}
	if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+access); r.status != 401 {
		t.Fatalf("the session is still active after logout: %d", r.status)
	}
	t.Log("app: logout 204, cookies gone, /v1/users/me 401; server: the session is revoked")
}

// findChromium: AUTH_TEST_CHROMIUM, else chromium on PATH. Missing, the
// test is skipped locally and fails in CI (CI must never skip it).
func findChromium(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("AUTH_TEST_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if ci := strings.ToLower(os.Getenv("CI")); ci == "true" || ci == "1" {
		t.Fatal("no Chromium (apt-get install chromium, or set AUTH_TEST_CHROMIUM): the browser-mode test must run in CI")
	}
	t.Skip("no Chromium on PATH (apt-get install chromium, or set AUTH_TEST_CHROMIUM)")
	return ""
}

// staticPage serves an empty HTML page on host (localhost or 127.0.0.1,
// both bound to the loopback address) and returns its origin.
func staticPage(t *testing.T, host string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, "<!doctype html><meta charset=utf-8><title>page</title><body></body>")
	}))
	t.Cleanup(srv.Close)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	return "http://" + host + ":" + port
}

// tab runs steps in the browser, each bounded by its own timeout.
type tab struct {
	t     *testing.T
	ctx   context.Context
	authd string
}

const stepTimeout = 8 * time.Second

func runStep[T any](b *tab, action chromedp.Action[T]) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, stepTimeout)
	defer cancel()
	v, err := chromedp.Run(ctx, action)
	if err != nil {
		b.t.Fatalf("browser step: %v", err)
	}
	return v
}

// pageHelpers are defined on every page: fetch against authd that reports
// instead of throwing, and the double-submit read of the CSRF cookie.
const pageHelpers = `
window.call = async (url, opts) => {
  try {
    const r = await fetch(url, Object.assign({credentials: "include"}, opts));
    let body = "";
    try { body = await r.text(); } catch (e) {}
    return JSON.stringify({ok: true, status: r.status, type: r.type, body: body, requestId: r.headers.get("X-Request-ID") || ""});
  } catch (e) {
    return JSON.stringify({ok: false, error: String(e)});
  }
};
window.csrfFromCookie = () => {
  const c = document.cookie.split("; ").find(c => c.startsWith("__Host-authd_csrf="));
  return c ? c.slice("__Host-authd_csrf=".length) : "";
};
window.submitForm = (url) => new Promise(resolve => {
  const frame = document.createElement("iframe");
  frame.name = "sink" + Math.random().toString(36).slice(2);
  document.body.appendChild(frame);
  frame.onload = () => resolve("loaded");
  setTimeout(() => resolve("timeout"), 5000);
  const form = document.createElement("form");
  form.method = "POST";
  form.action = url;
  form.target = frame.name;
  document.body.appendChild(form);
  form.submit();
});
"ok"`

func (b *tab) open(url string) {
	b.t.Helper()
	runStep(b, chromedp.Navigate(url+"/"))
	runStep(b, chromedp.Evaluate[string](pageHelpers))
}

func (b *tab) eval(js string) string {
	b.t.Helper()
	return runStep(b, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
}

type fetchResult struct {
	OK        bool   `json:"ok"`
	Status    int    `json:"status"`
	Type      string `json:"type"`
	Body      string `json:"body"`
	RequestID string `json:"requestId"`
	Error     string `json:"error"`
}

// fetch runs fetch(authd + path, opts) with credentials from the current
// page; opts is a JavaScript object literal.
func (b *tab) fetch(path, opts string) fetchResult {
	b.t.Helper()
	out := b.eval(fmt.Sprintf(`call(%q, %s)`, b.authd+path, opts))
	var r fetchResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		b.t.Fatalf("fetch %s: %v: %s", path, err, out)
	}
	return r
}

// submitForm posts an empty form to authd + path from the current page
// into a hidden frame, as a CSRF attack would, and waits for the answer.
func (b *tab) submitForm(path string) {
	b.t.Helper()
	if got := b.eval(fmt.Sprintf(`submitForm(%q)`, b.authd+path)); got != "loaded" {
		b.t.Fatalf("form POST to %s: %s", path, got)
	}
}

// cookies returns the cookies Chromium holds for authd (HttpOnly ones
// included, through the DevTools protocol), by name.
func (b *tab) cookies() map[string]*network.Cookie {
	b.t.Helper()
	res := runStep(b, func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{b.authd + "/v1/auth/refresh"}})
	})
	out := map[string]*network.Cookie{}
	for _, c := range res.Cookies {
		out[c.Name] = c
	}
	return out
}

// exchangeLog records "METHOD route status" for every request authd
// answers (as its Observer), so the test can tell what reached the server.
type exchangeLog struct {
	mu   sync.Mutex
	next httpapi.Observer
	got  []string
}

func (l *exchangeLog) Request(route, method string, status int, elapsed time.Duration) {
	l.mu.Lock()
	l.got = append(l.got, fmt.Sprintf("%s %s %d", method, route, status))
	l.mu.Unlock()
	if l.next != nil {
		l.next.Request(route, method, status, elapsed)
	}
}

func (l *exchangeLog) Outcome(operation, outcome string) {
	if l.next != nil {
		l.next.Outcome(operation, outcome)
	}
}

func (l *exchangeLog) mark() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.got)
}

func (l *exchangeLog) since(mark int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.got[mark:])
}

// waitFor waits (the observer runs just after the answer is sent) until
// the exchanges since mark include want (with multiplicity), and returns
// them.
func (l *exchangeLog) waitFor(t *testing.T, mark int, want ...string) []string {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for {
		got := l.since(mark)
		rest := slices.Clone(got)
		missing := false
		for _, w := range want {
			i := slices.Index(rest, w)
			if i < 0 {
				missing = true
				break
			}
			rest = slices.Delete(rest, i, i+1)
		}
		if !missing {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("authd saw %v, want %v among them", got, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
