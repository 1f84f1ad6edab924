package repotest

import (
	"slices"
	"testing"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var sessionCases = []contractCase{
	{"Sessions/CreateThenSessionByIDWithOwner", testCreateSession},
	{"Sessions/MethodsRoundTrip", testSessionMethods},
	{"Sessions/UnknownSessionIsNotFound", testUnknownSession},
	{"Sessions/CreateForUnknownUserFails", testCreateSessionUnknownUser},
	{"Sessions/CreateWithTokenOfAnotherSessionFails", testCreateSessionForeignToken},
	{"Sessions/RefreshTokenReturnsTokenSessionAndOwner", testRefreshTokenRead},
	{"Sessions/RefreshTokenReturnsSpentAndExpiredTokens", testRefreshTokenAnyState},
	{"Sessions/RotateStoresTheRotation", testRotate},
	{"Sessions/OfUserUsableNewestFirst", testSessionsOfUser},
	{"Sessions/OfUserLimit", testSessionsOfUserLimit},
}

var revokeCases = []contractCase{
	{"Revoke/SessionInvalidatesItsTokens", testRevokeSession},
	{"Revoke/SessionIsIdempotent", testRevokeIdempotent},
	{"Revoke/UnknownSessionIsNoError", testRevokeUnknownSession},
	{"Revoke/ByLiveRefreshToken", testRevokeByLiveToken},
	{"Revoke/BySpentRefreshToken", testRevokeBySpentToken},
	{"Revoke/AllSessionsCountsOnlyActiveOnes", testRevokeAllSessions},
	{"Revoke/SessionsOfUnknownUserIsZero", testRevokeSessionsUnknownUser},
	{"Revoke/SessionsKeepsOne", testRevokeOtherSessions},
	{"Revoke/ConcurrentAllCountEachOnce", testConcurrentRevokeAll},
	{"Revoke/ConcurrentOthersCountEachOnce", testConcurrentRevokeOthers},
}

// ---- sessions ----

func testCreateSession(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	sess := newSession(u, t0, firefox)
	mustNil(t, st.CreateSession(ctx, sess, newToken(t, t0).Record(sess.ID())))

	got, owner, err := st.SessionByID(ctx, sess.ID())
	mustNil(t, err)
	assertSessionFull(t, got, sess)
	assertUser(t, owner, u)
	if !got.Active() || !got.LastUsedAt().Equal(t0) || got.Client() != firefox ||
		!slices.Equal(got.Methods(), []domain.AuthMethod{domain.MethodPassword}) {
		t.Fatalf("new session: active %t, last use %s, client %+v, methods %q; want active, %s, %+v, [pwd]",
			got.Active(), got.LastUsedAt(), got.Client(), got.Methods(), t0, firefox)
	}
}

// The methods a login proved ("amr") come back from every read of the
// session, in their order; a session opened by none has none.
func testSessionMethods(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	for _, methods := range [][]domain.AuthMethod{
		{domain.MethodPassword},
		{domain.MethodPassword, otp},
		{otp, domain.MethodPassword},
		nil,
	} {
		sess := domain.NewSession(newSessionID(), domain.NewAuthentication(u, t0, methods...), t0, curl)
		tok := newToken(t, t0)
		mustNil(t, st.CreateSession(ctx, sess, tok.Record(sess.ID())))

		got, _, err := st.SessionByID(ctx, sess.ID())
		mustNil(t, err)
		if !slices.Equal(got.Methods(), methods) {
			t.Fatalf("SessionByID methods %q, want %q", got.Methods(), methods)
		}
		_, got, _, err = st.RefreshToken(ctx, tok.Hash())
		mustNil(t, err)
		if !slices.Equal(got.Methods(), methods) {
			t.Fatalf("RefreshToken session methods %q, want %q", got.Methods(), methods)
		}
		listed, err := st.SessionsOfUser(ctx, u.ID(), t0, noPolicy, 10)
		mustNil(t, err)
		i := slices.IndexFunc(listed, func(s domain.Session) bool { return s.ID() == sess.ID() })
		if i < 0 || !slices.Equal(listed[i].Methods(), methods) {
			t.Fatalf("SessionsOfUser: session %s at %d, want it listed with methods %q", sess.ID(), i, methods)
		}
	}
}

func testUnknownSession(t *testing.T, st Store) {
	ctx := t.Context()
	startSession(t, st)
	_, _, err := st.SessionByID(ctx, newSessionID())
	mustIs(t, err, domain.ErrNotFound)
	_, _, err = st.SessionByID(ctx, domain.SessionID("not-a-uuid"))
	mustIs(t, err, domain.ErrNotFound)
}

func testCreateSessionUnknownUser(t *testing.T, st Store) {
	ctx := t.Context()
	ghost := domain.RehydrateUser(newUserID(), mustEmail(t, "ghost@example.com"), false, "", domain.RoleUser, t0)
	sess := newSession(ghost, t0, firefox)
	tok := newToken(t, t0)
	if err := st.CreateSession(ctx, sess, tok.Record(sess.ID())); err == nil {
		t.Fatal("CreateSession for an unknown user = nil, want an error")
	}
	_, _, err := st.SessionByID(ctx, sess.ID())
	mustIs(t, err, domain.ErrNotFound)
	_, _, _, err = st.RefreshToken(ctx, tok.Hash())
	mustIs(t, err, domain.ErrNotFound)
}

func testCreateSessionForeignToken(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	sess := newSession(u, t0, firefox)
	tok := newToken(t, t0)
	if err := st.CreateSession(ctx, sess, tok.Record(newSessionID())); err == nil {
		t.Fatal("CreateSession with a first token naming another session = nil, want an error")
	}
	_, _, err := st.SessionByID(ctx, sess.ID())
	mustIs(t, err, domain.ErrNotFound)
	_, _, _, err = st.RefreshToken(ctx, tok.Hash())
	mustIs(t, err, domain.ErrNotFound)
	mustRefuseRefresh(t, st, tok.Plaintext(), t0, noPolicy)
}

func testRefreshTokenRead(t *testing.T, st Store) {
	ctx := t.Context()
	u, sess, first := startSession(t, st)
	_, otherSess, _ := startSession(t, st)

	rec, got, owner, err := st.RefreshToken(ctx, first.Hash())
	mustNil(t, err)
	assertRecord(t, rec, domain.RefreshTokenRecord{Hash: first.Hash(), SessionID: sess.ID(), ExpiresAt: first.ExpiresAt()})
	assertSessionFull(t, got, sess)
	assertUser(t, owner, u)
	if !rec.Live(t0) {
		t.Fatal("a fresh token reads back not live")
	}

	// A second token of the same user's other session names that one.
	second, tok2 := startSessionAt(t, st, u, t0.Add(time.Minute), curl)
	rec, got, owner, err = st.RefreshToken(ctx, tok2.Hash())
	mustNil(t, err)
	assertRecord(t, rec, domain.RefreshTokenRecord{Hash: tok2.Hash(), SessionID: second.ID(), ExpiresAt: tok2.ExpiresAt()})
	assertSessionFull(t, got, second)
	assertUser(t, owner, u)
	assertStored(t, st, otherSess)

	_, _, _, err = st.RefreshToken(ctx, newToken(t, t0).Hash())
	mustIs(t, err, domain.ErrNotFound)
}

// RefreshToken reads a token in any state: spent (with when), expired,
// of a revoked session. What may be done with it is the domain's call.
func testRefreshTokenAnyState(t *testing.T, st Store) {
	ctx := t.Context()
	u, sess, first := startSession(t, st)
	t1 := t0.Add(time.Minute)
	r, err := refresh(t, st, first.Plaintext(), t1, noPolicy, curl)
	mustNil(t, err)

	used := domain.RehydrateSession(sess.ID(), u.ID(), t0, t1, time.Time{}, curl, sess.Methods())
	rec, got, owner, err := st.RefreshToken(ctx, first.Hash())
	mustNil(t, err)
	assertRecord(t, rec, domain.RefreshTokenRecord{Hash: first.Hash(), SessionID: sess.ID(), ExpiresAt: first.ExpiresAt(), SpentAt: t1})
	assertSessionFull(t, got, used)
	assertUser(t, owner, u)
	if rec.Live(t1) {
		t.Fatal("a spent token reads back live")
	}

	// A token that expired an hour after its login, read long after.
	short := newSession(u, t0, firefox)
	shortTok := newToken(t, t0)
	short1 := shortTok.Record(short.ID())
	short1.ExpiresAt = t0.Add(time.Hour)
	mustNil(t, st.CreateSession(ctx, short, short1))
	rec, got, _, err = st.RefreshToken(ctx, shortTok.Hash())
	mustNil(t, err)
	assertRecord(t, rec, domain.RefreshTokenRecord{Hash: shortTok.Hash(), SessionID: short.ID(), ExpiresAt: t0.Add(time.Hour)})
	assertSessionFull(t, got, short)
	if rec.Live(t0.Add(time.Hour)) || !rec.Live(t0.Add(time.Hour-time.Microsecond)) {
		t.Fatalf("a token expiring at %s: live at expiry %t, a microsecond before %t", rec.ExpiresAt,
			rec.Live(t0.Add(time.Hour)), rec.Live(t0.Add(time.Hour-time.Microsecond)))
	}

	// A revoked session's tokens, spent or not, still name it, revoked.
	t2 := t1.Add(time.Minute)
	mustNil(t, st.RevokeSession(ctx, sess.ID(), t2))
	hash2, err := domain.ParseRefreshToken(r.next)
	mustNil(t, err)
	for _, h := range []domain.RefreshTokenHash{first.Hash(), hash2} {
		_, got, _, err = st.RefreshToken(ctx, h)
		mustNil(t, err)
		assertSessionFull(t, got, used.Revoked(t2))
	}
}

// Rotate stores exactly the rotation it is given: the spent token spent at
// its time, the successor with its expiry in the session, and the
// session's use.
func testRotate(t *testing.T, st Store) {
	ctx := t.Context()
	u, sess, first := startSession(t, st)
	_, otherSess, otherTok := startSession(t, st)
	t1 := t0.Add(time.Hour)
	next := newToken(t, t1)
	exp := t0.Add(90*time.Minute + 7*time.Microsecond) // neither t1 + ttl nor any cap: the rotation's own
	rotation := domain.Rotation{
		Spent:   first.Hash(),
		Next:    domain.IssuedRefreshToken{Hash: next.Hash(), SessionID: sess.ID(), ExpiresAt: exp},
		Session: sess.ID(),
		At:      t1,
		Client:  curl,
	}
	mustNil(t, st.WithinTx(ctx, func(tx ports.Stores) error {
		if _, _, _, err := tx.Sessions.RefreshToken(ctx, first.Hash()); err != nil {
			return err
		}
		return tx.Sessions.Rotate(ctx, rotation)
	}))

	used := domain.RehydrateSession(sess.ID(), u.ID(), t0, t1, time.Time{}, curl, sess.Methods())
	rec, got, _, err := st.RefreshToken(ctx, first.Hash())
	mustNil(t, err)
	assertRecord(t, rec, domain.RefreshTokenRecord{Hash: first.Hash(), SessionID: sess.ID(), ExpiresAt: first.ExpiresAt(), SpentAt: t1})
	assertSessionFull(t, got, used)
	rec, got, owner, err := st.RefreshToken(ctx, next.Hash())
	mustNil(t, err)
	assertRecord(t, rec, domain.RefreshTokenRecord{Hash: next.Hash(), SessionID: sess.ID(), ExpiresAt: exp})
	assertSessionFull(t, got, used)
	assertUser(t, owner, u)
	assertStored(t, st, used)

	// Nothing else moved.
	assertStored(t, st, otherSess)
	rec, _, _, err = st.RefreshToken(ctx, otherTok.Hash())
	mustNil(t, err)
	assertRecord(t, rec, domain.RefreshTokenRecord{Hash: otherTok.Hash(), SessionID: otherSess.ID(), ExpiresAt: otherTok.ExpiresAt()})
}

func testSessionsOfUser(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	other := createUser(t, st, "grace@example.com")
	day := 24 * time.Hour
	// Created at t0 and kept in use: usable until t0+30d.
	old, oldTok := startSessionAt(t, st, u, t0, firefox)
	// Created a day later, never used again: idle after t0+8d.
	idle, _ := startSessionAt(t, st, u, t0.Add(day), curl)
	// Two days later, revoked.
	revoked, _ := startSessionAt(t, st, u, t0.Add(2*day), firefox)
	mustNil(t, st.RevokeSession(ctx, revoked.ID(), t0.Add(2*day)))
	// Three days later: fresh.
	fresh, _ := startSessionAt(t, st, u, t0.Add(3*day), curl)
	startSessionAt(t, st, other, t0.Add(3*day), firefox)

	sameInstant, _ := startSessionAt(t, st, u, t0.Add(3*day), firefox) // ties break by id, descending
	newestFirst := []domain.Session{fresh, sameInstant}
	if fresh.ID() < sameInstant.ID() {
		newestFirst = []domain.Session{sameInstant, fresh}
	}

	at := t0.Add(4 * day)
	got, err := st.SessionsOfUser(ctx, u.ID(), at, policy, 10)
	mustNil(t, err)
	assertSessions(t, got, append(slices.Clone(newestFirst), idle, old))
	assertSessionFull(t, got[2], idle)

	// A week after its only use the idle one is gone; refresh the old one
	// meanwhile, which keeps it.
	t1 := t0.Add(6 * day)
	_, err = refresh(t, st, oldTok.Plaintext(), t1, policy, curl)
	mustNil(t, err)
	at = t0.Add(8 * day)
	got, err = st.SessionsOfUser(ctx, u.ID(), at, policy, 10)
	mustNil(t, err)
	assertSessions(t, got, append(slices.Clone(newestFirst), old))
	assertSessionFull(t, got[2], domain.RehydrateSession(old.ID(), u.ID(), t0, t1, time.Time{}, curl, old.Methods()))
	// One microsecond before the idle limit it was still there.
	got, err = st.SessionsOfUser(ctx, u.ID(), t0.Add(day+168*time.Hour-time.Microsecond), policy, 10)
	mustNil(t, err)
	assertSessions(t, got, append(slices.Clone(newestFirst), idle, old))

	// Thirty days after its login the old one is gone however used (no idle
	// limit here, so only the age counts).
	ageOnly := domain.SessionPolicy{MaxAge: 720 * time.Hour}
	got, err = st.SessionsOfUser(ctx, u.ID(), t0.Add(720*time.Hour-time.Microsecond), ageOnly, 10)
	mustNil(t, err)
	assertSessions(t, got, append(slices.Clone(newestFirst), idle, old))
	got, err = st.SessionsOfUser(ctx, u.ID(), t0.Add(720*time.Hour), ageOnly, 10)
	mustNil(t, err)
	assertSessions(t, got, append(slices.Clone(newestFirst), idle))

	// No policy: every unrevoked session.
	got, err = st.SessionsOfUser(ctx, u.ID(), t0.Add(100*day), noPolicy, 10)
	mustNil(t, err)
	assertSessions(t, got, append(slices.Clone(newestFirst), idle, old))

	for _, nobody := range []domain.UserID{newUserID(), "not-a-uuid"} {
		got, err = st.SessionsOfUser(ctx, nobody, at, policy, 10)
		if err != nil || len(got) != 0 {
			t.Fatalf("SessionsOfUser(%q) = %d sessions, %v; want none", nobody, len(got), err)
		}
	}
}

func testSessionsOfUserLimit(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	var started []domain.Session
	for i := range 3 {
		sess, _ := startSessionAt(t, st, u, t0.Add(time.Duration(i)*time.Minute), firefox)
		started = append(started, sess)
	}
	got, err := st.SessionsOfUser(ctx, u.ID(), t0.Add(time.Hour), policy, 2)
	mustNil(t, err)
	assertSessions(t, got, []domain.Session{started[2], started[1]})
	for _, limit := range []int{0, -1} {
		if _, err := st.SessionsOfUser(ctx, u.ID(), t0, policy, limit); err == nil {
			t.Errorf("SessionsOfUser with limit %d = nil error", limit)
		}
	}
}

// ---- revocation ----

func testRevokeSession(t *testing.T, st Store) {
	ctx := t.Context()
	_, sess, tok := startSession(t, st)
	_, other, otherTok := startSession(t, st)
	t1 := t0.Add(time.Minute)
	mustNil(t, st.RevokeSession(ctx, sess.ID(), t1))
	assertStored(t, st, sess.Revoked(t1))

	mustRefuseRefresh(t, st, tok.Plaintext(), t1, noPolicy)

	_, err := refresh(t, st, otherTok.Plaintext(), t1, noPolicy, domain.ClientInfo{})
	mustNil(t, err)
	assertActive(t, st, other)
}

func testRevokeIdempotent(t *testing.T, st Store) {
	ctx := t.Context()
	_, sess, _ := startSession(t, st)
	t1 := t0.Add(time.Minute)
	mustNil(t, st.RevokeSession(ctx, sess.ID(), t1))
	mustNil(t, st.RevokeSession(ctx, sess.ID(), t1.Add(time.Hour)))
	assertRevokedAt(t, st, sess, t1) // the first revocation time stays
}

func testRevokeUnknownSession(t *testing.T, st Store) {
	ctx := t.Context()
	_, sess, _ := startSession(t, st)
	mustNil(t, st.RevokeSession(ctx, newSessionID(), t0))
	mustNil(t, st.RevokeSession(ctx, domain.SessionID("not-a-uuid"), t0))
	assertStored(t, st, sess)
}

// revokeByToken is the logout of one session by its refresh token, as
// sessions.Service.Logout does it: read the token's session, revoke it.
func revokeByToken(t *testing.T, st Store, tok domain.RefreshTokenHash, now time.Time) domain.Session {
	t.Helper()
	_, sess, _, err := st.RefreshToken(t.Context(), tok)
	mustNil(t, err)
	mustNil(t, st.RevokeSession(t.Context(), sess.ID(), now))
	return sess
}

func testRevokeByLiveToken(t *testing.T, st Store) {
	_, sess, tok := startSession(t, st)
	_, other, _ := startSession(t, st)
	t1 := t0.Add(time.Minute)
	named := revokeByToken(t, st, tok.Hash(), t1)
	assertSessionFull(t, named, sess)
	assertStored(t, st, sess.Revoked(t1))
	// Again: the token still names its session, whose time stays.
	named = revokeByToken(t, st, tok.Hash(), t1.Add(time.Hour))
	assertSessionFull(t, named, sess.Revoked(t1))
	assertRevokedAt(t, st, sess, t1)

	mustRefuseRefresh(t, st, tok.Plaintext(), t1, noPolicy)
	assertStored(t, st, other)
}

func testRevokeBySpentToken(t *testing.T, st Store) {
	_, sess, first := startSession(t, st)
	t1 := t0.Add(time.Minute)
	r, err := refresh(t, st, first.Plaintext(), t1, noPolicy, domain.ClientInfo{})
	mustNil(t, err)

	// A logout with an old token of the session still ends it.
	t2 := t1.Add(time.Minute)
	named := revokeByToken(t, st, first.Hash(), t2)
	if named.ID() != sess.ID() {
		t.Fatalf("the spent token names session %s, want %s", named.ID(), sess.ID())
	}
	assertRevokedAt(t, st, sess, t2)
	mustRefuseRefresh(t, st, r.next, t2, noPolicy)
}

func testRevokeAllSessions(t *testing.T, st Store) {
	ctx := t.Context()
	u, a, aFirst := startSession(t, st)
	b, bFirst := startSessionOf(t, st, u)
	ended, _ := startSessionOf(t, st, u)
	_, other, otherTok := startSession(t, st)

	t1 := t0.Add(time.Minute)
	mustNil(t, st.RevokeSession(ctx, ended.ID(), t1))
	// A refreshed session is still active: it counts.
	_, err := refresh(t, st, bFirst.Plaintext(), t1, noPolicy, domain.ClientInfo{})
	mustNil(t, err)

	t2 := t1.Add(time.Minute)
	n, err := st.RevokeSessions(ctx, u.ID(), "", t2)
	mustNil(t, err)
	if n != 2 {
		t.Fatalf("RevokeSessions = %d, want 2 (the already revoked session does not count)", n)
	}
	assertRevokedAt(t, st, a, t2)
	assertRevokedAt(t, st, b, t2)
	assertRevokedAt(t, st, ended, t1)
	mustRefuseRefresh(t, st, aFirst.Plaintext(), t2, noPolicy)

	// Idempotent: nothing left to end, and the times stay.
	n, err = st.RevokeSessions(ctx, u.ID(), "", t2.Add(time.Hour))
	mustNil(t, err)
	if n != 0 {
		t.Fatalf("second RevokeSessions = %d, want 0", n)
	}
	assertRevokedAt(t, st, a, t2)

	// Another user's session is untouched.
	_, err = refresh(t, st, otherTok.Plaintext(), t2, noPolicy, domain.ClientInfo{})
	mustNil(t, err)
	assertActive(t, st, other)

	// The user can log in again afterwards.
	fresh, _ := startSessionOf(t, st, u)
	assertStored(t, st, fresh)
}

func testRevokeSessionsUnknownUser(t *testing.T, st Store) {
	ctx := t.Context()
	_, sess, _ := startSession(t, st)
	noSessions := createUser(t, st, "idle@example.com")
	for _, id := range []domain.UserID{newUserID(), "not-a-uuid", noSessions.ID()} {
		for _, keep := range []domain.SessionID{"", sess.ID()} {
			n, err := st.RevokeSessions(ctx, id, keep, t0)
			if err != nil || n != 0 {
				t.Fatalf("RevokeSessions(%q, keep %q) = %d, %v; want 0, nil", id, keep, n, err)
			}
		}
	}
	assertStored(t, st, sess)
}

func testRevokeOtherSessions(t *testing.T, st Store) {
	ctx := t.Context()
	owner, keep, keepTok := startSession(t, st)
	a, _ := startSessionOf(t, st, owner)
	b, _ := startSessionOf(t, st, owner)
	ended, _ := startSessionOf(t, st, owner)
	_, other, _ := startSession(t, st)
	t1 := t0.Add(time.Minute)
	mustNil(t, st.RevokeSession(ctx, ended.ID(), t1))

	t2 := t1.Add(time.Minute)
	n, err := st.RevokeSessions(ctx, owner.ID(), keep.ID(), t2)
	mustNil(t, err)
	if n != 2 {
		t.Fatalf("RevokeSessions keeping one = %d, want 2", n)
	}
	assertRevokedAt(t, st, a, t2)
	assertRevokedAt(t, st, b, t2)
	assertRevokedAt(t, st, ended, t1)
	assertStored(t, st, keep)
	_, err = refresh(t, st, keepTok.Plaintext(), t2, policy, curl)
	mustNil(t, err)
	assertStored(t, st, other)

	n, err = st.RevokeSessions(ctx, owner.ID(), keep.ID(), t2.Add(time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("second RevokeSessions = %d, %v; want 0, nil", n, err)
	}
	// Keeping a session that is not the user's keeps nothing.
	t3 := t2.Add(2 * time.Hour)
	n, err = st.RevokeSessions(ctx, owner.ID(), other.ID(), t3)
	if err != nil || n != 1 {
		t.Fatalf("RevokeSessions keeping another user's session = %d, %v; want 1, nil", n, err)
	}
	assertRevokedAt(t, st, keep, t3)
	assertStored(t, st, other)
}

// concurrentRevoke has concurrent calls (two operators, two tabs, a
// retried command) end every session of a user but keep, and checks that
// they count each exactly once between them.
func concurrentRevoke(t *testing.T, st Store, sessions int, keepFirst bool) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	started := make([]domain.Session, sessions)
	for i := range started {
		started[i], _ = startSessionOf(t, st, u)
	}
	_, other, _ := startSession(t, st)
	var keep domain.SessionID
	ended := started
	if keepFirst {
		keep, ended = started[0].ID(), started[1:]
	}
	t1 := t0.Add(time.Minute)
	counts := make([]int, concurrent)
	errs := together(concurrent, func(i int) error {
		var err error
		counts[i], err = st.RevokeSessions(ctx, u.ID(), keep, t1)
		return err
	})
	total := 0
	for i, err := range errs {
		mustNil(t, err)
		total += counts[i]
	}
	if total != len(ended) {
		t.Fatalf("concurrent RevokeSessions counted %d in all (%v), want %d", total, counts, len(ended))
	}
	for _, s := range ended {
		assertRevokedAt(t, st, s, t1)
	}
	if keepFirst {
		assertStored(t, st, started[0])
	}
	assertStored(t, st, other)
}

func testConcurrentRevokeAll(t *testing.T, st Store)    { concurrentRevoke(t, st, 5, false) }
func testConcurrentRevokeOthers(t *testing.T, st Store) { concurrentRevoke(t, st, 6, true) }

func assertSessions(t *testing.T, got, want []domain.Session) {
	t.Helper()
	ids := func(ss []domain.Session) []domain.SessionID {
		out := make([]domain.SessionID, len(ss))
		for i, s := range ss {
			out[i] = s.ID()
		}
		return out
	}
	if !slices.Equal(ids(got), ids(want)) {
		t.Fatalf("sessions %v, want %v", ids(got), ids(want))
	}
	for i := range want {
		assertSession(t, got[i], want[i])
	}
}
