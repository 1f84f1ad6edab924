package domain_test

import (
	"testing"

	"github.com/authd/authd/domain"
)

// TestEmailKeys: one person, one key, however the address is spelled; and
// look-alike spoofs are refused.
func TestEmailKeys(t *testing.T) {
	const key = "ädä@xn--exmple-cua.com"
	for _, spelling := range []string{
		"ädä@exämple.com",                   // precomposed
		"a\u0308da\u0308@exa\u0308mple.com", // combining marks
		"ädä@xn--exmple-cua.com",            // the domain in punycode
		"ÄDÄ@EXÄMPLE.COM",                   // upper case
		" ädä@Exämple.Com ",                 // spaces, mixed case
	} {
		e, err := domain.NewEmail(spelling)
		if err != nil {
			t.Fatalf("%q: %v", spelling, err)
		}
		if e.Key() != key {
			t.Errorf("%q: key %q, want %q", spelling, e.Key(), key)
		}
	}
	// The address as typed is kept (NFC), for mail and for the person.
	if e, _ := domain.NewEmail("a\u0308da\u0308@Exa\u0308mple.com"); e.String() != "ädä@Exämple.com" {
		t.Errorf("display form %q", e.String())
	}
	// Full case folding: ß and ss are one key.
	a, _ := domain.NewEmail("strasse@example.com")
	b, _ := domain.NewEmail("STRAßE@example.com")
	if a.Key() != b.Key() {
		t.Errorf("%q and %q have keys %q, %q", a, b, a.Key(), b.Key())
	}
	// Different local parts stay different accounts, whatever the domain's spelling.
	if c, _ := domain.NewEmail("ada@xn--exmple-cua.com"); c.Key() == key {
		t.Errorf("ada and ädä share a key")
	}
}

func TestEmailRefusesLookAlikes(t *testing.T) {
	for _, bad := range []string{
		"b\u043eb@example.com",    // Cyrillic о among Latin letters
		"\u0440aypal@example.com", // Cyrillic р
		"\u03bfnline@example.com", // Greek ο
		"ada@exa_mple.com",        // not a domain name
		"ada@-example.com",        // label starting with a hyphen
		"abc\xff@example.com",     // not UTF-8
		"ad\u200bmin@example.com", // zero-width space
		"ad\u00admin@example.com", // soft hyphen
		"ad\u202emin@example.com", // right-to-left override
		"ad\u2060min@example.com", // word joiner
		"ad\ufffdmin@example.com", // what a decoder leaves for lost bytes
		"admin@p\u0430ypal.com",   // Cyrillic а in a Latin domain label
	} {
		if _, err := domain.NewEmail(bad); codeOf(t, err, "email") != domain.CodeInvalid {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, good := range []string{
		"боб@example.com",      // Cyrillic alone
		"δοκιμή@example.gr",    // Greek alone
		"山田taro@example.jp",    // Latin with Han
		"やまだ山田@example.jp",     // Hiragana with Han
		"ada.99-x@example.com", // digits and punctuation belong to any script
		"ada@пример.com",       // scripts may differ from label to label
	} {
		if _, err := domain.NewEmail(good); err != nil {
			t.Errorf("%q refused: %v", good, err)
		}
	}
}

// Compatibility forms fold into the letters they look like, so they cannot
// pose as another account.
func TestEmailKeyFoldsCompatibilityForms(t *testing.T) {
	plain, _ := domain.NewEmail("admin@example.com")
	for _, lookalike := range []string{"ａdmin@example.com", "\U0001d41a\U0001d41dmin@example.com", "ＡＤＭＩＮ@example.com"} {
		e, err := domain.NewEmail(lookalike)
		if err != nil {
			t.Fatalf("%q: %v", lookalike, err)
		}
		if e.Key() != plain.Key() {
			t.Errorf("%q has key %q, want %q", lookalike, e.Key(), plain.Key())
		}
	}
}
