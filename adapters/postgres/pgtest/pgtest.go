// Package pgtest decides where test Postgres comes from, in one place, so
// the same tests run on a laptop with Docker, on a machine with only the
// Postgres binaries, and in CI. Use it from a package's TestMain:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		url := pgtest.NewDatabase(t) // fresh, migrated, empty; dropped after t
//		...
//	}
//
// The server is started lazily, once per test binary, by the first
// NewDatabase. Sources, in order:
//
//  1. AUTH_TEST_DATABASE_URL (postgres:// URL form): an existing server; the
//     role must be allowed to CREATE DATABASE.
//  2. testcontainers-go, when a Docker daemon answers and the image
//     (AUTH_TEST_POSTGRES_IMAGE, default postgres:17-alpine) is already
//     present locally: pgtest never pulls.
//  3. Local binaries: initdb and postgres from PATH, /usr/local/bin or
//     /usr/lib/postgresql/*/bin, run in a temporary directory (as the
//     "postgres" OS user when running as root, since Postgres refuses root).
//
// AUTH_TEST_POSTGRES=url|testcontainers|local forces one source, and its
// failure is fatal. When no source works the test is skipped, unless
// CI=true, AUTH_TEST_POSTGRES or AUTH_TEST_DATABASE_URL asked for Postgres:
// then it fails, saying what was tried.
//
// The schema is migrated once per binary into a template database; each
// NewDatabase is a CREATE DATABASE ... TEMPLATE of it, which takes
// milliseconds. Database names carry a per-binary suffix, so several test
// binaries (go test runs packages in parallel) can share one server.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/authd/authd/adapters/postgres"
)

// Environment variables read by this package.
const (
	EnvDatabaseURL = "AUTH_TEST_DATABASE_URL"
	EnvSource      = "AUTH_TEST_POSTGRES"       // "", "auto", "url", "testcontainers" or "local"
	EnvImage       = "AUTH_TEST_POSTGRES_IMAGE" // image for the testcontainers source
	DefaultImage   = "postgres:17-alpine"
)

const (
	sourceAuto           = "auto"
	sourceURL            = "url"
	sourceTestcontainers = "testcontainers"
	sourceLocal          = "local"

	adminTimeout = 30 * time.Second
)

// server is a running Postgres this binary may create databases on.
type server struct {
	adminURL string        // a database on the server, as a postgres:// URL
	admin    *pgxpool.Pool // creates and drops the per-test databases
	source   string        // human description, for logs and Source
	template string        // migrated template database name
	ownsData bool          // the server dies with this binary: no need to drop anything
	stop     func() error  // stops what this binary started; nil for an external server
}

var (
	mainCalled atomic.Bool
	startOnce  sync.Once
	started    atomic.Pointer[server]
	startErr   error
	logOnce    sync.Once
	dbSeq      atomic.Int64
	// binaryTag makes database names unique per test binary.
	binaryTag = func() string {
		var b [4]byte
		_, _ = rand.Read(b[:])
		return fmt.Sprintf("%d_%s", os.Getpid(), hex.EncodeToString(b[:]))
	}()
)

