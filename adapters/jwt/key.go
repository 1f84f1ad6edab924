// Package jwt is the driven adapter that signs and verifies authd's access
// tokens (RFC 9068 JWTs) with golang-jwt. golang-jwt never leaves this
// package: callers see domain claims, domain.ErrInvalidToken and JSON bytes.
package jwt

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"

	jwtlib "github.com/golang-jwt/jwt/v5"
)

// Supported algorithms. Each key type maps to exactly one of them, so the
// algorithm a token may use is decided by the key, never by the token.
const (
	AlgES256 = "ES256"
	AlgRS256 = "RS256"
	AlgEdDSA = "EdDSA"
)

// minRSABits follows NIST SP 800-57: below 2048 bits RSA no longer gives
// 112-bit security.
const minRSABits = 2048

// generatedRSABits is 2048 rather than 3072 because keygen and ephemeral
// dev keys should be quick and RS256 is not the default; 2048 bits is
// acceptable through 2030 (SP 800-57). Operators who want more can load
// their own larger key with LoadKeyPEM.
const generatedRSABits = 2048

// Key is a signing key together with the one algorithm it may be used with
// and its key id. It prints redacted so the private half cannot reach logs.
type Key struct {
	private crypto.Signer
	public  crypto.PublicKey
	alg     string
	method  jwtlib.SigningMethod
	kid     string
}

// LoadKeyPEM reads the first private key in pemBytes (PKCS#8, SEC 1 or
// PKCS#1). An "EC PARAMETERS" block, as written by `openssl ecparam
// -genkey`, is skipped. Only EC P-256, RSA of at least 2048 bits and
// Ed25519 keys are accepted, because those are the algorithms the
// verifier is willing to bind a kid to.
func LoadKeyPEM(pemBytes []byte) (*Key, error) {
	rest := pemBytes
	for {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return nil, errors.New("jwt key: no PEM private key block found")
		}
		if block.Type == "EC PARAMETERS" {
			continue
		}
		if _, encrypted := block.Headers["Proc-Type"]; encrypted {
			return nil, errors.New("jwt key: encrypted PEM keys are not supported")
		}
		var (
			priv any
			err  error
		)
		switch block.Type {
		case "PRIVATE KEY":
			priv, err = x509.ParsePKCS8PrivateKey(block.Bytes)
		case "EC PRIVATE KEY":
			priv, err = x509.ParseECPrivateKey(block.Bytes)
		case "RSA PRIVATE KEY":
			priv, err = x509.ParsePKCS1PrivateKey(block.Bytes)
		case "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE":
			return nil, fmt.Errorf("jwt key: PEM block %q holds no private key; a private key is needed to sign", block.Type)
		case "ENCRYPTED PRIVATE KEY":
			return nil, errors.New("jwt key: encrypted PEM keys are not supported")
		default:
			return nil, fmt.Errorf("jwt key: unsupported PEM block type %q", block.Type)
		}
		if err != nil {
			// The x509 messages describe the structure, never key material.
			return nil, fmt.Errorf("jwt key: parse %s: %w", block.Type, err)
		}
		return newKey(priv)
	}
}

// GenerateKey makes a fresh key for alg from crypto/rand.
func GenerateKey(alg string) (*Key, error) {
	var (
		priv any
		err  error
	)
	switch alg {
	case AlgES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case AlgRS256:
		priv, err = rsa.GenerateKey(rand.Reader, generatedRSABits)
	case AlgEdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("jwt key: unsupported algorithm %q (want %s, %s or %s)", alg, AlgES256, AlgRS256, AlgEdDSA)
	}
	if err != nil {
		return nil, fmt.Errorf("jwt key: generate %s: %w", alg, err)
	}
	return newKey(priv)
}

