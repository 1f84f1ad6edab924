package application_test

import (
	"context"
	"crypto/rand"
	"errors"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/adapters/memory"
	"github.com/authd/authd/application"
	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/domain"
)

// mailbox is a fake ports.Mailer: it keeps what it was given and fails
// while fail is set.
type mailbox struct {
	mu   sync.Mutex
	got  []domain.Mail
	fail error
}

func (m *mailbox) Send(_ context.Context, mail domain.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail != nil {
		return m.fail
	}
	m.got = append(m.got, mail)
	return nil
}

func (m *mailbox) setFail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fail = err
}

func (m *mailbox) mails() []domain.Mail {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]domain.Mail(nil), m.got...)
}

// courierEvents counts what the courier reported.
type courierEvents struct {
	mu                         sync.Mutex
	delivered, failed, givenUp int
	queued                     int
	oldest                     time.Duration
	lastErr                    error
}

func (c *courierEvents) MailDelivered(domain.Mail, int) { c.mu.Lock(); c.delivered++; c.mu.Unlock() }
func (c *courierEvents) MailAttemptFailed(_ domain.Mail, _ int, err error, _ time.Time) {
	c.mu.Lock()
	c.failed++
	c.lastErr = err
	c.mu.Unlock()
}
func (c *courierEvents) MailGivenUp(domain.Mail, int, error) { c.mu.Lock(); c.givenUp++; c.mu.Unlock() }
func (c *courierEvents) MailQueue(n int, oldest time.Duration) {
	c.mu.Lock()
	c.queued, c.oldest = n, oldest
	c.mu.Unlock()
}
func (c *courierEvents) CourierError(err error) { c.mu.Lock(); c.lastErr = err; c.mu.Unlock() }

// mailFixture wires the email flows over a memory store, as newServer does.
type mailFixture struct {
	store    *memory.Store
	clock    *fixedClock
	hasher   *fakeHasher
	box      *mailbox
	events   *courierEvents
	courier  *application.Courier
	login    *signin.Login
	sessions *sessions.Service
	bearer   *sessions.Bearer
	register *account.Registration
	change   *account.PasswordChange
	verify   *account.Verification
	reset    *account.PasswordReset
	email    *account.EmailChange
}

func newMailFixture(t *testing.T, requireVerified bool) *mailFixture {
	t.Helper()
	f := &mailFixture{store: memory.NewStore(), clock: &fixedClock{now: t0}, hasher: &fakeHasher{}, box: &mailbox{}, events: &courierEvents{}}
	policies, err := application.Config{RefreshTTL: 720 * time.Hour}.Policies()
	if err != nil {
		t.Fatal(err)
	}
	mp, err := application.MailConfig{AppURL: "https://app.example/", RequireVerifiedEmail: requireVerified}.Policies()
	if err != nil {
		t.Fatal(err)
	}
	st, ids, random := f.store, &seqIDs{}, &countingRandom{}
	audit := application.NewRecorder(st, ids, f.clock, nil)
	guard := application.NewGuard(st, f.hasher, f.clock, audit, policies.Throttle)
	tokens := fakeTokens{clock: f.clock}
	f.sessions, err = sessions.New(sessions.Deps{Tx: st, Sessions: st, Issuer: tokens, Clock: f.clock, IDs: ids, Random: random, Audit: audit}, policies)
	if err != nil {
		t.Fatal(err)
	}
	password, err := signin.NewPassword(context.Background(), st, st, guard, f.hasher, f.clock, audit)
	if err != nil {
		t.Fatal(err)
	}
	letters := application.NewLetters(mp, ids, rand.Reader, f.clock)
	f.bearer = sessions.NewBearer(tokens)
	f.login = signin.NewLogin(password, f.sessions).RequireVerifiedEmail(mp.RequireVerified)
	f.register = account.NewRegistration(st, f.hasher, ids, f.clock, audit).WithMail(letters)
	f.change = account.NewPasswordChange(st, st, f.sessions, guard, f.hasher, f.clock, audit).WithMail(letters)
	f.verify = account.NewVerification(st, letters, f.clock, audit)
	f.reset = account.NewPasswordReset(st, st, st, f.hasher, letters, f.clock, audit)
	f.email = account.NewEmailChange(st, st, st, f.sessions, guard, letters, f.clock, audit)
	f.courier = application.NewCourier(st, f.box, f.clock, letters, f.events, application.CourierConfig{})
	return f
}

