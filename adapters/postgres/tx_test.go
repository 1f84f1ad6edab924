package postgres_test

import (
	"context"
	"crypto/rand"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authd/authd/adapters/postgres"
	"github.com/authd/authd/adapters/postgres/pgtest"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// The contract suite (adapters/repotest) checks outcomes; the tests here
// check the locking that makes them hold under concurrency in Postgres, by
// pinning one transaction half-way and watching the other wait for it.

var t0 = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// waitForLockWait returns once some backend of the database waits for a
// lock: the second transaction has reached the row the first one holds.
func waitForLockWait(t *testing.T, admin *pgx.Conn) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var n int
		err := admin.QueryRow(t.Context(), `SELECT count(*) FROM pg_stat_activity
		                                    WHERE datname = current_database() AND wait_event_type = 'Lock'`).Scan(&n)
		if err != nil {
			t.Fatalf("pg_stat_activity: %v", err)
		}
		if n > 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("no transaction is waiting for a lock")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// userWithPassword stores a user with password hash.
func userWithPassword(t *testing.T, st *postgres.Store, email, hash string) domain.User {
	t.Helper()
	u := newUser(t, email)
	if err := st.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	if err := st.SetPassword(t.Context(), u.ID(), hash, t0); err != nil {
		t.Fatalf("SetPassword: %v", err)
	}
	return u
}

// login opens s under HoldPassword(hash), the way a password login does,
// pausing between the two until release is closed (held is closed once
// the hold is taken).
func login(ctx context.Context, st *postgres.Store, s domain.Session, hash string, held, release chan struct{}) error {
	tok, err := domain.NewRefreshToken(rand.Reader, t0, time.Hour)
	if err != nil {
		return err
	}
	return st.WithinTx(ctx, func(tx ports.Stores) error {
		if err := tx.Passwords.HoldPassword(ctx, s.UserID(), hash); err != nil {
			return err
		}
		if held != nil {
			close(held)
			<-release
		}
		return tx.Sessions.CreateSession(ctx, s, tok.Record(s.ID()))
	})
}

// changePassword swaps the hash and revokes every session, the way a
// password change does, pausing after the swap until release is closed.
func changePassword(ctx context.Context, st *postgres.Store, user domain.UserID, oldHash, newHash string, swapped, release chan struct{}) (int, error) {
	var n int
	err := st.WithinTx(ctx, func(tx ports.Stores) error {
		if err := tx.Passwords.SwapPasswordHash(ctx, user, oldHash, newHash, t0); err != nil {
			return err
		}
		if swapped != nil {
			close(swapped)
			<-release
		}
		var err error
		n, err = tx.Sessions.RevokeSessions(ctx, user, "", t0)
		return err
	})
	return n, err
}

// A login that holds the password first commits its session before the
// password change's revocation reads the sessions: the change waits for
// it, then revokes it.
func TestLoginHoldingThePasswordIsRevokedByTheChange(t *testing.T) {
	url := pgtest.NewDatabase(t)
	st, admin := openStore(t, url), rawConn(t, url)
	ctx := t.Context()
	u := userWithPassword(t, st, "ada@example.com", "h1")
	s := newSession(u, t0)

	held, release := make(chan struct{}), make(chan struct{})
	loginErr := make(chan error, 1)
	go func() { loginErr <- login(ctx, st, s, "h1", held, release) }()
	<-held

	type result struct {
		n   int
		err error
	}
	changed := make(chan result, 1)
	go func() {
		n, err := changePassword(ctx, st, u.ID(), "h1", "h2", nil, nil)
		changed <- result{n, err}
	}()
	waitForLockWait(t, admin) // the swap waits for the login's FOR SHARE
	close(release)

	if err := <-loginErr; err != nil {
		t.Fatalf("login holding the password = %v, want nil", err)
	}
	if r := <-changed; r.err != nil || r.n != 1 {
		t.Fatalf("password change = %d revoked, %v; want the login's session revoked", r.n, r.err)
	}
	got, _, err := st.SessionByID(ctx, s.ID())
	if err != nil || got.Active() {
		t.Fatalf("login's session after the change: active %t, %v; want revoked", got.Active(), err)
	}
}

// A login that reaches the password after a change swapped it waits for
// the change to commit, then finds the new hash and fails: no session.
func TestLoginAfterTheSwapFails(t *testing.T) {
	url := pgtest.NewDatabase(t)
	st, admin := openStore(t, url), rawConn(t, url)
	ctx := t.Context()
	u := userWithPassword(t, st, "ada@example.com", "h1")
	s := newSession(u, t0)

	swapped, release := make(chan struct{}), make(chan struct{})
	changed := make(chan error, 1)
	go func() {
		_, err := changePassword(ctx, st, u.ID(), "h1", "h2", swapped, release)
		changed <- err
	}()
	<-swapped

	loginErr := make(chan error, 1)
	go func() { loginErr <- login(ctx, st, s, "h1", nil, nil) }()
	waitForLockWait(t, admin) // HoldPassword waits for the swap's row lock
	close(release)

	if err := <-changed; err != nil {
		t.Fatalf("password change = %v", err)
	}
	if err := <-loginErr; !errors.Is(err, domain.ErrPasswordChanged) {
		t.Fatalf("login verified under the old hash = %v, want ErrPasswordChanged", err)
	}
	if _, _, err := st.SessionByID(ctx, s.ID()); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("session of the failed login: %v, want ErrNotFound (never stored)", err)
	}
}

