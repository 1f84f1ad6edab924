package jwt

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	jwtlib "github.com/golang-jwt/jwt/v5"

	"github.com/authd/authd/domain"
)

var allAlgs = []string{AlgES256, AlgRS256, AlgEdDSA}

func TestRoundTrip(t *testing.T) {
	for _, alg := range allAlgs {
		t.Run(alg, func(t *testing.T) {
			k := testKey(t, alg, "main")
			cfg := testConfig(t0.Add(500 * time.Millisecond)) // sub-second part must not leak into claims
			s := mustSigner(t, cfg, k)
			v := mustVerifier(t, cfg, k)

			tok, issued, err := s.IssueAccessToken(context.Background(), testClaims())
			if err != nil {
				t.Fatalf("issue: %v", err)
			}
			if !issued.AuthTime.Equal(t0.Add(-time.Hour)) {
				t.Errorf("issued auth_time = %v, want %v (whole seconds)", issued.AuthTime, t0.Add(-time.Hour))
			}
			if !issued.IssuedAt.Equal(t0) || !issued.ExpiresAt.Equal(t0.Add(testTTL)) {
				t.Errorf("issued times = %v, %v; want %v, %v", issued.IssuedAt, issued.ExpiresAt, t0, t0.Add(testTTL))
			}
			got, err := v.VerifyAccessToken(context.Background(), tok)
			if err != nil {
				t.Fatalf("verify: %v", err)
			}
			if !sameClaims(got, issued) {
				t.Errorf("verified claims %+v, issued %+v", got, issued)
			}

			h := decodeSegment(t, tok, 0)
			if h["typ"] != "at+jwt" || h["kid"] != k.ID() || h["alg"] != alg {
				t.Errorf("header = %v", h)
			}
			p := decodeSegment(t, tok, 1)
			for _, claim := range []string{"iss", "aud", "sub", "sid", "role", "iat", "nbf", "exp", "jti", "amr", "auth_time"} {
				if _, ok := p[claim]; !ok {
					t.Errorf("payload lacks %q: %v", claim, p)
				}
			}
			if p["iss"] != testIssuer || p["sub"] != testUser || p["sid"] != testSession || p["role"] != "user" {
				t.Errorf("payload = %v", p)
			}
			if amr, _ := p["amr"].([]any); len(amr) != 1 || amr[0] != "pwd" {
				t.Errorf("amr = %v, want [pwd] (RFC 8176)", p["amr"])
			}
			if at, _ := p["auth_time"].(float64); int64(at) != t0.Add(-time.Hour).Unix() {
				t.Errorf("auth_time = %v, want %d", p["auth_time"], t0.Add(-time.Hour).Unix())
			}
			if jti, _ := p["jti"].(string); len(jti) < 22 { // 128 bits base64url
				t.Errorf("jti %q shorter than 128 bits", jti)
			}
		})
	}
}

