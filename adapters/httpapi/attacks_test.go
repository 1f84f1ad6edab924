package httpapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	jwtlib "github.com/golang-jwt/jwt/v5"

	"github.com/authd/authd/adapters/jwt"
	"github.com/authd/authd/domain"
)

// publicKeyPEM rebuilds the server's public key from its JWKS, as an
// attacker would.
func (h *harness) publicKeyPEM(t *testing.T) []byte {
	t.Helper()
	var set struct {
		Keys []struct{ X, Y string }
	}
	if err := json.Unmarshal(h.do(t, "GET", "/.well-known/jwks.json", "").body, &set); err != nil {
		t.Fatal(err)
	}
	x, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].X)
	y, _ := base64.RawURLEncoding.DecodeString(set.Keys[0].Y)
	pub := &ecdsa.PublicKey{Curve: elliptic.P256(), X: new(big.Int).SetBytes(x), Y: new(big.Int).SetBytes(y)}
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// TestVerifierAttacks: every forged or misused token is 401 invalid_token
// with a WWW-Authenticate challenge (RFC 8725, RFC 9068).
func TestVerifierAttacks(t *testing.T) {
	h := newHarness(t, nil)
	h.register(t, "ada@example.com", "correct horse")
	p := h.login(t, "ada@example.com", "correct horse")
	good := p.AccessToken
	if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+good); r.status != 200 {
		t.Fatalf("control: the genuine token must pass, got %d", r.status)
	}
	parts := strings.Split(good, ".")
	var claims jwtlib.MapClaims
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	foreign, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)

	sign := func(method jwtlib.SigningMethod, key any, header map[string]any, mutate func(jwtlib.MapClaims)) string {
		c := jwtlib.MapClaims{}
		for k, v := range claims {
			c[k] = v
		}
		if mutate != nil {
			mutate(c)
		}
		tok := jwtlib.NewWithClaims(method, c)
		tok.Header["kid"] = h.key.ID()
		tok.Header["typ"] = "at+jwt"
		for k, v := range header {
			if v == nil {
				delete(tok.Header, k)
				continue
			}
			tok.Header[k] = v
		}
		s, err := tok.SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	b64 := func(v any) string { b, _ := json.Marshal(v); return base64.RawURLEncoding.EncodeToString(b) }

	attacks := map[string]string{
		"alg none":                        b64(map[string]any{"alg": "none", "typ": "at+jwt", "kid": h.key.ID()}) + "." + parts[1] + ".",
		"alg none via library":            sign(jwtlib.SigningMethodNone, jwtlib.UnsafeAllowNoneSignatureType, nil, nil),
		"HS256 keyed with the public key": sign(jwtlib.SigningMethodHS256, h.publicKeyPEM(t), nil, nil),
		"tampered payload": parts[0] + "." + b64(func() jwtlib.MapClaims {
			c := jwtlib.MapClaims{}
			for k, v := range claims {
				c[k] = v
			}
			c["role"] = "admin"
			return c
		}()) + "." + parts[2],
		"foreign key with the real kid": sign(jwtlib.SigningMethodES256, foreign, nil, nil),
		"wrong iss":                     sign(jwtlib.SigningMethodES256, foreign, nil, func(c jwtlib.MapClaims) { c["iss"] = "https://evil.example" }),
		"unknown kid":                   sign(jwtlib.SigningMethodES256, foreign, map[string]any{"kid": "nope"}, nil),
		"missing kid":                   sign(jwtlib.SigningMethodES256, foreign, map[string]any{"kid": nil}, nil),
		"typ JWT":                       sign(jwtlib.SigningMethodES256, foreign, map[string]any{"typ": "JWT"}, nil),
		"refresh token as bearer":       p.RefreshToken,
		"empty bearer":                  "",
		"signature stripped":            parts[0] + "." + parts[1] + ".",
	}
	for name, token := range attacks {
		t.Run(name, func(t *testing.T) {
			headers := []string{"Authorization", "Bearer " + token}
			if token == "" {
				headers = append(headers, deliberatelyInvalid, "a bearer credential without a token")
			}
			r := h.do(t, "GET", "/v1/users/me", "", headers...)
			if r.status != 401 || r.json(t)["code"] != "invalid_token" || r.header.Get("WWW-Authenticate") == "" {
				t.Fatalf("got %d %s", r.status, r.body)
			}
		})
	}
}

