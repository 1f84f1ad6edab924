package repotest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var (
	firefox = domain.ClientInfo{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 Firefox/140.0"}
	curl    = domain.ClientInfo{IP: "2001:db8::1", UserAgent: "curl/8.14"}
	// policy is the production default: a week idle, thirty days in all.
	policy = domain.SessionPolicy{IdleTimeout: 168 * time.Hour, MaxAge: 720 * time.Hour}
)

// ---- sessions as first-class objects ----

func testCreateKeepsClient(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	sess := domain.NewSession(newSessionID(), u.ID(), t0, firefox)
	mustNil(t, st.CreateSession(ctx, sess, newToken(t, t0).Record(sess.ID()), ""))
	got, _, err := st.SessionByID(ctx, sess.ID())
	mustNil(t, err)
	assertSessionFull(t, got, sess)
	if !got.LastUsedAt().Equal(t0) || got.Client() != firefox {
		t.Fatalf("last use %s, client %+v; want %s, %+v", got.LastUsedAt(), got.Client(), t0, firefox)
	}
}

func testSessionByRefreshToken(t *testing.T, st Store) {
	ctx := t.Context()
	sess, first := startSession(t, st)
	got, err := st.SessionByRefreshToken(ctx, first.Hash(), t0)
	mustNil(t, err)
	assertSessionFull(t, got, sess)

	// Unknown, expired and spent tokens identify nobody.
	_, err = st.SessionByRefreshToken(ctx, newToken(t, t0).Hash(), t0)
	mustIs(t, err, domain.ErrNotFound)
	_, err = st.SessionByRefreshToken(ctx, first.Hash(), first.ExpiresAt())
	mustIs(t, err, domain.ErrNotFound)
	t1 := t0.Add(time.Minute)
	second := newToken(t, t1)
	_, _, err = st.RotateRefreshToken(ctx, first.Hash(), second.Record(""), t1, noPolicy, curl, nil)
	mustNil(t, err)
	_, err = st.SessionByRefreshToken(ctx, first.Hash(), t1)
	mustIs(t, err, domain.ErrNotFound)

	// A live token of a revoked session still names it: the caller decides.
	got, err = st.SessionByRefreshToken(ctx, second.Hash(), t1)
	mustNil(t, err)
	if got.ID() != sess.ID() || !got.LastUsedAt().Equal(t1) || got.Client() != curl {
		t.Fatalf("after rotation: %s last use %s client %+v", got.ID(), got.LastUsedAt(), got.Client())
	}
	mustNil(t, st.RevokeSession(ctx, sess.ID(), t1))
	got, err = st.SessionByRefreshToken(ctx, second.Hash(), t1)
	mustNil(t, err)
	if got.Active() {
		t.Fatal("a revoked session reported active")
	}
}

func testSessionsOfUser(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	other := createUser(t, st, "grace@example.com")
	start := func(owner domain.User, at time.Time, c domain.ClientInfo) (domain.Session, domain.RefreshToken) {
		t.Helper()
		sess := domain.NewSession(newSessionID(), owner.ID(), at, c)
		tok := newToken(t, at)
		mustNil(t, st.CreateSession(ctx, sess, tok.Record(sess.ID()), ""))
		return sess, tok
	}
	day := 24 * time.Hour
	// Created at t0 and kept in use: usable until t0+30d.
	old, oldTok := start(u, t0, firefox)
	// Created a day later, never used again: idle after t0+8d.
	idle, _ := start(u, t0.Add(day), curl)
	// Two days later, revoked.
	revoked, _ := start(u, t0.Add(2*day), firefox)
	mustNil(t, st.RevokeSession(ctx, revoked.ID(), t0.Add(2*day)))
	// Three days later: fresh.
	fresh, _ := start(u, t0.Add(3*day), curl)
	start(other, t0.Add(3*day), firefox)

	sameInstant, _ := start(u, t0.Add(3*day), firefox) // ties break by id, descending
	newestFirst := []domain.Session{fresh, sameInstant}
	if fresh.ID() < sameInstant.ID() {
		newestFirst = []domain.Session{sameInstant, fresh}
	}

	at := t0.Add(4 * day)
	got, err := st.SessionsOfUser(ctx, u.ID(), at, policy, 10)
	mustNil(t, err)
	assertSessions(t, got, append(slices.Clone(newestFirst), idle, old))

	// A week after its only use the idle one is gone; rotate the old one
	// meanwhile, which keeps it.
	t1 := t0.Add(6 * day)
	_, _, err = st.RotateRefreshToken(ctx, oldTok.Hash(), newToken(t, t1).Record(""), t1, policy, curl, nil)
	mustNil(t, err)
	at = t0.Add(8 * day)
	got, err = st.SessionsOfUser(ctx, u.ID(), at, policy, 10)
	mustNil(t, err)
	assertSessions(t, got, append(slices.Clone(newestFirst), old))
	if !got[2].LastUsedAt().Equal(t1) || got[2].Client() != curl {
		t.Fatalf("rotated session listed with last use %s, client %+v", got[2].LastUsedAt(), got[2].Client())
	}
	// One microsecond before the idle limit it was still there.
	got, err = st.SessionsOfUser(ctx, u.ID(), t0.Add(day+168*time.Hour-time.Microsecond), policy, 10)
	mustNil(t, err)
	if len(got) != 4 {
		t.Fatalf("just before the idle limit: %d sessions, want 4", len(got))
	}

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
		sess := domain.NewSession(newSessionID(), u.ID(), t0.Add(time.Duration(i)*time.Minute), firefox)
		mustNil(t, st.CreateSession(ctx, sess, newToken(t, t0).Record(sess.ID()), ""))
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

func testRotateTouches(t *testing.T, st Store) {
	ctx := t.Context()
	sess, first := startSession(t, st)
	t1 := t0.Add(time.Hour)
	got, owner, err := st.RotateRefreshToken(ctx, first.Hash(), newToken(t, t1).Record(""), t1, policy, curl, nil)
	mustNil(t, err)
	want := domain.RehydrateSession(sess.ID(), sess.UserID(), sess.CreatedAt(), t1, time.Time{}, curl)
	assertSessionFull(t, got, want)
	if owner.ID() != sess.UserID() {
		t.Fatalf("owner %s, want %s", owner.ID(), sess.UserID())
	}
	stored, _, err := st.SessionByID(ctx, sess.ID())
	mustNil(t, err)
	assertSessionFull(t, stored, want)
}

func testRotateIdle(t *testing.T, st Store) {
	ctx := t.Context()
	sess, first := startSession(t, st)
	short := domain.SessionPolicy{IdleTimeout: time.Hour, MaxAge: 720 * time.Hour}
	at := t0.Add(time.Hour)
	_, _, err := st.RotateRefreshToken(ctx, first.Hash(), newToken(t, at).Record(""), at, short, curl, nil)
	mustIs(t, err, domain.ErrInvalidRefreshToken)
	mustNotIs(t, err, domain.ErrRefreshTokenReused)
	stored, _, err := st.SessionByID(ctx, sess.ID())
	mustNil(t, err)
	assertSessionFull(t, stored, sess) // neither revoked nor touched

	// The token was not spent: a microsecond earlier it still rotates.
	before := at.Add(-time.Microsecond)
	_, _, err = st.RotateRefreshToken(ctx, first.Hash(), newToken(t, before).Record(""), before, short, curl, nil)
	mustNil(t, err)
}

func testRotateIdleRestarts(t *testing.T, st Store) {
	ctx := t.Context()
	_, tok := startSession(t, st)
	short := domain.SessionPolicy{IdleTimeout: time.Hour, MaxAge: 720 * time.Hour}
	at := t0
	for range 5 { // five hours, never an hour idle
		at = at.Add(59 * time.Minute)
		next := newToken(t, at)
		_, _, err := st.RotateRefreshToken(ctx, tok.Hash(), next.Record(""), at, short, curl, nil)
		mustNil(t, err)
		tok = next
	}
}

func testRotateTooOld(t *testing.T, st Store) {
	ctx := t.Context()
	_, tok := startSession(t, st)
	p := domain.SessionPolicy{IdleTimeout: time.Hour, MaxAge: 2 * time.Hour}
	at := t0
	for range 2 {
		at = at.Add(40 * time.Minute)
		next := newToken(t, at)
		_, _, err := st.RotateRefreshToken(ctx, tok.Hash(), next.Record(""), at, p, curl, nil)
		mustNil(t, err)
		tok = next
	}
	// Used 40 minutes ago, but two hours old.
	end := t0.Add(2 * time.Hour)
	_, _, err := st.RotateRefreshToken(ctx, tok.Hash(), newToken(t, end).Record(""), end, p, curl, nil)
	mustIs(t, err, domain.ErrInvalidRefreshToken)
	mustNotIs(t, err, domain.ErrRefreshTokenReused)
}

// The successor's stored expiry is capped at creation + MaxAge: shown by
// rotating it later with no policy at all, so only the token's own expiry
// can refuse it.
func testRotateCapsExpiry(t *testing.T, st Store) {
	ctx := t.Context()
	_, first := startSession(t, st)
	p := domain.SessionPolicy{MaxAge: 2 * time.Hour}
	t1 := t0.Add(90 * time.Minute)
	second := newToken(t, t1) // expires t1 + 720h, uncapped
	_, _, err := st.RotateRefreshToken(ctx, first.Hash(), second.Record(""), t1, p, curl, nil)
	mustNil(t, err)

	end := t0.Add(2 * time.Hour)
	_, _, err = st.RotateRefreshToken(ctx, second.Hash(), newToken(t, end).Record(""), end, noPolicy, curl, nil)
	mustIs(t, err, domain.ErrInvalidRefreshToken)
	mustNotIs(t, err, domain.ErrRefreshTokenReused)
	before := end.Add(-time.Microsecond)
	_, _, err = st.RotateRefreshToken(ctx, second.Hash(), newToken(t, before).Record(""), before, noPolicy, curl, nil)
	mustNil(t, err)
}

// testRotateWritesEvent: the event handed to a rotation is appended with
// the rotated session's ids when the rotation succeeds, and not at all when
// it is refused (spent, unknown).
func testRotateWritesEvent(t *testing.T, st Store) {
	ctx := t.Context()
	sess, first := startSession(t, st)
	t1 := t0.Add(time.Minute)
	ok := domain.AuditEvent{ID: newEventID(), At: t1, Type: domain.EventRefreshed, Client: curl}
	_, _, err := st.RotateRefreshToken(ctx, first.Hash(), newToken(t, t1).Record(""), t1, policy, curl, &ok)
	mustNil(t, err)
	refused := domain.AuditEvent{ID: newEventID(), At: t1, Type: domain.EventRefreshed}
	_, _, err = st.RotateRefreshToken(ctx, first.Hash(), newToken(t, t1).Record(""), t1, policy, curl, &refused) // spent
	mustIs(t, err, domain.ErrRefreshTokenReused)
	_, _, err = st.RotateRefreshToken(ctx, newToken(t, t1).Hash(), newToken(t, t1).Record(""), t1, policy, curl, &refused) // unknown
	mustIs(t, err, domain.ErrInvalidRefreshToken)

	got, err := st.Events(ctx, ports.EventFilter{Type: domain.EventRefreshed, Limit: 10})
	mustNil(t, err)
	if len(got) != 1 || got[0].ID != ok.ID || got[0].UserID != sess.UserID() || got[0].SessionID != sess.ID() ||
		got[0].Client != curl || !got[0].At.Equal(t1) {
		t.Fatalf("events after one good and two refused rotations: %+v; want only %s for session %s", got, ok.ID, sess.ID())
	}
}

func testRotateReuseReturnsSession(t *testing.T, st Store) {
	ctx := t.Context()
	sess, first := startSession(t, st)
	t1 := t0.Add(time.Minute)
	_, _, err := st.RotateRefreshToken(ctx, first.Hash(), newToken(t, t1).Record(""), t1, policy, curl, nil)
	mustNil(t, err)
	t2 := t1.Add(time.Minute)
	got, _, err := st.RotateRefreshToken(ctx, first.Hash(), newToken(t, t2).Record(""), t2, policy, firefox, nil)
	mustIs(t, err, domain.ErrRefreshTokenReused)
	if got.ID() != sess.ID() || got.UserID() != sess.UserID() || got.Active() {
		t.Fatalf("reuse returned session %s of %s (active %t); want %s of %s, revoked", got.ID(), got.UserID(), got.Active(), sess.ID(), sess.UserID())
	}
	assertRevokedAt(t, st, sess, t2)
}

func testRevokeByTokenReturnsSession(t *testing.T, st Store) {
	ctx := t.Context()
	sess, tok := startSession(t, st)
	t1 := t0.Add(time.Minute)
	got, err := st.RevokeSessionByRefreshToken(ctx, tok.Hash(), t1)
	mustNil(t, err)
	assertSessionFull(t, got, domain.RehydrateSession(sess.ID(), sess.UserID(), sess.CreatedAt(), sess.LastUsedAt(), t1, sess.Client()))
	got, err = st.RevokeSessionByRefreshToken(ctx, tok.Hash(), t1.Add(time.Hour))
	mustNil(t, err)
	if !got.RevokedAt().Equal(t1) {
		t.Fatalf("second revocation returned revoked_at %s, want the first, %s", got.RevokedAt(), t1)
	}
	got, err = st.RevokeSessionByRefreshToken(ctx, newToken(t, t0).Hash(), t1)
	if err != nil || got.ID() != "" {
		t.Fatalf("unknown token: %s, %v; want the zero session, nil", got.ID(), err)
	}
}

func testRevokeUserSession(t *testing.T, st Store) {
	ctx := t.Context()
	mine, _ := startSession(t, st)
	theirs, _ := startSession(t, st)
	t1 := t0.Add(time.Minute)

	// Another user's session, an unknown id and a malformed one: all the
	// same not found, and nothing changes.
	for _, id := range []domain.SessionID{theirs.ID(), newSessionID(), "not-a-uuid"} {
		mustIs(t, st.RevokeUserSession(ctx, mine.UserID(), id, t1), domain.ErrNotFound)
	}
	mustIs(t, st.RevokeUserSession(ctx, "not-a-uuid", mine.ID(), t1), domain.ErrNotFound)
	stored, _, err := st.SessionByID(ctx, theirs.ID())
	mustNil(t, err)
	assertSessionFull(t, stored, theirs)

	mustNil(t, st.RevokeUserSession(ctx, mine.UserID(), mine.ID(), t1))
	assertRevokedAt(t, st, mine, t1)
	mustNil(t, st.RevokeUserSession(ctx, mine.UserID(), mine.ID(), t1.Add(time.Hour)))
	assertRevokedAt(t, st, mine, t1)
}

func testRevokeOtherSessions(t *testing.T, st Store) {
	ctx := t.Context()
	keep, keepTok := startSession(t, st)
	_, owner, err := st.SessionByID(ctx, keep.ID())
	mustNil(t, err)
	a, _ := startSessionOf(t, st, owner)
	b, _ := startSessionOf(t, st, owner)
	ended, _ := startSessionOf(t, st, owner)
	other, _ := startSession(t, st)
	t1 := t0.Add(time.Minute)
	mustNil(t, st.RevokeSession(ctx, ended.ID(), t1))

	t2 := t1.Add(time.Minute)
	n, err := st.RevokeOtherSessions(ctx, owner.ID(), keep.ID(), t2)
	mustNil(t, err)
	if n != 2 {
		t.Fatalf("RevokeOtherSessions = %d, want 2", n)
	}
	assertRevokedAt(t, st, a, t2)
	assertRevokedAt(t, st, b, t2)
	assertRevokedAt(t, st, ended, t1)
	stored, _, err := st.SessionByID(ctx, keep.ID())
	mustNil(t, err)
	assertSessionFull(t, stored, keep)
	_, _, err = st.RotateRefreshToken(ctx, keepTok.Hash(), newToken(t, t2).Record(""), t2, policy, curl, nil)
	mustNil(t, err)
	stored, _, err = st.SessionByID(ctx, other.ID())
	mustNil(t, err)
	assertSessionFull(t, stored, other)

	n, err = st.RevokeOtherSessions(ctx, owner.ID(), keep.ID(), t2.Add(time.Hour))
	if err != nil || n != 0 {
		t.Fatalf("second RevokeOtherSessions = %d, %v; want 0, nil", n, err)
	}
	// Keeping a session that is not the user's keeps nothing.
	n, err = st.RevokeOtherSessions(ctx, owner.ID(), other.ID(), t2.Add(time.Hour))
	if err != nil || n != 1 {
		t.Fatalf("RevokeOtherSessions keeping another user's session = %d, %v; want 1, nil", n, err)
	}
	for _, id := range []domain.UserID{newUserID(), "not-a-uuid"} {
		if n, err := st.RevokeOtherSessions(ctx, id, keep.ID(), t2); err != nil || n != 0 {
			t.Fatalf("RevokeOtherSessions(%q) = %d, %v; want 0, nil", id, n, err)
		}
	}
}

// Concurrent "log out my other devices" (two tabs): every other session
// ends, each counted once, and the kept one survives.
func testConcurrentRevokeOtherSessions(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	const sessions = 6
	started := make([]domain.Session, sessions)
	for i := range started {
		started[i], _ = startSessionOf(t, st, u)
	}
	t1 := t0.Add(time.Minute)
	counts := make([]int, concurrent)
	errs := together(concurrent, func(i int) error {
		var err error
		counts[i], err = st.RevokeOtherSessions(ctx, u.ID(), started[0].ID(), t1)
		return err
	})
	total := 0
	for i, err := range errs {
		mustNil(t, err)
		total += counts[i]
	}
	if total != sessions-1 {
		t.Fatalf("concurrent RevokeOtherSessions counted %d in all (%v), want %d", total, counts, sessions-1)
	}
	for _, s := range started[1:] {
		assertRevokedAt(t, st, s, t1)
	}
	stored, _, err := st.SessionByID(ctx, started[0].ID())
	mustNil(t, err)
	if !stored.Active() {
		t.Fatal("the kept session was revoked")
	}
}

// ---- login throttle ----

var throttlePolicy = domain.ThrottlePolicy{FreeAttempts: 5, BaseDelay: time.Second, MaxDelay: time.Minute, Window: time.Hour}

func throttleKey(t *testing.T) domain.ThrottleKey {
	return domain.ThrottleKeyFor(mustEmail(t, uuid.NewString()+"@example.com"))
}

func claim(t *testing.T, st Store, key domain.ThrottleKey, now time.Time) (bool, time.Time) {
	t.Helper()
	ok, until, err := st.ClaimLoginAttempt(t.Context(), key, now, throttlePolicy)
	mustNil(t, err)
	return ok, until
}

func mustAdmit(t *testing.T, st Store, key domain.ThrottleKey, now, wantLock time.Time) {
	t.Helper()
	ok, until := claim(t, st, key, now)
	if !ok || !until.Equal(wantLock) {
		t.Fatalf("claim at %s = %t, locked until %s; want admitted, locked until %s", now.Sub(t0), ok, until.Sub(t0), wantLock.Sub(t0))
	}
}

func mustRefuse(t *testing.T, st Store, key domain.ThrottleKey, now, wantLock time.Time) {
	t.Helper()
	ok, until := claim(t, st, key, now)
	if ok || !until.Equal(wantLock) {
		t.Fatalf("claim at %s = %t, locked until %s; want refused, locked until %s", now.Sub(t0), ok, until.Sub(t0), wantLock.Sub(t0))
	}
}

func testThrottleBackoff(t *testing.T, st Store) {
	key := throttleKey(t)
	for range 4 {
		mustAdmit(t, st, key, t0, t0)
	}
	mustAdmit(t, st, key, t0, t0.Add(time.Second)) // the fifth is free but locks
	mustRefuse(t, st, key, t0, t0.Add(time.Second))
	mustRefuse(t, st, key, t0.Add(time.Second-time.Microsecond), t0.Add(time.Second))
	at := t0.Add(time.Second)
	mustAdmit(t, st, key, at, at.Add(2*time.Second))
	mustRefuse(t, st, key, at.Add(time.Second), at.Add(2*time.Second))
	at = at.Add(2 * time.Second)
	mustAdmit(t, st, key, at, at.Add(4*time.Second))
	at = at.Add(10 * time.Second) // waiting longer does not lower the count
	mustAdmit(t, st, key, at, at.Add(8*time.Second))
}

func testThrottleCap(t *testing.T, st Store) {
	key := throttleKey(t)
	at := t0
	var lock time.Duration
	for range 40 {
		ok, until := claim(t, st, key, at)
		if !ok {
			t.Fatalf("claim at the end of the lock refused")
		}
		lock = until.Sub(at)
		if lock > time.Minute {
			t.Fatalf("lock of %s exceeds the one-minute cap", lock)
		}
		at = until
		if lock == 0 {
			at = at.Add(time.Microsecond)
		}
	}
	if lock != time.Minute {
		t.Fatalf("after 40 attempts the lock is %s, want the cap", lock)
	}
}

func testThrottleWindow(t *testing.T, st Store) {
	key := throttleKey(t)
	for range 4 {
		mustAdmit(t, st, key, t0, t0)
	}
	mustAdmit(t, st, key, t0, t0.Add(time.Second))
	// An hour after the window began the count starts over: four more free.
	later := t0.Add(time.Hour)
	for range 4 {
		mustAdmit(t, st, key, later, later)
	}
	mustAdmit(t, st, key, later, later.Add(time.Second))
	mustRefuse(t, st, key, later, later.Add(time.Second))
	// Within the window it does not.
	at := later.Add(59 * time.Minute)
	mustAdmit(t, st, key, at, at.Add(2*time.Second))
}

// testThrottleRelease: each release gives back one claim, so claims that
// were all released never lock; a lock already earned stays.
func testThrottleRelease(t *testing.T, st Store) {
	ctx := t.Context()
	key := throttleKey(t)
	for range 20 { // twenty attempts the hasher refused: none counts
		claim(t, st, key, t0)
		mustNil(t, st.ReleaseLoginAttempt(ctx, key, t0))
	}
	for range 4 {
		mustAdmit(t, st, key, t0, t0)
	}
	// The fifth earns a one-second lock; releasing it keeps the lock.
	claim(t, st, key, t0)
	mustNil(t, st.ReleaseLoginAttempt(ctx, key, t0))
	mustRefuse(t, st, key, t0, t0.Add(time.Second))
	// After the lock the count is four again: the next claim is the fifth,
	// admitted with its one-second lock.
	at := t0.Add(time.Second)
	mustAdmit(t, st, key, at, at.Add(time.Second))
	mustNil(t, st.ReleaseLoginAttempt(ctx, throttleKey(t), t0)) // unknown: fine
}

// testThrottlePrune: a key goes once its window has passed and its lock
// has ended, not before; a pruned key starts afresh.
func testThrottlePrune(t *testing.T, st Store) {
	ctx := t.Context()
	old, recent := throttleKey(t), throttleKey(t)
	for range 6 {
		claim(t, st, old, t0) // locked until t0+2s
	}
	late := t0.Add(throttlePolicy.Window)
	claim(t, st, recent, late) // its window starts an hour later

	n, err := st.PruneLoginThrottle(ctx, t0.Add(30*time.Minute), throttlePolicy)
	mustNil(t, err)
	if n != 0 {
		t.Fatalf("pruned %d keys inside their window", n)
	}
	at := late.Add(time.Second)
	n, err = st.PruneLoginThrottle(ctx, at, throttlePolicy)
	mustNil(t, err)
	if n < 1 {
		t.Fatalf("pruned %d keys, want the stale one", n)
	}
	// The stale key starts afresh (its first claim locks nothing); the
	// recent one kept its count (a second claim in its window).
	mustAdmit(t, st, old, at, at)
	ok, _ := claim(t, st, recent, at)
	if !ok {
		t.Fatal("the recent key was refused")
	}
}

func testThrottleReset(t *testing.T, st Store) {
	ctx := t.Context()
	key := throttleKey(t)
	for range 5 {
		claim(t, st, key, t0)
	}
	mustRefuse(t, st, key, t0, t0.Add(time.Second))
	mustNil(t, st.ResetLoginAttempts(ctx, key))
	mustAdmit(t, st, key, t0, t0)
	mustNil(t, st.ResetLoginAttempts(ctx, throttleKey(t))) // unknown: fine
}

func testThrottleKeys(t *testing.T, st Store) {
	a, b := throttleKey(t), throttleKey(t)
	for range 5 {
		claim(t, st, a, t0)
	}
	mustRefuse(t, st, a, t0, t0.Add(time.Second))
	mustAdmit(t, st, b, t0, t0)
}

// The heart of the throttle: N concurrent wrong guesses cannot all slip
// past the count; exactly the free attempts are admitted.
func testThrottleConcurrent(t *testing.T, st Store) {
	const n = 50
	key := throttleKey(t)
	admitted := make([]bool, n)
	errs := together(n, func(i int) error {
		var err error
		admitted[i], _, err = st.ClaimLoginAttempt(t.Context(), key, t0, throttlePolicy)
		return err
	})
	count := 0
	for i, err := range errs {
		mustNil(t, err)
		if admitted[i] {
			count++
		}
	}
	if count != throttlePolicy.FreeAttempts {
		t.Fatalf("%d of %d concurrent claims admitted, want exactly %d", count, n, throttlePolicy.FreeAttempts)
	}
}

// ---- audit log ----

func newEventID() domain.EventID { return domain.EventID(uuid.Must(uuid.NewV7()).String()) }

func appendEvents(t *testing.T, st Store, events ...domain.AuditEvent) {
	t.Helper()
	for _, e := range events {
		mustNil(t, st.Append(t.Context(), e))
	}
}

// newestFirst sorts like the port promises: descending (At, ID).
func newestFirst(events []domain.AuditEvent) []domain.AuditEvent {
	out := slices.Clone(events)
	slices.SortFunc(out, func(a, b domain.AuditEvent) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return strings.Compare(string(b.ID), string(a.ID))
	})
	return out
}

func testAuditRoundTrip(t *testing.T, st Store) {
	user, sess := newUserID(), newSessionID()
	events := []domain.AuditEvent{
		{ID: newEventID(), At: t0, Type: domain.EventLoginSucceeded, UserID: user, SessionID: sess, Client: firefox},
		{ID: newEventID(), At: t0.Add(time.Second), Type: domain.EventLoginFailed, Client: curl, Detail: "no account has this email"},
		{ID: newEventID(), At: t0.Add(-time.Hour), Type: domain.EventRoleChanged, UserID: user, Detail: "user -> admin"},
		{ID: newEventID(), At: t0, Type: domain.EventRateLimited, Client: domain.ClientInfo{IP: "198.51.100.1"}},
	}
	appendEvents(t, st, events...)
	got, err := st.Events(t.Context(), ports.EventFilter{Limit: 10})
	mustNil(t, err)
	assertEvents(t, got, newestFirst(events))
}

func testAuditPages(t *testing.T, st Store) {
	var events []domain.AuditEvent
	for i := range 7 {
		// Pairs share an instant, so the id must break ties.
		events = append(events, domain.AuditEvent{ID: newEventID(), At: t0.Add(time.Duration(i/2) * time.Second), Type: domain.EventRefreshed, UserID: newUserID()})
	}
	appendEvents(t, st, events...)
	want := newestFirst(events)
	for _, limit := range []int{1, 2, 3, 7, 8} {
		var walked []domain.AuditEvent
		var before ports.EventCursor
		for pages := 0; ; pages++ {
			if pages > len(events) {
				t.Fatalf("limit %d: no end after %d pages", limit, pages)
			}
			page, err := st.Events(t.Context(), ports.EventFilter{Before: before, Limit: limit})
			mustNil(t, err)
			if len(page) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			walked = append(walked, page...)
			last := page[len(page)-1]
			before = ports.EventCursor{At: last.At, ID: last.ID}
		}
		assertEvents(t, walked, want)
	}
}

func testAuditFilter(t *testing.T, st Store) {
	ada, grace := newUserID(), newUserID()
	events := []domain.AuditEvent{
		{ID: newEventID(), At: t0, Type: domain.EventLoginSucceeded, UserID: ada},
		{ID: newEventID(), At: t0.Add(time.Second), Type: domain.EventLoginFailed, UserID: ada},
		{ID: newEventID(), At: t0.Add(2 * time.Second), Type: domain.EventLoginFailed, UserID: grace},
		{ID: newEventID(), At: t0.Add(3 * time.Second), Type: domain.EventLoginFailed},
		{ID: newEventID(), At: t0.Add(4 * time.Second), Type: domain.EventLoggedOut, UserID: ada},
	}
	appendEvents(t, st, events...)
	for _, tc := range []struct {
		f    ports.EventFilter
		want []domain.AuditEvent
	}{
		{ports.EventFilter{UserID: ada}, []domain.AuditEvent{events[4], events[1], events[0]}},
		{ports.EventFilter{Type: domain.EventLoginFailed}, []domain.AuditEvent{events[3], events[2], events[1]}},
		{ports.EventFilter{UserID: ada, Type: domain.EventLoginFailed}, []domain.AuditEvent{events[1]}},
		{ports.EventFilter{UserID: newUserID()}, nil},
		{ports.EventFilter{UserID: "not-a-uuid"}, nil},
		{ports.EventFilter{UserID: ada, Before: ports.EventCursor{At: events[4].At, ID: events[4].ID}}, []domain.AuditEvent{events[1], events[0]}},
	} {
		tc.f.Limit = 10
		got, err := st.Events(t.Context(), tc.f)
		mustNil(t, err)
		assertEvents(t, got, tc.want)
	}
}

func testAuditBadLimit(t *testing.T, st Store) {
	for _, limit := range []int{0, -1} {
		if _, err := st.Events(t.Context(), ports.EventFilter{Limit: limit}); err == nil {
			t.Errorf("Events with limit %d = nil error", limit)
		}
	}
}

func testAuditConcurrent(t *testing.T, st Store) {
	events := make([]domain.AuditEvent, concurrent)
	for i := range events {
		events[i] = domain.AuditEvent{ID: newEventID(), At: t0, Type: domain.EventLoginFailed, Detail: fmt.Sprint("attempt ", i)}
	}
	errs := together(concurrent, func(i int) error { return st.Append(t.Context(), events[i]) })
	for _, err := range errs {
		mustNil(t, err)
	}
	got, err := st.Events(t.Context(), ports.EventFilter{Limit: 2 * concurrent})
	mustNil(t, err)
	assertEvents(t, got, newestFirst(events))
}

// ---- helpers ----

func assertSessionFull(t *testing.T, got, want domain.Session) {
	t.Helper()
	assertSession(t, got, want)
	if !got.LastUsedAt().Equal(want.LastUsedAt()) || got.Client() != want.Client() {
		t.Fatalf("session %s: last use %s client %+v; want %s %+v", got.ID(),
			got.LastUsedAt().Format(time.RFC3339Nano), got.Client(), want.LastUsedAt().Format(time.RFC3339Nano), want.Client())
	}
}

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

func assertEvents(t *testing.T, got, want []domain.AuditEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d:\n got  %+v\n want %+v", len(got), len(want), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || !g.At.Equal(w.At) || g.Type != w.Type || g.UserID != w.UserID || g.SessionID != w.SessionID ||
			g.Client != w.Client || g.Detail != w.Detail {
			t.Fatalf("event %d:\n got  %+v\n want %+v", i, g, w)
		}
	}
}
