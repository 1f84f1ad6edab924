package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/examples/web/webapp"
)

// TestDemoPage drives the demo web app of examples/web (served by its own
// handler, as `go run ./examples/web` serves it) in headless Chromium
// against authd in browser mode: the page on http://localhost:D, authd on
// http://localhost:A with the page's origin allowlisted. Through the
// page's forms and buttons only, a user signs up, fails and then succeeds
// to log in, verifies the email with the mailed link, turns TOTP on, logs
// out, logs in with password and code, sees who they are, revokes another
// session, and after a reload (the session restored from the cookies and
// GET /v1/auth/csrf) logs out again. The page's DOM and the server (with
// bearer tokens) are checked at each step.
func TestDemoPage(t *testing.T) {
	chromium := findChromium(t)

	// The demo's address first: authd must allowlist its origin, and the
	// demo must know authd's URL.
	demo := httptest.NewUnstartedServer(nil)
	_, demoPort, _ := net.SplitHostPort(demo.Listener.Addr().String())
	demoURL := "http://localhost:" + demoPort
	h := newHarnessWith(t, nil, browserOptions(false, demoURL))
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(h.srv.URL, "http://"))
	authd := "http://localhost:" + port
	handler, err := webapp.Handler(authd)
	if err != nil {
		t.Fatal(err)
	}
	demo.Config.Handler = handler
	demo.Start()
	t.Cleanup(demo.Close)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
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
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("start Chromium (%s): %v", chromium, err)
	}
	p := &demoPage{tab: &tab{t: t, ctx: browser, authd: authd}, url: demoURL}
	p.recordErrors()
	const email = "ada@example.com"

	// --- the page loads, signed out -----------------------------------------
	p.open("/")
	p.waitVisible("signed-out")
	if got := p.text("authd-url"); got != authd {
		t.Fatalf("the page talks to %q, want %q", got, authd)
	}

	// --- sign up ------------------------------------------------------------
	p.fill("signup-email", email)
	p.fill("signup-password", pw)
	p.fill("signup-name", "Ada Lovelace")
	p.click("signup-submit")
	p.waitMsg("signup-msg", "", "Account created")
	if mails := h.mails(t); len(mails) != 1 || mails[0].Kind != domain.MailVerifyEmail {
		t.Fatalf("after sign-up, mails %v: want the verification mail", mails)
	}
	t.Log("sign up: account created, verification mail queued")

	// --- log in: a wrong password, then the right one -----------------------
	p.fill("login-email", email)
	p.fill("login-password", "not the password at all")
	p.click("login-submit")
	p.waitMsg("login-msg", "invalid_credentials", "")
	p.fill("login-password", pw)
	p.click("login-submit")
	p.waitVisible("signed-in")
	p.expectText("me-email", email)
	p.expectText("me-name", "Ada Lovelace")
	p.expectText("me-verified", "no")
	p.expectText("me-mfa", "off")
	p.waitCount("#sessions-list li[data-current=true]", 1)
	if c := p.eval(`document.cookie`); strings.Contains(c, "authd_at") || strings.Contains(c, "authd_rt") {
		t.Fatalf("the page's scripts see a token cookie: %q", c)
	}
	access := p.accessCookie()
	if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+access); r.status != 200 || !strings.Contains(string(r.body), `"email":"`+email+`"`) {
		t.Fatalf("server: /v1/users/me with the browser's access cookie: %d %s", r.status, r.body)
	}
	t.Log("log in: invalid_credentials shown, then signed in; the tokens are in HttpOnly cookies only")

	// --- verify the email: "verify my email", then the mailed link ----------
	h.clock.Advance(2 * time.Minute) // one mail a minute per address
	p.click("verify-send")
	p.waitMsg("verify-msg", "", "on its way")
	tok := linkToken(t, h.mails(t), domain.MailVerifyEmail, email, "verify-email")
	p.open("/verify-email?token=" + tok)
	p.waitMsg("link-msg", "", email+" is verified")
	p.waitVisible("signed-in")
	p.expectText("me-verified", "yes")
	if path := p.eval(`location.pathname + location.search`); path != "/" {
		t.Fatalf("the token stayed in the address bar: %q", path)
	}
	if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+access); r.status != 200 || r.json(t)["user"].(map[string]any)["email_verified"] != true {
		t.Fatalf("server: email not verified: %d %s", r.status, r.body)
	}
	t.Log("email: link mailed, /verify-email?token=... verified it")

	// --- turn TOTP on --------------------------------------------------------
	p.fill("totp-password", pw)
	p.click("totp-enrol")
	p.waitVisible("totp-setup")
	secret := p.text("totp-secret")
	if uri := p.text("totp-uri"); secret == "" || !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "secret="+secret) {
		t.Fatalf("enrolment shows secret %q, uri %q", secret, uri)
	}
	spent := h.totpCode(t, secret, 0)
	p.fill("totp-confirm-code", spent)
	p.click("totp-confirm")
	p.waitVisible("recovery-box")
	p.waitCount("#recovery-codes li", 10)
	p.waitMsg("totp-msg", "", "Two-factor is on")
	p.expectText("me-mfa", "on")
	p.waitTrue(`document.getElementById("mfa-state").dataset.totp === "on"`, "the two-factor state says on")
	h.clock.Advance(30 * time.Second) // the confirming code's step is spent
	h.mails(t)                        // the factor_added notice
	t.Log("two-factor: secret shown, confirmed with a code, 10 recovery codes shown")

	// --- log out ------------------------------------------------------------
	p.click("logout")
	p.waitVisible("signed-out")
	p.waitMsg("login-msg", "", "Logged out")
	if left := p.cookies(); left[accessCookie] != nil || left[refreshCookie] != nil {
		t.Fatalf("cookies left after logout: %v", left)
	}
	if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+access); r.status != 401 {
		t.Fatalf("server: the session is still active after logout: %d", r.status)
	}
	t.Log("log out: cookies gone, the session revoked on the server")

	// --- log in with password and code ----------------------------------------
	p.fill("login-email", email)
	p.fill("login-password", pw)
	p.click("login-submit")
	p.waitVisible("mfa-step")
	p.waitVisible("mfa-recovery-field")
	if p.eval(`String(document.getElementById("passkey-login").hidden)`) != "true" {
		t.Fatal("the passkey button shows although the challenge offers no passkey")
	}
	p.fill("mfa-code", spent) // a used step: refused
	p.click("mfa-submit")
	p.waitMsg("login-msg", "invalid_mfa_code", "")
	p.fill("mfa-code", h.totpCode(t, secret, 0))
	p.click("mfa-submit")
	p.waitVisible("signed-in")
	p.expectText("me-email", email)
	p.expectText("me-mfa", "on")
	p.expectText("me-verified", "yes")
	access = p.accessCookie()
	t.Log("log in: mfa_required, a spent code refused (invalid_mfa_code), a fresh one accepted")

	// --- sessions: another one appears, and is revoked from the page ----------
	h.clock.Advance(30 * time.Second)
	r := h.do(t, "POST", "/v1/auth/login", creds(email, pw))
	assertProblem(t, r, 403, "mfa_required")
	r = h.do(t, "POST", "/v1/auth/mfa/verify", `{"mfa_token":"`+r.json(t)["mfa_token"].(string)+`","code":"`+h.totpCode(t, secret, 0)+`"}`)
	var other pair
	if r.status != 200 || json.Unmarshal(r.body, &other) != nil || other.RefreshToken == "" {
		t.Fatalf("server: a second session: %d %s", r.status, r.body)
	}
	if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+other.AccessToken); r.status != 200 {
		t.Fatalf("server: the second session: %d %s", r.status, r.body)
	} else if u := r.json(t)["user"].(map[string]any); u["name"] != "Ada Lovelace" || u["email_verified"] != true || u["mfa_enabled"] != true {
		t.Fatalf("server: the account is %v", u)
	}
	p.click("sessions-reload")
	p.waitCount("#sessions-list li", 2)
	p.waitCount("#sessions-list li[data-current=true]", 1)
	p.click("#sessions-list li[data-current=false] button.revoke")
	p.waitMsg("sessions-msg", "", "Session revoked")
	p.waitCount("#sessions-list li", 1)
	p.waitCount("#sessions-list li[data-current=true]", 1)
	if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+other.AccessToken); r.status != 401 {
		t.Fatalf("server: the revoked session still reads /v1/users/me: %d", r.status)
	}
	assertProblem(t, h.do(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+other.RefreshToken+`"}`), 401, "invalid_refresh_token")
	if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+access); r.status != 200 {
		t.Fatalf("server: the page's own session: %d", r.status)
	}
	t.Log("sessions: two listed, the other one revoked (its tokens refused), this one alive")

	// --- a reload restores the session; logging out needs the CSRF token ------
	p.open("/")
	p.waitVisible("signed-in")
	p.expectText("me-email", email)
	p.click("logout")
	p.waitVisible("signed-out")
	if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+access); r.status != 401 {
		t.Fatalf("server: the session is still active after the second logout: %d", r.status)
	}
	if errs := p.eval(`JSON.stringify(window.__errors || [])`); errs != "[]" {
		t.Fatalf("the page threw: %s", errs)
	}
	t.Log("reload: session restored from the cookies (CSRF token from GET /v1/auth/csrf), logout 204")
}