// deliver runs the courier once and returns what it sent.
func (f *mailFixture) deliver(t *testing.T) []domain.Mail {
	t.Helper()
	before := len(f.box.mails())
	if _, err := f.courier.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	return f.box.mails()[before:]
}

// only asserts exactly one mail of kind to to, and returns its token.
func only(t *testing.T, mails []domain.Mail, kind domain.MailKind, to string) string {
	t.Helper()
	if len(mails) != 1 || mails[0].Kind != kind || mails[0].To != to {
		t.Fatalf("mails %v, want one %s to %s", mails, kind, to)
	}
	if mails[0].Link == "" {
		return ""
	}
	u, err := url.Parse(mails[0].Link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

func (f *mailFixture) signUp(t *testing.T, email string) (domain.User, string) {
	t.Helper()
	u, err := f.register.Register(t.Context(), account.RegisterInput{Email: email, Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	return u, only(t, f.deliver(t), domain.MailVerifyEmail, email)
}

func TestRegistrationMailsAVerificationLink(t *testing.T) {
	f := newMailFixture(t, false)
	_, err := f.register.Register(t.Context(), account.RegisterInput{Email: "Ada@Example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	mails := f.deliver(t)
	tok := only(t, mails, domain.MailVerifyEmail, "Ada@Example.com")
	if !strings.HasPrefix(mails[0].Link, "https://app.example/verify-email?token=") || len(tok) != 43 {
		t.Fatalf("link %q", mails[0].Link)
	}
	u, err := f.verify.Verify(t.Context(), tok, domain.ClientInfo{})
	if err != nil || !u.EmailVerified() {
		t.Fatalf("verify = %v, %v", u.EmailVerified(), err)
	}
	if _, err := f.verify.Verify(t.Context(), tok, domain.ClientInfo{}); !errors.Is(err, domain.ErrInvalidEmailToken) {
		t.Fatalf("a used token: %v", err)
	}
	// Verified: asking again sends nothing.
	if err := f.verify.Send(t.Context(), account.AddressInput{Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	if got := f.deliver(t); len(got) != 0 {
		t.Fatalf("a verified address got %v", got)
	}
}

func TestEmailTokensRefuseEveryBadForm(t *testing.T) {
	f := newMailFixture(t, false)
	u, verifyTok := f.signUp(t, "ada@example.com")
	f.clock.now = f.clock.now.Add(time.Minute)
	if err := f.reset.Forgot(t.Context(), account.AddressInput{Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	resetTok := only(t, f.deliver(t), domain.MailResetPassword, "ada@example.com")
	for name, try := range map[string]func() error{
		"reset token at verify": func() error { _, err := f.verify.Verify(t.Context(), resetTok, domain.ClientInfo{}); return err },
		"verify token at reset": func() error {
			return f.reset.Reset(t.Context(), account.ResetInput{Token: verifyTok, Password: "a new password"})
		},
		"verify token at email change": func() error { _, err := f.email.Confirm(t.Context(), verifyTok, domain.ClientInfo{}); return err },
		"malformed":                    func() error { _, err := f.verify.Verify(t.Context(), "not-a-token", domain.ClientInfo{}); return err },
		"empty":                        func() error { _, err := f.verify.Verify(t.Context(), "", domain.ClientInfo{}); return err },
		"unknown": func() error {
			_, err := f.verify.Verify(t.Context(), strings.Repeat("A", 43), domain.ClientInfo{})
			return err
		},
	} {
		if err := try(); !errors.Is(err, domain.ErrInvalidEmailToken) {
			t.Errorf("%s: %v, want ErrInvalidEmailToken", name, err)
		}
	}
	// Expired: the reset token lives 30 minutes.
	f.clock.now = f.clock.now.Add(30 * time.Minute)
	hashes := f.hasher.hashes.Load()
	if err := f.reset.Reset(t.Context(), account.ResetInput{Token: resetTok, Password: "a new password"}); !errors.Is(err, domain.ErrInvalidEmailToken) {
		t.Fatalf("expired reset token: %v", err)
	}
	if f.hasher.hashes.Load() != hashes {
		t.Fatal("an unusable reset token cost a password hash")
	}
	// The verification token (24 h) still works, once.
	if got, err := f.verify.Verify(t.Context(), verifyTok, domain.ClientInfo{}); err != nil || got.ID() != u.ID() {
		t.Fatalf("verify: %v", err)
	}
}

func TestResetEndsSessionsClearsThrottleKillsOtherLinks(t *testing.T) {
	f := newMailFixture(t, false)
	u, _ := f.signUp(t, "ada@example.com")
	ctx := t.Context()
	pair, err := f.login.Login(ctx, signin.LoginInput{Email: "ada@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	// An attacker's guesses lock the account.
	for range 8 {
		_, _ = f.login.Login(ctx, signin.LoginInput{Email: "ada@example.com", Password: "wrong guess"})
	}
	if _, err := f.login.Login(ctx, signin.LoginInput{Email: "ada@example.com", Password: "correct horse"}); !errors.Is(err, domain.ErrThrottled) {
		t.Fatalf("locked account: %v", err)
	}
	var links []string
	for i := range 2 {
		f.clock.now = f.clock.now.Add(time.Minute)
		if err := f.reset.Forgot(ctx, account.AddressInput{Email: "ADA@example.com"}); err != nil {
			t.Fatal(err)
		}
		links = append(links, only(t, f.deliver(t), domain.MailResetPassword, "ada@example.com"))
		_ = i
	}
	if err := f.reset.Reset(ctx, account.ResetInput{Token: links[1], Password: "short"}); !isValidation(err, "password") {
		t.Fatalf("a short password: %v", err)
	}
	if err := f.reset.Reset(ctx, account.ResetInput{Token: links[1], Password: "brand new secret"}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: pair.RefreshToken}); !errors.Is(err, domain.ErrInvalidRefreshToken) {
		t.Fatalf("a session from before the reset still refreshes: %v", err)
	}
	if err := f.reset.Reset(ctx, account.ResetInput{Token: links[0], Password: "another secret!"}); !errors.Is(err, domain.ErrInvalidEmailToken) {
		t.Fatalf("the other reset link still works: %v", err)
	}
	if _, err := f.login.Login(ctx, signin.LoginInput{Email: "ada@example.com", Password: "brand new secret"}); err != nil {
		t.Fatalf("login after the reset (the throttle must be clear): %v", err)
	}
	only(t, f.deliver(t), domain.MailPasswordChanged, "ada@example.com")
	got, _ := f.store.UserByID(ctx, u.ID())
	if !got.EmailVerified() {
		t.Fatal("a reset by mail did not count as verifying the address")
	}
}

func isValidation(err error, field string) bool {
	var v *domain.ValidationError
	if !errors.As(err, &v) {
		return false
	}
	for _, f := range v.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

func TestMailRequestsAnswerAlikeAndAreCapped(t *testing.T) {
	f := newMailFixture(t, false)
	f.signUp(t, "ada@example.com")
	ctx := t.Context()
	for _, email := range []string{"ada@example.com", "nobody@example.com"} {
		if err := f.reset.Forgot(ctx, account.AddressInput{Email: email}); err != nil {
			t.Fatalf("%s: %v", email, err)
		}
	}
	only(t, f.deliver(t), domain.MailResetPassword, "ada@example.com")
	if err := f.reset.Forgot(ctx, account.AddressInput{Email: "not an email"}); !isValidation(err, "email") {
		t.Fatalf("malformed: %v", err)
	}
	// Within a minute: answered, nothing sent.
	f.clock.now = f.clock.now.Add(59 * time.Second)
	if err := f.reset.Forgot(ctx, account.AddressInput{Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	if got := f.deliver(t); len(got) != 0 {
		t.Fatalf("a second mail within a minute: %v", got)
	}
	// Five an hour: four more, a minute apart, then none until the hour is over.
	sent := 1
	for range 10 {
		f.clock.now = f.clock.now.Add(time.Minute)
		if err := f.reset.Forgot(ctx, account.AddressInput{Email: "ada@example.com"}); err != nil {
			t.Fatal(err)
		}
		sent += len(f.deliver(t))
	}
	if sent != 5 {
		t.Fatalf("%d reset mails in an hour, want 5", sent)
	}
	// The verification cap is apart from the reset cap.
	f.clock.now = f.clock.now.Add(time.Minute)
	if err := f.verify.Send(ctx, account.AddressInput{Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	only(t, f.deliver(t), domain.MailVerifyEmail, "ada@example.com")
}

func TestPasswordChangeKillsResetLinksAndTellsTheOwner(t *testing.T) {
	f := newMailFixture(t, false)
	f.signUp(t, "ada@example.com")
	ctx := t.Context()
	if err := f.reset.Forgot(ctx, account.AddressInput{Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	link := only(t, f.deliver(t), domain.MailResetPassword, "ada@example.com")
	pair, err := f.login.Login(ctx, signin.LoginInput{Email: "ada@example.com", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	p, _ := f.bearer.Authenticate(ctx, pair.AccessToken)
	if err := f.change.Change(ctx, account.ChangePasswordInput{Principal: p, CurrentPassword: "correct horse", NewPassword: "battery staple"}); err != nil {
		t.Fatal(err)
	}
	only(t, f.deliver(t), domain.MailPasswordChanged, "ada@example.com")
	if err := f.reset.Reset(ctx, account.ResetInput{Token: link, Password: "attacker's pick"}); !errors.Is(err, domain.ErrInvalidEmailToken) {
		t.Fatalf("a reset link from before the change: %v", err)
	}
}

func TestRequireVerifiedEmail(t *testing.T) {
	f := newMailFixture(t, true)
	_, tok := f.signUp(t, "ada@example.com")
	ctx := t.Context()
	if _, err := f.login.Login(ctx, signin.LoginInput{Email: "ada@example.com", Password: "wrong password"}); !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("wrong password of an unverified account: %v", err)
	}
	if _, err := f.login.Login(ctx, signin.LoginInput{Email: "ada@example.com", Password: "correct horse"}); !errors.Is(err, domain.ErrEmailNotVerified) {
		t.Fatalf("right password of an unverified account: %v", err)
	}
	if _, err := f.verify.Verify(ctx, tok, domain.ClientInfo{}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.login.Login(ctx, signin.LoginInput{Email: "ada@example.com", Password: "correct horse"}); err != nil {
		t.Fatalf("verified: %v", err)
	}
}

func (f *mailFixture) principal(t *testing.T, email string) application.Principal {
	t.Helper()
	pair, err := f.login.Login(t.Context(), signin.LoginInput{Email: email, Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	p, err := f.bearer.Authenticate(t.Context(), pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestEmailChange(t *testing.T) {
	f := newMailFixture(t, false)
	ada, _ := f.signUp(t, "ada@example.com")
	f.signUp(t, "bob@example.com")
	ctx := t.Context()
	p := f.principal(t, "ada@example.com")
	req := func(email, password string) error {
		return f.email.Request(ctx, account.ChangeEmailInput{Principal: p, Email: email, Password: password})
	}
	if err := req("ada@new.example", "wrong password"); !errors.Is(err, domain.ErrInvalidCredentials) {
		t.Fatalf("wrong password: %v", err)
	}
	if err := req("BOB@example.com", "correct horse"); !errors.Is(err, domain.ErrEmailTaken) {
		t.Fatalf("taken: %v", err)
	}
	if err := req("Ada@Example.com", "correct horse"); !isValidation(err, "email") {
		t.Fatalf("own address: %v", err)
	}
	if err := req("ada@new.example", "correct horse"); err != nil {
		t.Fatal(err)
	}
	tok := only(t, f.deliver(t), domain.MailConfirmEmailChange, "ada@new.example")
	// Nothing changed yet.
	if u, _ := f.store.UserByID(ctx, ada.ID()); u.Email().String() != "ada@example.com" {
		t.Fatalf("changed before confirmation: %s", u.Email())
	}
	u, err := f.email.Confirm(ctx, tok, domain.ClientInfo{})
	if err != nil {
		t.Fatal(err)
	}
	if u.Email().String() != "ada@new.example" || !u.EmailVerified() {
		t.Fatalf("after confirmation: %s verified=%v", u.Email(), u.EmailVerified())
	}
	notice := f.deliver(t)
	only(t, notice, domain.MailEmailChanged, "ada@example.com")
	if notice[0].Detail != "a**@new.example" {
		t.Fatalf("notice detail %q", notice[0].Detail)
	}
	if _, err := f.login.Login(ctx, signin.LoginInput{Email: "ada@new.example", Password: "correct horse"}); err != nil {
		t.Fatalf("login at the new address: %v", err)
	}
	if _, err := f.email.Confirm(ctx, tok, domain.ClientInfo{}); !errors.Is(err, domain.ErrInvalidEmailToken) {
		t.Fatalf("confirmed twice: %v", err)
	}
}

// Two accounts asked to move to one address; both confirm at once: one wins.
func TestEmailChangeRaceOneWins(t *testing.T) {
	f := newMailFixture(t, false)
	f.signUp(t, "ada@example.com")
	f.signUp(t, "bob@example.com")
	var toks []string
	for _, who := range []string{"ada@example.com", "bob@example.com"} {
		p := f.principal(t, who)
		if err := f.email.Request(t.Context(), account.ChangeEmailInput{Principal: p, Email: "shared@example.com", Password: "correct horse"}); err != nil {
			t.Fatal(err)
		}
		f.clock.now = f.clock.now.Add(time.Minute) // the new address's mail cap
		toks = append(toks, only(t, f.deliver(t), domain.MailConfirmEmailChange, "shared@example.com"))
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, tok := range toks {
		wg.Go(func() { _, errs[i] = f.email.Confirm(t.Context(), tok, domain.ClientInfo{}) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, domain.ErrEmailTaken):
			t.Fatal(err)
		}
	}
	if won != 1 {
		t.Fatalf("%d confirmations won, want 1 (%v)", won, errs)
	}
}

func TestCourierRetriesWithBackOffAndGivesUp(t *testing.T) {
	f := newMailFixture(t, false)
	ctx := t.Context()
	f.box.setFail(errors.New("dial tcp 127.0.0.1:1025: connection refused"))
	if _, err := f.register.Register(ctx, account.RegisterInput{Email: "ada@example.com", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	if got := f.deliver(t); len(got) != 0 || f.events.failed != 1 || f.events.queued != 1 {
		t.Fatalf("first attempt: sent %v, failed %d, queued %d", got, f.events.failed, f.events.queued)
	}
	// Not due again before the first back-off.
	f.clock.now = f.clock.now.Add(application.MailFirstRetry - time.Second)
	f.deliver(t)
	if f.events.failed != 1 {
		t.Fatalf("retried before the back-off: %d failures", f.events.failed)
	}
	// The server comes back: the mail goes, once.
	f.box.setFail(nil)
	f.clock.now = f.clock.now.Add(time.Second)
	only(t, f.deliver(t), domain.MailVerifyEmail, "ada@example.com")
	if got := f.deliver(t); len(got) != 0 || f.events.queued != 0 {
		t.Fatalf("sent twice (%v) or still queued (%d)", got, f.events.queued)
	}

	// A server down for good: attempts back off, and the mail is given up
	// after a day.
	f.box.setFail(errors.New("451 try later"))
	if err := f.reset.Forgot(ctx, account.AddressInput{Email: "ada@example.com"}); err != nil {
		t.Fatal(err)
	}
	start, attempts := f.clock.now, 0
	for f.events.givenUp == 0 {
		f.clock.now = f.clock.now.Add(time.Minute)
		before := f.events.failed
		f.deliver(t)
		attempts += f.events.failed - before
		if f.clock.now.Sub(start) > 25*time.Hour {
			t.Fatal("never given up")
		}
	}
	if given := f.clock.now.Sub(start); given < 23*time.Hour || given > 24*time.Hour+time.Minute {
		t.Fatalf("given up after %v, want about AUTH_MAIL_GIVE_UP (24h)", given)
	}
	// Back-off doubling to 10 minutes: about 150 attempts in a day, not 1,440.
	if attempts < 100 || attempts > 200 {
		t.Fatalf("%d attempts in a day", attempts)
	}
	if n, _, _ := f.store.MailQueue(ctx); n != 0 {
		t.Fatalf("a given-up mail is still queued (%d)", n)
	}
}

// permanent is a mail server's final refusal (ports.PermanentMailError).
type permanent struct{}

func (permanent) Error() string   { return "550 no such mailbox" }
func (permanent) Permanent() bool { return true }

func TestCourierGivesUpAtOnceOnAPermanentRefusal(t *testing.T) {
	f := newMailFixture(t, false)
	f.box.setFail(permanent{})
	if _, err := f.register.Register(t.Context(), account.RegisterInput{Email: "ada@example.com", Password: "correct horse"}); err != nil {
		t.Fatal(err)
	}
	f.deliver(t)
	if f.events.givenUp != 1 || f.events.failed != 0 {
		t.Fatalf("given up %d, failed %d; want given up at once", f.events.givenUp, f.events.failed)
	}
}
