package metrics

import (
	"io"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestRequestsAndOutcomesAreCounted(t *testing.T) {
	m := New(Sources{})
	m.Request("/v1/users/me", "GET", 200, 3*time.Millisecond)
	m.Request("/v1/users/me", "GET", 200, 4*time.Millisecond)
	m.Request("/v1/auth/login", "POST", 401, 40*time.Millisecond)
	m.Outcome("login", "invalid_credentials")
	m.Outcome("refresh", "reuse_detected")
	m.Outcome("refresh", "success")

	if got := testutil.ToFloat64(m.requests.WithLabelValues("/v1/users/me", "GET", "200")); got != 2 {
		t.Errorf("me 200 count = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.operations.WithLabelValues("refresh", "reuse_detected")); got != 1 {
		t.Errorf("reuse outcome = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.reuse); got != 1 {
		t.Errorf("reuse counter = %v, want 1 (success must not count)", got)
	}
	if n := testutil.CollectAndCount(m.latency); n != 2 {
		t.Errorf("latency series = %d, want 2 (one per route and method)", n)
	}
}

func TestGateAndPoolAreReadAtScrapeTime(t *testing.T) {
	gate := GateStats{Capacity: 2, InUse: 1, Waiting: 3, Admitted: 10, Waited: 4, WaitTime: 1500 * time.Millisecond, RejectedQueueFull: 5, RejectedTimeout: 6}
	pool := PoolStats{MaxConns: 8, TotalConns: 3, IdleConns: 2, AcquiredConns: 1, Acquires: 100, EmptyAcquires: 7, CanceledAcquires: 1, AcquireWait: time.Second, NewConns: 3, StatementRetries: 4, TxRetries: 2}
	m := New(Sources{Gate: func() GateStats { return gate }, Pool: func() PoolStats { return pool }})

	body := scrape(t, m)
	for _, want := range []string{
		"authd_hash_gate_capacity 2", "authd_hash_gate_in_flight 1", "authd_hash_gate_waiting 3",
		"authd_hash_gate_admitted_total 10", "authd_hash_gate_waits_total 4", "authd_hash_gate_wait_seconds_total 1.5",
		"authd_hash_gate_rejected_queue_full_total 5", "authd_hash_gate_rejected_timeout_total 6",
		"authd_db_pool_max_connections 8", "authd_db_pool_connections 3", "authd_db_pool_idle_connections 2",
		"authd_db_pool_acquired_connections 1", "authd_db_pool_acquires_total 100", "authd_db_pool_empty_acquires_total 7",
		"authd_db_pool_canceled_acquires_total 1", "authd_db_pool_acquire_wait_seconds_total 1", "authd_db_pool_new_connections_total 3",
		"authd_db_pool_retried_statements_total 4", "authd_db_pool_retried_transactions_total 2",
		"go_goroutines", "process_resident_memory_bytes",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
	gate.InUse = 2 // read again at the next scrape, not cached
	if !strings.Contains(scrape(t, m), "authd_hash_gate_in_flight 2") {
		t.Error("gate gauge not re-read at scrape time")
	}
}

// One scrape reads each source once: its figures are one snapshot.
func TestEachSourceIsReadOncePerScrape(t *testing.T) {
	var gateReads, poolReads int
	m := New(Sources{
		Gate: func() GateStats { gateReads++; return GateStats{} },
		Pool: func() PoolStats { poolReads++; return PoolStats{} },
	})
	scrape(t, m)
	if gateReads != 1 || poolReads != 1 {
		t.Fatalf("one scrape read the gate %d and the pool %d times, want 1 each", gateReads, poolReads)
	}
}

func TestNoSourcesNoSeries(t *testing.T) {
	body := scrape(t, New(Sources{}))
	if strings.Contains(body, "authd_hash_gate") || strings.Contains(body, "authd_db_pool") {
		t.Error("series exported for an absent source")
	}
}

func scrape(t *testing.T, m *Metrics) string {
	t.Helper()
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 200 {
		t.Fatalf("scrape: %d", rec.Code)
	}
	b, _ := io.ReadAll(rec.Body)
	return string(b)
}
