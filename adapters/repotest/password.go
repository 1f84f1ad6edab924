package repotest

import (
	"errors"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/domain"
)

// The hashes of the password cases: a user starts with hash, a password
// change or a rehash writes one of these.
const (
	newHash   = "$argon2id$v=19$m=19456,t=2,p=1$bmV3c2FsdG5ld3NhbHQ$bmV3cGFzc3dvcmRuZXdwYXNzd29yZG5ld3Bhc3M"
	rehashed2 = "$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"
	// rounds repeats the races, so an interleaving that breaks them has
	// many chances to show.
	rounds = 20
)

// runPassword runs the contract of the compare-and-swaps on the password
// hash: the rehash, the password change, and a session created under the
// hash a login verified.
func runPassword(t *testing.T, newStore func(t *testing.T) Store) {
	t.Helper()
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, st Store)
	}{
		{"Users/UpdatePasswordHashStaleOldHashChangesNothing", testUpdatePasswordHashStale},
		{"Sessions/CreateWithVerifiedHash", testCreateSessionVerifiedHash},
		{"Sessions/CreateWithStaleVerifiedHashCreatesNothing", testCreateSessionStaleHash},
		{"Password/ChangeSwapsAndRevokesTheOthers", testChangePassword},
		{"Password/ChangeWithoutAKeptSessionRevokesAll", testChangePasswordKeepsNone},
		{"Password/ChangeWithStaleOldHashChangesNothing", testChangePasswordStale},
		{"Password/ChangeUnknownUserIsNotFound", testChangePasswordUnknownUser},
		{"Password/LoginsRacingAChangeKeepNoSession", testLoginsRacingChange},
		{"Password/RehashRacingAChangeNeverReverts", testRehashRacingChange},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tc.run(t, newStore(t))
		})
	}
}

func testUpdatePasswordHashStale(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	mustNil(t, st.UpdatePasswordHash(ctx, u.ID(), hash, newHash))

	// A rehash that verified the old hash comes too late: it must not write
	// hash(old password) over the new one.
	err := st.UpdatePasswordHash(ctx, u.ID(), hash, rehashed2)
	mustIs(t, err, domain.ErrPasswordChanged)
	mustIs(t, err, domain.ErrInvalidCredentials)
	mustNotIs(t, err, domain.ErrNotFound)
	assertHash(t, st, u, newHash)
}

func testCreateSessionVerifiedHash(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	sess := domain.NewSession(newSessionID(), u.ID(), t0, firefox)
	tok := newToken(t, t0)
	mustNil(t, st.CreateSession(ctx, sess, tok.Record(sess.ID()), hash))
	got, owner, err := st.SessionByID(ctx, sess.ID())
	mustNil(t, err)
	assertSessionFull(t, got, sess)
	assertUser(t, owner, u)
	_, _, err = st.RotateRefreshToken(ctx, tok.Hash(), newToken(t, t0).Record(""), t0, noPolicy, domain.ClientInfo{}, nil)
	mustNil(t, err)
}

func testCreateSessionStaleHash(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	mustNil(t, st.UpdatePasswordHash(ctx, u.ID(), hash, newHash))

	sess := domain.NewSession(newSessionID(), u.ID(), t0, firefox)
	tok := newToken(t, t0)
	err := st.CreateSession(ctx, sess, tok.Record(sess.ID()), hash)
	mustIs(t, err, domain.ErrPasswordChanged)
	mustIs(t, err, domain.ErrInvalidCredentials)

	// Nothing stored: no session, no refresh token.
	_, _, err = st.SessionByID(ctx, sess.ID())
	mustIs(t, err, domain.ErrNotFound)
	_, err = st.SessionByRefreshToken(ctx, tok.Hash(), t0)
	mustIs(t, err, domain.ErrNotFound)
	_, _, err = st.RotateRefreshToken(ctx, tok.Hash(), newToken(t, t0).Record(""), t0, noPolicy, domain.ClientInfo{}, nil)
	mustIs(t, err, domain.ErrInvalidRefreshToken)
	sessions, err := st.SessionsOfUser(ctx, u.ID(), t0, noPolicy, 10)
	mustNil(t, err)
	if len(sessions) != 0 {
		t.Fatalf("the refused session is listed: %d sessions", len(sessions))
	}
	assertHash(t, st, u, newHash)

	// The very same session and token go in under the current hash: the
	// refused attempt left no row behind to collide with.
	mustNil(t, st.CreateSession(ctx, sess, tok.Record(sess.ID()), newHash))
	got, _, err := st.SessionByID(ctx, sess.ID())
	mustNil(t, err)
	assertSessionFull(t, got, sess)

	// A verified hash for an unknown user is not a session either.
	ghost := domain.NewSession(newSessionID(), newUserID(), t0, firefox)
	if err := st.CreateSession(ctx, ghost, newToken(t, t0).Record(ghost.ID()), hash); err == nil {
		t.Fatal("CreateSession for an unknown user with a verified hash succeeded")
	}
}

