package repotest

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var throttleCases = []contractCase{
	{"Throttle/FreeAttemptsThenBackoff", testThrottleBackoff},
	{"Throttle/BackoffCappedAtMax", testThrottleCap},
	{"Throttle/WindowResetsTheCount", testThrottleWindow},
	{"Throttle/ResetForgetsTheKey", testThrottleReset},
	{"Throttle/ReleaseGivesBackOneAttempt", testThrottleRelease},
	{"Throttle/PruneForgetsOnlyStaleKeys", testThrottlePrune},
	{"Throttle/PruneInBatches", testThrottlePruneBatches},
	{"Throttle/LockAuditedOncePerLockUnderRace", testThrottleLockAudited},
	{"Throttle/KeysAreIndependent", testThrottleKeys},
	{"Throttle/ConcurrentClaimsAdmitOnlyTheFreeAttempts", testThrottleConcurrent},
	{"Throttle/ConcurrentClaimsAfterALockAdmitOne", testThrottleConcurrentLocked},
	{"Throttle/FreeClaimsStampedOutOfOrderAreAdmitted", testThrottleOutOfOrder},
}

var throttlePolicy = domain.ThrottlePolicy{FreeAttempts: 5, BaseDelay: time.Second, MaxDelay: time.Minute, Window: time.Hour}

func throttleKey(t *testing.T) domain.ThrottleKey {
	return domain.ThrottleKeyFor(mustEmail(t, uuid.NewString()+"@example.com"))
}

func claim(t *testing.T, st Store, key domain.ThrottleKey, now time.Time) (bool, time.Time) {
	t.Helper()
	ok, until, err := st.ClaimLoginAttempt(t.Context(), key, now, throttlePolicy)
	mustNil(t, err)
	return ok, until
}

func mustAdmit(t *testing.T, st Store, key domain.ThrottleKey, now, wantLock time.Time) {
	t.Helper()
	ok, until := claim(t, st, key, now)
	if !ok || !until.Equal(wantLock) {
		t.Fatalf("claim at %s = %t, locked until %s; want admitted, locked until %s", now.Sub(t0), ok, until.Sub(t0), wantLock.Sub(t0))
	}
}

func mustRefuse(t *testing.T, st Store, key domain.ThrottleKey, now, wantLock time.Time) {
	t.Helper()
	ok, until := claim(t, st, key, now)
	if ok || !until.Equal(wantLock) {
		t.Fatalf("claim at %s = %t, locked until %s; want refused, locked until %s", now.Sub(t0), ok, until.Sub(t0), wantLock.Sub(t0))
	}
}

func testThrottleBackoff(t *testing.T, st Store) {
	key := throttleKey(t)
	for range 4 {
		mustAdmit(t, st, key, t0, t0)
	}
	mustAdmit(t, st, key, t0, t0.Add(time.Second)) // the fifth is free but locks
	mustRefuse(t, st, key, t0, t0.Add(time.Second))
	mustRefuse(t, st, key, t0.Add(time.Second-time.Microsecond), t0.Add(time.Second))
	at := t0.Add(time.Second)
	mustAdmit(t, st, key, at, at.Add(2*time.Second))
	mustRefuse(t, st, key, at.Add(time.Second), at.Add(2*time.Second))
	at = at.Add(2 * time.Second)
	mustAdmit(t, st, key, at, at.Add(4*time.Second))
	at = at.Add(10 * time.Second) // waiting longer does not lower the count
	mustAdmit(t, st, key, at, at.Add(8*time.Second))
}

func testThrottleCap(t *testing.T, st Store) {
	key := throttleKey(t)
	at := t0
	var lock time.Duration
	for range 40 {
		ok, until := claim(t, st, key, at)
		if !ok {
			t.Fatalf("claim at the end of the lock refused")
		}
		lock = until.Sub(at)
		if lock > time.Minute {
			t.Fatalf("lock of %s exceeds the one-minute cap", lock)
		}
		at = until
		if lock == 0 {
			at = at.Add(time.Microsecond)
		}
	}
	if lock != time.Minute {
		t.Fatalf("after 40 attempts the lock is %s, want the cap", lock)
	}
}

func testThrottleWindow(t *testing.T, st Store) {
	key := throttleKey(t)
	for range 4 {
		mustAdmit(t, st, key, t0, t0)
	}
	mustAdmit(t, st, key, t0, t0.Add(time.Second))
	// An hour after the window began the count starts over: four more free.
	later := t0.Add(time.Hour)
	for range 4 {
		mustAdmit(t, st, key, later, later)
	}
	mustAdmit(t, st, key, later, later.Add(time.Second))
	mustRefuse(t, st, key, later, later.Add(time.Second))
	// Within the window it does not.
	at := later.Add(59 * time.Minute)
	mustAdmit(t, st, key, at, at.Add(2*time.Second))
}

