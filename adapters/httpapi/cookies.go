package httpapi

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"io"
	"net/http"
	"net/url"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/application/sessions"
)

// Browser mode: a single-page app keeps its tokens in cookies the browser
// manages, never in JavaScript-visible storage, so an XSS bug cannot lift
// them. The price is CSRF, defended at the end of this file, and CORS
// (cors.go), for apps on another origin.
//
// Cookie names carry the strongest prefix their path allows, so a sibling
// subdomain or a plain-http page cannot plant or overwrite them:
// __Host- (Secure, Path=/, no Domain) for the access and CSRF cookies,
// __Secure- (Secure) for the refresh cookie, whose path is narrower.
// Secure is not configurable: browsers accept Secure cookies on HTTPS and on
// http://localhost (a secure context), which covers production and
// development, and the prefixes require it anyway.
const (
	accessCookieName  = "__Host-authd_at"
	refreshCookieName = "__Secure-authd_rt"
	csrfCookieName    = "__Host-authd_csrf"

	// cookiesHeader: `X-Auth-Cookies: 1` on login or refresh asks for the
	// cookie form of the answer even when cookie mode is off.
	cookiesHeader = "X-Auth-Cookies"
)

// refreshCookiePaths: the refresh cookie is set once per path that consumes
// it, so the browser sends it to refresh and logout and to nothing else
// (not to /v1/users/me, not to the access log of any other route).
var refreshCookiePaths = []string{"/v1/auth/refresh", "/v1/auth/logout"}

// CookieOptions configure browser mode's cookies.
type CookieOptions struct {
	// Mode makes every login and refresh answer in cookie form (tokens in
	// HttpOnly cookies, none in the body). Off, a client opts in per
	// request with `X-Auth-Cookies: 1`. Cookies are accepted as credentials
	// either way.
	Mode bool
}

type browserMode struct {
	cookieMode bool
	origins    map[string]bool // CORS allowlist, canonical origins
	// crossOrigin is the CSRF origin check; it trusts origins too.
	crossOrigin *http.CrossOriginProtection
}

// newBrowserMode panics on an invalid allowlist: configuration is validated
// with ValidateCORSOrigins before the handler is built.
func newBrowserMode(opts Options) browserMode {
	origins, err := canonicalOrigins(opts.CORSOrigins)
	if err != nil {
		panic("httpapi: " + err.Error())
	}
	crossOrigin := http.NewCrossOriginProtection()
	for o := range origins {
		if err := crossOrigin.AddTrustedOrigin(o); err != nil {
			panic("httpapi: CORS origin " + o + ": " + err.Error())
		}
	}
	return browserMode{cookieMode: opts.Cookies.Mode, origins: origins, crossOrigin: crossOrigin}
}

// cookieSessionDTO is the cookie form of a token pair: the tokens travel
// only in HttpOnly cookies; the body says how long they last, who logged in
// and the CSRF token to echo in X-CSRF-Token.
type cookieSessionDTO struct {
	ExpiresIn        int64   `json:"expires_in"`
	RefreshExpiresIn int64   `json:"refresh_expires_in"`
	CSRFToken        string  `json:"csrf_token"`
	User             userDTO `json:"user"`
}

// wantsCookies: cookie mode is on, or the request opted in.
func (a *api) wantsCookies(r *http.Request) bool {
	return a.browser.cookieMode || r.Header.Get(cookiesHeader) == "1"
}

// writeTokens answers a login or refresh: the JSON token pair as always, or
// the cookie form when cookie mode is on, the request opted in, or the
// refresh token came from a cookie (the browser must get the rotated one,
// or its next refresh would present a spent token and revoke the session).
func (a *api) writeTokens(w http.ResponseWriter, r *http.Request, p application.TokenPair, viaCookie bool) {
	if !viaCookie && !a.wantsCookies(r) {
		writeJSON(w, http.StatusOK, toTokenPairDTO(p))
		return
	}
	// A refresh that passed the CSRF check keeps the session's CSRF token
	// (other tabs hold it); a login, or a first switch to cookies, gets a
	// fresh one.
	csrf, ok := csrfCookie(r)
	if !viaCookie || !ok {
		csrf = rand.Text()
	}
	setAuthCookies(w, p.AccessToken, p.RefreshToken, csrf, p.AccessExpiresIn, p.RefreshExpiresIn)
	dto := toTokenPairDTO(p)
	writeJSON(w, http.StatusOK, cookieSessionDTO{
		ExpiresIn: dto.ExpiresIn, RefreshExpiresIn: dto.RefreshExpiresIn, CSRFToken: csrf, User: dto.User,
	})
}

