package jwt

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"math/big"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/domain"
)

// The JOSE header attacks below are tokens signed correctly (with the real
// key unless the row says otherwise) whose header is hostile. The same
// table seeds FuzzVerifyAccessToken's committed corpus, so every key,
// signature and certificate in it is deterministic: keys are derived from
// fixed labels, ES256 signs with RFC 6979 nonces, Ed25519 is deterministic
// by design, and the claims are validPayload(t0) against a clock fixed at t0.

// fixedES256 derives a P-256 key from label. Only for tests: anyone can
// recompute it.
func fixedES256(tb testing.TB, label string) (*Key, *ecdsa.PrivateKey) {
	tb.Helper()
	scalar := sha256.Sum256([]byte("authd test key: " + label))
	priv, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar[:])
	if err != nil {
		tb.Fatalf("fixed key %q: %v", label, err)
	}
	k, err := newKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return k, priv
}

// fixedEd25519 derives an Ed25519 key from label.
func fixedEd25519(tb testing.TB, label string) (*Key, ed25519.PrivateKey) {
	tb.Helper()
	seed := sha256.Sum256([]byte("authd test key: " + label))
	priv := ed25519.NewKeyFromSeed(seed[:])
	k, err := newKey(priv)
	if err != nil {
		tb.Fatal(err)
	}
	return k, priv
}

// signDeterministic returns header.payload.signature over the exact header
// and payload bytes given (no re-encoding, so duplicate keys, odd spacing
// and non-object headers survive), signed by priv: ES256 with an RFC 6979
// nonce, or EdDSA.
func signDeterministic(tb testing.TB, priv crypto.Signer, header, payload []byte) string {
	tb.Helper()
	input := b64.EncodeToString(header) + "." + b64.EncodeToString(payload)
	return input + "." + b64.EncodeToString(rawSignature(tb, priv, input))
}

// rawSignature is the JWS signature (ES256: r||s, 64 bytes; EdDSA: 64
// bytes) of signingInput.
func rawSignature(tb testing.TB, priv crypto.Signer, signingInput string) []byte {
	tb.Helper()
	switch p := priv.(type) {
	case *ecdsa.PrivateKey:
		digest := sha256.Sum256([]byte(signingInput))
		der, err := p.Sign(nil, digest[:], crypto.SHA256) // nil random: RFC 6979
		if err != nil {
			tb.Fatal(err)
		}
		var rs struct{ R, S *big.Int }
		if _, err := asn1.Unmarshal(der, &rs); err != nil {
			tb.Fatal(err)
		}
		// Low-s, as authd's signer writes them (canonical.go).
		if rs.S.Cmp(p256HalfN) > 0 {
			rs.S.Sub(p256N, rs.S)
		}
		sig := make([]byte, 64)
		rs.R.FillBytes(sig[:32])
		rs.S.FillBytes(sig[32:])
		return sig
	case ed25519.PrivateKey:
		return ed25519.Sign(p, []byte(signingInput))
	}
	tb.Fatalf("rawSignature: unsupported key %T", priv)
	return nil
}

func mustJSON(tb testing.TB, v any) []byte {
	tb.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// certDER is a deterministic certificate for pub issued by signer
// (self-signed when parent is nil).
func certDER(tb testing.TB, cn string, serial int64, pub crypto.PublicKey, parent *x509.Certificate, signer crypto.Signer) []byte {
	tb.Helper()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		Subject:               pkix.Name{CommonName: cn},
		NotBefore:             t0.Add(-24 * time.Hour),
		NotAfter:              t0.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  parent == nil,
	}
	if parent == nil {
		parent = tmpl
	}
	der, err := x509.CreateCertificate(nil, tmpl, parent, pub, signer) // nil random: deterministic signature
	if err != nil {
		tb.Fatal(err)
	}
	return der
}

// headerAttack is one row of the JOSE header attack table.
type headerAttack struct {
	name   string
	token  string
	accept bool   // the variant is legitimate: it must verify
	reason string // for a rejection, a phrase the error must contain ("" when any rejection will do)
}

// headerAttackKeys are the keys the attack verifier trusts and the
// attacker's own keys.
type headerAttackKeys struct {
	es, ed, attacker, attackerRoot *Key
	esPriv, attackerPriv           *ecdsa.PrivateKey
	attackerRootPriv               *ecdsa.PrivateKey
	edPriv                         ed25519.PrivateKey
}