// TestAttacks: every token here must be refused as domain.ErrInvalidToken,
// and the error must not echo the token.
func TestAttacks(t *testing.T) {
	es := testKey(t, AlgES256, "main")
	rs := testKey(t, AlgRS256, "main")
	foreign := testKey(t, AlgES256, "foreign")
	// The verifier trusts an ES256 and an RS256 key, so that RS256 is an
	// allowed alg in general and only the per-kid binding can stop
	// cross-key algorithm confusion.
	v := mustVerifier(t, testConfig(t0), es, rs)
	valid := mustIssue(t, mustSigner(t, testConfig(t0), es))

	pubDER, err := x509.MarshalPKIXPublicKey(es.public)
	if err != nil {
		t.Fatal(err)
	}
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	withHeader := func(mut func(map[string]any)) map[string]any {
		h := validHeader(es)
		mut(h)
		return h
	}
	withPayload := func(mut func(jwtlib.MapClaims)) jwtlib.MapClaims {
		p := validPayload(t0)
		mut(p)
		return p
	}
	signES := func(h map[string]any, p jwtlib.MapClaims) string {
		return sign(t, jwtlib.SigningMethodES256, es.private, h, p)
	}

	refresh, err := domain.NewRefreshToken(rand.Reader, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}

	tampered := func() string {
		parts := strings.Split(valid, ".")
		p := decodeSegment(t, valid, 1)
		p["role"] = "admin"
		b, _ := json.Marshal(p)
		parts[1] = base64.RawURLEncoding.EncodeToString(b)
		return strings.Join(parts, ".")
	}()

	// An ES256 signature relabelled as RS256, kid unchanged.
	relabelled := func() string {
		parts := strings.Split(valid, ".")
		h := validHeader(es)
		h["alg"] = "RS256"
		b, _ := json.Marshal(h)
		parts[0] = base64.RawURLEncoding.EncodeToString(b)
		return strings.Join(parts, ".")
	}()

	oversized := signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) {
		p["pad"] = strings.Repeat("x", MaxTokenBytes)
	}))

	tests := []struct {
		name  string
		token string
		// reason, when set, must appear in the error: it proves which
		// fence stopped the token.
		reason string
	}{
		{"alg none", rawToken(t, withHeader(func(h map[string]any) { h["alg"] = "none" }), validPayload(t0), nil), ""},
		{"alg None mixed case", rawToken(t, withHeader(func(h map[string]any) { h["alg"] = "None" }), validPayload(t0), nil), ""},
		{"HS256 keyed with public key PEM", sign(t, jwtlib.SigningMethodHS256, pubPEM, withHeader(func(h map[string]any) { h["alg"] = "HS256" }), validPayload(t0)), ""},
		{"HS256 keyed with public key DER", sign(t, jwtlib.SigningMethodHS256, pubDER, withHeader(func(h map[string]any) { h["alg"] = "HS256" }), validPayload(t0)), ""},
		{"tampered payload role admin", tampered, "signature"},
		{"foreign key with real kid", sign(t, jwtlib.SigningMethodES256, foreign.private, validHeader(es), validPayload(t0)), "signature"},
		{"unknown kid", sign(t, jwtlib.SigningMethodES256, foreign.private, validHeader(foreign), validPayload(t0)), "unknown kid"},
		{"missing kid", signES(withHeader(func(h map[string]any) { delete(h, "kid") }), validPayload(t0)), "kid missing"},
		{"kid not a string", signES(withHeader(func(h map[string]any) { h["kid"] = 7 }), validPayload(t0)), "kid missing"},
		{"wrong iss", signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) { p["iss"] = "https://evil.example" })), "iss"},
		{"missing iss", signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) { delete(p, "iss") })), ""},
		{"wrong aud", signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) { p["aud"] = "other-api" })), "aud"},
		{"missing aud", signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) { delete(p, "aud") })), ""},
		{"wrong typ JWT", signES(withHeader(func(h map[string]any) { h["typ"] = "JWT" }), validPayload(t0)), "typ"},
		{"wrong typ logout", signES(withHeader(func(h map[string]any) { h["typ"] = "logout+jwt" }), validPayload(t0)), "typ"},
		{"missing typ", signES(withHeader(func(h map[string]any) { delete(h, "typ") }), validPayload(t0)), "typ"},
		{"crit header", signES(withHeader(func(h map[string]any) { h["crit"] = []string{"exp"} }), validPayload(t0)), "crit"},
		{"expired", signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) {
			p["iat"], p["nbf"], p["exp"] = t0.Add(-time.Hour).Unix(), t0.Add(-time.Hour).Unix(), t0.Add(-time.Minute).Unix()
		})), "expired"},
		{"nbf in the future", signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) { p["nbf"] = t0.Add(time.Minute).Unix() })), "nbf"},
		{"iat in the future", signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) { p["iat"] = t0.Add(time.Minute).Unix() })), "iat"},
		{"missing exp", signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) { delete(p, "exp") })), "required claim missing"},
		{"exp wrong type", signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) { p["exp"] = "tomorrow" })), ""},
		{"missing iat", signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) { delete(p, "iat") })), "iat missing"},
		{"missing jti", signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) { delete(p, "jti") })), "jti missing"},
		{"ES256 signature relabelled RS256", relabelled, ""},
		{"RS256 token naming the ES256 kid", sign(t, jwtlib.SigningMethodRS256, rs.private, withHeader(func(h map[string]any) { h["alg"] = "RS256" }), validPayload(t0)), "alg does not match"},
		{"refresh token as bearer", refresh.Plaintext(), "malformed"},
		{"opaque random string with dots", "abc.def.ghi", "malformed"},
		{"two segments", strings.Join(strings.Split(valid, ".")[:2], "."), "malformed"},
		{"four segments", valid + ".x", "malformed"},
		{"empty string", "", "empty"},
		{"oversized", oversized, "size"},
		{"oversized junk", strings.Repeat("A", MaxTokenBytes+1), "size"},
		{"sub not a UUID", signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) { p["sub"] = "alice" })), "sub"},
		{"sub upper-case UUID", signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) { p["sub"] = strings.ToUpper(testUser) })), "sub"},
		{"missing sub", signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) { delete(p, "sub") })), "sub"},
		{"sid not a UUID", signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) { p["sid"] = "s1" })), "sid"},
		{"missing sid", signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) { delete(p, "sid") })), "sid"},
		{"unknown role", signES(validHeader(es), withPayload(func(p jwtlib.MapClaims) { p["role"] = "root" })), "role"},
		{"trailing signature bits altered", func() string { // non-canonical base64 of the same signature
			b := []byte(valid)
			last := b[len(b)-1]
			b[len(b)-1] = strings.NewReplacer("A", "B", "Q", "R", "g", "h", "w", "x").Replace(string(last))[0]
			return string(b)
		}(), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.VerifyAccessToken(context.Background(), tc.token)
			if !errors.Is(err, domain.ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken (claims %+v)", err, got)
			}
			t.Logf("refused: %v", err)
			if !reflect.DeepEqual(got, domain.AccessClaims{}) {
				t.Errorf("claims returned with error: %+v", got)
			}
			if tc.reason != "" && !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("err = %q, want it to mention %q", err, tc.reason)
			}
			for _, seg := range strings.Split(tc.token, ".") {
				if len(seg) >= 8 && strings.Contains(err.Error(), seg) {
					t.Errorf("error message quotes the token: %q", err)
				}
			}
		})
	}
}

