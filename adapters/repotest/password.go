package repotest

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// The password credential, and the protocol that keeps it honest across
// stores: a login opens its session while it holds the hash it verified,
// and a password change swaps the hash and ends the other sessions in one
// transaction, so no login verified under an old password keeps a session.
var passwordCases = []contractCase{
	{"Passwords/SetThenGet", testSetPassword},
	{"Passwords/SetUnknownUserIsNotFound", testSetPasswordUnknownUser},
	{"Passwords/HashOfUserWithoutOneIsNotFound", testPasswordHashNone},
	{"Passwords/SwapReplacesOnlyTheGivenHash", testSwapPasswordHash},
	{"Passwords/SwapStaleOldHashChangesNothing", testSwapPasswordHashStale},
	{"Passwords/SwapUnknownUserIsNotFound", testSwapPasswordHashUnknownUser},
	{"Passwords/SwapWithoutAPasswordStoresNothing", testSwapPasswordHashNone},
	{"Passwords/HoldChecksTheHash", testHoldPassword},
	{"Login/OpensUnderTheVerifiedHash", testLoginVerifiedHash},
	{"Login/StaleVerifiedHashStoresNothing", testLoginStaleHash},
	{"Password/ChangeSwapsAndRevokesTheOthers", testChangePassword},
	{"Password/ChangeWithoutAKeptSessionRevokesAll", testChangePasswordKeepsNone},
	{"Password/ChangeWithStaleOldHashChangesNothing", testChangePasswordStale},
	{"Password/ChangeUnknownUserIsNotFound", testChangePasswordUnknownUser},
	{"Password/LoginsRacingAChangeKeepNoSession", testLoginsRacingChange},
	{"Password/RehashRacingAChangeNeverReverts", testRehashRacingChange},
	{"Password/ConcurrentChangesOneWins", testConcurrentChanges},
}

// login opens sess as sessions.Service.Open does after a password login:
// in one transaction, the session is created only while the user's hash
// is still verified, the one the password was checked against.
func login(ctx context.Context, st Store, sess domain.Session, first domain.IssuedRefreshToken, verified string) error {
	return st.WithinTx(ctx, func(tx ports.Stores) error {
		if err := tx.Passwords.HoldPassword(ctx, sess.UserID(), verified); err != nil {
			return err
		}
		runtime.Gosched() // a round trip: only the store's hold keeps a change out now
		return tx.Sessions.CreateSession(ctx, sess, first)
	})
}

// changePassword is account.PasswordChange's swap: newHash over oldHash,
// and every session of user but keep ended, in one transaction; it
// returns how many sessions it ended.
func changePassword(ctx context.Context, st Store, user domain.UserID, oldHash, newHash string, keep domain.SessionID, now time.Time) (int, error) {
	var revoked int
	err := st.WithinTx(ctx, func(tx ports.Stores) error {
		revoked = 0
		if err := tx.Passwords.SwapPasswordHash(ctx, user, oldHash, newHash, now); err != nil {
			return err
		}
		runtime.Gosched() // a round trip: only the store's lock keeps a login out now
		n, err := tx.Sessions.RevokeSessions(ctx, user, keep, now)
		revoked = n
		return err
	})
	if err != nil {
		return 0, err
	}
	return revoked, nil
}

func testSetPassword(t *testing.T, st Store) {
	ctx := t.Context()
	u := newUser(t, "ada@example.com")
	other := newUser(t, "grace@example.com")
	mustNil(t, st.CreateUser(ctx, u))
	mustNil(t, st.CreateUser(ctx, other))

	mustNil(t, st.SetPassword(ctx, u.ID(), hash, t0))
	assertHash(t, st, u, hash)
	_, err := st.PasswordHash(ctx, other.ID())
	mustIs(t, err, domain.ErrNotFound)

	// Setting replaces whatever was there, unconditionally.
	mustNil(t, st.SetPassword(ctx, u.ID(), newHash, t0.Add(time.Minute)))
	assertHash(t, st, u, newHash)
	mustNil(t, st.SetPassword(ctx, other.ID(), rehashed, t0.Add(time.Minute)))
	assertHash(t, st, other, rehashed)
	assertHash(t, st, u, newHash)

	got, err := st.UserByID(ctx, u.ID())
	mustNil(t, err)
	assertUser(t, got, u)
}

