package domain

import (
	"net/mail"
	"strings"
)

// MaxEmailBytes is the longest address accepted (RFC 5321 path limit).
const MaxEmailBytes = 254

// Email is a trimmed, lower-cased, syntactically valid address. The zero
// value is not a valid Email; build one with NewEmail.
type Email struct{ value string }

// NewEmail trims and lower-cases raw and checks that it is a bare address
// (no display name, no angle brackets) of at most MaxEmailBytes bytes.
func NewEmail(raw string) (Email, error) {
	s := strings.ToLower(strings.TrimSpace(raw))
	switch {
	case s == "":
		return Email{}, fieldError("email", CodeRequired, "email is required")
	case len(s) > MaxEmailBytes:
		return Email{}, fieldError("email", CodeTooLong, "email must be at most 254 bytes")
	}
	addr, err := mail.ParseAddress(s)
	if err != nil || addr.Address != s || addr.Name != "" || !strings.Contains(s[strings.LastIndexByte(s, '@')+1:], ".") {
		return Email{}, fieldError("email", CodeInvalid, "email must be a valid address")
	}
	return Email{value: s}, nil
}

// RehydrateEmail wraps an address read back from trusted storage.
func RehydrateEmail(s string) Email { return Email{value: s} }

func (e Email) String() string { return e.value }

// IsZero reports whether e was never set.
func (e Email) IsZero() bool { return e.value == "" }
