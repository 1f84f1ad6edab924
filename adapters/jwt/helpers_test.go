package jwt

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jwtlib "github.com/golang-jwt/jwt/v5"

	"github.com/authd/authd/domain"
)

const (
	testIssuer   = "https://auth.example.test"
	testAudience = "authd"
	testTTL      = 15 * time.Minute
	testUser     = "0195f3c2-8a4b-7c3d-9e1f-2a3b4c5d6e7f"
	testSession  = "0195f3c2-8a4b-7c3d-9e1f-000000000001"
)

// t0 is the fixed "now" of every test.
var t0 = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type fixedClock time.Time

func (c fixedClock) Now() time.Time { return time.Time(c) }

func testConfig(now time.Time) Config {
	return Config{
		Issuer:    testIssuer,
		Audience:  testAudience,
		AccessTTL: testTTL,
		Clock:     fixedClock(now),
		Random:    rand.Reader,
	}
}

func testClaims() domain.AccessClaims {
	return domain.AccessClaims{
		UserID: testUser, SessionID: testSession, Role: domain.RoleUser,
		Methods: []domain.AuthMethod{domain.MethodPassword}, AuthTime: t0.Add(-time.Hour + 300*time.Millisecond),
	}
}

// Keys are costly to make (RSA especially), so each named key is made once
// per test binary.
var (
	keysMu sync.Mutex
	keys   = map[string]*Key{}
)

// testKey returns the key called name, of algorithm alg, made on first use.
func testKey(tb testing.TB, alg, name string) *Key {
	tb.Helper()
	keysMu.Lock()
	defer keysMu.Unlock()
	id := alg + "/" + name
	if k, ok := keys[id]; ok {
		return k
	}
	k, err := GenerateKey(alg)
	if err != nil {
		tb.Fatalf("GenerateKey(%s): %v", alg, err)
	}
	keys[id] = k
	return k
}

func mustSigner(tb testing.TB, cfg Config, k *Key) *Signer {
	tb.Helper()
	s, err := NewSigner(cfg, k)
	if err != nil {
		tb.Fatalf("NewSigner: %v", err)
	}
	return s
}

func mustVerifier(tb testing.TB, cfg Config, ks ...*Key) *Verifier {
	tb.Helper()
	v, err := NewVerifier(cfg, ks...)
	if err != nil {
		tb.Fatalf("NewVerifier: %v", err)
	}
	return v
}

func mustIssue(tb testing.TB, s *Signer) string {
	tb.Helper()
	tok, _, err := s.IssueAccessToken(context.Background(), testClaims())
	if err != nil {
		tb.Fatalf("IssueAccessToken: %v", err)
	}
	return tok
}

// validHeader and validPayload describe a token the verifier would accept
// at t0 when signed by k; attack cases start from them and spoil one thing.
func validHeader(k *Key) map[string]any {
	return map[string]any{"alg": k.Alg(), "kid": k.ID(), "typ": "at+jwt"}
}

func validPayload(now time.Time) jwtlib.MapClaims {
	return jwtlib.MapClaims{
		"iss":  testIssuer,
		"aud":  testAudience,
		"sub":  testUser,
		"sid":  testSession,
		"role": "user",
		"iat":  now.Unix(),
		"nbf":  now.Unix(),
		"exp":  now.Add(testTTL).Unix(),
		"jti":  "AAAAAAAAAAAAAAAAAAAAAA",
	}
}

// sign builds a token with an arbitrary header and payload, signed by
// method with key, as anyone holding that key could.
func sign(tb testing.TB, method jwtlib.SigningMethod, key any, header map[string]any, payload jwtlib.MapClaims) string {
	tb.Helper()
	tok := jwtlib.NewWithClaims(method, payload)
	tok.Header = header
	s, err := tok.SignedString(key)
	if err != nil {
		tb.Fatalf("sign: %v", err)
	}
	if method == jwtlib.SigningMethodES256 {
		// In the low-s form authd's signer writes (canonical.go); the
		// high-s twin is tested on its own.
		if s, err = lowS(s); err != nil {
			tb.Fatalf("sign: %v", err)
		}
	}
	return s
}

// rawToken assembles a token from parts without any signing library, for
// shapes golang-jwt would refuse to produce.
func rawToken(tb testing.TB, header, payload any, sig []byte) string {
	tb.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		tb.Fatal(err)
	}
	p, err := json.Marshal(payload)
	if err != nil {
		tb.Fatal(err)
	}
	enc := base64.RawURLEncoding
	return enc.EncodeToString(h) + "." + enc.EncodeToString(p) + "." + enc.EncodeToString(sig)
}

// decodeSegment JSON-decodes segment i (0 header, 1 payload) of tok.
func decodeSegment(tb testing.TB, tok string, i int) map[string]any {
	tb.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		tb.Fatalf("token has %d segments", len(parts))
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		tb.Fatalf("segment %d: %v", i, err)
	}
	m := map[string]any{}
	if err := json.Unmarshal(b, &m); err != nil {
		tb.Fatalf("segment %d: %v", i, err)
	}
	return m
}

func sameClaims(a, b domain.AccessClaims) bool {
	return a.UserID == b.UserID && a.SessionID == b.SessionID && a.Role == b.Role &&
		slices.Equal(a.Methods, b.Methods) && a.AuthTime.Equal(b.AuthTime) &&
		a.IssuedAt.Equal(b.IssuedAt) && a.ExpiresAt.Equal(b.ExpiresAt)
}