func testSetPasswordUnknownUser(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	for _, id := range []domain.UserID{newUserID(), "not-a-uuid"} {
		mustIs(t, st.SetPassword(ctx, id, newHash, t0), domain.ErrNotFound)
		_, err := st.PasswordHash(ctx, id)
		mustIs(t, err, domain.ErrNotFound)
	}
	assertHash(t, st, u, hash)
}

func testPasswordHashNone(t *testing.T, st Store) {
	ctx := t.Context()
	createUser(t, st, "ada@example.com")
	bare := newUser(t, "grace@example.com")
	mustNil(t, st.CreateUser(ctx, bare))
	for _, id := range []domain.UserID{bare.ID(), newUserID(), "not-a-uuid"} {
		got, err := st.PasswordHash(ctx, id)
		mustIs(t, err, domain.ErrNotFound)
		if got != "" {
			t.Fatalf("PasswordHash(%q) = %q with ErrNotFound, want no hash", id, got)
		}
	}
}

func testSwapPasswordHash(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	other := createUser(t, st, "grace@example.com")

	mustNil(t, st.SwapPasswordHash(ctx, u.ID(), hash, rehashed, t0.Add(time.Minute)))
	assertHash(t, st, u, rehashed)
	assertHash(t, st, other, hash)
	got, err := st.UserByID(ctx, u.ID())
	mustNil(t, err)
	assertUser(t, got, u)

	// Over the hash now stored it swaps again.
	mustNil(t, st.SwapPasswordHash(ctx, u.ID(), rehashed, newHash, t0.Add(2*time.Minute)))
	assertHash(t, st, u, newHash)
}

func testSwapPasswordHashStale(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	mustNil(t, st.SwapPasswordHash(ctx, u.ID(), hash, newHash, t0))

	// A rehash that verified the old hash comes too late: it must not write
	// hash(old password) over the new one.
	err := st.SwapPasswordHash(ctx, u.ID(), hash, rehashed, t0.Add(time.Minute))
	mustIs(t, err, domain.ErrPasswordChanged)
	mustIs(t, err, domain.ErrInvalidCredentials)
	mustNotIs(t, err, domain.ErrNotFound)
	assertHash(t, st, u, newHash)
}

func testSwapPasswordHashUnknownUser(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	for _, id := range []domain.UserID{newUserID(), "not-a-uuid"} {
		err := st.SwapPasswordHash(ctx, id, hash, newHash, t0)
		mustIs(t, err, domain.ErrNotFound)
		mustNotIs(t, err, domain.ErrInvalidCredentials)
		_, err = st.PasswordHash(ctx, id)
		mustIs(t, err, domain.ErrNotFound)
	}
	assertHash(t, st, u, hash)
}

// A swap is no way to give a password to an account without one (that is
// SetPassword): there is no credential to swap, ErrNotFound, and nothing
// is stored.
func testSwapPasswordHashNone(t *testing.T, st Store) {
	ctx := t.Context()
	bare := newUser(t, "ada@example.com")
	mustNil(t, st.CreateUser(ctx, bare))
	for _, old := range []string{"", hash} {
		err := st.SwapPasswordHash(ctx, bare.ID(), old, newHash, t0)
		mustIs(t, err, domain.ErrNotFound)
		mustNotIs(t, err, domain.ErrInvalidCredentials)
		_, err = st.PasswordHash(ctx, bare.ID())
		mustIs(t, err, domain.ErrNotFound)
	}
}

