package repotest

import (
	"errors"
	"testing"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// ports.Transactor: what fn does through the Stores it is given commits
// together when fn returns nil, and none of it when fn returns an error.
var txCases = []contractCase{
	{"Tx/FailedCreatesNothing", testTxFailedCreatesNothing},
	{"Tx/FailedUndoesChangesToExistingRows", testTxFailedUndoes},
	{"Tx/FailingStepUndoesTheStepsBefore", testTxFailingStep},
	{"Tx/CommittedKeepsEverythingAndReadsItsOwnWrites", testTxCommitted},
}

var errAbort = errors.New("repotest: the transaction's fn gave up")

func testTxFailedCreatesNothing(t *testing.T, st Store) {
	ctx := t.Context()

	// A registration that gives up: neither the user nor its password.
	u := newUser(t, "ada@example.com")
	err := st.WithinTx(ctx, func(tx ports.Stores) error {
		if err := tx.Users.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := tx.Passwords.SetPassword(ctx, u.ID(), hash, t0); err != nil {
			return err
		}
		return errAbort
	})
	mustIs(t, err, errAbort)
	_, err = st.UserByID(ctx, u.ID())
	mustIs(t, err, domain.ErrNotFound)
	_, err = st.UserByEmail(ctx, u.Email())
	mustIs(t, err, domain.ErrNotFound)
	_, err = st.PasswordHash(ctx, u.ID())
	mustIs(t, err, domain.ErrNotFound)
	assertUsers(t, listUsers(t, st, ports.UserFilter{Limit: 10}), nil)
	// The email is free, and so is the id.
	mustNil(t, register(ctx, st, u, newHash))
	assertHash(t, st, u, newHash)

	// A login that gives up: no session, no refresh token.
	sess := newSession(u, t0, firefox)
	tok := newToken(t, t0)
	err = st.WithinTx(ctx, func(tx ports.Stores) error {
		if err := tx.Sessions.CreateSession(ctx, sess, tok.Record(sess.ID())); err != nil {
			return err
		}
		return errAbort
	})
	mustIs(t, err, errAbort)
	_, _, err = st.SessionByID(ctx, sess.ID())
	mustIs(t, err, domain.ErrNotFound)
	_, _, _, err = st.RefreshToken(ctx, tok.Hash())
	mustIs(t, err, domain.ErrNotFound)
	listed, err := st.SessionsOfUser(ctx, u.ID(), t0, noPolicy, 10)
	mustNil(t, err)
	assertSessions(t, listed, nil)
	mustNil(t, st.CreateSession(ctx, sess, tok.Record(sess.ID())))
	assertStored(t, st, sess)

	// An event that gives up is not in the log.
	e := domain.AuditEvent{ID: newEventID(), At: t0, Type: domain.EventLoginSucceeded, UserID: u.ID(), SessionID: sess.ID()}
	err = st.WithinTx(ctx, func(tx ports.Stores) error {
		if err := tx.Audit.Append(ctx, e); err != nil {
			return err
		}
		return errAbort
	})
	mustIs(t, err, errAbort)
	events, err := st.Events(ctx, ports.EventFilter{Limit: 10})
	mustNil(t, err)
	assertEvents(t, events, nil)
	mustNil(t, st.Append(ctx, e))
	events, err = st.Events(ctx, ports.EventFilter{Limit: 10})
	mustNil(t, err)
	assertEvents(t, events, []domain.AuditEvent{e})
}

// Every kind of change to rows that were there before is taken back.
func testTxFailedUndoes(t *testing.T, st Store) {
	ctx := t.Context()
	u, a, aTok := startSession(t, st)
	b, _ := startSessionOf(t, st, u)
	other := createUser(t, st, "grace@example.com")
	before := domain.AuditEvent{ID: newEventID(), At: t0, Type: domain.EventRegistered, UserID: u.ID()}
	mustNil(t, st.Append(ctx, before))

	t1 := t0.Add(time.Minute)
	next := newToken(t, t1)
	var revoked int
	err := st.WithinTx(ctx, func(tx ports.Stores) error {
		revoked = 0
		if err := tx.Passwords.SwapPasswordHash(ctx, u.ID(), hash, newHash, t1); err != nil {
			return err
		}
		if err := tx.Passwords.SetPassword(ctx, other.ID(), rehashed, t1); err != nil {
			return err
		}
		if err := tx.Users.SetRole(ctx, u.ID(), domain.RoleAdmin, t1); err != nil {
			return err
		}
		rec, sess, _, err := tx.Sessions.RefreshToken(ctx, aTok.Hash())
		if err != nil {
			return err
		}
		rotation, _ := noPolicy.Rotate(rec, sess, next, t1, curl)
		if err := tx.Sessions.Rotate(ctx, rotation); err != nil {
			return err
		}
		if err := tx.Sessions.RevokeSession(ctx, b.ID(), t1); err != nil {
			return err
		}
		if revoked, err = tx.Sessions.RevokeSessions(ctx, u.ID(), "", t1); err != nil {
			return err
		}
		if err := tx.Audit.Append(ctx, domain.AuditEvent{ID: newEventID(), At: t1, Type: domain.EventPasswordChanged, UserID: u.ID()}); err != nil {
			return err
		}
		return errAbort
	})
	mustIs(t, err, errAbort)
	if revoked != 1 {
		t.Fatalf("inside the transaction RevokeSessions counted %d, want 1 (b was revoked just before)", revoked)
	}

	assertHash(t, st, u, hash)
	assertHash(t, st, other, hash)
	got, err := st.UserByID(ctx, u.ID())
	mustNil(t, err)
	assertUser(t, got, u)
	assertStored(t, st, a)
	assertStored(t, st, b)
	rec, _, _, err := st.RefreshToken(ctx, aTok.Hash())
	mustNil(t, err)
	assertRecord(t, rec, domain.RefreshTokenRecord{Hash: aTok.Hash(), SessionID: a.ID(), ExpiresAt: aTok.ExpiresAt()})
	_, _, _, err = st.RefreshToken(ctx, next.Hash())
	mustIs(t, err, domain.ErrNotFound)
	events, err := st.Events(ctx, ports.EventFilter{Limit: 10})
	mustNil(t, err)
	assertEvents(t, events, []domain.AuditEvent{before})

	// The token the rollback kept live still rotates, once.
	_, err = refresh(t, st, aTok.Plaintext(), t1, noPolicy, curl)
	mustNil(t, err)
}

// A step that fails (a store's own refusal) fails the transaction, as
// itself, and the steps before it are undone.
func testTxFailingStep(t *testing.T, st Store) {
	ctx := t.Context()
	taken := createUser(t, st, "ada@example.com")
	first := newUser(t, "grace@example.com")
	second := newUser(t, "ADA@example.com")
	err := st.WithinTx(ctx, func(tx ports.Stores) error {
		if err := tx.Users.CreateUser(ctx, first); err != nil {
			return err
		}
		if err := tx.Passwords.SetPassword(ctx, first.ID(), hash, t0); err != nil {
			return err
		}
		return tx.Users.CreateUser(ctx, second)
	})
	mustIs(t, err, domain.ErrEmailTaken)
	_, err = st.UserByID(ctx, first.ID())
	mustIs(t, err, domain.ErrNotFound)
	_, err = st.PasswordHash(ctx, first.ID())
	mustIs(t, err, domain.ErrNotFound)
	assertUsers(t, listUsers(t, st, ports.UserFilter{Limit: 10}), []domain.User{taken})

	// A login under a stale hash: the error is the store's, unchanged.
	sess := newSession(taken, t0, firefox)
	tok := newToken(t, t0)
	err = st.WithinTx(ctx, func(tx ports.Stores) error {
		if err := tx.Audit.Append(ctx, domain.AuditEvent{ID: newEventID(), At: t0, Type: domain.EventLoginSucceeded, UserID: taken.ID()}); err != nil {
			return err
		}
		if err := tx.Passwords.HoldPassword(ctx, taken.ID(), newHash); err != nil {
			return err
		}
		return tx.Sessions.CreateSession(ctx, sess, tok.Record(sess.ID()))
	})
	mustIs(t, err, domain.ErrPasswordChanged)
	_, _, err = st.SessionByID(ctx, sess.ID())
	mustIs(t, err, domain.ErrNotFound)
	events, err := st.Events(ctx, ports.EventFilter{Limit: 10})
	mustNil(t, err)
	assertEvents(t, events, nil)
}

func testTxCommitted(t *testing.T, st Store) {
	ctx := t.Context()
	u := newUser(t, "ada@example.com")
	sess := newSession(u, t0, firefox)
	tok := newToken(t, t0)
	e := domain.AuditEvent{ID: newEventID(), At: t0, Type: domain.EventRegistered, UserID: u.ID()}
	// What the transaction reads of its own writes, checked once it is over.
	var (
		readUser   domain.User
		readHash   string
		readSess   domain.Session
		readOwner  domain.User
		readEvents []domain.AuditEvent
	)
	mustNil(t, st.WithinTx(ctx, func(tx ports.Stores) error {
		if err := tx.Users.CreateUser(ctx, u); err != nil {
			return err
		}
		var err error
		if readUser, err = tx.Users.UserByEmail(ctx, u.Email()); err != nil {
			return err
		}
		if err := tx.Passwords.SetPassword(ctx, u.ID(), hash, t0); err != nil {
			return err
		}
		if readHash, err = tx.Passwords.PasswordHash(ctx, u.ID()); err != nil {
			return err
		}
		if err := tx.Sessions.CreateSession(ctx, sess, tok.Record(sess.ID())); err != nil {
			return err
		}
		if _, readSess, readOwner, err = tx.Sessions.RefreshToken(ctx, tok.Hash()); err != nil {
			return err
		}
		if err := tx.Audit.Append(ctx, e); err != nil {
			return err
		}
		readEvents, err = tx.Audit.Events(ctx, ports.EventFilter{Limit: 10})
		return err
	}))
	assertUser(t, readUser, u)
	if readHash != hash {
		t.Fatalf("inside the transaction the hash read %q, want %q", readHash, hash)
	}
	assertSessionFull(t, readSess, sess)
	assertUser(t, readOwner, u)
	assertEvents(t, readEvents, []domain.AuditEvent{e})

	got, err := st.UserByEmail(ctx, u.Email())
	mustNil(t, err)
	assertUser(t, got, u)
	assertHash(t, st, u, hash)
	assertStored(t, st, sess)
	rec, _, _, err := st.RefreshToken(ctx, tok.Hash())
	mustNil(t, err)
	assertRecord(t, rec, domain.RefreshTokenRecord{Hash: tok.Hash(), SessionID: sess.ID(), ExpiresAt: tok.ExpiresAt()})
	events, err := st.Events(ctx, ports.EventFilter{Limit: 10})
	mustNil(t, err)
	assertEvents(t, events, []domain.AuditEvent{e})
}
