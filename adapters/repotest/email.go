package repotest

import (
	"crypto/rand"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var emailCases = []contractCase{
	{"Email/SetEmailMovesTheAccount", testSetEmail},
	{"Email/SetEmailTakenChangesNothing", testSetEmailTaken},
	{"Email/SetEmailUnknownUser", testSetEmailUnknownUser},
	{"Email/ConcurrentSetEmailOneWins", testConcurrentSetEmail},
	{"Email/MarkVerified", testMarkEmailVerified},
	{"Email/TokenRoundTrip", testEmailTokenRoundTrip},
	{"Email/TokenSingleUseUnderRace", testEmailTokenRace},
	{"Email/DeleteTokensByPurpose", testDeleteEmailTokens},
	{"Email/TokenAndMailRollBackTogether", testEmailTxRollback},
	{"Email/PruneExpiredTokens", testPruneEmailTokens},
	{"Outbox/EnqueueClaimSend", testOutboxRoundTrip},
	{"Outbox/FailedIsDueAgainLater", testOutboxFailed},
	{"Outbox/LeaseHidesUntilItEnds", testOutboxLease},
	{"Outbox/GiveUp", testOutboxGiveUp},
	{"Outbox/ConcurrentClaimsAreDisjoint", testOutboxConcurrentClaims},
	{"Outbox/ClaimOrderAndLimit", testOutboxOrder},
	{"Outbox/PruneEnded", testPruneMail},
	{"MailCap/AdmitsByTheCap", testMailCap},
	{"MailCap/ConcurrentAdmitsOne", testMailCapRace},
	{"MailCap/PruneStale", testPruneMailCaps},
}

func newMailID() domain.MailID { return domain.MailID(uuid.Must(uuid.NewV7()).String()) }

func newEmailToken(t *testing.T, u domain.User, purpose domain.EmailTokenPurpose, at time.Time, ttl time.Duration) (string, domain.EmailToken) {
	t.Helper()
	value, h, err := domain.NewEmailTokenValue(rand.Reader, purpose)
	mustNil(t, err)
	return value, domain.EmailToken{Hash: h, UserID: u.ID(), Purpose: purpose, Email: u.Email(), CreatedAt: at, ExpiresAt: at.Add(ttl)}
}

func queued(to string, at time.Time) domain.QueuedMail {
	return domain.QueuedMail{
		Mail:        domain.Mail{ID: newMailID(), Kind: domain.MailResetPassword, To: to, Link: "https://app.example/reset-password?token=secret", CreatedAt: at},
		NextAttempt: at,
	}
}

func testSetEmail(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	moved := mustEmail(t, "Ada.New@Example.com")
	mustNil(t, st.SetEmail(ctx, u.ID(), moved, true, t0))
	got, err := st.UserByEmail(ctx, mustEmail(t, "ada.new@example.com"))
	mustNil(t, err)
	if got.ID() != u.ID() || got.Email().String() != "Ada.New@Example.com" || !got.EmailVerified() {
		t.Fatalf("after SetEmail: %v %q verified=%v", got.ID(), got.Email(), got.EmailVerified())
	}
	_, err = st.UserByEmail(ctx, u.Email())
	mustIs(t, err, domain.ErrNotFound)
	// The old address is free again.
	createUser(t, st, "ada@example.com")
	// Moving to another spelling of one's own address is allowed.
	mustNil(t, st.SetEmail(ctx, u.ID(), mustEmail(t, "ADA.NEW@example.com"), false, t0))
	got, err = st.UserByID(ctx, u.ID())
	mustNil(t, err)
	if got.EmailVerified() {
		t.Fatal("SetEmail(verified=false) left the email verified")
	}
}

func testSetEmailTaken(t *testing.T, st Store) {
	ctx := t.Context()
	a := createUser(t, st, "ada@example.com")
	createUser(t, st, "bob@example.com")
	mustIs(t, st.SetEmail(ctx, a.ID(), mustEmail(t, "BOB@example.com"), true, t0), domain.ErrEmailTaken)
	got, err := st.UserByID(ctx, a.ID())
	mustNil(t, err)
	assertUser(t, got, a)
	got, err = st.UserByEmail(ctx, a.Email())
	mustNil(t, err)
	assertUser(t, got, a)
}

func testSetEmailUnknownUser(t *testing.T, st Store) {
	mustIs(t, st.SetEmail(t.Context(), newUserID(), mustEmail(t, "x@example.com"), true, t0), domain.ErrNotFound)
	mustIs(t, st.MarkEmailVerified(t.Context(), newUserID(), t0), domain.ErrNotFound)
}

// Users racing to move to one address, and a registration racing them:
// exactly one gets it.
func testConcurrentSetEmail(t *testing.T, st Store) {
	for round := range rounds {
		target := fmt.Sprintf("target-%d@example.com", round)
		users := make([]domain.User, concurrent)
		for i := range users {
			users[i] = createUser(t, st, uuid.NewString()+"@example.com")
		}
		errs := together(concurrent+1, func(i int) error {
			if i == concurrent {
				return register(t.Context(), st, newUser(t, target), hash)
			}
			return st.WithinTx(t.Context(), func(s ports.Stores) error {
				return s.Users.SetEmail(t.Context(), users[i].ID(), mustEmail(t, target), true, t0)
			})
		})
		won := 0
		for _, err := range errs {
			switch {
			case err == nil:
				won++
			case !errors.Is(err, domain.ErrEmailTaken):
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d of %d got the address, want exactly 1", round, won, concurrent+1)
		}
	}
}

func testMarkEmailVerified(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	mustNil(t, st.MarkEmailVerified(ctx, u.ID(), t0))
	mustNil(t, st.MarkEmailVerified(ctx, u.ID(), t0)) // idempotent
	got, err := st.UserByEmail(ctx, u.Email())
	mustNil(t, err)
	if !got.EmailVerified() || got.Email() != u.Email() || got.Name() != u.Name() || got.Role() != u.Role() {
		t.Fatalf("after MarkEmailVerified: %+v", got)
	}
}

func testEmailTokenRoundTrip(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	value, tok := newEmailToken(t, u, domain.PurposeResetPassword, t0, 30*time.Minute)
	mustNil(t, st.CreateEmailToken(ctx, tok))

	h, err := domain.ParseEmailToken(value, domain.PurposeResetPassword)
	mustNil(t, err)
	got, err := st.EmailToken(ctx, h)
	mustNil(t, err)
	assertEmailToken(t, got, tok)
	// Another purpose digests to another hash: unknown.
	other, err := domain.ParseEmailToken(value, domain.PurposeVerifyEmail)
	mustNil(t, err)
	_, err = st.EmailToken(ctx, other)
	mustIs(t, err, domain.ErrNotFound)

	got, err = st.UseEmailToken(ctx, h)
	mustNil(t, err)
	assertEmailToken(t, got, tok)
	_, err = st.UseEmailToken(ctx, h)
	mustIs(t, err, domain.ErrNotFound)
	_, err = st.EmailToken(ctx, h)
	mustIs(t, err, domain.ErrNotFound)
	mustIs(t, st.CreateEmailToken(ctx, domain.EmailToken{Hash: h, UserID: newUserID(), Purpose: domain.PurposeVerifyEmail, Email: u.Email(), CreatedAt: t0, ExpiresAt: t0}), domain.ErrNotFound)
}

func assertEmailToken(t *testing.T, got, want domain.EmailToken) {
	t.Helper()
	if got.Hash != want.Hash || got.UserID != want.UserID || got.Purpose != want.Purpose || got.Email != want.Email ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) {
		t.Fatalf("email token = %+v, want %+v", got, want)
	}
}

func testEmailTokenRace(t *testing.T, st Store) {
	u := createUser(t, st, "ada@example.com")
	for round := range rounds {
		_, tok := newEmailToken(t, u, domain.PurposeVerifyEmail, t0, time.Hour)
		mustNil(t, st.CreateEmailToken(t.Context(), tok))
		var used atomic.Int32
		errs := together(concurrent, func(int) error {
			return st.WithinTx(t.Context(), func(s ports.Stores) error {
				if _, err := s.EmailTokens.UseEmailToken(t.Context(), tok.Hash); err != nil {
					return err
				}
				used.Add(1)
				return s.Users.MarkEmailVerified(t.Context(), u.ID(), t0)
			})
		})
		for _, err := range errs {
			if err != nil && !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if n := used.Load(); n != 1 {
			t.Fatalf("round %d: the token was used %d times, want once", round, n)
		}
	}
}

func testDeleteEmailTokens(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	other := createUser(t, st, "bob@example.com")
	_, r1 := newEmailToken(t, u, domain.PurposeResetPassword, t0, time.Hour)
	_, r2 := newEmailToken(t, u, domain.PurposeResetPassword, t0, time.Hour)
	_, v1 := newEmailToken(t, u, domain.PurposeVerifyEmail, t0, time.Hour)
	_, o1 := newEmailToken(t, other, domain.PurposeResetPassword, t0, time.Hour)
	for _, tok := range []domain.EmailToken{r1, r2, v1, o1} {
		mustNil(t, st.CreateEmailToken(ctx, tok))
	}
	n, err := st.DeleteEmailTokens(ctx, u.ID(), domain.PurposeResetPassword)
	mustNil(t, err)
	if n != 2 {
		t.Fatalf("deleted %d reset tokens, want 2", n)
	}
	for _, tok := range []domain.EmailToken{r1, r2} {
		_, err := st.EmailToken(ctx, tok.Hash)
		mustIs(t, err, domain.ErrNotFound)
	}
	for _, tok := range []domain.EmailToken{v1, o1} {
		_, err := st.EmailToken(ctx, tok.Hash)
		mustNil(t, err)
	}
	n, err = st.DeleteEmailTokens(ctx, u.ID(), "")
	mustNil(t, err)
	if n != 1 {
		t.Fatalf("deleted %d tokens of any purpose, want 1", n)
	}
}

func testEmailTxRollback(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	_, tok := newEmailToken(t, u, domain.PurposeResetPassword, t0, time.Hour)
	m := queued("ada@example.com", t0)
	boom := errors.New("boom")
	err := st.WithinTx(ctx, func(s ports.Stores) error {
		mustNil(t, s.EmailTokens.CreateEmailToken(ctx, tok))
		mustNil(t, s.Outbox.EnqueueMail(ctx, m))
		if ok, err := s.Outbox.AdmitMail(ctx, domain.MailCapKeyFor(u.Email(), domain.PurposeResetPassword), t0, domain.MailCap{MinInterval: time.Minute, PerHour: 5}); err != nil || !ok {
			t.Fatalf("AdmitMail = %v, %v", ok, err)
		}
		return boom
	})
	mustIs(t, err, boom)
	_, err = st.EmailToken(ctx, tok.Hash)
	mustIs(t, err, domain.ErrNotFound)
	if n, _, err := st.MailQueue(ctx); err != nil || n != 0 {
		t.Fatalf("after rollback the queue holds %d (%v), want 0", n, err)
	}
	ok, err := st.AdmitMail(ctx, domain.MailCapKeyFor(u.Email(), domain.PurposeResetPassword), t0, domain.MailCap{MinInterval: time.Minute, PerHour: 5})
	mustNil(t, err)
	if !ok {
		t.Fatal("a rolled-back admission still counts")
	}
}

func testPruneEmailTokens(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	var live, dead []domain.EmailToken
	for i := range 7 {
		_, tok := newEmailToken(t, u, domain.PurposeVerifyEmail, t0, time.Duration(i-3)*time.Minute)
		mustNil(t, st.CreateEmailToken(ctx, tok))
		if i > 3 {
			live = append(live, tok)
		} else {
			dead = append(dead, tok) // expiring at or before t0
		}
	}
	if n := pruneWalk(t, 2, func(b ports.PruneBatch) (ports.PruneResult, error) { return st.PruneEmailTokens(ctx, t0, b) }); n != len(dead) {
		t.Fatalf("pruned %d email tokens, want %d", n, len(dead))
	}
	for _, tok := range dead {
		_, err := st.EmailToken(ctx, tok.Hash)
		mustIs(t, err, domain.ErrNotFound)
	}
	for _, tok := range live {
		_, err := st.EmailToken(ctx, tok.Hash)
		mustNil(t, err)
	}
}

func testOutboxRoundTrip(t *testing.T, st Store) {
	ctx := t.Context()
	m := queued("ada@example.com", t0)
	m.Detail = "a**@example.com"
	mustNil(t, st.EnqueueMail(ctx, m))
	n, oldest, err := st.MailQueue(ctx)
	mustNil(t, err)
	if n != 1 || !oldest.Equal(t0) {
		t.Fatalf("MailQueue = %d, %v; want 1, %v", n, oldest, t0)
	}
	if got, err := st.ClaimMail(ctx, t0.Add(-time.Second), t0.Add(time.Minute), 10); err != nil || len(got) != 0 {
		t.Fatalf("a mail not yet due was claimed: %v, %v", got, err)
	}
	got, err := st.ClaimMail(ctx, t0, t0.Add(time.Minute), 10)
	mustNil(t, err)
	if len(got) != 1 {
		t.Fatalf("claimed %d mails, want 1", len(got))
	}
	want := m
	want.Attempts = 1
	assertQueued(t, got[0], want)
	mustNil(t, st.MailSent(ctx, m.ID, t0.Add(time.Second)))
	if n, oldest, err := st.MailQueue(ctx); err != nil || n != 0 || !oldest.IsZero() {
		t.Fatalf("after sending, MailQueue = %d, %v, %v", n, oldest, err)
	}
	if got, err := st.ClaimMail(ctx, t0.Add(time.Hour), t0.Add(2*time.Hour), 10); err != nil || len(got) != 0 {
		t.Fatalf("a sent mail was claimed again: %v, %v", got, err)
	}
	mustIs(t, st.MailSent(ctx, newMailID(), t0), domain.ErrNotFound)
}

func assertQueued(t *testing.T, got, want domain.QueuedMail) {
	t.Helper()
	if got.ID != want.ID || got.Kind != want.Kind || got.To != want.To || got.Link != want.Link || got.Detail != want.Detail ||
		!got.CreatedAt.Equal(want.CreatedAt) || got.Attempts != want.Attempts || !got.NextAttempt.Equal(want.NextAttempt) {
		t.Fatalf("queued mail = %+v, want %+v", got, want)
	}
}

func testOutboxFailed(t *testing.T, st Store) {
	ctx := t.Context()
	m := queued("ada@example.com", t0)
	mustNil(t, st.EnqueueMail(ctx, m))
	got, err := st.ClaimMail(ctx, t0, t0.Add(time.Minute), 1)
	mustNil(t, err)
	if len(got) != 1 {
		t.Fatalf("claimed %d, want 1", len(got))
	}
	next := t0.Add(10 * time.Second)
	mustNil(t, st.MailFailed(ctx, m.ID, next, "dial tcp: connection refused"))
	if got, _ := st.ClaimMail(ctx, next.Add(-time.Microsecond), next.Add(time.Minute), 1); len(got) != 0 {
		t.Fatal("a failed mail was claimed before its next attempt")
	}
	got, err = st.ClaimMail(ctx, next, next.Add(time.Minute), 1)
	mustNil(t, err)
	if len(got) != 1 || got[0].Attempts != 2 || !got[0].NextAttempt.Equal(next) || got[0].Link != m.Link {
		t.Fatalf("second claim = %+v, want attempt 2 due at %v with its link", got, next)
	}
	if n, _, _ := st.MailQueue(ctx); n != 1 {
		t.Fatalf("a failed mail is not queued any more (%d)", n)
	}
}

func testOutboxLease(t *testing.T, st Store) {
	ctx := t.Context()
	m := queued("ada@example.com", t0)
	mustNil(t, st.EnqueueMail(ctx, m))
	lease := t0.Add(2 * time.Minute)
	if got, _ := st.ClaimMail(ctx, t0, lease, 5); len(got) != 1 {
		t.Fatalf("claimed %d, want 1", len(got))
	}
	if got, _ := st.ClaimMail(ctx, lease.Add(-time.Microsecond), lease.Add(time.Minute), 5); len(got) != 0 {
		t.Fatal("a leased mail was claimed again before its lease ended")
	}
	// The worker holding it died: the lease ends and another takes it.
	got, err := st.ClaimMail(ctx, lease, lease.Add(time.Minute), 5)
	mustNil(t, err)
	if len(got) != 1 || got[0].Attempts != 2 {
		t.Fatalf("after the lease: %+v, want the mail at attempt 2", got)
	}
}

func testOutboxGiveUp(t *testing.T, st Store) {
	ctx := t.Context()
	m := queued("ada@example.com", t0)
	mustNil(t, st.EnqueueMail(ctx, m))
	if got, _ := st.ClaimMail(ctx, t0, t0.Add(time.Minute), 5); len(got) != 1 {
		t.Fatal("not claimed")
	}
	mustNil(t, st.MailGivenUp(ctx, m.ID, t0.Add(time.Second), "550 no such user"))
	if n, _, _ := st.MailQueue(ctx); n != 0 {
		t.Fatalf("a given-up mail is still queued (%d)", n)
	}
	if got, _ := st.ClaimMail(ctx, t0.Add(time.Hour), t0.Add(2*time.Hour), 5); len(got) != 0 {
		t.Fatal("a given-up mail was claimed")
	}
	// A late MailFailed of the worker that had it changes nothing.
	mustNil(t, st.MailFailed(ctx, m.ID, t0.Add(time.Minute), "late"))
	if got, _ := st.ClaimMail(ctx, t0.Add(time.Hour), t0.Add(2*time.Hour), 5); len(got) != 0 {
		t.Fatal("a given-up mail came back after MailFailed")
	}
}

// Replicas claiming at once: every mail claimed exactly once.
func testOutboxConcurrentClaims(t *testing.T, st Store) {
	ctx := t.Context()
	const mails = 60
	for i := range mails {
		mustNil(t, st.EnqueueMail(ctx, queued(fmt.Sprintf("u%d@example.com", i), t0.Add(time.Duration(i)*time.Microsecond))))
	}
	var claimed [concurrent][]domain.MailID
	now := t0.Add(time.Second)
	errs := together(concurrent, func(i int) error {
		for {
			got, err := st.ClaimMail(ctx, now, now.Add(time.Minute), 2)
			if err != nil {
				return err
			}
			if len(got) == 0 {
				return nil
			}
			for _, m := range got {
				claimed[i] = append(claimed[i], m.ID)
			}
		}
	})
	for _, err := range errs {
		mustNil(t, err)
	}
	seen := map[domain.MailID]int{}
	for _, ids := range claimed {
		for _, id := range ids {
			seen[id]++
		}
	}
	if len(seen) != mails {
		t.Fatalf("%d distinct mails claimed, want %d", len(seen), mails)
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("mail %s claimed %d times", id, n)
		}
	}
}

func testOutboxOrder(t *testing.T, st Store) {
	ctx := t.Context()
	var ids []domain.MailID
	for i := range 5 {
		m := queued("ada@example.com", t0.Add(time.Duration(4-i)*time.Second))
		mustNil(t, st.EnqueueMail(ctx, m))
		ids = append(ids, m.ID)
	}
	slices.Reverse(ids) // the last enqueued is due first
	got, err := st.ClaimMail(ctx, t0.Add(time.Minute), t0.Add(2*time.Minute), 3)
	mustNil(t, err)
	var gotIDs []domain.MailID
	for _, m := range got {
		gotIDs = append(gotIDs, m.ID)
	}
	if !slices.Equal(gotIDs, ids[:3]) {
		t.Fatalf("claimed %v, want the three due first %v", gotIDs, ids[:3])
	}
	if _, err := st.ClaimMail(ctx, t0, t0, 0); err == nil {
		t.Fatal("a claim of 0 mails is not an error")
	}
}

func testPruneMail(t *testing.T, st Store) {
	ctx := t.Context()
	sent, given, pending := queued("a@example.com", t0), queued("b@example.com", t0), queued("c@example.com", t0)
	for _, m := range []domain.QueuedMail{sent, given, pending} {
		mustNil(t, st.EnqueueMail(ctx, m))
	}
	mustNil(t, st.MailSent(ctx, sent.ID, t0))
	mustNil(t, st.MailGivenUp(ctx, given.ID, t0.Add(time.Hour), "gave up"))
	if n := pruneWalk(t, 5, func(b ports.PruneBatch) (ports.PruneResult, error) { return st.PruneMail(ctx, t0.Add(time.Minute), b) }); n != 1 {
		t.Fatalf("pruned %d mails ended before t0+1m, want 1", n)
	}
	if n := pruneWalk(t, 5, func(b ports.PruneBatch) (ports.PruneResult, error) { return st.PruneMail(ctx, t0.Add(2*time.Hour), b) }); n != 1 {
		t.Fatalf("pruned %d mails ended before t0+2h, want 1", n)
	}
	if n, _, _ := st.MailQueue(ctx); n != 1 {
		t.Fatalf("the pending mail was pruned (queue %d)", n)
	}
}

func testMailCap(t *testing.T, st Store) {
	ctx := t.Context()
	c := domain.MailCap{MinInterval: time.Minute, PerHour: 5}
	key := domain.MailCapKeyFor(mustEmail(t, "ada@example.com"), domain.PurposeResetPassword)
	admit := func(at time.Time) bool {
		ok, err := st.AdmitMail(ctx, key, at, c)
		mustNil(t, err)
		return ok
	}
	var got []bool
	for _, at := range []time.Duration{0, 30 * time.Second, time.Minute, 2 * time.Minute, 3 * time.Minute, 4 * time.Minute, 5 * time.Minute, 59 * time.Minute, 60 * time.Minute} {
		got = append(got, admit(t0.Add(at)))
	}
	want := []bool{true, false, true, true, true, true, false, false, true}
	if !slices.Equal(got, want) {
		t.Fatalf("admissions %v, want %v", got, want)
	}
	other := domain.MailCapKeyFor(mustEmail(t, "ada@example.com"), domain.PurposeVerifyEmail)
	if ok, err := st.AdmitMail(ctx, other, t0.Add(30*time.Second), c); err != nil || !ok {
		t.Fatalf("another purpose shares the cap: %v, %v", ok, err)
	}
}

func testMailCapRace(t *testing.T, st Store) {
	c := domain.MailCap{MinInterval: time.Minute, PerHour: 5}
	for round := range rounds {
		key := domain.MailCapKeyFor(mustEmail(t, fmt.Sprintf("r%d@example.com", round)), domain.PurposeResetPassword)
		var admitted atomic.Int32
		errs := together(concurrent, func(int) error {
			return st.WithinTx(t.Context(), func(s ports.Stores) error {
				ok, err := s.Outbox.AdmitMail(t.Context(), key, t0, c)
				if ok {
					admitted.Add(1)
				}
				return err
			})
		})
		for _, err := range errs {
			mustNil(t, err)
		}
		if n := admitted.Load(); n != 1 {
			t.Fatalf("round %d: %d admitted at once, want 1", round, n)
		}
	}
}

func testPruneMailCaps(t *testing.T, st Store) {
	ctx := t.Context()
	c := domain.MailCap{MinInterval: time.Minute, PerHour: 5}
	for i := range 5 {
		key := domain.MailCapKeyFor(mustEmail(t, fmt.Sprintf("p%d@example.com", i)), domain.PurposeResetPassword)
		ok, err := st.AdmitMail(ctx, key, t0.Add(time.Duration(i)*time.Minute), c)
		mustNil(t, err)
		if !ok {
			t.Fatal("not admitted")
		}
	}
	// At t0+62m the keys started at t0, t0+1m and t0+2m are stale.
	if n := pruneWalk(t, 2, func(b ports.PruneBatch) (ports.PruneResult, error) {
		return st.PruneMailCaps(ctx, t0.Add(62*time.Minute), c, b)
	}); n != 3 {
		t.Fatalf("pruned %d mail-cap keys, want 3", n)
	}
	key := domain.MailCapKeyFor(mustEmail(t, "p4@example.com"), domain.PurposeResetPassword)
	if ok, _ := st.AdmitMail(ctx, key, t0.Add(4*time.Minute+30*time.Second), c); ok {
		t.Fatal("a live key was pruned")
	}
}
