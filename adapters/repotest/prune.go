package repotest

import (
	"testing"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// pruneCases: what the pruner deletes (domain/retention.go) and, above
// all, what it must leave: a live session, the spent tokens of a usable
// session (presenting one is still reuse), an event inside the retention.
var pruneCases = []contractCase{
	{"Prune/SessionsAndTokensByTheRetentionRule", testPruneSessionsAndTokens},
	{"Prune/GraceKeepsEndedSessionsNotTheirTokens", testPruneGrace},
	{"Prune/AuditEventsBeforeTheCutoffOnly", testPruneAudit},
	{"Prune/EmptyStoreAndBadLimit", testPruneEmpty},
	{"Prune/LockCanBeTakenAndReleased", testPruneLock},
}

// pruneNow is the prune's "now": a week and half an hour after t0, so a
// session unused since t0 is idle (policy's week) and one used at t0+1h is not.
var pruneNow = t0.Add(168*time.Hour + 30*time.Minute)

// pruneWalk runs batches of limit until one is Done and sums them.
func pruneWalk(t *testing.T, limit int, batch func(ports.PruneBatch) (ports.PruneResult, error)) int {
	t.Helper()
	total := 0
	b := ports.PruneBatch{Limit: limit}
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatal("the prune never said Done")
		}
		r, err := batch(b)
		mustNil(t, err)
		if r.Pruned > limit {
			t.Fatalf("one batch of %d pruned %d", limit, r.Pruned)
		}
		total += r.Pruned
		if r.Done {
			return total
		}
		b.After = r.Next
	}
}

// pruneFixture is one user's sessions in every state the rule tells apart.
type pruneFixture struct {
	live, spentLive                 domain.Session      // usable at pruneNow
	liveTokens                      []string            // plaintexts: two spent, the last live
	expiredSpent                    domain.RefreshToken // spentLive's first token: spent, past its own expiry
	spentLiveNext                   string
	revoked, idle, old              domain.Session
	revokedTok, idleTok, oldTokHash domain.RefreshTokenHash
}

func newPruneFixture(t *testing.T, st Store) pruneFixture {
	t.Helper()
	ctx := t.Context()
	var f pruneFixture
	u := createUser(t, st, "prune@example.com")

	// live: opened at t0, refreshed twice: two spent tokens and a live one,
	// none expired; the session is usable at pruneNow.
	live, first := startSessionOf(t, st, u)
	f.live = live
	r1, err := refresh(t, st, first.Plaintext(), t0.Add(time.Hour), policy, curl)
	mustNil(t, err)
	r2, err := refresh(t, st, r1.next, t0.Add(time.Hour+time.Minute), policy, curl)
	mustNil(t, err)
	f.liveTokens = []string{first.Plaintext(), r1.next, r2.next}

	// spentLive: a usable session whose first token expired after it was spent.
	opened := t0.Add(100 * time.Hour)
	f.spentLive = newSession(u, opened, firefox)
	f.expiredSpent = newToken(t, opened)
	rec := f.expiredSpent.Record(f.spentLive.ID())
	rec.ExpiresAt = opened.Add(time.Hour)
	mustNil(t, st.CreateSession(ctx, f.spentLive, rec))
	r3, err := refresh(t, st, f.expiredSpent.Plaintext(), opened.Add(30*time.Minute), policy, curl)
	mustNil(t, err)
	f.spentLiveNext = r3.next

	// revoked: ended by a logout at t0+100h.
	var tok domain.RefreshToken
	f.revoked, tok = startSessionAt(t, st, u, opened, firefox)
	f.revokedTok = tok.Hash()
	mustNil(t, st.RevokeSession(ctx, f.revoked.ID(), opened.Add(time.Minute)))

	// idle: opened at t0, never used: idle since t0+168h.
	f.idle, tok = startSessionAt(t, st, u, t0, firefox)
	f.idleTok = tok.Hash()

	// old: used recently but opened 600h before t0: past its maximum age
	// (720h) since t0+120h, and its token expired with it.
	created := t0.Add(-600 * time.Hour)
	f.old = domain.RehydrateSession(newSessionID(), u.ID(), created, t0.Add(150*time.Hour), time.Time{}, firefox,
		[]domain.AuthMethod{domain.MethodPassword})
	oldTok := newToken(t, created)
	oldRec := oldTok.Record(f.old.ID())
	oldRec.ExpiresAt = created.Add(720 * time.Hour)
	mustNil(t, st.CreateSession(ctx, f.old, oldRec))
	f.oldTokHash = oldTok.Hash()
	return f
}

