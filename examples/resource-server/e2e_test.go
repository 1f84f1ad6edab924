package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// ---- authd as a child process ----

var (
	buildOnce sync.Once
	authdBin  string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if authdBin != "" {
		_ = os.RemoveAll(filepath.Dir(authdBin))
	}
	os.Exit(code)
}

func authdBinary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "rs-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		authdBin = filepath.Join(dir, "authd")
		out, err := exec.Command("go", "build", "-o", authdBin, "github.com/authd/authd/cmd/authd").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build cmd/authd: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return authdBin
}

type authd struct {
	base string // http://127.0.0.1:NNNN, also its AUTH_ISSUER
	cmd  *exec.Cmd
	done chan error
}

var listeningRe = regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)

// startAuthd runs authd on a free loopback port whose URL is also its
// issuer, so the resource server can find the JWKS from the issuer alone.
// A port taken between picking and binding is retried.
func startAuthd(t *testing.T, env ...string) *authd {
	t.Helper()
	var err error
	for range 3 {
		var a *authd
		if a, err = launchAuthd(t, freePort(t), env...); err == nil {
			return a
		}
	}
	t.Fatal(err)
	return nil
}

func freePort(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

func launchAuthd(t *testing.T, addr string, env ...string) (*authd, error) {
	t.Helper()
	base := "http://" + addr
	cmd := exec.Command(authdBinary(t))
	// memory:, and no key file: every start is a fresh store and a new key.
	cmd.Env = append(os.Environ(), append([]string{"AUTH_ADDR=" + addr, "AUTH_ISSUER=" + base, "AUTH_DATABASE_URL=memory:", "AUTH_SIGNING_KEY_FILE="}, env...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	a := &authd{base: base, cmd: cmd, done: make(chan error, 1)}
	listening := make(chan string, 1)
	var logs strings.Builder
	var mu sync.Mutex
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			mu.Lock()
			logs.WriteString(sc.Text() + "\n")
			mu.Unlock()
			if m := listeningRe.FindStringSubmatch(sc.Text()); m != nil {
				listening <- m[1]
			}
		}
		a.done <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	select {
	case got := <-listening:
		if got != addr {
			return nil, fmt.Errorf("authd listens on %s, want %s", got, addr)
		}
		return a, nil
	case err := <-a.done:
		mu.Lock()
		defer mu.Unlock()
		return nil, fmt.Errorf("authd exited before listening: %v\n%s", err, logs.String())
	case <-time.After(30 * time.Second):
		return nil, fmt.Errorf("authd did not listen within 30s")
	}
}

func (a *authd) stop(t *testing.T) {
	t.Helper()
	_ = a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.done:
	case <-time.After(20 * time.Second):
		t.Fatal("authd did not stop")
	}
}

// login registers email (ignoring "already exists") and returns a fresh
// access token and the user's id.
func (a *authd) login(t *testing.T, email string) (token, userID string) {
	t.Helper()
	creds := fmt.Sprintf(`{"email":%q,"password":"correct horse battery"}`, email)
	if code, _, _ := call(t, "POST", a.base+"/v1/auth/register", creds, ""); code != 201 && code != 409 {
		t.Fatalf("register: %d", code)
	}
	code, _, body := call(t, "POST", a.base+"/v1/auth/login", creds, "")
	if code != 200 {
		t.Fatalf("login: %d %v", code, body)
	}
	return body["access_token"].(string), body["user"].(map[string]any)["id"].(string)
}

// ---- HTTP helpers ----

var client = &http.Client{Timeout: 10 * time.Second}

// call sends a request and decodes a JSON body; it logs status and body
// keys only, never a token.
func call(t *testing.T, method, url, body, bearer string) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(raw, &m)
	return res.StatusCode, res.Header, m
}

// wantRefused asserts a 401 with the RFC 6750 challenge and a body that
// does not echo the token.
func wantRefused(t *testing.T, url, token string) string {
	t.Helper()
	code, hdr, body := call(t, "GET", url, "", token)
	if code != 401 {
		t.Fatalf("status %d, want 401 (body %v)", code, body)
	}
	if got := hdr.Get("WWW-Authenticate"); got != `Bearer error="invalid_token"` {
		t.Fatalf("WWW-Authenticate %q", got)
	}
	if body["error"] != "invalid_token" || strings.Contains(fmt.Sprint(body), token) {
		t.Fatalf("body %v", body)
	}
	return body["error_description"].(string)
}

