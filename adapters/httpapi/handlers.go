package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
)

// userDTO is the public shape of an account: never a hash of anything.
type userDTO struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	Name      string `json:"name"`
	Role      string `json:"role"`
	CreatedAt string `json:"created_at"`
}

func toUserDTO(u domain.User) userDTO {
	return userDTO{
		ID:        u.ID().String(),
		Email:     u.Email().String(),
		Name:      u.Name(),
		Role:      u.Role().String(),
		CreatedAt: u.CreatedAt().UTC().Format(time.RFC3339),
	}
}

type userEnvelope struct {
	User userDTO `json:"user"`
}

type tokenPairDTO struct {
	AccessToken      string  `json:"access_token"`
	TokenType        string  `json:"token_type"`
	ExpiresIn        int64   `json:"expires_in"`
	RefreshToken     string  `json:"refresh_token"`
	RefreshExpiresIn int64   `json:"refresh_expires_in"`
	User             userDTO `json:"user"`
}

func toTokenPairDTO(p application.TokenPair) tokenPairDTO {
	return tokenPairDTO{
		AccessToken:      p.AccessToken,
		TokenType:        "Bearer",
		ExpiresIn:        int64(p.AccessExpiresIn / time.Second),
		RefreshToken:     p.RefreshToken,
		RefreshExpiresIn: int64(p.RefreshExpiresIn / time.Second),
		User:             toUserDTO(p.User),
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

type registerRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
	Name     string `json:"name"`
}

func (a *api) register(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "register")
	var req registerRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	u, err := a.svc.Register(r.Context(), application.RegisterInput{Email: req.Email, Password: req.Password, Name: req.Name, Client: clientOf(r)})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	info(r).userID = u.ID()
	writeJSON(w, http.StatusCreated, userEnvelope{User: toUserDTO(u)})
}

type loginRequest struct {
	Email    string `json:"email"`
	Password string `json:"password"`
}

func (a *api) login(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "login")
	var req loginRequest
	if err := decodeJSON(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	pair, err := a.svc.Login(r.Context(), application.LoginInput{Email: req.Email, Password: req.Password, Client: clientOf(r)})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	info(r).userID = pair.User.ID()
	a.writeTokens(w, r, pair, false)
}

type refreshRequest struct {
	RefreshToken string `json:"refresh_token"`
}

func (a *api) refresh(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "refresh")
	var req refreshRequest
	if err := decodeRefreshBody(w, r, &req); err != nil {
		a.writeError(w, r, err)
		return
	}
	viaCookie, err := a.refreshFromCookie(r, &req.RefreshToken)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	pair, err := a.svc.Refresh(r.Context(), application.RefreshInput{RefreshToken: req.RefreshToken, Client: clientOf(r)})
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	info(r).userID = pair.User.ID()
	a.writeTokens(w, r, pair, viaCookie)
}

// logoutRequest: the refresh token to revoke (optional when a bearer or the
// refresh cookie says who is asking) and how wide: "" or "this" (the
// session), "others" (every other session of the caller) or "global" (all).
type logoutRequest struct {
	RefreshToken string `json:"refresh_token"`
	Scope        string `json:"scope"`
}

// logout revokes by refresh token (body), by the session of a bearer access
// token (header), or both. A bearer that fails verification is an error only
// when no refresh token was sent: a client logging out with an expired
// access token and a good refresh token must still succeed.
func (a *api) logout(w http.ResponseWriter, r *http.Request) {
	countOutcome(r, "logout")
	var req logoutRequest
	if hasBody(r) {
		if err := decodeJSON(w, r, &req); err != nil {
			a.writeError(w, r, err)
			return
		}
	}
	scope, err := application.ParseLogoutScope(req.Scope)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	in := application.LogoutInput{RefreshToken: req.RefreshToken, Scope: scope, Client: clientOf(r)}
	token, err := a.logoutCredentials(r, &in)
	if err == nil {
		var p application.Principal
		if p, err = a.svc.Authenticate(r.Context(), token); err == nil {
			in.Principal = &p
			info(r).userID = p.UserID
		}
	}
	if err != nil && !errors.Is(err, errNoBearer) && in.RefreshToken == "" {
		a.writeError(w, r, err)
		return
	}
	if err := a.svc.Logout(r.Context(), in); err != nil {
		a.writeError(w, r, err)
		return
	}
	a.clearCookiesOnLogout(w, r)
	w.WriteHeader(http.StatusNoContent)
}

