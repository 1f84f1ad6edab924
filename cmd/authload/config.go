package main

import (
	"fmt"
	"net/url"
	"strings"
	"time"
)

// Bounds of a run's flags.
const (
	maxDuration    = 10 * time.Minute // named "10m" in messages
	maxConcurrency = 10000
)

// runConfig is a validated `authload run` command line.
type runConfig struct {
	base        string // URL without a trailing slash
	host        string // the URL's host name, checked for loopback before any request
	scenario    scenario
	concurrency int
	duration    time.Duration // 0: only requests bounds the run
	requests    int64         // 0: only duration bounds the run
	warmup      time.Duration
	path        string // for the get scenario
	users       int
	timeout     time.Duration
	pid         int
	allowErrors bool
	json        bool
}

func parseRunConfig(args []string) (runConfig, error) {
	fs := newFlagSet("run")
	rawURL := fs.String("url", "http://127.0.0.1:8080", "")
	name := fs.String("scenario", "", "")
	c := fs.Int("c", 32, "")
	d := fs.Duration("d", 10*time.Second, "")
	n := fs.Int64("n", 0, "")
	warmup := fs.Duration("warmup", time.Second, "")
	path := fs.String("path", "", "")
	users := fs.Int("users", 0, "")
	timeout := fs.Duration("timeout", 30*time.Second, "")
	pid := fs.Int("pid", 0, "")
	allowErrors := fs.Bool("allow-errors", false, "")
	asJSON := fs.Bool("json", false, "")
	if err := parseFlags(fs, args); err != nil {
		return runConfig{}, err
	}
	fail := func(format string, a ...any) (runConfig, error) {
		return runConfig{}, usageError{Msg: "run: " + fmt.Sprintf(format, a...)}
	}
	if fs.NArg() > 0 {
		return fail("unexpected argument %q", fs.Arg(0))
	}
	sc, ok := lookupScenario(*name)
	if !ok {
		return fail("-scenario must be one of register, login, refresh, me, mix, get; got %q", *name)
	}
	base, host, err := parseBaseURL(*rawURL)
	if err != nil {
		return fail("-url: %v", err)
	}
	switch {
	case *c < 1 || *c > maxConcurrency:
		return fail("-c must be between 1 and %d", maxConcurrency)
	case *d < 0 || *d > maxDuration:
		return fail("-d must be between 0 and 10m")
	case *n < 0:
		return fail("-n must not be negative")
	case *d == 0 && *n == 0:
		return fail("no bound: give -d, -n or both")
	case *warmup < 0 || *warmup > maxDuration:
		return fail("-warmup must be between 0 and 10m")
	case *timeout <= 0:
		return fail("-timeout must be positive")
	case *pid < 0:
		return fail("-pid must be a process id")
	case *users < 0:
		return fail("-users must not be negative")
	case *users > 0 && !sc.accounts:
		return fail("-users applies to login, refresh, me and mix only")
	case sc.name == "get" && !strings.HasPrefix(*path, "/"):
		return fail("-scenario get needs -path starting with /")
	case sc.name != "get" && *path != "":
		return fail("-path applies to -scenario get only")
	}
	if *users == 0 {
		*users = *c
	}
	return runConfig{
		base: base, host: host, scenario: sc,
		concurrency: *c, duration: *d, requests: *n, warmup: *warmup,
		path: *path, users: *users, timeout: *timeout, pid: *pid,
		allowErrors: *allowErrors, json: *asJSON,
	}, nil
}

// parseBaseURL checks that raw is an http(s) URL with a host and nothing
// after the path, and returns it without a trailing slash and its host name.
func parseBaseURL(raw string) (base, host string, err error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", "", err
	case u.Scheme != "http" && u.Scheme != "https":
		return "", "", fmt.Errorf("%q: scheme must be http or https", raw)
	case u.Hostname() == "":
		return "", "", fmt.Errorf("%q has no host", raw)
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return "", "", fmt.Errorf("%q: give only scheme, host, port and an optional path prefix", raw)
	}
	return strings.TrimSuffix(raw, "/"), u.Hostname(), nil
}