// TestKeyBindsAlg exercises the per-kid algorithm binding on its own,
// beneath the parser's allow-list, so neither fence depends on the other.
func TestKeyBindsAlg(t *testing.T) {
	es := testKey(t, AlgES256, "main")
	v := mustVerifier(t, testConfig(t0), es)
	for _, alg := range []string{"none", "HS256", "HS512", "RS256", "PS256", "ES384", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			tok := &jwtlib.Token{
				Header: map[string]any{"alg": alg, "kid": es.ID(), "typ": "at+jwt"},
				Method: jwtlib.GetSigningMethod(alg),
			}
			if key, err := v.keyFor(tok); err != rejectAlg {
				t.Fatalf("keyFor = %v, %v; want rejectAlg", key, err)
			}
		})
	}
	ok := &jwtlib.Token{Header: validHeader(es), Method: jwtlib.SigningMethodES256}
	if key, err := v.keyFor(ok); err != nil || key == nil {
		t.Fatalf("keyFor(valid) = %v, %v", key, err)
	}
}

func TestAcceptedVariants(t *testing.T) {
	k := testKey(t, AlgES256, "main")
	v := mustVerifier(t, testConfig(t0), k)
	tests := []struct {
		name    string
		header  func(map[string]any)
		payload func(jwtlib.MapClaims)
	}{
		{"typ application/at+jwt", func(h map[string]any) { h["typ"] = "application/at+jwt" }, nil},
		{"typ upper case", func(h map[string]any) { h["typ"] = "AT+JWT" }, nil},
		{"aud as array", nil, func(p jwtlib.MapClaims) { p["aud"] = []string{"other", testAudience} }},
		{"no nbf", nil, func(p jwtlib.MapClaims) { delete(p, "nbf") }},
		{"exp passed within leeway", nil, func(p jwtlib.MapClaims) { p["exp"] = t0.Add(-5 * time.Second).Unix() }},
		{"nbf ahead within leeway", nil, func(p jwtlib.MapClaims) { p["nbf"] = t0.Add(5 * time.Second).Unix() }},
		{"admin role", nil, func(p jwtlib.MapClaims) { p["role"] = "admin" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h, p := validHeader(k), validPayload(t0)
			if tc.header != nil {
				tc.header(h)
			}
			if tc.payload != nil {
				tc.payload(p)
			}
			tok := sign(t, jwtlib.SigningMethodES256, k.private, h, p)
			if _, err := v.VerifyAccessToken(context.Background(), tok); err != nil {
				t.Fatalf("verify: %v", err)
			}
		})
	}
}

