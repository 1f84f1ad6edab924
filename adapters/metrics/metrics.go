// Package metrics is the Prometheus adapter: it implements the HTTP
// adapter's Observer and exposes the hashing gate's and the database pool's
// figures, read through plain functions so it depends on no other adapter.
// Every label is a bounded set (route patterns, methods, statuses, operation
// and outcome names); no user data ever becomes a label.
package metrics

import (
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

const namespace = "authd"

// GateStats is what the password-hashing admission gate reports.
type GateStats struct {
	Capacity, InUse, Waiting int
	Admitted, Waited         int64
	WaitTime                 time.Duration
	RejectedQueueFull        int64
	RejectedTimeout          int64
}

// PoolStats is what the database connection pool reports.
type PoolStats struct {
	MaxConns, TotalConns, IdleConns, AcquiredConns int32
	Acquires, EmptyAcquires, CanceledAcquires      int64
	AcquireWait                                    time.Duration
	NewConns                                       int64
	StatementRetries, TxRetries                    int64
}

// Sources are the optional readings; nil ones are not exported.
type Sources struct {
	Gate func() GateStats
	Pool func() PoolStats
}

// Metrics owns a registry with authd's metrics plus the Go runtime and
// process collectors.
type Metrics struct {
	reg        *prometheus.Registry
	requests   *prometheus.CounterVec
	latency    *prometheus.HistogramVec
	operations *prometheus.CounterVec
	reuse      prometheus.Counter
	prune      *pruneMetrics // prune.go
	mail       *mailMetrics  // mail.go
}

// New registers everything on a fresh registry.
func New(src Sources) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{
		reg: reg,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "http_requests_total",
			Help: "HTTP requests by route pattern, method and status.",
		}, []string{"route", "method", "status"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "http_request_duration_seconds",
			Help: "HTTP request latency by route pattern and method.",
			// From well under a millisecond (/v1/users/me) to the hashing
			// gate's 3 s queue limit.
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method"}),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "auth_operations_total",
			Help: "Registrations, logins, refreshes, logouts and password changes by outcome (success, invalid_credentials, reuse_detected, unavailable, ...; docs/OPERATIONS.md lists them all).",
		}, []string{"operation", "outcome"}),
		reuse: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: namespace, Name: "refresh_token_reuse_detected_total",
			Help: "Spent refresh tokens presented again; each revoked its session (RFC 9700). Alert on any increase.",
		}),
	}
	reg.MustRegister(m.requests, m.latency, m.operations, m.reuse,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m.prune = newPruneMetrics(reg)
	m.mail = newMailMetrics(reg)
	if src.Gate != nil {
		registerGate(reg, src.Gate)
	}
	if src.Pool != nil {
		registerPool(reg, src.Pool)
	}
	return m
}

// Handler serves the registry in the Prometheus exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Request counts one HTTP request (httpapi.Observer).
func (m *Metrics) Request(route, method string, status int, elapsed time.Duration) {
	m.requests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.latency.WithLabelValues(route, method).Observe(elapsed.Seconds())
}

// Outcome counts one use-case result (httpapi.Observer).
func (m *Metrics) Outcome(operation, outcome string) {
	m.operations.WithLabelValues(operation, outcome).Inc()
	if outcome == "reuse_detected" {
		m.reuse.Inc()
	}
}

// reading is one figure of a source: a gauge, or a counter when counter.
type reading[S any] struct {
	name, help string
	counter    bool
	value      func(S) float64
}

// readings is a collector that exports each reading of one source under
// authd_<subsystem>_<name>, reading the source once per scrape, so the
// figures of one scrape come from one consistent snapshot.
type readings[S any] struct {
	read  func() S
	rs    []reading[S]
	descs []*prometheus.Desc
}

func registerReadings[S any](reg *prometheus.Registry, subsystem string, read func() S, rs []reading[S]) {
	c := &readings[S]{read: read, rs: rs}
	for _, r := range rs {
		c.descs = append(c.descs, prometheus.NewDesc(prometheus.BuildFQName(namespace, subsystem, r.name), r.help, nil, nil))
	}
	reg.MustRegister(c)
}

func (c *readings[S]) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *readings[S]) Collect(ch chan<- prometheus.Metric) {
	snapshot := c.read()
	for i, r := range c.rs {
		kind := prometheus.GaugeValue
		if r.counter {
			kind = prometheus.CounterValue
		}
		ch <- prometheus.MustNewConstMetric(c.descs[i], kind, r.value(snapshot))
	}
}

func registerGate(reg *prometheus.Registry, read func() GateStats) {
	registerReadings(reg, "hash_gate", read, []reading[GateStats]{
		{"capacity", "Password hashes that may run at once.", false, func(s GateStats) float64 { return float64(s.Capacity) }},
		{"in_flight", "Password hashes running now.", false, func(s GateStats) float64 { return float64(s.InUse) }},
		{"waiting", "Requests queued for a hashing slot now.", false, func(s GateStats) float64 { return float64(s.Waiting) }},
		{"admitted_total", "Hashing slots granted.", true, func(s GateStats) float64 { return float64(s.Admitted) }},
		{"waits_total", "Hashing slots granted after queueing.", true, func(s GateStats) float64 { return float64(s.Waited) }},
		{"wait_seconds_total", "Time spent queueing by requests that got a slot.", true, func(s GateStats) float64 { return s.WaitTime.Seconds() }},
		{"rejected_queue_full_total", "Requests turned away at once (503): the queue was full.", true, func(s GateStats) float64 { return float64(s.RejectedQueueFull) }},
		{"rejected_timeout_total", "Requests that waited the maximum without a slot (503).", true, func(s GateStats) float64 { return float64(s.RejectedTimeout) }},
	})
}

func registerPool(reg *prometheus.Registry, read func() PoolStats) {
	registerReadings(reg, "db_pool", read, []reading[PoolStats]{
		{"max_connections", "Pool size limit.", false, func(s PoolStats) float64 { return float64(s.MaxConns) }},
		{"connections", "Open connections.", false, func(s PoolStats) float64 { return float64(s.TotalConns) }},
		{"idle_connections", "Open connections not in use.", false, func(s PoolStats) float64 { return float64(s.IdleConns) }},
		{"acquired_connections", "Connections in use now.", false, func(s PoolStats) float64 { return float64(s.AcquiredConns) }},
		{"acquires_total", "Connections handed out.", true, func(s PoolStats) float64 { return float64(s.Acquires) }},
		{"empty_acquires_total", "Acquires that found no idle connection and had to wait or dial.", true, func(s PoolStats) float64 { return float64(s.EmptyAcquires) }},
		{"canceled_acquires_total", "Acquires abandoned because the request ended.", true, func(s PoolStats) float64 { return float64(s.CanceledAcquires) }},
		{"acquire_wait_seconds_total", "Time spent acquiring connections.", true, func(s PoolStats) float64 { return s.AcquireWait.Seconds() }},
		{"new_connections_total", "Connections opened.", true, func(s PoolStats) float64 { return float64(s.NewConns) }},
		{"retried_statements_total", "Statements sent again because the first send provably reached no server (a connection that had died).", true, func(s PoolStats) float64 { return float64(s.StatementRetries) }},
		{"retried_transactions_total", "Transactions run again whole because their connection broke before COMMIT was sent.", true, func(s PoolStats) float64 { return float64(s.TxRetries) }},
	})
}