func assertSessionGone(t *testing.T, st Store, s domain.Session, gone bool) {
	t.Helper()
	_, _, err := st.SessionByID(t.Context(), s.ID())
	if gone {
		mustIs(t, err, domain.ErrNotFound)
	} else if err != nil {
		t.Fatalf("session %s was pruned: %v", s.ID(), err)
	}
}

func assertTokenGone(t *testing.T, st Store, h domain.RefreshTokenHash, gone bool) {
	t.Helper()
	_, _, _, err := st.RefreshToken(t.Context(), h)
	if gone {
		mustIs(t, err, domain.ErrNotFound)
	} else if err != nil {
		t.Fatalf("refresh token was pruned: %v", err)
	}
}

func pruneTokens(t *testing.T, st Store, rule domain.SessionRetention, limit int) int {
	t.Helper()
	return pruneWalk(t, limit, func(b ports.PruneBatch) (ports.PruneResult, error) {
		return st.PruneRefreshTokens(t.Context(), pruneNow, rule, b)
	})
}

func pruneSessions(t *testing.T, st Store, rule domain.SessionRetention, limit int) int {
	t.Helper()
	return pruneWalk(t, limit, func(b ports.PruneBatch) (ports.PruneResult, error) {
		return st.PruneSessions(t.Context(), pruneNow, rule, b)
	})
}

// testPruneSessionsAndTokens: with no grace, the revoked, idle and too old
// sessions go with their tokens, and so does a spent token past its own
// expiry; the usable sessions stay with every other token, spent ones
// included, and presenting a spent one is still reuse. Batches of 2 make
// the walk take several pages.
func testPruneSessionsAndTokens(t *testing.T, st Store) {
	f := newPruneFixture(t, st)
	rule := domain.SessionRetention{Policy: policy}

	if n := pruneTokens(t, st, rule, 2); n != 4 {
		t.Fatalf("pruned %d refresh tokens, want 4 (the expired spent one, the revoked, idle and old sessions')", n)
	}
	if n := pruneSessions(t, st, rule, 2); n != 3 {
		t.Fatalf("pruned %d sessions, want 3 (revoked, idle, old)", n)
	}
	for _, s := range []domain.Session{f.live, f.spentLive} {
		assertSessionGone(t, st, s, false)
	}
	for _, s := range []domain.Session{f.revoked, f.idle, f.old} {
		assertSessionGone(t, st, s, true)
	}
	for _, plain := range append(f.liveTokens, f.spentLiveNext) {
		h, err := domain.ParseRefreshToken(plain)
		mustNil(t, err)
		assertTokenGone(t, st, h, false)
	}
	for _, h := range []domain.RefreshTokenHash{f.expiredSpent.Hash(), f.revokedTok, f.idleTok, f.oldTokHash} {
		assertTokenGone(t, st, h, true)
	}
	// Again: nothing more goes.
	if n := pruneTokens(t, st, rule, 1000); n != 0 {
		t.Fatalf("a second prune took %d more tokens", n)
	}
	if n := pruneSessions(t, st, rule, 1000); n != 0 {
		t.Fatalf("a second prune took %d more sessions", n)
	}
	// The expired spent token is now unknown: refused, the session lives.
	_, err := refresh(t, st, f.expiredSpent.Plaintext(), pruneNow, policy, curl)
	mustIs(t, err, domain.ErrInvalidRefreshToken)
	mustNotIs(t, err, domain.ErrRefreshTokenReused)
	assertActive(t, st, f.spentLive)
	// A kept spent token still trips reuse detection.
	_, err = refresh(t, st, f.liveTokens[0], pruneNow, policy, curl)
	mustIs(t, err, domain.ErrRefreshTokenReused)
	assertRevokedAt(t, st, f.live, pruneNow)
}