// TestVerifierClaimChecks signs with the genuine key through signers
// configured with another issuer, audience or clock, so only the claim
// checks can reject the token.
func TestVerifierClaimChecks(t *testing.T) {
	h := newHarness(t, nil)
	h.register(t, "ada@example.com", "correct horse")
	p := h.login(t, "ada@example.com", "correct horse")
	var me struct{ User struct{ ID string } }
	if err := json.Unmarshal(h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+p.AccessToken).body, &me); err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(p.AccessToken, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var c struct{ Sid string }
	if err := json.Unmarshal(payload, &c); err != nil {
		t.Fatal(err)
	}
	future := &movableClock{now: h.clock.Now().Add(time.Hour)}
	past := &movableClock{now: h.clock.Now().Add(-time.Hour)}
	tests := map[string]func(jwt.Config) jwt.Config{
		"wrong iss":     func(c jwt.Config) jwt.Config { c.Issuer = "https://evil.example"; return c },
		"wrong aud":     func(c jwt.Config) jwt.Config { c.Audience = "someone-else"; return c },
		"expired":       func(c jwt.Config) jwt.Config { c.Clock = past; return c },
		"not yet valid": func(c jwt.Config) jwt.Config { c.Clock = future; return c },
	}
	for name, mutate := range tests {
		t.Run(name, func(t *testing.T) {
			signer, err := jwt.NewSigner(mutate(h.cfg), h.key)
			if err != nil {
				t.Fatal(err)
			}
			tok, _, err := signer.IssueAccessToken(context.Background(), domain.AccessClaims{
				UserID: domain.UserID(me.User.ID), SessionID: domain.SessionID(c.Sid), Role: domain.RoleUser})
			if err != nil {
				t.Fatal(err)
			}
			if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+tok); r.status != 401 {
				t.Fatalf("got %d %s", r.status, r.body)
			}
		})
	}
}

