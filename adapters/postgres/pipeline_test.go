package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/authd/authd/adapters/postgres"
	"github.com/authd/authd/adapters/postgres/pgtest"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// WithinTx sends BEGIN with the first statement and the audit events with
// the next statement or COMMIT (see tx.go). These tests count the round
// trips that buys, and check the paths where a batch fails half-way.

// turnCounter is a TCP proxy in front of Postgres that counts round trips:
// a turn is the client sending after the server has answered (or for the
// first time), however many writes either side splits its part into.
type turnCounter struct {
	ln    net.Listener
	mu    sync.Mutex
	turns int
	last  int // 0 none, 1 client to server, 2 server to client
}

// proxied starts a turnCounter in front of the database at dbURL and
// returns it with the URL through it.
func proxied(t *testing.T, dbURL string) (*turnCounter, string) {
	t.Helper()
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &turnCounter{ln: ln}
	upstream := u.Host
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", upstream)
			if err != nil {
				_ = client.Close()
				continue
			}
			go c.pump(client, server, 1)
			go c.pump(server, client, 2)
		}
	}()
	t.Cleanup(func() { _ = ln.Close() })
	u.Host = ln.Addr().String()
	return c, u.String()
}

// pump copies from to to, marking the direction before passing each chunk
// on (so the side that answers it cannot get ahead of the mark).
func (c *turnCounter) pump(from, to net.Conn, dir int) {
	defer func() { _ = from.Close(); _ = to.Close() }()
	buf := make([]byte, 32<<10)
	for {
		n, err := from.Read(buf)
		if n > 0 {
			c.mu.Lock()
			if dir == 1 && c.last != 1 {
				c.turns++
			}
			c.last = dir
			c.mu.Unlock()
			if _, werr := to.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (c *turnCounter) reset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.turns, c.last = 0, 0
}

func (c *turnCounter) count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.turns
}

// roundTrips runs op a few times on a store with one connection (warmed
// up: connected, statements prepared) and returns the fewest round trips
// one run took. The fewest, because the pool pings a connection that sat
// idle over a second before handing it out, which a slow test machine can
// make happen now and then.
func roundTrips(t *testing.T, c *turnCounter, op func() error) int {
	t.Helper()
	if err := op(); err != nil { // warm-up: pgx prepares new statements in a round trip of their own
		t.Fatalf("warm-up: %v", err)
	}
	fewest := -1
	for range 3 {
		c.reset()
		if err := op(); err != nil {
			t.Fatal(err)
		}
		if n := c.count(); fewest < 0 || n < fewest {
			fewest = n
		}
	}
	return fewest
}

func TestTxRoundTrips(t *testing.T) {
	c, url := proxied(t, pgtest.NewDatabase(t))
	st := openStore(t, url+"&pool_max_conns=1")
	ctx := t.Context()
	u := userWithPassword(t, st, "ada@example.com", "h1")
	event := func(typ domain.EventType, s domain.SessionID) domain.AuditEvent {
		return domain.AuditEvent{ID: newEventID(), At: t0, Type: typ, UserID: u.ID(), SessionID: s}
	}
	// A chain of refresh tokens, one session.
	s := newSession(u, t0)
	tok, _ := domain.NewRefreshToken(rand.Reader, t0, time.Hour)
	if err := st.CreateSession(ctx, s, tok.Record(s.ID())); err != nil {
		t.Fatal(err)
	}
	presented := tok.Hash()
	var p domain.SessionPolicy

	for _, tc := range []struct {
		name string
		want int
		fn   func(tx ports.Stores) error
	}{
		{"Refresh", 3, func(tx ports.Stores) error { // BEGIN+SELECT, UPDATE, INSERT+COMMIT
			rec, sess, _, err := tx.Sessions.RefreshToken(ctx, presented)
			if err != nil {
				return err
			}
			next, _ := domain.NewRefreshToken(rand.Reader, t0, time.Hour)
			r, _ := p.Rotate(rec, sess, next, t0, domain.ClientInfo{})
			if err := tx.Sessions.Rotate(ctx, r); err != nil {
				return err
			}
			presented = next.Hash()
			return tx.Audit.Append(ctx, event(domain.EventRefreshed, s.ID()))
		}},
		{"OpenSession", 3, func(tx ports.Stores) error { // BEGIN+SELECT, INSERT, INSERT+COMMIT
			if err := tx.Passwords.HoldPassword(ctx, u.ID(), "h1"); err != nil {
				return err
			}
			s := newSession(u, t0)
			first, _ := domain.NewRefreshToken(rand.Reader, t0, time.Hour)
			if err := tx.Sessions.CreateSession(ctx, s, first.Record(s.ID())); err != nil {
				return err
			}
			return tx.Audit.Append(ctx, event(domain.EventLoginSucceeded, s.ID()))
		}},
		{"AppendsOnly", 1, func(tx ports.Stores) error { // BEGIN+INSERT+INSERT+COMMIT
			if err := tx.Audit.Append(ctx, event(domain.EventLoggedOut, "")); err != nil {
				return err
			}
			return tx.Audit.Append(ctx, event(domain.EventLoggedOut, ""))
		}},
		{"AppendThenRead", 2, func(tx ports.Stores) error { // BEGIN+INSERT+SELECT, COMMIT
			e := event(domain.EventLoggedOut, "")
			if err := tx.Audit.Append(ctx, e); err != nil {
				return err
			}
			evs, err := tx.Audit.Events(ctx, ports.EventFilter{Limit: 1})
			if err != nil {
				return err
			}
			if len(evs) != 1 || evs[0].ID != e.ID {
				return fmt.Errorf("Events after Append = %v, want the event appended", evs)
			}
			return nil
		}},
		{"IssueEmailToken", 4, func(tx ports.Stores) error { // BEGIN+INSERT (cap), DELETE, INSERT (token), INSERT (mail)+INSERT (event)+COMMIT
			ok, err := tx.Outbox.AdmitMail(ctx, domain.MailCapKeyFor(u.Email(), domain.PurposeResetPassword), t0, domain.MailCap{PerHour: 1 << 30})
			if err != nil || !ok {
				return fmt.Errorf("AdmitMail = %t, %v", ok, err)
			}
			if _, err := tx.EmailTokens.DeleteEmailTokens(ctx, u.ID(), domain.PurposeResetPassword); err != nil {
				return err
			}
			value, h, _ := domain.NewEmailTokenValue(rand.Reader, domain.PurposeResetPassword)
			tok := domain.EmailToken{Hash: h, UserID: u.ID(), Purpose: domain.PurposeResetPassword, Email: u.Email(), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			if err := tx.EmailTokens.CreateEmailToken(ctx, tok); err != nil {
				return err
			}
			if err := tx.Outbox.EnqueueMail(ctx, queuedMail(u.Email().String(), "https://app.example/reset?token="+value)); err != nil {
				return err
			}
			return tx.Audit.Append(ctx, event(domain.EventLoggedOut, ""))
		}},
		{"UseEmailToken", 4, func(tx ports.Stores) error { // BEGIN+INSERT (token), DELETE ... RETURNING, UPDATE, INSERT (event)+COMMIT
			_, h, _ := domain.NewEmailTokenValue(rand.Reader, domain.PurposeVerifyEmail)
			tok := domain.EmailToken{Hash: h, UserID: u.ID(), Purpose: domain.PurposeVerifyEmail, Email: u.Email(), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			if err := tx.EmailTokens.CreateEmailToken(ctx, tok); err != nil {
				return err
			}
			if _, err := tx.EmailTokens.UseEmailToken(ctx, h); err != nil {
				return err
			}
			if err := tx.Users.MarkEmailVerified(ctx, u.ID(), t0); err != nil {
				return err
			}
			return tx.Audit.Append(ctx, event(domain.EventLoggedOut, ""))
		}},
		{"EnqueueThenClaim", 3, func(tx ports.Stores) error { // BEGIN+INSERT+UPDATE ... RETURNING, UPDATE, COMMIT
			m := queuedMail(u.Email().String(), "")
			m.NextAttempt = t0.Add(-time.Hour) // due before the mails the cases above queued
			if err := tx.Outbox.EnqueueMail(ctx, m); err != nil {
				return err
			}
			got, err := tx.Outbox.ClaimMail(ctx, t0, t0.Add(time.Minute), 1)
			if err != nil {
				return err
			}
			if len(got) != 1 || got[0].ID != m.ID {
				return fmt.Errorf("ClaimMail after EnqueueMail = %v, want the mail queued", got)
			}
			return tx.Outbox.MailSent(ctx, m.ID, t0)
		}},
		{"Nothing", 0, func(ports.Stores) error { return nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := roundTrips(t, c, func() error { return st.WithinTx(ctx, tc.fn) })
			if got != tc.want {
				t.Errorf("round trips = %d, want %d", got, tc.want)
			}
		})
	}
}

// queuedMail is a password-reset mail to to, due at t0.
func queuedMail(to, link string) domain.QueuedMail {
	return domain.QueuedMail{
		Mail:        domain.Mail{ID: domain.MailID(uuid.Must(uuid.NewV7()).String()), Kind: domain.MailResetPassword, To: to, Link: link, CreatedAt: t0},
		NextAttempt: t0,
	}
}

// A mail queued inside WithinTx goes with the next statement or the
// COMMIT (see EnqueueMail): its failure is the transaction's, named as the
// enqueue's, and nothing of the transaction commits.
func TestDeferredEnqueueFailureRollsBack(t *testing.T) {
	st := openStore(t, pgtest.NewDatabase(t)+"&pool_max_conns=1")
	ctx := t.Context()
	taken := queuedMail("ada@example.com", "")
	if err := st.EnqueueMail(ctx, taken); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		fn   func(tx ports.Stores, u domain.User) error
	}{
		{"WithTheCommit", func(tx ports.Stores, u domain.User) error {
			if err := tx.Users.CreateUser(ctx, u); err != nil {
				return err
			}
			return tx.Outbox.EnqueueMail(ctx, taken) // the primary key refuses it
		}},
		{"WithTheNextStatement", func(tx ports.Stores, u domain.User) error {
			if err := tx.Outbox.EnqueueMail(ctx, taken); err != nil {
				return err
			}
			return tx.Users.CreateUser(ctx, u)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUser(t, "ada@example.com")
			err := st.WithinTx(ctx, func(tx ports.Stores) error { return tc.fn(tx, u) })
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "23505" || pgErr.ConstraintName != "mail_outbox_pkey" ||
				!strings.HasPrefix(err.Error(), "postgres: enqueue mail: ") {
				t.Fatalf("WithinTx = %v, want the enqueue's unique violation on mail_outbox_pkey", err)
			}
			assertNoUser(t, st, u)
			if n, _, err := st.MailQueue(ctx); err != nil || n != 1 {
				t.Fatalf("MailQueue = %d, %v; want the one mail queued before", n, err)
			}
			assertPoolHealthy(t, st)
		})
	}
}

// assertPoolHealthy checks that no connection is left checked out and that
// the store's one connection serves a transaction promptly.
func assertPoolHealthy(t *testing.T, st *postgres.Store) {
	t.Helper()
	if n := st.PoolStats().AcquiredConns; n != 0 {
		t.Fatalf("acquired connections after WithinTx returned = %d, want 0", n)
	}
	short, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	u := newUser(t, fmt.Sprintf("probe-%s@example.com", uuid.NewString()[:8]))
	err := st.WithinTx(short, func(tx ports.Stores) error {
		if err := tx.Users.CreateUser(short, u); err != nil {
			return err
		}
		return tx.Audit.Append(short, domain.AuditEvent{ID: newEventID(), At: t0, Type: domain.EventRegistered, UserID: u.ID()})
	})
	if err != nil {
		t.Fatalf("a transaction after the failed one = %v, want nil", err)
	}
	if _, err := st.UserByID(short, u.ID()); err != nil {
		t.Fatalf("the next transaction's user: %v", err)
	}
	if n := st.PoolStats().AcquiredConns; n != 0 {
		t.Fatalf("acquired connections after the next transaction = %d, want 0", n)
	}
}

func assertNoUser(t *testing.T, st *postgres.Store, u domain.User) {
	t.Helper()
	if _, err := st.UserByID(t.Context(), u.ID()); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("user of a rolled back transaction: %v, want ErrNotFound", err)
	}
}

func assertEventCount(t *testing.T, st *postgres.Store, want int) {
	t.Helper()
	evs, err := st.Events(t.Context(), ports.EventFilter{Limit: 100})
	if err != nil || len(evs) != want {
		t.Fatalf("events = %d, %v; want %d", len(evs), err, want)
	}
}

// A deferred INSERT that fails stops its batch: the COMMIT behind it never
// runs, everything rolls back, and the error is the INSERT's, translated,
// whether the batch was the commit's or a later statement's, and even when
// fn ignores that statement's error.
func TestDeferredAppendFailureRollsBack(t *testing.T) {
	st := openStore(t, pgtest.NewDatabase(t)+"&pool_max_conns=1")
	ctx := t.Context()
	taken := domain.AuditEvent{ID: newEventID(), At: t0, Type: domain.EventRegistered}
	if err := st.Append(ctx, taken); err != nil {
		t.Fatal(err)
	}
	dup := taken // same id: the primary key refuses it
	dup.Type = domain.EventLoggedOut

	assertAppendError := func(t *testing.T, err error) {
		t.Helper()
		var pgErr *pgconn.PgError
		if !errors.As(err, &pgErr) || pgErr.Code != "23505" || pgErr.ConstraintName != "auth_events_pkey" {
			t.Fatalf("WithinTx = %v, want the INSERT's unique violation on auth_events_pkey", err)
		}
		if !strings.HasPrefix(err.Error(), "postgres: append event: ") {
			t.Fatalf("WithinTx = %q, want it named as the append's (translated)", err)
		}
		if errors.Is(err, domain.ErrUnavailable) || errors.Is(err, domain.ErrNotFound) || errors.Is(err, domain.ErrEmailTaken) {
			t.Fatalf("WithinTx = %v, a domain answer it is not", err)
		}
	}

	for _, tc := range []struct {
		name string
		fn   func(tx ports.Stores, u domain.User) error
	}{
		{"WithTheCommit", func(tx ports.Stores, u domain.User) error {
			if err := tx.Users.CreateUser(ctx, u); err != nil {
				return err
			}
			return tx.Audit.Append(ctx, dup)
		}},
		{"OnlyAppends", func(tx ports.Stores, u domain.User) error {
			if err := tx.Audit.Append(ctx, domain.AuditEvent{ID: newEventID(), At: t0, Type: domain.EventRegistered}); err != nil {
				return err
			}
			return tx.Audit.Append(ctx, dup)
		}},
		{"WithTheNextStatement", func(tx ports.Stores, u domain.User) error {
			if err := tx.Audit.Append(ctx, dup); err != nil {
				return err
			}
			return tx.Users.CreateUser(ctx, u)
		}},
		{"IgnoredByFn", func(tx ports.Stores, u domain.User) error {
			if err := tx.Audit.Append(ctx, dup); err != nil {
				return err
			}
			_ = tx.Users.CreateUser(ctx, u) // fails: the INSERT ahead of it did
			if err := tx.Audit.Append(ctx, domain.AuditEvent{ID: newEventID(), At: t0, Type: domain.EventRegistered}); err == nil {
				return errors.New("Append after the transaction failed = nil, want its error")
			}
			return nil
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUser(t, "ada@example.com")
			before, err := st.Events(ctx, ports.EventFilter{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			err = st.WithinTx(ctx, func(tx ports.Stores) error { return tc.fn(tx, u) })
			assertAppendError(t, err)
			assertNoUser(t, st, u)
			assertEventCount(t, st, len(before))
			assertPoolHealthy(t, st)
		})
	}
}

// A context cancelled while the first batch (BEGIN and a locking read)
// waits on a lock: WithinTx returns, the connection is not pooled dirty,
// and the next transaction runs on a pool of one.
func TestTxCancelledMidBatchLeavesThePoolHealthy(t *testing.T) {
	url := pgtest.NewDatabase(t)
	st, admin := openStore(t, url+"&pool_max_conns=1"), rawConn(t, url)
	u := newUser(t, "ada@example.com")
	if err := st.CreateUser(t.Context(), u); err != nil {
		t.Fatal(err)
	}
	s := newSession(u, t0)
	tok, _ := domain.NewRefreshToken(rand.Reader, t0, time.Hour)
	if err := st.CreateSession(t.Context(), s, tok.Record(s.ID())); err != nil {
		t.Fatal(err)
	}
	lock, err := admin.Begin(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = lock.Rollback(context.WithoutCancel(t.Context())) }()
	if _, err := lock.Exec(t.Context(), `SELECT 1 FROM sessions WHERE id = $1 FOR UPDATE`, string(s.ID())); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	other := newUser(t, "grace@example.com")
	done := make(chan error, 1)
	go func() {
		done <- st.WithinTx(ctx, func(tx ports.Stores) error {
			if err := tx.Audit.Append(ctx, domain.AuditEvent{ID: newEventID(), At: t0, Type: domain.EventRegistered}); err != nil {
				return err
			}
			if _, _, _, err := tx.Sessions.RefreshToken(ctx, tok.Hash()); err != nil {
				return err
			}
			return tx.Users.CreateUser(ctx, other)
		})
	}()
	waitForLockWait(t, rawConn(t, url))
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("WithinTx cancelled mid-batch = %v, want context.Canceled", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("WithinTx did not return after its context was cancelled")
	}
	if n := st.PoolStats().AcquiredConns; n != 0 {
		t.Fatalf("acquired connections after a cancelled transaction = %d, want 0", n)
	}
	if err := lock.Rollback(t.Context()); err != nil {
		t.Fatal(err)
	}
	assertPoolHealthy(t, st)
	assertNoUser(t, st, other)
	assertEventCount(t, st, 1) // the probe's own, not the cancelled one's
}

// A context cancelled between statements: the rollback still runs (on a
// context of its own) and the connection goes back clean.
func TestTxCancelledBetweenStatementsLeavesThePoolHealthy(t *testing.T) {
	st := openStore(t, pgtest.NewDatabase(t)+"&pool_max_conns=1")
	u := newUser(t, "ada@example.com")
	ctx, cancel := context.WithCancel(t.Context())
	err := st.WithinTx(ctx, func(tx ports.Stores) error {
		if err := tx.Users.CreateUser(ctx, u); err != nil {
			return err
		}
		cancel()
		if err := tx.Audit.Append(ctx, domain.AuditEvent{ID: newEventID(), At: t0, Type: domain.EventRegistered}); err != nil {
			return err
		}
		_, err := tx.Users.UserByID(ctx, u.ID()) // carries the INSERT; the context is over
		return err
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("WithinTx = %v, want context.Canceled", err)
	}
	assertNoUser(t, st, u)
	assertEventCount(t, st, 0)
	assertPoolHealthy(t, st)
}

// A panic in fn rolls back what was sent and drops what was deferred; the
// panic reaches the caller and the connection goes back to the pool.
func TestTxPanicRollsBack(t *testing.T) {
	st := openStore(t, pgtest.NewDatabase(t)+"&pool_max_conns=1")
	ctx := t.Context()
	for _, tc := range []struct {
		name string
		fn   func(tx ports.Stores, u domain.User)
	}{
		{"AfterAStatement", func(tx ports.Stores, u domain.User) {
			if err := tx.Users.CreateUser(ctx, u); err != nil {
				t.Errorf("CreateUser: %v", err)
			}
			_ = tx.Audit.Append(ctx, domain.AuditEvent{ID: newEventID(), At: t0, Type: domain.EventRegistered, UserID: u.ID()})
			panic("boom")
		}},
		{"BeforeAnyStatement", func(tx ports.Stores, u domain.User) {
			_ = tx.Audit.Append(ctx, domain.AuditEvent{ID: newEventID(), At: t0, Type: domain.EventRegistered, UserID: u.ID()})
			panic("boom")
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUser(t, "ada@example.com")
			before, err := st.Events(ctx, ports.EventFilter{Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			var recovered any
			func() {
				defer func() { recovered = recover() }()
				_ = st.WithinTx(ctx, func(tx ports.Stores) error { tc.fn(tx, u); return nil })
			}()
			if recovered != "boom" {
				t.Fatalf("recovered %v, want fn's panic", recovered)
			}
			assertNoUser(t, st, u)
			assertEventCount(t, st, len(before))
			if n := st.PoolStats().AcquiredConns; n != 0 {
				t.Fatalf("acquired connections after a panic = %d, want 0", n)
			}
			assertPoolHealthy(t, st)
		})
	}
}

// The Stores of a transaction are unusable once WithinTx has returned:
// their connection is back in the pool, maybe serving someone else.
func TestTxStoresAfterWithinTxFail(t *testing.T) {
	st := openStore(t, pgtest.NewDatabase(t)+"&pool_max_conns=1")
	ctx := t.Context()
	var leaked ports.Stores
	if err := st.WithinTx(ctx, func(tx ports.Stores) error {
		leaked = tx
		_, err := tx.Users.UserByID(ctx, domain.UserID(uuid.NewString()))
		if errors.Is(err, domain.ErrNotFound) {
			return nil
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	u := newUser(t, "ada@example.com")
	if err := leaked.Users.CreateUser(ctx, u); err == nil {
		t.Fatal("CreateUser through a finished transaction's Stores = nil, want an error")
	}
	if err := leaked.Audit.Append(ctx, domain.AuditEvent{ID: newEventID(), At: t0, Type: domain.EventRegistered}); err == nil {
		t.Fatal("Append through a finished transaction's Stores = nil, want an error")
	}
	assertNoUser(t, st, u)
	assertPoolHealthy(t, st)
}