// testThrottleRelease: each release gives back one claim, so claims that
// were all released never lock; a lock already earned stays.
func testThrottleRelease(t *testing.T, st Store) {
	ctx := t.Context()
	key := throttleKey(t)
	for range 20 { // twenty attempts the hasher refused: none counts
		claim(t, st, key, t0)
		mustNil(t, st.ReleaseLoginAttempt(ctx, key, t0))
	}
	for range 4 {
		mustAdmit(t, st, key, t0, t0)
	}
	// The fifth earns a one-second lock; releasing it keeps the lock.
	claim(t, st, key, t0)
	mustNil(t, st.ReleaseLoginAttempt(ctx, key, t0))
	mustRefuse(t, st, key, t0, t0.Add(time.Second))
	// After the lock the count is four again: the next claim is the fifth,
	// admitted with its one-second lock.
	at := t0.Add(time.Second)
	mustAdmit(t, st, key, at, at.Add(time.Second))
	mustNil(t, st.ReleaseLoginAttempt(ctx, throttleKey(t), t0)) // unknown: fine
}

// testThrottlePrune: a key goes once its window has passed and its lock
// has ended, not before; a pruned key starts afresh.
func testThrottlePrune(t *testing.T, st Store) {
	ctx := t.Context()
	old, recent := throttleKey(t), throttleKey(t)
	for range 6 {
		claim(t, st, old, t0) // locked until t0+2s
	}
	late := t0.Add(throttlePolicy.Window)
	claim(t, st, recent, late) // its window starts an hour later

	all := ports.PruneBatch{Limit: 1000}
	r, err := st.PruneLoginThrottle(ctx, t0.Add(30*time.Minute), throttlePolicy, all)
	mustNil(t, err)
	if r.Pruned != 0 || !r.Done {
		t.Fatalf("pruned %+v inside their window", r)
	}
	at := late.Add(time.Second)
	r, err = st.PruneLoginThrottle(ctx, at, throttlePolicy, all)
	mustNil(t, err)
	if r.Pruned != 1 || !r.Done {
		t.Fatalf("pruned %+v, want the stale key only", r)
	}
	// The stale key starts afresh (its first claim locks nothing); the
	// recent one kept its count (a second claim in its window).
	mustAdmit(t, st, old, at, at)
	ok, _ := claim(t, st, recent, at)
	if !ok {
		t.Fatal("the recent key was refused")
	}
}

// testThrottlePruneBatches: a batch deletes at most its limit of stale
// keys and says whether it found fewer (the last batch); live keys stay.
func testThrottlePruneBatches(t *testing.T, st Store) {
	ctx := t.Context()
	for range 5 {
		claim(t, st, throttleKey(t), t0)
	}
	at := t0.Add(throttlePolicy.Window)
	live := throttleKey(t)
	claim(t, st, live, at)
	b := ports.PruneBatch{Limit: 2}
	var got []ports.PruneResult
	for range 4 {
		r, err := st.PruneLoginThrottle(ctx, at, throttlePolicy, b)
		mustNil(t, err)
		got = append(got, r)
		if r.Done {
			break
		}
	}
	want := []ports.PruneResult{{Pruned: 2}, {Pruned: 2}, {Pruned: 1, Done: true}}
	if len(got) != len(want) {
		t.Fatalf("batches %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i].Pruned != want[i].Pruned || got[i].Done != want[i].Done {
			t.Fatalf("batches %+v, want %+v", got, want)
		}
	}
	// The live key kept its count: its second claim is in its window.
	mustAdmit(t, st, live, at, at)
	for range 3 {
		claim(t, st, live, at)
	}
	mustRefuse(t, st, live, at, at.Add(time.Second))
}

// testThrottleLockAudited: of many concurrent refusals under one lock
// (several replicas' among them), exactly one is told it is the first, so
// one login_throttled event is recorded per lock period; a new lock is a
// new period; no lock in force, or a key forgotten, is never a first.
func testThrottleLockAudited(t *testing.T, st Store) {
	ctx := t.Context()
	key := throttleKey(t)
	mark := func(now time.Time) bool {
		first, err := st.MarkLockAudited(ctx, key, now)
		mustNil(t, err)
		return first
	}
	claim(t, st, key, t0)
	if mark(t0) {
		t.Fatal("a key without a lock: first refusal reported")
	}
	for range throttlePolicy.FreeAttempts - 1 {
		claim(t, st, key, t0) // the last one earns a 1s lock
	}
	const n = 20
	var wg sync.WaitGroup
	var firsts atomic.Int32
	for range n {
		wg.Go(func() {
			first, err := st.MarkLockAudited(ctx, key, t0.Add(time.Millisecond))
			if err != nil {
				t.Error(err)
			}
			if first {
				firsts.Add(1)
			}
		})
	}
	wg.Wait()
	if got := firsts.Load(); got != 1 {
		t.Fatalf("%d of %d concurrent refusals under one lock were first; want 1", got, n)
	}
	if mark(t0.Add(500 * time.Millisecond)) {
		t.Fatal("the same lock reported first twice")
	}
	// The lock ends; the next claim earns a 2s lock: a new period.
	at := t0.Add(time.Second)
	mustAdmit(t, st, key, at, at.Add(2*time.Second))
	if !mark(at) || mark(at) {
		t.Fatal("a new lock: want exactly one first refusal")
	}
	if mark(at.Add(2 * time.Second)) {
		t.Fatal("a lock that has ended: first refusal reported")
	}
	mustNil(t, st.ResetLoginAttempts(ctx, key))
	if mark(at) {
		t.Fatal("a forgotten key: first refusal reported")
	}
}

