package httpapi

import (
	"net/http"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit configures the per-client-IP limiter on the credential
// endpoints (sign-up, login, refresh, logout, password change). It is a
// token bucket per address (per /64 for IPv6, since one host commonly owns
// a whole /64): Burst requests at once, refilled at PerMinute. Zero
// PerMinute turns it off.
type RateLimit struct {
	PerMinute int
	Burst     int
	// MaxClients bounds the limiter's memory: when more addresses are
	// tracked, idle ones are forgotten first. 0 means 100,000.
	MaxClients int
}

type ipLimiter struct {
	every   rate.Limit
	burst   int
	max     int
	mu      sync.Mutex
	buckets map[netip.Prefix]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	seen time.Time
}

func newIPLimiter(cfg RateLimit) *ipLimiter {
	if cfg.PerMinute <= 0 {
		return nil
	}
	burst := cfg.Burst
	if burst <= 0 {
		burst = 1
	}
	maxClients := cfg.MaxClients
	if maxClients <= 0 {
		maxClients = 100_000
	}
	return &ipLimiter{
		every:   rate.Limit(float64(cfg.PerMinute) / 60),
		burst:   burst,
		max:     maxClients,
		buckets: make(map[netip.Prefix]*bucket),
	}
}

// bucketKey is the address, or its /64 for IPv6.
func bucketKey(addr netip.Addr) netip.Prefix {
	bits := addr.BitLen()
	if addr.Is6() {
		bits = 64
	}
	p, _ := addr.Prefix(bits)
	return p
}

// allow takes one token for addr, or says how long until one is free.
func (l *ipLimiter) allow(addr netip.Addr, now time.Time) (bool, time.Duration) {
	key := bucketKey(addr)
	l.mu.Lock()
	defer l.mu.Unlock()
	b, ok := l.buckets[key]
	if !ok {
		if len(l.buckets) >= l.max {
			l.evict(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.every, l.burst)}
		l.buckets[key] = b
	}
	b.seen = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// evict forgets buckets that have refilled completely (they behave exactly
// like new ones), and if that is not enough, the least recently seen half.
// Callers hold l.mu.
func (l *ipLimiter) evict(now time.Time) {
	full := time.Duration(float64(l.burst) / float64(l.every) * float64(time.Second))
	for k, b := range l.buckets {
		if now.Sub(b.seen) >= full {
			delete(l.buckets, k)
		}
	}
	if len(l.buckets) < l.max {
		return
	}
	var cutoff time.Time
	seen := make([]time.Time, 0, len(l.buckets))
	for _, b := range l.buckets {
		seen = append(seen, b.seen)
	}
	cutoff = median(seen)
	for k, b := range l.buckets {
		if !b.seen.After(cutoff) {
			delete(l.buckets, k)
		}
	}
}

func median(ts []time.Time) time.Time {
	sorted := slices.Clone(ts)
	slices.SortFunc(sorted, time.Time.Compare)
	return sorted[len(sorted)/2]
}

// addressRateLimited: the client's address has no token left; a retry may
// succeed after wait (429 rate_limited, Retry-After).
type addressRateLimited struct{ wait time.Duration }

func (e addressRateLimited) Error() string             { return "too many requests from this address" }
func (e addressRateLimited) RetryAfter() time.Duration { return e.wait }

// rateLimited admits a request if its client's bucket has a token, else
// answers 429 rate_limited with Retry-After, counted as operation's
// outcome.
func (a *api) rateLimited(operation string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if a.limiter == nil {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ri := info(r)
			if !ri.ip.IsValid() {
				next.ServeHTTP(w, r)
				return
			}
			ok, wait := a.limiter.allow(ri.ip, time.Now())
			if !ok {
				ri.operation = operation
				a.uc.Audit.RecordRateLimited(r.Context(), clientOf(r))
				a.writeError(w, r, addressRateLimited{wait: wait})
				return
			}
			next.ServeHTTP(w, r)
		})
	}
}
