package argon2

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"regexp"
	"strings"
	"testing"

	xargon2 "golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// cheap keeps real hashing fast under -race; only the OWASP round trip and
// the benchmarks pay for production parameters.
var cheap = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func pw(t testing.TB, s string) domain.Password {
	t.Helper()
	p, err := domain.LoginPassword(s)
	if err != nil {
		t.Fatalf("LoginPassword(%q): %v", s, err)
	}
	return p
}

func mustHash(t testing.TB, h *Hasher, password string) string {
	t.Helper()
	enc, err := h.Hash(context.Background(), pw(t, password))
	if err != nil {
		t.Fatalf("Hash: %v", err)
	}
	return enc
}

func verify(t testing.TB, h *Hasher, password, encoded string) ports.PasswordVerdict {
	t.Helper()
	v, err := h.Verify(context.Background(), pw(t, password), encoded)
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	return v
}

var phcFormat = regexp.MustCompile(`^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$`)

func TestHashVerifyRoundTrip(t *testing.T) {
	h := New(cheap, GateConfig{}, rand.Reader)
	tests := []struct {
		name, password, wrong string
	}{
		{"ascii", "correct horse battery staple", "correct horse battery stapler"},
		{"unicode", "pässwörd-密码-🔑", "passwörd-密码-🔑"},
		{"case matters", "Password123", "password123"},
		{"trailing space matters", "password ", "password"},
		{"nul byte", "pass\x00word", "pass"},
		{"max length", strings.Repeat("x", domain.MaxPasswordBytes), strings.Repeat("x", domain.MaxPasswordBytes-1)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			enc := mustHash(t, h, tc.password)
			if got := verify(t, h, tc.password, enc); got != (ports.PasswordVerdict{Match: true}) {
				t.Errorf("right password: got %+v, want match without rehash", got)
			}
			if got := verify(t, h, tc.wrong, enc); got != (ports.PasswordVerdict{}) {
				t.Errorf("wrong password: got %+v, want no match", got)
			}
		})
	}
}

func TestHashFormat(t *testing.T) {
	h := New(OWASP, GateConfig{}, rand.Reader)
	h.derive = func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		// The format is under test here, not the KDF: skip 19 MiB of work.
		return make([]byte, keyLen)
	}
	a := mustHash(t, h, "same password")
	b := mustHash(t, h, "same password")

	for _, enc := range []string{a, b} {
		m := phcFormat.FindStringSubmatch(enc)
		if m == nil {
			t.Fatalf("%q does not match %v", enc, phcFormat)
		}
		if m[1] != "19456" || m[2] != "2" || m[3] != "1" {
			t.Errorf("params m=%s,t=%s,p=%s, want OWASP m=19456,t=2,p=1", m[1], m[2], m[3])
		}
		if salt, _ := base64.RawStdEncoding.DecodeString(m[4]); len(salt) != 16 {
			t.Errorf("salt is %d bytes, want 16", len(salt))
		}
		if key, _ := base64.RawStdEncoding.DecodeString(m[5]); len(key) != 32 {
			t.Errorf("key is %d bytes, want 32", len(key))
		}
	}
	if a == b {
		t.Errorf("two hashes of one password are equal (%s): salt not random", a)
	}
}

// TestHashEncodesExactly pins the output byte for byte with a fixed salt, so
// the encoder cannot drift from the reference format (e.g. to padded base64).
func TestHashEncodesExactly(t *testing.T) {
	salt := []byte("0123456789abcdef")
	h := New(cheap, GateConfig{}, bytes.NewReader(salt))
	key := xargon2.IDKey([]byte("hunter2hunter2"), salt, 1, 64, 1, 32)
	want := "$argon2id$v=19$m=64,t=1,p=1$MDEyMzQ1Njc4OWFiY2RlZg$" + base64.RawStdEncoding.EncodeToString(key)
	if got := mustHash(t, h, "hunter2hunter2"); got != want {
		t.Errorf("Hash = %s\nwant   %s", got, want)
	}
}

func TestHashSaltSourceFails(t *testing.T) {
	h := New(cheap, GateConfig{}, bytes.NewReader([]byte("short")))
	if _, err := h.Hash(context.Background(), pw(t, "password1")); err == nil {
		t.Fatal("Hash with an exhausted salt source succeeded")
	}
	if n := h.Gate().InUse(); n != 0 {
		t.Errorf("InUse = %d after failed Hash, want 0", n)
	}
}

