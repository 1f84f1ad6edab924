package httpapi_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/adapters/memory"
	"github.com/authd/authd/domain"
)

// mails delivers the outbox now and returns what went out since the last
// call.
func (h *harness) mails(t *testing.T) []domain.Mail {
	t.Helper()
	if _, err := h.courier.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	m := h.mailer.(*captureMailer)
	m.mu.Lock()
	defer m.mu.Unlock()
	out := m.sent
	m.sent = nil
	return out
}

// linkToken asserts exactly one mail of kind to to and returns the token
// of its link, which must point at page of the app.
func linkToken(t *testing.T, mails []domain.Mail, kind domain.MailKind, to, page string) string {
	t.Helper()
	if len(mails) != 1 || mails[0].Kind != kind || mails[0].To != to {
		t.Fatalf("mails %v, want one %s to %s", mails, kind, to)
	}
	u, err := url.Parse(mails[0].Link)
	if err != nil || u.Path != "/"+page || u.Host != "localhost:3000" {
		t.Fatalf("link %q does not open %s of the app", mails[0].Link, page)
	}
	return u.Query().Get("token")
}

func withMail(f func(*deps)) harnessOption { return f }

func newMailHarness(t *testing.T, opts ...harnessOption) (*harness, *memory.Store) {
	t.Helper()
	st := memory.NewStore()
	return newHarness(t, st, append([]harnessOption{withThrottleAndAudit(st)}, opts...)...), st
}

func TestEmailVerificationOverHTTP(t *testing.T) {
	h, _ := newMailHarness(t)
	r := h.do(t, "POST", "/v1/auth/register", creds("ada@example.com", pw))
	if r.status != 201 || r.json(t)["user"].(map[string]any)["email_verified"] != false {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	tok := linkToken(t, h.mails(t), domain.MailVerifyEmail, "ada@example.com", "verify-email")
	r = h.do(t, "POST", "/v1/auth/verify-email", `{"token":"`+tok+`"}`)
	if r.status != 200 || r.json(t)["user"].(map[string]any)["email_verified"] != true {
		t.Fatalf("verify: %d %s", r.status, r.body)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Cache-Control %q", r.header.Get("Cache-Control"))
	}
	r = h.do(t, "POST", "/v1/auth/verify-email", `{"token":"`+tok+`"}`)
	assertProblem(t, r, 400, "invalid_email_token")
	p := h.login(t, "ada@example.com", pw)
	me := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+p.AccessToken)
	if me.json(t)["user"].(map[string]any)["email_verified"] != true {
		t.Fatalf("/me: %s", me.body)
	}
	// Asked again for a verified address, or an unknown one: 202, no mail.
	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		if r := h.do(t, "POST", "/v1/auth/verify-email/send", `{"email":"`+email+`"}`); r.status != 202 || len(r.body) != 0 {
			t.Fatalf("send to %s: %d %s", email, r.status, r.body)
		}
	}
	if got := h.mails(t); len(got) != 0 {
		t.Fatalf("mailed %v", got)
	}
}

func assertProblem(t *testing.T, r response, status int, code string) {
	t.Helper()
	if r.status != status || r.header.Get("Content-Type") != "application/problem+json" || r.json(t)["code"] != code {
		t.Fatalf("got %d %s %s, want %d %s", r.status, r.header.Get("Content-Type"), r.body, status, code)
	}
}

