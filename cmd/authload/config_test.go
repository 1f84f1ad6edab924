package main

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestParseRunConfigDefaults(t *testing.T) {
	cfg, err := parseRunConfig([]string{"-scenario", "me"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.base != "http://127.0.0.1:8080" || cfg.concurrency != 32 || cfg.duration != 10*time.Second ||
		cfg.requests != 0 || cfg.warmup != time.Second || cfg.users != 32 || cfg.timeout != 30*time.Second {
		t.Fatalf("defaults: %+v", cfg)
	}
	cfg, err = parseRunConfig([]string{"-scenario", "get", "-path", "/healthz", "-url", "http://localhost:9/", "-d", "0", "-n", "5"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.base != "http://localhost:9" || cfg.host != "localhost" || cfg.path != "/healthz" || cfg.requests != 5 {
		t.Fatalf("get: %+v", cfg)
	}
	if cfg, err := parseRunConfig([]string{"-scenario", "login", "-c", "8", "-users", "3"}); err != nil || cfg.users != 3 {
		t.Fatalf("-users 3: %+v %v", cfg, err)
	}
}

func TestParseRunConfigRejects(t *testing.T) {
	tests := []struct {
		name string
		args []string
		says string
	}{
		{"no scenario", []string{}, "-scenario"},
		{"bad scenario", []string{"-scenario", "logout"}, "-scenario"},
		{"no bound", []string{"-scenario", "me", "-d", "0"}, "no bound"},
		{"no bound with n 0", []string{"-scenario", "me", "-d", "0", "-n", "0"}, "no bound"},
		{"d above max", []string{"-scenario", "me", "-d", "10m1s"}, "-d"},
		{"negative d", []string{"-scenario", "me", "-d", "-1s"}, "-d"},
		{"negative n", []string{"-scenario", "me", "-n", "-1"}, "-n"},
		{"zero concurrency", []string{"-scenario", "me", "-c", "0"}, "-c"},
		{"warmup above max", []string{"-scenario", "me", "-warmup", "11m"}, "-warmup"},
		{"zero timeout", []string{"-scenario", "me", "-timeout", "0"}, "-timeout"},
		{"get without path", []string{"-scenario", "get"}, "-path"},
		{"relative path", []string{"-scenario", "get", "-path", "healthz"}, "-path"},
		{"path outside get", []string{"-scenario", "me", "-path", "/"}, "-path"},
		{"users outside accounts", []string{"-scenario", "register", "-users", "5"}, "-users"},
		{"ftp url", []string{"-scenario", "me", "-url", "ftp://127.0.0.1/"}, "scheme"},
		{"url without host", []string{"-scenario", "me", "-url", "http:///x"}, "host"},
		{"url with query", []string{"-scenario", "me", "-url", "http://127.0.0.1/?a=b"}, "-url"},
		{"unknown flag", []string{"-scenario", "me", "-rate", "5"}, "rate"},
		{"stray argument", []string{"-scenario", "me", "extra"}, "extra"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseRunConfig(tt.args)
			var ue usageError
			if !errors.As(err, &ue) {
				t.Fatalf("want a usage error, got %v", err)
			}
			if !strings.Contains(err.Error(), tt.says) {
				t.Fatalf("%q does not mention %q", err, tt.says)
			}
		})
	}
}

func TestParseOtherCommands(t *testing.T) {
	if addr, err := parseFloorConfig([]string{"-addr", "127.0.0.1:0"}); err != nil || addr != "127.0.0.1:0" {
		t.Errorf("floor: %q %v", addr, err)
	}
	if _, err := parseFloorConfig([]string{"-addr", "127.0.0.1"}); err == nil {
		t.Error("floor: an address without a port was accepted")
	}
	cfg, err := parseStartupConfig([]string{"-url", "http://127.0.0.1:1", "-runs", "2", "--", "authd", "serve"})
	if err != nil || cfg.runs != 2 || strings.Join(cfg.command, " ") != "authd serve" {
		t.Errorf("startup: %+v %v", cfg, err)
	}
	for _, args := range [][]string{{"-url", "http://127.0.0.1:1"}, {"-runs", "0", "--", "authd"}} {
		if _, err := parseStartupConfig(args); err == nil {
			t.Errorf("startup %v was accepted", args)
		}
	}
}

func TestRunUsage(t *testing.T) {
	var stdout, stderr strings.Builder
	if err := run(t.Context(), []string{"help"}, &stdout, &stderr); err != nil || !strings.Contains(stdout.String(), "authload run") {
		t.Errorf("help: %v %q", err, stdout.String())
	}
	if err := run(t.Context(), []string{"run", "-h"}, &stdout, &stderr); err != nil {
		t.Errorf("run -h: %v", err)
	}
	for _, args := range [][]string{nil, {"blast"}} {
		var ue usageError
		if err := run(t.Context(), args, &stdout, &stderr); !errors.As(err, &ue) {
			t.Errorf("%v: want a usage error, got %v", args, err)
		}
	}
	// The loopback check runs before any request.
	err := run(t.Context(), []string{"run", "-scenario", "me", "-url", "http://192.0.2.1:8080"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Errorf("run against 192.0.2.1: %v", err)
	}
}
