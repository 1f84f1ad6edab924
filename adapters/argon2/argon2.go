// Package argon2 is the password hasher: argon2id in PHC strings for new
// hashes, bcrypt verification for accounts imported from older systems, and
// an admission gate in front of both.
//
// Verification takes its cost parameters from the stored string, so raising
// Params later needs no migration: old hashes still verify and are reported
// as NeedsRehash on the next successful login. Because a stored string can
// therefore choose how much work a login does, parsing is strict and bounded.
package argon2

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	xargon2 "golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Hasher implements ports.PasswordHasher.
type Hasher struct {
	params Params
	gate   *Gate
	random io.Reader

	// The two slow primitives, held as fields so in-package tests can count
	// concurrent calls, inject panics and keep fuzzing cheap.
	derive        func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte
	compareBcrypt func(hash, password []byte) error
}

// New returns a hasher that writes hashes with p, admits work through a
// gate built from gate, and draws salts from random (crypto/rand in
// production; nil means crypto/rand).
//
// New panics if p fails Params.Validate: bad cost parameters are a wiring
// mistake, and failing at start-up beats failing every registration. Call
// Validate first when p comes from configuration.
func New(p Params, gate GateConfig, random io.Reader) *Hasher {
	if err := p.Validate(); err != nil {
		panic(err)
	}
	if random == nil {
		random = rand.Reader
	}
	return &Hasher{
		params:        p,
		gate:          NewGate(gate),
		random:        random,
		derive:        xargon2.IDKey,
		compareBcrypt: bcrypt.CompareHashAndPassword,
	}
}

// Params returns the parameters new hashes are written with.
func (h *Hasher) Params() Params { return h.params }

// Admit sheds load early: it fails at once when the gate's queue is full
// (ports.Admission).
func (h *Hasher) Admit() error { return h.gate.Admit() }

// Gate exposes the admission gate, for its gauges.
func (h *Hasher) Gate() *Gate { return h.gate }

// Hash returns a fresh argon2id PHC string for password. A saturated gate
// yields a *BusyError.
func (h *Hasher) Hash(ctx context.Context, password domain.Password) (string, error) {
	// Draw the salt before taking a slot: it is cheap, and a failing
	// entropy source should not hold capacity.
	salt := make([]byte, h.params.SaltLen)
	if _, err := io.ReadFull(h.random, salt); err != nil {
		return "", fmt.Errorf("argon2: salt: %w", err)
	}
	release, err := h.gate.Acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	p := h.params
	key := h.derive([]byte(password.Reveal()), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	return encodePHC(p, salt, key), nil
}

// Verify checks password against a stored argon2id or bcrypt hash. A
// mismatch is a verdict, not an error; errors are a malformed stored hash
// (ErrMalformedHash), a saturated gate (*BusyError) or a cancelled ctx.
func (h *Hasher) Verify(ctx context.Context, password domain.Password, encoded string) (ports.PasswordVerdict, error) {
	if isBcrypt(encoded) {
		return h.verifyBcrypt(ctx, password, encoded)
	}
	// Parse before taking a slot: a bad row must not cost capacity.
	stored, err := parsePHC(encoded)
	if err != nil {
		return ports.PasswordVerdict{}, err
	}
	release, err := h.gate.Acquire(ctx)
	if err != nil {
		return ports.PasswordVerdict{}, err
	}
	defer release()
	p := stored.params
	key := h.derive([]byte(password.Reveal()), stored.salt, p.Time, p.Memory, p.Threads, p.KeyLen)
	if subtle.ConstantTimeCompare(key, stored.key) != 1 {
		return ports.PasswordVerdict{}, nil
	}
	// Any difference, stronger or weaker, means the hash does not follow the
	// configured policy; the operator's current Params win.
	return ports.PasswordVerdict{Match: true, NeedsRehash: p != h.params}, nil
}

// verifyBcrypt serves accounts imported with bcrypt hashes. A match always
// asks for a rehash, so bcrypt disappears as users log in.
func (h *Hasher) verifyBcrypt(ctx context.Context, password domain.Password, encoded string) (ports.PasswordVerdict, error) {
	if err := checkBcrypt(encoded); err != nil {
		return ports.PasswordVerdict{}, err
	}
	pw := password.Reveal()
	release, err := h.gate.Acquire(ctx)
	if err != nil {
		return ports.PasswordVerdict{}, err
	}
	defer release()
	if len(pw) > maxBcryptPassword {
		// bcrypt never saw more than 72 bytes, so no longer password can be
		// the one it hashed; comparing would only match on the prefix. Still
		// pay the same bcrypt cost, so timing does not tell imported accounts
		// from unknown ones.
		_ = h.compareBcrypt([]byte(encoded), []byte(pw[:maxBcryptPassword]))
		return ports.PasswordVerdict{}, nil
	}
	switch err := h.compareBcrypt([]byte(encoded), []byte(pw)); {
	case err == nil:
		return ports.PasswordVerdict{Match: true, NeedsRehash: true}, nil
	case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword), errors.Is(err, bcrypt.ErrPasswordTooLong):
		return ports.PasswordVerdict{}, nil
	default:
		return ports.PasswordVerdict{}, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
	}
}

var _ ports.PasswordHasher = (*Hasher)(nil)