// withSigningKey makes the harness sign and verify access tokens with priv,
// so a test can sign arbitrary JOSE headers with the server's real key.
func withSigningKey(t *testing.T, priv *ecdsa.PrivateKey) harnessOption {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	key, err := jwt.LoadKeyPEM(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	if err != nil {
		t.Fatal(err)
	}
	return func(d *deps) {
		cfg := jwt.Config{Issuer: "http://authd.test", Audience: "authd", AccessTTL: 15 * time.Minute, Clock: d.Clock, Random: rand.Reader}
		signer, err := jwt.NewSigner(cfg, key)
		if err != nil {
			t.Fatal(err)
		}
		verifier, err := jwt.NewVerifier(cfg, key)
		if err != nil {
			t.Fatal(err)
		}
		d.Issuer, d.Verifier = signer, verifier
	}
}

// TestJOSEHeaderAttacks: tokens with a hostile JOSE header, signed with the
// server's real key unless the row says otherwise, presented at
// /v1/users/me. A legitimate variant gets 200; everything else 401
// invalid_token with a WWW-Authenticate challenge, never a 5xx, and no URL
// from a jku or x5u header is ever fetched. (adapters/jwt TestHeaderAttacks
// is the same table at unit level, with the exact rejection reasons.)
func TestJOSEHeaderAttacks(t *testing.T) {
	var hits atomic.Int64
	attackerSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	defer attackerSrv.Close()
	attackerURL := attackerSrv.URL + "/.well-known/jwks.json"

	realPriv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	attacker, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, nil, withSigningKey(t, realPriv))
	h.register(t, "ada@example.com", "correct horse")
	good := h.login(t, "ada@example.com", "correct horse").AccessToken
	parts := strings.Split(good, ".")
	var goodHeader struct{ Kid string }
	if raw, err := base64.RawURLEncoding.DecodeString(parts[0]); err != nil || json.Unmarshal(raw, &goodHeader) != nil {
		t.Fatalf("header of the issued token: %v", err)
	}
	realKid := goodHeader.Kid

	enc := base64.RawURLEncoding.EncodeToString
	// signInput signs header.payload (segments as given) with priv.
	signInput := func(priv *ecdsa.PrivateKey, input string) string {
		sig, err := jwtlib.SigningMethodES256.Sign(input, priv)
		if err != nil {
			t.Fatal(err)
		}
		// Low s, as authd's signer writes it: the verifier refuses the
		// high-s twin of a signature (adapters/jwt/canonical.go).
		n := elliptic.P256().Params().N
		if s := new(big.Int).SetBytes(sig[32:]); s.Cmp(new(big.Int).Rsh(n, 1)) > 0 {
			new(big.Int).Sub(n, s).FillBytes(sig[32:])
		}
		return input + "." + enc(sig)
	}
	// signRaw signs the exact header bytes with the issued token's payload.
	signRaw := func(priv *ecdsa.PrivateKey, header string) string {
		return signInput(priv, enc([]byte(header))+"."+parts[1])
	}
	hdr := func(mut func(map[string]any)) string {
		m := map[string]any{"alg": "ES256", "kid": realKid, "typ": "at+jwt"}
		if mut != nil {
			mut(m)
		}
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	real := func(mut func(map[string]any)) string { return signRaw(realPriv, hdr(mut)) }
	byAttacker := func(mut func(map[string]any)) string { return signRaw(attacker, hdr(mut)) }

	pt, err := attacker.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	attackerJWK := map[string]any{"kty": "EC", "crv": "P-256", "x": enc(pt[1:33]), "y": enc(pt[33:]), "kid": "attacker", "alg": "ES256", "use": "sig"}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "authd"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true,
	}
	certDER, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &attacker.PublicKey, attacker)
	if err != nil {
		t.Fatal(err)
	}
	x5c := []string{base64.StdEncoding.EncodeToString(certDER)}

	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	// A header whose JSON length needs base64 padding, re-signed over the
	// padded segment so only the encoding is wrong.
	paddedHeader := func() string {
		hj := hdr(func(m map[string]any) { m["x"] = "p" })
		for len(hj)%3 == 0 {
			hj = hj[:len(hj)-1] + " }"
		}
		return signInput(realPriv, base64.URLEncoding.EncodeToString([]byte(hj))+"."+parts[1])
	}()
	stdHeader := func() string {
		for i := 0; ; i++ {
			seg := base64.RawStdEncoding.EncodeToString([]byte(hdr(func(m map[string]any) { m["x"] = strings.Repeat("?", i) })))
			if strings.ContainsAny(seg, "+/") {
				return signInput(realPriv, seg+"."+parts[1])
			}
		}
	}()
	stdSig := func() string {
		for {
			tok := real(nil)
			s, _ := base64.RawURLEncoding.DecodeString(tok[strings.LastIndex(tok, ".")+1:])
			if std := base64.RawStdEncoding.EncodeToString(s); std != enc(s) {
				return tok[:strings.LastIndex(tok, ".")+1] + std
			}
		}
	}()
	dup := func(members ...string) string { return "{" + strings.Join(members, ",") + "}" }
	kidM := `"kid":"` + realKid + `"`

	tests := []struct {
		name    string
		token   string
		accept  bool
		invalid string // why the request itself breaks the document (deliberatelyInvalid), if it does
	}{
		{name: "control: real key, issued header", token: good, accept: true},
		{name: "control: real key, re-signed header", token: real(nil), accept: true},
		{name: "kid path traversal", token: real(func(m map[string]any) { m["kid"] = "../../../../etc/passwd" })},
		{name: "kid SQL injection", token: real(func(m map[string]any) { m["kid"] = "' OR 1=1 --" })},
		{name: "kid key NUL", token: real(func(m map[string]any) { m["kid"] = "key\x00" })},
		{name: "kid real kid then NUL", token: real(func(m map[string]any) { m["kid"] = realKid + "\x00" })},
		{name: "kid 10 KB", token: real(func(m map[string]any) { m["kid"] = strings.Repeat("k", 10<<10) })},
		{name: "kid number", token: real(func(m map[string]any) { m["kid"] = 1 })},
		{name: "kid array", token: real(func(m map[string]any) { m["kid"] = []string{realKid} })},
		{name: "kid object", token: real(func(m map[string]any) { m["kid"] = map[string]any{"kid": realKid} })},
		{name: "jku attacker JWKS, attacker key, attacker kid", token: byAttacker(func(m map[string]any) { m["jku"] = attackerURL; m["kid"] = "attacker" })},
		{name: "jku attacker JWKS, attacker key, real kid", token: byAttacker(func(m map[string]any) { m["jku"] = attackerURL })},
		{name: "jku attacker JWKS on a real-key token", token: real(func(m map[string]any) { m["jku"] = attackerURL }), accept: true},
		{name: "x5u attacker URL, attacker key, real kid", token: byAttacker(func(m map[string]any) { m["x5u"] = attackerURL })},
		{name: "x5u attacker URL, attacker key, no kid", token: byAttacker(func(m map[string]any) { m["x5u"] = attackerURL; delete(m, "kid") })},
		{name: "jwk attacker key, attacker key, real kid", token: byAttacker(func(m map[string]any) { m["jwk"] = attackerJWK })},
		{name: "jwk attacker key, attacker key, attacker kid", token: byAttacker(func(m map[string]any) { m["jwk"] = attackerJWK; m["kid"] = "attacker" })},
		{name: "jwk attacker key, attacker key, no kid", token: byAttacker(func(m map[string]any) { m["jwk"] = attackerJWK; delete(m, "kid") })},
		{name: "jwk foreign key on a real-key token", token: real(func(m map[string]any) { m["jwk"] = attackerJWK }), accept: true},
		{name: "x5c attacker cert, attacker key, real kid", token: byAttacker(func(m map[string]any) { m["x5c"] = x5c })},
		{name: "x5c attacker cert, attacker key, no kid", token: byAttacker(func(m map[string]any) { m["x5c"] = x5c; delete(m, "kid") })},
		{name: "crit unknown extension", token: real(func(m map[string]any) { m["crit"] = []string{"x-unknown"}; m["x-unknown"] = true })},
		{name: "alg es256", token: real(func(m map[string]any) { m["alg"] = "es256" })},
		{name: "alg ES256 with trailing space", token: real(func(m map[string]any) { m["alg"] = "ES256 " })},
		{name: "typ JWT", token: real(func(m map[string]any) { m["typ"] = "JWT" })},
		{name: "typ at+JWT", token: real(func(m map[string]any) { m["typ"] = "at+JWT" }), accept: true},
		{name: "typ application/at+jwt", token: real(func(m map[string]any) { m["typ"] = "application/at+jwt" }), accept: true},
		{name: "duplicate kid, hostile last", token: signRaw(realPriv, dup(`"alg":"ES256"`, kidM, `"typ":"at+jwt"`, `"kid":"../../../../etc/passwd"`))},
		{name: "duplicate kid, real last (RFC 7515: last wins)", token: signRaw(realPriv, dup(`"alg":"ES256"`, `"kid":"../../../../etc/passwd"`, `"typ":"at+jwt"`, kidM)), accept: true},
		{name: "duplicate alg, none last", token: signRaw(realPriv, dup(`"alg":"ES256"`, kidM, `"typ":"at+jwt"`, `"alg":"none"`))},
		{name: "header is a JSON array", token: signRaw(realPriv, "["+hdr(nil)+"]")},
		{name: "token over MaxTokenBytes", token: real(func(m map[string]any) { m["pad"] = strings.Repeat("p", jwt.MaxTokenBytes) })},
		{name: "many dots", token: good + strings.Repeat(".", 200)},
		{name: "dots only", token: "......"},
		{name: "empty payload segment", token: signInput(realPriv, parts[0]+".")},
		{name: "empty signature segment", token: parts[0] + "." + parts[1] + "."},
		{name: "header padded", token: paddedHeader, invalid: "'=' inside a bearer token is not token68"},
		{name: "signature padded", token: parts[0] + "." + parts[1] + "." + base64.URLEncoding.EncodeToString(sig)},
		{name: "header standard base64 alphabet", token: stdHeader},
		{name: "signature standard base64 alphabet", token: stdSig},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			headers := []string{"Authorization", "Bearer " + tc.token}
			if tc.invalid != "" {
				headers = append(headers, deliberatelyInvalid, tc.invalid)
			}
			r := h.do(t, "GET", "/v1/users/me", "", headers...)
			if r.status >= 500 {
				t.Fatalf("server error %d: %s", r.status, r.body)
			}
			if tc.accept {
				if r.status != http.StatusOK {
					t.Fatalf("a legitimate variant got %d: %s", r.status, r.body)
				}
				return
			}
			if r.status != http.StatusUnauthorized || r.json(t)["code"] != "invalid_token" ||
				!strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
				t.Fatalf("got %d %s (WWW-Authenticate %q)", r.status, r.body, r.header.Get("WWW-Authenticate"))
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the server fetched the attacker's jku/x5u URL %d times", n)
	}
}

