package jwt

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"time"

	jwtlib "github.com/golang-jwt/jwt/v5"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// tokenType is the RFC 9068 "typ" of an access token. It keeps an access
// token from being accepted where another kind of JWT (an ID token, a
// logout token) is expected, and the other way round.
const tokenType = "at+jwt"

const (
	// DefaultLeeway absorbs ordinary clock skew between replicas.
	DefaultLeeway = 10 * time.Second
	// MaxLeeway caps the skew allowance; more would quietly extend every
	// token's life and let "not yet valid" tokens through (API.md: <= 30 s).
	MaxLeeway = 30 * time.Second
)

// jtiBytes gives every token 128 bits of id, enough to never collide.
const jtiBytes = 16

// Config is shared by Signer and Verifier so both sides agree on iss, aud,
// time and leeway.
type Config struct {
	Issuer    string
	Audience  string
	AccessTTL time.Duration // Signer only; at least 1s, as JWT times are whole seconds
	Clock     ports.Clock
	Random    io.Reader     // Signer only: jti source; nil means crypto/rand
	Leeway    time.Duration // 0 means DefaultLeeway; above MaxLeeway is an error
	// VerifiedCache (Verifier only) is how many verified tokens to remember
	// so that a repeat costs no signature check: 0 means
	// DefaultVerifiedCache, negative disables the cache.
	VerifiedCache int
}

// check validates the fields both sides need and returns the effective leeway.
func (c Config) check() (time.Duration, error) {
	var errs []error
	if c.Issuer == "" {
		errs = append(errs, errors.New("issuer is empty"))
	}
	if c.Audience == "" {
		errs = append(errs, errors.New("audience is empty"))
	}
	if c.Clock == nil {
		errs = append(errs, errors.New("clock is nil"))
	}
	leeway := c.Leeway
	switch {
	case leeway == 0:
		leeway = DefaultLeeway
	case leeway < 0:
		errs = append(errs, fmt.Errorf("leeway %v is negative", c.Leeway))
	case leeway > MaxLeeway:
		errs = append(errs, fmt.Errorf("leeway %v exceeds the maximum of %v", c.Leeway, MaxLeeway))
	}
	if err := errors.Join(errs...); err != nil {
		return 0, fmt.Errorf("jwt config: %w", err)
	}
	return leeway, nil
}

// Signer issues access tokens with one private key.
type Signer struct {
	key      *Key
	issuer   string
	audience string
	ttl      time.Duration
	clock    ports.Clock
	random   io.Reader
}

var _ ports.TokenIssuer = (*Signer)(nil)

// NewSigner checks cfg as strictly as the verifier will, so a misconfigured
// signer fails at start rather than minting tokens nobody accepts.
func NewSigner(cfg Config, key *Key) (*Signer, error) {
	if _, err := cfg.check(); err != nil {
		return nil, err
	}
	if key == nil {
		return nil, errors.New("jwt config: signing key is nil")
	}
	if cfg.AccessTTL < time.Second {
		return nil, fmt.Errorf("jwt config: access TTL %v is shorter than one second", cfg.AccessTTL)
	}
	random := cfg.Random
	if random == nil {
		random = rand.Reader
	}
	return &Signer{
		key:      key,
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		ttl:      cfg.AccessTTL,
		clock:    cfg.Clock,
		random:   random,
	}, nil
}

// accessClaims is the wire form of an access token's payload.
type accessClaims struct {
	jwtlib.RegisteredClaims
	SessionID string `json:"sid"`
	Role      string `json:"role"`
	// How and when the user authenticated (RFC 8176 "amr", OpenID Connect
	// "auth_time"). Optional on the way in: tokens issued before they
	// existed stay valid until they expire.
	AMR      []string            `json:"amr,omitempty"`
	AuthTime *jwtlib.NumericDate `json:"auth_time,omitempty"`
}

// IssueAccessToken signs claims. Times are truncated to whole seconds
// because that is all a JWT NumericDate carries here; the returned claims
// then equal what a verifier will read back.
func (s *Signer) IssueAccessToken(_ context.Context, c domain.AccessClaims) (string, domain.AccessClaims, error) {
	// Refuse to sign what the verifier would reject.
	if _, err := domain.ParseUserID(string(c.UserID)); err != nil {
		return "", domain.AccessClaims{}, fmt.Errorf("issue access token: %w", err)
	}
	if _, err := domain.ParseSessionID(string(c.SessionID)); err != nil {
		return "", domain.AccessClaims{}, fmt.Errorf("issue access token: %w", err)
	}
	if _, err := domain.ParseRole(string(c.Role)); err != nil {
		return "", domain.AccessClaims{}, fmt.Errorf("issue access token: %w", err)
	}

	var id [jtiBytes]byte
	if _, err := io.ReadFull(s.random, id[:]); err != nil {
		return "", domain.AccessClaims{}, fmt.Errorf("issue access token: jti entropy: %w", err)
	}
	now := s.clock.Now().UTC().Truncate(time.Second)
	exp := now.Add(s.ttl).Truncate(time.Second)

	wire := accessClaims{
		RegisteredClaims: jwtlib.RegisteredClaims{
			Issuer:    s.issuer,
			Subject:   string(c.UserID),
			Audience:  jwtlib.ClaimStrings{s.audience},
			ExpiresAt: jwtlib.NewNumericDate(exp),
			NotBefore: jwtlib.NewNumericDate(now),
			IssuedAt:  jwtlib.NewNumericDate(now),
			ID:        b64.EncodeToString(id[:]),
		},
		SessionID: string(c.SessionID),
		Role:      string(c.Role),
	}
	for _, m := range c.Methods {
		wire.AMR = append(wire.AMR, string(m))
	}
	if !c.AuthTime.IsZero() {
		c.AuthTime = c.AuthTime.UTC().Truncate(time.Second)
		wire.AuthTime = jwtlib.NewNumericDate(c.AuthTime)
	}
	tok := jwtlib.NewWithClaims(s.key.method, wire)
	tok.Header["kid"] = s.key.kid
	tok.Header["typ"] = tokenType
	signed, err := tok.SignedString(s.key.private)
	if err != nil {
		return "", domain.AccessClaims{}, fmt.Errorf("issue access token: sign: %w", err)
	}
	if s.key.alg == AlgES256 {
		if signed, err = lowS(signed); err != nil {
			return "", domain.AccessClaims{}, fmt.Errorf("issue access token: normalise signature: %w", err)
		}
	}
	c.IssuedAt, c.ExpiresAt = now, exp
	return signed, c, nil
}
