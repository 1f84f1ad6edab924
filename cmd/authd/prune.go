package main

import (
	"context"
	"log/slog"
	"time"

	"github.com/authd/authd/adapters/metrics"
	"github.com/authd/authd/application"
)

// pruneRecorder is where a prune run's figures go (adapters/metrics).
type pruneRecorder interface {
	PruneRun(rows map[string]int, took time.Duration, result string, at time.Time)
}

var _ pruneRecorder = (*metrics.Metrics)(nil)

// runPruner runs the pruner every interval (AUTH_PRUNE_INTERVAL) until ctx
// ends, the first time one interval after the start, and logs and records
// each run. A failed run is retried at the next tick.
func runPruner(ctx context.Context, p *application.Pruner, rec pruneRecorder, log *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pruneOnce(ctx, p, rec, log)
	}
}

// pruneOnce is one run of the pruner, logged and recorded.
func pruneOnce(ctx context.Context, p *application.Pruner, rec pruneRecorder, log *slog.Logger) {
	rep, err := p.Run(ctx)
	rows := map[string]int{
		"sessions": rep.Sessions, "refresh_tokens": rep.RefreshTokens,
		"audit_events": rep.AuditEvents, "login_throttle": rep.ThrottleKeys,
		"email_tokens": rep.EmailTokens, "mail_outbox": rep.Mails, "mail_caps": rep.MailCaps,
		"mfa_challenges": rep.MFAChallenges, "passkey_ceremonies": rep.Ceremonies,
	}
	attrs := make([]any, 0, len(metrics.PruneTables)+1)
	for _, t := range metrics.PruneTables {
		attrs = append(attrs, slog.Int(t, rows[t]))
	}
	attrs = append(attrs, slog.Int64("duration_ms", rep.Took.Milliseconds()))
	result := "ok"
	switch {
	case err != nil && ctx.Err() != nil:
		return // shutting down
	case err != nil:
		result = "error"
		log.Warn("prune failed", append(attrs, slog.String("error", err.Error()))...)
	case rep.Skipped:
		result = "skipped"
		log.Debug("prune skipped: another replica holds the prune lock")
	default:
		log.Info("pruned", attrs...)
	}
	if rec != nil {
		rec.PruneRun(rows, rep.Took, result, time.Now())
	}
}
