package postgres

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
)

// neverSent is an error pgconn.SafeToRetry accepts: nothing reached the server.
type neverSent struct{}

func (neverSent) Error() string     { return "never sent" }
func (neverSent) SafeToRetry() bool { return true }

// flakyDB fails its first fails calls with err, then answers.
type flakyDB struct {
	calls, fails int
	err          error
}

func (f *flakyDB) fail() error {
	f.calls++
	if f.calls <= f.fails {
		return f.err
	}
	return nil
}

func (f *flakyDB) Exec(context.Context, string, ...any) (pgconn.CommandTag, error) {
	return pgconn.NewCommandTag("UPDATE 1"), f.fail()
}

func (f *flakyDB) Query(context.Context, string, ...any) (pgx.Rows, error) {
	if err := f.fail(); err != nil {
		return errRows{err: err}, nil // pgx reports a cached statement's send failure through the rows
	}
	return errRows{}, nil
}

func (f *flakyDB) QueryRow(context.Context, string, ...any) pgx.Row {
	return errRow{f.fail()}
}

// TestStatementNeverSentRetriedOnce: a statement that provably never
// reached the server runs once more, and only once; any other failure, or
// one after the caller gave up, is returned as is.
func TestStatementNeverSentRetriedOnce(t *testing.T) {
	ctx := t.Context()
	other := errors.New("sent, then failed")
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	for _, tc := range []struct {
		name      string
		ctx       context.Context
		fails     int
		err       error
		wantCalls int
		wantErr   bool
	}{
		{"never sent, retried", ctx, 1, neverSent{}, 2, false},
		{"never sent twice, retried once", ctx, 2, neverSent{}, 2, true},
		{"reached the server, not retried", ctx, 1, other, 1, true},
		{"caller gone, not retried", cancelled, 1, neverSent{}, 1, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			run := map[string]func(retryDB) error{
				"Exec": func(r retryDB) error { _, err := r.Exec(tc.ctx, "x"); return err },
				"QueryRow": func(r retryDB) error {
					var v int
					return r.QueryRow(tc.ctx, "x").Scan(&v)
				},
				"Query": func(r retryDB) error {
					rows, err := r.Query(tc.ctx, "x")
					if err != nil {
						return err
					}
					for rows.Next() {
					}
					rows.Close()
					return rows.Err()
				},
			}
			for name, f := range run {
				db := &flakyDB{fails: tc.fails, err: tc.err}
				var n atomic.Int64
				err := f(retryDB{db: db, retries: &n})
				if db.calls != tc.wantCalls || (err != nil) != tc.wantErr || n.Load() != int64(tc.wantCalls-1) {
					t.Errorf("%s: calls=%d err=%v retries=%d; want calls=%d, error %v", name, db.calls, err, n.Load(), tc.wantCalls, tc.wantErr)
				}
			}
		})
	}
}