func setAuthCookies(w http.ResponseWriter, access, refresh, csrf string, accessTTL, refreshTTL time.Duration) {
	http.SetCookie(w, authCookie(accessCookieName, access, "/", http.SameSiteLaxMode, true, accessTTL))
	for _, path := range refreshCookiePaths {
		http.SetCookie(w, authCookie(refreshCookieName, refresh, path, http.SameSiteStrictMode, true, refreshTTL))
	}
	// Readable by the app's JavaScript (double-submit), never a credential.
	http.SetCookie(w, authCookie(csrfCookieName, csrf, "/", http.SameSiteStrictMode, false, refreshTTL))
}

// clearAuthCookies expires every auth cookie, with the names, paths and
// attributes they were set with (a cookie is identified by name, domain and
// path).
func clearAuthCookies(w http.ResponseWriter) {
	http.SetCookie(w, authCookie(accessCookieName, "", "/", http.SameSiteLaxMode, true, -1))
	for _, path := range refreshCookiePaths {
		http.SetCookie(w, authCookie(refreshCookieName, "", path, http.SameSiteStrictMode, true, -1))
	}
	http.SetCookie(w, authCookie(csrfCookieName, "", "/", http.SameSiteStrictMode, false, -1))
}

// authCookie builds one cookie; ttl < 0 expires it (Max-Age=0), ttl == 0
// makes a session cookie.
func authCookie(name, value, path string, sameSite http.SameSite, httpOnly bool, ttl time.Duration) *http.Cookie {
	c := &http.Cookie{Name: name, Value: value, Path: path, Secure: true, HttpOnly: httpOnly, SameSite: sameSite}
	switch {
	case ttl < 0:
		c.MaxAge = -1
	case ttl > 0:
		c.MaxAge = max(int(ttl/time.Second), 1)
	}
	return c
}

func cookieValue(r *http.Request, name string) (string, bool) {
	c, err := r.Cookie(name)
	if err != nil || c.Value == "" {
		return "", false
	}
	return c.Value, true
}

// hasAuthCookie: the request carries any of browser mode's cookies.
func hasAuthCookie(r *http.Request) bool {
	for _, name := range []string{accessCookieName, refreshCookieName, csrfCookieName} {
		if _, ok := cookieValue(r, name); ok {
			return true
		}
	}
	return false
}

// accessToken is the access token of a request: the Authorization bearer
// token when the header is present (valid or not), else the access cookie,
// which is a credential only with CSRF proof on unsafe methods.
func (a *api) accessToken(r *http.Request) (string, error) {
	token, err := bearerToken(r)
	if !errors.Is(err, errNoBearer) {
		return token, err
	}
	token, ok := cookieValue(r, accessCookieName)
	if !ok {
		return "", errNoBearer
	}
	if err := a.checkCSRF(r); err != nil {
		return "", err
	}
	return token, nil
}

// decodeRefreshBody decodes a refresh request's body. An empty body sends
// no refresh token, whatever its Content-Type says: the refresh cookie
// stands in for it, or, with no cookie either, the use case answers that
// refresh_token is required (422), which tells a client what is missing
// where a 415 would only ask for a media type. A body with bytes in it is
// decoded as on every endpoint, so a wrong media type stays 415.
func decodeRefreshBody(w http.ResponseWriter, r *http.Request, dst *refreshRequest) error {
	empty, err := emptyBody(r)
	if err != nil || empty {
		return err
	}
	return decodeJSON(w, r, dst)
}

// emptyBody reports whether r has no body bytes. A body of unknown length
// (chunked) is peeked at for one byte, which is put back.
func emptyBody(r *http.Request) (bool, error) {
	if !hasBody(r) {
		return true, nil
	}
	if r.ContentLength > 0 {
		return false, nil
	}
	var first [1]byte
	n, err := io.ReadFull(r.Body, first[:])
	if n == 0 {
		if errors.Is(err, io.EOF) {
			return true, nil
		}
		return false, classifyDecodeError(err)
	}
	r.Body = struct {
		io.Reader
		io.Closer
	}{io.MultiReader(bytes.NewReader(first[:n]), r.Body), r.Body}
	return false, nil
}