// On its own, HoldPassword is the check: the current hash passes, any
// other is ErrPasswordChanged, and it changes nothing either way. No
// credential at all (none set, no such user) is no exception: the
// password the caller checked is not the account's, and a login told so
// checks once more (signin.Login) rather than failing as "not found".
func testHoldPassword(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	mustNil(t, st.HoldPassword(ctx, u.ID(), hash))
	for _, stale := range []string{newHash, ""} {
		err := st.HoldPassword(ctx, u.ID(), stale)
		mustIs(t, err, domain.ErrPasswordChanged)
		mustIs(t, err, domain.ErrInvalidCredentials)
	}
	assertHash(t, st, u, hash)

	bare := newUser(t, "grace@example.com")
	mustNil(t, st.CreateUser(ctx, bare))
	for _, id := range []domain.UserID{bare.ID(), newUserID(), "not-a-uuid"} {
		err := st.HoldPassword(ctx, id, hash)
		mustIs(t, err, domain.ErrPasswordChanged)
		mustNotIs(t, err, domain.ErrNotFound)
	}
	_, err := st.PasswordHash(ctx, bare.ID())
	mustIs(t, err, domain.ErrNotFound)
}

func testLoginVerifiedHash(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	sess := newSession(u, t0, firefox)
	tok := newToken(t, t0)
	mustNil(t, login(ctx, st, sess, tok.Record(sess.ID()), hash))
	got, owner, err := st.SessionByID(ctx, sess.ID())
	mustNil(t, err)
	assertSessionFull(t, got, sess)
	assertUser(t, owner, u)
	assertHash(t, st, u, hash)
	_, err = refresh(t, st, tok.Plaintext(), t0, noPolicy, domain.ClientInfo{})
	mustNil(t, err)
}

func testLoginStaleHash(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	mustNil(t, st.SwapPasswordHash(ctx, u.ID(), hash, newHash, t0))

	sess := newSession(u, t0, firefox)
	tok := newToken(t, t0)
	err := login(ctx, st, sess, tok.Record(sess.ID()), hash)
	mustIs(t, err, domain.ErrPasswordChanged)
	mustIs(t, err, domain.ErrInvalidCredentials)

	// Nothing stored: no session, no refresh token.
	_, _, err = st.SessionByID(ctx, sess.ID())
	mustIs(t, err, domain.ErrNotFound)
	_, _, _, err = st.RefreshToken(ctx, tok.Hash())
	mustIs(t, err, domain.ErrNotFound)
	_, err = refresh(t, st, tok.Plaintext(), t0, noPolicy, domain.ClientInfo{})
	mustIs(t, err, domain.ErrInvalidRefreshToken)
	sessions, err := st.SessionsOfUser(ctx, u.ID(), t0, noPolicy, 10)
	mustNil(t, err)
	if len(sessions) != 0 {
		t.Fatalf("the refused session is listed: %d sessions", len(sessions))
	}
	assertHash(t, st, u, newHash)

	// The very same session and token go in under the current hash: the
	// refused attempt left no row behind to collide with.
	mustNil(t, login(ctx, st, sess, tok.Record(sess.ID()), newHash))
	assertStored(t, st, sess)

	// A verified hash for an unknown user is not a session either.
	ghost := newSession(domain.RehydrateUser(newUserID(), mustEmail(t, "ghost@example.com"), false, "", domain.RoleUser, t0), t0, firefox)
	ghostTok := newToken(t, t0)
	if err := login(ctx, st, ghost, ghostTok.Record(ghost.ID()), hash); err == nil {
		t.Fatal("a login of an unknown user succeeded")
	}
	_, _, err = st.SessionByID(ctx, ghost.ID())
	mustIs(t, err, domain.ErrNotFound)
	_, _, _, err = st.RefreshToken(ctx, ghostTok.Hash())
	mustIs(t, err, domain.ErrNotFound)
}

