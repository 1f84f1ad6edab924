package httpapi_test

import (
	"net/http"
	"testing"
)

// TestPasswordBytesAreChecked: bytes that are not UTF-8 are refused on the
// raw body, before a decoder could turn them into U+FFFD and make two
// different passwords one.
func TestPasswordBytesAreChecked(t *testing.T) {
	h := newHarness(t, nil)
	r := h.do(t, "POST", "/v1/auth/register", "{\"email\":\"enc@example.com\",\"password\":\"\xff\xfe\xfdabcdefgh\"}")
	if r.status != http.StatusBadRequest || r.json(t)["code"] != "malformed_request" {
		t.Fatalf("register with invalid UTF-8: %d %s", r.status, r.body)
	}
	h.register(t, "enc@example.com", "abcdefgh-proper")
	r = h.do(t, "POST", "/v1/auth/login", "{\"email\":\"enc@example.com\",\"password\":\"\x80\x81\x82abcdefgh\"}")
	if r.status != http.StatusBadRequest || r.json(t)["code"] != "malformed_request" {
		t.Fatalf("login with invalid UTF-8: %d %s", r.status, r.body)
	}
	// A lone surrogate escape decodes to U+FFFD: refused at sign-up.
	r = h.do(t, "POST", "/v1/auth/register", `{"email":"sur@example.com","password":"\ud800abcdefgh"}`)
	if r.status != http.StatusUnprocessableEntity || r.json(t)["code"] != "validation_failed" {
		t.Fatalf("register with a lone surrogate: %d %s", r.status, r.body)
	}
	// NFKC: the full-width form and the ASCII form are one password.
	h.register(t, "wide@example.com", "ｐａｓｓｗｏｒｄ１２")
	h.login(t, "wide@example.com", "password12")
	h.login(t, "wide@example.com", "ｐａｓｓｗｏｒｄ１２")
}

// TestOneAddressOneAccount: spellings of one address cannot open a second
// account; a look-alike spoof is refused; the address is shown as typed.
func TestOneAddressOneAccount(t *testing.T) {
	h := newHarness(t, nil)
	r := h.do(t, "POST", "/v1/auth/register", `{"email":"ädä@Exämple.com","password":"correct horse"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
	if got := r.json(t)["user"].(map[string]any)["email"]; got != "ädä@Exämple.com" {
		t.Errorf("user.email = %v, want the address as typed", got)
	}
	for _, spelling := range []string{`a\u0308da\u0308@exa\u0308mple.com`, "ädä@xn--exmple-cua.com", "ÄDÄ@EXÄMPLE.COM"} {
		r := h.do(t, "POST", "/v1/auth/register", `{"email":"`+spelling+`","password":"correct horse"}`)
		if r.status != http.StatusConflict || r.json(t)["code"] != "email_taken" {
			t.Errorf("register %s: %d %s", spelling, r.status, r.body)
		}
	}
	h.register(t, "bob@example.com", "correct horse")
	r = h.do(t, "POST", "/v1/auth/register", "{\"email\":\"b\u043eb@example.com\",\"password\":\"correct horse\"}")
	if r.status != http.StatusUnprocessableEntity || r.json(t)["code"] != "validation_failed" {
		t.Fatalf("Cyrillic look-alike: %d %s", r.status, r.body)
	}
}