// newKey binds priv to its algorithm and computes its kid; it is the one
// place where the key-type policy lives.
func newKey(priv any) (*Key, error) {
	k := &Key{}
	switch p := priv.(type) {
	case *ecdsa.PrivateKey:
		if p.Curve != elliptic.P256() {
			return nil, fmt.Errorf("jwt key: EC curve %s is not supported; only P-256 (ES256)", p.Curve.Params().Name)
		}
		k.private, k.public, k.alg, k.method = p, &p.PublicKey, AlgES256, jwtlib.SigningMethodES256
	case *rsa.PrivateKey:
		if bits := p.N.BitLen(); bits < minRSABits {
			return nil, fmt.Errorf("jwt key: RSA key of %d bits is too small; at least %d are required", bits, minRSABits)
		}
		k.private, k.public, k.alg, k.method = p, &p.PublicKey, AlgRS256, jwtlib.SigningMethodRS256
	case ed25519.PrivateKey:
		if len(p) != ed25519.PrivateKeySize {
			return nil, errors.New("jwt key: malformed Ed25519 key")
		}
		k.private, k.public, k.alg, k.method = p, p.Public(), AlgEdDSA, jwtlib.SigningMethodEdDSA
	default:
		return nil, fmt.Errorf("jwt key: unsupported key type %T (want EC P-256, RSA >= 2048 bits or Ed25519)", priv)
	}
	kid, err := thumbprint(k.public)
	if err != nil {
		return nil, err
	}
	k.kid = kid
	return k, nil
}

// MarshalPEM encodes the private key as PKCS#8, the one format every
// supported key type shares, so `authd keygen` output loads back anywhere.
func (k *Key) MarshalPEM() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(k.private)
	if err != nil {
		return nil, fmt.Errorf("jwt key: marshal PKCS#8: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// ID is the RFC 7638 JWK thumbprint of the public key. Deriving the kid
// from the key means the same key always gets the same kid, across
// restarts and replicas, without any registry.
func (k *Key) ID() string { return k.kid }

// Alg is the only JWS algorithm this key signs or verifies with.
func (k *Key) Alg() string { return k.alg }

func (k *Key) String() string   { return "jwt.Key{alg: " + k.alg + ", kid: " + k.kid + "}" }
func (k *Key) GoString() string { return k.String() }

// jwk is the public JSON Web Key form (RFC 7517/7518/8037). It has no field
// for any private member, so a private value cannot be published by mistake.
type jwk struct {
	Kty string `json:"kty"`
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Use string `json:"use"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

var b64 = base64.RawURLEncoding

// publicJWK returns the public parameters of pub as JWK members (kid, alg
// and use are left for the caller).
func publicJWK(pub crypto.PublicKey) (jwk, error) {
	switch p := pub.(type) {
	case *ecdsa.PublicKey:
		if p.Curve != elliptic.P256() {
			return jwk{}, errors.New("jwt key: only P-256 EC keys are supported")
		}
		// Uncompressed point 0x04 || X || Y, each coordinate the full 32
		// bytes as RFC 7518 section 6.2.1.2 requires.
		pt, err := p.Bytes()
		if err != nil || len(pt) != 65 {
			return jwk{}, errors.New("jwt key: invalid EC public key")
		}
		return jwk{Kty: "EC", Crv: "P-256", X: b64.EncodeToString(pt[1:33]), Y: b64.EncodeToString(pt[33:])}, nil
	case *rsa.PublicKey:
		return jwk{Kty: "RSA", N: b64.EncodeToString(p.N.Bytes()), E: b64.EncodeToString(big.NewInt(int64(p.E)).Bytes())}, nil
	case ed25519.PublicKey:
		return jwk{Kty: "OKP", Crv: "Ed25519", X: b64.EncodeToString(p)}, nil
	}
	return jwk{}, fmt.Errorf("jwt key: unsupported public key type %T", pub)
}

// thumbprint computes the RFC 7638 JWK thumbprint: SHA-256 over the
// required members in lexicographic order, without whitespace (RFC 8037
// section 2 for OKP).
func thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := publicJWK(pub)
	if err != nil {
		return "", err
	}
	var canonical any
	switch j.Kty {
	case "EC":
		canonical = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
			Y   string `json:"y"`
		}{j.Crv, j.Kty, j.X, j.Y}
	case "RSA":
		canonical = struct {
			E   string `json:"e"`
			Kty string `json:"kty"`
			N   string `json:"n"`
		}{j.E, j.Kty, j.N}
	case "OKP":
		canonical = struct {
			Crv string `json:"crv"`
			Kty string `json:"kty"`
			X   string `json:"x"`
		}{j.Crv, j.Kty, j.X}
	}
	// encoding/json writes struct fields in declaration order with no
	// whitespace, and base64url values need no escaping.
	b, err := json.Marshal(canonical)
	if err != nil {
		return "", fmt.Errorf("jwt key: thumbprint: %w", err)
	}
	sum := sha256.Sum256(b)
	return b64.EncodeToString(sum[:]), nil
}