// testPruneGrace: a grace of 60h keeps the sessions that ended less than
// 60h ago, not the one that ended longer ago; the tokens of ended sessions
// go at once whatever the grace.
func testPruneGrace(t *testing.T, st Store) {
	f := newPruneFixture(t, st)
	rule := domain.SessionRetention{Policy: policy, Grace: 60 * time.Hour}
	if n := pruneTokens(t, st, rule, 1000); n != 4 {
		t.Fatalf("pruned %d refresh tokens, want 4: the grace keeps sessions, not tokens", n)
	}
	// Ended: revoked t0+100h1m (68h29m ago: gone), old t0+120h (48h30m:
	// kept), idle t0+168h (30m: kept).
	if n := pruneSessions(t, st, rule, 1000); n != 1 {
		t.Fatalf("pruned %d sessions, want 1 (the one revoked more than 60h ago)", n)
	}
	assertSessionGone(t, st, f.revoked, true)
	for _, s := range []domain.Session{f.live, f.spentLive, f.idle, f.old} {
		assertSessionGone(t, st, s, false)
	}
}

// testPruneAudit: events dated before the cutoff go, oldest first, at most
// a batch at a time; one at the cutoff or after stays.
func testPruneAudit(t *testing.T, st Store) {
	ctx := t.Context()
	cutoff := t0.Add(-90 * 24 * time.Hour)
	var events []domain.AuditEvent
	for _, at := range []time.Time{t0, cutoff.Add(-time.Hour), cutoff, cutoff.Add(-48 * time.Hour), cutoff.Add(time.Microsecond), cutoff.Add(-time.Microsecond)} {
		events = append(events, domain.AuditEvent{ID: newEventID(), At: at, Type: domain.EventLoginFailed, Detail: "password"})
	}
	appendEvents(t, st, events...)
	p := st
	n := pruneWalk(t, 2, func(b ports.PruneBatch) (ports.PruneResult, error) { return p.PruneAuditEvents(ctx, cutoff, b) })
	if n != 3 {
		t.Fatalf("pruned %d events, want the 3 before the cutoff", n)
	}
	got, err := st.Events(ctx, ports.EventFilter{Limit: 100})
	mustNil(t, err)
	want := newestFirst([]domain.AuditEvent{events[0], events[2], events[4]})
	if len(got) != len(want) {
		t.Fatalf("%d events left, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i].ID != want[i].ID {
			t.Fatalf("event %d left is %s at %s, want %s at %s", i, got[i].ID, got[i].At, want[i].ID, want[i].At)
		}
	}
}

func testPruneEmpty(t *testing.T, st Store) {
	ctx := t.Context()
	p := st
	rule := domain.SessionRetention{Policy: policy}
	if n := pruneTokens(t, st, rule, 10); n != 0 {
		t.Fatalf("pruned %d tokens of an empty store", n)
	}
	if n := pruneSessions(t, st, rule, 10); n != 0 {
		t.Fatalf("pruned %d sessions of an empty store", n)
	}
	if _, err := p.PruneSessions(ctx, pruneNow, rule, ports.PruneBatch{}); err == nil {
		t.Error("PruneSessions with limit 0 = nil error")
	}
	if _, err := p.PruneRefreshTokens(ctx, pruneNow, rule, ports.PruneBatch{Limit: -1}); err == nil {
		t.Error("PruneRefreshTokens with limit -1 = nil error")
	}
	if _, err := p.PruneAuditEvents(ctx, pruneNow, ports.PruneBatch{}); err == nil {
		t.Error("PruneAuditEvents with limit 0 = nil error")
	}
}

func testPruneLock(t *testing.T, st Store) {
	p := st
	for range 2 {
		release, ok, err := p.LockPrune(t.Context())
		mustNil(t, err)
		if !ok {
			t.Fatal("LockPrune on a store nobody else prunes = not ok")
		}
		release()
	}
}
