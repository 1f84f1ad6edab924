package jwt

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/domain"
)

// movingClock is a clock the test sets.
type movingClock struct{ ns atomic.Int64 }

func newMovingClock(t time.Time) *movingClock {
	c := &movingClock{}
	c.set(t)
	return c
}
func (c *movingClock) Now() time.Time  { return time.Unix(0, c.ns.Load()).UTC() }
func (c *movingClock) set(t time.Time) { c.ns.Store(t.UnixNano()) }

func TestVerifiedCacheServesRepeatsAndForgetsExpiry(t *testing.T) {
	clock := newMovingClock(t0)
	cfg := testConfig(t0)
	cfg.Clock = clock
	k := testKey(t, AlgES256, "main")
	tok := mustIssue(t, mustSigner(t, cfg, k))
	v := mustVerifier(t, cfg, k)
	ctx := context.Background()

	first, err := v.VerifyAccessToken(ctx, tok)
	if err != nil {
		t.Fatal(err)
	}
	if v.cache.len() != 1 {
		t.Fatalf("cache holds %d entries after one success, want 1", v.cache.len())
	}
	again, err := v.VerifyAccessToken(ctx, tok)
	if err != nil || !reflect.DeepEqual(again, first) {
		t.Fatalf("repeat: %+v, %v; want %+v", again, err, first)
	}

	// Still inside exp+leeway: served. At exp+leeway: refused like the
	// uncached check, and the entry is gone.
	clock.set(t0.Add(testTTL + DefaultLeeway - time.Second))
	if _, err := v.VerifyAccessToken(ctx, tok); err != nil {
		t.Fatalf("just before exp+leeway: %v", err)
	}
	clock.set(t0.Add(testTTL + DefaultLeeway))
	if _, err := v.VerifyAccessToken(ctx, tok); !errors.Is(err, domain.ErrInvalidToken) || !strings.Contains(err.Error(), "expired") {
		t.Fatalf("at exp+leeway: %v, want expired", err)
	}
	if v.cache.len() != 0 {
		t.Fatalf("expired entry kept")
	}
}

func TestVerifiedCacheRespectsAClockThatWentBack(t *testing.T) {
	clock := newMovingClock(t0)
	cfg := testConfig(t0)
	cfg.Clock = clock
	k := testKey(t, AlgES256, "main")
	tok := mustIssue(t, mustSigner(t, cfg, k)) // iat = t0
	v := mustVerifier(t, cfg, k)
	if _, err := v.VerifyAccessToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	clock.set(t0.Add(-DefaultLeeway - time.Second))
	if _, err := v.VerifyAccessToken(context.Background(), tok); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("before iat-leeway: %v, want the full check's refusal", err)
	}
}

// Only byte-identical tokens hit: anything altered after a success is
// verified from scratch and refused.
func TestVerifiedCacheIsNotFooledByNearCopies(t *testing.T) {
	cfg := testConfig(t0)
	k := testKey(t, AlgES256, "main")
	tok := mustIssue(t, mustSigner(t, cfg, k))
	v := mustVerifier(t, cfg, k)
	ctx := context.Background()
	if _, err := v.VerifyAccessToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	flip := func(s string, i int) string {
		b := []byte(s)
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
		return string(b)
	}
	dot := strings.LastIndexByte(tok, '.')
	variants := map[string]string{
		"signature byte":      flip(tok, len(tok)-5),
		"payload byte":        flip(tok, dot-5),
		"trailing space":      tok + " ",
		"signature truncated": tok[:len(tok)-2],
		"signature stripped":  tok[:dot+1],
	}
	for name, bad := range variants {
		if _, err := v.VerifyAccessToken(ctx, bad); !errors.Is(err, domain.ErrInvalidToken) {
			t.Errorf("%s: accepted after the original was cached", name)
		}
	}
	// A token from another verifier's cache is nobody else's business:
	// a second verifier with a different key refuses the same bytes.
	other := mustVerifier(t, cfg, testKey(t, AlgES256, "other"))
	if _, err := other.VerifyAccessToken(ctx, tok); !errors.Is(err, domain.ErrInvalidToken) {
		t.Errorf("another key's verifier accepted the token")
	}
}

func TestVerifiedCacheStaysBounded(t *testing.T) {
	c := newVerifiedCache(64)
	until := t0.Add(time.Hour)
	for i := range 1000 {
		c.put(sha256.Sum256(fmt.Appendf(nil, "token %d", i)), verified{until: until}, t0)
		if n := c.len(); n > 64 {
			t.Fatalf("after %d puts the cache holds %d > 64", i+1, n)
		}
	}
	// Expired entries go first: after the clock passes until, a put on a
	// full cache leaves only the new entry.
	c.put(sha256.Sum256([]byte("late")), verified{until: until.Add(time.Hour)}, until)
	if n := c.len(); n != 1 {
		t.Fatalf("expired entries survived eviction: %d left", n)
	}
}

func TestVerifiedCacheCanBeDisabled(t *testing.T) {
	cfg := testConfig(t0)
	cfg.VerifiedCache = -1
	k := testKey(t, AlgES256, "main")
	v := mustVerifier(t, cfg, k)
	tok := mustIssue(t, mustSigner(t, cfg, k))
	for range 2 {
		if _, err := v.VerifyAccessToken(context.Background(), tok); err != nil {
			t.Fatal(err)
		}
	}
	if v.cache != nil || v.cache.len() != 0 {
		t.Fatal("disabled cache holds entries")
	}
}

func TestVerifiedCacheConcurrentUse(t *testing.T) {
	cfg := testConfig(t0)
	cfg.VerifiedCache = 8 // small, so eviction races with lookups
	k := testKey(t, AlgES256, "main")
	s := mustSigner(t, cfg, k)
	v := mustVerifier(t, cfg, k)
	toks := make([]string, 16)
	for i := range toks {
		toks[i] = mustIssue(t, s)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 200 {
				if _, err := v.VerifyAccessToken(context.Background(), toks[(g+i)%len(toks)]); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := v.cache.len(); n > 8 {
		t.Fatalf("cache grew to %d > 8", n)
	}
}
