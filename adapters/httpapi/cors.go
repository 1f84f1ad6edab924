package httpapi

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/go-chi/chi/v5"
)

// CORS for browser mode. Only exact, allowlisted origins get CORS headers,
// and always with credentials: the allowed origin is echoed, never "*"
// (which browsers refuse with credentials anyway, and which would let any
// site read the API with a user's cookies). An unlisted origin gets no
// Access-Control-* header at all, preflight included (204 with Allow only),
// so its scripts cannot read any answer and the allowlist is not revealed.
//
// Not github.com/go-chi/cors: its preflight answers only the requested
// method and echoes the requested headers, and it canonicalises header
// names (X-Request-Id), whereas the answers here list the route's methods
// and fixed header lists, as docs/openapi.yaml pins them.

const (
	// corsAllowHeaders are the request headers an app may send.
	corsAllowHeaders = "Content-Type, Authorization, X-CSRF-Token, X-Request-ID, X-Auth-Cookies"
	// corsExposeHeaders are the response headers an app may read besides
	// the CORS-safelisted ones.
	corsExposeHeaders = "X-Request-ID, Retry-After, WWW-Authenticate"
	// corsMaxAge (seconds) lets browsers cache a preflight; Chromium caps
	// it at 7200.
	corsMaxAge = "600"
)

// ValidateCORSOrigins checks a CORS allowlist (AUTH_CORS_ORIGINS): each
// entry must be one exact origin, scheme://host[:port] with http or https
// and nothing else; "*", "null", wildcards, paths, queries and user info
// are refused.
func ValidateCORSOrigins(origins []string) error {
	_, err := canonicalOrigins(origins)
	return err
}

func canonicalOrigins(origins []string) (map[string]bool, error) {
	set := make(map[string]bool, len(origins))
	for _, o := range origins {
		c, err := canonicalOrigin(strings.TrimSpace(o))
		if err != nil {
			return nil, fmt.Errorf("CORS origin %q: %w", o, err)
		}
		set[c] = true
	}
	return set, nil
}

// canonicalOrigin serialises an origin as browsers send it in Origin
// (RFC 6454): lower-case scheme and host, no default port, no trailing
// slash.
func canonicalOrigin(o string) (string, error) {
	if o == "*" || strings.Contains(o, "*") {
		return "", fmt.Errorf("wildcards are not allowed: list exact origins")
	}
	u, err := url.Parse(o)
	switch {
	case err != nil:
		return "", fmt.Errorf("not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("the scheme must be http or https")
	case u.Host == "" || u.Hostname() == "":
		return "", fmt.Errorf("a host is required")
	case u.User != nil || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" || strings.HasSuffix(o, "?") || strings.HasSuffix(o, "#"):
		return "", fmt.Errorf("an origin is scheme://host[:port] only")
	}
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (u.Scheme == "http" && port == "80") || (u.Scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	return u.Scheme + "://" + host, nil
}

// allowedOrigin: the Origin header names an allowlisted origin.
func (a *api) allowedOrigin(origin string) bool {
	if origin == "" || len(a.browser.origins) == 0 {
		return false
	}
	c, err := canonicalOrigin(origin)
	return err == nil && a.browser.origins[c]
}

// cors adds the CORS response headers for allowed origins. It runs before
// the rest of the chain, so problems (401, 403, 404, 429, 5xx) are
// readable by the app too. Preflight specifics are added by the OPTIONS
// routes (preflight).
func (a *api) cors(next http.Handler) http.Handler {
	if len(a.browser.origins) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Every answer depends on Origin, so shared caches must key on it
		// (the public documents are cacheable).
		h.Add("Vary", "Origin")
		if origin := r.Header.Get("Origin"); a.allowedOrigin(origin) {
			h.Set("Access-Control-Allow-Origin", origin)
			h.Set("Access-Control-Allow-Credentials", "true")
			if r.Method != http.MethodOptions {
				h.Set("Access-Control-Expose-Headers", corsExposeHeaders)
			}
		}
		next.ServeHTTP(w, r)
	})
}

// preflight answers OPTIONS on an API route: 204 with Allow, plus, for a
// CORS preflight from an allowed origin, the methods, headers and max age.
func (a *api) preflight(w http.ResponseWriter, r *http.Request) {
	allowed := a.routedMethods(r.URL.Path, http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions)
	h := w.Header()
	h.Set("Allow", strings.Join(allowed, ", "))
	h.Add("Vary", "Access-Control-Request-Method")
	h.Add("Vary", "Access-Control-Request-Headers")
	if a.allowedOrigin(r.Header.Get("Origin")) && r.Header.Get("Access-Control-Request-Method") != "" {
		h.Set("Access-Control-Allow-Methods", strings.Join(allowed, ", "))
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Access-Control-Max-Age", corsMaxAge)
	}
	w.WriteHeader(http.StatusNoContent)
}

// routePreflights gives every API route (under /v1, however nested) an
// OPTIONS route answering preflights, when a CORS allowlist is set.
// Registering real routes, rather than intercepting OPTIONS in middleware,
// keeps 404 for unknown paths, puts OPTIONS in Allow, and lets the router
// and the OpenAPI document be compared route by route.
func (a *api) routePreflights(r *chi.Mux) {
	if len(a.browser.origins) == 0 {
		return
	}
	for _, rt := range r.Routes() {
		if rt.Pattern == "/v1/*" && rt.SubRoutes != nil {
			addOptionsRoutes(rt.SubRoutes, a.preflight)
		}
	}
}

func addOptionsRoutes(routes chi.Routes, h http.HandlerFunc) {
	router, ok := routes.(chi.Router)
	if !ok {
		return
	}
	var patterns []string
	for _, rt := range routes.Routes() {
		if rt.SubRoutes != nil {
			addOptionsRoutes(rt.SubRoutes, h)
			continue
		}
		if rt.Handlers[http.MethodOptions] == nil && rt.Handlers["*"] == nil {
			patterns = append(patterns, rt.Pattern)
		}
	}
	for _, p := range patterns {
		router.Options(p, h)
	}
}
