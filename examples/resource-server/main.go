// Command resource-server is an example API that accepts authd's access
// tokens and verifies them locally, with a third-party JOSE library
// (github.com/lestrrat-go/jwx/v3) and authd's published JWKS: no call to
// authd per request, and no authd code imported.
//
//	GET /public   200 {"hello":"world"}, no token needed
//	GET /private  200 {"sub":...,"role":...,"sid":...} with a valid
//	              "Authorization: Bearer <access token>", else 401 with
//	              WWW-Authenticate: Bearer error="invalid_token"
//
// A token is accepted when:
//   - it is a compact JWS whose protected header has typ "at+jwt" (RFC 9068;
//     "application/at+jwt" too, case-insensitively), so an ID token or any
//     other JWT signed by the same key is refused;
//   - its kid names a key of authd's JWKS, its header alg is that key's
//     "alg", and the signature verifies under that algorithm: the key picks
//     the algorithm, never the token, so "none", HS256 keyed with the public
//     key, or RS256 against an EC key cannot get through (RFC 8725);
//   - iss and aud are the expected ones, exp is present and not past, and
//     nbf/iat are not in the future (a few seconds of clock skew allowed).
//
// The JWKS is held in a jwk.Cache that refreshes itself in the background
// (following authd's Cache-Control, clamped to 1-15 minutes) and is refetched
// at once, at most every 10 seconds, when a token names an unknown kid, so a
// new authd signing key is picked up without a restart.
//
// The trade-off: verification is local and stateless. A token from a
// session that was logged out (or revoked after refresh-token reuse) keeps
// working HERE until its exp, although authd's own /v1/users/me refuses it
// at once. The mitigation is authd's short access-token lifetime
// (AUTH_ACCESS_TTL, 15 minutes by default). A resource server that needs
// immediate revocation must ask authd instead, by calling GET /v1/users/me
// with the token (one round trip per request, or per short cache period).
//
// Configuration (flags override the environment):
//
//	-issuer   AUTHD_ISSUER  expected iss, and the JWKS location (default http://localhost:8080)
//	-jwks-url RS_JWKS_URL   JWKS URL (default ISSUER + "/.well-known/jwks.json")
//	-audience RS_AUDIENCE   expected aud (default "authd")
//	-addr     RS_ADDR       listen address (default 127.0.0.1:9090)
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/lestrrat-go/httprc/v3"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

const (
	defaultSkew   = 5 * time.Second  // clock skew allowed on exp, nbf and iat
	minRefreshGap = 10 * time.Second // refetches on an unknown kid, at most this often
)

// Config is what a Verifier checks tokens against.
type Config struct {
	Issuer   string        // expected iss
	Audience string        // expected member of aud
	JWKSURL  string        // where authd publishes its keys
	Skew     time.Duration // 0 means defaultSkew
}

// Verifier checks authd access tokens against a self-refreshing copy of
// authd's JWKS.
type Verifier struct {
	cfg   Config
	cache *jwk.Cache
	keys  jwk.Set // a jwk.CachedSet: always the cache's current copy

	mu          sync.Mutex
	lastRefetch time.Time
}

// NewVerifier fetches the JWKS once (failing if authd cannot be reached
// before ctx ends) and keeps it fresh until ctx is done or Close is called.
func NewVerifier(ctx context.Context, cfg Config) (*Verifier, error) {
	if cfg.Skew == 0 {
		cfg.Skew = defaultSkew
	}
	cache, err := jwk.NewCache(context.WithoutCancel(ctx), httprc.NewClient())
	if err != nil {
		return nil, err
	}
	// Register waits for the first successful fetch (or for ctx to end).
	err = cache.Register(ctx, cfg.JWKSURL,
		jwk.WithMinInterval(time.Minute), jwk.WithMaxInterval(15*time.Minute))
	var keys jwk.CachedSet
	if err == nil {
		keys, err = cache.CachedSet(cfg.JWKSURL)
	}
	if err != nil {
		_ = cache.Shutdown(context.Background())
		return nil, fmt.Errorf("JWKS %s: %w", cfg.JWKSURL, err)
	}
	return &Verifier{cfg: cfg, cache: cache, keys: keys}, nil
}