func TestPasswordResetOverHTTP(t *testing.T) {
	h, _ := newMailHarness(t)
	h.register(t, "ada@example.com", pw)
	h.mails(t)
	old := h.login(t, "ada@example.com", pw)

	// Known and unknown addresses get the same answer.
	known := h.do(t, "POST", "/v1/auth/password/forgot", `{"email":"ada@example.com"}`)
	unknown := h.do(t, "POST", "/v1/auth/password/forgot", `{"email":"nobody@example.com"}`)
	if known.status != 202 || unknown.status != 202 || string(known.body) != string(unknown.body) ||
		known.header.Get("Content-Type") != unknown.header.Get("Content-Type") {
		t.Fatalf("known %d %q, unknown %d %q", known.status, known.body, unknown.status, unknown.body)
	}
	tok := linkToken(t, h.mails(t), domain.MailResetPassword, "ada@example.com", "reset-password")

	r := h.do(t, "POST", "/v1/auth/password/reset", `{"token":"`+tok+`","password":"short"}`, deliberatelyInvalid, "password below the policy")
	assertProblem(t, r, 422, "validation_failed")
	r = h.do(t, "POST", "/v1/auth/password/reset", `{"token":"`+tok+`","password":"a brand new secret"}`)
	if r.status != 204 {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	assertProblem(t, h.do(t, "POST", "/v1/auth/password/reset", `{"token":"`+tok+`","password":"a brand new secret"}`), 400, "invalid_email_token")
	assertProblem(t, h.do(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+old.RefreshToken+`"}`), 401, "invalid_refresh_token")
	assertProblem(t, h.do(t, "POST", "/v1/auth/login", creds("ada@example.com", pw)), 401, "invalid_credentials")
	h.login(t, "ada@example.com", "a brand new secret")
	if got := h.mails(t); len(got) != 1 || got[0].Kind != domain.MailPasswordChanged {
		t.Fatalf("notice: %v", got)
	}
}

func TestEmailTokenEndpointsRefuseBadTokens(t *testing.T) {
	h, _ := newMailHarness(t)
	for _, path := range []string{"/v1/auth/verify-email", "/v1/auth/email-change/confirm"} {
		assertProblem(t, h.do(t, "POST", path, `{"token":"`+strings.Repeat("A", 43)+`"}`), 400, "invalid_email_token")
		for _, body := range []string{`{"token":"nope"}`, `{}`} {
			assertProblem(t, h.do(t, "POST", path, body, deliberatelyInvalid, "not a token's form"), 400, "invalid_email_token")
		}
		assertProblem(t, h.do(t, "POST", path, `{"token":`, deliberatelyInvalid, "malformed JSON"), 400, "malformed_request")
		assertProblem(t, h.do(t, "POST", path, `token=x`, "Content-Type", "application/x-www-form-urlencoded", deliberatelyInvalid, "a form"), 415, "unsupported_media_type")
	}
	assertProblem(t, h.do(t, "POST", "/v1/auth/password/reset", `{"token":"nope","password":"a brand new secret"}`, deliberatelyInvalid, "not a token"), 400, "invalid_email_token")
	r := h.do(t, "POST", "/v1/auth/password/forgot", `{"email":"not an address"}`, deliberatelyInvalid, "not an email")
	assertProblem(t, r, 422, "validation_failed")
}

func TestEmailChangeOverHTTP(t *testing.T) {
	h, _ := newMailHarness(t)
	h.register(t, "ada@example.com", pw)
	h.register(t, "bob@example.com", pw)
	h.mails(t)
	p := h.login(t, "ada@example.com", pw)
	auth := []string{"Authorization", "Bearer " + p.AccessToken}
	change := func(body string, extra ...string) response {
		return h.do(t, "POST", "/v1/users/me/email", body, append(auth, extra...)...)
	}
	assertProblem(t, change(`{"email":"ada@new.example","password":"wrong password"}`), 401, "invalid_credentials")
	assertProblem(t, change(`{"email":"BOB@example.com","password":"`+pw+`"}`), 409, "email_taken")
	assertProblem(t, change(`{"email":"nope","password":"`+pw+`"}`, deliberatelyInvalid, "not an email"), 422, "validation_failed")
	assertProblem(t, h.do(t, "POST", "/v1/users/me/email", `{"email":"ada@new.example","password":"`+pw+`"}`, deliberatelyInvalid, "no credentials"), 401, "invalid_token")
	if r := change(`{"email":"ada@new.example","password":"` + pw + `"}`); r.status != 202 {
		t.Fatalf("change: %d %s", r.status, r.body)
	}
	tok := linkToken(t, h.mails(t), domain.MailConfirmEmailChange, "ada@new.example", "confirm-email-change")
	r := h.do(t, "POST", "/v1/auth/email-change/confirm", `{"token":"`+tok+`"}`)
	u := r.json(t)["user"].(map[string]any)
	if r.status != 200 || u["email"] != "ada@new.example" || u["email_verified"] != true {
		t.Fatalf("confirm: %d %s", r.status, r.body)
	}
	if got := h.mails(t); len(got) != 1 || got[0].Kind != domain.MailEmailChanged || got[0].To != "ada@example.com" {
		t.Fatalf("notice to the old address: %v", got)
	}
	h.login(t, "ada@new.example", pw)
	assertProblem(t, h.do(t, "POST", "/v1/auth/login", creds("ada@example.com", pw)), 401, "invalid_credentials")
}

func TestRequireVerifiedEmailOverHTTP(t *testing.T) {
	h, _ := newMailHarness(t, withMail(func(d *deps) { d.Mail.RequireVerifiedEmail = true }))
	h.register(t, "ada@example.com", pw)
	tok := linkToken(t, h.mails(t), domain.MailVerifyEmail, "ada@example.com", "verify-email")
	assertProblem(t, h.do(t, "POST", "/v1/auth/login", creds("ada@example.com", "wrong password")), 401, "invalid_credentials")
	assertProblem(t, h.do(t, "POST", "/v1/auth/login", creds("ada@example.com", pw)), 403, "email_not_verified")
	if r := h.do(t, "POST", "/v1/auth/verify-email", `{"token":"`+tok+`"}`); r.status != 200 {
		t.Fatalf("verify: %d", r.status)
	}
	h.login(t, "ada@example.com", pw)
}

func TestAdminEmailEndpoints(t *testing.T) {
	h, st := newMailHarness(t)
	h.register(t, "root@example.com", pw)
	h.register(t, "ada@example.com", pw)
	h.mails(t)
	ctx := context.Background()
	root, _ := st.UserByEmail(ctx, mustEmail(t, "root@example.com"))
	ada, _ := st.UserByEmail(ctx, mustEmail(t, "ada@example.com"))
	if err := st.SetRole(ctx, root.ID(), domain.RoleAdmin, time.Now()); err != nil {
		t.Fatal(err)
	}
	auth := []string{"Authorization", "Bearer " + h.login(t, "root@example.com", pw).AccessToken}
	if r := h.do(t, "POST", "/v1/admin/users/"+ada.ID().String()+"/verification-mail", "", auth...); r.status != 202 {
		t.Fatalf("resend: %d %s", r.status, r.body)
	}
	linkToken(t, h.mails(t), domain.MailVerifyEmail, "ada@example.com", "verify-email")
	r := h.do(t, "POST", "/v1/admin/users/"+ada.ID().String()+"/verify-email", "", auth...)
	if r.status != 200 || r.json(t)["user"].(map[string]any)["email_verified"] != true {
		t.Fatalf("mark verified: %d %s", r.status, r.body)
	}
	assertProblem(t, h.do(t, "POST", "/v1/admin/users/"+ada.ID().String()+"/verification-mail", "", auth...), 409, "email_already_verified")
	assertProblem(t, h.do(t, "POST", "/v1/admin/users/01900000-0000-7000-8000-000000000000/verify-email", "", auth...), 404, "not_found")
	user := []string{"Authorization", "Bearer " + h.login(t, "ada@example.com", pw).AccessToken}
	assertProblem(t, h.do(t, "POST", "/v1/admin/users/"+ada.ID().String()+"/verify-email", "", user...), 403, "forbidden")
}

func mustEmail(t *testing.T, s string) domain.Email {
	t.Helper()
	e, err := domain.NewEmail(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}
