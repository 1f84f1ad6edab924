package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// Password policy (OWASP ASVS V2.1): length is the rule, no composition
// rules. The maximum is counted in bytes because every byte is hashed: no
// silent truncation as bcrypt does at 72 bytes.
const (
	MinPasswordChars = 8
	MaxPasswordBytes = 1024
	MaxNameChars     = 100
)

// Password is a plaintext password that passed the policy, normalised to
// Unicode NFKC (NIST SP 800-63B 5.1.1.2), so the same characters typed on
// two keyboards (a precomposed "é" or "e" and a combining accent, a
// full-width digit) are one password. It never prints its value, so it
// cannot leak through logs or %v.
type Password struct {
	value string
	// typed is the password as it came when normalisation changed it:
	// hashes made before passwords were normalised were made from it.
	typed string
}

// NewPassword checks raw against the password policy. U+FFFD is refused:
// it is what a decoder puts in place of bytes that were not UTF-8, so a
// password holding it has lost characters on the way.
func NewPassword(raw string) (Password, error) {
	switch {
	case raw == "":
		return Password{}, fieldError("password", CodeRequired, "password is required")
	case !utf8.ValidString(raw), strings.ContainsRune(raw, utf8.RuneError):
		return Password{}, fieldError("password", CodeInvalid, "password must be valid UTF-8 (it holds U+FFFD or invalid bytes)")
	case len(raw) > MaxPasswordBytes:
		return Password{}, fieldError("password", CodeTooLong, "password must be at most 1024 bytes")
	}
	p := normalised(raw)
	// Both forms must be long enough: NFKC expands a few characters (one
	// "ﷺ" is 18), which must not make a one-character password pass.
	if min(utf8.RuneCountInString(raw), utf8.RuneCountInString(p.value)) < MinPasswordChars {
		return Password{}, fieldError("password", CodeTooShort, "password must be at least 8 characters")
	}
	return p, nil
}

// LoginPassword accepts any non-empty password within the byte limit: login
// must not reveal the policy in force when the account was created.
func LoginPassword(raw string) (Password, error) {
	switch {
	case raw == "":
		return Password{}, fieldError("password", CodeRequired, "password is required")
	case !utf8.ValidString(raw):
		return Password{}, fieldError("password", CodeInvalid, "password must be valid UTF-8")
	case len(raw) > MaxPasswordBytes:
		return Password{}, fieldError("password", CodeTooLong, "password must be at most 1024 bytes")
	}
	return normalised(raw), nil
}

func normalised(raw string) Password {
	n := norm.NFKC.String(raw)
	if n == raw {
		return Password{value: raw}
	}
	return Password{value: n, typed: raw}
}

// Reveal returns the normalised plaintext, for the password hasher only.
func (p Password) Reveal() string { return p.value }

// AsTyped is the password as it came, when normalisation changed it: a
// hash made before passwords were normalised is checked against it once,
// and replaced by a hash of the normalised form on a match.
func (p Password) AsTyped() (Password, bool) {
	if p.typed == "" {
		return Password{}, false
	}
	return Password{value: p.typed}, true
}

func (Password) String() string   { return "[REDACTED]" }
func (Password) GoString() string { return "[REDACTED]" }

// ValidateName checks the optional display name.
func ValidateName(name string) error {
	if !utf8.ValidString(name) {
		return fieldError("name", CodeInvalid, "name must be valid UTF-8")
	}
	// Control characters (NUL, newlines, bidi overrides' neighbours in Cc)
	// have no place in a display name and NUL cannot be stored in Postgres.
	if strings.ContainsFunc(name, unicode.IsControl) {
		return fieldError("name", CodeInvalid, "name must not contain control characters")
	}
	if utf8.RuneCountInString(name) > MaxNameChars {
		return fieldError("name", CodeTooLong, "name must be at most 100 characters")
	}
	return nil
}
