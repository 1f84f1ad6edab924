package domain_test

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/authd/authd/domain"
)

func TestClientInfoClean(t *testing.T) {
	for _, tc := range []struct {
		in   domain.ClientInfo
		want domain.ClientInfo
	}{
		{domain.ClientInfo{IP: "203.0.113.7", UserAgent: "curl/8"}, domain.ClientInfo{IP: "203.0.113.7", UserAgent: "curl/8"}},
		{domain.ClientInfo{IP: " 2001:DB8::1 "}, domain.ClientInfo{IP: "2001:db8::1"}},
		{domain.ClientInfo{IP: "::ffff:192.0.2.1"}, domain.ClientInfo{IP: "192.0.2.1"}},
		{domain.ClientInfo{IP: "fe80::1%eth0"}, domain.ClientInfo{IP: "fe80::1"}},
		{domain.ClientInfo{IP: "192.0.2.1:443"}, domain.ClientInfo{}},
		{domain.ClientInfo{IP: "example.com"}, domain.ClientInfo{}},
		{domain.ClientInfo{IP: "10.0.0.1, 10.0.0.2"}, domain.ClientInfo{}},
		{domain.ClientInfo{UserAgent: " a\x00b\r\nc\x1b[0m\u0085 "}, domain.ClientInfo{UserAgent: "abc[0m"}},
		{domain.ClientInfo{UserAgent: "bad \xff utf8"}, domain.ClientInfo{UserAgent: "bad  utf8"}},
		// Format characters: a bidi override and zero-width ones could make
		// a stored user agent display as another device.
		{domain.ClientInfo{UserAgent: "Chrome\u202eelif\u200b\u200d\ufeff"}, domain.ClientInfo{UserAgent: "Chromeelif"}},
	} {
		if got := tc.in.Clean(); got != tc.want {
			t.Errorf("Clean(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	long := domain.ClientInfo{UserAgent: "x" + strings.Repeat("é", 200)}.Clean().UserAgent
	if len(long) > domain.MaxUserAgentBytes || !utf8.ValidString(long) || len(long) < domain.MaxUserAgentBytes-1 {
		t.Fatalf("long user agent cut to %d bytes (valid %t)", len(long), utf8.ValidString(long))
	}
	s := domain.NewSession("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0b", authFor("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0c"), time.Now(), domain.ClientInfo{IP: "nope", UserAgent: "\tua"})
	if s.IP() != "" || s.UserAgent() != "ua" || !s.LastUsedAt().Equal(s.CreatedAt()) {
		t.Fatalf("NewSession keeps %q %q, last use %s", s.IP(), s.UserAgent(), s.LastUsedAt())
	}
}

func TestSessionPolicy(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := domain.SessionPolicy{IdleTimeout: time.Hour, MaxAge: 3 * time.Hour}
	used := domain.RehydrateSession("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0b", "0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0c", t0, t0.Add(150*time.Minute), time.Time{}, domain.ClientInfo{}, nil)
	for _, tc := range []struct {
		s    domain.Session
		at   time.Time
		want bool
	}{
		{domain.NewSession("a", authFor("b"), t0, domain.ClientInfo{}), t0.Add(time.Hour - time.Nanosecond), true},
		{domain.NewSession("a", authFor("b"), t0, domain.ClientInfo{}), t0.Add(time.Hour), false}, // idle
		{used, t0.Add(3*time.Hour - time.Nanosecond), true},
		{used, t0.Add(3 * time.Hour), false}, // too old, though used half an hour ago
		{domain.RehydrateSession("a", "b", t0, t0, t0, domain.ClientInfo{}, nil), t0, false},
	} {
		if got := p.Usable(tc.s, tc.at); got != tc.want {
			t.Errorf("Usable(created %s, used %s, at %s) = %t", tc.s.CreatedAt(), tc.s.LastUsedAt(), tc.at, got)
		}
	}
	if !(domain.SessionPolicy{}).Usable(domain.NewSession("a", authFor("b"), t0, domain.ClientInfo{}), t0.Add(1e6*time.Hour)) {
		t.Error("the zero policy sets no limit")
	}
	if got := p.CapExpiry(t0, t0.Add(5*time.Hour)); !got.Equal(t0.Add(3 * time.Hour)) {
		t.Errorf("CapExpiry = %s", got)
	}
	if got := p.CapExpiry(t0, t0.Add(time.Hour)); !got.Equal(t0.Add(time.Hour)) {
		t.Errorf("CapExpiry of an earlier expiry = %s", got)
	}
	if !p.UsedAfter(t0).Equal(t0.Add(-time.Hour)) || !p.CreatedAfter(t0).Equal(t0.Add(-3*time.Hour)) ||
		!(domain.SessionPolicy{}).UsedAfter(t0).IsZero() {
		t.Error("cut-offs")
	}
}

var defaultThrottle = domain.ThrottlePolicy{FreeAttempts: 5, BaseDelay: time.Second, MaxDelay: time.Minute, Window: time.Hour}

func TestThrottleDelays(t *testing.T) {
	want := []time.Duration{0, 0, 0, 0, time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute}
	if got := defaultThrottle.Delays(); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("Delays = %v, want %v", got, want)
	}
	for _, n := range []int{11, 12, 1000, 1 << 40} {
		if d := defaultThrottle.Delay(n); d != time.Minute {
			t.Errorf("Delay(%d) = %v", n, d)
		}
	}
	if err := defaultThrottle.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []domain.ThrottlePolicy{
		{FreeAttempts: 0, BaseDelay: time.Second, MaxDelay: time.Minute, Window: time.Hour},
		{FreeAttempts: 5, BaseDelay: 0, MaxDelay: time.Minute, Window: time.Hour},
		{FreeAttempts: 5, BaseDelay: time.Minute, MaxDelay: time.Second, Window: time.Hour},
		{FreeAttempts: 5, BaseDelay: time.Second, MaxDelay: time.Minute},
	} {
		if bad.Validate() == nil {
			t.Errorf("Validate(%+v) = nil", bad)
		}
	}
}

func TestThrottleClaim(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var st domain.ThrottleState
	var ok bool
	for i := range 5 {
		if st, ok = defaultThrottle.Claim(st, t0); !ok || st.Failures != i+1 {
			t.Fatalf("claim %d: %t %+v", i+1, ok, st)
		}
	}
	if !st.LockedUntil.Equal(t0.Add(time.Second)) {
		t.Fatalf("after the fifth: %+v", st)
	}
	if again, ok := defaultThrottle.Claim(st, t0.Add(999*time.Millisecond)); ok || again != st {
		t.Fatalf("a locked key admitted or changed: %+v", again)
	}
	if defaultThrottle.Expired(st, t0.Add(59*time.Minute)) || !defaultThrottle.Expired(st, t0.Add(time.Hour)) {
		t.Fatal("Expired")
	}
	// A fresh window after an hour.
	if st, ok = defaultThrottle.Claim(st, t0.Add(time.Hour)); !ok || st.Failures != 1 || !st.WindowStart.Equal(t0.Add(time.Hour)) {
		t.Fatalf("new window: %+v", st)
	}
	if n := defaultThrottle.MaxAttemptsPerHour(); n >= 100 || n < 60 {
		t.Fatalf("MaxAttemptsPerHour = %d", n)
	}
	lax := domain.ThrottlePolicy{FreeAttempts: 100, BaseDelay: time.Second, MaxDelay: time.Minute, Window: time.Hour}
	if n := lax.MaxAttemptsPerHour(); n < 100 {
		t.Fatalf("a policy with 100 free attempts admits %d an hour?", n)
	}
}

func TestThrottledError(t *testing.T) {
	err := fmt.Errorf("login: %w", &domain.ThrottledError{Retry: 1500 * time.Millisecond})
	if !errors.Is(err, domain.ErrThrottled) {
		t.Fatal("not ErrThrottled")
	}
	var ra interface{ RetryAfter() time.Duration }
	if !errors.As(err, &ra) || ra.RetryAfter() != 2*time.Second {
		t.Fatalf("RetryAfter = %v", ra)
	}
	if d := (&domain.ThrottledError{}).RetryAfter(); d != time.Second {
		t.Fatalf("zero retry rounds to %v, want the 1s floor", d)
	}
}

var eventTypeShape = regexp.MustCompile(`^[a-z_]{1,64}$`)

func TestEventTypes(t *testing.T) {
	for _, typ := range domain.EventTypes {
		if got, err := domain.ParseEventType(typ.String()); err != nil || got != typ {
			t.Errorf("ParseEventType(%q) = %q, %v", typ, got, err)
		}
	}
	if _, err := domain.ParseEventType("Login_Succeeded"); err == nil {
		t.Error("event types are case-sensitive")
	}
	// Unique, and storable: the audit table checks ^[a-z_]{1,64}$.
	seen := map[domain.EventType]bool{}
	for _, typ := range domain.EventTypes {
		if seen[typ] || !eventTypeShape.MatchString(typ.String()) {
			t.Errorf("event type %q is a duplicate or not [a-z_]{1,64}", typ)
		}
		seen[typ] = true
	}
	if len(domain.EventTypes) != 26 {
		t.Errorf("%d event types, want 26 (update this count with EventTypes)", len(domain.EventTypes))
	}
}
