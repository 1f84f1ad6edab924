// Package postgres is the PostgreSQL adapter: it implements ports.Users,
// ports.Passwords, ports.Sessions, ports.LoginThrottle, ports.AuditLog,
// ports.Pinger and ports.Transactor over a pgx pool, with queries generated
// by sqlc (internal/sqlcdb), and runs the embedded golang-migrate
// migrations. pgx and sqlc types never leave this package: every driver
// error is translated here (see errors.go).
package postgres

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
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
	_ ports.Users         = (*Store)(nil)
	_ ports.Passwords     = (*Store)(nil)
	_ ports.Sessions      = (*Store)(nil)
	_ ports.LoginThrottle = (*Store)(nil)
	_ ports.AuditLog      = (*Store)(nil)
	_ ports.Pinger        = (*Store)(nil)
	_ ports.Transactor    = (*Store)(nil)
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
// The repository methods are those of the embedded repos, bound to the
// pools; WithinTx binds another repos to a transaction.
type Store struct {
	repos
	pool    *pgxpool.Pool
	lazy    *pgxpool.Pool   // synchronous_commit=off: throttle and audit writes
	lazyQ   *sqlcdb.Queries // the throttle: never part of a transaction
	retries *retryCounters
}

// repos holds the queries the repositories run on: the pools outside a
// transaction, one transaction inside WithinTx.
type repos struct {
	q *sqlcdb.Queries
	// book takes the bookkeeping writes (audit events). Outside a
	// transaction it is the lazy pool: an event lost in a database crash
	// costs nothing lasting, and the wait for a WAL flush would. Inside,
	// it is the transaction itself: the event then commits, or not, with
	// what it records, and costs no second commit.
	book *sqlcdb.Queries
	// tx: q is a transaction, so a lock a read takes lasts until it ends.
	tx     bool
	closed *atomic.Bool // shared by the Store and its transactions; set by Close
}

func (r *repos) stores() ports.Stores {
	return ports.Stores{Users: r, Passwords: r, Sessions: r, Audit: r}
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
	// Never hand out a connection the server has closed (a restart): a
	// non-blocking peek at its socket before every acquire, a system call
	// and no round trip (see retry.go). pgxpool's default ShouldPing (a
	// round trip for connections idle over a second) stays: it also catches
	// a connection whose peer vanished without closing it.
	cfg.PrepareConn = func(_ context.Context, c *pgx.Conn) (bool, error) {
		return connAlive(c), nil
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
	rc := new(retryCounters)
	s := &Store{pool: pool, lazy: lazy, lazyQ: sqlcdb.New(retryDB{db: lazy, retries: &rc.statements}), retries: rc}
	s.repos = repos{q: sqlcdb.New(retryDB{db: pool, retries: &rc.statements}), book: s.lazyQ, closed: new(atomic.Bool)}
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

// Ping reports whether requests can be served (readiness): a round trip
// on a connection of each pool. A connection that turns out dead (its
// server restarted) is destroyed and the ping runs once more on another,
// fresh if need be, so a pool still holding dead connections is ready as
// soon as the server answers, and not before.
func (s *Store) Ping(ctx context.Context) error {
	for _, p := range []*pgxpool.Pool{s.pool, s.lazy} {
		err := p.Ping(ctx)
		if err != nil && ctx.Err() == nil && connectionFailure(unavailableCause(err)) {
			err = p.Ping(ctx)
		}
		if err != nil {
			return s.translate("ping", err)
		}
	}
	return nil
}

// unavailableCause is err, or an error connectionFailure recognises when
// err is a server's "unavailable" answer (57P01 on a closed connection).
func unavailableCause(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && unavailableSQLState(pgErr.Code) {
		return pgconn.ErrConnClosed
	}
	return err
}

// WithinTx runs fn in one READ COMMITTED transaction: every repository
// call through the Stores it gets runs on that transaction, the audit log
// included, and commits when fn returns nil. READ COMMITTED is enough
// because the use cases lock what they decide on (RefreshToken,
// HoldPassword, SwapPasswordHash), and it never fails a commit for a
// serialization conflict that would need a retry.
//
// A transaction whose connection broke before its COMMIT was sent (BEGIN
// failed with it, or a statement did: a restart, a terminated backend)
// committed nothing, so it runs again, whole, once, on another connection;
// ports.Transactor requires fn to be safe to run again. Never after
// COMMIT was sent, whose outcome is unknown, nor once ctx has ended.
func (s *Store) WithinTx(ctx context.Context, fn func(ports.Stores) error) error {
	err, again := s.attempt(ctx, fn)
	if again {
		s.retries.txs.Add(1)
		err, _ = s.attempt(ctx, fn)
	}
	return err
}

// attempt runs fn in one transaction. again reports a failure that
// provably committed nothing on a connection that broke (see WithinTx).
func (s *Store) attempt(ctx context.Context, fn func(ports.Stores) error) (err error, again bool) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return s.translate("begin", err), false
	}
	// BEGIN goes out with the first statement and the audit events with
	// the next statement or COMMIT (see tx.go). end rolls back whatever did
	// not commit, on fn's error or panic too, and destroys a connection
	// left in an unknown state rather than pool it.
	t := &txConn{conn: conn, closed: s.closed}
	defer func() {
		lost := t.end(ctx)
		again = err != nil && lost && !t.commitSent && ctx.Err() == nil && !s.closed.Load()
	}()

	in := &repos{q: sqlcdb.New(t), book: sqlcdb.New(deferredAppends{t}), tx: true, closed: s.closed}
	if err := fn(in.stores()); err != nil {
		return unwrapTx(err), false
	}
	return unwrapTx(t.commit(ctx)), false
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

// Retries reports, since Open, the statements run again after a send that
// reached no server and the transactions run again after their connection
// broke before COMMIT (see retry.go), for metrics.
func (s *Store) Retries() (statements, txs int64) {
	return s.retries.statements.Load(), s.retries.txs.Load()
}
