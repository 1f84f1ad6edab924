package postgres

import (
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"path"
	"strconv"
	"strings"

	"github.com/golang-migrate/migrate/v4"
	_ "github.com/golang-migrate/migrate/v4/database/pgx/v5" // registers the pgx5:// driver
	"github.com/golang-migrate/migrate/v4/source/iofs"

	"github.com/authd/authd/db"
)

// MigrateUp applies every pending migration. Already being current is not
// an error. golang-migrate holds a Postgres advisory lock while it works, so
// several processes may call MigrateUp at once: one migrates, the others
// wait and then find nothing to do.
func MigrateUp(url string) error {
	m, err := newMigrate(url)
	if err != nil {
		return err
	}
	defer closeMigrate(m)
	if err := m.Up(); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("postgres: migrate up: %w", err)
	}
	return nil
}

// MigrateDown reverts exactly one migration, the newest applied. With none
// applied it does nothing.
func MigrateDown(url string) error {
	m, err := newMigrate(url)
	if err != nil {
		return err
	}
	defer closeMigrate(m)
	if _, _, err := m.Version(); errors.Is(err, migrate.ErrNilVersion) {
		return nil
	}
	if err := m.Steps(-1); err != nil && !errors.Is(err, migrate.ErrNoChange) {
		return fmt.Errorf("postgres: migrate down: %w", err)
	}
	return nil
}

// MigrationVersion reports the applied schema version (0 when none) and
// whether a migration failed half-way (dirty), which needs a human.
func MigrationVersion(url string) (version uint, dirty bool, err error) {
	m, err := newMigrate(url)
	if err != nil {
		return 0, false, err
	}
	defer closeMigrate(m)
	version, dirty, err = m.Version()
	if errors.Is(err, migrate.ErrNilVersion) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("postgres: migration version: %w", err)
	}
	return version, dirty, nil
}

// SchemaVersion is the version the embedded migrations bring a database to:
// the schema this build's queries need. A database at a lower
// MigrationVersion must be migrated up before the store is used.
func SchemaVersion() uint {
	names, err := fs.Glob(db.Migrations, "migrations/*.up.sql")
	if err != nil {
		panic("postgres: embedded migrations: " + err.Error()) // a constant pattern cannot be malformed
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

func newMigrate(url string) (*migrate.Migrate, error) {
	src, err := iofs.New(db.Migrations, "migrations")
	if err != nil {
		return nil, fmt.Errorf("postgres: migrations source: %w", err)
	}
	dbURL, err := migrateURL(url)
	if err != nil {
		return nil, err
	}
	m, err := migrate.NewWithSourceInstance("iofs", src, dbURL)
	if err != nil {
		_ = src.Close()
		// The driver's errors may quote the URL; translate adds nothing
		// secret, but the URL itself is never put in the message here.
		return nil, translate("migrate: connect", err)
	}
	return m, nil
}

func closeMigrate(m *migrate.Migrate) {
	// Close errors (source or connection teardown) cannot undo a migration
	// that succeeded; there is nothing useful to report.
	_, _ = m.Close()
}

// migrateURL rewrites a postgres:// or postgresql:// URL to the pgx5://
// scheme golang-migrate's pgx/v5 driver registers under, and drops the
// pool_* parameters that only pgxpool understands (the server would refuse
// them as unknown settings).
func migrateURL(raw string) (string, error) {
	rest, ok := "", false
	for _, scheme := range []string{"postgres://", "postgresql://", "pgx5://"} {
		if len(raw) >= len(scheme) && strings.EqualFold(raw[:len(scheme)], scheme) {
			rest, ok = raw[len(scheme):], true
			break
		}
	}
	if !ok {
		return "", errors.New("postgres: migrate: database url must start with postgres:// or postgresql://")
	}
	u, err := url.Parse("pgx5://" + rest)
	if err != nil {
		return "", errors.New("postgres: migrate: database url does not parse")
	}
	q := u.Query()
	for k := range q {
		if strings.HasPrefix(k, "pool_") {
			q.Del(k)
		}
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}
