package domain

import (
	"net/netip"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxUserAgentBytes is the most of a User-Agent header a session or an audit
// event keeps.
const MaxUserAgentBytes = 256

// ClientInfo is what the transport knows about the client making a request:
// its IP address (as the transport decided it, proxies included) and its
// User-Agent. It is informational (shown in the session list and the audit
// log), never an authentication factor. The transport fills the fields
// raw; Clean makes them safe to store and display, and every use case and
// NewSession apply it.
type ClientInfo struct {
	IP        string
	UserAgent string
}

// Clean returns c with IP in canonical form, or empty when it does not
// parse as an IP address (a zone and an IPv4-mapped IPv6 prefix are
// dropped), and UserAgent as valid UTF-8 without control characters,
// trimmed, and cut to at most MaxUserAgentBytes at a character boundary.
func (c ClientInfo) Clean() ClientInfo {
	return ClientInfo{IP: cleanIP(c.IP), UserAgent: cleanUserAgent(c.UserAgent)}
}

func cleanIP(raw string) string {
	addr, err := netip.ParseAddr(strings.TrimSpace(raw))
	if err != nil {
		return ""
	}
	return addr.WithZone("").Unmap().String()
}

func cleanUserAgent(raw string) string {
	ua := strings.ToValidUTF8(raw, "")
	ua = strings.Map(func(r rune) rune {
		// Control characters, and format characters (bidi overrides,
		// zero-width joiners) that could make a stored user agent display
		// as something else in /v1/sessions or the audit log.
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return -1
		}
		return r
	}, ua)
	ua = strings.TrimSpace(ua)
	if len(ua) <= MaxUserAgentBytes {
		return ua
	}
	cut := MaxUserAgentBytes
	for cut > 0 && !utf8.RuneStart(ua[cut]) {
		cut--
	}
	return strings.TrimSpace(ua[:cut])
}
