package application_test

import (
	"context"
	"errors"
	"strconv"
	"testing"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// pagedPruner pretends each table holds rows dead rows, pages of
// b.Limit, and records what it was asked.
type pagedPruner struct {
	locked, held     bool
	rows             int
	auditBefore      time.Time
	auditCalls       int
	sessionRule      domain.SessionRetention
	failTokens       error
	released         int
	throttlePruned   int
	sessionsAt, toks time.Time
	mailBefore       time.Time
	mailCap          domain.MailCap
	sessionsTake     time.Duration // how long PruneSessions takes
}

func (p *pagedPruner) LockPrune(context.Context) (func(), bool, error) {
	if p.held {
		return nil, false, nil
	}
	p.locked = true
	return func() { p.released++; p.locked = false }, true, nil
}

func (p *pagedPruner) page(b ports.PruneBatch) (ports.PruneResult, error) {
	from := 0
	if b.After != "" {
		from, _ = strconv.Atoi(b.After)
	}
	n := min(b.Limit, p.rows-from)
	return ports.PruneResult{Pruned: n, Next: strconv.Itoa(from + n), Done: n < b.Limit}, nil
}

func (p *pagedPruner) PruneSessions(_ context.Context, now time.Time, r domain.SessionRetention, b ports.PruneBatch) (ports.PruneResult, error) {
	p.sessionsAt, p.sessionRule = now, r
	time.Sleep(p.sessionsTake)
	return p.page(b)
}

func (p *pagedPruner) PruneRefreshTokens(_ context.Context, now time.Time, _ domain.SessionRetention, b ports.PruneBatch) (ports.PruneResult, error) {
	p.toks = now
	if p.failTokens != nil {
		return ports.PruneResult{Pruned: 1}, p.failTokens
	}
	return p.page(b)
}

func (p *pagedPruner) PruneAuditEvents(_ context.Context, before time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	p.auditBefore = before
	p.auditCalls++
	return p.page(b)
}

func (p *pagedPruner) PruneEmailTokens(_ context.Context, _ time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	return p.page(b)
}

func (p *pagedPruner) PruneMFAChallenges(_ context.Context, _ time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	return p.page(b)
}

func (p *pagedPruner) PruneCeremonies(_ context.Context, _ time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	return p.page(b)
}

func (p *pagedPruner) PruneMail(_ context.Context, before time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	p.mailBefore = before
	return p.page(b)
}

func (p *pagedPruner) PruneMailCaps(_ context.Context, _ time.Time, c domain.MailCap, b ports.PruneBatch) (ports.PruneResult, error) {
	p.mailCap = c
	return p.page(b)
}

// The throttle part of ports.LoginThrottle the pruner uses: n stale keys,
// deleted up to b.Limit a batch.
type pruneThrottle struct {
	ports.LoginThrottle
	n       int
	batches *int
}

func (t pruneThrottle) PruneLoginThrottle(_ context.Context, _ time.Time, _ domain.ThrottlePolicy, b ports.PruneBatch) (ports.PruneResult, error) {
	*t.batches++
	n := min(b.Limit, t.n-(*t.batches-1)*b.Limit)
	return ports.PruneResult{Pruned: n, Done: n < b.Limit}, nil
}

func testPolicies(t *testing.T) application.Policies {
	t.Helper()
	p, err := application.Config{RefreshTTL: time.Hour}.Policies()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestPrunerWalksEveryTableInBatches(t *testing.T) {
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	store := &pagedPruner{rows: 2500, sessionsTake: 2 * time.Millisecond}
	var throttleBatches int
	p, err := application.NewPruner(store, pruneThrottle{n: 2100, batches: &throttleBatches}, &fixedClock{now}, application.PrunerConfig{
		Policies: testPolicies(t), AuditRetention: 90 * 24 * time.Hour,
		MailCap: domain.MailCap{MinInterval: time.Minute, PerHour: 5},
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	want := application.PruneCounts{Sessions: 2500, RefreshTokens: 2500, AuditEvents: 2500, ThrottleKeys: 2100, EmailTokens: 2500, Mails: 2500, MailCaps: 2500, MFAChallenges: 2500, Ceremonies: 2500}
	if rep.PruneCounts != want || rep.Skipped {
		t.Fatalf("report %+v, want %+v", rep, want)
	}
	// Three batches of sessions at 2 ms each: the run's own wall time, which
	// the log line and authd_prune_duration_seconds report.
	if rep.Took < 6*time.Millisecond {
		t.Errorf("Took = %v, want at least the 6ms its batches took", rep.Took)
	}
	if throttleBatches != 3 {
		t.Errorf("throttle keys pruned in %d batches, want 3 of at most 1,000", throttleBatches)
	}
	if store.auditCalls != 3 {
		t.Errorf("audit pruned in %d batches, want 3 of at most 1,000", store.auditCalls)
	}
	if !store.auditBefore.Equal(now.Add(-90*24*time.Hour)) || !store.sessionsAt.Equal(now) || !store.toks.Equal(now) {
		t.Errorf("cutoffs: audit before %s, sessions at %s, tokens at %s", store.auditBefore, store.sessionsAt, store.toks)
	}
	if !store.mailBefore.Equal(now.Add(-domain.SentMailRetention)) || store.mailCap.PerHour != 5 {
		t.Errorf("mail pruned before %s under cap %+v", store.mailBefore, store.mailCap)
	}
	if store.sessionRule.Grace != domain.EndedSessionGrace || store.sessionRule.Policy != testPolicies(t).Session {
		t.Errorf("session rule %+v", store.sessionRule)
	}
	if store.released != 1 || store.locked {
		t.Errorf("lock released %d times, still locked %t", store.released, store.locked)
	}
}

func TestPrunerSkipsWhenTheLockIsHeldAndKeepsAuditWithZeroRetention(t *testing.T) {
	store := &pagedPruner{rows: 10, held: true}
	p, err := application.NewPruner(store, nil, &fixedClock{time.Now()}, application.PrunerConfig{Policies: testPolicies(t)})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Run(t.Context())
	if err != nil || !rep.Skipped || rep.PruneCounts != (application.PruneCounts{}) {
		t.Fatalf("run with the lock held = %+v, %v; want skipped", rep, err)
	}
	store.held = false
	rep, err = p.Run(t.Context())
	if err != nil || rep.Skipped || rep.AuditEvents != 0 || store.auditCalls != 0 || rep.Sessions != 10 {
		t.Fatalf("run with retention 0 = %+v, %v, %d audit calls; want the audit log untouched", rep, err, store.auditCalls)
	}
}

func TestPrunerStopsAtAnErrorAndReleasesTheLock(t *testing.T) {
	boom := errors.New("boom")
	store := &pagedPruner{rows: 10, failTokens: boom}
	p, err := application.NewPruner(store, nil, &fixedClock{time.Now()}, application.PrunerConfig{Policies: testPolicies(t), AuditRetention: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := p.Run(t.Context())
	if !errors.Is(err, boom) || rep.RefreshTokens != 1 || rep.Sessions != 0 || store.released != 1 {
		t.Fatalf("failed run = %+v, %v, released %d", rep, err, store.released)
	}
	if _, err := application.NewPruner(store, nil, &fixedClock{}, application.PrunerConfig{AuditRetention: -1}); err == nil {
		t.Fatal("a negative audit retention was accepted")
	}
}
