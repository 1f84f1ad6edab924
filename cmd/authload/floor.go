package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/go-chi/chi/v5"
)

func parseFloorConfig(args []string) (string, error) {
	fs := newFlagSet("floor")
	addr := fs.String("addr", "127.0.0.1:0", "")
	if err := parseFlags(fs, args); err != nil {
		return "", err
	}
	if fs.NArg() > 0 {
		return "", usageError{Msg: fmt.Sprintf("floor: unexpected argument %q", fs.Arg(0))}
	}
	if _, _, err := net.SplitHostPort(*addr); err != nil {
		return "", usageError{Msg: fmt.Sprintf("floor: -addr: %v", err)}
	}
	return *addr, nil
}

// floorRouter is the least an HTTP service can do with the same router as
// authd: the floor that authd's own numbers are read against.
func floorRouter() http.Handler {
	r := chi.NewRouter()
	r.Get("/", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok")
	})
	return r
}

// serveFloor serves floorRouter on addr, a loopback address, until ctx ends,
// then shuts down gracefully.
func serveFloor(ctx context.Context, addr string, stdout io.Writer) error {
	host, _, _ := net.SplitHostPort(addr)
	if err := checkLoopback(ctx, host, net.DefaultResolver.LookupIPAddr); err != nil {
		return fmt.Errorf("floor: -addr: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("floor: %w", err)
	}
	// The same server limits as authd's, so the comparison is fair.
	srv := &http.Server{
		Handler:           floorRouter(),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(stdout, "listening on http://%s\n", ln.Addr())

	select {
	case err := <-errc:
		return fmt.Errorf("floor: serve: %w", err)
	case <-ctx.Done():
	}
	drain, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(drain); err != nil {
		return fmt.Errorf("floor: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("floor: serve: %w", err)
	}
	return nil
}
