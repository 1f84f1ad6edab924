package httpapi_test

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// sendChunked posts body with no declared length (Transfer-Encoding:
// chunked), as a streaming client does, with headers as pairs.
func (h *harness) sendChunked(t *testing.T, path, body string, headers ...string) response {
	t.Helper()
	req, err := http.NewRequest("POST", h.srv.URL+path, io.NopCloser(strings.NewReader(body)))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

// missingRefreshToken checks r is 422 validation_failed naming
// refresh_token as required, and nothing else.
func missingRefreshToken(t *testing.T, what string, r response) {
	t.Helper()
	if r.status != 422 || problemCode(t, r) != "validation_failed" {
		t.Fatalf("%s: %d %s, want 422 validation_failed", what, r.status, r.body)
	}
	errs, _ := r.json(t)["errors"].([]any)
	if len(errs) != 1 {
		t.Fatalf("%s: errors = %v, want refresh_token alone", what, errs)
	}
	if e, _ := errs[0].(map[string]any); e["field"] != "refresh_token" || e["code"] != "required" {
		t.Fatalf("%s: errors = %v, want refresh_token required", what, errs)
	}
}

// TestRefreshWithoutToken: a refresh that sends no refresh token at all (no
// body, no refresh cookie) hears that refresh_token is missing, exactly as
// one that sends {} does, whatever its Content-Type; a Bearer header does
// not stand in for it.
func TestRefreshWithoutToken(t *testing.T) {
	h := newHarness(t, nil)
	h.register(t, "ada@example.com", "correct horse")
	p := h.login(t, "ada@example.com", "correct horse")
	bearer := "Bearer " + p.AccessToken

	missingRefreshToken(t, "no body, no Content-Type, a bearer", h.do(t, "POST", "/v1/auth/refresh", "", "Authorization", bearer))
	missingRefreshToken(t, "no body, no Content-Type", h.do(t, "POST", "/v1/auth/refresh", ""))
	for _, ct := range []string{"application/json", "text/plain", "application/x-www-form-urlencoded"} {
		missingRefreshToken(t, "empty "+ct+" body", h.do(t, "POST", "/v1/auth/refresh", "", "Content-Type", ct, "Authorization", bearer))
		missingRefreshToken(t, "empty chunked "+ct+" body", h.sendChunked(t, "/v1/auth/refresh", "", "Content-Type", ct))
	}
	missingRefreshToken(t, "an empty object", h.do(t, "POST", "/v1/auth/refresh", `{}`, deliberatelyInvalid, "refresh_token is required"))

	// A body with bytes in it is decoded as everywhere: a wrong media type
	// stays 415, whitespace is no JSON object.
	r := h.do(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+p.RefreshToken+`"}`, "Content-Type", "text/plain", deliberatelyInvalid, "Content-Type is text/plain")
	if r.status != 415 || problemCode(t, r) != "unsupported_media_type" {
		t.Fatalf("text/plain body: %d %s", r.status, r.body)
	}
	r = h.sendChunked(t, "/v1/auth/refresh", "x", "Content-Type", "text/plain", deliberatelyInvalid, "Content-Type is text/plain")
	if r.status != 415 {
		t.Fatalf("chunked text/plain body: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/v1/auth/refresh", " ", deliberatelyInvalid, "the body is not JSON"); r.status != 400 || problemCode(t, r) != "malformed_request" {
		t.Fatalf("whitespace body: %d %s", r.status, r.body)
	}

	// None of that spent the token; a chunked body of unknown length is read
	// whole, its first byte included.
	r = h.sendChunked(t, "/v1/auth/refresh", `{"refresh_token":"`+p.RefreshToken+`"}`, "Content-Type", "application/json")
	if r.status != 200 || r.json(t)["refresh_token"] == nil {
		t.Fatalf("chunked refresh: %d %s", r.status, r.body)
	}
}

// TestRefreshWithoutTokenBrowser: in browser mode an empty body, whatever
// its Content-Type, lets the refresh cookie stand in.
func TestRefreshWithoutTokenBrowser(t *testing.T) {
	h := newHarnessWith(t, nil, browserOptions(false, appOrigin))
	h.register(t, "ada@example.com", "correct horse")
	s, _ := h.cookieLogin(t, "ada@example.com", "correct horse")
	r := h.do(t, "POST", "/v1/auth/refresh", "", "Content-Type", "text/plain", "Cookie", s.cookie("/v1/auth/refresh"), "X-CSRF-Token", s.csrf, "Origin", appOrigin)
	if r.status != 200 || r.json(t)["csrf_token"] != s.csrf {
		t.Fatalf("cookie refresh with an empty text/plain body: %d %s", r.status, r.body)
	}
	// Without the cookie, the same request is told what is missing.
	missingRefreshToken(t, "no cookie", h.do(t, "POST", "/v1/auth/refresh", "", "Content-Type", "text/plain", "Origin", appOrigin))
}
