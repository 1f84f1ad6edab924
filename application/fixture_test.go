package application_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/adapters/memory"
	"github.com/authd/authd/application"
	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/admin"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// store is what every store adapter provides (cmd/authd/wire.go).
type store interface {
	ports.Users
	ports.Passwords
	ports.Sessions
	ports.LoginThrottle
	ports.AuditLog
	ports.Pinger
	ports.Transactor
}

// useCases are the capabilities as authd serve builds them.
type useCases struct {
	logins         *signin.Login
	sessions       *sessions.Service
	bearer         *sessions.Bearer
	registration   *account.Registration
	passwordChange *account.PasswordChange
	admin          *admin.Service
	recorder       *application.Recorder
	guard          *application.Guard
}

// wiring is what wireUseCases builds the use cases from. The recorder
// writes to audit, not to the store: a test may put a fault in between.
type wiring struct {
	store   store
	audit   ports.AuditLog // nil: record nothing
	onError func(error)
	hasher  ports.PasswordHasher
	tokens  fakeTokens
	clock   ports.Clock
	ids     ports.IDGenerator
	random  ports.RandomSource
	config  application.Config
}

// wireUseCases builds the capabilities exactly as cmd/authd/wire.go's
// newServer does: the throttle, the transactions and every repository on
// the one store.
func wireUseCases(tb testing.TB, w wiring) useCases {
	tb.Helper()
	policies, err := w.config.Policies()
	if err != nil {
		tb.Fatal(err)
	}
	st := w.store
	audit := application.NewRecorder(w.audit, w.ids, w.clock, w.onError)
	guard := application.NewGuard(st, w.hasher, w.clock, audit, policies.Throttle)
	sess, err := sessions.New(sessions.Deps{
		Tx: st, Sessions: st, Issuer: w.tokens, Clock: w.clock, IDs: w.ids, Random: w.random, Audit: audit,
	}, policies)
	if err != nil {
		tb.Fatal(err)
	}
	password, err := signin.NewPassword(context.Background(), st, st, guard, w.hasher, w.clock, audit)
	if err != nil {
		tb.Fatal(err)
	}
	registration := account.NewRegistration(st, w.hasher, w.ids, w.clock, audit)
	return useCases{
		logins:         signin.NewLogin(password, sess),
		sessions:       sess,
		bearer:         sessions.NewBearer(w.tokens),
		registration:   registration,
		passwordChange: account.NewPasswordChange(st, st, sess, guard, w.hasher, w.clock, audit),
		admin:          admin.New(st, st, st, registration, w.clock, audit),
		recorder:       audit,
		guard:          guard,
	}
}

// flakyStore wraps the memory store and fails chosen calls, to prove that
// storage failures never turn into "invalid credentials".
type flakyStore struct {
	*memory.Store
	failByEmail  error
	failSession  error
	failThrottle error
	// failTxAudit fails every audit append made inside a transaction: the
	// events that stand or fall with their change.
	failTxAudit error
	// swaps counts the password swaps made outside a transaction: a
	// login's rehash.
	swaps atomic.Int64
}

func (f *flakyStore) ClaimLoginAttempt(ctx context.Context, key domain.ThrottleKey, now time.Time, p domain.ThrottlePolicy) (bool, time.Time, error) {
	if f.failThrottle != nil {
		return false, time.Time{}, f.failThrottle
	}
	return f.Store.ClaimLoginAttempt(ctx, key, now, p)
}

func (f *flakyStore) UserByEmail(ctx context.Context, e domain.Email) (domain.User, error) {
	if f.failByEmail != nil {
		return domain.User{}, f.failByEmail
	}
	return f.Store.UserByEmail(ctx, e)
}

func (f *flakyStore) SessionByID(ctx context.Context, id domain.SessionID) (domain.Session, domain.User, error) {
	if f.failSession != nil {
		return domain.Session{}, domain.User{}, f.failSession
	}
	return f.Store.SessionByID(ctx, id)
}

func (f *flakyStore) SwapPasswordHash(ctx context.Context, user domain.UserID, oldHash, newHash string, now time.Time) error {
	f.swaps.Add(1)
	return f.Store.SwapPasswordHash(ctx, user, oldHash, newHash, now)
}

// WithinTx runs fn in a memory transaction whose audit log fails while
// failTxAudit is set.
func (f *flakyStore) WithinTx(ctx context.Context, fn func(ports.Stores) error) error {
	fail := f.failTxAudit
	return f.Store.WithinTx(ctx, func(st ports.Stores) error {
		if fail != nil {
			st.Audit = &flakyAudit{AuditLog: st.Audit, fail: fail}
		}
		return fn(st)
	})
}

