package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// PruneTables are the tables the pruner deletes from: the values of the
// table label, each exported from the start (at zero).
var PruneTables = []string{
	"sessions", "refresh_tokens", "audit_events", "login_throttle",
	"email_tokens", "mail_outbox", "mail_caps", "mfa_challenges", "passkey_ceremonies",
}

// pruneMetrics are the pruner's figures.
type pruneMetrics struct {
	rows     *prometheus.CounterVec
	runs     *prometheus.CounterVec
	duration prometheus.Histogram
	lastOK   prometheus.Gauge
}

func newPruneMetrics(reg *prometheus.Registry) *pruneMetrics {
	p := &pruneMetrics{
		rows: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "pruned_rows_total",
			Help: "Rows the pruner deleted, by table.",
		}, []string{"table"}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "prune_runs_total",
			Help: "Prune runs by result: ok, error, or skipped (another replica held the prune lock).",
		}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: namespace, Name: "prune_duration_seconds",
			Help:    "How long a prune run that ran (not skipped) took.",
			Buckets: []float64{.001, .01, .1, .5, 1, 5, 15, 60, 300},
		}),
		lastOK: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: namespace, Name: "prune_last_success_timestamp_seconds",
			Help: "Unix time of this process's last prune run that completed.",
		}),
	}
	for _, t := range PruneTables {
		p.rows.WithLabelValues(t)
	}
	for _, r := range []string{"ok", "error", "skipped"} {
		p.runs.WithLabelValues(r)
	}
	reg.MustRegister(p.rows, p.runs, p.duration, p.lastOK)
	return p
}

// PruneRun records one run of the pruner: rows deleted per table (keys of
// PruneTables), how long it took, and its result ("ok", "error" or
// "skipped"; a failed run still counts what it deleted).
func (m *Metrics) PruneRun(rows map[string]int, took time.Duration, result string, at time.Time) {
	for t, n := range rows {
		if n > 0 {
			m.prune.rows.WithLabelValues(t).Add(float64(n))
		}
	}
	m.prune.runs.WithLabelValues(result).Inc()
	if result != "skipped" {
		m.prune.duration.Observe(took.Seconds())
	}
	if result == "ok" {
		m.prune.lastOK.Set(float64(at.Unix()))
	}
}