func TestOWASPRoundTrip(t *testing.T) {
	h := New(OWASP, GateConfig{}, rand.Reader)
	if h.Params() != OWASP {
		t.Fatalf("Params() = %+v, want OWASP", h.Params())
	}
	enc := mustHash(t, h, "correct horse battery staple")
	if !strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$") {
		t.Errorf("hash %q lacks the OWASP prefix", enc)
	}
	if got := verify(t, h, "correct horse battery staple", enc); got != (ports.PasswordVerdict{Match: true}) {
		t.Errorf("got %+v, want match without rehash", got)
	}
	if got := verify(t, h, "correct horse battery stapl", enc); got.Match {
		t.Error("wrong password matched")
	}
}

// TestEveryByteCounts guards against bcrypt-style truncation: the passwords
// share their first 90 bytes.
func TestEveryByteCounts(t *testing.T) {
	a := strings.Repeat("a", 100)
	b := a[:90] + "b" + a[91:]
	h := New(cheap, GateConfig{}, rand.Reader)
	for _, tc := range []struct{ stored, presented string }{{a, b}, {b, a}} {
		enc := mustHash(t, h, tc.stored)
		if verify(t, h, tc.presented, enc).Match {
			t.Errorf("passwords differing only at byte 90 matched")
		}
		if !verify(t, h, tc.stored, enc).Match {
			t.Errorf("100-byte password does not match itself")
		}
	}
}

func TestKnownAnswers(t *testing.T) {
	// Self-built: the KDF called directly, the string assembled by hand.
	salt := []byte("fixed-salt-16byt")
	key := xargon2.IDKey([]byte("password"), salt, 1, 64, 1, 32)
	selfBuilt := "$argon2id$v=19$m=64,t=1,p=1$" + base64.RawStdEncoding.EncodeToString(salt) + "$" + base64.RawStdEncoding.EncodeToString(key)

	tests := []struct {
		name, encoded string
	}{
		{"self-built m=64,t=1,p=1", selfBuilt},
		// Published vectors from the reference implementation's test suite
		// (P-H-C/phc-winner-argon2 src/test.c, Argon2id, v=0x13): password
		// "password", salt "somesalt" (8 bytes, the minimum we accept).
		{"phc-winner-argon2 m=256,t=2,p=1", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
		{"phc-winner-argon2 m=256,t=2,p=2", "$argon2id$v=19$m=256,t=2,p=2$c29tZXNhbHQ$bQk8UB/VmZZF4Oo79iDXuL5/0ttZwg2f/5U52iv1cDc"},
		{"phc-winner-argon2 m=65536,t=2,p=1 (64 MiB)", "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"},
	}
	h := New(cheap, GateConfig{}, rand.Reader)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if testing.Short() && strings.Contains(tc.name, "MiB") {
				t.Skip("64 MiB vector skipped in -short")
			}
			if !verify(t, h, "password", tc.encoded).Match {
				t.Error("known answer does not verify")
			}
			if verify(t, h, "passwore", tc.encoded).Match {
				t.Error("known answer verifies a wrong password")
			}
		})
	}
}

