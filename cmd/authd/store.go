package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/authd/authd/adapters/jwt"
	"github.com/authd/authd/adapters/memory"
	"github.com/authd/authd/adapters/metrics"
	"github.com/authd/authd/adapters/postgres"
	"github.com/authd/authd/adapters/sqlite"
)

// storeKind is which store AUTH_DATABASE_URL selects.
type storeKind string

const (
	kindSQLite   storeKind = "sqlite"
	kindPostgres storeKind = "postgres"
	kindMemory   storeKind = "memory"
)

// storeSpec is AUTH_DATABASE_URL (and AUTH_DATA_DIR) understood:
//
//	""                         SQLite at $AUTH_DATA_DIR/authd.db, the embedded default
//	sqlite:PATH, file:PATH     SQLite, one file (PATH may carry ?pragma=value)
//	postgres://, postgresql:// Postgres
//	memory:                    in memory, nothing persists
type storeSpec struct {
	kind storeKind
	// url is the Postgres URL.
	url string
	// path is what sqlite.Open gets: the file, possibly with a query.
	path string
	// file is the SQLite file alone, without the query.
	file string
	// embedded: the default, under dataDir; the signing key lives there too
	// when AUTH_SIGNING_KEY_FILE is empty.
	embedded bool
	dataDir  string
}

// defaultDBFile and defaultKeyFile are the embedded default's files in
// AUTH_DATA_DIR.
const (
	defaultDBFile  = "authd.db"
	defaultKeyFile = "signing-key.pem"
)

// parseStore reads AUTH_DATABASE_URL. Errors name the variable and never
// echo the value (a Postgres URL may hold a password).
func parseStore(rawURL, dataDir string) (storeSpec, error) {
	bad := func(why string) error { return fmt.Errorf("invalid configuration: AUTH_DATABASE_URL: %s", why) }
	if rawURL == "" {
		if strings.TrimSpace(dataDir) == "" {
			return storeSpec{}, errors.New("invalid configuration: AUTH_DATA_DIR: must not be empty (it holds the embedded SQLite store and its key)")
		}
		file := filepath.Join(dataDir, defaultDBFile)
		return storeSpec{kind: kindSQLite, path: file, file: file, embedded: true, dataDir: dataDir}, nil
	}
	scheme, rest, ok := strings.Cut(rawURL, ":")
	if !ok {
		return storeSpec{}, bad("want postgres://..., sqlite:PATH, file:PATH or memory: (empty selects SQLite in AUTH_DATA_DIR)")
	}
	switch strings.ToLower(scheme) {
	case "postgres", "postgresql":
		if _, err := url.Parse(rawURL); err != nil || !strings.HasPrefix(rest, "//") {
			return storeSpec{}, bad("is not a valid postgres:// URL")
		}
		return storeSpec{kind: kindPostgres, url: rawURL}, nil
	case "sqlite", "file":
		// sqlite:///abs/path is accepted as sqlite:/abs/path; any other
		// authority is not a local file.
		if strings.HasPrefix(rest, "//") {
			if !strings.HasPrefix(rest, "///") {
				return storeSpec{}, bad(scheme + ": takes a local file path (" + scheme + ":/var/lib/authd/authd.db or " + scheme + ":authd.db), not a host")
			}
			rest = rest[2:]
		}
		file, _, _ := strings.Cut(rest, "?")
		if strings.TrimSpace(file) == "" {
			return storeSpec{}, bad(scheme + ": needs a file path, such as " + scheme + ":/var/lib/authd/authd.db")
		}
		return storeSpec{kind: kindSQLite, path: rest, file: file}, nil
	case "memory":
		if rest != "" {
			return storeSpec{}, bad("memory: takes nothing after the colon")
		}
		return storeSpec{kind: kindMemory}, nil
	}
	return storeSpec{}, bad("unknown scheme: want postgres://..., sqlite:PATH, file:PATH or memory: (empty selects SQLite in AUTH_DATA_DIR)")
}

// describe names the store for a log line or a message: its kind and
// where it is, never a password (a Postgres URL loses its password and
// query, which may carry one too).
func (s storeSpec) describe() string {
	switch s.kind {
	case kindPostgres:
		u, err := url.Parse(s.url)
		if err != nil {
			return "postgres"
		}
		if u.User != nil {
			u.User = url.User(u.User.Username())
		}
		u.RawQuery, u.Fragment = "", ""
		return u.String()
	case kindSQLite:
		return absPath(s.file)
	}
	return "memory (nothing persists)"
}

