package httpapi

import (
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

func (a *api) routes(timeout time.Duration, metrics http.Handler) *chi.Mux {
	r := chi.NewRouter()
	r.Use(a.requestID, a.accessLog, a.cors, a.recoverer, securityHeaders, deadline(timeout))
	r.NotFound(func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, http.StatusNotFound, codeNotFound, "no such resource")
	})
	r.MethodNotAllowed(a.methodNotAllowed)

	r.Get("/healthz", a.healthz)
	r.Get("/readyz", a.readyz)
	r.Get("/.well-known/jwks.json", a.jwksDocument)
	if a.discoveryDoc != nil {
		r.Get("/.well-known/oauth-authorization-server", a.discovery)
	}
	if a.openAPI != nil {
		r.Get("/openapi.yaml", a.openAPIDocument)
	}
	if metrics != nil {
		r.Method(http.MethodGet, "/metrics", metrics)
	}

	r.Route("/v1", func(r chi.Router) {
		r.Use(noStore)
		r.With(a.rateLimited("register")).Post("/auth/register", a.register)
		r.With(a.rateLimited("login")).Post("/auth/login", a.login)
		r.With(a.rateLimited("refresh")).Post("/auth/refresh", a.refresh)
		r.With(a.rateLimited("logout")).Post("/auth/logout", a.logout)
		r.Get("/auth/csrf", a.csrfToken)
		r.With(a.rateLimited("verify_email_send")).Post("/auth/verify-email/send", a.sendVerification)
		r.With(a.rateLimited("verify_email")).Post("/auth/verify-email", a.verifyEmail)
		r.With(a.rateLimited("password_forgot")).Post("/auth/password/forgot", a.forgotPassword)
		r.With(a.rateLimited("password_reset")).Post("/auth/password/reset", a.resetPassword)
		r.With(a.rateLimited("email_change_confirm")).Post("/auth/email-change/confirm", a.confirmEmailChange)
		r.With(a.rateLimited("mfa_verify")).Post("/auth/mfa/verify", a.verifyMFA)
		r.With(a.rateLimited("passkey_login")).Post("/auth/passkey/begin", a.beginPasskeySignIn)
		r.With(a.rateLimited("passkey_login")).Post("/auth/passkey/finish", a.finishPasskeySignIn)
		r.With(a.requireBearer).Get("/users/me", a.me)
		r.With(a.rateLimited("password_change"), a.requireBearer).Post("/users/me/password", a.changePassword)
		r.With(a.rateLimited("email_change"), a.requireBearer).Post("/users/me/email", a.changeEmail)
		r.With(a.requireBearer).Get("/users/me/mfa", a.mfaState)
		r.With(a.rateLimited("mfa_change"), a.requireBearer).Post("/users/me/mfa/totp", a.enrolTOTP)
		r.With(a.rateLimited("mfa_change"), a.requireBearer).Post("/users/me/mfa/totp/confirm", a.confirmTOTP)
		r.With(a.rateLimited("mfa_change"), a.requireBearer).Post("/users/me/mfa/totp/disable", a.disableTOTP)
		r.With(a.rateLimited("mfa_change"), a.requireBearer).Post("/users/me/mfa/recovery-codes", a.newRecoveryCodes)
		r.With(a.requireBearer).Get("/users/me/passkeys", a.listPasskeys)
		r.With(a.rateLimited("passkey_register"), a.requireBearer).Post("/users/me/passkeys/register/begin", a.beginPasskeyRegistration)
		r.With(a.rateLimited("passkey_register"), a.requireBearer).Post("/users/me/passkeys/register/finish", a.finishPasskeyRegistration)
		r.With(a.requireBearer).Patch("/users/me/passkeys/{id}", a.renamePasskey)
		r.With(a.requireBearer).Delete("/users/me/passkeys/{id}", a.deletePasskey)
		r.With(a.requireBearer).Get("/sessions", a.listSessions)
		r.With(a.requireBearer).Delete("/sessions/{id}", a.revokeSession)
		r.Route("/admin", func(r chi.Router) {
			r.Use(a.requireBearer, a.requireAdmin)
			r.Get("/users", a.listUsers)
			r.Patch("/users/{id}", a.patchUser)
			r.Post("/users/{id}/revoke-sessions", a.revokeUserSessions)
			r.Post("/users/{id}/verify-email", a.markEmailVerified)
			r.Post("/users/{id}/verification-mail", a.resendVerification)
			r.Post("/users/{id}/remove-factors", a.removeFactors)
			r.Get("/events", a.listEvents)
		})
	})
	a.routePreflights(r)
	return r
}

// methodNotAllowed answers 405 with the Allow header listing the methods the
// path does support (chi drops that list when a custom handler is set).
func (a *api) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	allowed := a.routedMethods(r.URL.Path, http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions)
	w.Header().Set("Allow", strings.Join(allowed, ", "))
	writeProblem(w, r, http.StatusMethodNotAllowed, codeMethodNotAllowed, "method not allowed on this resource")
}

// routedMethods is the subset of candidates routed for path, in their order.
func (a *api) routedMethods(path string, candidates ...string) []string {
	var routed []string
	for _, m := range candidates {
		if a.mux.Match(chi.NewRouteContext(), m, path) {
			routed = append(routed, m)
		}
	}
	return routed
}
