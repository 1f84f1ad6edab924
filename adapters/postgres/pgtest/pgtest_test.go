package pgtest

import (
	"context"
	"errors"
	"io/fs"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"github.com/authd/authd/db"
)

// latestVersion is the number of embedded migrations: a new database is at
// the newest.
func latestVersion(t *testing.T) int {
	t.Helper()
	ups, err := fs.Glob(db.Migrations, "migrations/*.up.sql")
	if err != nil || len(ups) == 0 {
		t.Fatalf("embedded migrations: %v, %v", ups, err)
	}
	return len(ups)
}

func TestMain(m *testing.M) { Main(m) }

func TestNewDatabaseIsFreshMigratedAndDropped(t *testing.T) {
	var first string
	t.Run("use", func(t *testing.T) {
		first = NewDatabase(t)
		conn, err := pgx.Connect(t.Context(), first)
		if err != nil {
			t.Fatalf("connect: %v", err)
		}
		defer conn.Close(context.Background())
		var users int
		if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM users").Scan(&users); err != nil || users != 0 {
			t.Fatalf("users in a new database = %d, %v; want 0, nil", users, err)
		}
		var version int
		if err := conn.QueryRow(t.Context(), "SELECT version FROM schema_migrations").Scan(&version); err != nil || version != latestVersion(t) {
			t.Fatalf("schema version = %d, %v; want %d", version, err, latestVersion(t))
		}
		if _, err := conn.Exec(t.Context(), `INSERT INTO users (id, email, email_key, role, created_at, updated_at)
			VALUES (gen_random_uuid(), 'a@example.com', 'a@example.com', 'user', now(), now())`); err != nil {
			t.Fatalf("insert: %v", err)
		}
	})
	if t.Skipped() || first == "" {
		return
	}
	if Source() == "" {
		t.Fatal("Source() is empty after a server started")
	}

	second := NewDatabase(t)
	if second == first {
		t.Fatalf("NewDatabase returned %s twice", first)
	}
	conn, err := pgx.Connect(t.Context(), second)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(context.Background())
	var users int
	if err := conn.QueryRow(t.Context(), "SELECT count(*) FROM users").Scan(&users); err != nil || users != 0 {
		t.Fatalf("users in the second database = %d, %v; want 0 (databases must not share rows)", users, err)
	}
	firstName := first[strings.LastIndex(first, "/")+1 : strings.Index(first, "?")]
	var exists bool
	if err := conn.QueryRow(t.Context(), "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", firstName).Scan(&exists); err != nil || exists {
		t.Fatalf("database %s exists=%t, %v after its test ended; want dropped", firstName, exists, err)
	}
}

func TestDatabaseURL(t *testing.T) {
	got := databaseURL("postgres://u:p%40ss@db.example:5433/postgres?sslmode=disable&application_name=x", "test_1")
	want := "postgres://u:p%40ss@db.example:5433/test_1?sslmode=disable&application_name=x"
	if got != want {
		t.Fatalf("databaseURL = %s, want %s", got, want)
	}
}

func TestRequired(t *testing.T) {
	for _, tc := range []struct {
		ci, source, url string
		want            bool
	}{
		{"", "", "", false},
		{"false", "", "", false},
		{"true", "", "", true},
		{"1", "", "", true},
		{"", "local", "", true},
		{"", "", "postgres://x/y", true},
	} {
		t.Setenv("CI", tc.ci)
		t.Setenv(EnvSource, tc.source)
		t.Setenv(EnvDatabaseURL, tc.url)
		if got := required(); got != tc.want {
			t.Errorf("required() with CI=%q %s=%q %s=%q = %t, want %t", tc.ci, EnvSource, tc.source, EnvDatabaseURL, tc.url, got, tc.want)
		}
	}
}

func TestStartRejectsUnknownSource(t *testing.T) {
	t.Setenv(EnvSource, "docker")
	if _, err := start(); err == nil || !strings.Contains(err.Error(), EnvSource) {
		t.Fatalf("start with %s=docker = %v, want an error naming the variable", EnvSource, err)
	}
}

// Simulates a machine with neither a usable image nor binaries.
func TestNothingAvailable(t *testing.T) {
	saved := binaryDirs
	binaryDirs = func() []string { return nil }
	t.Cleanup(func() { binaryDirs = saved })
	t.Setenv(EnvDatabaseURL, "")
	t.Setenv(EnvImage, "pgtest.invalid/no-such-image:0")

	t.Run("auto is skippable and says what was tried", func(t *testing.T) {
		t.Setenv(EnvSource, "")
		_, err := pickServer("", true)
		var none *noServerError
		if !errors.As(err, &none) {
			t.Fatalf("pickServer = %v, want *noServerError", err)
		}
		for _, want := range []string{EnvDatabaseURL, "testcontainers", "local binaries"} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not mention %q", err, want)
			}
		}
	})
	t.Run("a forced source is fatal", func(t *testing.T) {
		for _, mode := range []string{sourceLocal, sourceTestcontainers, sourceURL} {
			_, err := pickServer(mode, false)
			var none *noServerError
			if err == nil || errors.As(err, &none) {
				t.Errorf("pickServer(%q) = %v, want a non-skippable error", mode, err)
			}
		}
	})
}
