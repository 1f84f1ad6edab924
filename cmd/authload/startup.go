package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"time"
)

// Timing of `authload startup`.
const (
	readyPoll  = 2 * time.Millisecond
	readyLimit = 30 * time.Second
	stopLimit  = 30 * time.Second
	maxRuns    = 1000
)

// startupConfig is a validated `authload startup` command line.
type startupConfig struct {
	base    string
	host    string
	runs    int
	json    bool
	command []string
}

func parseStartupConfig(args []string) (startupConfig, error) {
	fs := newFlagSet("startup")
	rawURL := fs.String("url", "http://127.0.0.1:8080", "")
	runs := fs.Int("runs", 5, "")
	asJSON := fs.Bool("json", false, "")
	if err := parseFlags(fs, args); err != nil {
		return startupConfig{}, err
	}
	base, host, err := parseBaseURL(*rawURL)
	switch {
	case err != nil:
		return startupConfig{}, usageError{Msg: fmt.Sprintf("startup: -url: %v", err)}
	case *runs < 1 || *runs > maxRuns:
		return startupConfig{}, usageError{Msg: fmt.Sprintf("startup: -runs must be between 1 and %d", maxRuns)}
	case fs.NArg() == 0:
		return startupConfig{}, usageError{Msg: "startup: missing COMMAND after --"}
	}
	return startupConfig{base: base, host: host, runs: *runs, json: *asJSON, command: fs.Args()}, nil
}

// startupRun is one start and stop of the command.
type startupRun struct {
	ReadyMS  float64 `json:"ready_ms"`  // from exec to the first 200 from /readyz
	StopMS   float64 `json:"stop_ms"`   // from SIGTERM to exit
	ExitCode int     `json:"exit_code"` // -1: ended by a signal
}

// startupReport is every run of `authload startup` and their spread.
type startupReport struct {
	Command  string       `json:"command"`
	URL      string       `json:"url"`
	Runs     []startupRun `json:"runs"`
	MinMS    float64      `json:"min_ms"`
	MedianMS float64      `json:"median_ms"`
	MaxMS    float64      `json:"max_ms"`
}

