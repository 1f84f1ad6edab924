package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"net"
	"slices"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

// Kinds of transport error, as reported.
const (
	errTimeout = "timeout"
	errRefused = "connection_refused"
	errOther   = "other"
)

// tally is one worker's record of its measured requests. Every latency is
// kept, so the percentiles are exact.
type tally struct {
	requests     [numOps]int
	latencies    [numOps][]time.Duration // of requests that got a response
	status       map[int]int
	errors       map[string]int
	errorSamples map[string]string // the first message of each kind
	unexpected   int
	retryAfter   int // 503s with a Retry-After header
}

func newTally() tally {
	return tally{
		status:       map[int]int{},
		errors:       map[string]int{errTimeout: 0, errRefused: 0, errOther: 0},
		errorSamples: map[string]string{},
	}
}

// add records request o, answered with r after d.
func (t *tally) add(o op, r response, d time.Duration) {
	t.requests[o]++
	if r.err != nil {
		kind := errorKind(r.err)
		t.errors[kind]++
		if _, ok := t.errorSamples[kind]; !ok {
			t.errorSamples[kind] = r.err.Error() // URLs and errnos only: no request carries a secret in its URL
		}
		return
	}
	t.latencies[o] = append(t.latencies[o], d)
	t.status[r.status]++
	if r.status != o.want() {
		t.unexpected++
	}
	if r.retryAfter {
		t.retryAfter++
	}
}

// merge adds u's records to t.
func (t *tally) merge(u tally) {
	for o := range numOps {
		t.requests[o] += u.requests[o]
		t.latencies[o] = append(t.latencies[o], u.latencies[o]...)
	}
	for code, n := range u.status {
		t.status[code] += n
	}
	for kind, n := range u.errors {
		t.errors[kind] += n
	}
	for kind, msg := range u.errorSamples {
		if _, ok := t.errorSamples[kind]; !ok {
			t.errorSamples[kind] = msg
		}
	}
	t.unexpected += u.unexpected
	t.retryAfter += u.retryAfter
}

// errorKind sorts a transport error into the kinds reported.
func errorKind(err error) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return errTimeout
	case errors.Is(err, syscall.ECONNREFUSED):
		return errRefused
	default:
		return errOther
	}
}

// percentile returns the nearest-rank p-th percentile (0 < p <= 100) of
// sorted: the smallest sample with at least p% of all samples at or below it.
func percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p * float64(len(sorted)) / 100)) // p*n first: exact for whole p
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// report is the result of one run, printed as a table or as one JSON object.
type report struct {
	Scenario     string              `json:"scenario"`
	URL          string              `json:"url"`
	Concurrency  int                 `json:"concurrency"`
	DurationS    float64             `json:"duration_s"`
	Requests     int                 `json:"requests"`
	Throughput   float64             `json:"throughput_rps"`
	Latency      latencyMS           `json:"latency_ms"`
	Status       map[int]int         `json:"status"`
	Errors       map[string]int      `json:"transport_errors"`
	ErrorSamples map[string]string   `json:"transport_error_samples,omitempty"`
	Unexpected   int                 `json:"unexpected"`
	RetryAfter   int                 `json:"retry_after_503"`
	Ops          map[string]opReport `json:"ops,omitempty"`
	ServerRSS    *rssReport          `json:"server_rss,omitempty"`
	Interrupted  bool                `json:"interrupted,omitempty"`
}

// latencyMS summarises the latencies of requests that got a response, in
// milliseconds.
type latencyMS struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	P99 float64 `json:"p99"`
	Max float64 `json:"max"`
}

// opReport is one request kind's share of a mixed run.
type opReport struct {
	Requests int       `json:"requests"`
	Latency  latencyMS `json:"latency_ms"`
}

// rssReport is the server's memory: VmHWM at the end (the peak since the
// process started, setup included) and the largest VmRSS sampled during the
// load, in KiB as /proc reports them.
type rssReport struct {
	PID           int   `json:"pid"`
	PeakKiB       int64 `json:"vmhwm_kib"`
	MaxSampledKiB int64 `json:"max_vmrss_kib"`
}

