package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// startFloor serves the floor in process and returns its base URL; the
// cleanup cancels it, as SIGINT would, and requires a clean shutdown.
func startFloor(t *testing.T) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"floor", "-addr", "127.0.0.1:0"}, pw, io.Discard)
		pw.Close()
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("floor printed no line: %v (%v)", err, <-done)
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("floor shutdown: %v", err)
			}
		case <-time.After(15 * time.Second):
			t.Error("floor did not stop")
		}
	})
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening on ")
	if !ok || !strings.HasPrefix(base, "http://127.0.0.1:") {
		t.Fatalf("floor printed %q", line)
	}
	return base
}

func TestFloorAndGetScenario(t *testing.T) {
	base := startFloor(t)

	res, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "ok" || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("GET / = %d %q %q", res.StatusCode, body, res.Header.Get("Content-Type"))
	}

	rep, out, err := runJSON(t, "-url", base, "-scenario", "get", "-path", "/", "-c", "4", "-n", "300", "-d", "1m", "-warmup", "50ms")
	if err != nil {
		t.Fatalf("get: %v\n%s", err, out)
	}
	if rep.Requests != 300 || rep.Status[200] != 300 || rep.Unexpected != 0 {
		t.Fatalf("report: %s", out)
	}

	// Any other path is chi's 404: counted as unexpected, and a failure.
	rep, _, err = runJSON(t, "-url", base, "-scenario", "get", "-path", "/nope", "-c", "2", "-n", "5", "-warmup", "0")
	if err == nil || rep.Status[404] != 5 || rep.Unexpected != 5 {
		t.Fatalf("GET /nope: err %v, report %+v", err, rep)
	}
}

func TestFloorRefusesNonLoopback(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "192.0.2.1:0"} {
		err := run(t.Context(), []string{"floor", "-addr", addr}, io.Discard, io.Discard)
		if err == nil {
			t.Errorf("floor -addr %s was accepted", addr)
		}
	}
}