// TestOversizedAuthorizationHeader: a 40 KiB bearer is refused without a
// 5xx, both through the test server (net/http's default header limit, so
// the handler sees it: 401) and behind the 32 KiB MaxHeaderBytes authd
// serve sets (net/http refuses it before any handler: 431).
func TestOversizedAuthorizationHeader(t *testing.T) {
	h := newHarness(t, nil)
	huge := "Bearer " + strings.Repeat("A", 40<<10)
	r := h.do(t, "GET", "/v1/users/me", "", "Authorization", huge)
	switch {
	case r.status == http.StatusUnauthorized:
		if r.json(t)["code"] != "invalid_token" || !strings.Contains(r.header.Get("WWW-Authenticate"), `error="invalid_token"`) {
			t.Fatalf("got 401 %s (WWW-Authenticate %q)", r.body, r.header.Get("WWW-Authenticate"))
		}
	case r.status != http.StatusRequestHeaderFieldsTooLarge:
		t.Fatalf("got %d %s, want 401 or 431", r.status, r.body)
	}

	// As authd serve runs it (cmd/authd: MaxHeaderBytes 32 KiB). The 431
	// comes from net/http, not from the API, so this client does not
	// validate against the OpenAPI document.
	srv := httptest.NewUnstartedServer(h.srv.Config.Handler)
	srv.Config.MaxHeaderBytes = 32 << 10
	srv.Start()
	defer srv.Close()
	for _, tc := range []struct {
		header string
		want   int
	}{
		{huge, http.StatusRequestHeaderFieldsTooLarge},
		{"Bearer " + strings.Repeat("A", 20<<10), http.StatusUnauthorized}, // under the limit: the verifier's own size check
	} {
		req, err := http.NewRequest(http.MethodGet, srv.URL+"/v1/users/me", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", tc.header)
		res, err := srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != tc.want {
			t.Errorf("%d-byte Authorization behind a 32 KiB limit: %d, want %d", len(tc.header), res.StatusCode, tc.want)
		}
	}
}
