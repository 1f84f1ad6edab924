package application_test

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/adapters/memory"
	"github.com/authd/authd/adapters/secretbox"
	"github.com/authd/authd/adapters/totp"
	"github.com/authd/authd/application"
	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/admin"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/domain"
)

// mfaFixture wires sign-in with a second factor over a memory store, the
// real TOTP code and a real secret box, as newServer does.
type mfaFixture struct {
	store    *memory.Store
	clock    *fixedClock
	login    *signin.Login
	second   *signin.SecondFactor
	factor   *account.TOTPFactor
	bearer   *sessions.Bearer
	register *account.Registration
	admin    *admin.Service
	tokens   fakeTokens
}

func newMFAFixture(t *testing.T) *mfaFixture {
	t.Helper()
	f := &mfaFixture{store: memory.NewStore(), clock: &fixedClock{now: time.Date(2030, 1, 2, 3, 4, 0, 0, time.UTC)}}
	policies, err := application.Config{RefreshTTL: 720 * time.Hour}.Policies()
	if err != nil {
		t.Fatal(err)
	}
	st, ids, hasher := f.store, &seqIDs{}, &fakeHasher{}
	audit := application.NewRecorder(st, ids, f.clock, nil)
	guard := application.NewGuard(st, hasher, f.clock, audit, policies.Throttle)
	f.tokens = fakeTokens{clock: f.clock}
	sess, err := sessions.New(sessions.Deps{Tx: st, Sessions: st, Issuer: f.tokens, Clock: f.clock, IDs: ids, Random: rand.Reader, Audit: audit}, policies)
	if err != nil {
		t.Fatal(err)
	}
	password, err := signin.NewPassword(context.Background(), st, st, guard, hasher, f.clock, audit)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, secretbox.KeySize)
	_, _ = rand.Read(key)
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	otp := totp.New(rand.Reader)
	f.second = signin.NewSecondFactor(signin.SecondFactorDeps{Factors: st, Users: st, Sessions: sess, Guard: guard, OTP: otp, Box: box, Random: rand.Reader, Clock: f.clock, Audit: audit})
	f.login = signin.NewLogin(password, sess).WithSecondFactor(f.second)
	f.bearer = sessions.NewBearer(f.tokens)
	f.register = account.NewRegistration(st, hasher, ids, f.clock, audit)
	f.factor = account.NewTOTPFactor(account.TOTPDeps{Tx: st, Factors: st, Passwords: st, Sessions: sess, Guard: guard, OTP: otp, Box: box,
		Issuer: "authd", Random: rand.Reader, Clock: f.clock, Audit: audit})
	f.admin = admin.New(st, st, st, f.register, f.clock, audit).WithMail(admin.Mail{Tx: st}).WithFactors()
	return f
}

const mfaPassword = "correct horse"