func (a *api) me(w http.ResponseWriter, r *http.Request) {
	p, ok := principalFrom(r.Context())
	if !ok {
		a.writeError(w, r, domain.ErrInvalidToken)
		return
	}
	u, err := a.svc.CurrentUser(r.Context(), p)
	if err != nil {
		a.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, userEnvelope{User: toUserDTO(u)})
}

// jwksMaxAge is how long verifiers may cache the key set; a new key is
// published at least this long before it signs (docs/OPERATIONS.md).
const jwksMaxAge = "public, max-age=300"

func (a *api) jwksDocument(w http.ResponseWriter, r *http.Request) {
	serveCacheable(w, r, "application/json", jwksMaxAge, a.jwks())
}

// serveCacheable writes a public document with a strong ETag (a digest of
// its bytes) and answers a matching If-None-Match with 304, so resource
// servers polling the JWKS or discovery document cost almost nothing.
func serveCacheable(w http.ResponseWriter, r *http.Request, contentType, cacheControl string, body []byte) {
	sum := sha256.Sum256(body)
	etag := `"` + base64.RawURLEncoding.EncodeToString(sum[:16]) + `"`
	w.Header().Set("Cache-Control", cacheControl)
	w.Header().Set("ETag", etag)
	if etagMatches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", contentType)
	_, _ = w.Write(body)
}

// etagMatches implements If-None-Match's weak comparison (RFC 9110 section
// 13.1.2) for a list of entity tags or "*".
func etagMatches(header, etag string) bool {
	for _, candidate := range strings.Split(header, ",") {
		candidate = strings.TrimSpace(candidate)
		if candidate == "*" || strings.TrimPrefix(candidate, "W/") == etag {
			return true
		}
	}
	return false
}

// discoveryDocument is the RFC 8414 subset a resource server needs to
// configure itself from the issuer URL; the authd-specific endpoints use
// their own names, as RFC 8414 section 2 allows.
type discoveryDocument struct {
	Issuer                   string   `json:"issuer"`
	JWKSURI                  string   `json:"jwks_uri"`
	RegistrationEndpoint     string   `json:"registration_endpoint"`
	LoginEndpoint            string   `json:"login_endpoint"`
	TokenEndpoint            string   `json:"token_endpoint"`
	RevocationEndpoint       string   `json:"revocation_endpoint"`
	UserinfoEndpoint         string   `json:"userinfo_endpoint"`
	TokenEndpointAuthMethods []string `json:"token_endpoint_auth_methods_supported"`
	AccessTokenSigningAlgs   []string `json:"access_token_signing_alg_values_supported"`
	ServiceDocumentation     string   `json:"service_documentation"`
}

func newDiscovery(issuer string, algs []string) []byte {
	base := strings.TrimSuffix(issuer, "/")
	doc, err := json.Marshal(discoveryDocument{
		Issuer:                   issuer,
		JWKSURI:                  base + "/.well-known/jwks.json",
		RegistrationEndpoint:     base + "/v1/auth/register",
		LoginEndpoint:            base + "/v1/auth/login",
		TokenEndpoint:            base + "/v1/auth/refresh",
		RevocationEndpoint:       base + "/v1/auth/logout",
		UserinfoEndpoint:         base + "/v1/users/me",
		TokenEndpointAuthMethods: []string{"none"},
		AccessTokenSigningAlgs:   algs,
		ServiceDocumentation:     base + "/openapi.yaml",
	})
	if err != nil {
		panic("httpapi: encode discovery document: " + err.Error()) // plain strings cannot fail
	}
	return doc
}

func (a *api) discovery(w http.ResponseWriter, r *http.Request) {
	serveCacheable(w, r, "application/json", jwksMaxAge, a.discoveryDoc)
}

func (a *api) openAPIDocument(w http.ResponseWriter, r *http.Request) {
	serveCacheable(w, r, "application/yaml", "public, max-age=3600", a.openAPI)
}

func (a *api) healthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.svc.Ready(ctx); err != nil {
		a.log.WarnContext(r.Context(), "not ready", "error", err.Error())
		setRetryAfter(w, 5*time.Second)
		writeProblem(w, r, http.StatusServiceUnavailable, codeUnavailable, "the store does not answer")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
