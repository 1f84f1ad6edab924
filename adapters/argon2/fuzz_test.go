package argon2

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/authd/authd/domain"
)

// FuzzVerify feeds arbitrary stored strings to Verify. It must never panic,
// and every failure must be ErrMalformedHash (the gate is never saturated
// here). Run with: go test -fuzz FuzzVerify ./adapters/argon2/
func FuzzVerify(f *testing.F) {
	for _, tc := range malformedHashes {
		f.Add(tc.encoded)
	}
	f.Add("$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4")
	f.Add("$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("$2a$04$abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0")

	h := New(cheap, GateConfig{}, rand.Reader)
	// Legal but costly parameters (up to 1 GiB, 100 passes, bcrypt cost 16)
	// would stall the fuzzer, not find bugs. Run the real primitives when
	// they are cheap; otherwise check the preconditions that make them
	// panic and skip the work.
	h.derive = func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		if time < 1 || threads < 1 || keyLen < 1 {
			panic("parser let through parameters the KDF rejects")
		}
		if uint64(memory)*uint64(time) > 4096 {
			return make([]byte, keyLen)
		}
		return xargon2.IDKey(password, salt, time, memory, threads, keyLen)
	}
	h.compareBcrypt = func(hash, password []byte) error {
		if cost, err := bcrypt.Cost(hash); err == nil && cost > 6 {
			return bcrypt.ErrMismatchedHashAndPassword
		}
		return bcrypt.CompareHashAndPassword(hash, password)
	}
	password, err := domain.LoginPassword("password")
	if err != nil {
		f.Fatal(err)
	}

	f.Fuzz(func(t *testing.T, encoded string) {
		v, err := h.Verify(context.Background(), password, encoded)
		if err != nil {
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("Verify(%q): unexpected error %v", encoded, err)
			}
			if v.Match || v.NeedsRehash {
				t.Fatalf("Verify(%q): verdict %+v alongside an error", encoded, v)
			}
			return
		}
		// Whatever parsed must be the canonical spelling of itself.
		if !isBcrypt(encoded) {
			stored, perr := parsePHC(encoded)
			if perr != nil {
				t.Fatalf("Verify accepted %q but parsePHC rejects it: %v", encoded, perr)
			}
			if re := encodePHC(stored.params, stored.salt, stored.key); re != encoded {
				t.Fatalf("non-canonical input accepted:\n in  %q\n out %q", encoded, re)
			}
		}
		if v.NeedsRehash && !v.Match {
			t.Fatalf("Verify(%q): NeedsRehash without Match", encoded)
		}
	})
}