// TestLeeway pins the clock-skew allowance at both edges for the default
// and the maximum leeway.
func TestLeeway(t *testing.T) {
	k := testKey(t, AlgES256, "main")
	tok := mustIssue(t, mustSigner(t, testConfig(t0), k)) // exp = t0+15m
	exp := t0.Add(testTTL)
	tests := []struct {
		name   string
		leeway time.Duration
		now    time.Time
		ok     bool
	}{
		{"default, just before exp+10s", 0, exp.Add(10*time.Second - time.Nanosecond), true},
		{"default, at exp+10s", 0, exp.Add(10 * time.Second), false},
		{"default, nbf 10s ahead", 0, t0.Add(-10 * time.Second), true},
		{"default, nbf 11s ahead", 0, t0.Add(-11 * time.Second), false},
		{"30s, at exp+29s", 30 * time.Second, exp.Add(29 * time.Second), true},
		{"30s, at exp+31s", 30 * time.Second, exp.Add(31 * time.Second), false},
		{"1s, at exp+2s", time.Second, exp.Add(2 * time.Second), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(tc.now)
			cfg.Leeway = tc.leeway
			_, err := mustVerifier(t, cfg, k).VerifyAccessToken(context.Background(), tok)
			if tc.ok && err != nil {
				t.Fatalf("verify: %v", err)
			}
			if !tc.ok && !errors.Is(err, domain.ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken", err)
			}
		})
	}
}

// TestKeyRotation: a verifier with the old and new key accepts tokens from
// both; one with only the new key refuses the old ones.
func TestKeyRotation(t *testing.T) {
	oldKey := testKey(t, AlgES256, "main")
	newKey := testKey(t, AlgEdDSA, "main")
	cfg := testConfig(t0)
	oldTok := mustIssue(t, mustSigner(t, cfg, oldKey))
	newTok := mustIssue(t, mustSigner(t, cfg, newKey))

	both := mustVerifier(t, cfg, newKey, oldKey, newKey) // duplicate is ignored
	for _, tok := range []string{oldTok, newTok} {
		if _, err := both.VerifyAccessToken(context.Background(), tok); err != nil {
			t.Errorf("verify with both keys: %v", err)
		}
	}
	if _, err := mustVerifier(t, cfg, newKey).VerifyAccessToken(context.Background(), oldTok); !errors.Is(err, domain.ErrInvalidToken) {
		t.Errorf("retired key still accepted: %v", err)
	}
	var set struct{ Keys []map[string]any }
	if err := json.Unmarshal(both.JWKS(), &set); err != nil {
		t.Fatal(err)
	}
	if len(set.Keys) != 2 || set.Keys[0]["kid"] != newKey.ID() {
		t.Errorf("JWKS keys = %v, want new key first and no duplicate", set.Keys)
	}
}

