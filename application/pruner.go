package application

import (
	"context"
	"fmt"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// DefaultPruneBatch bounds the rows one prune statement examines.
const DefaultPruneBatch = 1000

// PruneCounts is what one prune run deleted, per table.
type PruneCounts struct {
	Sessions, RefreshTokens, AuditEvents, ThrottleKeys      int
	EmailTokens, Mails, MailCaps, MFAChallenges, Ceremonies int
}

// PruneReport is one run: its counts, how long it took, and whether it ran
// at all (Skipped: another replica held the prune lock).
type PruneReport struct {
	PruneCounts
	Skipped bool
	Took    time.Duration
}

// Pruner keeps the tables bounded: it deletes the sessions and refresh
// tokens that can no longer matter (domain.SessionRetention), the audit
// events older than the retention, expired email tokens, mails sent or
// given up more than domain.SentMailRetention ago, stale mail-cap keys,
// and the stale login-throttle keys. The
// server runs it periodically; one replica at a time on a shared database.
type Pruner struct {
	store          ports.Pruner
	throttle       ports.LoginThrottle // nil: no throttle to prune
	clock          ports.Clock
	sessions       domain.SessionRetention
	throttlePolicy domain.ThrottlePolicy
	// AuditRetention keeps events this long; 0 keeps them forever.
	auditRetention time.Duration
	mailCap        domain.MailCap
	batch          int
}

// PrunerConfig is what a Pruner needs beyond its ports.
type PrunerConfig struct {
	Policies Policies
	// AuditRetention keeps audit events this long; 0 keeps them forever.
	AuditRetention time.Duration
	// SessionGrace keeps an ended session this long; zero is
	// domain.EndedSessionGrace, negative none.
	SessionGrace time.Duration
	// MailCap is the policy the mail-cap keys were admitted under
	// (MailPolicies.Cap).
	MailCap domain.MailCap
	// Batch bounds each statement; zero is DefaultPruneBatch.
	Batch int
}

// NewPruner builds a Pruner; throttle may be nil.
func NewPruner(store ports.Pruner, throttle ports.LoginThrottle, clock ports.Clock, cfg PrunerConfig) (*Pruner, error) {
	if cfg.AuditRetention < 0 {
		return nil, fmt.Errorf("application: audit retention must not be negative")
	}
	grace := cfg.SessionGrace
	switch {
	case grace == 0:
		grace = domain.EndedSessionGrace
	case grace < 0:
		grace = 0
	}
	batch := cfg.Batch
	if batch <= 0 {
		batch = DefaultPruneBatch
	}
	return &Pruner{
		store: store, throttle: throttle, clock: clock,
		sessions:       domain.SessionRetention{Policy: cfg.Policies.Session, Grace: grace},
		throttlePolicy: cfg.Policies.Throttle,
		auditRetention: cfg.AuditRetention,
		mailCap:        cfg.MailCap,
		batch:          batch,
	}, nil
}

// Run prunes once, under the store's prune lock; a run that finds the lock
// held elsewhere does nothing and reports Skipped. Counts are those deleted
// up to an error, which ends the run.
func (p *Pruner) Run(ctx context.Context) (rep PruneReport, err error) {
	start := time.Now()
	release, ok, err := p.store.LockPrune(ctx)
	if err != nil {
		return rep, fmt.Errorf("prune: lock: %w", err)
	}
	if !ok {
		rep.Skipped = true
		return rep, nil
	}
	defer release()
	defer func() { rep.Took = time.Since(start) }() // sets the named result, after return copied rep
	now := p.clock.Now()

	// Tokens first: a session's delete then cascades to few rows.
	if rep.RefreshTokens, err = p.walk(ctx, "refresh tokens", func(b ports.PruneBatch) (ports.PruneResult, error) {
		return p.store.PruneRefreshTokens(ctx, now, p.sessions, b)
	}); err != nil {
		return rep, err
	}
	if rep.Sessions, err = p.walk(ctx, "sessions", func(b ports.PruneBatch) (ports.PruneResult, error) {
		return p.store.PruneSessions(ctx, now, p.sessions, b)
	}); err != nil {
		return rep, err
	}
	if p.auditRetention > 0 {
		before := now.Add(-p.auditRetention)
		if rep.AuditEvents, err = p.walk(ctx, "audit events", func(b ports.PruneBatch) (ports.PruneResult, error) {
			return p.store.PruneAuditEvents(ctx, before, b)
		}); err != nil {
			return rep, err
		}
	}
	if rep.EmailTokens, err = p.walk(ctx, "email tokens", func(b ports.PruneBatch) (ports.PruneResult, error) {
		return p.store.PruneEmailTokens(ctx, now, b)
	}); err != nil {
		return rep, err
	}
	if rep.Mails, err = p.walk(ctx, "mail", func(b ports.PruneBatch) (ports.PruneResult, error) {
		return p.store.PruneMail(ctx, now.Add(-domain.SentMailRetention), b)
	}); err != nil {
		return rep, err
	}
	if rep.MFAChallenges, err = p.walk(ctx, "mfa challenges", func(b ports.PruneBatch) (ports.PruneResult, error) {
		return p.store.PruneMFAChallenges(ctx, now, b)
	}); err != nil {
		return rep, err
	}
	if rep.Ceremonies, err = p.walk(ctx, "passkey ceremonies", func(b ports.PruneBatch) (ports.PruneResult, error) {
		return p.store.PruneCeremonies(ctx, now, b)
	}); err != nil {
		return rep, err
	}
	if p.mailCap.PerHour > 0 {
		if rep.MailCaps, err = p.walk(ctx, "mail caps", func(b ports.PruneBatch) (ports.PruneResult, error) {
			return p.store.PruneMailCaps(ctx, now, p.mailCap, b)
		}); err != nil {
			return rep, err
		}
	}
	if p.throttle != nil {
		if rep.ThrottleKeys, err = p.walk(ctx, "login throttle", func(b ports.PruneBatch) (ports.PruneResult, error) {
			return p.throttle.PruneLoginThrottle(ctx, now, p.throttlePolicy, b)
		}); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// walk runs batches until one is Done, and sums what they deleted.
func (p *Pruner) walk(ctx context.Context, what string, batch func(ports.PruneBatch) (ports.PruneResult, error)) (int, error) {
	total := 0
	b := ports.PruneBatch{Limit: p.batch}
	for {
		if err := ctx.Err(); err != nil {
			return total, fmt.Errorf("prune %s: %w", what, err)
		}
		r, err := batch(b)
		total += r.Pruned
		if err != nil {
			return total, fmt.Errorf("prune %s: %w", what, err)
		}
		if r.Done {
			return total, nil
		}
		if r.Next == b.After && r.Next != "" {
			return total, fmt.Errorf("prune %s: the store did not advance past %q", what, r.Next)
		}
		b.After = r.Next
	}
}