// Main runs the tests, then stops whatever server this binary started (and
// drops its template on an external server), and exits with m.Run's code.
func Main(m *testing.M) {
	mainCalled.Store(true)
	code := m.Run()
	if err := shutdown(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: shutdown: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// Source describes the Postgres in use ("" until one has started).
func Source() string {
	if s := started.Load(); s != nil {
		return s.source
	}
	return ""
}

// NewDatabase returns the postgres:// URL of a new database holding the
// migrated, empty schema, dropped (WITH (FORCE)) when t ends. It skips or
// fails t when no Postgres is available (see the package doc).
func NewDatabase(t testing.TB) string {
	t.Helper()
	if !mainCalled.Load() {
		t.Fatal("pgtest: call pgtest.Main(m) from TestMain; it stops the server NewDatabase starts")
	}
	startOnce.Do(func() {
		s, err := start()
		if err != nil {
			startErr = err
			fmt.Fprintf(os.Stderr, "pgtest: no Postgres: %v\n", err)
			return
		}
		started.Store(s)
		fmt.Fprintf(os.Stderr, "pgtest: %s\n", s.source)
	})
	s := started.Load()
	if s == nil {
		var none *noServerError
		if errors.As(startErr, &none) && !required() {
			t.Skipf("pgtest: skipping, no Postgres available (set CI=true or %s to make this fatal): %v", EnvSource, startErr)
		}
		t.Fatalf("pgtest: %v", startErr)
	}
	logOnce.Do(func() { t.Logf("pgtest: %s", s.source) })

	name := fmt.Sprintf("test_%s_%d", binaryTag, dbSeq.Add(1))
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	create := "CREATE DATABASE " + pgx.Identifier{name}.Sanitize() + " TEMPLATE " + pgx.Identifier{s.template}.Sanitize()
	if _, err := s.admin.Exec(ctx, create); err != nil {
		t.Fatalf("pgtest: create database %s: %v", name, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
		defer cancel()
		if _, err := s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			t.Errorf("pgtest: drop database %s: %v", name, err)
		}
	})
	return databaseURL(s.adminURL, name)
}

// noServerError: no source could provide a server. Only this is skippable;
// a server that started but could not be prepared always fails the test.
type noServerError struct{ tried []string }

func (e *noServerError) Error() string {
	return "tried " + strings.Join(e.tried, "; ")
}

// required reports whether the environment asked for Postgres, so that its
// absence must fail rather than skip.
func required() bool {
	ci := strings.ToLower(os.Getenv("CI"))
	return ci == "true" || ci == "1" || os.Getenv(EnvSource) != "" || os.Getenv(EnvDatabaseURL) != ""
}

// start picks the first source that works and prepares the template.
func start() (*server, error) {
	mode := os.Getenv(EnvSource)
	switch mode {
	case "", sourceAuto, sourceURL, sourceTestcontainers, sourceLocal:
	default:
		return nil, fmt.Errorf("%s=%q: want one of auto, url, testcontainers, local", EnvSource, mode)
	}
	auto := mode == "" || mode == sourceAuto

	s, err := pickServer(mode, auto)
	if err != nil {
		return nil, err
	}
	if err := s.prepare(); err != nil {
		if stopErr := s.shutdown(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		return nil, err
	}
	return s, nil
}

func pickServer(mode string, auto bool) (*server, error) {
	var tried []string
	if u := os.Getenv(EnvDatabaseURL); u != "" && (auto || mode == sourceURL) {
		// An explicit URL that does not work is a configuration error,
		// never a reason to quietly use something else.
		return fromURL(u)
	}
	if mode == sourceURL {
		return nil, fmt.Errorf("%s=url but %s is empty", EnvSource, EnvDatabaseURL)
	}
	tried = append(tried, EnvDatabaseURL+" (unset)")

	if auto || mode == sourceTestcontainers {
		s, err := fromTestcontainers()
		if err == nil {
			return s, nil
		}
		if mode == sourceTestcontainers {
			return nil, fmt.Errorf("%s=testcontainers: %w", EnvSource, err)
		}
		fmt.Fprintf(os.Stderr, "pgtest: not using testcontainers: %v\n", err)
		tried = append(tried, "testcontainers ("+err.Error()+")")
	}
	if auto || mode == sourceLocal {
		s, err := fromLocalBinaries()
		if err == nil {
			return s, nil
		}
		if mode == sourceLocal {
			return nil, fmt.Errorf("%s=local: %w", EnvSource, err)
		}
		tried = append(tried, "local binaries ("+err.Error()+")")
	}
	return nil, &noServerError{tried: tried}
}

func fromURL(raw string) (*server, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("%s must be a postgres:// URL", EnvDatabaseURL)
	}
	s := &server{adminURL: raw}
	if err := s.connect(); err != nil {
		return nil, fmt.Errorf("%s: %w", EnvDatabaseURL, err)
	}
	s.source = fmt.Sprintf("using %s (PostgreSQL %s) at %s", EnvDatabaseURL, s.version(), u.Host)
	return s, nil
}

// connect opens the admin pool and checks the server answers.
func (s *server) connect() error {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	cfg, err := pgxpool.ParseConfig(s.adminURL)
	if err != nil {
		return err
	}
	cfg.MaxConns = 4
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return err
	}
	s.admin = pool
	return nil
}

func (s *server) version() string {
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	var v string
	if err := s.admin.QueryRow(ctx, "SHOW server_version").Scan(&v); err != nil {
		return "version unknown"
	}
	if f := strings.Fields(v); len(f) > 0 {
		return f[0]
	}
	return v
}

// prepare migrates the template database once for this binary.
func (s *server) prepare() error {
	s.template = "authd_template_" + binaryTag
	ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
	defer cancel()
	if _, err := s.admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{s.template}.Sanitize()); err != nil {
		return fmt.Errorf("create template database: %w", err)
	}
	if err := postgres.MigrateUp(databaseURL(s.adminURL, s.template)); err != nil {
		return fmt.Errorf("migrate template database: %w", err)
	}
	return nil
}

func shutdown() error {
	s := started.Load()
	if s == nil {
		return nil
	}
	return s.shutdown()
}

func (s *server) shutdown() error {
	var errs []error
	if s.admin != nil {
		if !s.ownsData && s.template != "" {
			ctx, cancel := context.WithTimeout(context.Background(), adminTimeout)
			_, err := s.admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{s.template}.Sanitize()+" WITH (FORCE)")
			cancel()
			if err != nil {
				errs = append(errs, fmt.Errorf("drop template database: %w", err))
			}
		}
		s.admin.Close()
	}
	if s.stop != nil {
		if err := s.stop(); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// databaseURL is base pointing at database name instead.
func databaseURL(base, name string) string {
	u, err := url.Parse(base)
	if err != nil {
		// Every base here was parsed before; unreachable.
		panic(fmt.Sprintf("pgtest: bad base url: %v", err))
	}
	u.Path = "/" + name
	u.RawPath = ""
	return u.String()
}