func testChangePassword(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	keep, keepTok := startSessionOf(t, st, u)
	a, aTok := startSessionOf(t, st, u)
	b, _ := startSessionOf(t, st, u)
	ended, _ := startSessionOf(t, st, u)
	other, otherTok := startSession(t, st)
	t1 := t0.Add(time.Minute)
	mustNil(t, st.RevokeSession(ctx, ended.ID(), t1))

	t2 := t1.Add(time.Minute)
	n, err := st.ChangePassword(ctx, u.ID(), hash, newHash, keep.ID(), t2)
	mustNil(t, err)
	if n != 2 {
		t.Fatalf("ChangePassword revoked %d sessions, want 2 (the already ended one does not count)", n)
	}
	assertHash(t, st, u, newHash)
	assertRevokedAt(t, st, a, t2)
	assertRevokedAt(t, st, b, t2)
	assertRevokedAt(t, st, ended, t1)
	_, _, err = st.RotateRefreshToken(ctx, aTok.Hash(), newToken(t, t2).Record(""), t2, noPolicy, domain.ClientInfo{}, nil)
	mustIs(t, err, domain.ErrInvalidRefreshToken)

	// The kept session and another user's live on.
	for _, live := range []struct {
		sess domain.Session
		tok  domain.RefreshToken
	}{{keep, keepTok}, {other, otherTok}} {
		got, _, err := st.RotateRefreshToken(ctx, live.tok.Hash(), newToken(t, t2).Record(""), t2, noPolicy, domain.ClientInfo{}, nil)
		mustNil(t, err)
		assertSession(t, got, live.sess)
	}
	_, otherOwner, err := st.SessionByID(ctx, other.ID())
	mustNil(t, err)
	if otherOwner.PasswordHash() != hash {
		t.Fatalf("another user's hash changed to %q", otherOwner.PasswordHash())
	}

	// A login verified under the new hash gets its session.
	fresh := domain.NewSession(newSessionID(), u.ID(), t2, firefox)
	mustNil(t, st.CreateSession(ctx, fresh, newToken(t, t2).Record(fresh.ID()), newHash))
}

func testChangePasswordKeepsNone(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	a, _ := startSessionOf(t, st, u)
	b, _ := startSessionOf(t, st, u)
	t1 := t0.Add(time.Minute)
	for _, keep := range []domain.SessionID{"", "not-a-uuid", newSessionID()} {
		n, err := st.ChangePassword(ctx, u.ID(), hash, newHash, keep, t1)
		mustNil(t, err)
		if n != 2 {
			t.Fatalf("ChangePassword(keep %q) revoked %d, want 2", keep, n)
		}
		assertRevokedAt(t, st, a, t1)
		assertRevokedAt(t, st, b, t1)
		// Back again for the next round; nothing is left to revoke then.
		n, err = st.ChangePassword(ctx, u.ID(), newHash, hash, keep, t1.Add(time.Hour))
		mustNil(t, err)
		if n != 0 {
			t.Fatalf("second ChangePassword revoked %d, want 0", n)
		}
		a, _ = startSessionOf(t, st, u)
		b, _ = startSessionOf(t, st, u)
	}
}

func testChangePasswordStale(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	keep, _ := startSessionOf(t, st, u)
	a, _ := startSessionOf(t, st, u)
	t1 := t0.Add(time.Minute)
	mustNil(t, st.UpdatePasswordHash(ctx, u.ID(), hash, rehashed2))

	// A change that verified the current password against the old hash
	// changes nothing: neither the hash nor any session.
	n, err := st.ChangePassword(ctx, u.ID(), hash, newHash, keep.ID(), t1)
	mustIs(t, err, domain.ErrPasswordChanged)
	mustIs(t, err, domain.ErrInvalidCredentials)
	mustNotIs(t, err, domain.ErrNotFound)
	if n != 0 {
		t.Fatalf("a refused ChangePassword reported %d revoked sessions", n)
	}
	assertHash(t, st, u, rehashed2)
	for _, s := range []domain.Session{keep, a} {
		got, _, err := st.SessionByID(ctx, s.ID())
		mustNil(t, err)
		if !got.Active() {
			t.Fatalf("session %s revoked by a refused ChangePassword", s.ID())
		}
	}
}