// refreshFromCookie fills an absent refresh token from the refresh cookie,
// after the CSRF check; it reports whether it did.
func (a *api) refreshFromCookie(r *http.Request, token *string) (bool, error) {
	if *token != "" {
		return false, nil
	}
	cookie, ok := cookieValue(r, refreshCookieName)
	if !ok {
		return false, nil
	}
	if err := a.checkCSRF(r); err != nil {
		return false, err
	}
	*token = cookie
	return true, nil
}

// logoutCredentials returns the access token to log out with and fills in
// the refresh token. Explicit credentials (a body refresh token or an
// Authorization header) are used alone, as before browser mode; with
// neither, the browser's cookies stand in, behind the CSRF check.
func (a *api) logoutCredentials(r *http.Request, in *sessions.LogoutInput) (string, error) {
	token, err := bearerToken(r)
	if !errors.Is(err, errNoBearer) || in.RefreshToken != "" {
		return token, err
	}
	access, hasAccess := cookieValue(r, accessCookieName)
	refresh, hasRefresh := cookieValue(r, refreshCookieName)
	if !hasAccess && !hasRefresh {
		return "", errNoBearer
	}
	if err := a.checkCSRF(r); err != nil {
		return "", err
	}
	in.RefreshToken = refresh
	if !hasAccess {
		return "", errNoBearer
	}
	return access, nil
}

// clearCookiesOnLogout expires the auth cookies after a logout by a
// browser: cookie mode, an opt-in, or any auth cookie sent.
func (a *api) clearCookiesOnLogout(w http.ResponseWriter, r *http.Request) {
	if a.wantsCookies(r) || hasAuthCookie(r) {
		clearAuthCookies(w)
	}
}

// CSRF defence for cookie-authenticated requests (browser mode).
//
// A request authenticated by a cookie (the access cookie with no
// Authorization header, the refresh cookie with no refresh token in the
// body) with an unsafe method must pass two checks:
//
//  1. Origin: net/http's CrossOriginProtection, trusting the CORS
//     allowlist. A browser's Sec-Fetch-Site must say same-origin, or the
//     page's Origin must be allowlisted; without Sec-Fetch-Site the Origin
//     must be authd's own host or allowlisted. This stops cross-site and
//     same-site-but-foreign pages (another subdomain, which SameSite does
//     not stop) even before the token check.
//  2. Double submit: X-CSRF-Token must equal the __Host-authd_csrf cookie,
//     compared in constant time. A page can only learn the value by reading
//     the cookie (same host) or an answer CORS lets it read (allowed
//     origins); the __Host- prefix keeps other hosts and plain-http pages
//     from planting a cookie of their choosing. It also covers what the
//     first check lets through: a request naming no origin at all.
//
// SameSite=Lax/Strict on the credential cookies is a third layer: a
// cross-site page's requests carry no credentials at all. Requests with an
// Authorization header or a token in the body are not cookie-authenticated
// and need none of this (a forging page cannot attach them), which is why
// the origin check is called here and is not a middleware.

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
	if err := a.checkOrigin(r); err != nil {
		return err
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

// checkOrigin asks CrossOriginProtection about the requesting page. It
// reads only Origin, compared exactly, so the request it is shown names
// the page as authd always judged it: the Origin in canonical form
// (browsers send it so; other clients may write https://app.example.com:443),
// or, without an Origin, the Referer's origin.
func (a *api) checkOrigin(r *http.Request) error {
	origin, failure := r.Header.Get("Origin"), "the request comes from an origin that is not allowed"
	if ref := r.Header.Get("Referer"); origin == "" && ref != "" {
		failure = "the request comes from a page that is not allowed"
		u, err := url.Parse(ref)
		if err != nil {
			return csrfFailure(failure)
		}
		origin = u.Scheme + "://" + u.Host
	}
	if c, err := canonicalOrigin(origin); err == nil {
		origin = c
	}
	if origin != r.Header.Get("Origin") {
		r = r.Clone(r.Context())
		r.Header.Set("Origin", origin)
	}
	if a.browser.crossOrigin.Check(r) != nil {
		return csrfFailure(failure)
	}
	return nil
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
