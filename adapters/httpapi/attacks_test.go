package httpapi_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
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