// timeStartup runs `authload startup`.
func timeStartup(ctx context.Context, cfg startupConfig, stdout io.Writer) error {
	if err := checkLoopback(ctx, cfg.host, net.DefaultResolver.LookupIPAddr); err != nil {
		return err
	}
	dialer := &net.Dialer{Control: dialLoopbackOnly}
	client := &http.Client{
		// A fresh connection per poll: the server restarts between runs.
		Transport:     &http.Transport{Proxy: nil, DialContext: dialer.DialContext, DisableKeepAlives: true},
		Timeout:       time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	rep := startupReport{Command: filepath.Base(cfg.command[0]), URL: cfg.base}
	failed := 0
	for i := range cfg.runs {
		run, err := startOnce(ctx, cfg, client)
		if err != nil {
			return fmt.Errorf("startup run %d: %w", i+1, err)
		}
		if run.ExitCode != 0 {
			failed++
		}
		rep.Runs = append(rep.Runs, run)
		if !cfg.json {
			fmt.Fprintf(stdout, "run %d: ready in %v, stopped in %v, exit code %d\n",
				i+1, msDuration(run.ReadyMS), msDuration(run.StopMS), run.ExitCode)
		}
	}
	ready := make([]float64, len(rep.Runs))
	for i, r := range rep.Runs {
		ready[i] = r.ReadyMS
	}
	slices.Sort(ready)
	rep.MinMS, rep.MedianMS, rep.MaxMS = ready[0], median(ready), ready[len(ready)-1]
	if cfg.json {
		if err := json.NewEncoder(stdout).Encode(rep); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(stdout, "%s startup to ready (%d runs): min %v, median %v, max %v\n", rep.Command, len(rep.Runs),
			msDuration(rep.MinMS), msDuration(rep.MedianMS), msDuration(rep.MaxMS))
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d runs did not exit 0 on SIGTERM", failed, cfg.runs)
	}
	return nil
}

// startOnce starts the command, times it to its first ready answer, and
// stops it with SIGTERM.
func startOnce(ctx context.Context, cfg startupConfig, client *http.Client) (startupRun, error) {
	readyz := cfg.base + "/readyz"
	if _, status := poll(ctx, client, readyz); status != 0 {
		return startupRun{}, fmt.Errorf("%s already answers (%d) before the command starts; stop that server first", readyz, status)
	}
	c, err := startChild(cfg.command)
	if err != nil {
		return startupRun{}, err
	}
	readyIn, err := c.awaitReady(ctx, client, readyz)
	stopIn, stopErr := c.stop(stopLimit)
	if err = errors.Join(err, stopErr); err != nil {
		return startupRun{}, fmt.Errorf("%w\n--- last output of %s ---\n%s", err, cfg.command[0], c.outputTail(2048))
	}
	return startupRun{
		ReadyMS:  float64(readyIn) / float64(time.Millisecond),
		StopMS:   float64(stopIn) / float64(time.Millisecond),
		ExitCode: c.cmd.ProcessState.ExitCode(),
	}, nil
}

// child is a started command whose exit is awaited in the background.
type child struct {
	cmd    *exec.Cmd
	begin  time.Time
	output bytes.Buffer  // stdout and stderr; read only after exited
	exited chan struct{} // closed when Wait has returned
}

func startChild(command []string) (*child, error) {
	c := &child{cmd: exec.Command(command[0], command[1:]...), exited: make(chan struct{})}
	c.cmd.Stdout = &c.output
	c.cmd.Stderr = &c.output
	c.cmd.WaitDelay = time.Second // do not wait on a grandchild that holds the output open
	c.begin = time.Now()
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	go func() {
		_ = c.cmd.Wait() // the exit status is read from ProcessState
		close(c.exited)
	}()
	return c, nil
}

// awaitReady polls readyz every readyPoll and returns the time from exec to
// the first 200.
func (c *child) awaitReady(ctx context.Context, client *http.Client, readyz string) (time.Duration, error) {
	tick := time.NewTicker(readyPoll)
	defer tick.Stop()
	limit := time.NewTimer(readyLimit)
	defer limit.Stop()
	for {
		if at, status := poll(ctx, client, readyz); status == http.StatusOK {
			return at.Sub(c.begin), nil
		}
		select {
		case <-tick.C:
		case <-c.exited:
			return 0, fmt.Errorf("exited before ready: %v", c.cmd.ProcessState)
		case <-limit.C:
			return 0, fmt.Errorf("not ready within %v", readyLimit)
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// poll asks readyz once and returns when the answer arrived and its status
// (0: no answer).
func poll(ctx context.Context, client *http.Client, readyz string) (time.Time, int) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, readyz, nil)
	if err != nil {
		return time.Time{}, 0
	}
	res, err := client.Do(req)
	if err != nil {
		return time.Time{}, 0
	}
	at := time.Now()
	_, _ = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return at, res.StatusCode
}

// stop sends SIGTERM and waits up to grace for the exit, then kills. It
// returns the time from SIGTERM to exit (0 if the command had exited).
func (c *child) stop(grace time.Duration) (time.Duration, error) {
	select {
	case <-c.exited:
		return 0, nil
	default:
	}
	begin := time.Now()
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return 0, err
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-c.exited:
		return time.Since(begin), nil
	case <-timer.C:
		_ = c.cmd.Process.Kill()
		<-c.exited
		return time.Since(begin), fmt.Errorf("still running %v after SIGTERM; killed", grace)
	}
}

// outputTail is the end of the command's output, for an error message.
// Call it only after the command exited.
func (c *child) outputTail(n int) []byte {
	b := c.output.Bytes()
	return b[max(len(b)-n, 0):]
}

// median of sorted values; the mean of the middle two for an even count.
func median(sorted []float64) float64 {
	n := len(sorted)
	if n%2 == 1 {
		return sorted[n/2]
	}
	return (sorted[n/2-1] + sorted[n/2]) / 2
}

func msDuration(ms float64) time.Duration {
	return time.Duration(ms * float64(time.Millisecond)).Round(time.Microsecond)
}