// Close stops the background refresh.
func (v *Verifier) Close() error { return v.cache.Shutdown(context.Background()) }

// Reasons a token is refused. They are fixed strings, safe to log and to
// return: none of them contains any part of the token.
var (
	errMissing     = errors.New("no bearer token")
	errMalformed   = errors.New("not a compact JWS")
	errType        = errors.New(`typ is not "at+jwt"`)
	errUnknownKey  = errors.New("kid is not in the JWKS")
	errAlgMismatch = errors.New("alg is not the key's alg")
)

// Verify returns the token's claims if it passes every check listed in the
// package comment.
func (v *Verifier) Verify(ctx context.Context, token string) (jwt.Token, error) {
	// 1. The JOSE header, read before any claim is trusted. jws.Parse does
	//    not verify; it only gives us the protected header to check.
	msg, err := jws.Parse([]byte(token), jws.WithCompact())
	if err != nil || len(msg.Signatures()) != 1 {
		return nil, errMalformed
	}
	hdr := msg.Signatures()[0].ProtectedHeaders()
	typ, _ := hdr.Type()
	if !strings.EqualFold(typ, "at+jwt") && !strings.EqualFold(typ, "application/at+jwt") {
		return nil, errType
	}
	kid, _ := hdr.KeyID()
	key, ok := v.key(ctx, kid)
	if !ok {
		return nil, errUnknownKey
	}
	keyAlg, ok := key.Algorithm()
	hdrAlg, _ := hdr.Algorithm()
	if !ok || hdrAlg.String() != keyAlg.String() {
		return nil, errAlgMismatch
	}

	// 2. Signature and claims. WithKeySet matches the token's kid and
	//    verifies with the key's own "alg"; without
	//    jws.WithInferAlgorithmFromKey a key lacking "alg" is never used.
	return jwt.Parse([]byte(token),
		jwt.WithKeySet(v.keys),
		jwt.WithValidate(true),
		jwt.WithIssuer(v.cfg.Issuer),
		jwt.WithAudience(v.cfg.Audience),
		jwt.WithRequiredClaim(jwt.ExpirationKey), // jwx checks exp only when present
		jwt.WithRequiredClaim(jwt.SubjectKey),
		jwt.WithAcceptableSkew(v.cfg.Skew),
	)
}

// key looks kid up in the cached JWKS; on a miss it refetches the JWKS
// (at most every minRefreshGap, so junk kids cannot hammer authd) and looks
// again, which is how a rotated signing key is picked up at once.
func (v *Verifier) key(ctx context.Context, kid string) (jwk.Key, bool) {
	if k, ok := v.keys.LookupKeyID(kid); ok || kid == "" {
		return k, ok
	}
	v.mu.Lock()
	due := time.Since(v.lastRefetch) >= minRefreshGap
	if due {
		v.lastRefetch = time.Now()
	}
	v.mu.Unlock()
	if !due {
		return nil, false
	}
	if _, err := v.cache.Refresh(ctx, v.cfg.JWKSURL); err != nil {
		return nil, false // the previous copy stays in use
	}
	return v.keys.LookupKeyID(kid)
}

// reason names why err refused a token, without any token content.
func reason(err error) string {
	switch {
	case errors.Is(err, jwt.TokenExpiredError()):
		return "token expired"
	case errors.Is(err, jwt.TokenNotYetValidError()), errors.Is(err, jwt.InvalidIssuedAtError()):
		return "token not valid yet"
	case errors.Is(err, jwt.InvalidIssuerError()):
		return "wrong issuer"
	case errors.Is(err, jwt.InvalidAudienceError()):
		return "wrong audience"
	case errors.Is(err, jwt.MissingRequiredClaimError()):
		return "missing claim"
	case errors.Is(err, errMissing), errors.Is(err, errMalformed), errors.Is(err, errType),
		errors.Is(err, errUnknownKey), errors.Is(err, errAlgMismatch):
		return err.Error()
	}
	return "invalid signature or claims"
}

