package domain

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Password policy (OWASP ASVS V2.1): length is the rule, no composition
// rules. The maximum is counted in bytes because every byte is hashed: no
// silent truncation as bcrypt does at 72 bytes.
const (
	MinPasswordChars = 8
	MaxPasswordBytes = 1024
	MaxNameChars     = 100
)

// Password is a plaintext password that passed the policy. It never prints
// its value, so it cannot leak through logs or %v.
type Password struct{ value string }

// NewPassword checks raw against the password policy.
func NewPassword(raw string) (Password, error) {
	switch {
	case raw == "":
		return Password{}, fieldError("password", CodeRequired, "password is required")
	case !utf8.ValidString(raw):
		return Password{}, fieldError("password", CodeInvalid, "password must be valid UTF-8")
	case len(raw) > MaxPasswordBytes:
		return Password{}, fieldError("password", CodeTooLong, "password must be at most 1024 bytes")
	case utf8.RuneCountInString(raw) < MinPasswordChars:
		return Password{}, fieldError("password", CodeTooShort, "password must be at least 8 characters")
	}
	return Password{value: raw}, nil
}

// LoginPassword accepts any non-empty password within the byte limit: login
// must not reveal the policy in force when the account was created.
func LoginPassword(raw string) (Password, error) {
	switch {
	case raw == "":
		return Password{}, fieldError("password", CodeRequired, "password is required")
	case len(raw) > MaxPasswordBytes:
		return Password{}, fieldError("password", CodeTooLong, "password must be at most 1024 bytes")
	}
	return Password{value: raw}, nil
}

// Reveal returns the plaintext, for the password hasher only.
func (p Password) Reveal() string { return p.value }

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