func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// openedStore is an open store and what serve needs from it.
type openedStore struct {
	st    store
	pool  func() metrics.PoolStats // nil: no pool to report
	close func()
}

// openStore opens the store spec selects for the server, applies
// migrations when autoMigrate says so, and logs which store it uses.
func openStore(ctx context.Context, spec storeSpec, autoMigrate bool, log *slog.Logger) (openedStore, error) {
	switch spec.kind {
	case kindMemory:
		log.Warn("AUTH_DATABASE_URL is memory: using the IN-MEMORY store; every user and session is LOST when the process stops")
		return openedStore{st: memory.NewStore(), close: func() {}}, nil

	case kindPostgres:
		if autoMigrate {
			if err := postgres.MigrateUp(spec.url); err != nil {
				return openedStore{}, fmt.Errorf("apply migrations: %w", err)
			}
			log.Info("migrations applied")
		}
		pg, err := postgres.Open(ctx, spec.url)
		if err != nil {
			return openedStore{}, fmt.Errorf("open database: %w", err)
		}
		if autoMigrate {
			if err := canonicalizeEmails(ctx, pg, log); err != nil {
				pg.Close()
				return openedStore{}, err
			}
		}
		log.Info("store", slog.String("kind", "postgres"), slog.String("url", spec.describe()))
		return openedStore{st: pg, close: pg.Close,
			pool: func() metrics.PoolStats { return metrics.PoolStats(pg.PoolStats()) }}, nil
	}

	// The embedded default's directory exists by now (serve made it).
	if !autoMigrate {
		// sqlite.Open migrates; with AUTH_AUTO_MIGRATE=false the schema
		// must already be there, as it must on Postgres.
		if err := checkSQLiteSchema(spec); err != nil {
			return openedStore{}, fmt.Errorf("%w (AUTH_AUTO_MIGRATE=false)", err)
		}
	} else if err := precreate(spec.file); err != nil {
		return openedStore{}, err
	}
	lite, err := sqlite.Open(ctx, spec.path)
	if err != nil {
		return openedStore{}, fmt.Errorf("open SQLite store %s: %w", spec.describe(), err)
	}
	attrs := []any{slog.String("kind", "sqlite"), slog.String("path", spec.describe())}
	if spec.embedded {
		attrs = append(attrs, slog.String("source", "embedded default: AUTH_DATABASE_URL is empty, AUTH_DATA_DIR="+spec.dataDir))
	}
	log.Info("store", attrs...)
	return openedStore{st: lite, close: func() { _ = lite.Close() }}, nil
}

// ensureDataDir creates AUTH_DATA_DIR with mode 0700; an existing one
// readable by others is used, with a warning (it holds password hashes
// and the signing key).
func ensureDataDir(dir string, log *slog.Logger) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("invalid configuration: AUTH_DATA_DIR: %w", err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("invalid configuration: AUTH_DATA_DIR: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("invalid configuration: AUTH_DATA_DIR: %s is not a directory", dir)
	}
	if fi.Mode().Perm()&0o077 != 0 {
		log.Warn("AUTH_DATA_DIR is accessible to other users: it holds password hashes and the signing key; chmod 700 it",
			slog.String("dir", absPath(dir)), slog.String("mode", fi.Mode().Perm().String()))
	}
	return nil
}

// precreate makes a missing SQLite file empty with mode 0600 before SQLite
// opens it (SQLite would use 0644), so its -wal and -shm files, which
// SQLite creates with the database's mode, are private too.
func precreate(file string) error {
	f, err := os.OpenFile(file, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case errors.Is(err, fs.ErrExist):
		return nil
	case err != nil:
		return fmt.Errorf("create SQLite store %s: %w", absPath(file), err)
	}
	return f.Close()
}

// checkSQLiteSchema requires an existing SQLite file whose schema is this
// binary's and clean: what the admin commands (which never migrate) and a
// server with AUTH_AUTO_MIGRATE=false need.
func checkSQLiteSchema(spec storeSpec) error {
	if _, err := os.Stat(spec.file); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("no authd database at %s: run `authd migrate up` (or start the server once) first", spec.describe())
		}
		return fmt.Errorf("SQLite store %s: %w", spec.describe(), err)
	}
	version, dirty, err := sqlite.MigrationVersion(spec.path)
	if err != nil {
		return fmt.Errorf("read schema version of %s: %w", spec.describe(), err)
	}
	return schemaProblem(version, dirty, sqlite.SchemaVersion())
}