func TestConfigRejected(t *testing.T) {
	k := testKey(t, AlgES256, "main")
	tests := []struct {
		name     string
		mut      func(*Config)
		signer   bool // NewSigner must fail
		verifier bool // NewVerifier must fail
	}{
		{"leeway above 30s", func(c *Config) { c.Leeway = 31 * time.Second }, true, true},
		{"negative leeway", func(c *Config) { c.Leeway = -time.Second }, true, true},
		{"empty issuer", func(c *Config) { c.Issuer = "" }, true, true},
		{"empty audience", func(c *Config) { c.Audience = "" }, true, true},
		{"nil clock", func(c *Config) { c.Clock = nil }, true, true},
		{"zero TTL", func(c *Config) { c.AccessTTL = 0 }, true, false},
		{"sub-second TTL", func(c *Config) { c.AccessTTL = 500 * time.Millisecond }, true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t0)
			tc.mut(&cfg)
			if _, err := NewSigner(cfg, k); (err != nil) != tc.signer {
				t.Errorf("NewSigner err = %v, want error %v", err, tc.signer)
			}
			if _, err := NewVerifier(cfg, k); (err != nil) != tc.verifier {
				t.Errorf("NewVerifier err = %v, want error %v", err, tc.verifier)
			}
		})
	}
	if _, err := NewSigner(testConfig(t0), nil); err == nil {
		t.Error("NewSigner accepted a nil key")
	}
	if _, err := NewVerifier(testConfig(t0)); err == nil {
		t.Error("NewVerifier accepted no keys")
	}
	if _, err := NewVerifier(testConfig(t0), k, nil); err == nil {
		t.Error("NewVerifier accepted a nil key")
	}
	cfg := testConfig(t0)
	cfg.Leeway = MaxLeeway
	if _, err := NewVerifier(cfg, k); err != nil {
		t.Errorf("NewVerifier refused the maximum leeway: %v", err)
	}
}

func TestIssueRefusesInvalidClaims(t *testing.T) {
	s := mustSigner(t, testConfig(t0), testKey(t, AlgES256, "main"))
	tests := []struct {
		name string
		mut  func(*domain.AccessClaims)
	}{
		{"empty user", func(c *domain.AccessClaims) { c.UserID = "" }},
		{"user not a UUID", func(c *domain.AccessClaims) { c.UserID = "alice" }},
		{"session not a UUID", func(c *domain.AccessClaims) { c.SessionID = "s" }},
		{"unknown role", func(c *domain.AccessClaims) { c.Role = "root" }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := testClaims()
			tc.mut(&c)
			if tok, _, err := s.IssueAccessToken(context.Background(), c); err == nil {
				t.Fatalf("issued %q", tok)
			}
		})
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("entropy exhausted") }

func TestJTIFromConfiguredRandom(t *testing.T) {
	k := testKey(t, AlgES256, "main")
	cfg := testConfig(t0)
	cfg.Random = bytes.NewReader(bytes.Repeat([]byte{0xff}, jtiBytes))
	tok := mustIssue(t, mustSigner(t, cfg, k))
	if got, want := decodeSegment(t, tok, 1)["jti"], base64.RawURLEncoding.EncodeToString(bytes.Repeat([]byte{0xff}, jtiBytes)); got != want {
		t.Errorf("jti = %v, want %v", got, want)
	}

	cfg.Random = failingReader{}
	if _, _, err := mustSigner(t, cfg, k).IssueAccessToken(context.Background(), testClaims()); err == nil {
		t.Error("issued a token without entropy for jti")
	}

	cfg.Random = nil // defaults to crypto/rand
	a, b := mustIssue(t, mustSigner(t, cfg, k)), mustIssue(t, mustSigner(t, cfg, k))
	if decodeSegment(t, a, 1)["jti"] == decodeSegment(t, b, 1)["jti"] {
		t.Error("two tokens share a jti")
	}
}

// TestConcurrentVerify runs under -race: one Verifier serves every request.
func TestConcurrentVerify(t *testing.T) {
	k := testKey(t, AlgES256, "main")
	cfg := testConfig(t0)
	s, v := mustSigner(t, cfg, k), mustVerifier(t, cfg, k)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 20 {
				tok, _, err := s.IssueAccessToken(context.Background(), testClaims())
				if err != nil {
					t.Error(err)
					return
				}
				if _, err := v.VerifyAccessToken(context.Background(), tok); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
}
