// Package httpapi is the HTTP driving adapter: a chi router translating
// requests into use-case calls and results into JSON or RFC 9457 problems.
// Nothing here decides policy; it only speaks HTTP.
//
// Handlers are grouped by resource (auth.go, me.go, sessions.go, admin.go,
// wellknown.go); every error answer and its metrics outcome come from the
// one table in problem.go; browser mode (cookies and CSRF) is cookies.go,
// CORS cors.go, and the routes are listed in router.go.
package httpapi

import (
	"log/slog"
	"net/http"
	"net/netip"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/authd/authd/application"
	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/admin"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/ports"
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
	// Draining, when set and true, makes /readyz answer 503 while every
	// other route keeps serving: the server is shutting down and a load
	// balancer should stop sending (docs/OPERATIONS.md, "Shutdown").
	Draining func() bool
}

// UseCases are the capabilities the HTTP API drives; all are required.
type UseCases struct {
	Login          *signin.Login
	Registration   *account.Registration
	PasswordChange *account.PasswordChange
	Verification   *account.Verification
	PasswordReset  *account.PasswordReset
	EmailChange    *account.EmailChange
	SecondFactor   *signin.SecondFactor
	TOTP           *account.TOTPFactor
	Passkeys       *account.Passkeys
	PasskeySignIn  *signin.PasskeySignIn
	Sessions       *sessions.Service
	Bearer         *sessions.Bearer
	Admin          *admin.Service
	// Audit records the per-IP limiter's refusals.
	Audit *application.Recorder
	// Store answers /readyz.
	Store ports.Pinger
}

type api struct {
	uc           UseCases
	log          *slog.Logger
	jwks         func() []byte
	discoveryDoc []byte
	openAPI      []byte
	obs          Observer
	trusted      []netip.Prefix
	limiter      *ipLimiter // nil: no per-IP limit
	mux          *chi.Mux
	browser      browserMode
	draining     func() bool
}

// NewHandler builds the router for the whole API.
func NewHandler(uc UseCases, opts Options) http.Handler {
	a := &api{uc: uc, log: opts.Logger, jwks: opts.JWKS, openAPI: opts.OpenAPI, obs: opts.Observer,
		trusted: opts.TrustedProxies, limiter: newIPLimiter(opts.RateLimit), draining: opts.Draining}
	if a.draining == nil {
		a.draining = func() bool { return false }
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if a.jwks == nil {
		a.jwks = func() []byte { return []byte(`{"keys":[]}`) }
	}
	if opts.Issuer != "" {
		a.discoveryDoc = newDiscovery(opts.Issuer, opts.SigningAlgs)
	}
	a.browser = newBrowserMode(opts)
	timeout := opts.RequestTimeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	a.mux = a.routes(timeout, opts.Metrics)
	return a.mux
}
