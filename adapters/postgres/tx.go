package postgres

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// A WithinTx transaction pays for round trips, not statements, so it sends
// what needs no answer of its own together with the next statement that
// does, in one pgx batch (one pipeline, one Sync):
//
//   - BEGIN goes with the transaction's first statement;
//   - the audit events appended inside it, and the mails it queues in the
//     outbox (deferred: INSERTs whose only answer is "done"), go with the
//     next statement, or with COMMIT.
//
// A refresh (RefreshToken, Rotate, Append) is then three round trips,
// BEGIN+SELECT, UPDATE, INSERT+COMMIT, instead of five; so is a login's
// session (HoldPassword, CreateSession, Append). The statements run in the
// order fn made them, each sees the ones before it (an Events read after an
// Append finds the event), and an error stops the batch where it happens:
// the server skips what follows a failed statement up to the Sync, so a
// COMMIT behind a failed INSERT never runs.
//
// What changes is when a deferred statement's failure is seen: by the
// statement it travelled with, or by the commit, not by Append (or
// EnqueueMail). It is then the transaction's error (txError): every later
// statement and the commit return it, so a fn that ignores it still cannot
// commit. And as with any
// COMMIT, a failure of the last batch (its context cancelled, the network
// gone) leaves the outcome unknown: the server may have run the COMMIT
// already sent. That window now also spans the deferred INSERTs ahead of
// it, which take no locks others hold (the audit log and the outbox take
// new rows only, their ids fresh UUIDs).

// beginSQL is WithinTx's isolation (see Store.WithinTx).
const beginSQL = "begin isolation level read committed"

// cleanupTimeout bounds the rollback and the close that end a failed
// transaction; they run even when the caller's context has ended.
const cleanupTimeout = 5 * time.Second

// errTxDone is what the Stores of a transaction answer once WithinTx has
// returned: their connection is back in the pool.
var errTxDone = errors.New("postgres: the transaction is over")

// txError is a failure of the transaction rather than of the statement that
// meets it (BEGIN, or a deferred statement, failed), already translated.
// translate passes it on unchanged, so the operation named is the one that
// failed.
type txError struct{ err error }

func (e *txError) Error() string { return e.err.Error() }
func (e *txError) Unwrap() error { return e.err }

// unwrapTx returns the translated error a bare txError carries, so
// WithinTx's callers get it as any repository error.
func unwrapTx(err error) error {
	if te, ok := err.(*txError); ok {
		return te.err
	}
	return err
}

// deferredStmt is a statement queued to go with the next round trip.
type deferredStmt struct {
	op   string // the repository operation, for its error
	sql  string
	args []any
}

// txConn is one WithinTx transaction on a connection held from the pool:
// the sqlcdb.DBTX of its repositories. Not safe for concurrent use (nor is
// a transaction).
type txConn struct {
	conn    *pgxpool.Conn // nil once released
	closed  *atomic.Bool  // the Store's
	begun   bool          // BEGIN has been sent
	pending []deferredStmt
	err     error // *txError, or errTxDone: sticky
	// commitSent: COMMIT may have reached the server, so a failure from
	// here on has an unknown outcome and is never retried.
	commitSent bool
}

// fail records that the transaction failed at op (see txError) and returns
// the error.
func (t *txConn) fail(op string, err error) error {
	r := repos{closed: t.closed}
	t.err = &txError{err: r.translate(op, err)}
	return t.err
}

// sendWith sends sql as the last statement of a batch after BEGIN (unless
// sent already) and the pending statements, reads the results before it
// and returns the batch positioned at its result. ok is false when there
// is nothing to send ahead of sql: the caller runs it on the connection.
func (t *txConn) sendWith(ctx context.Context, sql string, args []any) (br pgx.BatchResults, ok bool, err error) {
	if t.err != nil {
		return nil, true, t.err
	}
	if t.begun && len(t.pending) == 0 {
		return nil, false, nil
	}
	b := &pgx.Batch{}
	begin := !t.begun
	if begin {
		b.Queue(beginSQL)
	}
	pending := t.pending
	for _, d := range pending {
		b.Queue(d.sql, d.args...)
	}
	b.Queue(sql, args...)
	t.begun, t.pending = true, nil

	br = t.conn.SendBatch(ctx, b)
	if begin {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, true, t.fail("begin", err)
		}
	}
	for _, d := range pending {
		if _, err := br.Exec(); err != nil {
			_ = br.Close()
			return nil, true, t.fail(d.op, err)
		}
	}
	return br, true, nil
}

// Exec implements sqlcdb.DBTX.
func (t *txConn) Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	br, ok, err := t.sendWith(ctx, sql, args)
	switch {
	case err != nil:
		return pgconn.CommandTag{}, err
	case !ok:
		return t.conn.Exec(ctx, sql, args...)
	}
	tag, err := br.Exec()
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return tag, err
}

