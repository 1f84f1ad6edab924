package postgres

import (
	"context"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/authd/authd/adapters/postgres/internal/sqlcdb"
)

// Riding through a database restart. A restart (or a failover, or
// pg_terminate_backend) kills every connection in the pool; the server
// sends each a FATAL (57P01) and closes it. Three things keep a request
// from failing for that once the server is back:
//
//  1. The pool never hands out a connection the server has closed:
//     PrepareConn (connAlive) peeks at its socket, without blocking and
//     without a round trip, before every acquire. An idle connection has
//     nothing to read; a FATAL or an end of file waiting there means it is
//     dead, and the pool destroys it and takes (or dials) another. A
//     connection a statement finds broken is closed by pgconn and destroyed
//     by the pool on release, never reused.
//  2. A single statement outside a transaction that failed before any of
//     it reached the server (pgconn.SafeToRetry: the connection broke as
//     it was written to, nothing was written) runs once more, on another
//     connection (retryDB).
//  3. A WithinTx transaction whose connection broke before its COMMIT was
//     sent runs again, whole, once (Store.WithinTx): without COMMIT the
//     server rolled it back. After COMMIT was sent the outcome is unknown
//     and the error goes to the caller.
//
// Nothing retries once the caller's context has ended: the request is
// over.

// retryCounters count the retries, for metrics.
type retryCounters struct {
	statements atomic.Int64
	txs        atomic.Int64
}

// retryable reports whether a failed statement may run again: it never
// reached the server, and the caller still waits.
func retryable(ctx context.Context, err error) bool {
	return err != nil && ctx.Err() == nil && pgconn.SafeToRetry(err)
}

// retryDB is the sqlcdb.DBTX of the repositories outside a transaction: a
// pool, with a statement that provably never reached the server retried
// once.
type retryDB struct {
	db      sqlcdb.DBTX
	retries *atomic.Int64
}

func (r retryDB) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	tag, err := r.db.Exec(ctx, sql, args...)
	if retryable(ctx, err) {
		r.retries.Add(1)
		tag, err = r.db.Exec(ctx, sql, args...)
	}
	return tag, err
}

func (r retryDB) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	rows, err := r.db.Query(ctx, sql, args...)
	if retryable(ctx, err) {
		if rows != nil {
			rows.Close()
		}
		r.retries.Add(1)
		return r.db.Query(ctx, sql, args...)
	}
	if err != nil {
		return rows, err
	}
	return &retryRows{Rows: rows, r: r, ctx: ctx, sql: sql, args: args}, nil
}

func (r retryDB) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	return retryRow{r: r, ctx: ctx, sql: sql, args: args}
}

// retryRow runs the query when scanned, and once more if it never reached
// the server (no row was scanned then).
type retryRow struct {
	r    retryDB
	ctx  context.Context
	sql  string
	args []any
}

func (q retryRow) Scan(dest ...any) error {
	err := q.r.db.QueryRow(q.ctx, q.sql, q.args...).Scan(dest...)
	if retryable(q.ctx, err) {
		q.r.retries.Add(1)
		err = q.r.db.QueryRow(q.ctx, q.sql, q.args...).Scan(dest...)
	}
	return err
}

// retryRows: with a cached statement pgx reports a failed send through
// the rows, not Query; before any row was read such a query runs once more.
type retryRows struct {
	pgx.Rows
	r       retryDB
	ctx     context.Context
	sql     string
	args    []any
	started bool // a row was returned, or the query was retried
}

func (q *retryRows) Next() bool {
	if q.Rows.Next() {
		q.started = true
		return true
	}
	if q.started || !retryable(q.ctx, q.Rows.Err()) {
		return false
	}
	q.started = true
	q.Rows.Close()
	q.r.retries.Add(1)
	rows, err := q.r.db.Query(q.ctx, q.sql, q.args...)
	if err != nil && rows == nil {
		rows = errRows{err: err}
	}
	q.Rows = rows
	return q.Rows.Next()
}

// errRows is a query that failed before it returned rows.
type errRows struct {
	pgx.Rows
	err error
}

func (e errRows) Next() bool                                   { return false }
func (e errRows) Err() error                                   { return e.err }
func (e errRows) Close()                                       {}
func (e errRows) Scan(...any) error                            { return e.err }
func (e errRows) Values() ([]any, error)                       { return nil, e.err }
func (e errRows) CommandTag() pgconn.CommandTag                { return pgconn.CommandTag{} }
func (e errRows) FieldDescriptions() []pgconn.FieldDescription { return nil }
func (e errRows) RawValues() [][]byte                          { return nil }
