package repotest

import (
	"testing"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// The reuse leeway (domain.SessionPolicy.ReuseLeeway): a spent token
// presented again shortly after its own rotation gets a sibling token in
// the same session instead of revoking it. With no leeway the strict cases
// above (Refresh/SpentTokenIsReuseAndRevokesSession,
// Refresh/ConcurrentRefreshesOfOneToken) hold unchanged.
var leewayCases = []contractCase{
	{"Refresh/Leeway/SpentTokenWithinLeewayGetsASibling", testLeewaySibling},
	{"Refresh/Leeway/ConcurrentRefreshesOfOneTokenAllSucceed", testLeewayConcurrent},
	{"Refresh/Leeway/SpentTokenPastLeewayRevokes", testLeewayPast},
	{"Refresh/Leeway/SiblingRotationNeedsASpentTokenOfTheSession", testLeewayStoreGuard},
}

// leeway is the suite's reuse leeway, on the production session policy.
var leeway = domain.SessionPolicy{IdleTimeout: policy.IdleTimeout, MaxAge: policy.MaxAge, ReuseLeeway: 10 * time.Second}

func testLeewaySibling(t *testing.T, st Store) {
	ctx := t.Context()
	u, sess, first := startSession(t, st)
	t1 := t0.Add(time.Minute)
	r1, err := refresh(t, st, first.Plaintext(), t1, leeway, curl)
	mustNil(t, err)

	// The spent token again, 5s later: a sibling, nothing revoked.
	t2 := t1.Add(5 * time.Second)
	s1, err := refresh(t, st, first.Plaintext(), t2, leeway, firefox)
	mustNil(t, err)
	assertUser(t, s1.owner, u)
	if s1.claims.SessionID != sess.ID() || s1.next == r1.next {
		t.Fatalf("sibling: session %s, same token as the successor %t; want session %s, a new token", s1.claims.SessionID, s1.next == r1.next, sess.ID())
	}
	assertStored(t, st, domain.RehydrateSession(sess.ID(), u.ID(), t0, t2, time.Time{}, firefox, sess.Methods()))

	// The presented token stays spent at its first spending; the sibling
	// is live in the session for the full TTL, capped like any successor.
	h0, err := domain.ParseRefreshToken(first.Plaintext())
	mustNil(t, err)
	rec, _, _, err := st.RefreshToken(ctx, h0)
	mustNil(t, err)
	assertRecord(t, rec, domain.RefreshTokenRecord{Hash: h0, SessionID: sess.ID(), ExpiresAt: first.ExpiresAt(), SpentAt: t1})
	hs, err := domain.ParseRefreshToken(s1.next)
	mustNil(t, err)
	rec, _, _, err = st.RefreshToken(ctx, hs)
	mustNil(t, err)
	assertRecord(t, rec, domain.RefreshTokenRecord{Hash: hs, SessionID: sess.ID(), ExpiresAt: leeway.CapExpiry(t0, t2.Add(ttl))})

	// Both the successor and the sibling rotate.
	t3 := t2.Add(time.Minute)
	for _, next := range []string{r1.next, s1.next} {
		_, err := refresh(t, st, next, t3, leeway, curl)
		mustNil(t, err)
	}
	assertActive(t, st, sess)

	got, err := st.Events(ctx, ports.EventFilter{Type: domain.EventRefreshed, Limit: 10})
	mustNil(t, err)
	if len(got) != 4 || got[2].Detail != application.DetailWithinReuseLeeway || got[2].Client != firefox || !got[2].At.Equal(t2) ||
		got[3].Detail != "" || got[0].Detail != "" || got[1].Detail != "" {
		t.Fatalf("refreshed events %+v; want four, the sibling's (second oldest) with detail %q", got, application.DetailWithinReuseLeeway)
	}
}

// Twenty clients present one token at once, with a 10s leeway: one
// rotates, the others get siblings; nobody is refused, the session lives,
// and every token handed out rotates in turn.
func testLeewayConcurrent(t *testing.T, st Store) {
	const n = 20
	u, sess, first := startSession(t, st)
	t1 := t0.Add(time.Minute)
	r := newRefresher(t, st, t1, leeway)
	results := make([]refreshed, n)
	errs := together(n, func(i int) error {
		var err error
		results[i], err = r.refresh(t.Context(), first.Plaintext(), curl)
		return err
	})
	seen := map[string]bool{}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("goroutine %d: refresh = %v; want every refresh within the leeway to succeed", i, err)
		}
		assertUser(t, results[i].owner, u)
		if results[i].claims.SessionID != sess.ID() || seen[results[i].next] {
			t.Fatalf("goroutine %d: session %s, token seen before %t", i, results[i].claims.SessionID, seen[results[i].next])
		}
		seen[results[i].next] = true
	}
	assertActive(t, st, sess)

	got, err := st.Events(t.Context(), ports.EventFilter{Type: domain.EventRefreshed, Limit: 2 * n})
	mustNil(t, err)
	siblings := 0
	for _, e := range got {
		if e.Detail == application.DetailWithinReuseLeeway {
			siblings++
		}
	}
	if len(got) != n || siblings != n-1 {
		t.Fatalf("%d refreshed events, %d of siblings; want %d and %d", len(got), siblings, n, n-1)
	}
	reused, err := st.Events(t.Context(), ports.EventFilter{Type: domain.EventRefreshReuseDetected, Limit: n})
	mustNil(t, err)
	if len(reused) != 0 {
		t.Fatalf("reuse events %+v within the leeway; want none", reused)
	}

	// Every token handed out is live and rotates.
	t2 := t1.Add(time.Minute)
	for i := range results {
		_, err := refresh(t, st, results[i].next, t2, leeway, curl)
		if err != nil {
			t.Fatalf("token of goroutine %d: refresh = %v", i, err)
		}
	}
	assertActive(t, st, sess)
}

