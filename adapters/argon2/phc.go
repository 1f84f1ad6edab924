package argon2

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ErrMalformedHash: the stored hash is not one this package can verify. It
// is deliberately not domain.ErrUnavailable (retrying will not help) and not
// a silent mismatch (a corrupt row must be noticed, not look like a typo'd
// password).
var ErrMalformedHash = errors.New("argon2: malformed password hash")

// Bounds on what a stored hash may ask for. Verify recomputes with the
// parameters in the string, so without limits a corrupt or planted row could
// make one login allocate gigabytes or spin for hours. They are wide enough
// for hashes imported from other argon2id and bcrypt libraries.
const (
	minMemory   = 8       // KiB per lane: argon2's own minimum is 8*p
	maxMemory   = 1 << 20 // KiB = 1 GiB
	minTime     = 1
	maxTime     = 100
	minThreads  = 1
	maxThreads  = 16 // lanes run as goroutines the gate does not count; keep them few
	minSaltLen  = 8  // the PHC/RFC 9106 minimum; our own hashes use 16
	maxSaltLen  = 64
	minKeyLen   = 16
	maxKeyLen   = 64
	minHashSalt = 16 // what New demands for hashes it writes itself

	// maxEncodedLen bounds the input before any splitting or decoding; the
	// longest legal string (64-byte salt and key, 7-digit m, 3-digit t) is
	// well under 256 bytes.
	maxEncodedLen = 256

	// bcrypt work doubles per cost step: cost 10 is ~50ms, cost 31 would be
	// days. 16 (~4s) is beyond any sane production setting.
	maxBcryptCost = 16
	// bcrypt keys blowfish with at most 72 bytes and x/crypto's
	// CompareHashAndPassword silently ignores the rest, so longer passwords
	// must be refused before comparing.
	maxBcryptPassword = 72
)

// Params are the argon2id cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over memory
	Threads uint8  // lanes
	SaltLen uint32 // bytes
	KeyLen  uint32 // bytes
}

