package argon2

import (
	"context"
	"crypto/rand"
	"errors"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// long is a MaxWait no test should ever reach; tests that need a waiter to
// stay queued use it so they never depend on timing.
const long = time.Hour

func mustAcquire(t *testing.T, g *Gate) func() {
	t.Helper()
	release, err := g.Acquire(context.Background())
	if err != nil {
		t.Fatalf("Acquire: %v", err)
	}
	return release
}

// waitUntil yields until cond holds. It waits for another goroutine to reach
// a state the gate's gauges report, with no sleeps or clocks.
func waitUntil(cond func() bool) {
	for !cond() {
		runtime.Gosched()
	}
}

// acquireAsync starts a queued Acquire and returns its outcome channel.
func acquireAsync(ctx context.Context, g *Gate) <-chan error {
	done := make(chan error, 1)
	go func() {
		release, err := g.Acquire(ctx)
		if err == nil {
			release()
		}
		done <- err
	}()
	return done
}

func assertBusy(t *testing.T, err error, queueFull bool) {
	t.Helper()
	var busy *BusyError
	if !errors.As(err, &busy) {
		t.Fatalf("err = %v (%T), want *BusyError", err, err)
	}
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Error("BusyError is not domain.ErrUnavailable")
	}
	if busy.QueueFull != queueFull {
		t.Errorf("QueueFull = %v, want %v", busy.QueueFull, queueFull)
	}
	var ra ports.RetryAfter
	if !errors.As(err, &ra) {
		t.Fatal("BusyError does not implement ports.RetryAfter")
	}
	if d := ra.RetryAfter(); d < time.Second || d%time.Second != 0 {
		t.Errorf("RetryAfter = %v, want whole seconds >= 1s", d)
	}
}

func TestGateDefaults(t *testing.T) {
	g := NewGate(GateConfig{})
	if cap(g.slots) != runtime.NumCPU() || g.maxQueue != DefaultMaxQueue || g.maxWait != DefaultMaxWait {
		t.Errorf("defaults: concurrency %d, queue %d, wait %v", cap(g.slots), g.maxQueue, g.maxWait)
	}
	if g := NewGate(GateConfig{MaxQueue: -1}); g.maxQueue != 0 {
		t.Errorf("MaxQueue -1 gave a queue of %d, want none", g.maxQueue)
	}
}

func TestGateWaitTimeout(t *testing.T) {
	g := NewGate(GateConfig{Concurrency: 1, MaxWait: 10 * time.Millisecond})
	release := mustAcquire(t, g)
	defer release()
	_, err := g.Acquire(context.Background())
	assertBusy(t, err, false)
	if g.Waiting() != 0 || g.InUse() != 1 {
		t.Errorf("after timeout: waiting %d, in use %d; want 0, 1", g.Waiting(), g.InUse())
	}
	st := g.Stats()
	if st.Capacity != 1 || st.Admitted != 1 || st.Waited != 0 || st.RejectedTimeout != 1 || st.RejectedQueueFull != 0 {
		t.Errorf("stats after one grant and one timeout: %+v", st)
	}
}

func TestGateQueueFullRejectsAtOnce(t *testing.T) {
	tests := []struct {
		name     string
		maxQueue int
	}{
		{"no queue", -1},
		{"queue of 1", 1},
		{"queue of 3", 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := NewGate(GateConfig{Concurrency: 1, MaxQueue: tc.maxQueue, MaxWait: long})
			release := mustAcquire(t, g)

			queued := max(tc.maxQueue, 0)
			var waiters []<-chan error
			for range queued {
				waiters = append(waiters, acquireAsync(context.Background(), g))
			}
			waitUntil(func() bool { return g.Waiting() == queued })

			// With MaxWait an hour, only an immediate rejection lets this
			// return.
			_, err := g.Acquire(context.Background())
			assertBusy(t, err, true)

			release()
			for _, w := range waiters {
				if err := <-w; err != nil {
					t.Errorf("queued waiter: %v", err)
				}
			}
			if g.InUse() != 0 || g.Waiting() != 0 {
				t.Errorf("after drain: in use %d, waiting %d", g.InUse(), g.Waiting())
			}
			st := g.Stats()
			if st.Admitted != int64(1+queued) || st.Waited != int64(queued) || st.RejectedQueueFull != 1 || st.RejectedTimeout != 0 {
				t.Errorf("stats: %+v; want admitted %d, waited %d, one queue-full rejection", st, 1+queued, queued)
			}
			if (queued > 0) != (st.WaitTime > 0) {
				t.Errorf("wait time %v with %d waiters", st.WaitTime, queued)
			}
		})
	}
}

