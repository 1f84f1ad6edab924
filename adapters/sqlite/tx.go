package sqlite

import (
	"context"
	"errors"

	"github.com/authd/authd/adapters/sqlite/internal/sqlcdb"
	"github.com/authd/authd/ports"
)

// WithinTx runs fn in one transaction on the writer connection, begun
// with BEGIN IMMEDIATE: it holds the database's write lock from the start,
// so transactions (of this process, and of any other on the file) are
// serial, and what fn reads stays as it read it until the commit. That is
// what RefreshToken's and HoldPassword's "locked until the transaction
// ends" mean here; no row lock is needed. Every repository call through
// the Stores fn gets runs on the transaction (reads included: fn reads its
// own writes), and commits when fn returns nil; an error or a panic rolls
// it back.
//
// fn must use only the Stores it is given: a write through the Store
// itself would wait for the writer connection fn holds.
func (s *Store) WithinTx(ctx context.Context, fn func(ports.Stores) error) (err error) {
	tx, err := s.writer.BeginTx(ctx, nil) // BEGIN IMMEDIATE (_txlock)
	if err != nil {
		return s.translate("begin", err)
	}
	done := false
	defer func() {
		if !done {
			_ = tx.Rollback() // fn failed or panicked
		}
	}()
	q := s.wq.WithTx(tx)
	in := &repos{r: q, w: q, tx: tx, writer: s.writer, wq: s.wq, closed: s.closed}
	if err := fn(in.stores()); err != nil {
		return err
	}
	done = true
	if err := tx.Commit(); err != nil {
		return s.translate("commit", err)
	}
	return nil
}

// atomically runs a write of several statements as one: in a transaction
// of its own on the writer outside WithinTx, in a savepoint inside it (so
// a statement that fails half-way leaves none of the write behind, even
// if fn goes on and commits).
func (r *repos) atomically(ctx context.Context, op string, fn func(q *sqlcdb.Queries) error) error {
	if r.tx != nil {
		if _, err := r.tx.ExecContext(ctx, "SAVEPOINT authd_op"); err != nil {
			return r.translate(op, err)
		}
		if err := fn(r.w); err != nil {
			cleanup := context.WithoutCancel(ctx)
			_, rerr := r.tx.ExecContext(cleanup, "ROLLBACK TO authd_op")
			if rerr == nil {
				_, rerr = r.tx.ExecContext(cleanup, "RELEASE authd_op")
			}
			return errors.Join(err, r.translateOpt(op, rerr))
		}
		_, err := r.tx.ExecContext(ctx, "RELEASE authd_op")
		return r.translate(op, err)
	}
	tx, err := r.writer.BeginTx(ctx, nil) // BEGIN IMMEDIATE
	if err != nil {
		return r.translate(op, err)
	}
	if err := fn(r.wq.WithTx(tx)); err != nil {
		_ = tx.Rollback()
		return err
	}
	return r.translate(op, tx.Commit())
}

// translateOpt is translate for a secondary error that may be nil.
func (r *repos) translateOpt(op string, err error) error {
	if err == nil {
		return nil
	}
	return r.translate(op+": rollback", err)
}
