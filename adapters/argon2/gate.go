package argon2

import (
	"context"
	"fmt"
	"runtime"
	"sync/atomic"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// GateConfig sizes a Gate. Zero values pick the defaults noted per field.
type GateConfig struct {
	// Concurrency is how many hashes run at once; 0 (or less) means
	// runtime.NumCPU(). Each argon2id computation with p=1 saturates one core
	// and holds m KiB, so this bounds both CPU and memory.
	Concurrency int
	// MaxQueue is how many callers may wait for a slot; 0 means 64, and a
	// negative value means nobody waits. Callers beyond it are rejected at
	// once rather than piling up goroutines and request memory.
	MaxQueue int
	// MaxWait is the longest a caller waits for a slot; 0 (or less) means 3s.
	// A login that waits longer is better answered with 503 and Retry-After
	// than left hanging until the client gives up.
	MaxWait time.Duration
}

// Defaults applied by NewGate to zero GateConfig fields.
const (
	DefaultMaxQueue = 64
	DefaultMaxWait  = 3 * time.Second
)

// Gate is a bounded admission gate in front of the password hash. Hashing
// is deliberately expensive, so an unbounded burst of logins would turn into
// unbounded memory (m KiB per hash) and latency; the gate turns overload
// into fast, retryable rejections instead.
//
// Slots are a buffered channel, so a freed slot is handed to the longest
// waiter directly (Go channels queue blocked senders in FIFO order) and a
// newcomer cannot barge ahead of the queue.
type Gate struct {
	slots    chan struct{}
	maxQueue int64
	maxWait  time.Duration

	inUse   atomic.Int64
	waiting atomic.Int64

	// Counters since start, for metrics (see Stats).
	admitted      atomic.Int64 // slots granted, at once or after waiting
	waited        atomic.Int64 // of those, granted after queueing
	waitNanos     atomic.Int64 // total time spent queueing by granted waiters
	rejectedFull  atomic.Int64 // turned away at once: the queue was full
	rejectedTimer atomic.Int64 // waited MaxWait without a slot
}

// GateStats is a snapshot of a gate's gauges and counters.
type GateStats struct {
	Capacity          int           // Concurrency
	InUse, Waiting    int           // gauges, now
	Admitted, Waited  int64         // counters since start
	WaitTime          time.Duration // total queueing time of admitted waiters
	RejectedQueueFull int64
	RejectedTimeout   int64
}

// Stats returns the gate's current gauges and counters.
func (g *Gate) Stats() GateStats {
	return GateStats{
		Capacity:          cap(g.slots),
		InUse:             g.InUse(),
		Waiting:           g.Waiting(),
		Admitted:          g.admitted.Load(),
		Waited:            g.waited.Load(),
		WaitTime:          time.Duration(g.waitNanos.Load()),
		RejectedQueueFull: g.rejectedFull.Load(),
		RejectedTimeout:   g.rejectedTimer.Load(),
	}
}

// NewGate builds a gate from cfg, filling in defaults.
func NewGate(cfg GateConfig) *Gate {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = runtime.NumCPU()
	}
	switch {
	case cfg.MaxQueue == 0:
		cfg.MaxQueue = DefaultMaxQueue
	case cfg.MaxQueue < 0:
		cfg.MaxQueue = 0
	}
	if cfg.MaxWait <= 0 {
		cfg.MaxWait = DefaultMaxWait
	}
	return &Gate{
		slots:    make(chan struct{}, cfg.Concurrency),
		maxQueue: int64(cfg.MaxQueue),
		maxWait:  cfg.MaxWait,
	}
}

// Acquire takes a slot, waiting at most MaxWait and only while fewer than
// MaxQueue others wait. The returned release must be called exactly when
// the work ends (defer it); calling it more than once is harmless, so a
// panic-path defer and an explicit call cannot free two slots.
//
// On saturation the error is a *BusyError (errors.Is domain.ErrUnavailable);
// when ctx ends first it wraps ctx.Err(), because a caller that has gone
// away is not a capacity problem and must not be reported as one.
func (g *Gate) Acquire(ctx context.Context) (release func(), err error) {
	// A request whose client has already left must not burn a hash.
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("argon2: before taking a hashing slot: %w", err)
	}
	select {
	case g.slots <- struct{}{}:
		return g.granted(), nil
	default:
	}

	if g.waiting.Add(1) > g.maxQueue {
		g.waiting.Add(-1)
		g.rejectedFull.Add(1)
		return nil, &BusyError{QueueFull: true, Retry: g.maxWait}
	}
	defer g.waiting.Add(-1)

	start := time.Now()
	timer := time.NewTimer(g.maxWait)
	defer timer.Stop()
	select {
	case g.slots <- struct{}{}:
		g.waited.Add(1)
		g.waitNanos.Add(int64(time.Since(start)))
		return g.granted(), nil
	case <-ctx.Done():
		return nil, fmt.Errorf("argon2: waiting for a hashing slot: %w", ctx.Err())
	case <-timer.C:
		g.rejectedTimer.Add(1)
		return nil, &BusyError{Retry: g.maxWait}
	}
}

// granted records a taken slot and returns its idempotent release. inUse is
// raised after the slot is taken and lowered before it is given back, so
// InUse never exceeds Concurrency, even momentarily.
func (g *Gate) granted() func() {
	g.inUse.Add(1)
	g.admitted.Add(1)
	var released atomic.Bool
	return func() {
		if released.CompareAndSwap(false, true) {
			g.inUse.Add(-1)
			<-g.slots
		}
	}
}

// Admit reports, without waiting, whether an Acquire now would be turned
// away because the queue is full: load shedding before a caller does any
// other work. It counts as a queue-full rejection.
func (g *Gate) Admit() error {
	if len(g.slots) == cap(g.slots) && g.waiting.Load() >= g.maxQueue {
		g.rejectedFull.Add(1)
		return &BusyError{QueueFull: true, Retry: g.maxWait}
	}
	return nil
}

// InUse is the number of slots held now (a gauge for metrics).
func (g *Gate) InUse() int { return int(g.inUse.Load()) }

// Waiting is the number of callers queued for a slot now (a gauge for metrics).
func (g *Gate) Waiting() int { return int(g.waiting.Load()) }

// BusyError reports that the hashing capacity is saturated. It is a
// domain.ErrUnavailable, so the HTTP adapter answers 503 rather than 401 or
// 500, and it carries the Retry-After hint.
type BusyError struct {
	// QueueFull: rejected at once because MaxQueue callers were already
	// waiting; otherwise the caller waited MaxWait without getting a slot.
	QueueFull bool
	// Retry is the raw hint; RetryAfter rounds it for the header.
	Retry time.Duration
}

func (e *BusyError) Error() string {
	if e.QueueFull {
		return "argon2: hashing queue full"
	}
	return "argon2: no hashing slot free within the wait limit"
}

// Unwrap makes errors.Is(err, domain.ErrUnavailable) hold.
func (e *BusyError) Unwrap() error { return domain.ErrUnavailable }

// RetryAfter suggests when to try again. The gate sets Retry to MaxWait: by
// then every caller now queued has either been served or turned away, so the
// queue has turned over. Retry-After is sent in whole seconds, so round up
// (a zero hint would invite an immediate retry storm), with a 1s floor.
func (e *BusyError) RetryAfter() time.Duration {
	d := e.Retry.Truncate(time.Second)
	if d < e.Retry {
		d += time.Second
	}
	return max(d, time.Second)
}

var _ ports.RetryAfter = (*BusyError)(nil)