// code is the TOTP code of secret at the fixture's now, plus steps.
func (f *mfaFixture) code(t *testing.T, secret string, steps int64) string {
	t.Helper()
	c, err := totp.Code(secret, f.clock.now.Unix()/30+steps)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// enrolled registers email and turns TOTP on; it returns the secret and
// the recovery codes.
func (f *mfaFixture) enrolled(t *testing.T, email string) (string, []string) {
	t.Helper()
	ctx := t.Context()
	if _, err := f.register.Register(ctx, account.RegisterInput{Email: email, Password: mfaPassword}); err != nil {
		t.Fatal(err)
	}
	pair, err := f.login.Login(ctx, signin.LoginInput{Email: email, Password: mfaPassword})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := f.bearer.Authenticate(ctx, pair.AccessToken)
	if _, err := f.factor.Enrol(ctx, account.FactorInput{Principal: p, Password: "wrong password"}); !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("enrol with a wrong password: %v", err)
	}
	e, err := f.factor.Enrol(ctx, account.FactorInput{Principal: p, Password: mfaPassword})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.factor.Confirm(ctx, account.FactorInput{Principal: p, Code: "000000"}); !errors.Is(err, domain.ErrInvalidMFACode) && f.code(t, e.Secret, 0) != "000000" {
		t.Fatalf("confirm with a wrong code: %v", err)
	}
	codes, err := f.factor.Confirm(ctx, account.FactorInput{Principal: p, Code: f.code(t, e.Secret, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if len(codes) != domain.RecoveryCodeCount {
		t.Fatalf("%d recovery codes", len(codes))
	}
	f.clock.now = f.clock.now.Add(30 * time.Second) // the confirming code's step is spent
	return e.Secret, codes
}

// challenge logs in with the password and returns the challenge.
func (f *mfaFixture) challenge(t *testing.T, email string) *domain.MFAChallengeIssued {
	t.Helper()
	_, err := f.login.Login(t.Context(), signin.LoginInput{Email: email, Password: mfaPassword})
	var c *domain.MFAChallengeIssued
	if !errors.As(err, &c) || !errors.Is(err, domain.ErrMFARequired) {
		t.Fatalf("login of an account with TOTP: %v", err)
	}
	return c
}

func (f *mfaFixture) verify(t *testing.T, token, code, recovery string) (application.TokenPair, error) {
	t.Helper()
	return f.second.Verify(t.Context(), signin.VerifyInput{Token: token, Code: code, RecoveryCode: recovery})
}

func TestTOTPLoginAndNoReplay(t *testing.T) {
	f := newMFAFixture(t)
	secret, _ := f.enrolled(t, "ada@example.com")
	c := f.challenge(t, "ada@example.com")
	if len(c.Methods) != 2 || c.Methods[0] != "totp" || c.Methods[1] != "recovery_code" {
		t.Fatalf("methods %v", c.Methods)
	}
	if _, err := f.verify(t, c.Token, "123", ""); !errors.Is(err, domain.ErrInvalidMFACode) {
		t.Fatalf("a malformed code: %v", err)
	}
	code := f.code(t, secret, 0)
	pair, err := f.verify(t, c.Token, code, "")
	if err != nil {
		t.Fatal(err)
	}
	claims, err := f.tokens.VerifyAccessToken(t.Context(), pair.AccessToken)
	if err != nil || domain.FormatMethods(claims.Methods) != "pwd,otp" || !pair.User.MFAEnabled() {
		t.Fatalf("amr %v (%v), mfa_enabled %v", claims.Methods, err, pair.User.MFAEnabled())
	}
	if _, err := f.verify(t, c.Token, code, ""); !errors.Is(err, domain.ErrInvalidMFAToken) {
		t.Fatalf("a challenge answered twice: %v", err)
	}
	// The same code at a new challenge: refused (replay), and so is the
	// previous step's.
	c = f.challenge(t, "ada@example.com")
	if _, err := f.verify(t, c.Token, code, ""); !errors.Is(err, domain.ErrInvalidMFACode) {
		t.Fatalf("a replayed code: %v", err)
	}
	if _, err := f.verify(t, c.Token, f.code(t, secret, -1), ""); !errors.Is(err, domain.ErrInvalidMFACode) {
		t.Fatalf("an older step: %v", err)
	}
	if _, err := f.verify(t, c.Token, f.code(t, secret, 1), ""); err != nil {
		t.Fatalf("the next step (one step of skew): %v", err)
	}
}

func TestRecoveryCodeLogin(t *testing.T) {
	f := newMFAFixture(t)
	_, codes := f.enrolled(t, "ada@example.com")
	c := f.challenge(t, "ada@example.com")
	pair, err := f.verify(t, c.Token, "", " "+codes[4]+" ")
	if err != nil {
		t.Fatal(err)
	}
	claims, _ := f.tokens.VerifyAccessToken(t.Context(), pair.AccessToken)
	if domain.FormatMethods(claims.Methods) != "pwd,recovery_code" {
		t.Fatalf("amr %v", claims.Methods)
	}
	c = f.challenge(t, "ada@example.com")
	if _, err := f.verify(t, c.Token, "", codes[4]); !errors.Is(err, domain.ErrInvalidMFACode) {
		t.Fatalf("a used recovery code: %v", err)
	}
	if _, err := f.verify(t, c.Token, "123456", codes[5]); !isValidation(err, "code") {
		t.Fatalf("both a code and a recovery code: %v", err)
	}
	if _, err := f.verify(t, c.Token, "", ""); !isValidation(err, "code") {
		t.Fatalf("neither: %v", err)
	}
}

func TestChallengeDiesAfterFiveWrongCodesAndExpires(t *testing.T) {
	f := newMFAFixture(t)
	secret, _ := f.enrolled(t, "ada@example.com")
	c := f.challenge(t, "ada@example.com")
	wrong := "000000"
	if wrong == f.code(t, secret, -1) || wrong == f.code(t, secret, 0) || wrong == f.code(t, secret, 1) {
		wrong = "999999"
	}
	for i := 1; i <= domain.MaxMFAFailures; i++ {
		f.clock.now = f.clock.now.Add(5 * time.Second) // past the throttle's short locks
		_, err := f.verify(t, c.Token, wrong, "")
		want := domain.ErrInvalidMFACode
		if i == domain.MaxMFAFailures {
			want = domain.ErrInvalidMFAToken
		}
		if !errors.Is(err, want) {
			t.Fatalf("wrong code %d: %v, want %v", i, err, want)
		}
	}
	if _, err := f.verify(t, c.Token, f.code(t, secret, 0), ""); !errors.Is(err, domain.ErrInvalidMFAToken) {
		t.Fatalf("the right code at a dead challenge: %v", err)
	}
	f.clock.now = f.clock.now.Add(time.Minute) // past the throttle's lock the wrong codes earned
	c = f.challenge(t, "ada@example.com")
	f.clock.now = f.clock.now.Add(domain.MFAChallengeTTL)
	if _, err := f.verify(t, c.Token, f.code(t, secret, 0), ""); !errors.Is(err, domain.ErrInvalidMFAToken) {
		t.Fatalf("an expired challenge: %v", err)
	}
	f.clock.now = f.clock.now.Add(time.Minute)
	for _, tok := range []string{"", "nope", "AAAA"} {
		if _, err := f.verify(t, tok, "123456", ""); !errors.Is(err, domain.ErrInvalidMFAToken) {
			t.Fatalf("token %q: %v", tok, err)
		}
	}
}

// Another user's code does not answer a challenge, and wrong codes count
// in the account's login throttle, across challenges: brute-forcing the
// six digits costs what guessing the password does.
func TestWrongCodesAreThrottledPerAccount(t *testing.T) {
	f := newMFAFixture(t)
	secret, _ := f.enrolled(t, "ada@example.com")
	bobSecret, _ := f.enrolled(t, "bob@example.com")
	c := f.challenge(t, "ada@example.com")
	if bob := f.code(t, bobSecret, 0); bob != f.code(t, secret, 0) {
		if _, err := f.verify(t, c.Token, bob, ""); !errors.Is(err, domain.ErrInvalidMFACode) {
			t.Fatalf("bob's code at ada's challenge: %v", err)
		}
	}
	throttled := false
	for range 6 { // challenges of 5 wrong codes each
		_, err := f.login.Login(t.Context(), signin.LoginInput{Email: "ada@example.com", Password: mfaPassword})
		if errors.Is(err, domain.ErrThrottled) {
			throttled = true // the password step is locked too
			break
		}
		var c *domain.MFAChallengeIssued
		if !errors.As(err, &c) {
			t.Fatal(err)
		}
		for range domain.MaxMFAFailures {
			_, err := f.verify(t, c.Token, "000001", "")
			if errors.Is(err, domain.ErrThrottled) {
				throttled = true
				break
			}
		}
		if throttled {
			break
		}
	}
	if !throttled {
		t.Fatal("wrong codes never hit the account's throttle")
	}
}

func TestConcurrentVerifiesOfOneCodeOneWins(t *testing.T) {
	f := newMFAFixture(t)
	secret, _ := f.enrolled(t, "ada@example.com")
	var tokens []string
	// Two challenges, two verifies at once: each password and each code
	// claims a throttle attempt (an account with a second factor forgets
	// its failures only when the code is right), and the sixth claim in a
	// row would lock the account. The race is on the code's time step.
	for range 2 {
		tokens = append(tokens, f.challenge(t, "ada@example.com").Token)
	}
	code := f.code(t, secret, 0)
	errs := make([]error, len(tokens))
	var wg sync.WaitGroup
	for i, tok := range tokens {
		wg.Go(func() { _, errs[i] = f.verify(t, tok, code, "") })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, domain.ErrInvalidMFACode):
			t.Fatal(err)
		}
	}
	if won != 1 {
		t.Fatalf("one code opened %d sessions", won)
	}
}

func TestDisableAndNewRecoveryCodesNeedPasswordAndCode(t *testing.T) {
	f := newMFAFixture(t)
	secret, codes := f.enrolled(t, "ada@example.com")
	ctx := t.Context()
	pair, err := f.verify(t, f.challenge(t, "ada@example.com").Token, f.code(t, secret, 0), "")
	if err != nil {
		t.Fatal(err)
	}
	p, _ := f.bearer.Authenticate(ctx, pair.AccessToken)
	f.clock.now = f.clock.now.Add(30 * time.Second)
	if _, err := f.factor.NewRecoveryCodes(ctx, account.FactorInput{Principal: p, Password: mfaPassword}); !isValidation(err, "code") {
		t.Fatalf("new codes without a code: %v", err)
	}
	if _, err := f.factor.NewRecoveryCodes(ctx, account.FactorInput{Principal: p, Password: "wrong password", Code: f.code(t, secret, 0)}); !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("new codes with a wrong password: %v", err)
	}
	fresh, err := f.factor.NewRecoveryCodes(ctx, account.FactorInput{Principal: p, Password: mfaPassword, Code: codes[0]})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.verify(t, f.challenge(t, "ada@example.com").Token, "", codes[1]); !errors.Is(err, domain.ErrInvalidMFACode) {
		t.Fatalf("an old recovery code after new ones: %v", err)
	}
	st, err := f.factor.State(ctx, p)
	if err != nil || st.TOTP != "on" || st.RecoveryCodesLeft != domain.RecoveryCodeCount || !st.Enabled {
		t.Fatalf("state %+v, %v", st, err)
	}
	if err := f.factor.Disable(ctx, account.FactorInput{Principal: p, Password: mfaPassword, Code: "000000"}); !errors.Is(err, domain.ErrInvalidMFACode) && f.code(t, secret, 0) != "000000" {
		t.Fatalf("disable with a wrong code: %v", err)
	}
	if err := f.factor.Disable(ctx, account.FactorInput{Principal: p, Password: mfaPassword, Code: fresh[0]}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.login.Login(ctx, signin.LoginInput{Email: "ada@example.com", Password: mfaPassword}); err != nil {
		t.Fatalf("login after disabling: %v", err)
	}
	if st, _ := f.factor.State(ctx, p); st.TOTP != "off" || st.RecoveryCodesLeft != 0 || st.Enabled {
		t.Fatalf("state after disabling %+v", st)
	}
}

func TestAdminRemovesFactors(t *testing.T) {
	f := newMFAFixture(t)
	f.enrolled(t, "ada@example.com")
	out, err := f.admin.RemoveFactors(t.Context(), admin.AccountRef{Email: "ada@example.com"}, application.Actor{})
	if err != nil || !out.TOTP || out.RecoveryCodes != domain.RecoveryCodeCount || out.User.MFAEnabled() {
		t.Fatalf("remove factors = %+v, %v", out, err)
	}
	if _, err := f.login.Login(t.Context(), signin.LoginInput{Email: "ada@example.com", Password: mfaPassword}); err != nil {
		t.Fatalf("login after removal: %v", err)
	}
	out, err = f.admin.RemoveFactors(t.Context(), admin.AccountRef{Email: "ada@example.com"}, application.Actor{})
	if err != nil || out.Any() {
		t.Fatalf("second removal = %+v, %v", out, err)
	}
}

// An attacker who knows the password logs in again and again to guess the
// code: the password no longer clears the account's failures (only a
// proven second factor does), so the guesses stay under the throttle's
// hourly bound however the attacker paces them.
func TestPasswordDoesNotResetTheCodeGuessCount(t *testing.T) {
	f := newMFAFixture(t)
	secret, _ := f.enrolled(t, "ada@example.com")
	start := f.clock.now
	guesses := 0
	for f.clock.now.Sub(start) < time.Hour {
		f.clock.now = f.clock.now.Add(time.Second)
		_, err := f.login.Login(t.Context(), signin.LoginInput{Email: "ada@example.com", Password: mfaPassword})
		var c *domain.MFAChallengeIssued
		if !errors.As(err, &c) {
			continue // throttled: wait
		}
		for range domain.MaxMFAFailures {
			wrong := "000000"
			if f.code(t, secret, -1) == wrong || f.code(t, secret, 0) == wrong || f.code(t, secret, 1) == wrong {
				wrong = "999999"
			}
			_, err := f.verify(t, c.Token, wrong, "")
			if errors.Is(err, domain.ErrThrottled) {
				break
			}
			guesses++
		}
	}
	if guesses >= application.MaxFailedLoginsPerHour {
		t.Fatalf("%d code guesses in an hour, want fewer than %d", guesses, application.MaxFailedLoginsPerHour)
	}
	t.Logf("%d code guesses in an hour of trying", guesses)
}