// schemaProblem says what is wrong with a database's schema version for
// this binary, or nil.
func schemaProblem(version uint, dirty bool, want uint) error {
	switch {
	case version == 0:
		return errors.New("the database has no authd schema yet: run `authd migrate up` (or start the server once) first")
	case dirty:
		return fmt.Errorf("the database schema is dirty (migration %d failed half-way): fix it by hand, see `authd migrate version`", version)
	case version < want:
		return fmt.Errorf("the database schema is at version %d and this authd needs version %d: run `authd migrate up` first", version, want)
	}
	return nil
}

// embeddedSigningKey is the embedded default's key: read from
// $AUTH_DATA_DIR/signing-key.pem, or generated there once (mode 0600) and
// reused by every later start, so a restart logs nobody out.
func embeddedSigningKey(dataDir string, log *slog.Logger) (*jwt.Key, error) {
	path := filepath.Join(dataDir, defaultKeyFile)
	if b, err := os.ReadFile(path); err == nil {
		key, err := jwt.LoadKeyPEM(b)
		if err != nil {
			return nil, fmt.Errorf("invalid configuration: the embedded default's signing key %s: %w (move it away to generate a new one, which logs everyone out)", absPath(path), err)
		}
		log.Info("signing key", slog.String("file", absPath(path)), slog.String("source", "embedded default: AUTH_SIGNING_KEY_FILE is empty"))
		return key, nil
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("read the embedded default's signing key: %w", err)
	}
	key, err := jwt.GenerateKey("ES256")
	if err != nil {
		return nil, err
	}
	pemBytes, err := key.MarshalPEM()
	if err != nil {
		return nil, err
	}
	// Written to a temporary file, synced, then linked into place: link
	// never replaces, so two processes starting at once on one directory
	// end up with one key, and a crash never leaves half a key behind.
	tmp, err := os.CreateTemp(dataDir, ".signing-key-*.pem")
	if err != nil {
		return nil, fmt.Errorf("write the embedded default's signing key: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err == nil {
		_, err = tmp.Write(pemBytes)
		if err == nil {
			err = tmp.Sync()
		}
		if cerr := tmp.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, fmt.Errorf("write the embedded default's signing key: %w", err)
		}
	} else {
		_ = tmp.Close()
		return nil, fmt.Errorf("write the embedded default's signing key: %w", err)
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		if errors.Is(err, fs.ErrExist) { // another process won: use its key
			return embeddedSigningKey(dataDir, log)
		}
		return nil, fmt.Errorf("write the embedded default's signing key: %w", err)
	}
	syncDir(dataDir)
	log.Info("signing key", slog.String("file", absPath(path)), slog.String("source", "embedded default: generated now, reused by every restart"))
	return key, nil
}

// syncDir makes a new directory entry durable (best effort).
func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}

// openExisting opens a store that must already exist at this binary's
// schema, without migrating it: what the admin commands and copy-accounts
// read from.
func openExisting(ctx context.Context, spec storeSpec) (store, func(), error) {
	if spec.kind == kindSQLite {
		if err := checkSQLiteSchema(spec); err != nil {
			return nil, nil, err
		}
		lite, err := sqlite.Open(ctx, spec.path)
		if err != nil {
			return nil, nil, describeAdminError(fmt.Errorf("open SQLite store %s: %w", spec.describe(), err), "")
		}
		return lite, func() { _ = lite.Close() }, nil
	}
	pg, err := postgres.Open(ctx, spec.url)
	if err != nil {
		return nil, nil, describeAdminError(fmt.Errorf("open database: %w", err), "")
	}
	// A database nobody migrated yet would fail at the first query with
	// "relation users does not exist"; say what to do instead.
	version, dirty, err := postgres.MigrationVersion(spec.url)
	if err == nil {
		err = schemaProblem(version, dirty, postgres.SchemaVersion())
	} else {
		err = describeAdminError(fmt.Errorf("read schema version: %w", err), "")
	}
	if err != nil {
		pg.Close()
		return nil, nil, err
	}
	return pg, pg.Close, nil
}
