package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/adapters/totp"
)

// enrolTOTP turns TOTP on for a logged-in account over HTTP and returns
// the secret and the recovery codes.
func (h *harness) enrolTOTP(t *testing.T, auth ...string) (string, []string) {
	t.Helper()
	r := h.do(t, "POST", "/v1/users/me/mfa/totp", `{"password":"`+pw+`"}`, auth...)
	if r.status != 200 {
		t.Fatalf("enrol: %d %s", r.status, r.body)
	}
	e := r.json(t)
	secret := e["secret"].(string)
	if uri := e["otpauth_uri"].(string); !strings.HasPrefix(uri, "otpauth://totp/") || !strings.Contains(uri, "secret="+secret) {
		t.Fatalf("otpauth_uri %q", uri)
	}
	r = h.do(t, "POST", "/v1/users/me/mfa/totp/confirm", `{"code":"`+h.totpCode(t, secret, 0)+`"}`, auth...)
	if r.status != 200 {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	var codes []string
	for _, c := range r.json(t)["recovery_codes"].([]any) {
		codes = append(codes, c.(string))
	}
	h.clock.Advance(30 * time.Second) // the confirming code's step is spent
	return secret, codes
}

// claims decodes an access token's payload (its signature is the
// verifier's business, tested elsewhere).
func (h *harness) claims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func (h *harness) totpCode(t *testing.T, secret string, steps int64) string {
	t.Helper()
	c, err := totp.Code(secret, h.clock.Now().Unix()/30+steps)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestTOTPOverHTTP(t *testing.T) {
	h, _ := newMailHarness(t)
	h.register(t, "ada@example.com", pw)
	h.mails(t)
	auth := []string{"Authorization", "Bearer " + h.login(t, "ada@example.com", pw).AccessToken}
	if r := h.do(t, "GET", "/v1/users/me/mfa", "", auth...); r.status != 200 || r.json(t)["totp"] != "off" {
		t.Fatalf("state: %d %s", r.status, r.body)
	}
	assertProblem(t, h.do(t, "POST", "/v1/users/me/mfa/totp", `{"password":"wrong password"}`, auth...), 401, "invalid_credentials")
	assertProblem(t, h.do(t, "POST", "/v1/users/me/mfa/totp/confirm", `{"code":"123456"}`, auth...), 409, "mfa_state_conflict")
	secret, codes := h.enrolTOTP(t, auth...)
	if got := h.mails(t); len(got) != 1 || got[0].Kind != "factor_added" {
		t.Fatalf("factor_added notice: %v", got)
	}
	assertProblem(t, h.do(t, "POST", "/v1/users/me/mfa/totp", `{"password":"`+pw+`"}`, auth...), 409, "mfa_state_conflict")
	if r := h.do(t, "GET", "/v1/users/me/mfa", "", auth...); r.json(t)["totp"] != "on" || r.json(t)["recovery_codes_left"] != float64(10) {
		t.Fatalf("state after enrolment: %s", r.body)
	}

	// Login: the password alone gets a challenge.
	r := h.do(t, "POST", "/v1/auth/login", creds("ada@example.com", pw))
	assertProblem(t, r, 403, "mfa_required")
	challenge := r.json(t)
	token := challenge["mfa_token"].(string)
	if m := challenge["methods"].([]any); len(m) != 2 || m[0] != "totp" || m[1] != "recovery_code" {
		t.Fatalf("methods %v", m)
	}
	if r.header.Get("Set-Cookie") != "" || challenge["access_token"] != nil {
		t.Fatalf("a challenge carries a token: %s", r.body)
	}
	assertProblem(t, h.do(t, "POST", "/v1/auth/mfa/verify", `{"mfa_token":"`+token+`","code":"000000x"}`, deliberatelyInvalid, "not six digits"), 401, "invalid_mfa_code")
	code := h.totpCode(t, secret, 0)
	r = h.do(t, "POST", "/v1/auth/mfa/verify", `{"mfa_token":"`+token+`","code":"`+code+`"}`)
	if r.status != 200 || r.json(t)["user"].(map[string]any)["mfa_enabled"] != true {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	claims := h.claims(t, r.json(t)["access_token"].(string))
	if amr := claims["amr"].([]any); len(amr) != 2 || amr[0] != "pwd" || amr[1] != "otp" {
		t.Fatalf("amr %v", amr)
	}
	assertProblem(t, h.do(t, "POST", "/v1/auth/mfa/verify", `{"mfa_token":"`+token+`","code":"`+code+`"}`), 401, "invalid_mfa_token")
	// Replay of the code on a new challenge.
	token = h.do(t, "POST", "/v1/auth/login", creds("ada@example.com", pw)).json(t)["mfa_token"].(string)
	assertProblem(t, h.do(t, "POST", "/v1/auth/mfa/verify", `{"mfa_token":"`+token+`","code":"`+code+`"}`), 401, "invalid_mfa_code")
	r = h.do(t, "POST", "/v1/auth/mfa/verify", `{"mfa_token":"`+token+`","recovery_code":"`+codes[0]+`"}`)
	if r.status != 200 {
		t.Fatalf("recovery code: %d %s", r.status, r.body)
	}
	assertProblem(t, h.do(t, "POST", "/v1/auth/mfa/verify", `{"mfa_token":"`+token+`"}`, deliberatelyInvalid, "no code"), 422, "validation_failed")

	// Disable needs password and a code.
	assertProblem(t, h.do(t, "POST", "/v1/users/me/mfa/totp/disable", `{"password":"`+pw+`","code":"`+code+`"}`, auth...), 401, "invalid_mfa_code")
	h.clock.Advance(30 * time.Second)
	if r := h.do(t, "POST", "/v1/users/me/mfa/recovery-codes", `{"password":"`+pw+`","code":"`+h.totpCode(t, secret, 0)+`"}`, auth...); r.status != 200 || len(r.json(t)["recovery_codes"].([]any)) != 10 {
		t.Fatalf("new codes: %d %s", r.status, r.body)
	}
	h.clock.Advance(30 * time.Second)
	if r := h.do(t, "POST", "/v1/users/me/mfa/totp/disable", `{"password":"`+pw+`","code":"`+h.totpCode(t, secret, 0)+`"}`, auth...); r.status != 204 {
		t.Fatalf("disable: %d %s", r.status, r.body)
	}
	h.login(t, "ada@example.com", pw)
}

// Browser mode: the challenge is JSON, and the cookies come with the
// second step.
func TestTOTPBrowserMode(t *testing.T) {
	h := newHarnessWith(t, nil, browserOptions(false, appOrigin))
	h.register(t, "ada@example.com", pw)
	auth := []string{"Authorization", "Bearer " + h.login(t, "ada@example.com", pw).AccessToken}
	secret, _ := h.enrolTOTP(t, auth...)
	r := h.do(t, "POST", "/v1/auth/login", creds("ada@example.com", pw), "X-Auth-Cookies", "1")
	assertProblem(t, r, 403, "mfa_required")
	if len(r.header.Values("Set-Cookie")) != 0 {
		t.Fatalf("cookies before the second step: %q", r.header.Values("Set-Cookie"))
	}
	token := r.json(t)["mfa_token"].(string)
	r = h.do(t, "POST", "/v1/auth/mfa/verify", `{"mfa_token":"`+token+`","code":"`+h.totpCode(t, secret, 0)+`"}`, "X-Auth-Cookies", "1")
	if r.status != http.StatusOK {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	s := sessionFrom(t, r)
	if me := h.do(t, "GET", "/v1/users/me", "", "Cookie", accessCookie+"="+s.at); me.status != 200 {
		t.Fatalf("/me with the cookie: %d %s", me.status, me.body)
	}
}
