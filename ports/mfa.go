package ports

import "time"

// TOTP makes and checks time-based one-time passwords (RFC 6238).
type TOTP interface {
	// NewSecret makes a fresh random secret (160 bits) for the account
	// (shown in authenticator apps with the issuer) and returns it base32-encoded
	// without padding, with its otpauth:// URI.
	NewSecret(issuer, account string) (secret, uri string, err error)
	// Match reports the RFC 6238 time step (unix seconds / 30) whose code equals
	// code, trying now's step and one either side; ok false otherwise (also for a
	// malformed code or secret). Comparison in constant time.
	Match(secret, code string, now time.Time) (step int64, ok bool)
}

// SecretBox encrypts small secrets at rest (AES-256-GCM). The context binds a
// ciphertext to its owner (e.g. the user id): opening with another context fails.
type SecretBox interface {
	Seal(plaintext, context []byte) ([]byte, error)
	Open(sealed, context []byte) ([]byte, error)
}
