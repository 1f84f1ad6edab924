package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// The public documents (key set, discovery, OpenAPI), cacheable by ETag,
// and the probes.

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
	if a.draining() {
		setRetryAfter(w, 5*time.Second)
		writeProblem(w, r, http.StatusServiceUnavailable, codeUnavailable, "the server is shutting down")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := a.uc.Store.Ping(ctx); err != nil {
		a.log.WarnContext(r.Context(), "not ready", "error", err.Error())
		setRetryAfter(w, 5*time.Second)
		writeProblem(w, r, http.StatusServiceUnavailable, codeUnavailable, "the store does not answer")
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
