package repotest

import (
	"bytes"
	"crypto/rand"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var mfaCases = []contractCase{
	{"MFA/TOTPPendingThenConfirmed", testTOTPLifecycle},
	{"MFA/TOTPStepOnceAndForward", testTOTPSteps},
	{"MFA/TOTPStepOnceUnderRace", testTOTPStepRace},
	{"MFA/RecoveryCodes", testRecoveryCodes},
	{"MFA/RecoveryCodeOnceUnderRace", testRecoveryCodeRace},
	{"MFA/ChallengeRoundTrip", testChallengeRoundTrip},
	{"MFA/ChallengeUsedOnceUnderRace", testChallengeRace},
	{"MFA/ChallengeDiesAfterMaxFailures", testChallengeFailures},
	{"MFA/ChallengeFailuresCountedUnderRace", testChallengeFailureRace},
	{"MFA/FactorsRollBackWithTheTransaction", testFactorsRollback},
	{"MFA/PruneExpiredChallenges", testPruneChallenges},
}

func sealed(b byte) []byte { return bytes.Repeat([]byte{b}, 40) }

func testTOTPLifecycle(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	_, err := st.TOTP(ctx, u.ID())
	mustIs(t, err, domain.ErrNotFound)
	mustIs(t, st.ConfirmTOTP(ctx, u.ID(), 1, t0), domain.ErrMFAState)
	mustIs(t, st.PutTOTP(ctx, domain.TOTPCredential{UserID: newUserID(), SealedSecret: sealed(1), CreatedAt: t0}), domain.ErrNotFound)

	mustNil(t, st.PutTOTP(ctx, domain.TOTPCredential{UserID: u.ID(), SealedSecret: sealed(1), CreatedAt: t0}))
	// A second enrolment before confirming replaces the first.
	mustNil(t, st.PutTOTP(ctx, domain.TOTPCredential{UserID: u.ID(), SealedSecret: sealed(2), CreatedAt: t0.Add(time.Second)}))
	c, err := st.TOTP(ctx, u.ID())
	mustNil(t, err)
	if c.Confirmed || !bytes.Equal(c.SealedSecret, sealed(2)) || !c.CreatedAt.Equal(t0.Add(time.Second)) || c.UserID != u.ID() {
		t.Fatalf("pending = %+v", c)
	}
	mustIs(t, st.UseTOTPStep(ctx, u.ID(), 100), domain.ErrMFAState)
	mustNil(t, st.ConfirmTOTP(ctx, u.ID(), 100, t0))
	c, err = st.TOTP(ctx, u.ID())
	mustNil(t, err)
	if !c.Confirmed || c.LastStep != 100 {
		t.Fatalf("confirmed = %+v", c)
	}
	assertMFA(t, st, u, true)
	mustIs(t, st.ConfirmTOTP(ctx, u.ID(), 101, t0), domain.ErrMFAState)
	mustIs(t, st.PutTOTP(ctx, domain.TOTPCredential{UserID: u.ID(), SealedSecret: sealed(3), CreatedAt: t0}), domain.ErrMFAState)
	ok, err := st.DeleteTOTP(ctx, u.ID())
	mustNil(t, err)
	if !ok {
		t.Fatal("DeleteTOTP found nothing")
	}
	if ok, _ := st.DeleteTOTP(ctx, u.ID()); ok {
		t.Fatal("DeleteTOTP deleted twice")
	}
	_, err = st.TOTP(ctx, u.ID())
	mustIs(t, err, domain.ErrNotFound)
	assertMFA(t, st, u, false)
}

// assertMFA checks the user's mfa_enabled flag on every read that returns
// the user.
func assertMFA(t *testing.T, st Store, u domain.User, want bool) {
	t.Helper()
	byID, err := st.UserByID(t.Context(), u.ID())
	mustNil(t, err)
	byEmail, err := st.UserByEmail(t.Context(), u.Email())
	mustNil(t, err)
	list, err := st.ListUsers(t.Context(), ports.UserFilter{EmailContains: u.Email().String(), Limit: 10})
	mustNil(t, err)
	if byID.MFAEnabled() != want || byEmail.MFAEnabled() != want || len(list) != 1 || list[0].MFAEnabled() != want {
		t.Fatalf("mfa_enabled: by id %v, by email %v, listed %v; want %v", byID.MFAEnabled(), byEmail.MFAEnabled(), list, want)
	}
	sess, _ := startSessionOf(t, st, u)
	_, owner, err := st.SessionByID(t.Context(), sess.ID())
	mustNil(t, err)
	if owner.MFAEnabled() != want {
		t.Fatalf("mfa_enabled of a session's owner: %v, want %v", owner.MFAEnabled(), want)
	}
}

func confirmedTOTP(t *testing.T, st Store, email string, step int64) domain.User {
	t.Helper()
	u := createUser(t, st, email)
	mustNil(t, st.PutTOTP(t.Context(), domain.TOTPCredential{UserID: u.ID(), SealedSecret: sealed(7), CreatedAt: t0}))
	mustNil(t, st.ConfirmTOTP(t.Context(), u.ID(), step, t0))
	return u
}

func testTOTPSteps(t *testing.T, st Store) {
	ctx := t.Context()
	u := confirmedTOTP(t, st, "ada@example.com", 100)
	mustIs(t, st.UseTOTPStep(ctx, u.ID(), 100), domain.ErrTOTPReplayed) // the confirming code
	mustIs(t, st.UseTOTPStep(ctx, u.ID(), 99), domain.ErrTOTPReplayed)
	mustNil(t, st.UseTOTPStep(ctx, u.ID(), 101))
	mustIs(t, st.UseTOTPStep(ctx, u.ID(), 101), domain.ErrTOTPReplayed)
	mustNil(t, st.UseTOTPStep(ctx, u.ID(), 103))
	mustIs(t, st.UseTOTPStep(ctx, u.ID(), 102), domain.ErrTOTPReplayed)
	if !errors.Is(domain.ErrTOTPReplayed, domain.ErrInvalidMFACode) {
		t.Fatal("a replay is not an invalid code")
	}
}

func testTOTPStepRace(t *testing.T, st Store) {
	u := confirmedTOTP(t, st, "ada@example.com", 100)
	for round := range rounds {
		step := int64(101 + round)
		var won atomic.Int32
		errs := together(concurrent, func(int) error {
			return st.WithinTx(t.Context(), func(s ports.Stores) error {
				if err := s.Factors.UseTOTPStep(t.Context(), u.ID(), step); err != nil {
					return err
				}
				won.Add(1)
				return nil
			})
		})
		for _, err := range errs {
			if err != nil && !errors.Is(err, domain.ErrTOTPReplayed) {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if n := won.Load(); n != 1 {
			t.Fatalf("round %d: one code accepted %d times, want once", round, n)
		}
	}
}

func newCodes(t *testing.T) ([]string, []domain.RecoveryCodeHash) {
	t.Helper()
	codes, hashes, err := domain.NewRecoveryCodes(rand.Reader)
	mustNil(t, err)
	return codes, hashes
}

func testRecoveryCodes(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	other := createUser(t, st, "bob@example.com")
	codes, hashes := newCodes(t)
	mustNil(t, st.ReplaceRecoveryCodes(ctx, u.ID(), hashes, t0))
	if n, err := st.RecoveryCodesLeft(ctx, u.ID()); err != nil || n != domain.RecoveryCodeCount {
		t.Fatalf("left = %d, %v", n, err)
	}
	h, err := domain.ParseRecoveryCode(" " + codes[3] + " ")
	mustNil(t, err)
	mustIs(t, st.UseRecoveryCode(ctx, other.ID(), h), domain.ErrNotFound) // another user's code
	mustNil(t, st.UseRecoveryCode(ctx, u.ID(), h))
	mustIs(t, st.UseRecoveryCode(ctx, u.ID(), h), domain.ErrNotFound)
	if n, _ := st.RecoveryCodesLeft(ctx, u.ID()); n != domain.RecoveryCodeCount-1 {
		t.Fatalf("left after one use = %d", n)
	}
	// New codes: the old ones die.
	_, fresh := newCodes(t)
	mustNil(t, st.ReplaceRecoveryCodes(ctx, u.ID(), fresh, t0))
	mustIs(t, st.UseRecoveryCode(ctx, u.ID(), hashes[0]), domain.ErrNotFound)
	mustNil(t, st.UseRecoveryCode(ctx, u.ID(), fresh[0]))
	n, err := st.DeleteRecoveryCodes(ctx, u.ID())
	mustNil(t, err)
	if n != domain.RecoveryCodeCount-1 {
		t.Fatalf("deleted %d", n)
	}
	if n, _ := st.RecoveryCodesLeft(ctx, u.ID()); n != 0 {
		t.Fatalf("left after delete = %d", n)
	}
	mustIs(t, st.ReplaceRecoveryCodes(ctx, newUserID(), fresh, t0), domain.ErrNotFound)
}

func testRecoveryCodeRace(t *testing.T, st Store) {
	u := createUser(t, st, "ada@example.com")
	_, hashes := newCodes(t)
	mustNil(t, st.ReplaceRecoveryCodes(t.Context(), u.ID(), hashes, t0))
	for _, h := range hashes {
		var won atomic.Int32
		errs := together(concurrent, func(int) error {
			return st.WithinTx(t.Context(), func(s ports.Stores) error {
				if err := s.Factors.UseRecoveryCode(t.Context(), u.ID(), h); err != nil {
					return err
				}
				won.Add(1)
				return nil
			})
		})
		for _, err := range errs {
			if err != nil && !errors.Is(err, domain.ErrNotFound) {
				t.Fatal(err)
			}
		}
		if n := won.Load(); n != 1 {
			t.Fatalf("one recovery code used %d times", n)
		}
	}
}

func newChallenge(t *testing.T, u domain.User, expires time.Time) domain.MFAChallenge {
	t.Helper()
	_, h, err := domain.NewMFAToken(rand.Reader)
	mustNil(t, err)
	return domain.MFAChallenge{Hash: h, UserID: u.ID(), Methods: []domain.AuthMethod{domain.MethodPassword}, AuthAt: t0, PasswordHash: hash, ExpiresAt: expires}
}

func assertChallenge(t *testing.T, got, want domain.MFAChallenge) {
	t.Helper()
	if got.Hash != want.Hash || got.UserID != want.UserID || domain.FormatMethods(got.Methods) != domain.FormatMethods(want.Methods) ||
		!got.AuthAt.Equal(want.AuthAt) || got.PasswordHash != want.PasswordHash || !got.ExpiresAt.Equal(want.ExpiresAt) || got.Failures != want.Failures {
		t.Fatalf("challenge = %v %+v, want %+v", got, got, want)
	}
}

func testChallengeRoundTrip(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	c := newChallenge(t, u, t0.Add(domain.MFAChallengeTTL))
	mustNil(t, st.CreateMFAChallenge(ctx, c))
	got, err := st.MFAChallenge(ctx, c.Hash)
	mustNil(t, err)
	assertChallenge(t, got, c)
	got, err = st.UseMFAChallenge(ctx, c.Hash)
	mustNil(t, err)
	assertChallenge(t, got, c)
	_, err = st.UseMFAChallenge(ctx, c.Hash)
	mustIs(t, err, domain.ErrNotFound)
	_, err = st.MFAChallenge(ctx, c.Hash)
	mustIs(t, err, domain.ErrNotFound)
	bad := newChallenge(t, u, t0)
	bad.UserID = newUserID()
	mustIs(t, st.CreateMFAChallenge(ctx, bad), domain.ErrNotFound)
}

func testChallengeRace(t *testing.T, st Store) {
	u := createUser(t, st, "ada@example.com")
	for round := range rounds {
		c := newChallenge(t, u, t0.Add(time.Minute))
		mustNil(t, st.CreateMFAChallenge(t.Context(), c))
		var won atomic.Int32
		errs := together(concurrent, func(int) error {
			return st.WithinTx(t.Context(), func(s ports.Stores) error {
				if _, err := s.Factors.UseMFAChallenge(t.Context(), c.Hash); err != nil {
					return err
				}
				won.Add(1)
				return nil
			})
		})
		for _, err := range errs {
			if err != nil && !errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if n := won.Load(); n != 1 {
			t.Fatalf("round %d: a challenge used %d times", round, n)
		}
	}
}

func testChallengeFailures(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	c := newChallenge(t, u, t0.Add(time.Minute))
	mustNil(t, st.CreateMFAChallenge(ctx, c))
	for i := 1; i < domain.MaxMFAFailures; i++ {
		n, err := st.FailMFAChallenge(ctx, c.Hash, domain.MaxMFAFailures)
		mustNil(t, err)
		if n != i {
			t.Fatalf("failure %d counted as %d", i, n)
		}
		got, err := st.MFAChallenge(ctx, c.Hash)
		mustNil(t, err)
		if got.Failures != i {
			t.Fatalf("stored failures %d, want %d", got.Failures, i)
		}
	}
	n, err := st.FailMFAChallenge(ctx, c.Hash, domain.MaxMFAFailures)
	mustNil(t, err)
	if n != domain.MaxMFAFailures {
		t.Fatalf("last failure counted as %d", n)
	}
	_, err = st.MFAChallenge(ctx, c.Hash)
	mustIs(t, err, domain.ErrNotFound)
	_, err = st.FailMFAChallenge(ctx, c.Hash, domain.MaxMFAFailures)
	mustIs(t, err, domain.ErrNotFound)
}

// Concurrent wrong codes: each counted once, and the challenge dies at the
// maximum however they interleave.
func testChallengeFailureRace(t *testing.T, st Store) {
	u := createUser(t, st, "ada@example.com")
	for round := range rounds {
		c := newChallenge(t, u, t0.Add(time.Minute))
		mustNil(t, st.CreateMFAChallenge(t.Context(), c))
		var counts [concurrent]int
		errs := together(concurrent, func(i int) error {
			n, err := st.FailMFAChallenge(t.Context(), c.Hash, domain.MaxMFAFailures)
			counts[i] = n
			return err
		})
		seen := map[int]bool{}
		for i, err := range errs {
			switch {
			case err == nil:
				if seen[counts[i]] {
					t.Fatalf("round %d: failure number %d counted twice", round, counts[i])
				}
				seen[counts[i]] = true
			case !errors.Is(err, domain.ErrNotFound):
				t.Fatalf("round %d: %v", round, err)
			}
		}
		if len(seen) != domain.MaxMFAFailures {
			t.Fatalf("round %d: %d failures counted before the challenge died, want %d", round, len(seen), domain.MaxMFAFailures)
		}
		_, err := st.MFAChallenge(t.Context(), c.Hash)
		mustIs(t, err, domain.ErrNotFound)
	}
}

func testFactorsRollback(t *testing.T, st Store) {
	ctx := t.Context()
	u := confirmedTOTP(t, st, "ada@example.com", 100)
	c := newChallenge(t, u, t0.Add(time.Minute))
	mustNil(t, st.CreateMFAChallenge(ctx, c))
	boom := errors.New("boom")
	err := st.WithinTx(ctx, func(s ports.Stores) error {
		if _, err := s.Factors.UseMFAChallenge(ctx, c.Hash); err != nil {
			return err
		}
		if err := s.Factors.UseTOTPStep(ctx, u.ID(), 101); err != nil {
			return err
		}
		return boom
	})
	mustIs(t, err, boom)
	_, err = st.MFAChallenge(ctx, c.Hash)
	mustNil(t, err)
	mustNil(t, st.UseTOTPStep(ctx, u.ID(), 101))
}

func testPruneChallenges(t *testing.T, st Store) {
	ctx := t.Context()
	u := createUser(t, st, "ada@example.com")
	var live []domain.MFAChallenge
	for i := range 5 {
		c := newChallenge(t, u, t0.Add(time.Duration(i-2)*time.Minute))
		mustNil(t, st.CreateMFAChallenge(ctx, c))
		if i > 2 {
			live = append(live, c)
		}
	}
	if n := pruneWalk(t, 2, func(b ports.PruneBatch) (ports.PruneResult, error) { return st.PruneMFAChallenges(ctx, t0, b) }); n != 3 {
		t.Fatalf("pruned %d challenges, want 3", n)
	}
	for _, c := range live {
		_, err := st.MFAChallenge(ctx, c.Hash)
		mustNil(t, err)
	}
}