// Two refreshes presenting one token: the second's RefreshToken waits for
// the first's rotation to commit and then reads the token spent, which the
// domain calls reuse. Exactly one successor is stored.
func TestConcurrentRotationsOfOneToken(t *testing.T) {
	url := pgtest.NewDatabase(t)
	st, admin := openStore(t, url), rawConn(t, url)
	ctx := t.Context()
	u := newUser(t, "ada@example.com")
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	s := newSession(u, t0)
	first, err := domain.NewRefreshToken(rand.Reader, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.CreateSession(ctx, s, first.Record(s.ID())); err != nil {
		t.Fatal(err)
	}
	p := domain.SessionPolicy{IdleTimeout: time.Hour, MaxAge: 24 * time.Hour}
	now := t0.Add(time.Minute)
	nexts := [2]domain.RefreshToken{}
	for i := range nexts {
		if nexts[i], err = domain.NewRefreshToken(rand.Reader, now, time.Hour); err != nil {
			t.Fatal(err)
		}
	}

	read, release := make(chan struct{}), make(chan struct{})
	verdicts := [2]domain.RotationVerdict{}
	errs := make(chan error, 2)
	refresh := func(i int, read, release chan struct{}) {
		errs <- st.WithinTx(ctx, func(tx ports.Stores) error {
			rec, sess, _, err := tx.Sessions.RefreshToken(ctx, first.Hash())
			if err != nil {
				return err
			}
			if read != nil {
				close(read)
				<-release
			}
			verdicts[i] = p.DecideRotation(rec, sess, now)
			if verdicts[i] != domain.RotationAllowed {
				return nil
			}
			r, _ := p.Rotate(rec, sess, nexts[i], now, domain.ClientInfo{})
			return tx.Sessions.Rotate(ctx, r)
		})
	}
	go refresh(0, read, release)
	<-read
	go refresh(1, nil, nil)
	waitForLockWait(t, admin) // the second read waits for the first's lock
	close(release)
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("refresh: %v", err)
		}
	}
	if verdicts != [2]domain.RotationVerdict{domain.RotationAllowed, domain.RotationReuse} {
		t.Fatalf("verdicts = %v, want allowed then reuse", verdicts)
	}
	if _, _, _, err := st.RefreshToken(ctx, nexts[0].Hash()); err != nil {
		t.Fatalf("the winner's successor: %v", err)
	}
	if _, _, _, err := st.RefreshToken(ctx, nexts[1].Hash()); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("the loser's successor: %v, want ErrNotFound", err)
	}
}