// ---- the resource server ----

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// inProcess serves NewHandler for cfg on an httptest server.
func inProcess(t *testing.T, cfg Config) (string, *Verifier) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	v, err := NewVerifier(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = v.Close() })
	srv := httptest.NewServer(NewHandler(v, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return srv.URL, v
}

func jwksOf(issuer string) string { return issuer + "/.well-known/jwks.json" }

// TestAgainstAuthd runs the real server (run, configured from the
// environment) against a real authd and walks the documented behaviour.
func TestAgainstAuthd(t *testing.T) {
	a := startAuthd(t)

	ctx, stop := context.WithCancel(context.Background())
	logs := &syncBuffer{}
	env := map[string]string{"AUTHD_ISSUER": a.base, "RS_ADDR": "127.0.0.1:0"}
	ran := make(chan error, 1)
	go func() { ran <- run(ctx, nil, func(k string) string { return env[k] }, logs) }()
	var rs string
	for deadline := time.Now().Add(15 * time.Second); rs == ""; time.Sleep(20 * time.Millisecond) {
		if m := listeningRe.FindStringSubmatch(logs.String()); m != nil {
			rs = "http://" + m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("resource server did not start:\n%s", logs)
		}
	}
	requests := 0 // to the run() server, to check its log
	get := func(path, token string) (int, http.Header, map[string]any) {
		requests++
		return call(t, "GET", rs+path, "", token)
	}

	t.Run("a_public_needs_no_token", func(t *testing.T) {
		code, _, body := get("/public", "")
		if code != 200 || body["hello"] != "world" {
			t.Fatalf("%d %v", code, body)
		}
		code, hdr, body := get("/private", "")
		if code != 401 || hdr.Get("WWW-Authenticate") != "Bearer" || body["error"] != "unauthorized" {
			t.Fatalf("no token: %d %q %v", code, hdr.Get("WWW-Authenticate"), body)
		}
	})

	token, userID := a.login(t, "ada@example.com")
	t.Run("b_fresh_token_is_accepted", func(t *testing.T) {
		code, _, body := get("/private", token)
		if code != 200 || body["sub"] != userID || body["role"] != "user" || body["sid"] == "" {
			t.Fatalf("%d %v, want sub %s", code, body, userID)
		}
		t.Logf("/private -> 200 sub=%v role=%v", body["sub"], body["role"])
	})

	t.Run("c_logout_is_not_seen_locally", func(t *testing.T) {
		if code, _, _ := call(t, "POST", a.base+"/v1/auth/logout", "", token); code != 204 {
			t.Fatalf("logout: %d", code)
		}
		if code, _, _ := call(t, "GET", a.base+"/v1/users/me", "", token); code != 401 {
			t.Fatalf("authd /v1/users/me after logout: %d, want 401", code)
		}
		code, _, body := get("/private", token)
		if code != 200 || body["sub"] != userID {
			t.Fatalf("resource server after logout: %d %v, want 200 (the documented trade-off)", code, body)
		}
		t.Log("after logout: authd /v1/users/me -> 401, resource server /private -> 200 until exp")
	})

	_, v := inProcess(t, Config{Issuer: a.base, Audience: "authd", JWKSURL: jwksOf(a.base)})
	t.Run("e_tampered_and_forged_tokens_are_refused", func(t *testing.T) {
		fresh, _ := a.login(t, "ada@example.com")
		forged := forgeries(t, a, fresh)
		for _, name := range sortedKeys(forged) {
			tok := forged[name]
			requests++
			why := wantRefused(t, rs+"/private", tok)
			t.Logf("%-38s -> 401 %s", name, why)
			// The library alone, without the header pre-checks in Verify,
			// refuses them too: jwx verifies with the key's alg.
			if _, err := jwt.Parse([]byte(tok), jwt.WithKeySet(v.keys)); err == nil {
				t.Errorf("%s: jwt.Parse with the JWKS accepted it", name)
			}
		}
	})

	t.Run("f_wrong_audience_or_issuer_is_refused", func(t *testing.T) {
		fresh, _ := a.login(t, "ada@example.com")
		other, _ := inProcess(t, Config{Issuer: a.base, Audience: "other", JWKSURL: jwksOf(a.base)})
		if why := wantRefused(t, other+"/private", fresh); why != "wrong audience" {
			t.Fatalf("reason %q", why)
		}
		evil, _ := inProcess(t, Config{Issuer: "https://evil.example", Audience: "authd", JWKSURL: jwksOf(a.base)})
		if why := wantRefused(t, evil+"/private", fresh); why != "wrong issuer" {
			t.Fatalf("reason %q", why)
		}
	})

	stop()
	select {
	case err := <-ran:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	out := logs.String()
	if got := strings.Count(out, `"msg":"request"`); got != requests {
		t.Errorf("%d request log lines for %d requests", got, requests)
	}
	if strings.Contains(out, token) || strings.Contains(out, strings.Split(token, ".")[2]) {
		t.Error("the log contains a token")
	}
}

// forgeries derives refused variants of a genuine token.
func forgeries(t *testing.T, a *authd, token string) map[string]string {
	t.Helper()
	parts := strings.Split(token, ".")
	var hdr map[string]any
	raw, _ := base64.RawURLEncoding.DecodeString(parts[0])
	if err := json.Unmarshal(raw, &hdr); err != nil {
		t.Fatal(err)
	}
	kid := hdr["kid"].(string)
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])

	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	headers := func(alg, kid string) jws.Headers {
		h := jws.NewHeaders()
		_ = h.Set(jws.TypeKey, "at+jwt")
		_ = h.Set(jws.KeyIDKey, kid)
		_ = h.Set(jws.AlgorithmKey, alg)
		return h
	}
	sign := func(alg jwa.SignatureAlgorithm, key any, kid string) string {
		out, err := jws.Sign(payload, jws.WithKey(alg, key, jws.WithProtectedHeaders(headers(alg.String(), kid))))
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}

	// authd's public key, as JWK JSON and as PEM: the "secrets" of the
	// classic HS256 key-confusion attack.
	_, _, body := call(t, "GET", jwksOf(a.base), "", "")
	jwkJSON, _ := json.Marshal(body["keys"].([]any)[0])
	pub, err := jwk.ParseKey(jwkJSON)
	if err != nil {
		t.Fatal(err)
	}
	var ecPub ecdsa.PublicKey
	if err := jwk.Export(pub, &ecPub); err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&ecPub)
	pemPub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})

	stranger, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	noneHdr, _ := json.Marshal(map[string]string{"alg": "none", "typ": "at+jwt", "kid": kid})

	return map[string]string{
		"payload byte changed":                  strings.Join([]string{parts[0], flip(parts[1], len(parts[1])/2), parts[2]}, "."),
		"signature byte changed":                strings.Join([]string{parts[0], parts[1], flip(parts[2], len(parts[2])/2)}, "."),
		"re-signed by another key, authd kid":   sign(jwa.ES256(), stranger, kid),
		"re-signed by another key, its own kid": sign(jwa.ES256(), stranger, "stranger"),
		"alg none, no signature":                base64.RawURLEncoding.EncodeToString(noneHdr) + "." + parts[1] + ".",
		"HS256 keyed with the public JWK":       sign(jwa.HS256(), jwkJSON, kid),
		"HS256 keyed with the public PEM":       sign(jwa.HS256(), pemPub, kid),
	}
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	for i := range keys { // tiny insertion sort: stable, readable output
		for j := i; j > 0 && keys[j] < keys[j-1]; j-- {
			keys[j], keys[j-1] = keys[j-1], keys[j]
		}
	}
	return keys
}