func testChangePasswordUnknownUser(t *testing.T, st Store) {
	ctx := t.Context()
	sess, _ := startSession(t, st)
	for _, id := range []domain.UserID{newUserID(), "not-a-uuid"} {
		n, err := st.ChangePassword(ctx, id, hash, newHash, "", t0)
		mustIs(t, err, domain.ErrNotFound)
		mustNotIs(t, err, domain.ErrInvalidCredentials)
		if n != 0 {
			t.Fatalf("ChangePassword(%q) = %d", id, n)
		}
	}
	stored, _, err := st.SessionByID(ctx, sess.ID())
	mustNil(t, err)
	assertSession(t, stored, sess)
}

// testLoginsRacingChange is the reviewer's race: logins that verified the
// old password create their sessions while the password changes. Each
// either lands before the change, and is revoked by it, or is refused;
// none survives. The changer's own session does.
func testLoginsRacingChange(t *testing.T, st Store) {
	ctx := t.Context()
	for round := range rounds {
		u := createUser(t, st, uuid.NewString()+"@example.com")
		keep, _ := startSessionOf(t, st, u)
		sessions := make([]domain.Session, concurrent)
		tokens := make([]domain.RefreshToken, concurrent)
		for i := range sessions {
			sessions[i] = domain.NewSession(newSessionID(), u.ID(), t0, firefox)
			tokens[i] = newToken(t, t0)
		}
		t1 := t0.Add(time.Duration(round+1) * time.Minute)
		// The change starts amid the logins (goroutines start roughly in
		// order), so some land before it and some after.
		var revoked int
		var changeErr error
		changer := concurrent / 2
		errs := together(concurrent+1, func(i int) error {
			switch {
			case i == changer:
				revoked, changeErr = st.ChangePassword(ctx, u.ID(), hash, newHash, keep.ID(), t1)
				return nil
			case i > changer:
				i--
			}
			return st.CreateSession(ctx, sessions[i], tokens[i].Record(sessions[i].ID()), hash)
		})
		if changeErr != nil {
			t.Fatalf("round %d: ChangePassword: %v", round, changeErr)
		}
		errs = append(errs[:changer], errs[changer+1:]...)
		created := 0
		for i, err := range errs {
			switch {
			case err == nil:
				created++
				assertRevokedAt(t, st, sessions[i], t1)
				_, _, err = st.RotateRefreshToken(ctx, tokens[i].Hash(), newToken(t, t1).Record(""), t1, noPolicy, domain.ClientInfo{}, nil)
				mustIs(t, err, domain.ErrInvalidRefreshToken)
			case errors.Is(err, domain.ErrPasswordChanged):
				_, _, err = st.SessionByID(ctx, sessions[i].ID())
				mustIs(t, err, domain.ErrNotFound)
			default:
				t.Fatalf("round %d, login %d: CreateSession = %v, want nil or ErrPasswordChanged", round, i, err)
			}
		}
		t.Logf("round %d: %d of %d logins landed before the change (and were revoked), the others were refused", round, created, concurrent)
		if revoked != created {
			t.Fatalf("round %d: %d sessions created before the change, %d revoked by it", round, created, revoked)
		}
		live, err := st.SessionsOfUser(ctx, u.ID(), t1, noPolicy, concurrent+2)
		mustNil(t, err)
		if len(live) != 1 || live[0].ID() != keep.ID() {
			t.Fatalf("round %d: %d live sessions after the change, want only the changer's", round, len(live))
		}
		assertHash(t, st, u, newHash)
	}
}

// testRehashRacingChange: a rehash and a password change both swap from the
// hash they verified. Exactly one wins, and the stored hash is the
// winner's: a late rehash never reverts a change.
func testRehashRacingChange(t *testing.T, st Store) {
	ctx := t.Context()
	for round := range rounds {
		u := createUser(t, st, uuid.NewString()+"@example.com")
		errs := together(2, func(i int) error {
			if i == 0 {
				_, err := st.ChangePassword(ctx, u.ID(), hash, newHash, "", t0)
				return err
			}
			return st.UpdatePasswordHash(ctx, u.ID(), hash, rehashed2)
		})
		switch {
		case errs[0] == nil && errors.Is(errs[1], domain.ErrPasswordChanged):
			assertHash(t, st, u, newHash)
		case errs[1] == nil && errors.Is(errs[0], domain.ErrPasswordChanged):
			assertHash(t, st, u, rehashed2)
		default:
			t.Fatalf("round %d: change = %v, rehash = %v; want exactly one to win", round, errs[0], errs[1])
		}
	}
}

func assertHash(t *testing.T, st Store, u domain.User, want string) {
	t.Helper()
	got, err := st.UserByID(t.Context(), u.ID())
	mustNil(t, err)
	if got.PasswordHash() != want {
		t.Fatalf("stored hash = %q, want %q", got.PasswordHash(), want)
	}
}