// Rotate is a guard as well as a write: spending a spent token is an
// error and stores nothing, not the successor and not the use.
func TestRotateOfASpentTokenWritesNothing(t *testing.T) {
	st := openStore(t, pgtest.NewDatabase(t))
	ctx := t.Context()
	u := newUser(t, "ada@example.com")
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	s := newSession(u, t0)
	first, _ := domain.NewRefreshToken(rand.Reader, t0, time.Hour)
	if err := st.CreateSession(ctx, s, first.Record(s.ID())); err != nil {
		t.Fatal(err)
	}
	p := domain.SessionPolicy{}
	rec, sess, _, err := st.RefreshToken(ctx, first.Hash())
	if err != nil {
		t.Fatal(err)
	}
	n1, _ := domain.NewRefreshToken(rand.Reader, t0, time.Hour)
	r1, _ := p.Rotate(rec, sess, n1, t0.Add(time.Minute), domain.ClientInfo{IP: "192.0.2.1"})
	if err := st.Rotate(ctx, r1); err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	n2, _ := domain.NewRefreshToken(rand.Reader, t0, time.Hour)
	r2, _ := p.Rotate(rec, sess, n2, t0.Add(2*time.Minute), domain.ClientInfo{IP: "192.0.2.2"})
	if err := st.Rotate(ctx, r2); err == nil {
		t.Fatal("Rotate of a spent token = nil, want an error")
	}
	if _, _, _, err := st.RefreshToken(ctx, n2.Hash()); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("successor of the refused rotation: %v, want ErrNotFound", err)
	}
	spent, got, _, err := st.RefreshToken(ctx, first.Hash())
	if err != nil || !spent.SpentAt.Equal(r1.At) || !got.LastUsedAt().Equal(r1.At) || got.IP() != "192.0.2.1" {
		t.Fatalf("after the refused rotation: spent %s, last use %s, ip %s, %v; want the first rotation's", spent.SpentAt, got.LastUsedAt(), got.IP(), err)
	}
	if m := got.Methods(); len(m) != 1 || m[0] != domain.MethodPassword {
		t.Fatalf("session methods = %v, want [pwd]", m)
	}

	// A rotation naming another session than its token's is refused (and,
	// in a transaction, rolled back).
	other := newSession(u, t0)
	if err := st.CreateSession(ctx, other, n2.Record(other.ID())); err != nil {
		t.Fatal(err)
	}
	rec1, sess1, _, err := st.RefreshToken(ctx, n1.Hash())
	if err != nil {
		t.Fatal(err)
	}
	n3, _ := domain.NewRefreshToken(rand.Reader, t0, time.Hour)
	r3, _ := p.Rotate(rec1, sess1, n3, t0.Add(3*time.Minute), domain.ClientInfo{})
	r3.Session, r3.Next.SessionID = other.ID(), other.ID()
	err = st.WithinTx(ctx, func(tx ports.Stores) error { return tx.Sessions.Rotate(ctx, r3) })
	if err == nil {
		t.Fatal("Rotate naming another session than the token's = nil, want an error")
	}
	if rec, _, _, err := st.RefreshToken(ctx, n1.Hash()); err != nil || !rec.SpentAt.IsZero() {
		t.Fatalf("token of the refused rotation: spent at %s, %v; want unspent (rolled back)", rec.SpentAt, err)
	}
}

// Inside a transaction everything, the audit event included, commits or
// rolls back together.
func TestWithinTxRollsBackEverything(t *testing.T) {
	st := openStore(t, pgtest.NewDatabase(t))
	ctx := t.Context()
	u := newUser(t, "ada@example.com")
	boom := errors.New("boom")
	err := st.WithinTx(ctx, func(tx ports.Stores) error {
		if err := tx.Users.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.Passwords.SetPassword(ctx, u.ID(), "h", t0); err != nil {
			return err
		}
		if err := tx.Audit.Append(ctx, domain.AuditEvent{ID: newEventID(), At: t0, Type: domain.EventRegistered, UserID: u.ID()}); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("WithinTx = %v, want fn's error as is", err)
	}
	if _, err := st.UserByID(ctx, u.ID()); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("user of a rolled back transaction: %v, want ErrNotFound", err)
	}
	if _, err := st.PasswordHash(ctx, u.ID()); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("password of a rolled back transaction: %v, want ErrNotFound", err)
	}
	if evs, err := st.Events(ctx, ports.EventFilter{Limit: 10}); err != nil || len(evs) != 0 {
		t.Fatalf("events after a rolled back transaction = %d, %v; want none", len(evs), err)
	}

	err = st.WithinTx(ctx, func(tx ports.Stores) error {
		if err := tx.Users.CreateUser(ctx, u); err != nil {
			return err
		}
		return tx.Audit.Append(ctx, domain.AuditEvent{ID: newEventID(), At: t0, Type: domain.EventRegistered, UserID: u.ID()})
	})
	if err != nil {
		t.Fatalf("WithinTx: %v", err)
	}
	if evs, err := st.Events(ctx, ports.EventFilter{Limit: 10}); err != nil || len(evs) != 1 || evs[0].UserID != u.ID() {
		t.Fatalf("events after a committed transaction = %v, %v; want the one", evs, err)
	}
}

