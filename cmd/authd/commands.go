package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/authd/authd/adapters/jwt"
	"github.com/authd/authd/adapters/postgres"
)

func migrate(ctx context.Context, direction string, cfg config, stdout io.Writer, log *slog.Logger) error {
	if cfg.DatabaseURL == "" {
		return fmt.Errorf("invalid configuration: AUTH_DATABASE_URL: required for migrate")
	}
	switch direction {
	case "up":
		if err := postgres.MigrateUp(cfg.DatabaseURL); err != nil {
			return fmt.Errorf("migrate up: %w", err)
		}
		pg, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return fmt.Errorf("migrate up: open database: %w", err)
		}
		defer pg.Close()
		if err := canonicalizeEmails(ctx, pg, log); err != nil {
			return err
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

// canonicalizeEmails brings the accounts' email keys to today's canonical
// form after the migrations, and logs what needs a human: two accounts of
// one address in two spellings are reported, never merged.
func canonicalizeEmails(ctx context.Context, pg *postgres.Store, log *slog.Logger) error {
	report, err := pg.CanonicalizeEmails(ctx)
	if err != nil {
		return fmt.Errorf("canonicalize email keys: %w", err)
	}
	if report.Updated > 0 {
		log.Info("email keys brought to the canonical form", slog.Int("accounts", report.Updated))
	}
	for _, c := range report.Collisions {
		log.Warn("two accounts share one canonical email: left apart, decide which to keep",
			slog.String("user_id", c.User.String()), slog.String("holder_id", c.Holder.String()))
	}
	for _, id := range report.Invalid {
		log.Warn("an account's email is refused by today's rules (look-alike letters); it keeps its old key",
			slog.String("user_id", id.String()))
	}
	return nil
}

// keygen writes a new private key to stdout, or to out: created with mode
// 0600 and never overwriting. With ifMissing, an existing file that holds a
// valid key is kept (so a container's first start can make the key and
// later starts keep it); a file holding anything else is an error.
func keygen(alg, out string, ifMissing bool, stdout io.Writer) error {
	key, err := jwt.GenerateKey(alg)
	if err != nil {
		return usageError{err.Error()}
	}
	pemBytes, err := key.MarshalPEM()
	if err != nil {
		return err
	}
	if out == "" {
		_, err = stdout.Write(pemBytes)
		return err
	}
	if ifMissing {
		existing, err := os.ReadFile(out)
		switch {
		case err == nil:
			k, err := jwt.LoadKeyPEM(existing)
			if err != nil {
				return fmt.Errorf("keygen: %s exists but is not a usable key: %w", out, err)
			}
			fmt.Fprintf(stdout, "kept existing %s key %s in %s\n", k.Alg(), k.ID(), out)
			return nil
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("keygen: %w", err)
		}
	}
	f, err := os.OpenFile(out, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("keygen: %w", err)
	}
	if _, err := f.Write(pemBytes); err != nil {
		_ = f.Close()
		_ = os.Remove(out)
		return fmt.Errorf("keygen: %w", err)
	}
	if err := f.Sync(); err != nil {
		_ = f.Close()
		_ = os.Remove(out)
		return fmt.Errorf("keygen: %w", err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(out)
		return fmt.Errorf("keygen: %w", err)
	}
	fmt.Fprintf(stdout, "wrote new %s key %s to %s\n", key.Alg(), key.ID(), out)
	return nil
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