func TestNeedsRehash(t *testing.T) {
	const password = "correct horse battery staple"
	weak := New(cheap, GateConfig{}, rand.Reader)
	owasp := New(OWASP, GateConfig{}, rand.Reader)
	// The OWASP verifier stays cheap here: Verify recomputes with the
	// stored parameters, not its own.
	bcryptHash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	variant := func(p Params) string {
		return mustHash(t, New(p, GateConfig{}, rand.Reader), password)
	}

	tests := []struct {
		name     string
		verifier *Hasher
		stored   string
		password string
		want     ports.PasswordVerdict
	}{
		{"weaker params upgrade", owasp, mustHash(t, weak, password), password, ports.PasswordVerdict{Match: true, NeedsRehash: true}},
		{"weaker params, wrong password", owasp, mustHash(t, weak, password), "nope nope", ports.PasswordVerdict{}},
		{"same params", weak, mustHash(t, weak, password), password, ports.PasswordVerdict{Match: true}},
		{"time differs", weak, variant(Params{Memory: 64, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}), password, ports.PasswordVerdict{Match: true, NeedsRehash: true}},
		{"memory differs", weak, variant(Params{Memory: 128, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}), password, ports.PasswordVerdict{Match: true, NeedsRehash: true}},
		{"threads differ", weak, variant(Params{Memory: 64, Time: 1, Threads: 2, SaltLen: 16, KeyLen: 32}), password, ports.PasswordVerdict{Match: true, NeedsRehash: true}},
		{"salt length differs", weak, variant(Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 32, KeyLen: 32}), password, ports.PasswordVerdict{Match: true, NeedsRehash: true}},
		{"key length differs", weak, variant(Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 16}), password, ports.PasswordVerdict{Match: true, NeedsRehash: true}},
		{"bcrypt match", weak, string(bcryptHash), password, ports.PasswordVerdict{Match: true, NeedsRehash: true}},
		{"bcrypt wrong password", weak, string(bcryptHash), "nope nope", ports.PasswordVerdict{}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := verify(t, tc.verifier, tc.password, tc.stored); got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestBcrypt(t *testing.T) {
	prefix72 := strings.Repeat("p", 72)
	hash72, err := bcrypt.GenerateFromPassword([]byte(prefix72), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	short, err := bcrypt.GenerateFromPassword([]byte("password1"), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(short, []byte("$2a$")) {
		t.Fatalf("x/crypto wrote %q, expected $2a$", short[:4])
	}
	variant := func(v string) string { return v + string(short[4:]) }

	// x/crypto's CompareHashAndPassword (unlike GenerateFromPassword) does
	// not refuse long passwords: it ignores bytes past 72 and reports a
	// match. That is why Verify checks the length itself.
	if bcrypt.CompareHashAndPassword(hash72, []byte(prefix72+"extra")) != nil {
		t.Log("x/crypto now refuses long passwords itself; Verify's guard is redundant but harmless")
	}

	h := New(cheap, GateConfig{}, rand.Reader)
	tests := []struct {
		name, stored, password string
		match                  bool
	}{
		{"$2a$", variant("$2a$"), "password1", true},
		{"$2b$", variant("$2b$"), "password1", true},
		{"$2y$", variant("$2y$"), "password1", true},
		{"wrong password", variant("$2b$"), "password2", false},
		{"exactly 72 bytes", string(hash72), prefix72, true},
		{"73 bytes sharing the 72-byte prefix", string(hash72), prefix72 + "x", false},
		{"100 bytes sharing the 72-byte prefix", string(hash72), prefix72 + strings.Repeat("x", 28), false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := verify(t, h, tc.password, tc.stored)
			want := ports.PasswordVerdict{Match: tc.match, NeedsRehash: tc.match}
			if got != want {
				t.Errorf("got %+v, want %+v", got, want)
			}
		})
	}
}

// malformedHashes are stored strings Verify must refuse; FuzzVerify seeds
// from them too.
var malformedHashes = []struct{ name, encoded string }{
	{"empty", ""},
	{"plaintext", "password"},
	{"dollar only", "$"},
	{"argon2i", "$argon2i$v=19$m=256,t=2,p=1$c29tZXNhbHQ$iekCn0Y3spW+sCcFanM2xBT63UP2sghkUoHLIUpWRS8"},
	{"argon2d", "$argon2d$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"scrypt", "$scrypt$ln=16,r=8,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"version 16", "$argon2id$v=16$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"version missing", "$argon2id$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"hash missing", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ"},
	{"hash empty", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$"},
	{"salt empty", "$argon2id$v=19$m=256,t=2,p=1$$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"extra part", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4$"},
	{"no leading dollar", "argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"params missing", "$argon2id$v=19$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"p missing", "$argon2id$v=19$m=256,t=2$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"params reordered", "$argon2id$v=19$t=2,m=256,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"keyid param", "$argon2id$v=19$m=256,t=2,p=1,keyid=AAAA$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"signed param", "$argon2id$v=19$m=+256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"leading zero", "$argon2id$v=19$m=0256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"hex param", "$argon2id$v=19$m=0x100,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"param overflows uint32", "$argon2id$v=19$m=4294967296,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"bad base64 salt", "$argon2id$v=19$m=256,t=2,p=1$c29t*XNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"padded base64", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ=$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"url base64 hash", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR_uIPnA4rEsF5h7TKyQwu9U1bMCHGi_4"},
	{"newline in hash", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4r\nEsF5h7TKyQwu9U1bMCHGi/4"},
	{"non-canonical trailing bits", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHR$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"memory 2 GiB", "$argon2id$v=19$m=2097152,t=1,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"memory max uint32", "$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"memory below 8 KiB per lane", "$argon2id$v=19$m=15,t=1,p=2$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"time 0", "$argon2id$v=19$m=256,t=0,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"time 101", "$argon2id$v=19$m=256,t=101,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"time huge", "$argon2id$v=19$m=256,t=4294967295,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"parallelism 0", "$argon2id$v=19$m=256,t=2,p=0$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"parallelism 256 (wraps uint8 to 0)", "$argon2id$v=19$m=4096,t=2,p=256$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"parallelism 255", "$argon2id$v=19$m=4096,t=2,p=255$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"salt 7 bytes", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbA$nf65EOgLrQMR/uIPnA4rEsF5h7TKyQwu9U1bMCHGi/4"},
	{"key 15 bytes", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$nf65EOgLrQMR/uIPnA4r"},
	{"key 65 bytes", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$" + base64.RawStdEncoding.EncodeToString(make([]byte, 65))},
	{"too long", "$argon2id$v=19$m=256,t=2,p=1$c29tZXNhbHQ$" + strings.Repeat("A", 300)},
	{"bcrypt too short", "$2a$04$abc"},
	{"bcrypt too long", "$2a$04$" + strings.Repeat("a", 54)},
	{"bcrypt $2$", "$2$04$" + strings.Repeat("a", 54)},
	{"bcrypt $2x$", "$2x$04$" + strings.Repeat("a", 53)},
	{"bcrypt $3a$", "$3a$04$" + strings.Repeat("a", 53)},
	{"bcrypt cost 03", "$2a$03$" + strings.Repeat("a", 53)},
	{"bcrypt cost 31", "$2a$31$" + strings.Repeat("a", 53)},
	{"bcrypt cost 17", "$2b$17$" + strings.Repeat("a", 53)},
	{"bcrypt cost not digits", "$2a$1a$" + strings.Repeat("a", 53)},
	{"bcrypt missing cost separator", "$2a$04" + strings.Repeat("a", 54)},
	{"bcrypt bad alphabet", "$2a$04$" + strings.Repeat("a", 52) + "+"},
}

func TestVerifyMalformed(t *testing.T) {
	h := New(cheap, GateConfig{}, rand.Reader)
	h.derive = func([]byte, []byte, uint32, uint32, uint8, uint32) []byte {
		t.Error("a malformed argon2id hash reached the KDF")
		return nil
	}
	h.compareBcrypt = func([]byte, []byte) error {
		t.Error("a malformed bcrypt hash reached bcrypt")
		return nil
	}
	for _, tc := range malformedHashes {
		t.Run(tc.name, func(t *testing.T) {
			got, err := h.Verify(context.Background(), pw(t, "password"), tc.encoded)
			if !errors.Is(err, ErrMalformedHash) {
				t.Fatalf("err = %v, want ErrMalformedHash", err)
			}
			if errors.Is(err, domain.ErrUnavailable) {
				t.Error("a malformed hash must not look retryable")
			}
			if got != (ports.PasswordVerdict{}) {
				t.Errorf("verdict %+v alongside an error", got)
			}
			if strings.Contains(err.Error(), "nf65EOgLrQMR") {
				t.Error("error message echoes the stored hash")
			}
		})
	}
}

func TestNewRejectsBadParams(t *testing.T) {
	tests := []struct {
		name string
		p    Params
	}{
		{"zero", Params{}},
		{"threads 0", Params{Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32}},
		{"time 0", Params{Memory: 64, Time: 0, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{"salt 8 (readable, but too short to write)", Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 8, KeyLen: 32}},
		{"key 8", Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8}},
		{"memory 2 GiB", Params{Memory: 2 << 20, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.p.Validate() == nil {
				t.Error("Validate accepted")
			}
			defer func() {
				if recover() == nil {
					t.Error("New did not panic")
				}
			}()
			New(tc.p, GateConfig{}, rand.Reader)
		})
	}
	if err := OWASP.Validate(); err != nil {
		t.Errorf("OWASP.Validate: %v", err)
	}
}
