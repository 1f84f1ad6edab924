package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/authd/authd/adapters/jwt"
	"github.com/authd/authd/adapters/postgres"
)

func migrate(direction string, cfg config, stdout io.Writer) error {
	if cfg.DatabaseURL == "" {
		return fmt.Errorf("invalid configuration: AUTH_DATABASE_URL: required for migrate")
	}
	switch direction {
	case "up":
		if err := postgres.MigrateUp(cfg.DatabaseURL); err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
	case "down":
		if err := postgres.MigrateDown(cfg.DatabaseURL); err != nil {
			return fmt.Errorf("migrate down: %w", err)
		}
	case "version":
	default:
		return usageError{fmt.Sprintf("unknown migrate direction %q (want up, down or version)", direction)}
	}
	v, dirty, err := postgres.MigrationVersion(cfg.DatabaseURL)
	if err != nil {
		return fmt.Errorf("migrate version: %w", err)
	}
	fmt.Fprintf(stdout, "version %d dirty=%t\n", v, dirty)
	return nil
}

func keygen(alg string, stdout io.Writer) error {
	key, err := jwt.GenerateKey(alg)
	if err != nil {
		return usageError{err.Error()}
	}
	pemBytes, err := key.MarshalPEM()
	if err != nil {
		return err
	}
	_, err = stdout.Write(pemBytes)
	return err
}

// healthcheck asks the server this environment configures for /readyz, so
// a container image without curl can still have a HEALTHCHECK. It exits
// non-zero unless the answer is 200 within three seconds.
func healthcheck(ctx context.Context, cfg config, stdout io.Writer) error {
	host, port, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return fmt.Errorf("invalid configuration: AUTH_ADDR: %v", err)
	}
	switch host {
	case "", "0.0.0.0", "::":
		host = "127.0.0.1"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	target := "http://" + net.JoinHostPort(host, port) + "/readyz"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %s", target, resp.Status)
	}
	fmt.Fprintln(stdout, "ready")
	return nil
}
