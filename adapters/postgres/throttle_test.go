package postgres_test

import (
	"testing"
	"time"

	"github.com/authd/authd/adapters/postgres/pgtest"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// A free attempt leaves a new key's locked_until at -infinity (no lock,
// whatever the claim's clock). Every statement on the table must cope with
// it: a time.Time cannot hold -infinity, so nothing may scan it raw.
func TestThrottleRowWithoutLock(t *testing.T) {
	url := pgtest.NewDatabase(t)
	st := openStore(t, url)
	ctx := t.Context()
	policy := domain.ThrottlePolicy{FreeAttempts: 5, BaseDelay: time.Second, MaxDelay: time.Minute, Window: time.Hour}
	key := domain.ThrottleKeyFor(mustEmail(t, "ada@example.com"))
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

	ok, until, err := st.ClaimLoginAttempt(ctx, key, t0, policy)
	if err != nil || !ok || !until.Equal(t0) {
		t.Fatalf("first claim = %t, %s, %v; want admitted, no lock (now)", ok, until, err)
	}
	var infinite bool
	if err := rawConn(t, url).QueryRow(ctx, `SELECT locked_until = '-infinity' FROM login_throttle`).Scan(&infinite); err != nil || !infinite {
		t.Fatalf("stored locked_until is -infinity: %t, %v", infinite, err)
	}
	if err := st.ReleaseLoginAttempt(ctx, key, t0); err != nil {
		t.Fatalf("ReleaseLoginAttempt: %v", err)
	}
	for range 4 {
		if ok, _, err := st.ClaimLoginAttempt(ctx, key, t0.Add(-time.Millisecond), policy); err != nil || !ok {
			t.Fatalf("free claim = %t, %v", ok, err)
		}
	}
	if r, err := st.PruneLoginThrottle(ctx, t0.Add(2*time.Hour), policy, ports.PruneBatch{Limit: 10}); err != nil || r.Pruned != 1 {
		t.Fatalf("PruneLoginThrottle = %+v, %v; want the key pruned", r, err)
	}
}