// A transaction whose context is cancelled half-way still rolls back, so
// its connection goes back to the pool usable (a pool of one shows it).
func TestWithinTxCancelledGivesTheConnectionBack(t *testing.T) {
	st := openStore(t, pgtest.NewDatabase(t)+"&pool_max_conns=1")
	u := newUser(t, "ada@example.com")
	ctx, cancel := context.WithCancel(t.Context())
	err := st.WithinTx(ctx, func(tx ports.Stores) error {
		if err := tx.Users.CreateUser(ctx, u); err != nil {
			return err
		}
		cancel()
		return ctx.Err()
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("WithinTx = %v, want context.Canceled", err)
	}
	short, stop := context.WithTimeout(t.Context(), 5*time.Second)
	defer stop()
	if _, err := st.UserByID(short, u.ID()); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("UserByID after a cancelled transaction = %v, want ErrNotFound (rolled back, connection reusable)", err)
	}
}

// Credential errors the database reports: the foreign key for a user that
// does not exist, and the compare-and-swap's two refusals.
func TestPasswordErrors(t *testing.T) {
	st := openStore(t, pgtest.NewDatabase(t))
	ctx := t.Context()
	ghost := newUser(t, "ghost@example.com")
	if err := st.SetPassword(ctx, ghost.ID(), "h", t0); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("SetPassword of an unknown user = %v, want ErrNotFound", err)
	}
	if err := st.SwapPasswordHash(ctx, ghost.ID(), "h", "h2", t0); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("SwapPasswordHash of an unknown user = %v, want ErrNotFound", err)
	}
	u := userWithPassword(t, st, "ada@example.com", "h1")
	if err := st.SwapPasswordHash(ctx, u.ID(), "stale", "h2", t0); !errors.Is(err, domain.ErrPasswordChanged) {
		t.Fatalf("SwapPasswordHash over a stale hash = %v, want ErrPasswordChanged", err)
	}
	if err := st.HoldPassword(ctx, u.ID(), "stale"); !errors.Is(err, domain.ErrPasswordChanged) {
		t.Fatalf("HoldPassword of a stale hash = %v, want ErrPasswordChanged", err)
	}
	if err := st.SwapPasswordHash(ctx, u.ID(), "h1", "h2", t0.Add(time.Hour)); err != nil {
		t.Fatalf("SwapPasswordHash: %v", err)
	}
	if h, err := st.PasswordHash(ctx, u.ID()); err != nil || h != "h2" {
		t.Fatalf("PasswordHash = %q, %v; want h2", h, err)
	}
	if err := st.SetPassword(ctx, u.ID(), "h3", t0.Add(2*time.Hour)); err != nil {
		t.Fatalf("SetPassword over an existing password: %v", err)
	}
	if h, err := st.PasswordHash(ctx, u.ID()); err != nil || h != "h3" {
		t.Fatalf("PasswordHash = %q, %v; want h3", h, err)
	}
}

// Outside a transaction RefreshToken is a plain read: it neither waits for
// a rotation in flight nor writes a lock (a locking read would cost a WAL
// flush and protect nothing once its statement ends).
func TestRefreshTokenOutsideATxTakesNoLock(t *testing.T) {
	url := pgtest.NewDatabase(t)
	st := openStore(t, url)
	ctx := t.Context()
	u := newUser(t, "ada@example.com")
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	s := newSession(u, t0)
	tok, _ := domain.NewRefreshToken(rand.Reader, t0, time.Hour)
	if err := st.CreateSession(ctx, s, tok.Record(s.ID())); err != nil {
		t.Fatal(err)
	}

	read, release := make(chan struct{}), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- st.WithinTx(ctx, func(tx ports.Stores) error {
			if _, _, _, err := tx.Sessions.RefreshToken(ctx, tok.Hash()); err != nil {
				return err
			}
			close(read)
			<-release
			return nil
		})
	}()
	<-read
	short, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, got, _, err := st.RefreshToken(short, tok.Hash())
	close(release)
	if err != nil || got.ID() != s.ID() {
		t.Fatalf("RefreshToken outside a transaction, the token locked by one = %v, %v; want the session at once", got.ID(), err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}

	var xmax string
	if err := rawConn(t, url).QueryRow(ctx, `SELECT xmax::text FROM sessions WHERE id = $1`, string(s.ID())).Scan(&xmax); err != nil {
		t.Fatal(err)
	}
	before := xmax
	if _, _, _, err := st.RefreshToken(ctx, tok.Hash()); err != nil {
		t.Fatal(err)
	}
	if err := rawConn(t, url).QueryRow(ctx, `SELECT xmax::text FROM sessions WHERE id = $1`, string(s.ID())).Scan(&xmax); err != nil || xmax != before {
		t.Fatalf("session xmax after a read outside a transaction = %s (was %s), %v: the read locked the row", xmax, before, err)
	}
}
