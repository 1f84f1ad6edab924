package httpapi

import (
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"
)

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	cases := []struct {
		name, peer string
		xff        []string
		want       string
	}{
		{"no proxy", "203.0.113.7:5555", nil, "203.0.113.7"},
		{"untrusted peer's header is ignored", "203.0.113.7:5555", []string{"198.51.100.1"}, "203.0.113.7"},
		{"trusted proxy", "10.1.2.3:80", []string{"198.51.100.1"}, "198.51.100.1"},
		{"client-chosen entries left of the real one are ignored", "10.1.2.3:80", []string{"1.2.3.4, 198.51.100.1"}, "198.51.100.1"},
		{"chain of trusted proxies", "10.1.2.3:80", []string{"198.51.100.1, 10.9.9.9", "10.8.8.8"}, "198.51.100.1"},
		{"malformed entry stops at the last verified hop", "10.1.2.3:80", []string{"198.51.100.1, garbage"}, "10.1.2.3"},
		{"all trusted", "10.1.2.3:80", []string{"10.4.4.4"}, "10.4.4.4"},
		{"no header from a trusted proxy", "10.1.2.3:80", nil, "10.1.2.3"},
		{"IPv4-mapped IPv6 is unmapped", "[::ffff:203.0.113.9]:1", nil, "203.0.113.9"},
		{"IPv6 trusted proxy", "[::1]:443", []string{"2001:db8::5"}, "2001:db8::5"},
		{"entries with ports, as some balancers write them", "10.1.2.3:80", []string{"198.51.100.1:4711, 10.9.9.9:80"}, "198.51.100.1"},
		{"bracketed IPv6 with and without port", "10.1.2.3:80", []string{"[2001:db8::7]:443"}, "2001:db8::7"},
		{"bracketed IPv6", "10.1.2.3:80", []string{"[2001:db8::8]"}, "2001:db8::8"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = c.peer
			for _, v := range c.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if got := clientIP(r, trusted); got.String() != c.want {
				t.Fatalf("clientIP = %s, want %s", got, c.want)
			}
		})
	}
}

func TestIPLimiterBucketsPerAddressAndRefills(t *testing.T) {
	l := newIPLimiter(RateLimit{PerMinute: 60, Burst: 3}) // one token a second
	now := time.Unix(1_800_000_000, 0)
	a, b := netip.MustParseAddr("198.51.100.1"), netip.MustParseAddr("198.51.100.2")
	for i := range 3 {
		if ok, _ := l.allow(a, now); !ok {
			t.Fatalf("request %d within the burst refused", i+1)
		}
	}
	ok, wait := l.allow(a, now)
	if ok || wait <= 0 || wait > time.Second {
		t.Fatalf("4th request: ok=%v wait=%v, want refused with a wait of at most 1s", ok, wait)
	}
	if ok, _ := l.allow(b, now); !ok {
		t.Fatal("another address shares the bucket")
	}
	if ok, _ := l.allow(a, now.Add(time.Second)); !ok {
		t.Fatal("no token after a second's refill")
	}
	// A refused request costs nothing: it does not push the next token out.
	l2 := newIPLimiter(RateLimit{PerMinute: 60, Burst: 1})
	l2.allow(a, now)
	for range 10 {
		l2.allow(a, now.Add(500*time.Millisecond))
	}
	if ok, _ := l2.allow(a, now.Add(time.Second)); !ok {
		t.Fatal("refused requests consumed future tokens")
	}
}

func TestIPLimiterGroupsIPv6By64(t *testing.T) {
	l := newIPLimiter(RateLimit{PerMinute: 1, Burst: 1})
	now := time.Unix(1_800_000_000, 0)
	if ok, _ := l.allow(netip.MustParseAddr("2001:db8:1:2::1"), now); !ok {
		t.Fatal("first request refused")
	}
	if ok, _ := l.allow(netip.MustParseAddr("2001:db8:1:2:ffff::9"), now); ok {
		t.Fatal("another address in the same /64 got its own bucket")
	}
	if ok, _ := l.allow(netip.MustParseAddr("2001:db8:1:3::1"), now); !ok {
		t.Fatal("a different /64 shares the bucket")
	}
}

func TestIPLimiterMemoryIsBounded(t *testing.T) {
	l := newIPLimiter(RateLimit{PerMinute: 60, Burst: 5, MaxClients: 100})
	now := time.Unix(1_800_000_000, 0)
	for i := range 1000 {
		addr := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.allow(addr, now.Add(time.Duration(i)*time.Millisecond))
		if len(l.buckets) > 100 {
			t.Fatalf("%d buckets after %d addresses, limit 100", len(l.buckets), i+1)
		}
	}
}

func TestIPLimiterOff(t *testing.T) {
	if newIPLimiter(RateLimit{}) != nil {
		t.Fatal("zero PerMinute must disable the limiter")
	}
}