func TestGateContextCancelledWhileWaiting(t *testing.T) {
	g := NewGate(GateConfig{Concurrency: 1, MaxWait: long})
	release := mustAcquire(t, g)
	defer release()

	ctx, cancel := context.WithCancel(context.Background())
	done := acquireAsync(ctx, g)
	waitUntil(func() bool { return g.Waiting() == 1 })
	cancel()
	err := <-done
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if errors.Is(err, domain.ErrUnavailable) {
		t.Error("a gone caller was reported as a capacity problem")
	}
	if g.Waiting() != 0 {
		t.Errorf("Waiting = %d after cancel, want 0", g.Waiting())
	}
}

func TestGateContextAlreadyDone(t *testing.T) {
	g := NewGate(GateConfig{Concurrency: 1})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Acquire(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
	if g.InUse() != 0 {
		t.Errorf("InUse = %d, want 0", g.InUse())
	}
}

func TestGateReleaseIsIdempotent(t *testing.T) {
	g := NewGate(GateConfig{Concurrency: 2})
	a := mustAcquire(t, g)
	b := mustAcquire(t, g)
	a()
	a() // must not free b's slot
	if g.InUse() != 1 || len(g.slots) != 1 {
		t.Fatalf("in use %d, slots %d after double release; want 1, 1", g.InUse(), len(g.slots))
	}
	b()
}

func TestGateReleasedAfterPanic(t *testing.T) {
	g := NewGate(GateConfig{Concurrency: 1})
	func() {
		defer func() { _ = recover() }()
		release := mustAcquire(t, g)
		defer release()
		panic("hash blew up")
	}()
	if g.InUse() != 0 {
		t.Fatalf("InUse = %d after panic, want 0", g.InUse())
	}
	mustAcquire(t, g)() // the only slot is usable again
}

// TestHasherReleasesSlot drives Hash and Verify down every exit (success,
// mismatch, malformed input, panic in the primitive) and checks the gate is
// empty afterwards.
func TestHasherReleasesSlot(t *testing.T) {
	h := New(cheap, GateConfig{Concurrency: 1, MaxQueue: -1}, rand.Reader)
	good := mustHash(t, h, "password1")
	bcryptHash := "$2a$04$" + "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0"

	tests := []struct {
		name string
		run  func() error
	}{
		{"hash", func() error { _, err := h.Hash(context.Background(), pw(t, "password1")); return err }},
		{"verify match", func() error { _, err := h.Verify(context.Background(), pw(t, "password1"), good); return err }},
		{"verify mismatch", func() error { _, err := h.Verify(context.Background(), pw(t, "password2"), good); return err }},
		{"verify malformed", func() error { _, err := h.Verify(context.Background(), pw(t, "password1"), "$argon2id$"); return err }},
		{"verify bcrypt", func() error { _, err := h.Verify(context.Background(), pw(t, "password1"), bcryptHash); return err }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_ = tc.run()
			if n := h.Gate().InUse(); n != 0 {
				t.Fatalf("InUse = %d, want 0", n)
			}
		})
	}

	t.Run("panics", func(t *testing.T) {
		p := New(cheap, GateConfig{Concurrency: 1, MaxQueue: -1}, rand.Reader)
		p.derive = func([]byte, []byte, uint32, uint32, uint8, uint32) []byte { panic("kdf") }
		p.compareBcrypt = func([]byte, []byte) error { panic("bcrypt") }
		for _, run := range []func(){
			func() { _, _ = p.Hash(context.Background(), pw(t, "password1")) },
			func() { _, _ = p.Verify(context.Background(), pw(t, "password1"), good) },
			func() { _, _ = p.Verify(context.Background(), pw(t, "password1"), bcryptHash) },
		} {
			func() {
				defer func() {
					if recover() == nil {
						t.Error("expected the injected panic")
					}
				}()
				run()
			}()
			if n := p.Gate().InUse(); n != 0 {
				t.Fatalf("InUse = %d after panic, want 0", n)
			}
		}
	})
}

