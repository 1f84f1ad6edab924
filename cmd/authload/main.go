// Command authload measures authd from the outside: it drives the HTTP API
// with a fixed number of concurrent workers and reports throughput, exact
// latency percentiles and the server's memory (run), serves a trivial chi
// handler as the HTTP floor to compare with (floor), and times a server from
// exec to its first ready answer (startup).
//
// It sends traffic to loopback addresses only: every target is checked before
// the first request, and every connection is checked again when it is dialled.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/authd/authd/cmd/internal/cli"
)

const usage = `usage:
  authload run -scenario NAME [flags]          load authd on a loopback address and report
  authload floor [-addr 127.0.0.1:0]           serve GET / -> 200 "ok", the HTTP floor
  authload startup [flags] -- COMMAND [ARGS]   time COMMAND from exec to its first 200 on /readyz

run:
  -scenario NAME    register, login, refresh, me, get (GET -path), or mix
                    (70% me, 20% refresh, 8% login, 2% register)
  -url URL          base URL; its host must resolve only to loopback addresses
                    (default http://127.0.0.1:8080)
  -c N              concurrent workers (default 32)
  -d DURATION       measured duration, at most 10m; 0 leaves only -n (default 10s)
  -n N              stop after N measured requests; 0 leaves only -d (default 0)
  -warmup DURATION  load sent first and not counted (default 1s)
  -path PATH        the path that -scenario get requests, expecting 200
  -users N          accounts registered in setup for login, refresh, me and mix
                    (default: -c)
  -timeout DURATION per-request timeout (default 30s)
  -pid PID          report this server process's peak RSS (VmHWM) and the largest
                    VmRSS sampled every 100ms during the load
  -allow-errors     exit 0 despite unexpected statuses and transport errors
  -json             print one JSON object instead of a table

floor:
  -addr ADDR        loopback address to listen on (default 127.0.0.1:0); prints
                    "listening on http://ADDR" and stops on SIGINT or SIGTERM

startup:
  -url URL          base URL whose /readyz is polled every 2ms (default
                    http://127.0.0.1:8080)
  -runs N           how many times to start and stop COMMAND (default 5)
  -json             print one JSON object instead of a table
  COMMAND inherits the environment and must be the server process itself (not a
  wrapper such as go run), since SIGTERM is sent to it alone.

Exit status: 0 success; 1 failure (run: any unexpected status or transport
error; startup: a run that never got ready or exited non-zero); 2 usage.
`

func main() { cli.Main("authload", usage, run) }

// usageError is a command line that cannot be run (exit 2 with the usage).
type usageError = cli.UsageError

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		return usageError{Msg: "missing command: run, floor or startup"}
	}
	cmd, args := args[0], args[1:]
	var err error
	switch cmd {
	case "run":
		var cfg runConfig
		if cfg, err = parseRunConfig(args); err == nil {
			err = runLoad(ctx, cfg, stdout, stderr)
		}
	case "floor":
		var addr string
		if addr, err = parseFloorConfig(args); err == nil {
			err = serveFloor(ctx, addr, stdout)
		}
	case "startup":
		var cfg startupConfig
		if cfg, err = parseStartupConfig(args); err == nil {
			err = timeStartup(ctx, cfg, stdout)
		}
	case "help", "-h", "-help", "--help":
		err = flag.ErrHelp
	default:
		return usageError{Msg: fmt.Sprintf("unknown command %q", cmd)}
	}
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return nil
	}
	return err
}

// newFlagSet returns a flag set whose errors come back as usage errors
// instead of being printed.
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	return fs
}

// parseFlags parses args into fs, turning a parse failure into a usageError.
func parseFlags(fs *flag.FlagSet, args []string) error {
	err := fs.Parse(args)
	switch {
	case errors.Is(err, flag.ErrHelp):
		return err
	case err != nil:
		return usageError{Msg: fmt.Sprintf("%s: %v", fs.Name(), err)}
	}
	return nil
}
