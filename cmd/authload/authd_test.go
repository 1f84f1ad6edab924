package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
)

// Every scenario against the real binary: each request gets its expected
// status, and -n bounds the count exactly (-d is far longer than needed).
func TestScenariosAgainstAuthd(t *testing.T) {
	base, pid := startAuthd(t)
	tests := []struct {
		scenario string
		n        int
		extra    []string
		want     map[int]int // statuses; nil: only the total is known (mix)
	}{
		{"register", 20, nil, map[int]int{201: 20}},
		{"login", 20, []string{"-users", "3"}, map[int]int{200: 20}},
		{"refresh", 40, nil, map[int]int{200: 40}},
		{"me", 40, []string{"-pid", strconv.Itoa(pid)}, map[int]int{200: 40}},
		{"mix", 40, nil, nil},
		{"get", 40, []string{"-path", "/readyz"}, map[int]int{200: 40}},
	}
	for _, tt := range tests {
		t.Run(tt.scenario, func(t *testing.T) {
			args := append([]string{"-url", base, "-scenario", tt.scenario, "-c", "4", "-n", strconv.Itoa(tt.n),
				"-d", "1m", "-warmup", "0"}, tt.extra...)
			rep, out, err := runJSON(t, args...)
			if err != nil {
				t.Fatalf("run: %v\n%s", err, out)
			}
			if rep.Unexpected != 0 || rep.transportErrors() != 0 {
				t.Fatalf("unexpected %d, transport errors %v\n%s", rep.Unexpected, rep.Errors, out)
			}
			if rep.Requests != tt.n || rep.Scenario != tt.scenario || rep.Concurrency != 4 {
				t.Fatalf("report: %s", out)
			}
			if tt.want != nil && fmt.Sprint(rep.Status) != fmt.Sprint(tt.want) {
				t.Fatalf("status = %v, want %v", rep.Status, tt.want)
			}
			if rep.Latency.P50 <= 0 || rep.Latency.P50 > rep.Latency.P99 || rep.Latency.P99 > rep.Latency.Max || rep.Throughput <= 0 {
				t.Fatalf("implausible latencies or throughput: %s", out)
			}
			if strings.Contains(out, "eyJ") {
				t.Fatal("the report contains a token")
			}
			if tt.scenario == "mix" {
				total := 0
				for name, op := range rep.Ops {
					if _, ok := lookupScenario(name); !ok {
						t.Errorf("unknown op %q", name)
					}
					total += op.Requests
				}
				if total != tt.n {
					t.Errorf("ops add up to %d, want %d: %s", total, tt.n, out)
				}
			}
			if tt.scenario == "me" {
				if rss := rep.ServerRSS; rss == nil || rss.PID != pid || rss.PeakKiB <= 0 || rss.MaxSampledKiB <= 0 || rss.MaxSampledKiB > rss.PeakKiB {
					t.Fatalf("server RSS = %+v", rep.ServerRSS)
				}
			}
		})
	}
	t.Run("table", func(t *testing.T) {
		var stdout, stderr strings.Builder
		err := run(t.Context(), []string{"run", "-url", base, "-scenario", "me", "-c", "2", "-n", "10", "-warmup", "0"}, &stdout, &stderr)
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range []string{"scenario", "requests  ", "throughput", "latency", "p99", "status", "200: 10", "unexpected", "transport errors"} {
			if !strings.Contains(stdout.String(), row) {
				t.Errorf("table lacks %q:\n%s", row, stdout.String())
			}
		}
	})
}

// A wrong status is a failure (exit 1) unless -allow-errors; the report is
// printed either way.
func TestUnexpectedStatusFails(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "3")
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	args := []string{"-url", srv.URL, "-scenario", "get", "-path", "/", "-c", "2", "-n", "10", "-warmup", "0"}
	rep, _, err := runJSON(t, args...)
	if err == nil || !strings.Contains(err.Error(), "10 unexpected") {
		t.Fatalf("err = %v, want 10 unexpected statuses", err)
	}
	if rep.Unexpected != 10 || rep.Status[503] != 10 || rep.RetryAfter != 10 {
		t.Fatalf("report = %+v", rep)
	}
	if _, _, err := runJSON(t, append(args, "-allow-errors")...); err != nil {
		t.Fatalf("-allow-errors: %v", err)
	}
}

// A failed setup names the status and the problem code, nothing else.
func TestSetupFailureNamesStatusAndCode(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/problem+json")
		w.WriteHeader(http.StatusServiceUnavailable)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": 503, "code": "unavailable", "detail": "store down"})
	}))
	defer srv.Close()
	_, out, err := runJSON(t, "-url", srv.URL, "-scenario", "login", "-c", "2", "-n", "4", "-warmup", "0")
	if err == nil || out != "" {
		t.Fatalf("setup failure: err %v, output %q", err, out)
	}
	for _, part := range []string{"setup: register account", "status 503, want 201", "problem code unavailable"} {
		if !strings.Contains(err.Error(), part) {
			t.Errorf("%q lacks %q", err, part)
		}
	}
}

func TestStartupTimesAuthd(t *testing.T) {
	bin := authdBinary(t)
	port := freePort(t)
	t.Setenv("AUTH_ADDR", fmt.Sprintf("127.0.0.1:%d", port))
	t.Setenv("AUTH_DATABASE_URL", "memory:") // the in-memory store, whatever the environment says
	t.Setenv("AUTH_SIGNING_KEY_FILE", "")
	url := fmt.Sprintf("http://127.0.0.1:%d", port)

	var stdout, stderr strings.Builder
	if err := run(t.Context(), []string{"startup", "-url", url, "-runs", "2", "-json", "--", bin}, &stdout, &stderr); err != nil {
		t.Fatalf("startup: %v", err)
	}
	var rep startupReport
	if err := json.Unmarshal([]byte(stdout.String()), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, stdout.String())
	}
	if len(rep.Runs) != 2 || rep.Command != "authd" {
		t.Fatalf("report: %s", stdout.String())
	}
	for _, r := range rep.Runs {
		if r.ReadyMS <= 0 || r.ExitCode != 0 {
			t.Errorf("run: %+v", r)
		}
	}
	if !(rep.MinMS <= rep.MedianMS && rep.MedianMS <= rep.MaxMS) {
		t.Errorf("min/median/max out of order: %s", stdout.String())
	}

	t.Run("table", func(t *testing.T) {
		var stdout strings.Builder
		if err := run(t.Context(), []string{"startup", "-url", url, "-runs", "1", "--", bin}, &stdout, &stderr); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stdout.String(), "run 1: ready in") || !strings.Contains(stdout.String(), "exit code 0") {
			t.Errorf("output: %s", stdout.String())
		}
	})
	t.Run("exits before ready", func(t *testing.T) {
		t.Setenv("AUTH_LOG_LEVEL", "loud")
		err := run(t.Context(), []string{"startup", "-url", url, "-runs", "1", "--", bin}, &stdout, &stderr)
		if err == nil || !strings.Contains(err.Error(), "exited before ready") || !strings.Contains(err.Error(), "AUTH_LOG_LEVEL") {
			t.Fatalf("err = %v", err)
		}
	})
}