// TestHasherSaturated checks the error surfaces unchanged through Hash and
// Verify, so callers (and errors.As) see the *BusyError.
func TestHasherSaturated(t *testing.T) {
	h := New(cheap, GateConfig{Concurrency: 1, MaxQueue: -1}, rand.Reader)
	good := mustHash(t, h, "password1")
	release := mustAcquire(t, h.Gate())
	defer release()

	_, err := h.Hash(context.Background(), pw(t, "password1"))
	assertBusy(t, err, true)
	v, err := h.Verify(context.Background(), pw(t, "password1"), good)
	assertBusy(t, err, true)
	if v.Match {
		t.Error("a rejected Verify reported a match")
	}
	_, err = h.Verify(context.Background(), pw(t, "password1"), "$2b$04$"+"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0")
	assertBusy(t, err, true)
}

func TestBusyErrorRetryAfter(t *testing.T) {
	tests := []struct {
		retry, want time.Duration
	}{
		{0, time.Second},
		{10 * time.Millisecond, time.Second},
		{time.Second, time.Second},
		{1500 * time.Millisecond, 2 * time.Second},
		{3 * time.Second, 3 * time.Second},
		{-time.Second, time.Second},
	}
	for _, tc := range tests {
		if got := (&BusyError{Retry: tc.retry}).RetryAfter(); got != tc.want {
			t.Errorf("Retry %v: RetryAfter = %v, want %v", tc.retry, got, tc.want)
		}
	}
}

// TestGateBoundsConcurrency hashes from 50 goroutines through 2 slots and
// records the most KDF calls ever in flight.
func TestGateBoundsConcurrency(t *testing.T) {
	const workers, slots = 50, 2
	h := New(cheap, GateConfig{Concurrency: slots, MaxQueue: 100, MaxWait: long}, rand.Reader)
	var inFlight, peak atomic.Int64
	var overGauge atomic.Bool
	kdf := h.derive
	h.derive = func(password, salt []byte, time, memory uint32, threads uint8, keyLen uint32) []byte {
		n := inFlight.Add(1)
		defer inFlight.Add(-1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		if h.Gate().InUse() > slots {
			overGauge.Store(true)
		}
		runtime.Gosched() // invite others to overlap, if the gate would let them
		return kdf(password, salt, time, memory, threads, keyLen)
	}

	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for i := range workers {
		wg.Go(func() {
			enc, err := h.Hash(context.Background(), pw(t, "password1"))
			if err != nil {
				errs <- err
				return
			}
			if i%2 == 0 {
				if v, err := h.Verify(context.Background(), pw(t, "password1"), enc); err != nil || !v.Match {
					errs <- errors.Join(err, errors.New("round trip failed"))
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if p := peak.Load(); p > slots || p < 1 {
		t.Errorf("peak concurrent KDF calls = %d, want 1..%d", p, slots)
	}
	if overGauge.Load() {
		t.Errorf("InUse exceeded %d", slots)
	}
	if h.Gate().InUse() != 0 || h.Gate().Waiting() != 0 {
		t.Errorf("after all: in use %d, waiting %d", h.Gate().InUse(), h.Gate().Waiting())
	}
}

func TestGateAdmitShedsOnlyWhenTheQueueIsFull(t *testing.T) {
	g := NewGate(GateConfig{Concurrency: 1, MaxQueue: 1, MaxWait: long})
	if err := g.Admit(); err != nil {
		t.Fatalf("idle gate: %v", err)
	}
	release := mustAcquire(t, g)
	if err := g.Admit(); err != nil {
		t.Fatalf("slot taken, queue empty: %v", err)
	}
	waiter := acquireAsync(context.Background(), g)
	waitUntil(func() bool { return g.Waiting() == 1 })
	err := g.Admit()
	assertBusy(t, err, true)
	if st := g.Stats(); st.RejectedQueueFull != 1 {
		t.Fatalf("a shed request is a queue-full rejection: %+v", st)
	}
	release()
	if err := <-waiter; err != nil {
		t.Fatal(err)
	}
}