// demoPage drives the demo app in a tab; every wait is bounded by
// stepTimeout and fails the test with the page's text.
type demoPage struct {
	*tab
	url string
}

// recordErrors collects the page's uncaught errors in window.__errors,
// on every page the tab opens.
func (p *demoPage) recordErrors() {
	p.t.Helper()
	runStep(p.tab, func(ctx context.Context, tg *chromedp.Target) (page.AddScriptToEvaluateOnNewDocumentResult, error) {
		return cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: `
window.__errors = [];
addEventListener("error", (e) => window.__errors.push(String(e.message)));
addEventListener("unhandledrejection", (e) => window.__errors.push(String(e.reason)));`})
	})
}

// open loads path of the demo and waits for its first render.
func (p *demoPage) open(path string) {
	p.t.Helper()
	runStep(p.tab, chromedp.Navigate(p.url+path))
	p.waitTrue(`document.body.dataset.ready === "true"`, "the page is ready")
}

// fill empties the input, then types value into it.
func (p *demoPage) fill(id, value string) {
	p.t.Helper()
	p.eval(fmt.Sprintf(`document.getElementById(%q).value = ""`, id))
	runStep(p.tab, chromedp.SendKeys(chromedp.ID(id), value))
}

// click clicks the element with this id, or matching this CSS selector
// when it starts with "#" and holds a space.
func (p *demoPage) click(sel string) {
	p.t.Helper()
	if strings.Contains(sel, " ") {
		runStep(p.tab, chromedp.Click(chromedp.CSS(sel)))
		return
	}
	runStep(p.tab, chromedp.Click(chromedp.ID(sel)))
}