// NewHandler serves /public and /private, logging one line per request.
func NewHandler(v *Verifier, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /public", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"hello": "world"})
	})
	mux.HandleFunc("GET /private", func(w http.ResponseWriter, r *http.Request) {
		tok, err := bearer(r)
		if err == nil {
			var t jwt.Token
			if t, err = v.Verify(r.Context(), tok); err == nil {
				sub, _ := t.Subject()
				var role, sid string
				_ = t.Get("role", &role)
				_ = t.Get("sid", &sid)
				writeJSON(w, http.StatusOK, map[string]string{"sub": sub, "role": role, "sid": sid})
				return
			}
		}
		why := reason(err)
		setReason(r, why)
		code := "invalid_token"
		w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token"`)
		if errors.Is(err, errMissing) {
			// RFC 6750 section 3.1: no error code when no token was sent.
			code = "unauthorized"
			w.Header().Set("WWW-Authenticate", `Bearer`)
		}
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": code, "error_description": why})
	})
	return logRequests(log, mux)
}

func bearer(r *http.Request) (string, error) {
	scheme, tok, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", errMissing
	}
	return strings.TrimSpace(tok), nil
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}

// logRequests writes method, path, status, duration and, for a refusal, its
// reason: never a header, so never a token.
func logRequests(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &recorder{ResponseWriter: w, status: http.StatusOK}
		why := new(string)
		next.ServeHTTP(rec, r.WithContext(context.WithValue(r.Context(), reasonKey{}, why)))
		attrs := []any{"method", r.Method, "path", r.URL.Path, "status", rec.status, "duration", time.Since(start).String()}
		if *why != "" {
			attrs = append(attrs, "reason", *why)
		}
		log.Info("request", attrs...)
	})
}

type reasonKey struct{}

func setReason(r *http.Request, why string) {
	if p, ok := r.Context().Value(reasonKey{}).(*string); ok {
		*p = why
	}
}

type recorder struct {
	http.ResponseWriter
	status int
}

func (r *recorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

// run reads the configuration from args and getenv, serves until ctx is
// done, then drains in-flight requests.
func run(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer) error {
	log := slog.New(slog.NewJSONHandler(stderr, nil))
	env := func(name, def string) string {
		if v := getenv(name); v != "" {
			return v
		}
		return def
	}
	fs := flag.NewFlagSet("resource-server", flag.ContinueOnError)
	fs.SetOutput(stderr)
	issuer := fs.String("issuer", env("AUTHD_ISSUER", "http://localhost:8080"), "expected iss of authd's tokens")
	jwksURL := fs.String("jwks-url", getenv("RS_JWKS_URL"), "JWKS URL (default ISSUER/.well-known/jwks.json)")
	audience := fs.String("audience", env("RS_AUDIENCE", "authd"), "expected aud")
	addr := fs.String("addr", env("RS_ADDR", "127.0.0.1:9090"), "listen address")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *jwksURL == "" {
		*jwksURL = strings.TrimSuffix(*issuer, "/") + "/.well-known/jwks.json"
	}

	fetchCtx, cancel := context.WithTimeout(ctx, 15*time.Second)
	v, err := NewVerifier(fetchCtx, Config{Issuer: *issuer, Audience: *audience, JWKSURL: *jwksURL})
	cancel()
	if err != nil {
		return err
	}
	defer v.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: NewHandler(v, log), ReadHeaderTimeout: 5 * time.Second}
	log.Info("listening", "addr", ln.Addr().String(), "issuer", *issuer, "audience", *audience, "jwks", *jwksURL)
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()

	select {
	case err := <-done:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return err
	}
	if err := <-done; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stderr); err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "resource-server:", err)
		os.Exit(1)
	}
}
