package jwt

import (
	"crypto/elliptic"
	"math/big"
	"strings"
)

// One token, one spelling. A verified token must be byte-identical to what
// a signer produced, so that nothing downstream (the verified-token cache,
// logs, anyone keying on token bytes) sees two spellings of one token:
//
//   - only the base64url alphabet and the two dots: encoding/base64 skips
//     CR and LF even in strict mode, so "\n" inside a signature would
//     otherwise still verify;
//   - ES256 signatures in low-s form: ECDSA accepts both (r, s) and
//     (r, n-s), so anyone holding a token could mint a second one with the
//     same claims. The signer normalises s; the verifier refuses high s.

var (
	p256N     = elliptic.P256().Params().N
	p256HalfN = new(big.Int).Rsh(p256N, 1)
)

const rejectSpelling rejection = "not in canonical form"

// canonicalChars reports whether token holds only base64url characters and
// dots.
func canonicalChars(token string) bool {
	for i := range len(token) {
		c := token[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c == '-', c == '_', c == '.':
		default:
			return false
		}
	}
	return true
}

// highS reports whether an ES256 signature (r || s, 64 bytes) has s > n/2.
func highS(sig []byte) bool {
	if len(sig) != 64 {
		return false // the signature check refuses it anyway
	}
	return new(big.Int).SetBytes(sig[32:]).Cmp(p256HalfN) > 0
}

// lowS rewrites a compact ES256 token's signature to its low-s twin when
// needed.
func lowS(token string) (string, error) {
	dot := strings.LastIndexByte(token, '.')
	sig, err := b64.DecodeString(token[dot+1:])
	if err != nil {
		return "", err
	}
	if !highS(sig) {
		return token, nil
	}
	s := new(big.Int).SetBytes(sig[32:])
	new(big.Int).Sub(p256N, s).FillBytes(sig[32:])
	return token[:dot+1] + b64.EncodeToString(sig), nil
}