func testChangePassword(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	keep, keepTok := startSessionOf(t, st, u)
	a, aTok := startSessionOf(t, st, u)
	b, _ := startSessionOf(t, st, u)
	ended, _ := startSessionOf(t, st, u)
	other, otherSess, otherTok := startSession(t, st)
	t1 := t0.Add(time.Minute)
	mustNil(t, st.RevokeSession(ctx, ended.ID(), t1))

	t2 := t1.Add(time.Minute)
	n, err := changePassword(ctx, st, u.ID(), hash, newHash, keep.ID(), t2)
	mustNil(t, err)
	if n != 2 {
		t.Fatalf("the change revoked %d sessions, want 2 (the already ended one does not count)", n)
	}
	assertHash(t, st, u, newHash)
	assertRevokedAt(t, st, a, t2)
	assertRevokedAt(t, st, b, t2)
	assertRevokedAt(t, st, ended, t1)
	_, err = refresh(t, st, aTok.Plaintext(), t2, noPolicy, domain.ClientInfo{})
	mustIs(t, err, domain.ErrInvalidRefreshToken)
	mustNotIs(t, err, domain.ErrRefreshTokenReused)

	// The kept session and another user's live on.
	for _, live := range []struct {
		sess domain.Session
		tok  domain.RefreshToken
	}{{keep, keepTok}, {otherSess, otherTok}} {
		_, err := refresh(t, st, live.tok.Plaintext(), t2, noPolicy, domain.ClientInfo{})
		mustNil(t, err)
		assertActive(t, st, live.sess)
	}
	assertHash(t, st, other, hash)

	// A login verified under the old hash is refused; one under the new
	// hash gets its session.
	late := newSession(u, t2, firefox)
	mustIs(t, login(ctx, st, late, newToken(t, t2).Record(late.ID()), hash), domain.ErrPasswordChanged)
	fresh := newSession(u, t2, firefox)
	mustNil(t, login(ctx, st, fresh, newToken(t, t2).Record(fresh.ID()), newHash))
	assertStored(t, st, fresh)
}