// TestExpiredTokenIsRefused: with a 2 s access TTL, a token stops working
// once exp plus the allowed skew has passed.
func TestExpiredTokenIsRefused(t *testing.T) {
	t.Parallel()
	a := startAuthd(t, "AUTH_ACCESS_TTL=2s")
	rs, _ := inProcess(t, Config{Issuer: a.base, Audience: "authd", JWKSURL: jwksOf(a.base)})
	token, _ := a.login(t, "grace@example.com")
	if code, _, body := call(t, "GET", rs+"/private", "", token); code != 200 {
		t.Fatalf("fresh 2s token: %d %v", code, body)
	}
	start := time.Now()
	deadline := start.Add(2*time.Second + defaultSkew + 8*time.Second)
	for {
		code, _, body := call(t, "GET", rs+"/private", "", token)
		if code == 401 {
			if body["error_description"] != "token expired" {
				t.Fatalf("refused for %v, want token expired", body["error_description"])
			}
			t.Logf("refused as expired %.1fs after the first check (TTL 2s + skew %s)", time.Since(start).Seconds(), defaultSkew)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("still accepted %s after login", time.Since(start))
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// TestRotatedKeyIsPickedUp: authd restarts with a new signing key on the
// same address; the resource server, already running with the old JWKS
// cached, accepts the new key's tokens at once (refetch on unknown kid) and
// refuses the old key's.
func TestRotatedKeyIsPickedUp(t *testing.T) {
	t.Parallel()
	a := startAuthd(t)
	rs, _ := inProcess(t, Config{Issuer: a.base, Audience: "authd", JWKSURL: jwksOf(a.base)})
	old, _ := a.login(t, "lin@example.com")
	if code, _, _ := call(t, "GET", rs+"/private", "", old); code != 200 {
		t.Fatalf("before rotation: %d", code)
	}

	a.stop(t)
	b, err := launchAuthd(t, strings.TrimPrefix(a.base, "http://")) // new ephemeral key
	if err != nil {
		t.Fatal(err)
	}
	fresh, _ := b.login(t, "lin@example.com")
	if code, _, body := call(t, "GET", rs+"/private", "", fresh); code != 200 {
		t.Fatalf("new key's token: %d %v", code, body)
	}
	if why := wantRefused(t, rs+"/private", old); why != "kid is not in the JWKS" {
		t.Fatalf("old key's token refused for %q", why)
	}
}

// TestHeaderRules covers what authd never issues: tokens signed by a
// trusted key but with the wrong typ, or by a JWKS key without "alg".
func TestHeaderRules(t *testing.T) {
	t.Parallel()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := func(kid, alg string) jwk.Key {
		k, err := jwk.Import(&priv.PublicKey)
		if err != nil {
			t.Fatal(err)
		}
		_ = k.Set(jwk.KeyIDKey, kid)
		if alg != "" {
			_ = k.Set(jwk.AlgorithmKey, alg)
		}
		return k
	}
	set := jwk.NewSet()
	_ = set.AddKey(pub("good", "ES256"))
	_ = set.AddKey(pub("no-alg", ""))
	jwks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = json.NewEncoder(w).Encode(set)
	}))
	defer jwks.Close()
	const iss = "https://issuer.test"
	rs, _ := inProcess(t, Config{Issuer: iss, Audience: "authd", JWKSURL: jwks.URL})

	mint := func(typ, kid string, withExp bool) string {
		b := jwt.NewBuilder().Issuer(iss).Audience([]string{"authd"}).Subject("u1").IssuedAt(time.Now()).
			Claim("role", "user").Claim("sid", "s1")
		if withExp {
			b = b.Expiration(time.Now().Add(time.Minute))
		}
		tok, err := b.Build()
		if err != nil {
			t.Fatal(err)
		}
		h := jws.NewHeaders()
		_ = h.Set(jws.TypeKey, typ)
		_ = h.Set(jws.KeyIDKey, kid)
		out, err := jwt.Sign(tok, jwt.WithKey(jwa.ES256(), priv, jws.WithProtectedHeaders(h)))
		if err != nil {
			t.Fatal(err)
		}
		return string(out)
	}
	for _, typ := range []string{"at+jwt", "AT+JWT", "application/at+jwt"} {
		if code, _, body := call(t, "GET", rs+"/private", "", mint(typ, "good", true)); code != 200 || body["sub"] != "u1" {
			t.Errorf("typ %q: %d %v", typ, code, body)
		}
	}
	for name, c := range map[string]struct{ tok, why string }{
		"typ JWT":         {mint("JWT", "good", true), `typ is not "at+jwt"`},
		"key without alg": {mint("at+jwt", "no-alg", true), "alg is not the key's alg"},
		"no exp claim":    {mint("at+jwt", "good", false), "missing claim"},
		"garbage":         {"not.a.jwt", "not a compact JWS"},
	} {
		if why := wantRefused(t, rs+"/private", c.tok); why != c.why {
			t.Errorf("%s: refused for %q, want %q", name, why, c.why)
		}
	}
}
