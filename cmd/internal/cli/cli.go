// Package cli is what authd's commands share: how a command line is run
// and how it ends (exit 0 done, 1 failed, 2 the command line is wrong).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
)

// UsageError is a command line that cannot be run: Main prints it with the
// usage and exits 2.
type UsageError struct{ Msg string }

func (e UsageError) Error() string { return e.Msg }

// Main runs run with the process's arguments, cancelled on SIGINT or
// SIGTERM, and exits with its outcome: 0, 2 for a UsageError (after the
// usage), 1 for any other error. name prefixes every message.
func Main(name, usage string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var ue UsageError
	switch {
	case err == nil:
	case errors.As(err, &ue):
		fmt.Fprintf(os.Stderr, "%s: %v\n\n%s", name, err, usage)
		os.Exit(2)
	default:
		fmt.Fprintf(os.Stderr, "%s: %v\n", name, err)
		os.Exit(1)
	}
}