// OWASP is the OWASP Password Storage Cheat Sheet's argon2id setting
// (m=19 MiB, t=2, p=1): the minimum it recommends, chosen to keep a login
// around tens of milliseconds on one core.
var OWASP = Params{Memory: 19456, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Validate reports whether p may be used to write new hashes. It applies the
// same bounds Verify enforces on stored hashes, so every hash this package
// writes it can also read back, plus a 16-byte salt minimum for new hashes.
func (p Params) Validate() error {
	if p.SaltLen < minHashSalt {
		return fmt.Errorf("argon2 params: salt length %d below %d bytes", p.SaltLen, minHashSalt)
	}
	return p.checkBounds()
}

func (p Params) checkBounds() error {
	switch {
	case p.Threads < minThreads || p.Threads > maxThreads:
		return fmt.Errorf("argon2 params: parallelism %d outside %d..%d", p.Threads, minThreads, maxThreads)
	case p.Memory < minMemory*uint32(p.Threads) || p.Memory > maxMemory:
		return fmt.Errorf("argon2 params: memory %d KiB outside %d..%d", p.Memory, minMemory*uint32(p.Threads), maxMemory)
	case p.Time < minTime || p.Time > maxTime:
		return fmt.Errorf("argon2 params: time %d outside %d..%d", p.Time, minTime, maxTime)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("argon2 params: salt length %d outside %d..%d", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("argon2 params: key length %d outside %d..%d", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// phcHash is a parsed argon2id PHC string.
type phcHash struct {
	params Params
	salt   []byte
	key    []byte
}

// encodePHC writes the format of the reference implementation
// (argon2 encoding.c): `$argon2id$v=19$m=..,t=..,p=..$salt$hash`, unpadded
// standard base64.
func encodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$%s$%s",
		p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt),
		base64.RawStdEncoding.EncodeToString(key))
}

// malformed wraps ErrMalformedHash with a reason. The stored string itself
// is never echoed: it may end up in logs, and it is a password verifier.
func malformed(reason string) error {
	return fmt.Errorf("%w: %s", ErrMalformedHash, reason)
}

// parsePHC accepts exactly one spelling of each argon2id hash: the one the
// reference implementation writes. Optional fields (keyid, data), other
// versions, reordered or padded parameters and non-canonical base64 are all
// refused, so a hash has one meaning and odd inputs fail loudly.
func parsePHC(s string) (phcHash, error) {
	if len(s) > maxEncodedLen {
		return phcHash{}, malformed("too long")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return phcHash{}, malformed("not a PHC string")
	}
	if parts[1] != "argon2id" {
		return phcHash{}, malformed("unsupported algorithm")
	}
	if parts[2] != "v=19" {
		return phcHash{}, malformed("unsupported argon2 version")
	}
	fields := strings.Split(parts[3], ",")
	if len(fields) != 3 {
		return phcHash{}, malformed("want parameters m,t,p")
	}
	var mtp [3]uint32
	for i, name := range [3]string{"m=", "t=", "p="} {
		v, ok := strings.CutPrefix(fields[i], name)
		if !ok {
			return phcHash{}, malformed("want parameters m,t,p in that order")
		}
		n, err := parseDecimal(v)
		if err != nil {
			return phcHash{}, malformed("parameter " + name[:1] + ": " + err.Error())
		}
		mtp[i] = n
	}
	if mtp[2] > maxThreads {
		return phcHash{}, malformed(fmt.Sprintf("parallelism %d above %d", mtp[2], maxThreads))
	}
	salt, err := decodeBase64(parts[4])
	if err != nil {
		return phcHash{}, malformed("salt: " + err.Error())
	}
	key, err := decodeBase64(parts[5])
	if err != nil {
		return phcHash{}, malformed("hash: " + err.Error())
	}
	p := Params{
		Memory:  mtp[0],
		Time:    mtp[1],
		Threads: uint8(mtp[2]),
		SaltLen: uint32(len(salt)),
		KeyLen:  uint32(len(key)),
	}
	if err := p.checkBounds(); err != nil {
		return phcHash{}, malformed(err.Error())
	}
	return phcHash{params: p, salt: salt, key: key}, nil
}

// parseDecimal reads a canonical unsigned decimal: digits only, no sign, no
// leading zero, at most 32 bits.
func parseDecimal(s string) (uint32, error) {
	if s == "" || len(s) > 10 {
		return 0, errors.New("not a decimal number")
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, errors.New("not a decimal number")
		}
	}
	if s[0] == '0' && len(s) > 1 {
		return 0, errors.New("leading zero")
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, errors.New("out of range")
	}
	return uint32(n), nil
}

// decodeBase64 decodes unpadded standard base64 and insists on the canonical
// form: the decoder alone ignores CR/LF and, even in strict mode, leaves the
// encoding malleable in that way.
func decodeBase64(s string) ([]byte, error) {
	b, err := base64.RawStdEncoding.Strict().DecodeString(s)
	if err != nil || base64.RawStdEncoding.EncodeToString(b) != s {
		return nil, errors.New("not canonical unpadded base64")
	}
	return b, nil
}

// isBcrypt reports whether s claims to be a modular-crypt bcrypt hash; it
// says nothing about whether the rest is well formed.
func isBcrypt(s string) bool { return strings.HasPrefix(s, "$2") }

// checkBcrypt validates the whole of a bcrypt hash before x/crypto sees it:
// `$2a$`/`$2b$`/`$2y$`, a two-digit cost within bounds, then 53 characters
// of bcrypt's base64 alphabet (22 salt, 31 hash). x/crypto is laxer (any
// minor letter, any cost up to 31), and cost 31 alone would stall a login
// for days.
func checkBcrypt(s string) error {
	const encodedLen = 60
	if len(s) != encodedLen {
		return malformed("bcrypt: wrong length")
	}
	switch s[:4] {
	case "$2a$", "$2b$", "$2y$":
	default:
		return malformed("bcrypt: unsupported variant")
	}
	if s[4] < '0' || s[4] > '9' || s[5] < '0' || s[5] > '9' || s[6] != '$' {
		return malformed("bcrypt: bad cost")
	}
	cost := int(s[4]-'0')*10 + int(s[5]-'0')
	if cost < 4 || cost > maxBcryptCost {
		return malformed(fmt.Sprintf("bcrypt: cost %d outside 4..%d", cost, maxBcryptCost))
	}
	for i := 7; i < len(s); i++ {
		c := s[i]
		if !(c == '.' || c == '/' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return malformed("bcrypt: bad base64")
		}
	}
	return nil
}
