// Package secretbox encrypts small secrets at rest, such as TOTP secrets,
// with AES-256-GCM from the standard library.
//
// A sealed value is
//
//	version (1 byte) || key id (4 bytes) || nonce (12 bytes) || ciphertext || tag (16 bytes)
//
// The key id is the first four bytes of SHA-256 of the key, so a Box built
// with the current key and the previous ones opens what any of them sealed:
// a key rotates without rewriting the stored values at once. The nonce is
// random per Seal (at most 2^32 seals per key keep collisions negligible,
// far beyond a secret per account). The version and key id are
// authenticated with the caller's context.
package secretbox

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"

	"github.com/authd/authd/ports"
)

// KeySize is the size of a key: AES-256.
const KeySize = 32

const (
	version    = 1
	idSize     = 4
	headerSize = 1 + idSize
	nonceSize  = 12
	tagSize    = 16
)

// ErrOpen is every failure to open a sealed value: too short, an unknown
// version or key, tampered bytes or another context. It says no more, on
// purpose.
var ErrOpen = errors.New("secretbox: cannot open sealed value")

type key struct {
	id   [idSize]byte
	aead cipher.AEAD
}

// Box implements ports.SecretBox. It prints redacted: no key material
// reaches logs through fmt.
type Box struct {
	current  key
	previous []key
}

// New returns a Box that seals with current and opens what current or any of
// previous sealed. Every key must be KeySize bytes; the Box keeps no
// reference to the slices.
func New(current []byte, previous ...[]byte) (*Box, error) {
	cur, err := newKey(current)
	if err != nil {
		return nil, err
	}
	b := &Box{current: cur}
	seen := map[[idSize]byte]bool{cur.id: true}
	for i, p := range previous {
		k, err := newKey(p)
		if err != nil {
			return nil, fmt.Errorf("previous key %d: %w", i+1, err)
		}
		if seen[k.id] {
			// The same key twice, or (1 in 2^32) two keys sharing an id:
			// either way the id would not tell which key to use.
			return nil, fmt.Errorf("secretbox: previous key %d has key id %x, already in use", i+1, k.id)
		}
		seen[k.id] = true
		b.previous = append(b.previous, k)
	}
	return b, nil
}

func newKey(raw []byte) (key, error) {
	if len(raw) != KeySize {
		return key{}, fmt.Errorf("secretbox: key is %d bytes, want %d", len(raw), KeySize)
	}
	block, err := aes.NewCipher(raw)
	if err != nil {
		return key{}, fmt.Errorf("secretbox: %w", err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return key{}, fmt.Errorf("secretbox: %w", err)
	}
	sum := sha256.Sum256(raw)
	return key{id: [idSize]byte(sum[:idSize]), aead: aead}, nil
}

// KeyID is the current key's id in hex, for logs.
func (b *Box) KeyID() string { return hex.EncodeToString(b.current.id[:]) }

func (b *Box) String() string   { return "secretbox.Box{key: " + b.KeyID() + "}" }
func (b *Box) GoString() string { return b.String() }

// Seal encrypts plaintext with the current key under a fresh random nonce,
// bound to context.
func (b *Box) Seal(plaintext, context []byte) ([]byte, error) {
	out := make([]byte, headerSize, headerSize+nonceSize+len(plaintext)+tagSize)
	out[0] = version
	copy(out[1:], b.current.id[:])
	return b.current.aead.Seal(out, nil, plaintext, additional(out[:headerSize], context)), nil
}

// Open decrypts what Seal made with a key this Box holds and the same
// context; anything else is ErrOpen.
func (b *Box) Open(sealed, context []byte) ([]byte, error) {
	if len(sealed) < headerSize+nonceSize+tagSize || sealed[0] != version {
		return nil, ErrOpen
	}
	k, ok := b.key([idSize]byte(sealed[1:headerSize]))
	if !ok {
		return nil, ErrOpen
	}
	plaintext, err := k.aead.Open(nil, nil, sealed[headerSize:], additional(sealed[:headerSize], context))
	if err != nil {
		return nil, ErrOpen
	}
	return plaintext, nil
}

func (b *Box) key(id [idSize]byte) (key, bool) {
	if id == b.current.id {
		return b.current, true
	}
	for _, k := range b.previous {
		if id == k.id {
			return k, true
		}
	}
	return key{}, false
}

// additional is the GCM additional data: the fixed-size header, then the
// context, so neither can be shifted into the other.
func additional(header, context []byte) []byte {
	return append(header[:headerSize:headerSize], context...)
}

var _ ports.SecretBox = (*Box)(nil)