func attackKeys(tb testing.TB) headerAttackKeys {
	var k headerAttackKeys
	k.es, k.esPriv = fixedES256(tb, "real ES256")
	k.ed, k.edPriv = fixedEd25519(tb, "real Ed25519")
	k.attacker, k.attackerPriv = fixedES256(tb, "attacker")
	k.attackerRoot, k.attackerRootPriv = fixedES256(tb, "attacker root CA")
	return k
}

// attackVerifier trusts the real ES256 and Ed25519 keys at t0, so ES256
// and EdDSA are both allowed algorithms in general and only the per-kid
// binding keeps them apart.
func attackVerifier(tb testing.TB, k headerAttackKeys) *Verifier {
	return mustVerifier(tb, testConfig(t0), k.es, k.ed)
}

// corpusAttackerURL stands in for the attacker's server in the committed
// corpus; TestHeaderAttacks uses a live recording server instead.
const corpusAttackerURL = "https://attacker.example/.well-known/jwks.json"

// headerAttacks builds the table. attackerURL is where jku and x5u point.
func headerAttacks(tb testing.TB, k headerAttackKeys, attackerURL string) []headerAttack {
	tb.Helper()
	payload := mustJSON(tb, validPayload(t0))
	realKid := k.es.ID()

	// hdr is the valid header for the real ES256 key with mut applied.
	hdr := func(mut func(map[string]any)) map[string]any {
		h := validHeader(k.es)
		if mut != nil {
			mut(h)
		}
		return h
	}
	real := func(h map[string]any) string { return signDeterministic(tb, k.esPriv, mustJSON(tb, h), payload) }
	realRaw := func(header string) string { return signDeterministic(tb, k.esPriv, []byte(header), payload) }
	byAttacker := func(h map[string]any) string {
		return signDeterministic(tb, k.attackerPriv, mustJSON(tb, h), payload)
	}

	attackerJWK, err := publicJWK(k.attacker.public)
	if err != nil {
		tb.Fatal(err)
	}
	attackerJWK.Kid, attackerJWK.Alg, attackerJWK.Use = k.attacker.ID(), AlgES256, "sig"

	// An attacker chain: a leaf for the attacker's signing key under the
	// attacker's own root, and a lone self-signed certificate.
	rootDER := certDER(tb, "authd root (forged)", 1, k.attackerRoot.public, nil, k.attackerRootPriv)
	root, err := x509.ParseCertificate(rootDER)
	if err != nil {
		tb.Fatal(err)
	}
	leafDER := certDER(tb, "authd", 2, k.attacker.public, root, k.attackerRootPriv)
	selfDER := certDER(tb, "authd", 3, k.attacker.public, nil, k.attackerPriv)
	std := base64.StdEncoding.EncodeToString // x5c is standard base64 (RFC 7515 section 4.1.6)
	chain := []string{std(leafDER), std(rootDER)}

	good := real(hdr(nil))
	parts := strings.Split(good, ".")

	// Padding: a segment re-encoded with '=' padding (and the signature
	// recomputed over it, so only the encoding is wrong).
	padded := base64.URLEncoding.EncodeToString
	padHeader := func() string {
		h := mustJSON(tb, hdr(func(h map[string]any) { h["x"] = "p" })) // a length that needs padding
		for len(h)%3 == 0 {
			h = append(h[:len(h)-1], ' ', '}')
		}
		input := padded(h) + "." + parts[1]
		return input + "." + b64.EncodeToString(rawSignature(tb, k.esPriv, input))
	}()
	sig, _ := b64.DecodeString(parts[2])

	// Standard alphabet: the header padded until its encoding contains '+'
	// or '/', then re-signed over the standard-alphabet segment.
	stdHeader := func() string {
		for i := 0; ; i++ {
			h := mustJSON(tb, hdr(func(h map[string]any) { h["x"] = strings.Repeat("?", i) }))
			seg := base64.RawStdEncoding.EncodeToString(h)
			if strings.ContainsAny(seg, "+/") {
				input := seg + "." + parts[1]
				return input + "." + b64.EncodeToString(rawSignature(tb, k.esPriv, input))
			}
		}
	}()
	stdSig := func() string {
		// RFC 6979 is deterministic, so vary the header until the
		// signature's encoding differs between the two alphabets.
		for i := 0; ; i++ {
			input := b64.EncodeToString(mustJSON(tb, hdr(func(h map[string]any) { h["n"] = i }))) + "." + parts[1]
			s := rawSignature(tb, k.esPriv, input)
			if enc := base64.RawStdEncoding.EncodeToString(s); enc != b64.EncodeToString(s) {
				return input + "." + enc
			}
		}
	}()

	// A token of exactly MaxTokenBytes, and one byte over: pad a header
	// member and, when the length cannot be hit that way, a claim.
	sized := func(n int) string {
		for claimPad := range 4 {
			p := validPayload(t0)
			if claimPad > 0 {
				p["pad"] = strings.Repeat("p", claimPad)
			}
			pl := mustJSON(tb, p)
			build := func(extra int) string {
				return signDeterministic(tb, k.esPriv, mustJSON(tb, hdr(func(h map[string]any) { h["pad"] = strings.Repeat("h", extra) })), pl)
			}
			guess := (n - len(build(0))) * 3 / 4
			for extra := max(0, guess-4); extra <= guess+4; extra++ {
				if tok := build(extra); len(tok) == n {
					return tok
				}
			}
		}
		tb.Fatalf("cannot build a token of %d bytes", n)
		return ""
	}

	dup := func(members ...string) string { return "{" + strings.Join(members, ",") + "}" }
	q := func(s string) string { return string(mustJSON(tb, s)) }
	algM, typM, kidM := `"alg":"ES256"`, `"typ":"at+jwt"`, `"kid":`+q(realKid)

	return []headerAttack{
		// Controls: the genuine shapes verify.
		{name: "control: real ES256 key", token: good, accept: true},
		{name: "control: real Ed25519 key", token: signDeterministic(tb, k.edPriv, mustJSON(tb, validHeader(k.ed)), payload), accept: true},

		// kid: a lookup key, never a path, a query or a C string.
		{name: "kid path traversal", token: real(hdr(func(h map[string]any) { h["kid"] = "../../../../etc/passwd" })), reason: "unknown kid"},
		{name: "kid path traversal to dev null", token: real(hdr(func(h map[string]any) { h["kid"] = "/dev/null" })), reason: "unknown kid"},
		{name: "kid SQL injection", token: real(hdr(func(h map[string]any) { h["kid"] = "' OR 1=1 --" })), reason: "unknown kid"},
		{name: "kid with NUL", token: real(hdr(func(h map[string]any) { h["kid"] = "key\x00" })), reason: "unknown kid"},
		{name: "kid real then NUL", token: real(hdr(func(h map[string]any) { h["kid"] = realKid + "\x00" })), reason: "unknown kid"},
		{name: "kid real then NUL and traversal", token: real(hdr(func(h map[string]any) { h["kid"] = realKid + "\x00../../x" })), reason: "unknown kid"},
		{name: "kid real upper-cased", token: real(hdr(func(h map[string]any) { h["kid"] = strings.ToUpper(realKid) })), reason: "unknown kid"},
		{name: "kid real with trailing space", token: real(hdr(func(h map[string]any) { h["kid"] = realKid + " " })), reason: "unknown kid"},
		{name: "kid 5 KB", token: real(hdr(func(h map[string]any) { h["kid"] = strings.Repeat("k", 5<<10) })), reason: "unknown kid"},
		{name: "kid 10 KB", token: real(hdr(func(h map[string]any) { h["kid"] = strings.Repeat("k", 10<<10) })), reason: "size"},
		{name: "kid number", token: real(hdr(func(h map[string]any) { h["kid"] = 1 })), reason: "kid missing"},
		{name: "kid array of the real kid", token: real(hdr(func(h map[string]any) { h["kid"] = []string{realKid} })), reason: "kid missing"},
		{name: "kid object", token: real(hdr(func(h map[string]any) { h["kid"] = map[string]any{"kid": realKid} })), reason: "kid missing"},
		{name: "kid null", token: real(hdr(func(h map[string]any) { h["kid"] = nil })), reason: "kid missing"},
		{name: "kid empty", token: real(hdr(func(h map[string]any) { h["kid"] = "" })), reason: "kid missing"},
		{name: "kid key name case Kid", token: realRaw(dup(algM, typM, `"Kid":`+q(realKid))), reason: "kid missing"},

		// Key-carrying headers: the key is always chosen by kid among the
		// configured ones; nothing in the token is fetched or trusted.
		{name: "jku attacker JWKS signed by attacker with attacker kid", token: byAttacker(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": k.attacker.ID(), "jku": attackerURL}), reason: "unknown kid"},
		{name: "jku attacker JWKS signed by attacker with real kid", token: byAttacker(hdr(func(h map[string]any) { h["jku"] = attackerURL })), reason: "signature"},
		{name: "jku attacker JWKS signed by attacker without kid", token: byAttacker(hdr(func(h map[string]any) { h["jku"] = attackerURL; delete(h, "kid") })), reason: "kid missing"},
		{name: "jku attacker JWKS on a token the real key signed", token: real(hdr(func(h map[string]any) { h["jku"] = attackerURL })), accept: true},
		{name: "x5u attacker cert signed by attacker with real kid", token: byAttacker(hdr(func(h map[string]any) { h["x5u"] = attackerURL })), reason: "signature"},
		{name: "x5u attacker cert signed by attacker with attacker kid", token: byAttacker(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": k.attacker.ID(), "x5u": attackerURL}), reason: "unknown kid"},
		{name: "jwk attacker key signed by attacker with real kid", token: byAttacker(hdr(func(h map[string]any) { h["jwk"] = attackerJWK })), reason: "signature"},
		{name: "jwk attacker key signed by attacker with its own kid", token: byAttacker(map[string]any{"alg": "ES256", "typ": "at+jwt", "kid": k.attacker.ID(), "jwk": attackerJWK}), reason: "unknown kid"},
		{name: "jwk attacker key signed by attacker without kid", token: byAttacker(hdr(func(h map[string]any) { h["jwk"] = attackerJWK; delete(h, "kid") })), reason: "kid missing"},
		{name: "jwk foreign key on a token the real key signed", token: real(hdr(func(h map[string]any) { h["jwk"] = attackerJWK })), accept: true},
		{name: "x5c attacker chain signed by attacker with real kid", token: byAttacker(hdr(func(h map[string]any) { h["x5c"] = chain })), reason: "signature"},
		{name: "x5c attacker chain signed by attacker without kid", token: byAttacker(hdr(func(h map[string]any) { h["x5c"] = chain; delete(h, "kid") })), reason: "kid missing"},
		{name: "x5c self-signed attacker cert signed by attacker with real kid", token: byAttacker(hdr(func(h map[string]any) { h["x5c"] = []string{std(selfDER)} })), reason: "signature"},
		{name: "x5c attacker chain on a token the real key signed", token: real(hdr(func(h map[string]any) { h["x5c"] = chain })), accept: true},

		// crit: no extension is understood, so any crit is refused
		// (RFC 7515 section 4.1.11).
		{name: "crit unknown extension", token: real(hdr(func(h map[string]any) { h["crit"] = []string{"x-authd-unknown"}; h["x-authd-unknown"] = true })), reason: "crit"},
		{name: "crit b64 false (RFC 7797)", token: real(hdr(func(h map[string]any) { h["crit"] = []string{"b64"}; h["b64"] = false })), reason: "crit"},
		{name: "crit empty list", token: real(hdr(func(h map[string]any) { h["crit"] = []string{} })), reason: "crit"},
		{name: "crit not a list", token: real(hdr(func(h map[string]any) { h["crit"] = "exp" })), reason: "crit"},

		// alg: exact, case-sensitive names only (RFC 7515 section 4.1.1).
		{name: "alg lower case es256", token: real(hdr(func(h map[string]any) { h["alg"] = "es256" })), reason: "unverifiable"},
		{name: "alg mixed case Es256", token: real(hdr(func(h map[string]any) { h["alg"] = "Es256" })), reason: "unverifiable"},
		{name: "alg trailing space", token: real(hdr(func(h map[string]any) { h["alg"] = "ES256 " })), reason: "unverifiable"},
		{name: "alg leading space", token: real(hdr(func(h map[string]any) { h["alg"] = " ES256" })), reason: "unverifiable"},
		{name: "alg with NUL", token: real(hdr(func(h map[string]any) { h["alg"] = "ES256\x00" })), reason: "unverifiable"},
		{name: "alg array", token: real(hdr(func(h map[string]any) { h["alg"] = []string{"ES256"} })), reason: "unverifiable"},
		{name: "alg missing", token: real(hdr(func(h map[string]any) { delete(h, "alg") })), reason: "unverifiable"},
		{name: "alg EdDSA naming the ES256 kid, real Ed25519 key", token: signDeterministic(tb, k.edPriv, mustJSON(tb, hdr(func(h map[string]any) { h["alg"] = AlgEdDSA })), payload), reason: "alg does not match"},
		{name: "alg ES256 naming the Ed25519 kid, real ES256 key", token: real(hdr(func(h map[string]any) { h["kid"] = k.ed.ID() })), reason: "alg does not match"},

		// typ: at+jwt or application/at+jwt, case-insensitive (RFC 9068
		// section 4; media types are case-insensitive).
		{name: "typ JWT", token: real(hdr(func(h map[string]any) { h["typ"] = "JWT" })), reason: "typ"},
		{name: "typ lower case jwt", token: real(hdr(func(h map[string]any) { h["typ"] = "jwt" })), reason: "typ"},
		{name: "typ at+JWT", token: real(hdr(func(h map[string]any) { h["typ"] = "at+JWT" })), accept: true},
		{name: "typ upper case AT+JWT", token: real(hdr(func(h map[string]any) { h["typ"] = "AT+JWT" })), accept: true},
		{name: "typ application/at+jwt", token: real(hdr(func(h map[string]any) { h["typ"] = "application/at+jwt" })), accept: true},
		{name: "typ mixed case Application/AT+JWT", token: real(hdr(func(h map[string]any) { h["typ"] = "Application/AT+JWT" })), accept: true},
		{name: "typ at+jwt with trailing space", token: real(hdr(func(h map[string]any) { h["typ"] = "at+jwt " })), reason: "typ"},
		{name: "typ at+jwt with NUL", token: real(hdr(func(h map[string]any) { h["typ"] = "at+jwt\x00" })), reason: "typ"},
		{name: "typ with media type parameter", token: real(hdr(func(h map[string]any) { h["typ"] = "application/at+jwt; charset=utf-8" })), reason: "typ"},
		{name: "typ application/jwt", token: real(hdr(func(h map[string]any) { h["typ"] = "application/jwt" })), reason: "typ"},
		{name: "typ array", token: real(hdr(func(h map[string]any) { h["typ"] = []string{"at+jwt"} })), reason: "typ"},

		// Duplicate members: RFC 7515 section 4 allows a parser that keeps
		// the lexically last one, which encoding/json does. The verdict
		// follows the last member, and the real key's signature is needed
		// either way.
		{name: "duplicate kid hostile last", token: realRaw(dup(algM, kidM, typM, `"kid":"../../../../etc/passwd"`)), reason: "unknown kid"},
		{name: "duplicate kid real last", token: realRaw(dup(algM, `"kid":"../../../../etc/passwd"`, typM, kidM)), accept: true},
		{name: "duplicate alg none last", token: realRaw(dup(algM, kidM, typM, `"alg":"none"`)), reason: "alg not allowed"},
		{name: "duplicate alg HS256 last", token: realRaw(dup(algM, kidM, typM, `"alg":"HS256"`)), reason: "alg not allowed"},
		{name: "duplicate alg none first", token: realRaw(dup(`"alg":"none"`, kidM, typM, algM)), accept: true},
		{name: "duplicate typ JWT last", token: realRaw(dup(algM, kidM, typM, `"typ":"JWT"`)), reason: "typ"},
		{name: "duplicate crit", token: realRaw(dup(algM, kidM, typM, `"crit":["x"]`, `"crit":null`)), reason: "crit"},
		{name: "attacker signed duplicate kid real last", token: signDeterministic(tb, k.attackerPriv, []byte(dup(algM, `"kid":`+q(k.attacker.ID()), typM, kidM)), payload), reason: "signature"},

		// Header JSON shapes.
		{name: "header is a JSON array", token: realRaw(`[` + string(mustJSON(tb, hdr(nil))) + `]`), reason: "malformed"},
		{name: "header is a JSON string", token: realRaw(`"ES256"`), reason: "malformed"},
		{name: "header is null", token: realRaw(`null`), reason: "unverifiable"},
		{name: "header is an empty object", token: realRaw(`{}`), reason: "unverifiable"},
		{name: "header with trailing data", token: realRaw(string(mustJSON(tb, hdr(nil))) + `{}`), reason: "malformed"},
		{name: "header with a BOM", token: realRaw("\ufeff" + string(mustJSON(tb, hdr(nil)))), reason: "malformed"},
		{name: "header with insignificant whitespace", token: realRaw(" {\n\t" + algM + " ,\r\n" + kidM + ", " + typM + " }\n"), accept: true},
		{name: "header member name escaped", token: realRaw(dup(algM, `"\u006bid":`+q(realKid), typM)), accept: true},
		{name: "header deeply nested member", token: realRaw(dup(algM, kidM, typM, `"x":`+strings.Repeat("[", 2000)+strings.Repeat("]", 2000))), accept: true},

		// Size: the limit is on the whole token, checked before decoding.
		{name: "token of exactly MaxTokenBytes", token: sized(MaxTokenBytes), accept: true},
		{name: "token of MaxTokenBytes+1", token: sized(MaxTokenBytes + 1), reason: "size"},

		// Segments: exactly three, none empty, base64url without padding.
		{name: "many dots appended", token: good + strings.Repeat(".", 100), reason: "malformed"},
		{name: "one dot appended", token: good + ".", reason: "malformed"},
		{name: "dots only", token: "..", reason: "malformed"},
		{name: "many dots only", token: strings.Repeat(".", 64), reason: "malformed"},
		{name: "empty header segment", token: func() string {
			input := "." + parts[1]
			return input + "." + b64.EncodeToString(rawSignature(tb, k.esPriv, input))
		}(), reason: "malformed"},
		{name: "empty payload segment", token: func() string {
			input := parts[0] + "."
			return input + "." + b64.EncodeToString(rawSignature(tb, k.esPriv, input))
		}(), reason: "malformed"},
		{name: "empty signature segment", token: parts[0] + "." + parts[1] + ".", reason: "signature"},
		{name: "header segment padded", token: padHeader, reason: "canonical"},
		{name: "signature segment padded", token: parts[0] + "." + parts[1] + "." + padded(sig), reason: "canonical"},
		{name: "header segment standard alphabet", token: stdHeader, reason: "canonical"},
		{name: "signature segment standard alphabet", token: stdSig, reason: "canonical"},
		{name: "signature DER-encoded instead of r||s", token: func() string {
			digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
			der, err := k.esPriv.Sign(nil, digest[:], crypto.SHA256)
			if err != nil {
				tb.Fatal(err)
			}
			return parts[0] + "." + parts[1] + "." + b64.EncodeToString(der)
		}(), reason: "signature"},
	}
}

// TestHeaderAttacks runs the JOSE header table against a verifier that
// trusts the real keys, and proves nothing in a header made it fetch a URL.
func TestHeaderAttacks(t *testing.T) {
	var hits atomic.Int64
	attacker := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"keys":[]}`))
	}))
	defer attacker.Close()

	k := attackKeys(t)
	v := attackVerifier(t, k)
	rows := headerAttacks(t, k, attacker.URL+"/.well-known/jwks.json")
	for _, tc := range rows {
		t.Run(tc.name, func(t *testing.T) {
			got, err := v.VerifyAccessToken(context.Background(), tc.token)
			if tc.accept {
				if err != nil {
					t.Fatalf("a legitimate variant was refused: %v", err)
				}
				if got.UserID != testUser || got.SessionID != testSession || got.Role != domain.RoleUser {
					t.Fatalf("claims = %+v", got)
				}
				return
			}
			if !errors.Is(err, domain.ErrInvalidToken) {
				t.Fatalf("err = %v, want ErrInvalidToken (claims %+v)", err, got)
			}
			if !reflect.DeepEqual(got, domain.AccessClaims{}) {
				t.Errorf("claims returned with error: %+v", got)
			}
			if tc.reason != "" && !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("err = %q, want it to mention %q", err, tc.reason)
			}
			if msg := rejectionEchoes(err, tc.token); msg != "" {
				t.Error(msg)
			}
		})
	}
	if n := hits.Load(); n != 0 {
		t.Fatalf("the verifier fetched the attacker's jku/x5u URL %d times", n)
	}
}