func testThrottleReset(t *testing.T, st Store) {
	ctx := t.Context()
	key := throttleKey(t)
	for range 5 {
		claim(t, st, key, t0)
	}
	mustRefuse(t, st, key, t0, t0.Add(time.Second))
	mustNil(t, st.ResetLoginAttempts(ctx, key))
	mustAdmit(t, st, key, t0, t0)
	mustNil(t, st.ResetLoginAttempts(ctx, throttleKey(t))) // unknown: fine
}

func testThrottleKeys(t *testing.T, st Store) {
	a, b := throttleKey(t), throttleKey(t)
	for range 5 {
		claim(t, st, a, t0)
	}
	mustRefuse(t, st, a, t0, t0.Add(time.Second))
	mustAdmit(t, st, b, t0, t0)
}

// The heart of the throttle: N concurrent wrong guesses cannot all slip
// past the count; exactly the free attempts are admitted, the last of
// them earning the first lock, which every refusal reports.
func testThrottleConcurrent(t *testing.T, st Store) {
	const n = 50
	key := throttleKey(t)
	claims := concurrentClaims(t, st, key, n, t0)
	free, locking, refused := 0, 0, 0
	for _, c := range claims {
		switch {
		case c.admitted && c.until.Equal(t0):
			free++
		case c.admitted && c.until.Equal(t0.Add(time.Second)):
			locking++
		case !c.admitted && c.until.Equal(t0.Add(time.Second)):
			refused++
		default:
			t.Fatalf("claim admitted=%t locked until %s; want one of the policy's outcomes", c.admitted, c.until.Sub(t0))
		}
	}
	if want := throttlePolicy.FreeAttempts - 1; free != want || locking != 1 || refused != n-want-1 {
		t.Fatalf("%d free, %d locking, %d refused of %d concurrent claims; want %d, 1, %d", free, locking, refused, n, want, n-want-1)
	}
	mustRefuse(t, st, key, t0, t0.Add(time.Second))
}

// Once locked, a key admits one attempt when the lock ends, however many
// arrive together; it doubles the lock, and every refusal reports it.
func testThrottleConcurrentLocked(t *testing.T, st Store) {
	const n = 50
	key := throttleKey(t)
	for range throttlePolicy.FreeAttempts {
		claim(t, st, key, t0)
	}
	at := t0.Add(time.Second)
	claims := concurrentClaims(t, st, key, n, at)
	admitted := 0
	for _, c := range claims {
		if c.admitted {
			admitted++
		}
		if !c.until.Equal(at.Add(2 * time.Second)) {
			t.Fatalf("claim admitted=%t locked until %s; want the doubled lock, %s", c.admitted, c.until.Sub(t0), at.Add(2*time.Second).Sub(t0))
		}
	}
	if admitted != 1 {
		t.Fatalf("%d of %d concurrent claims admitted at the end of the lock, want exactly 1", admitted, n)
	}
}

type claimed struct {
	admitted bool
	until    time.Time
}

// concurrentClaims makes n claims on key at now at once.
func concurrentClaims(t *testing.T, st Store, key domain.ThrottleKey, n int, now time.Time) []claimed {
	t.Helper()
	out := make([]claimed, n)
	errs := together(n, func(i int) error {
		var err error
		out[i].admitted, out[i].until, err = st.ClaimLoginAttempt(t.Context(), key, now, throttlePolicy)
		return err
	})
	for _, err := range errs {
		mustNil(t, err)
	}
	return out
}

// testThrottleOutOfOrder: claims reach the store in another order than
// their clocks were read (two requests at once; replicas whose clocks
// differ a little). A free attempt sets no lock, so one stamped earlier
// than the claim before it is admitted (it used to find the key "locked
// until" the other's now: a right password answered 429). A real lock
// still refuses every claim stamped before its end.
func testThrottleOutOfOrder(t *testing.T, st Store) {
	key := throttleKey(t)
	ms := time.Millisecond
	mustAdmit(t, st, key, t0.Add(5*ms), t0.Add(5*ms))
	mustAdmit(t, st, key, t0, t0)
	mustAdmit(t, st, key, t0.Add(3*ms), t0.Add(3*ms))
	mustAdmit(t, st, key, t0.Add(-50*ms), t0.Add(-50*ms))
	mustAdmit(t, st, key, t0.Add(5*ms), t0.Add(5*ms+time.Second)) // the fifth locks
	mustRefuse(t, st, key, t0, t0.Add(5*ms+time.Second))
	mustRefuse(t, st, key, t0.Add(5*ms+time.Second-time.Microsecond), t0.Add(5*ms+time.Second))
	// Its window over, the key starts a new count with free attempts; they
	// leave the old lock's end where it was, not at their own now.
	at := t0.Add(throttlePolicy.Window + time.Minute)
	mustAdmit(t, st, key, at, at)
	mustAdmit(t, st, key, at.Add(-ms), at.Add(-ms))
}
