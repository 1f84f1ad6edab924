package jwt

// Regression tests for two weaknesses that fuzzing the verifier found:
// a signed token had other spellings that still verified. canonical.go
// closes both.

import (
	"bytes"
	"context"
	"crypto/elliptic"
	"math/big"
	"strings"
	"testing"
)

// TestTokenHasOneSpelling: "one token, one encoding". Two spellings of a
// signed token used to verify:
//
//   - CR or LF anywhere in the signature segment: encoding/base64 skips
//     them even in Strict mode, and the signature is not part of the
//     signing input, so the signature still checks. (Over HTTP a header
//     value cannot carry CR/LF, so this needs a caller that passes a
//     token from elsewhere.)
//   - ES256 (r, s) rewritten as (r, n-s): ECDSA signatures are malleable
//     and crypto/ecdsa accepts both halves; JWS does not require low-s.
//     Anyone holding a token can mint a second, byte-different token with
//     the same claims (different SHA-256 in the verified-token cache, in
//     logs, and in any denylist keyed by token bytes).
//
// Neither forges claims; both break the one-spelling property the fuzz
// target checks (accepted => byte-identical to a token the test signed).
func TestTokenHasOneSpelling(t *testing.T) {
	k := attackKeys(t)
	cfg := testConfig(t0)
	cfg.VerifiedCache = -1
	v := mustVerifier(t, cfg, k.es, k.ed)
	good := signDeterministic(t, k.esPriv, mustJSON(t, validHeader(k.es)), mustJSON(t, validPayload(t0)))
	if _, err := v.VerifyAccessToken(context.Background(), good); err != nil {
		t.Fatalf("control: %v", err)
	}
	parts := strings.Split(good, ".")
	sig, err := b64.DecodeString(parts[2])
	if err != nil {
		t.Fatal(err)
	}
	n := elliptic.P256().Params().N
	flipped := bytes.Clone(sig)
	new(big.Int).Sub(n, new(big.Int).SetBytes(sig[32:])).FillBytes(flipped[32:])

	variants := map[string]string{
		"LF inside the signature":   good[:len(good)-10] + "\n" + good[len(good)-10:],
		"CRLF after the signature":  good + "\r\n",
		"CR inside the signature":   good[:len(good)-3] + "\r" + good[len(good)-3:],
		"ES256 s replaced by n - s": parts[0] + "." + parts[1] + "." + b64.EncodeToString(flipped),
	}
	ed := signDeterministic(t, k.edPriv, mustJSON(t, validHeader(k.ed)), mustJSON(t, validPayload(t0)))
	variants["EdDSA with LF in the signature"] = ed[:len(ed)-5] + "\n" + ed[len(ed)-5:]
	for name, tok := range variants {
		t.Run(name, func(t *testing.T) {
			if tok == good {
				t.Fatal("variant equals the original")
			}
			if claims, err := v.VerifyAccessToken(context.Background(), tok); err == nil {
				t.Errorf("a second spelling of a signed token verified (%+v): want ErrInvalidToken", claims)
			}
		})
	}
}

// TestSignerWritesLowS: the signer normalises every ES256 signature, so
// the verifier's refusal of high s never hits a token authd issued.
func TestSignerWritesLowS(t *testing.T) {
	cfg := testConfig(t0)
	s := mustSigner(t, cfg, testKey(t, AlgES256, "main"))
	v := mustVerifier(t, cfg, testKey(t, AlgES256, "main"))
	for range 200 { // a high s comes up about every other signature
		tok, _, err := s.IssueAccessToken(context.Background(), testClaims())
		if err != nil {
			t.Fatal(err)
		}
		sig, err := b64.DecodeString(tok[strings.LastIndexByte(tok, '.')+1:])
		if err != nil || highS(sig) {
			t.Fatalf("issued a high-s or undecodable signature: %v", err)
		}
		if _, err := v.VerifyAccessToken(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
}
