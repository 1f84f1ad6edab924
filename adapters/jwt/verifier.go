package jwt

import (
	"bytes"
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	jwtlib "github.com/golang-jwt/jwt/v5"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// MaxTokenBytes bounds what is base64- and JSON-decoded per request. Our
// tokens are well under 1 KiB (RS256 ones under 1 KiB too), so 8 KiB only
// ever turns away junk, and does so before any work is done.
const MaxTokenBytes = 8 << 10

// verificationKey is the public half of a Key. The verifier never holds a
// private key, so a bug here cannot leak or use one.
type verificationKey struct {
	alg    string
	public crypto.PublicKey
}

// Verifier checks access tokens against a set of public keys chosen by kid.
// It is safe for concurrent use.
type Verifier struct {
	keys   map[string]verificationKey
	parser *jwtlib.Parser
	jwks   []byte
	clock  ports.Clock
	leeway time.Duration
	cache  *verifiedCache // nil when disabled
}

var _ ports.TokenVerifier = (*Verifier)(nil)

// NewVerifier accepts tokens signed by any of keys, so a retiring key can
// keep verifying while a new one signs. The first key is listed first in
// the JWKS.
func NewVerifier(cfg Config, keys ...*Key) (*Verifier, error) {
	leeway, err := cfg.check()
	if err != nil {
		return nil, err
	}
	if len(keys) == 0 {
		return nil, errors.New("jwt config: verifier needs at least one key")
	}
	size := cfg.VerifiedCache
	if size == 0 {
		size = DefaultVerifiedCache
	}
	v := &Verifier{
		keys:   make(map[string]verificationKey, len(keys)),
		clock:  cfg.Clock,
		cache:  newVerifiedCache(size),
		leeway: leeway,
	}
	set := struct {
		Keys []jwk `json:"keys"`
	}{Keys: make([]jwk, 0, len(keys))}
	var algs []string
	for i, k := range keys {
		if k == nil {
			return nil, fmt.Errorf("jwt config: verification key %d is nil", i)
		}
		// The kid is a thumbprint, so an equal kid means the same key.
		if _, dup := v.keys[k.kid]; dup {
			continue
		}
		v.keys[k.kid] = verificationKey{alg: k.alg, public: k.public}
		j, err := publicJWK(k.public)
		if err != nil {
			return nil, err
		}
		j.Kid, j.Alg, j.Use = k.kid, k.alg, "sig"
		set.Keys = append(set.Keys, j)
		if !slices.Contains(algs, k.alg) {
			algs = append(algs, k.alg)
		}
	}
	if v.jwks, err = json.Marshal(set); err != nil {
		return nil, fmt.Errorf("jwt config: encode JWKS: %w", err)
	}
	v.parser = jwtlib.NewParser(
		// The per-kid binding in keyFor is the real rule; this list is a
		// second fence that also stops alg "none" and HMAC before any key
		// lookup.
		jwtlib.WithValidMethods(algs),
		jwtlib.WithIssuer(cfg.Issuer),
		jwtlib.WithAudience(cfg.Audience),
		jwtlib.WithExpirationRequired(),
		jwtlib.WithIssuedAt(),
		jwtlib.WithLeeway(leeway),
		jwtlib.WithTimeFunc(cfg.Clock.Now),
		// One token, one encoding: no alternative spellings of a signature.
		jwtlib.WithStrictDecoding(),
	)
	return v, nil
}

// JWKS is the public key set to serve at /.well-known/jwks.json. It is
// built once from public halves only; each call returns a fresh copy.
func (v *Verifier) JWKS() []byte { return bytes.Clone(v.jwks) }

// rejection is why a token was refused, in a fixed phrase: it goes to logs,
// so it never carries token bytes or other attacker-chosen text.
type rejection string

func (r rejection) Error() string { return string(r) }

const (
	rejectEmpty      rejection = "empty token"
	rejectTooLarge   rejection = "token exceeds size limit"
	rejectCrit       rejection = "crit header not supported"
	rejectType       rejection = "typ is not at+jwt"
	rejectNoKid      rejection = "kid missing"
	rejectUnknownKid rejection = "unknown kid"
	rejectAlg        rejection = "alg does not match the key named by kid"
	rejectNoIat      rejection = "iat missing"
	rejectNoJti      rejection = "jti missing"
	rejectSub        rejection = "sub is not a user id"
	rejectSid        rejection = "sid is not a session id"
	rejectRole       rejection = "role unknown"
)

func invalid(r rejection) error { return fmt.Errorf("%w: %w", domain.ErrInvalidToken, r) }

// VerifyAccessToken returns the claims of a token that passes every check
// of API.md "Access token"; any failure is domain.ErrInvalidToken.
func (v *Verifier) VerifyAccessToken(_ context.Context, token string) (domain.AccessClaims, error) {
	switch {
	case token == "":
		return domain.AccessClaims{}, invalid(rejectEmpty)
	case len(token) > MaxTokenBytes:
		return domain.AccessClaims{}, invalid(rejectTooLarge)
	case !canonicalChars(token):
		return domain.AccessClaims{}, invalid(rejectSpelling)
	}
	digest := sha256.Sum256([]byte(token))
	now := v.clock.Now()
	if claims, ok := v.cache.get(digest, now); ok {
		return claims, nil
	}
	ok, err := v.verify(token)
	if err != nil {
		return domain.AccessClaims{}, err
	}
	v.cache.put(digest, ok, now)
	return ok.claims, nil
}

// verify does every check, uncached, and says in which window the time
// checks hold.
func (v *Verifier) verify(token string) (verified, error) {
	var wire accessClaims
	tok, err := v.parser.ParseWithClaims(token, &wire, v.keyFor)
	if err != nil {
		return verified{}, invalid(classify(err))
	}

	// RFC 9068 section 2.2 makes iat and jti mandatory; golang-jwt only
	// checks them when present.
	if wire.IssuedAt == nil {
		return verified{}, invalid(rejectNoIat)
	}
	if wire.ID == "" {
		return verified{}, invalid(rejectNoJti)
	}
	user, err := domain.ParseUserID(wire.Subject)
	if err != nil {
		return verified{}, invalid(rejectSub)
	}
	session, err := domain.ParseSessionID(wire.SessionID)
	if err != nil {
		return verified{}, invalid(rejectSid)
	}
	role, err := domain.ParseRole(wire.Role)
	if err != nil {
		return verified{}, invalid(rejectRole)
	}
	// Every check passed; refuse a genuine signature's high-s twin all the
	// same (see canonical.go).
	if tok.Method.Alg() == AlgES256 && highS(tok.Signature) {
		return verified{}, invalid(rejectSpelling)
	}
	var methods []domain.AuthMethod
	for _, m := range wire.AMR {
		methods = append(methods, domain.AuthMethod(m))
	}
	var authTime time.Time
	if wire.AuthTime != nil {
		authTime = wire.AuthTime.UTC()
	}
	from := wire.IssuedAt.Time
	if wire.NotBefore != nil && wire.NotBefore.After(from) {
		from = wire.NotBefore.Time
	}
	return verified{
		claims: domain.AccessClaims{
			UserID:    user,
			SessionID: session,
			Role:      role,
			Methods:   methods,
			AuthTime:  authTime,
			IssuedAt:  wire.IssuedAt.UTC(),
			ExpiresAt: wire.ExpiresAt.UTC(), // present: WithExpirationRequired
		},
		from:  from.Add(-v.leeway),
		until: wire.ExpiresAt.Add(v.leeway),
	}, nil
}

// keyFor picks the verification key by kid and insists that the token's
// alg is the one bound to that key (RFC 8725 section 3.1): the token never
// gets to choose how it is checked.
func (v *Verifier) keyFor(t *jwtlib.Token) (any, error) {
	// RFC 7515 section 4.1.11: unknown critical extensions must be refused,
	// and we understand none.
	if _, ok := t.Header["crit"]; ok {
		return nil, rejectCrit
	}
	if typ, _ := t.Header["typ"].(string); !isAccessTokenType(typ) {
		return nil, rejectType
	}
	kid, _ := t.Header["kid"].(string)
	if kid == "" {
		return nil, rejectNoKid
	}
	k, ok := v.keys[kid]
	if !ok {
		return nil, rejectUnknownKid
	}
	if alg, _ := t.Header["alg"].(string); alg != k.alg || t.Method.Alg() != k.alg {
		return nil, rejectAlg
	}

	return k.public, nil
}

// isAccessTokenType accepts both spellings RFC 9068 section 4 allows; media
// types are case-insensitive.
func isAccessTokenType(typ string) bool {
	return strings.EqualFold(typ, tokenType) || strings.EqualFold(typ, "application/"+tokenType)
}

// classify turns a golang-jwt error into fixed phrases. Its messages are
// not passed on: they are library-shaped and may quote decoded input.
func classify(err error) rejection {
	var r rejection
	if errors.As(err, &r) {
		return r
	}
	reasons := []struct {
		target error
		phrase string
	}{
		{jwtlib.ErrTokenMalformed, "malformed"},
		{jwtlib.ErrTokenSignatureInvalid, "signature invalid or alg not allowed"},
		{jwtlib.ErrTokenExpired, "expired"},
		{jwtlib.ErrTokenNotValidYet, "not valid yet (nbf)"},
		{jwtlib.ErrTokenUsedBeforeIssued, "issued in the future (iat)"},
		{jwtlib.ErrTokenInvalidIssuer, "wrong iss"},
		{jwtlib.ErrTokenInvalidAudience, "wrong aud"},
		{jwtlib.ErrTokenRequiredClaimMissing, "required claim missing"},
		{jwtlib.ErrInvalidType, "claim has wrong type"},
		{jwtlib.ErrTokenUnverifiable, "unverifiable (alg unknown or unusable)"},
	}
	var phrases []string
	for _, c := range reasons {
		if errors.Is(err, c.target) {
			phrases = append(phrases, c.phrase)
		}
	}
	if len(phrases) == 0 {
		return "rejected"
	}
	return rejection(strings.Join(phrases, ", "))
}
