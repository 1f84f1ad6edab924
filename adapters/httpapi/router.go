// Package httpapi is the HTTP driving adapter: a chi router translating
// requests into use-case calls and results into JSON or RFC 9457 problems.
// Nothing here decides policy; it only speaks HTTP.
package httpapi

import (
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/authd/authd/application"
)

// Options configure the HTTP adapter.
type Options struct {
	Logger *slog.Logger
	// JWKS returns the public key set document (RFC 7517) to publish.
	JWKS func() []byte
	// RequestTimeout bounds each request's work (store calls, queueing for a
	// hash); 0 means 10s. Without it a stalled database would pile up
	// goroutines until clients gave up.
	RequestTimeout time.Duration
	// Issuer and SigningAlgs fill the discovery document
	// (/.well-known/oauth-authorization-server); with no Issuer it is 404.
	Issuer      string
	SigningAlgs []string
	// OpenAPI is served at /openapi.yaml when set.
	OpenAPI []byte
	// Metrics is served at /metrics when set (nil when metrics are off or
	// served on their own address).
	Metrics http.Handler
	// Observer receives per-request and per-operation measurements.
	Observer Observer
	// Cookies configure browser mode's cookies (cookies.go).
	Cookies CookieOptions
	// CORSOrigins is the CORS allowlist: exact origins such as
	// https://app.example.com, never "*" (cors.go; check it with
	// ValidateCORSOrigins: NewHandler panics on an invalid one). Empty: no
	// CORS headers and no OPTIONS routes.
	CORSOrigins []string
	// TrustedProxies are the peers whose X-Forwarded-For is believed when
	// working out a client's address (see clientIP); empty trusts none.
	TrustedProxies []netip.Prefix
	// RateLimit is the per-client-IP limit on the credential endpoints.
	RateLimit RateLimit
}

type api struct {
	svc          *application.Service
	log          *slog.Logger
	jwks         func() []byte
	discoveryDoc []byte
	openAPI      []byte
	obs          Observer
	trusted      []netip.Prefix
	limiter      *ipLimiter // nil: no per-IP limit
	mux          *chi.Mux
	browser      browserMode
}

// NewHandler builds the router for the whole API.
func NewHandler(svc *application.Service, opts Options) http.Handler {
	a := &api{svc: svc, log: opts.Logger, jwks: opts.JWKS, openAPI: opts.OpenAPI, obs: opts.Observer,
		trusted: opts.TrustedProxies, limiter: newIPLimiter(opts.RateLimit)}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.jwks == nil {
		a.jwks = func() []byte { return []byte(`{"keys":[]}`) }
	}
	a.browser = newBrowserMode(opts)

	r := chi.NewRouter()
	a.mux = r
	timeout := opts.RequestTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	r.Use(a.requestID, a.accessLog, a.cors, a.recoverer, securityHeaders, deadline(timeout))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, codeNotFound, "no such resource")
	})
	r.MethodNotAllowed(a.methodNotAllowed)

	r.Get("/healthz", a.healthz)
	r.Get("/readyz", a.readyz)
	r.Get("/.well-known/jwks.json", a.jwksDocument)
	if opts.Issuer != "" {
		a.discoveryDoc = newDiscovery(opts.Issuer, opts.SigningAlgs)
		r.Get("/.well-known/oauth-authorization-server", a.discovery)
	}
	if opts.OpenAPI != nil {
		r.Get("/openapi.yaml", a.openAPIDocument)
	}
	if opts.Metrics != nil {
		r.Method(http.MethodGet, "/metrics", opts.Metrics)
	}

	r.Route("/v1", func(r chi.Router) {
		r.Use(noStore)
		r.With(a.rateLimited("register")).Post("/auth/register", a.register)
		r.With(a.rateLimited("login")).Post("/auth/login", a.login)
		r.With(a.rateLimited("refresh")).Post("/auth/refresh", a.refresh)
		r.With(a.rateLimited("logout")).Post("/auth/logout", a.logout)
		r.Get("/auth/csrf", a.csrfToken)
		r.With(a.requireBearer).Get("/users/me", a.me)
		r.With(a.rateLimited("password_change"), a.requireBearer).Post("/users/me/password", a.changePassword)
		r.With(a.requireBearer).Get("/sessions", a.listSessions)
		r.With(a.requireBearer).Delete("/sessions/{id}", a.revokeSession)
		r.Route("/admin", func(r chi.Router) {
			r.Use(a.requireBearer, a.requireAdmin)
			r.Get("/users", a.listUsers)
			r.Patch("/users/{id}", a.patchUser)
			r.Post("/users/{id}/revoke-sessions", a.revokeUserSessions)
			r.Get("/events", a.listEvents)
		})
	})
	a.routePreflights(r)
	return r
}

// methodNotAllowed answers 405 with the Allow header listing the methods the
// path does support (chi drops that list when a custom handler is set).
func (a *api) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions} {
		if a.mux.Match(chi.NewRouteContext(), m, r.URL.Path) {
			allowed = append(allowed, m)
		}
	}
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	writeProblem(w, r, http.StatusMethodNotAllowed, codeMethodNotAllowed, "method not allowed on this resource")
}
