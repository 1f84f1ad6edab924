package httpapi

import (
	"crypto/subtle"
	"errors"
	"net/http"
	"net/url"
)

// CSRF defence for cookie-authenticated requests (browser mode).
//
// A request authenticated by a cookie (the access cookie with no
// Authorization header, the refresh cookie with no refresh token in the
// body) with an unsafe method must pass two checks:
//
//  1. Origin: when the browser names the requesting page (Origin, else
//     Referer), it must be authd's own host or an allowlisted origin.
//     This stops cross-site and same-site-but-foreign pages (another
//     subdomain, which SameSite does not stop) even before the token check.
//  2. Double submit: X-CSRF-Token must equal the __Host-authd_csrf cookie,
//     compared in constant time. A page can only learn the value by reading
//     the cookie (same host) or an answer CORS lets it read (allowed
//     origins); the __Host- prefix keeps other hosts and plain-http pages
//     from planting a cookie of their choosing.
//
// SameSite=Lax/Strict on the credential cookies is a third layer: a
// cross-site page's requests carry no credentials at all. Requests with an
// Authorization header or a token in the body are not cookie-authenticated
// and need none of this: a forging page cannot attach them.

// csrfHeader carries the double-submit token.
const csrfHeader = "X-CSRF-Token"

// errCSRF: a cookie-authenticated unsafe request without valid CSRF proof
// (403 csrf_failed).
var errCSRF = errors.New("csrf check failed")

func csrfFailure(detail string) error { return &detailError{errCSRF, detail} }

// safeMethod: RFC 9110 section 9.2.1; safe requests change nothing, so a
// forged one achieves nothing CORS does not already hide.
func safeMethod(m string) bool {
	return m == http.MethodGet || m == http.MethodHead || m == http.MethodOptions || m == http.MethodTrace
}

// checkCSRF is called only when a cookie is about to be used as a
// credential.
func (a *api) checkCSRF(r *http.Request) error {
	if safeMethod(r.Method) {
		return nil
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		if !a.trustedOrigin(r, origin) {
			return csrfFailure("the request comes from an origin that is not allowed")
		}
	} else if ref := r.Header.Get("Referer"); ref != "" {
		u, err := url.Parse(ref)
		if err != nil || !a.trustedOrigin(r, u.Scheme+"://"+u.Host) {
			return csrfFailure("the request comes from a page that is not allowed")
		}
	}
	header := r.Header.Get(csrfHeader)
	if header == "" {
		return csrfFailure("a cookie-authenticated request must send the CSRF token in X-CSRF-Token")
	}
	cookie, ok := csrfCookie(r)
	if !ok || subtle.ConstantTimeCompare([]byte(header), []byte(cookie)) != 1 {
		return csrfFailure("the X-CSRF-Token header does not match the CSRF cookie")
	}
	return nil
}

// trustedOrigin: an allowlisted origin, or authd's own host (an app served
// from the same host, e.g. behind the same reverse proxy). The scheme is not
// compared for the own host: behind a TLS-terminating proxy authd cannot
// know it, and a plain-http page on the same host can neither read the
// Secure CSRF cookie nor, under schemeful SameSite, send the credential
// cookies.
func (a *api) trustedOrigin(r *http.Request, origin string) bool {
	if canonical, err := canonicalOrigin(origin); err == nil && a.browser.origins[canonical] {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != "" && u.Host == r.Host
}

// csrfCookie returns the CSRF cookie when it has the shape authd gives it
// (crypto/rand.Text: 26 characters of base32), so an empty or planted junk
// value never matches anything.
func csrfCookie(r *http.Request) (string, bool) {
	v, ok := cookieValue(r, csrfCookieName)
	if !ok || len(v) != 26 {
		return "", false
	}
	for i := range len(v) {
		c := v[i]
		if (c < 'A' || c > 'Z') && (c < '2' || c > '7') {
			return "", false
		}
	}
	return v, true
}
