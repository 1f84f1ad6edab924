package domain

import (
	"net/mail"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/net/idna"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// MaxEmailBytes is the longest address accepted (RFC 5321 path limit).
const MaxEmailBytes = 254

// Email is a syntactically valid address in two forms: as the person typed
// it (trimmed, Unicode NFC), which is what mail is sent to and what they
// are shown, and its key, the canonical form that identifies the account
// (the local part in NFKC and case folded, the domain in IDNA ASCII):
// uniqueness and look-ups use the key, so one person has one account
// however they spell the address. The zero value is not a valid Email.
type Email struct{ value, key string }

// idnaProfile maps a domain the way a resolver does (UTS 46 non-transitional
// processing, the BIDI and label rules of IDNA 2008) to its ASCII form.
var idnaProfile = idna.Lookup

// caseFold folds the local part (Unicode full case folding: "ß" and "ss",
// "Ä" and "ä" are one).
var caseFold = cases.Fold()

// NewEmail checks that raw is a bare address (no display name, no angle
// brackets) of at most MaxEmailBytes bytes, in valid UTF-8, whose domain is
// a valid (internationalised) domain name and whose local part does not
// mix scripts the way look-alike spoofs do (bоb with a Cyrillic о). Its key
// is the local part in NFC, case folded, "@", the domain in its ASCII
// (punycode) form, lower case: "ÄDÄ@exämple.com" and "ädä@xn--exmple-cua.com"
// share one key.
func NewEmail(raw string) (Email, error) {
	s := strings.TrimSpace(raw)
	switch {
	case s == "":
		return Email{}, fieldError("email", CodeRequired, "email is required")
	case len(s) > MaxEmailBytes:
		return Email{}, fieldError("email", CodeTooLong, "email must be at most 254 bytes")
	case !utf8.ValidString(s):
		return Email{}, fieldError("email", CodeInvalid, "email must be valid UTF-8")
	}
	s = norm.NFC.String(s)
	if len(s) > MaxEmailBytes {
		return Email{}, fieldError("email", CodeTooLong, "email must be at most 254 bytes")
	}
	invalid := fieldError("email", CodeInvalid, "email must be a valid address")
	addr, err := mail.ParseAddress(s)
	at := strings.LastIndexByte(s, '@')
	if err != nil || addr.Address != s || addr.Name != "" || at <= 0 || !strings.Contains(s[at+1:], ".") {
		return Email{}, invalid
	}
	local, host := s[:at], s[at+1:]
	asciiHost, err := idnaProfile.ToASCII(host)
	if err != nil || strings.Contains(asciiHost, "..") || strings.HasSuffix(asciiHost, ".") {
		return Email{}, invalid
	}
	if strings.ContainsFunc(local, invisible) {
		return Email{}, fieldError("email", CodeInvalid, "email must not contain invisible or formatting characters")
	}
	if mixesScripts(local) || slices.ContainsFunc(strings.Split(host, "."), mixesScripts) {
		return Email{}, fieldError("email", CodeInvalid, "email must not mix alphabets in one name (look-alike letters)")
	}
	// NFKC folds compatibility forms (full-width, mathematical letters)
	// into the letters they look like, so they cannot pose as another
	// account; NFKC output is NFC.
	key := norm.NFKC.String(caseFold.String(norm.NFKC.String(local))) + "@" + strings.ToLower(asciiHost)
	if len(key) > MaxEmailBytes {
		return Email{}, fieldError("email", CodeTooLong, "email must be at most 254 bytes")
	}
	return Email{value: s, key: key}, nil
}

// RehydrateEmail rebuilds an address read back from trusted storage with
// the key stored beside it.
func RehydrateEmail(value, key string) Email { return Email{value: value, key: key} }

func (e Email) String() string { return e.value }

// Key is the canonical form: the account's identity.
func (e Email) Key() string { return e.key }

// IsZero reports whether e was never set.
func (e Email) IsZero() bool { return e.value == "" }

// EmailKey is the key of raw when raw is a valid address, for a store that
// brings keys of addresses saved under older rules up to date.
func EmailKey(raw string) (string, error) {
	e, err := NewEmail(raw)
	if err != nil {
		return "", err
	}
	return e.key, nil
}

// invisible reports characters that change nothing on screen or are not
// text: format characters (zero-width space and joiners, bidi overrides,
// soft hyphen), private use, the replacement character a decoder leaves for
// lost bytes, and unassigned code points.
func invisible(r rune) bool {
	return unicode.In(r, unicode.Cf, unicode.Co, unicode.Cc) || r == utf8.RuneError ||
		unicode.Is(unicode.Other_Default_Ignorable_Code_Point, r) || unicode.Is(unicode.Variation_Selector, r) ||
		!unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Z)
}

// mixesScripts reports whether s uses letters of several scripts outside
// the combinations that are a writing system of their own (UTS 39's
// "highly restrictive" level: one script, or Latin with Han and
// Hiragana/Katakana, with Han and Bopomofo, or with Han and Hangul).
// Digits, punctuation and combining marks (Common, Inherited) belong to
// any script.
func mixesScripts(s string) bool {
	seen := map[string]bool{}
	for _, r := range s {
		if name := scriptOf(r); name != "" {
			seen[name] = true
		}
	}
	if len(seen) <= 1 {
		return false
	}
	for _, allowed := range [][]string{
		{"Latin", "Han", "Hiragana", "Katakana"},
		{"Latin", "Han", "Bopomofo"},
		{"Latin", "Han", "Hangul"},
	} {
		within := true
		for name := range seen {
			if !slices.Contains(allowed, name) {
				within = false
				break
			}
		}
		if within {
			return false
		}
	}
	return true
}

// scriptOf names r's script, or "" for Common and Inherited.
func scriptOf(r rune) string {
	if r < utf8.RuneSelf {
		if unicode.IsLetter(r) {
			return "Latin"
		}
		return ""
	}
	if unicode.In(r, unicode.Common, unicode.Inherited) {
		return ""
	}
	if unicode.Is(unicode.Latin, r) {
		return "Latin"
	}
	for name, table := range unicode.Scripts {
		if unicode.Is(table, r) {
			return name
		}
	}
	return ""
}
