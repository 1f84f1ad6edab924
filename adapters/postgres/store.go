// Package postgres is the PostgreSQL adapter: it implements
// ports.UserRepository, ports.SessionRepository, ports.LoginThrottle,
// ports.AuditLog and ports.Pinger over a pgx pool, with queries generated
// by sqlc (internal/sqlcdb), and runs the embedded golang-migrate
// migrations. pgx and sqlc types never leave this
// package: every driver error is translated here (see errors.go).
package postgres

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/authd/authd/adapters/postgres/internal/sqlcdb"
	"github.com/authd/authd/ports"
)

// Defaults applied when the URL does not say otherwise.
const (
	defaultConnectTimeout = 5 * time.Second
	defaultLifetimeJitter = 5 * time.Minute
	defaultAppName        = "authd"
)

var (
	_ ports.UserRepository    = (*Store)(nil)
	_ ports.SessionRepository = (*Store)(nil)
	_ ports.LoginThrottle     = (*Store)(nil)
	_ ports.AuditLog          = (*Store)(nil)
	_ ports.Pinger            = (*Store)(nil)
)

// defaultMaxConns sizes the pool for a server whose writes wait on commits:
// reads are CPU-bound and gain nothing past a few connections per core, but
// a refresh holds its connection through the WAL flush, and more
// connections in flight let Postgres group those flushes. Measured on 2
// cores, refresh with rotation at 32 concurrent clients: 4 connections
// 3,773 / 3,559 req/s, 8: 4,514, 16: 4,451 / 4,948; GET /v1/users/me was
// unchanged from 4 to 8 (14,717 / 16,806 vs 15,281 / 15,917) and worse at
// 16 (12,738).
func defaultMaxConns() int32 { return int32(max(8, 4*runtime.NumCPU())) }

// Store is the PostgreSQL-backed repository. It is safe for concurrent use.
type Store struct {
	pool   *pgxpool.Pool
	q      *sqlcdb.Queries
	lazy   *pgxpool.Pool // synchronous_commit=off: throttle and audit writes
	lazyQ  *sqlcdb.Queries
	closed atomic.Bool
}

// Open connects a pool to url (postgres:// or key=value form) and pings it,
// so a wrong URL or a down server fails at startup, not at the first request.
// pgxpool's pool_* URL parameters (pool_max_conns, ...) are honoured; without
// them the pool holds up to 4*NumCPU connections (at least 8; see
// defaultMaxConns), connects with a 5s
// timeout and jitters connection lifetimes so they do not all expire at once.
func Open(ctx context.Context, url string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgconn's parse errors redact the password.
		return nil, fmt.Errorf("postgres: parse database url: %w", err)
	}
	if !strings.Contains(url, "pool_max_conns") {
		cfg.MaxConns = defaultMaxConns()
	}
	if !strings.Contains(url, "pool_max_conn_lifetime_jitter") {
		cfg.MaxConnLifetimeJitter = defaultLifetimeJitter
	}
	if cfg.ConnConfig.ConnectTimeout == 0 {
		cfg.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = defaultAppName
	}
	// The bookkeeping pool: its connections commit asynchronously
	// (synchronous_commit=off), for writes whose loss in a database crash
	// costs nothing lasting: login-throttle counters and audit events. They
	// stay atomic and ordered; only the wait for the WAL flush goes, which
	// would otherwise add three disk flushes to every login. Sessions,
	// tokens and accounts never use it.
	lazyCfg := cfg.Copy()
	lazyCfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	lazyCfg.MaxConns = max(2, cfg.MaxConns/2)
	lazy, err := pgxpool.NewWithConfig(ctx, lazyCfg)
	if err != nil {
		return nil, translate("open", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		lazy.Close()
		return nil, translate("open", err)
	}
	s := &Store{pool: pool, q: sqlcdb.New(pool), lazy: lazy, lazyQ: sqlcdb.New(lazy)}
	if err := s.Ping(ctx); err != nil {
		pool.Close()
		lazy.Close()
		return nil, err
	}
	return s, nil
}

// Close waits for checked-out connections to be returned and closes the
// pool. Calls after Close fail with domain.ErrUnavailable.
func (s *Store) Close() {
	s.closed.Store(true)
	s.pool.Close()
	s.lazy.Close()
}

// Ping reports whether the database answers (readiness).
func (s *Store) Ping(ctx context.Context) error {
	return s.translate("ping", s.pool.Ping(ctx))
}

// inTx runs fn in a READ COMMITTED transaction and commits when fn returns
// nil or an error for which commit reports true: some outcomes (reuse
// detection) must persist their writes and still report an error.
func (s *Store) inTx(ctx context.Context, op string, fn func(q *sqlcdb.Queries) error, commitOn func(error) bool) error {
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		return s.translate(op, err)
	}
	// Rollback after Commit is a no-op; on the error paths it must run even
	// if ctx is already cancelled.
	defer func() { _ = tx.Rollback(context.WithoutCancel(ctx)) }()

	fnErr := fn(s.q.WithTx(tx))
	if fnErr != nil && (commitOn == nil || !commitOn(fnErr)) {
		return fnErr
	}
	if err := tx.Commit(ctx); err != nil {
		return s.translate(op+": commit", err)
	}
	return fnErr
}

// PoolStats is a snapshot of the connection pool, for metrics. Counters
// are totals since Open.
type PoolStats struct {
	MaxConns, TotalConns, IdleConns, AcquiredConns int32
	Acquires                                       int64         // connections handed out
	EmptyAcquires                                  int64         // of those, ones that had to wait or dial
	CanceledAcquires                               int64         // waits abandoned (context ended)
	AcquireWait                                    time.Duration // total time spent acquiring
	NewConns                                       int64         // connections opened
}

// PoolStats reports the pool's gauges and counters.
func (s *Store) PoolStats() PoolStats {
	st := s.pool.Stat()
	return PoolStats{
		MaxConns:         st.MaxConns(),
		TotalConns:       st.TotalConns(),
		IdleConns:        st.IdleConns(),
		AcquiredConns:    st.AcquiredConns(),
		Acquires:         st.AcquireCount(),
		EmptyAcquires:    st.EmptyAcquireCount(),
		CanceledAcquires: st.CanceledAcquireCount(),
		AcquireWait:      st.AcquireDuration(),
		NewConns:         st.NewConnsCount(),
	}
}