func (p *demoPage) text(id string) string {
	p.t.Helper()
	return p.eval(fmt.Sprintf(`document.getElementById(%q).textContent`, id))
}

func (p *demoPage) expectText(id, want string) {
	p.t.Helper()
	p.waitTrue(fmt.Sprintf(`document.getElementById(%q).textContent === %q`, id, want), fmt.Sprintf("#%s reads %q", id, want))
}

func (p *demoPage) waitVisible(id string) {
	p.t.Helper()
	p.waitTrue(fmt.Sprintf(`(() => { const e = document.getElementById(%q); return !!e && e.checkVisibility(); })()`, id), "#"+id+" is visible")
}

func (p *demoPage) waitCount(selector string, n int) {
	p.t.Helper()
	p.waitTrue(fmt.Sprintf(`document.querySelectorAll(%q).length === %d`, selector, n), fmt.Sprintf("%d of %s", n, selector))
}

// waitMsg waits for the message element id to show the problem code (""
// for a success) and to contain text.
func (p *demoPage) waitMsg(id, code, text string) {
	p.t.Helper()
	p.waitTrue(fmt.Sprintf(`(() => { const e = document.getElementById(%q);
  return e.dataset.code === %q && e.textContent !== "" && e.textContent.includes(%q); })()`, id, code, text),
		fmt.Sprintf("#%s shows code %q and %q", id, code, text))
}

// waitTrue polls the JavaScript condition until it holds.
func (p *demoPage) waitTrue(cond, what string) {
	p.t.Helper()
	deadline := time.Now().Add(stepTimeout)
	for {
		if p.eval(fmt.Sprintf(`String(!!(%s))`, cond)) == "true" {
			return
		}
		if time.Now().After(deadline) {
			p.t.Fatalf("waited for %s: the page says:\n%s\nerrors: %s", what,
				p.eval(`document.body.innerText`), p.eval(`JSON.stringify(window.__errors || [])`))
		}
		time.Sleep(25 * time.Millisecond)
	}
}

// accessCookie is the access token Chromium holds for authd.
func (p *demoPage) accessCookie() string {
	p.t.Helper()
	c := p.cookies()[accessCookie]
	if c == nil || !c.HTTPOnly || !c.Secure {
		p.t.Fatalf("Chromium's access cookie: %+v", c)
	}
	return c.Value
}
