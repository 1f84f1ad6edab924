package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"
)

// maxSetupConcurrency bounds the registrations and logins of setup: each
// costs one argon2id hash, and authd answers a burst beyond its hashing gate
// with 503s, which would fail the setup rather than measure anything.
const maxSetupConcurrency = 8

// load is one `authload run`: its target, its accounts and its workers.
type load struct {
	cfg     runConfig
	api     *api
	runID   string // keeps this run's emails apart from any earlier run's
	workers []*worker
}

// worker is one load goroutine's state. Only its own goroutine touches it
// while the load runs, so recording takes no lock; tallies merge at the end.
type worker struct {
	id      int
	session tokenPair // its own session, for refresh and me
	account int       // the account it last logged in as
	sent    int       // its registrations so far, for unique emails
	tally   tally
}

// runLoad runs `authload run`: check the target, set up, load, report.
func runLoad(ctx context.Context, cfg runConfig, stdout, stderr io.Writer) error {
	if err := checkLoopback(ctx, cfg.host, net.DefaultResolver.LookupIPAddr); err != nil {
		return err
	}
	if cfg.pid != 0 {
		if _, err := readStatusKiB(cfg.pid, "VmHWM"); err != nil {
			return fmt.Errorf("-pid %d: %w", cfg.pid, err)
		}
	}
	client := newClient(cfg.concurrency, cfg.timeout)
	defer client.CloseIdleConnections()
	l := newLoad(cfg, &api{base: cfg.base, client: client})
	if err := l.setup(ctx); err != nil {
		return err
	}

	var stopSampling func() int64
	if cfg.pid != 0 {
		stopSampling = sampleRSS(cfg.pid, rssInterval)
	}
	elapsed := l.drive(ctx)
	rep := l.report(elapsed)
	rep.Interrupted = ctx.Err() != nil
	if cfg.pid != 0 {
		rep.ServerRSS = &rssReport{PID: cfg.pid, MaxSampledKiB: stopSampling()}
		hwm, err := readStatusKiB(cfg.pid, "VmHWM")
		if err != nil {
			fmt.Fprintf(stderr, "authload: server peak RSS: %v\n", err)
		}
		rep.ServerRSS.PeakKiB = hwm
	}

	if err := rep.write(stdout, cfg.json); err != nil {
		return err
	}
	switch {
	case rep.Interrupted:
		return errors.New("interrupted")
	case (rep.Unexpected > 0 || rep.transportErrors() > 0) && !cfg.allowErrors:
		return fmt.Errorf("%d unexpected statuses and %d transport errors (-allow-errors accepts them)",
			rep.Unexpected, rep.transportErrors())
	}
	return nil
}

func newLoad(cfg runConfig, a *api) *load {
	id := make([]byte, 6)
	_, _ = rand.Read(id) // never fails (crypto/rand, Go 1.24+)
	l := &load{cfg: cfg, api: a, runID: hex.EncodeToString(id)}
	for i := range cfg.concurrency {
		l.workers = append(l.workers, &worker{id: i, account: i % cfg.users, tally: newTally()})
	}
	return l
}

func (l *load) accountEmail(i int) string {
	return fmt.Sprintf("authload-%s-%d@load.example", l.runID, i)
}

// setup registers the accounts and logs the workers in, as the scenario
// needs. None of it is measured.
func (l *load) setup(ctx context.Context) error {
	limit := min(l.cfg.concurrency, maxSetupConcurrency)
	if l.cfg.scenario.accounts {
		err := parallel(ctx, l.cfg.users, limit, func(ctx context.Context, i int) error {
			if err := l.api.register(ctx, l.accountEmail(i), true).expect(http.StatusCreated); err != nil {
				return fmt.Errorf("setup: register account %d: %w", i, err)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	if l.cfg.scenario.sessions {
		return parallel(ctx, len(l.workers), limit, func(ctx context.Context, i int) error {
			w := l.workers[i]
			r := l.api.login(ctx, l.accountEmail(w.account), true)
			err := r.expect(http.StatusOK)
			if err == nil {
				w.session, err = r.tokens()
			}
			if err != nil {
				return fmt.Errorf("setup: log in worker %d: %w", i, err)
			}
			return nil
		})
	}
	return nil
}

// drive runs the workers until the duration or the request budget is spent
// (or ctx ends) and returns the measured time: from the end of the warmup
// to the last measured response. A request is measured when it starts after
// the warmup; one in flight at the deadline still counts when it completes.
func (l *load) drive(ctx context.Context) time.Duration {
	measureFrom := time.Now().Add(l.cfg.warmup)
	var stopAt time.Time
	if l.cfg.duration > 0 {
		stopAt = measureFrom.Add(l.cfg.duration)
	}
	var claimed atomic.Int64
	var wg sync.WaitGroup
	for _, w := range l.workers {
		wg.Go(func() {
			for ctx.Err() == nil {
				begin := time.Now()
				if !stopAt.IsZero() && !begin.Before(stopAt) {
					return
				}
				measured := !begin.Before(measureFrom)
				if measured && l.cfg.requests > 0 && claimed.Add(1) > l.cfg.requests {
					return
				}
				o := l.cfg.scenario.next()
				r := l.request(ctx, w, o)
				took := time.Since(begin)
				if o == opRefresh {
					r = w.adopt(r)
				}
				if measured && (r.err == nil || ctx.Err() == nil) { // an interrupted request is not a result
					w.tally.add(o, r, took)
				}
			}
		})
	}
	wg.Wait()
	return max(time.Since(measureFrom), 0)
}

// request sends worker w's next request of kind o.
func (l *load) request(ctx context.Context, w *worker, o op) response {
	switch o {
	case opRegister:
		w.sent++
		return l.api.register(ctx, fmt.Sprintf("authload-%s-w%d-%d@load.example", l.runID, w.id, w.sent), false)
	case opLogin:
		// Each worker keeps to its own accounts (w, w+c, w+2c, ...): two
		// workers logging in to one account at once would bunch up over
		// time, and authd's per-account throttle counts attempts in flight.
		// Real users rarely log in to one account from many places at once.
		w.account = (w.account + len(l.workers)) % l.cfg.users
		return l.api.login(ctx, l.accountEmail(w.account), false)
	case opRefresh:
		return l.api.refresh(ctx, w.session.RefreshToken)
	case opMe:
		return l.api.me(ctx, w.session.AccessToken)
	default:
		return l.api.get(ctx, l.cfg.path)
	}
}

// adopt takes the new token pair of a successful refresh: the one just
// presented is spent, and presenting it again would revoke the session.
// A 200 without a pair is reported as an error.
func (w *worker) adopt(r response) response {
	if r.err != nil || r.status != http.StatusOK {
		return r
	}
	pair, err := r.tokens()
	if err != nil {
		return response{err: fmt.Errorf("refresh: %w", err)}
	}
	w.session = pair
	r.body = nil
	return r
}

// parallel calls fn for i in [0, n) with at most limit calls at a time and
// returns the first error, after which no new call starts.
func parallel(ctx context.Context, n, limit int, fn func(ctx context.Context, i int) error) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
		}
		if ctx.Err() != nil {
			break
		}
		wg.Go(func() {
			defer func() { <-sem }()
			if err := fn(ctx, i); err != nil {
				cancel(err)
			}
		})
	}
	wg.Wait()
	return context.Cause(ctx)
}