// Past the leeway the spent token is reuse as ever: the session and every
// token of it, siblings included, die.
func testLeewayPast(t *testing.T, st Store) {
	_, sess, first := startSession(t, st)
	t1 := t0.Add(time.Minute)
	r1, err := refresh(t, st, first.Plaintext(), t1, leeway, curl)
	mustNil(t, err)
	s1, err := refresh(t, st, first.Plaintext(), t1.Add(leeway.ReuseLeeway), leeway, curl)
	mustNil(t, err)

	late := t1.Add(leeway.ReuseLeeway + time.Microsecond)
	_, err = refresh(t, st, first.Plaintext(), late, leeway, firefox)
	mustIs(t, err, domain.ErrRefreshTokenReused)
	assertRevokedAt(t, st, sess, late)
	for _, next := range []string{r1.next, s1.next} {
		mustRefuseRefresh(t, st, next, late, leeway)
	}
}

// The store applies a sibling rotation only to a spent token of the
// session it names, and never spends it again.
func testLeewayStoreGuard(t *testing.T, st Store) {
	ctx := t.Context()
	_, sess, first := startSession(t, st)
	_, other, _ := startSession(t, st)
	t1 := t0.Add(time.Minute)
	sibling := func(presented domain.RefreshToken, in domain.SessionID) error {
		next := newToken(t, t1)
		rec := next.Record(in)
		return st.Rotate(ctx, domain.Rotation{Spent: presented.Hash(), Next: rec, Session: in, At: t1, Client: curl, Sibling: true})
	}
	if err := sibling(first, sess.ID()); err == nil {
		t.Fatal("a sibling rotation of an unspent token succeeded")
	}
	assertStored(t, st, sess)

	_, err := refresh(t, st, first.Plaintext(), t1, leeway, curl)
	mustNil(t, err)
	if err := sibling(first, other.ID()); err == nil {
		t.Fatal("a sibling rotation naming another session succeeded")
	}
	assertStored(t, st, other)

	t2 := t1.Add(time.Second)
	next := newToken(t, t2)
	rot := domain.Rotation{Spent: first.Hash(), Next: next.Record(sess.ID()), Session: sess.ID(), At: t2, Client: firefox, Sibling: true}
	mustNil(t, st.Rotate(ctx, rot))
	rec, _, _, err := st.RefreshToken(ctx, first.Hash())
	mustNil(t, err)
	if !rec.SpentAt.Equal(t1) {
		t.Fatalf("presented token spent at %s after a sibling rotation; want still %s", rec.SpentAt, t1)
	}
	assertStored(t, st, domain.RehydrateSession(sess.ID(), sess.UserID(), t0, t2, time.Time{}, firefox, sess.Methods()))
}