// flakyAudit wraps an audit log and fails on demand.
type flakyAudit struct {
	ports.AuditLog
	mu   sync.Mutex
	fail error
}

func (a *flakyAudit) setFail(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.fail = err
}

func (a *flakyAudit) Append(ctx context.Context, e domain.AuditEvent) error {
	a.mu.Lock()
	fail := a.fail
	a.mu.Unlock()
	if fail != nil {
		return fail
	}
	return a.AuditLog.Append(ctx, e)
}

// errorList collects what the recorder's onError is told.
type errorList struct {
	mu   sync.Mutex
	errs []error
}

func (l *errorList) add(err error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.errs = append(l.errs, err)
}

func (l *errorList) list() []error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.errs)
}

type fixture struct {
	useCases
	store       *flakyStore
	hasher      *fakeHasher
	clock       *fixedClock
	tokens      fakeTokens
	auditLog    *flakyAudit // what the recorder writes to, outside transactions
	auditErrors *errorList
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, application.Config{RefreshTTL: 720 * time.Hour})
}

// newFixtureWith wires the use cases as authd serve does (throttle,
// transactions and audit log on the store) under cfg.
func newFixtureWith(t *testing.T, cfg application.Config) *fixture {
	t.Helper()
	mem := memory.NewStore()
	f := &fixture{
		store: &flakyStore{Store: mem}, hasher: &fakeHasher{}, clock: &fixedClock{now: t0},
		auditLog: &flakyAudit{AuditLog: mem}, auditErrors: &errorList{},
	}
	f.tokens = fakeTokens{clock: f.clock}
	f.useCases = wireUseCases(t, wiring{
		store: f.store, audit: f.auditLog, onError: f.auditErrors.add, hasher: f.hasher, tokens: f.tokens,
		clock: f.clock, ids: &seqIDs{}, random: &countingRandom{}, config: cfg,
	})
	return f
}

func (f *fixture) register(t *testing.T, email, password string) domain.User {
	t.Helper()
	u, err := f.registration.Register(context.Background(), account.RegisterInput{Email: email, Password: password})
	if err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	return u
}

func (f *fixture) login(t *testing.T, email, password string) application.TokenPair {
	t.Helper()
	p, err := f.logins.Login(context.Background(), signin.LoginInput{Email: email, Password: password})
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return p
}

func (f *fixture) loginFrom(t *testing.T, email, password string, c domain.ClientInfo) (application.TokenPair, application.Principal) {
	t.Helper()
	pair, err := f.logins.Login(context.Background(), signin.LoginInput{Email: email, Password: password, Client: c})
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	p, err := f.bearer.Authenticate(context.Background(), pair.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	return pair, p
}

func (f *fixture) refresh(t *testing.T, token string, c domain.ClientInfo) application.TokenPair {
	t.Helper()
	pair, err := f.sessions.Refresh(context.Background(), sessions.RefreshInput{RefreshToken: token, Client: c})
	if err != nil {
		t.Fatalf("refresh at %s: %v", f.clock.now.Sub(t0), err)
	}
	return pair
}

func (f *fixture) changePassword(in account.ChangePasswordInput) error {
	return f.passwordChange.Change(context.Background(), in)
}

// passwordHash is the stored hash of u's password.
func (f *fixture) passwordHash(t *testing.T, u domain.UserID) string {
	t.Helper()
	hash, err := f.store.Store.PasswordHash(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	return hash
}

// setPasswordHash replaces u's stored hash behind the use cases' back.
func (f *fixture) setPasswordHash(t *testing.T, u domain.UserID, hash string) {
	t.Helper()
	if err := f.store.Store.SetPassword(context.Background(), u, hash, f.clock.now); err != nil {
		t.Fatal(err)
	}
}

func loginErr(f *fixture, email, password string) error {
	_, err := f.logins.Login(context.Background(), signin.LoginInput{Email: email, Password: password})
	return err
}

func fieldCodes(t *testing.T, err error) map[string]string {
	t.Helper()
	var v *domain.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("want *domain.ValidationError, got %v", err)
	}
	m := map[string]string{}
	for _, f := range v.Fields {
		m[f.Field] = f.Code
	}
	return m
}

var (
	laptop = domain.ClientInfo{IP: "203.0.113.7", UserAgent: "Mozilla/5.0 Firefox/140.0"}
	phone  = domain.ClientInfo{IP: "2001:db8::42", UserAgent: "authd-ios/2.1"}
)
