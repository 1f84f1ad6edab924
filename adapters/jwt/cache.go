package jwt

import (
	"crypto/sha256"
	"sync"
	"time"

	"github.com/authd/authd/domain"
)

// DefaultVerifiedCache is how many verified tokens a Verifier remembers.
// An entry is about 150 bytes, so the default costs about 1.5 MB at most.
const DefaultVerifiedCache = 10000

// verifiedCache remembers tokens that passed every check, so a client that
// presents the same access token again (the common case: one token per
// client for its whole lifetime) costs a SHA-256 and a map lookup instead of
// a signature verification (ECDSA P-256 verify is about 100 us, a third of
// a /v1/users/me request's CPU).
//
// It is keyed by the SHA-256 of the exact token bytes, so only a
// byte-identical token, signature included, can hit, and the tokens
// themselves are not kept in memory. Only successes are cached; expiry is
// re-checked on every hit. Everything else that was checked (signature,
// key, alg, typ, iss, aud, iat) cannot change for identical bytes under the
// Verifier's fixed key set.
type verifiedCache struct {
	max int
	mu  sync.Mutex
	m   map[[sha256.Size]byte]verified
}

// verified is a token that passed every check, and the window in which the
// time checks pass too (leeway included): [from, until).
type verified struct {
	claims      domain.AccessClaims
	from, until time.Time
}

func newVerifiedCache(size int) *verifiedCache {
	if size <= 0 {
		return nil
	}
	return &verifiedCache{max: size, m: make(map[[sha256.Size]byte]verified)}
}

// get returns the claims of a token verified before, if now is inside its
// validity window; an expired entry is dropped.
func (c *verifiedCache) get(key [sha256.Size]byte, now time.Time) (domain.AccessClaims, bool) {
	if c == nil {
		return domain.AccessClaims{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[key]
	switch {
	case !ok:
		return domain.AccessClaims{}, false
	case !now.Before(v.until):
		delete(c.m, key)
		return domain.AccessClaims{}, false
	case now.Before(v.from): // the clock went back: let the full check decide
		return domain.AccessClaims{}, false
	}
	return v.claims, true
}

// put remembers a verified token. When full, it first drops expired
// entries, then, if still full, an arbitrary eighth (Go's map iteration
// order is randomised), so the cost of eviction is amortised and the size
// never exceeds max.
func (c *verifiedCache) put(key [sha256.Size]byte, v verified, now time.Time) {
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		for k, e := range c.m {
			if !now.Before(e.until) {
				delete(c.m, k)
			}
		}
		drop := len(c.m) - c.max + 1 + c.max/8
		for k := range c.m {
			if drop <= 0 {
				break
			}
			delete(c.m, k)
			drop--
		}
	}
	c.m[key] = v
}

func (c *verifiedCache) len() int {
	if c == nil {
		return 0
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}