func testChangePasswordKeepsNone(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	a, _ := startSessionOf(t, st, u)
	b, _ := startSessionOf(t, st, u)
	t1 := t0.Add(time.Minute)
	for _, keep := range []domain.SessionID{"", "not-a-uuid", newSessionID()} {
		n, err := changePassword(ctx, st, u.ID(), hash, newHash, keep, t1)
		mustNil(t, err)
		if n != 2 {
			t.Fatalf("change (keep %q) revoked %d, want 2", keep, n)
		}
		assertRevokedAt(t, st, a, t1)
		assertRevokedAt(t, st, b, t1)
		// Back again for the next round; nothing is left to revoke then.
		n, err = changePassword(ctx, st, u.ID(), newHash, hash, keep, t1.Add(time.Hour))
		mustNil(t, err)
		if n != 0 {
			t.Fatalf("second change revoked %d, want 0", n)
		}
		assertRevokedAt(t, st, a, t1)
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
	mustNil(t, st.SwapPasswordHash(ctx, u.ID(), hash, rehashed, t0))

	// A change that verified the current password against the old hash
	// changes nothing: neither the hash nor any session.
	n, err := changePassword(ctx, st, u.ID(), hash, newHash, keep.ID(), t1)
	mustIs(t, err, domain.ErrPasswordChanged)
	mustIs(t, err, domain.ErrInvalidCredentials)
	mustNotIs(t, err, domain.ErrNotFound)
	if n != 0 {
		t.Fatalf("a refused change reported %d revoked sessions", n)
	}
	assertHash(t, st, u, rehashed)
	assertStored(t, st, keep)
	assertStored(t, st, a)
}

func testChangePasswordUnknownUser(t *testing.T, st Store) {
	ctx := t.Context()
	_, sess, _ := startSession(t, st)
	for _, id := range []domain.UserID{newUserID(), "not-a-uuid"} {
		n, err := changePassword(ctx, st, id, hash, newHash, "", t0)
		mustIs(t, err, domain.ErrNotFound)
		mustNotIs(t, err, domain.ErrInvalidCredentials)
		if n != 0 {
			t.Fatalf("change of %q = %d", id, n)
		}
	}
	assertStored(t, st, sess)
}

// testLoginsRacingChange is the reviewer's race: logins that verified the
// old password open their sessions while the password changes. Each
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
			sessions[i] = newSession(u, t0, firefox)
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
				revoked, changeErr = changePassword(ctx, st, u.ID(), hash, newHash, keep.ID(), t1)
				return nil
			case i > changer:
				i--
			}
			return login(ctx, st, sessions[i], tokens[i].Record(sessions[i].ID()), hash)
		})
		if changeErr != nil {
			t.Fatalf("round %d: change: %v", round, changeErr)
		}
		errs = append(errs[:changer], errs[changer+1:]...)
		created := 0
		for i, err := range errs {
			switch {
			case err == nil:
				created++
				assertRevokedAt(t, st, sessions[i], t1)
				_, err = refresh(t, st, tokens[i].Plaintext(), t1, noPolicy, domain.ClientInfo{})
				mustIs(t, err, domain.ErrInvalidRefreshToken)
				mustNotIs(t, err, domain.ErrRefreshTokenReused)
			case errors.Is(err, domain.ErrPasswordChanged):
				_, _, err = st.SessionByID(ctx, sessions[i].ID())
				mustIs(t, err, domain.ErrNotFound)
				_, _, _, err = st.RefreshToken(ctx, tokens[i].Hash())
				mustIs(t, err, domain.ErrNotFound)
			default:
				t.Fatalf("round %d, login %d: %v, want nil or ErrPasswordChanged", round, i, err)
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

// testRehashRacingChange: a login's rehash (a swap on its own, as signin
// does it) and a password change both swap from the hash they verified.
// Exactly one wins, and the stored hash is the winner's: a late rehash
// never reverts a change.
func testRehashRacingChange(t *testing.T, st Store) {
	ctx := t.Context()
	for round := range rounds {
		u := createUser(t, st, uuid.NewString()+"@example.com")
		sess, _ := startSessionOf(t, st, u)
		var revoked int
		errs := together(2, func(i int) error {
			if i == 0 {
				var err error
				revoked, err = changePassword(ctx, st, u.ID(), hash, newHash, "", t0)
				return err
			}
			return st.SwapPasswordHash(ctx, u.ID(), hash, rehashed, t0)
		})
		switch {
		case errs[0] == nil && errors.Is(errs[1], domain.ErrPasswordChanged):
			assertHash(t, st, u, newHash)
			if revoked != 1 {
				t.Fatalf("round %d: the winning change revoked %d sessions, want 1", round, revoked)
			}
			assertRevokedAt(t, st, sess, t0)
		case errs[1] == nil && errors.Is(errs[0], domain.ErrPasswordChanged):
			assertHash(t, st, u, rehashed)
			assertActive(t, st, sess)
		default:
			t.Fatalf("round %d: change = %v, rehash = %v; want exactly one to win", round, errs[0], errs[1])
		}
	}
}

// Two changes from the same verified hash (two tabs): one wins, the other
// is ErrPasswordChanged and neither overwrites the winner's hash nor
// counts a session.
func testConcurrentChanges(t *testing.T, st Store) {
	ctx := t.Context()
	for round := range rounds {
		u := createUser(t, st, uuid.NewString()+"@example.com")
		keep := make([]domain.Session, 2)
		for i := range keep {
			keep[i], _ = startSessionOf(t, st, u)
		}
		others := make([]domain.Session, 3)
		for i := range others {
			others[i], _ = startSessionOf(t, st, u)
		}
		to := []string{newHash, rehashed}
		counts := make([]int, 2)
		errs := together(2, func(i int) error {
			var err error
			counts[i], err = changePassword(ctx, st, u.ID(), hash, to[i], keep[i].ID(), t0)
			return err
		})
		winner := -1
		switch {
		case errs[0] == nil && errors.Is(errs[1], domain.ErrPasswordChanged):
			winner = 0
		case errs[1] == nil && errors.Is(errs[0], domain.ErrPasswordChanged):
			winner = 1
		default:
			t.Fatalf("round %d: changes = %v, %v; want exactly one to win", round, errs[0], errs[1])
		}
		loser := 1 - winner
		assertHash(t, st, u, to[winner])
		if counts[winner] != len(others)+1 || counts[loser] != 0 {
			t.Fatalf("round %d: revoked %v, want %d by the winner and 0 by the loser", round, counts, len(others)+1)
		}
		assertActive(t, st, keep[winner])
		assertRevokedAt(t, st, keep[loser], t0)
		for _, s := range others {
			assertRevokedAt(t, st, s, t0)
		}
	}
}

func assertHash(t *testing.T, st Store, u domain.User, want string) {
	t.Helper()
	got, err := st.PasswordHash(context.WithoutCancel(t.Context()), u.ID())
	if err != nil {
		t.Fatalf("PasswordHash(%s): %v", u.ID(), err)
	}
	if got != want {
		t.Fatalf("stored hash = %q, want %q", got, want)
	}
}
