package httpapi

import (
	"net"
	"net/http"
	"net/netip"
	"strings"

	"github.com/authd/authd/domain"
)

// clientOf is what the use cases record about where a request came from:
// the client address (see clientIP) and its User-Agent.
func clientOf(r *http.Request) domain.ClientInfo {
	ip := ""
	if a := info(r).ip; a.IsValid() {
		ip = a.String()
	}
	return domain.ClientInfo{IP: ip, UserAgent: r.UserAgent()}.Clean()
}

// clientIP is the address a request came from: the TCP peer, unless the
// peer is a trusted proxy (AUTH_TRUSTED_PROXIES), in which case
// X-Forwarded-For is read from the right, skipping trusted hops, and the
// first untrusted address is the client. Entries left of it are whatever
// the client chose to send and are never believed. A malformed entry stops
// the walk at the last hop that could be verified. Without trusted proxies
// the header is ignored entirely, so a client cannot choose its own rate
// limit bucket.
func clientIP(r *http.Request, trusted []netip.Prefix) netip.Addr {
	peer := peerAddr(r)
	if !peer.IsValid() || !isTrusted(peer, trusted) {
		return peer
	}
	hops := forwardedFor(r.Header.Values("X-Forwarded-For"))
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		addr, ok := parseHop(hops[i])
		if !ok {
			return client
		}
		client = addr.Unmap()
		if !isTrusted(client, trusted) {
			return client
		}
	}
	return client
}

// parseHop reads one X-Forwarded-For entry: an address, or an address
// with a port ("203.0.113.7:4711", "[2001:db8::1]:443") or in brackets, as
// some load balancers write them.
func parseHop(h string) (netip.Addr, bool) {
	if a, err := netip.ParseAddr(h); err == nil {
		return a, true
	}
	if ap, err := netip.ParseAddrPort(h); err == nil {
		return ap.Addr(), true
	}
	if strings.HasPrefix(h, "[") && strings.HasSuffix(h, "]") {
		if a, err := netip.ParseAddr(h[1 : len(h)-1]); err == nil {
			return a, true
		}
	}
	return netip.Addr{}, false
}

func peerAddr(r *http.Request) netip.Addr {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	addr, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return addr.Unmap()
}

func isTrusted(addr netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// forwardedFor flattens every X-Forwarded-For header line into its
// comma-separated entries, in order.
func forwardedFor(lines []string) []string {
	var hops []string
	for _, line := range lines {
		for _, h := range strings.Split(line, ",") {
			hops = append(hops, strings.TrimSpace(h))
		}
	}
	return hops
}
