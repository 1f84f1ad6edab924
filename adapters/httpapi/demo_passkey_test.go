package httpapi_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"net"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"

	"github.com/authd/authd/adapters/httpapi"
	"github.com/authd/authd/examples/web/webapp"
)

// TestDemoPasskeys drives the passkey flows of the demo web app
// (examples/web) in headless Chromium with the DevTools virtual
// authenticator (CTAP2, internal, resident keys, user verification),
// against authd in browser mode with the page's origin allowed for
// WebAuthn (RP ID localhost). Through the page only: sign up and log in
// with the password, add a passkey and see it listed, log out, sign in
// usernameless with it (amr ["hwk","mfa"]); turn TOTP on, log out, log in
// with the password and answer the mfa_required challenge with the
// passkey (amr ["pwd","hwk"]); delete the passkey, log out, and the
// usernameless sign-in is refused by the server. The DOM and the server
// (bearer calls with the browser's access cookie) are checked each step.
func TestDemoPasskeys(t *testing.T) {
	chromium := findChromium(t)

	demo := httptest.NewUnstartedServer(nil)
	_, demoPort, _ := net.SplitHostPort(demo.Listener.Addr().String())
	demoURL := "http://localhost:" + demoPort
	log := &exchangeLog{}
	h := newHarnessWith(t, nil, func(o *httpapi.Options) {
		browserOptions(false, demoURL)(o)
		log.next, o.Observer = o.Observer, log
	}, func(d *deps) { d.WebAuthnOrigins = []string{demoURL} })
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
	authenticator := runStep(p.tab, func(ctx context.Context, tg *chromedp.Target) (webauthn.AddVirtualAuthenticatorResult, error) {
		if _, err := cdp.Call(ctx, tg, webauthn.Enable, webauthn.EnableParams{}); err != nil {
			return webauthn.AddVirtualAuthenticatorResult{}, err
		}
		return cdp.Call(ctx, tg, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
			Options: &webauthn.VirtualAuthenticatorOptions{
				Protocol: webauthn.AuthenticatorProtocolCtap2, Transport: webauthn.AuthenticatorTransportInternal,
				HasResidentKey: true, HasUserVerification: true, IsUserVerified: true, AutomaticPresenceSimulation: true,
			},
		})
	})
	credentials := func() []*webauthn.Credential {
		t.Helper()
		return runStep(p.tab, func(ctx context.Context, tg *chromedp.Target) (webauthn.GetCredentialsResult, error) {
			return cdp.Call(ctx, tg, webauthn.GetCredentials, webauthn.GetCredentialsParams{AuthenticatorID: authenticator.AuthenticatorID})
		}).Credentials
	}
	const email = "grace@example.com"
	bearer := func(access string) []string { return []string{"Authorization", "Bearer " + access} }

	// --- sign up, log in with the password ------------------------------------
	p.open("/")
	p.waitVisible("signed-out")
	p.waitVisible("passkey-signin")
	p.fill("signup-email", email)
	p.fill("signup-password", pw)
	p.fill("signup-name", "Grace Hopper")
	p.click("signup-submit")
	p.waitMsg("signup-msg", "", "Account created")
	p.fill("login-email", email)
	p.fill("login-password", pw)
	p.click("login-submit")
	p.waitVisible("signed-in")
	p.expectText("me-email", email)
	p.waitMsg("passkeys-msg", "", "No passkey yet")
	access := p.accessCookie()
	if got := amrOf(t, access); !slices.Equal(got, []string{"pwd"}) {
		t.Fatalf("password login: amr %v", got)
	}
	t.Log("sign up and log in with the password: signed in, no passkey yet")

	// --- add a passkey ------------------------------------------------------------
	mark := log.mark()
	p.waitVisible("passkey-add-form")
	p.fill("passkey-name", "laptop")
	p.click("passkey-add")
	p.waitMsg("passkeys-msg", "", "Passkey laptop added")
	p.waitCount("#passkeys-list li", 1)
	p.waitTrue(`document.querySelector("#passkeys-list li").textContent.startsWith("laptop: added ")`, "the passkey listed by name")
	log.waitFor(t, mark, "POST /v1/users/me/passkeys/register/begin 200", "POST /v1/users/me/passkeys/register/finish 201")
	if creds := credentials(); len(creds) != 1 || !creds[0].IsResidentCredential || creds[0].RpID != "localhost" {
		t.Fatalf("the virtual authenticator holds %+v: want one discoverable credential for localhost", creds)
	}
	r := h.do(t, "GET", "/v1/users/me/passkeys", "", bearer(access)...)
	var list struct {
		Passkeys []struct {
			ID, Name string
		} `json:"passkeys"`
	}
	if r.status != 200 || json.Unmarshal(r.body, &list) != nil || len(list.Passkeys) != 1 || list.Passkeys[0].Name != "laptop" {
		t.Fatalf("server: passkeys after adding one: %d %s", r.status, r.body)
	}
	if id := p.eval(`document.querySelector("#passkeys-list li").dataset.passkeyId`); id != list.Passkeys[0].ID {
		t.Fatalf("the page lists passkey %q, the server %q", id, list.Passkeys[0].ID)
	}
	h.mails(t) // the verification mail, the factor_added notice
	t.Log("add a passkey: register/begin 200, navigator.credentials.create, register/finish 201; listed on the page and the server")

	// --- log out, sign in usernameless with the passkey --------------------------
	p.click("logout")
	p.waitVisible("signed-out")
	p.waitMsg("login-msg", "", "Logged out")
	if r := h.do(t, "GET", "/v1/users/me", "", bearer(access)...); r.status != 401 {
		t.Fatalf("server: the session is alive after logout: %d", r.status)
	}
	mark = log.mark()
	p.click("passkey-signin")
	p.waitVisible("signed-in")
	p.expectText("me-email", email)
	p.waitCount("#passkeys-list li", 1)
	p.waitTrue(`document.querySelector("#passkeys-list li").textContent.includes("last used") && !document.querySelector("#passkeys-list li").textContent.includes("last used never")`, "the passkey's last use shown")
	log.waitFor(t, mark, "POST /v1/auth/passkey/begin 200", "POST /v1/auth/passkey/finish 200")
	access = p.accessCookie()
	if got := amrOf(t, access); !slices.Equal(got, []string{"hwk", "mfa"}) {
		t.Fatalf("usernameless passkey sign-in: amr %v, want [hwk mfa]", got)
	}
	if r := h.do(t, "GET", "/v1/users/me", "", bearer(access)...); r.status != 200 || !strings.Contains(string(r.body), `"email":"`+email+`"`) {
		t.Fatalf("server: /v1/users/me after the passkey sign-in: %d %s", r.status, r.body)
	}
	t.Log("usernameless sign-in with the passkey: signed in, amr [hwk mfa]")

	// --- turn TOTP on, so the password needs a second factor ---------------------
	p.fill("totp-password", pw)
	p.click("totp-enrol")
	p.waitVisible("totp-setup")
	secret := p.text("totp-secret")
	p.fill("totp-confirm-code", h.totpCode(t, secret, 0))
	p.click("totp-confirm")
	p.waitVisible("recovery-box")
	p.waitMsg("totp-msg", "", "Two-factor is on")
	p.expectText("me-mfa", "on")
	h.clock.Advance(30 * time.Second) // the confirming code's step is spent
	p.click("logout")
	p.waitVisible("signed-out")
	t.Log("TOTP on, logged out")

	// --- password, then the passkey as the second factor --------------------------
	p.fill("login-email", email)
	p.fill("login-password", pw)
	p.click("login-submit")
	p.waitVisible("mfa-step")
	p.waitVisible("passkey-login")
	p.waitVisible("mfa-code-field")
	mark = log.mark()
	p.click("passkey-login")
	p.waitVisible("signed-in")
	p.expectText("me-email", email)
	p.expectText("me-mfa", "on")
	log.waitFor(t, mark, "POST /v1/auth/passkey/begin 200", "POST /v1/auth/passkey/finish 200")
	access = p.accessCookie()
	if got := amrOf(t, access); !slices.Equal(got, []string{"pwd", "hwk"}) {
		t.Fatalf("password and passkey: amr %v, want [pwd hwk]", got)
	}
	if r := h.do(t, "GET", "/v1/users/me", "", bearer(access)...); r.status != 200 {
		t.Fatalf("server: /v1/users/me after password and passkey: %d %s", r.status, r.body)
	}
	t.Log("password login: mfa_required offers the passkey; answered with it, amr [pwd hwk]")

	// --- delete the passkey --------------------------------------------------------
	p.waitCount("#passkeys-list li", 1)
	p.click("#passkeys-list li button.delete-passkey")
	p.waitMsg("passkeys-msg", "", "Passkey laptop deleted")
	p.waitCount("#passkeys-list li", 0)
	if r := h.do(t, "GET", "/v1/users/me/passkeys", "", bearer(access)...); r.status != 200 || strings.Contains(string(r.body), `"id"`) {
		t.Fatalf("server: passkeys after deleting it: %d %s", r.status, r.body)
	}
	p.click("logout")
	p.waitVisible("signed-out")
	t.Log("passkey deleted on the page and the server; logged out")

	// --- the authenticator still holds the credential: the server refuses it -----
	mark = log.mark()
	p.click("passkey-signin")
	p.waitTrue(`["passkey_rejected", "webauthn_NotAllowedError"].includes(document.getElementById("login-msg").dataset.code)`,
		"the passkey sign-in refused")
	code := p.eval(`document.getElementById("login-msg").dataset.code`)
	if code == "passkey_rejected" {
		log.waitFor(t, mark, "POST /v1/auth/passkey/begin 200", "POST /v1/auth/passkey/finish 401")
	}
	for _, e := range log.since(mark) {
		if strings.HasPrefix(e, "POST /v1/auth/passkey/finish 2") {
			t.Fatalf("server accepted the deleted passkey: %v", log.since(mark))
		}
	}
	if !p.visible("signed-out") {
		t.Fatal("signed in with a deleted passkey")
	}
	if c := p.cookies()[accessCookie]; c != nil {
		t.Fatalf("an access cookie after the refused sign-in: %+v", c)
	}
	if errs := p.eval(`JSON.stringify(window.__errors || [])`); errs != "[]" {
		t.Fatalf("the page threw: %s", errs)
	}
	t.Logf("usernameless sign-in with the deleted passkey refused (%s; authd saw %v)", code, log.since(mark))
}

func (p *demoPage) visible(id string) bool {
	p.t.Helper()
	return p.eval(`String((() => { const e = document.getElementById("`+id+`"); return !!e && e.checkVisibility(); })())`) == "true"
}

// amrOf is the "amr" claim of a JWT (its signature is the server's
// business: the token is checked with /v1/users/me).
func amrOf(t *testing.T, token string) []string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("JWT payload: %v", err)
	}
	var claims struct {
		AMR []string `json:"amr"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatalf("JWT payload: %v: %s", err, raw)
	}
	return claims.AMR
}
