package sqlite

import (
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	migratesqlite "github.com/golang-migrate/migrate/v4/database/sqlite"
	"github.com/golang-migrate/migrate/v4/source/iofs"

	dbsqlite "github.com/authd/authd/db/sqlite"
)

// lockTimeoutMS bounds how long a migration waits for another process's.
const lockTimeoutMS = 60_000

// MigrateUp applies every pending migration to the database file at path
// (creating it if need be). Already being current is not an error, and
// costs one read. Several processes may call it at once on one file: one
// migrates, the others wait and then find nothing to do (see lockMigrations).
func MigrateUp(path string) error {
	cfg, err := parsePath(path)
	if err != nil {
		return err
	}
	return migrateUp(cfg)
}

func migrateUp(cfg dsnConfig) error {
	v, dirty, err := readVersion(cfg)
	if err != nil {
		return err
	}
	latest := SchemaVersion()
	switch {
	case v == latest && !dirty:
		return nil
	case v > latest:
		return fmt.Errorf("sqlite: migrate up: the database is at schema version %d, newer than this build's %d", v, latest)
	}
	return withMigrate(cfg, func(m *migrate.Migrate) error {
		if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
			return fmt.Errorf("sqlite: migrate up: %w", err)
		}
		return nil
	})
}

// MigrateDown reverts exactly one migration, the newest applied. With none
// applied it does nothing.
func MigrateDown(path string) error {
	cfg, err := parsePath(path)
	if err != nil {
		return err
	}
	return withMigrate(cfg, func(m *migrate.Migrate) error {
		if _, _, err := m.Version(); errors.Is(err, migrate.ErrNilVersion) {
			return nil
		}
		if err := m.Steps(-1); err != nil && !errors.Is(err, migrate.ErrNoChange) {
			return fmt.Errorf("sqlite: migrate down: %w", err)
		}
		return nil
	})
}

// MigrationVersion reports the applied schema version (0 when none, or no
// file yet) and whether a migration failed half-way (dirty), which needs a
// human. It only reads: it creates no file and no table.
func MigrationVersion(path string) (version uint, dirty bool, err error) {
	cfg, err := parsePath(path)
	if err != nil {
		return 0, false, err
	}
	return readVersion(cfg)
}

// SchemaVersion is the version the embedded migrations bring a database to:
// the schema this build's queries need.
func SchemaVersion() uint {
	names, err := fs.Glob(dbsqlite.Migrations, "migrations/*.up.sql")
	if err != nil {
		panic("sqlite: embedded migrations: " + err.Error()) // a constant pattern cannot be malformed
	}
	var latest uint
	for _, n := range names {
		base := path.Base(n)
		v, err := strconv.ParseUint(base[:strings.IndexByte(base, '_')], 10, 32)
		if err == nil && uint(v) > latest {
			latest = uint(v)
		}
	}
	return latest
}

// readVersion reads golang-migrate's schema_migrations table read-only.
func readVersion(cfg dsnConfig) (uint, bool, error) {
	if _, err := os.Stat(cfg.path); errors.Is(err, os.ErrNotExist) {
		return 0, false, nil
	}
	db, err := sql.Open("sqlite", cfg.dsn(true))
	if err != nil {
		return 0, false, translate("migration version", err)
	}
	defer db.Close()
	var exists bool
	err = db.QueryRow(`SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?)`,
		migratesqlite.DefaultMigrationsTable).Scan(&exists)
	if err != nil || !exists {
		return 0, false, translate("migration version", err)
	}
	var v int64
	var dirty bool
	err = db.QueryRow(`SELECT version, dirty FROM `+migratesqlite.DefaultMigrationsTable+` LIMIT 1`).Scan(&v, &dirty)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return 0, false, nil
	case err != nil:
		return 0, false, translate("migration version", err)
	case v < 0:
		return 0, dirty, nil
	}
	return uint(v), dirty, nil
}

// withMigrate runs fn with a golang-migrate instance over the embedded
// migrations and the file, holding the migration lock.
//
// golang-migrate's sqlite driver locks within its process only, and reads
// the version before its first write, so two processes starting on a new
// file would both apply migration 1 and leave the database dirty. The lock
// here is SQLite's own file lock, on a companion file (path +
// ".migrate-lock", created on the first migration and left in place): an
// exclusive transaction on it, which the next process waits for with
// SQLite's busy handler. golang-migrate then reads the version under it.
func withMigrate(cfg dsnConfig, fn func(*migrate.Migrate) error) error {
	unlock, err := lockMigrations(cfg)
	if err != nil {
		return err
	}
	defer unlock()

	db, err := sql.Open("sqlite", cfg.dsn(false))
	if err != nil {
		return translate("migrate: open", err)
	}
	db.SetMaxOpenConns(1)
	drv, err := migratesqlite.WithInstance(db, &migratesqlite.Config{})
	if err != nil {
		_ = db.Close()
		return translate("migrate: open", err)
	}
	src, err := iofs.New(dbsqlite.Migrations, "migrations")
	if err != nil {
		_ = drv.Close()
		return fmt.Errorf("sqlite: migrations source: %w", err)
	}
	m, err := migrate.NewWithInstance("iofs", src, "sqlite", drv)
	if err != nil {
		_ = src.Close()
		_ = drv.Close()
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	// Close errors (source or connection teardown) cannot undo a migration
	// that succeeded; there is nothing useful to report.
	defer func() { _, _ = m.Close() }()
	return fn(m)
}

// lockMigrations takes the cross-process migration lock (see withMigrate)
// and returns its release.
func lockMigrations(cfg dsnConfig) (unlock func(), err error) {
	name := cfg.path + ".migrate-lock"
	dsn := "file:" + uriPath.Replace(name) + "?_pragma=busy_timeout(" + strconv.Itoa(lockTimeoutMS) + ")&_txlock=exclusive"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, translate("migrate: lock", err)
	}
	db.SetMaxOpenConns(1)
	tx, err := db.Begin() // BEGIN EXCLUSIVE: waits for the holder
	if err != nil {
		_ = db.Close()
		return nil, translate("migrate: lock", err)
	}
	return func() {
		_ = tx.Rollback()
		_ = db.Close()
	}, nil
}