// Query implements sqlcdb.DBTX.
func (t *txConn) Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error) {
	br, ok, err := t.sendWith(ctx, sql, args)
	switch {
	case err != nil:
		return nil, err
	case !ok:
		return t.conn.Query(ctx, sql, args...)
	}
	rows, err := br.Query()
	if err != nil {
		_ = br.Close()
		return nil, err
	}
	return &batchRows{Rows: rows, br: br}, nil
}

// QueryRow implements sqlcdb.DBTX.
func (t *txConn) QueryRow(ctx context.Context, sql string, args ...any) pgx.Row {
	br, ok, err := t.sendWith(ctx, sql, args)
	switch {
	case err != nil:
		return errRow{err}
	case !ok:
		return t.conn.QueryRow(ctx, sql, args...)
	}
	return batchRow{row: br.QueryRow(), br: br}
}

// commit sends the pending statements and COMMIT in one batch (BEGIN too,
// if fn ran no statement of its own). A COMMIT the server answers with
// ROLLBACK (the transaction had failed) is an error, as pgx's Tx.Commit
// has it.
func (t *txConn) commit(ctx context.Context) error {
	if t.err != nil {
		return t.err
	}
	if !t.begun && len(t.pending) == 0 {
		return nil // nothing was sent: nothing to commit
	}
	if t.conn.Conn().PgConn().IsClosed() {
		// A statement fn ignored broke the connection: nothing to send.
		return t.fail("commit", pgconn.ErrConnClosed)
	}
	var tag pgconn.CommandTag
	t.commitSent = true
	br, ok, err := t.sendWith(ctx, "commit", nil)
	switch {
	case err != nil:
		return err
	case !ok:
		tag, err = t.conn.Exec(ctx, "commit")
	default:
		tag, err = br.Exec()
		if cerr := br.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil && tag.String() == "ROLLBACK" {
		err = pgx.ErrTxCommitRollback
	}
	if err != nil {
		return t.fail("commit", err)
	}
	t.err = errTxDone
	return nil
}

// end rolls back whatever commit did not end (fn failed or panicked, the
// commit failed) and gives the connection back. A connection whose state
// is not known to be clean (closed or cancelled mid-batch, results left
// unread, the rollback failed) is taken out of the pool and closed here,
// so the pool never hands it out again and no longer counts it once
// WithinTx returns. lost reports a connection that was found closed: the
// server ended it, or pgconn closed it on a network error.
func (t *txConn) end(ctx context.Context) (lost bool) {
	conn := t.conn
	if conn == nil {
		return false
	}
	t.conn, t.pending, t.err = nil, nil, errTxDone
	cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	pc := conn.Conn().PgConn()
	lost = pc.IsClosed()
	clean := !lost && !pc.IsBusy()
	if clean && pc.TxStatus() != 'I' {
		_, err := conn.Exec(cleanup, "rollback")
		clean = err == nil && pc.TxStatus() == 'I'
	}
	if clean {
		conn.Release()
		return false
	}
	_ = conn.Hijack().Close(cleanup)
	return lost
}

// deferred is the DBTX of the writes that need no answer of their own
// inside a transaction (the audit log's appends, the outbox's INSERTs): it
// queues the statement to go with the next round trip (see
// txConn.sendWith) and answers at once. op names the repository operation
// in the error of a failure, which the transaction then returns.
type deferred struct {
	t  *txConn
	op string
}

func (d deferred) Exec(_ context.Context, sql string, args ...any) (pgconn.CommandTag, error) {
	if d.t.err != nil {
		return pgconn.CommandTag{}, d.t.err
	}
	d.t.pending = append(d.t.pending, deferredStmt{op: d.op, sql: sql, args: args})
	return pgconn.NewCommandTag("INSERT 0 1"), nil
}

func (d deferred) Query(context.Context, string, ...any) (pgx.Rows, error) {
	return nil, errDeferredRead
}

func (d deferred) QueryRow(context.Context, string, ...any) pgx.Row {
	return errRow{errDeferredRead}
}

var errDeferredRead = fmt.Errorf("postgres: a deferred statement returns no rows")

// batchRows are the rows of a batch's last statement; closing them closes
// the batch.
type batchRows struct {
	pgx.Rows
	br     pgx.BatchResults
	closed bool
	err    error
}

func (r *batchRows) Next() bool {
	if r.Rows.Next() {
		return true
	}
	r.Close()
	return false
}

func (r *batchRows) Close() {
	r.Rows.Close()
	if !r.closed {
		r.closed = true
		r.err = r.br.Close()
	}
}

func (r *batchRows) Err() error {
	if err := r.Rows.Err(); err != nil {
		return err
	}
	return r.err
}

// batchRow is the row of a batch's last statement; scanning it closes the
// batch.
type batchRow struct {
	row pgx.Row
	br  pgx.BatchResults
}

func (r batchRow) Scan(dest ...any) error {
	err := r.row.Scan(dest...)
	if cerr := r.br.Close(); err == nil {
		err = cerr
	}
	return err
}

type errRow struct{ err error }

func (r errRow) Scan(...any) error { return r.err }
