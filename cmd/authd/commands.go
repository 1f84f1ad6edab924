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
	"github.com/authd/authd/adapters/sqlite"
)

func migrate(ctx context.Context, direction string, cfg config, stdout io.Writer, log *slog.Logger) error {
	switch direction {
	case "up", "down", "version":
	default:
		return usageError{Msg: fmt.Sprintf("unknown migrate direction %q (want up, down or version)", direction)}
	}
	spec, err := cfg.store()
	if err != nil {
		return err
	}
	var version uint
	var dirty bool
	switch spec.kind {
	case kindMemory:
		return errors.New("invalid configuration: AUTH_DATABASE_URL: memory: has no schema to migrate; migrate works on SQLite (empty for the embedded default, or sqlite:PATH) and on Postgres")
	case kindPostgres:
		version, dirty, err = migratePostgres(ctx, direction, spec.url, log)
	case kindSQLite:
		version, dirty, err = migrateSQLite(direction, spec, log)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "version %d dirty=%t\n", version, dirty)
	return nil
}

func migratePostgres(ctx context.Context, direction, dbURL string, log *slog.Logger) (uint, bool, error) {
	switch direction {
	case "up":
		if err := postgres.MigrateUp(dbURL); err != nil {
			return 0, false, fmt.Errorf("migrate up: %w", err)
		}
		pg, err := postgres.Open(ctx, dbURL)
		if err != nil {
			return 0, false, fmt.Errorf("migrate up: open database: %w", err)
		}
		defer pg.Close()
		if err := canonicalizeEmails(ctx, pg, log); err != nil {
			return 0, false, err
		}
	case "down":
		if err := postgres.MigrateDown(dbURL); err != nil {
			return 0, false, fmt.Errorf("migrate down: %w", err)
		}
	}
	v, dirty, err := postgres.MigrationVersion(dbURL)
	if err != nil {
		return 0, false, fmt.Errorf("migrate version: %w", err)
	}
	return v, dirty, nil
}

// migrateSQLite: up creates the file (and the embedded default's
// directory) when missing; down and version need an existing file.
func migrateSQLite(direction string, spec storeSpec, log *slog.Logger) (uint, bool, error) {
	if direction == "up" {
		if spec.embedded {
			if err := ensureDataDir(spec.dataDir, log); err != nil {
				return 0, false, err
			}
		}
		if err := precreate(spec.file); err != nil {
			return 0, false, err
		}
		if err := sqlite.MigrateUp(spec.path); err != nil {
			return 0, false, fmt.Errorf("migrate up %s: %w", spec.describe(), err)
		}
	} else if _, err := os.Stat(spec.file); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return 0, false, fmt.Errorf("migrate %s: no authd database at %s", direction, spec.describe())
		}
		return 0, false, fmt.Errorf("migrate %s: %w", direction, err)
	}
	if direction == "down" {
		if err := sqlite.MigrateDown(spec.path); err != nil {
			return 0, false, fmt.Errorf("migrate down %s: %w", spec.describe(), err)
		}
	}
	v, dirty, err := sqlite.MigrationVersion(spec.path)
	if err != nil {
		return 0, false, fmt.Errorf("migrate version %s: %w", spec.describe(), err)
	}
	return v, dirty, nil
}

// backup writes a consistent copy of the SQLite store to the new file to,
// while servers keep running on it (SQLite's VACUUM INTO reads one
// snapshot). Postgres has its own tools; memory: has nothing to copy.
func backup(ctx context.Context, cfg config, to string, stdout io.Writer) error {
	spec, err := cfg.store()
	if err != nil {
		return err
	}
	switch spec.kind {
	case kindPostgres:
		return usageError{Msg: "backup copies a SQLite store; for Postgres use pg_dump (pg_dump -Fc \"$AUTH_DATABASE_URL\" > authd.dump) or your provider's backups (docs/OPERATIONS.md, Backups)"}
	case kindMemory:
		return usageError{Msg: "backup copies a SQLite store; memory: holds nothing that outlives the process"}
	}
	if _, err := os.Lstat(to); err == nil {
		return fmt.Errorf("backup: %s already exists; a backup never overwrites, choose a new name", to)
	}
	// A schema older than this binary's would be migrated by opening it:
	// a backup must not change what it copies.
	if err := checkSQLiteSchema(spec); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	lite, err := sqlite.Open(ctx, spec.path)
	if err != nil {
		return fmt.Errorf("backup: open SQLite store %s: %w", spec.describe(), err)
	}
	defer lite.Close()
	if err := lite.Backup(ctx, to); err != nil {
		return fmt.Errorf("backup of %s to %s: %w", spec.describe(), to, err)
	}
	// The copy holds password hashes: private, like the store.
	if err := os.Chmod(to, 0o600); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fi, err := os.Stat(to)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	fmt.Fprintf(stdout, "backed up %s to %s (%d bytes); to run on it: AUTH_DATABASE_URL=sqlite:%s authd\n", spec.describe(), absPath(to), fi.Size(), absPath(to))
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
		return usageError{Msg: err.Error()}
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