func summarize(sorted []time.Duration) latencyMS {
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	return latencyMS{
		P50: ms(percentile(sorted, 50)),
		P95: ms(percentile(sorted, 95)),
		P99: ms(percentile(sorted, 99)),
		Max: ms(percentile(sorted, 100)),
	}
}

// report merges the workers' tallies.
func (l *load) report(elapsed time.Duration) report {
	all := newTally()
	for _, w := range l.workers {
		all.merge(w.tally)
	}
	rep := report{
		Scenario:     l.cfg.scenario.name,
		URL:          l.cfg.base,
		Concurrency:  l.cfg.concurrency,
		DurationS:    elapsed.Seconds(),
		Status:       all.status,
		Errors:       all.errors,
		ErrorSamples: all.errorSamples,
		Unexpected:   all.unexpected,
		RetryAfter:   all.retryAfter,
	}
	var every []time.Duration
	for o := range numOps {
		rep.Requests += all.requests[o]
		slices.Sort(all.latencies[o])
		every = append(every, all.latencies[o]...)
	}
	slices.Sort(every)
	rep.Latency = summarize(every)
	if elapsed > 0 {
		rep.Throughput = float64(rep.Requests) / elapsed.Seconds()
	}
	if l.cfg.scenario.name == "mix" {
		rep.Ops = map[string]opReport{}
		for o := range numOps {
			if all.requests[o] > 0 {
				rep.Ops[o.String()] = opReport{Requests: all.requests[o], Latency: summarize(all.latencies[o])}
			}
		}
	}
	return rep
}

func (r report) transportErrors() int {
	n := 0
	for _, c := range r.Errors {
		n += c
	}
	return n
}

// write prints r as one JSON object or as a table for a person.
func (r report) write(w io.Writer, asJSON bool) error {
	if asJSON {
		return json.NewEncoder(w).Encode(r)
	}
	return r.writeTable(w)
}

// writeTable prints r for a person.
func (r report) writeTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(name, format string, a ...any) { fmt.Fprintf(tw, name+"\t"+format+"\n", a...) }
	row("scenario", "%s", r.Scenario)
	row("url", "%s", r.URL)
	row("concurrency", "%d", r.Concurrency)
	row("duration", "%v", time.Duration(r.DurationS*float64(time.Second)).Round(time.Millisecond))
	row("requests", "%d", r.Requests)
	row("throughput", "%.1f req/s", r.Throughput)
	row("latency", "%s", r.Latency)
	for _, name := range slices.Sorted(maps.Keys(r.Ops)) {
		op := r.Ops[name]
		row("  "+name, "%d requests, %s", op.Requests, op.Latency)
	}
	var status []string
	for _, code := range slices.Sorted(maps.Keys(r.Status)) {
		status = append(status, fmt.Sprintf("%d: %d", code, r.Status[code]))
	}
	if len(status) == 0 {
		status = append(status, "none")
	}
	row("status", "%s", strings.Join(status, ", "))
	row("unexpected", "%d", r.Unexpected)
	row("503 with Retry-After", "%d", r.RetryAfter)
	row("transport errors", "timeout: %d, connection refused: %d, other: %d",
		r.Errors[errTimeout], r.Errors[errRefused], r.Errors[errOther])
	for _, kind := range slices.Sorted(maps.Keys(r.ErrorSamples)) {
		row("  first "+kind, "%s", r.ErrorSamples[kind])
	}
	if m := r.ServerRSS; m != nil {
		row("server RSS", "peak %s (VmHWM), max sampled %s (VmRSS every %v), pid %d",
			mib(m.PeakKiB), mib(m.MaxSampledKiB), rssInterval, m.PID)
	}
	if r.Interrupted {
		row("interrupted", "yes: the numbers cover a partial run")
	}
	return tw.Flush()
}

func (l latencyMS) String() string {
	return fmt.Sprintf("p50 %v, p95 %v, p99 %v, max %v",
		msDuration(l.P50), msDuration(l.P95), msDuration(l.P99), msDuration(l.Max))
}

func mib(kib int64) string { return fmt.Sprintf("%.1f MiB", float64(kib)/1024) }
