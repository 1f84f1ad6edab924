package application_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/adapters/memory"
	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// flakyStore wraps the memory store and fails chosen calls, to prove that
// storage failures never turn into "invalid credentials".
type flakyStore struct {
	*memory.Store
	failByEmail  error
	failSession  error
	failThrottle error
	updates      int
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

func (f *flakyStore) UpdatePasswordHash(ctx context.Context, id domain.UserID, oldHash, newHash string) error {
	f.updates++
	return f.Store.UpdatePasswordHash(ctx, id, oldHash, newHash)
}

type fixture struct {
	svc         *application.Service
	store       *flakyStore
	hasher      *fakeHasher
	clock       *fixedClock
	audit       *flakyAudit
	auditErrors *errorList
}

// flakyAudit wraps the memory store's audit log and fails on demand.
type flakyAudit struct {
	ports.AuditLog
	mu   sync.Mutex
	fail error
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

// errorList collects what OnAuditError is told.
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

func newFixture(t *testing.T) *fixture {
	t.Helper()
	return newFixtureWith(t, application.Config{RefreshTTL: 720 * time.Hour})
}

// newFixtureWith wires the use cases as authd serve does (throttle and
// audit log on the store) under cfg.
func newFixtureWith(t *testing.T, cfg application.Config) *fixture {
	t.Helper()
	mem := memory.NewStore()
	f := &fixture{
		store: &flakyStore{Store: mem}, hasher: &fakeHasher{}, clock: &fixedClock{now: t0},
		audit: &flakyAudit{AuditLog: mem}, auditErrors: &errorList{},
	}
	tokens := fakeTokens{clock: f.clock}
	svc, err := application.NewService(context.Background(), application.Deps{
		Users: f.store, Sessions: f.store, Store: f.store, Hasher: f.hasher,
		Issuer: tokens, Verifier: tokens, Clock: f.clock, IDs: &seqIDs{}, Random: &countingRandom{},
		Throttle: f.store, Audit: f.audit, OnAuditError: f.auditErrors.add,
	}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	f.svc = svc
	return f
}

func (f *fixture) register(t *testing.T, email, password string) domain.User {
	t.Helper()
	u, err := f.svc.Register(context.Background(), application.RegisterInput{Email: email, Password: password})
	if err != nil {
		t.Fatalf("register %s: %v", email, err)
	}
	return u
}

func (f *fixture) login(t *testing.T, email, password string) application.TokenPair {
	t.Helper()
	p, err := f.svc.Login(context.Background(), application.LoginInput{Email: email, Password: password})
	if err != nil {
		t.Fatalf("login %s: %v", email, err)
	}
	return p
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

func TestRegister(t *testing.T) {
	long := strings.Repeat("x", 101)
	tests := []struct {
		name      string
		in        application.RegisterInput
		wantField map[string]string
	}{
		{"valid", application.RegisterInput{Email: "  Ada@Example.COM ", Password: "correct horse", Name: "Ada"}, nil},
		{"multibyte password of 8 characters", application.RegisterInput{Email: "b@example.com", Password: "éééééééé"}, nil},
		{"missing email", application.RegisterInput{Password: "correct horse"}, map[string]string{"email": "required"}},
		{"bad email", application.RegisterInput{Email: "not-an-email", Password: "correct horse"}, map[string]string{"email": "invalid"}},
		{"display-name email", application.RegisterInput{Email: "Ada <ada@example.com>", Password: "correct horse"}, map[string]string{"email": "invalid"}},
		{"email too long", application.RegisterInput{Email: strings.Repeat("a", 250) + "@x.io", Password: "correct horse"}, map[string]string{"email": "too_long"}},
		{"short password", application.RegisterInput{Email: "c@example.com", Password: "1234567"}, map[string]string{"password": "too_short"}},
		{"password over 1024 bytes", application.RegisterInput{Email: "c@example.com", Password: strings.Repeat("p", 1025)}, map[string]string{"password": "too_long"}},
		{"name too long", application.RegisterInput{Email: "c@example.com", Password: "correct horse", Name: long}, map[string]string{"name": "too_long"}},
		{"every field at once", application.RegisterInput{Email: "x", Password: "", Name: long}, map[string]string{"email": "invalid", "password": "required", "name": "too_long"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			u, err := f.svc.Register(context.Background(), tt.in)
			if tt.wantField != nil {
				got := fieldCodes(t, err)
				if len(got) != len(tt.wantField) {
					t.Fatalf("fields = %v, want %v", got, tt.wantField)
				}
				for k, v := range tt.wantField {
					if got[k] != v {
						t.Errorf("field %s = %q, want %q", k, got[k], v)
					}
				}
				if f.hasher.hashes.Load() != 1 { // only the dummy hash of NewService
					t.Errorf("a rejected sign-up must not pay a hash")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.Email().String() != strings.ToLower(strings.TrimSpace(tt.in.Email)) || u.Role() != domain.RoleUser || !u.CreatedAt().Equal(t0) {
				t.Errorf("user = %+v", u)
			}
		})
	}
}

func TestRegisterDuplicateEmailIsCaseInsensitive(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	_, err := f.svc.Register(context.Background(), application.RegisterInput{Email: "ADA@example.com", Password: "another password"})
	if !errors.Is(err, domain.ErrEmailTaken) {
		t.Fatalf("err = %v, want ErrEmailTaken", err)
	}
}

func TestRegisterHasherBusy(t *testing.T) {
	f := newFixture(t)
	f.hasher.err = domain.ErrUnavailable
	_, err := f.svc.Register(context.Background(), application.RegisterInput{Email: "a@example.com", Password: "correct horse"})
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestLogin(t *testing.T) {
	f := newFixture(t)
	u := f.register(t, "ada@example.com", "correct horse")
	pair := f.login(t, "  ADA@example.com", "correct horse")
	if pair.User.ID() != u.ID() || pair.AccessExpiresIn != 15*time.Minute || pair.RefreshExpiresIn != 720*time.Hour {
		t.Fatalf("pair = %+v", pair)
	}
	if len(pair.RefreshToken) != 43 { // 32 bytes, base64url, unpadded
		t.Errorf("refresh token length = %d", len(pair.RefreshToken))
	}
	p, err := f.svc.Authenticate(context.Background(), pair.AccessToken)
	if err != nil || p.UserID != u.ID() {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
}

func TestLoginFailures(t *testing.T) {
	storeDown := errors.New("connection refused")
	tests := []struct {
		name        string
		email, pass string
		setup       func(f *fixture)
		want        error
		notWant     error
		wantVerify  int64
	}{
		{name: "unknown email pays one hash", email: "nobody@example.com", pass: "whatever1", want: domain.ErrInvalidCredentials, wantVerify: 1},
		{name: "wrong password pays one hash", email: "ada@example.com", pass: "wrong password", want: domain.ErrInvalidCredentials, wantVerify: 1},
		{name: "store failure is not bad credentials", email: "ada@example.com", pass: "correct horse",
			setup: func(f *fixture) { f.store.failByEmail = errors.Join(domain.ErrUnavailable, storeDown) },
			want:  domain.ErrUnavailable, notWant: domain.ErrInvalidCredentials},
		{name: "unexpected store error is not bad credentials", email: "ada@example.com", pass: "correct horse",
			setup: func(f *fixture) { f.store.failByEmail = storeDown }, want: storeDown, notWant: domain.ErrInvalidCredentials},
		{name: "hasher saturated", email: "ada@example.com", pass: "correct horse",
			setup: func(f *fixture) { f.hasher.err = domain.ErrUnavailable }, want: domain.ErrUnavailable, notWant: domain.ErrInvalidCredentials},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.register(t, "ada@example.com", "correct horse")
			if tt.setup != nil {
				tt.setup(f)
			}
			before := f.hasher.verifies.Load()
			_, err := f.svc.Login(context.Background(), application.LoginInput{Email: tt.email, Password: tt.pass})
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.notWant != nil && errors.Is(err, tt.notWant) {
				t.Fatalf("err = %v must not be %v", err, tt.notWant)
			}
			if got := f.hasher.verifies.Load() - before; got != tt.wantVerify {
				t.Errorf("verifications = %d, want %d", got, tt.wantVerify)
			}
		})
	}
}

func TestLoginValidation(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.Login(context.Background(), application.LoginInput{Email: "", Password: strings.Repeat("p", 1025)})
	got := fieldCodes(t, err)
	if got["email"] != "required" || got["password"] != "too_long" {
		t.Fatalf("fields = %v", got)
	}
}

func TestLoginUpgradesOutdatedHash(t *testing.T) {
	f := newFixture(t)
	u := f.register(t, "ada@example.com", "correct horse")
	if err := f.store.Store.UpdatePasswordHash(context.Background(), u.ID(), u.PasswordHash(), "legacy$correct horse"); err != nil {
		t.Fatal(err)
	}
	f.login(t, "ada@example.com", "correct horse")
	got, err := f.store.UserByID(context.Background(), u.ID())
	if err != nil {
		t.Fatal(err)
	}
	if got.PasswordHash() != "fake$correct horse" || f.store.updates != 1 {
		t.Fatalf("hash = %q after %d updates, want upgraded once", got.PasswordHash(), f.store.updates)
	}
	f.login(t, "ada@example.com", "correct horse")
	if f.store.updates != 1 {
		t.Fatalf("an up-to-date hash was rewritten")
	}
}

func TestRefreshRotatesAndDetectsReuse(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	first := f.login(t, "ada@example.com", "correct horse")

	f.clock.now = t0.Add(time.Hour)
	second, err := f.svc.Refresh(ctx, application.RefreshInput{RefreshToken: first.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	if second.RefreshToken == first.RefreshToken || second.User.ID() != first.User.ID() {
		t.Fatalf("rotation did not mint a new token: %+v", second)
	}
	p, _ := f.svc.Authenticate(ctx, second.AccessToken)
	p1, _ := f.svc.Authenticate(ctx, first.AccessToken)
	if p.SessionID != p1.SessionID {
		t.Fatalf("refresh must stay in the same session")
	}

	// Reuse of the spent token revokes the session: the newest token dies too.
	if _, err := f.svc.Refresh(ctx, application.RefreshInput{RefreshToken: first.RefreshToken}); !errors.Is(err, domain.ErrRefreshTokenReused) || !errors.Is(err, domain.ErrInvalidRefreshToken) {
		t.Fatalf("reuse: err = %v", err)
	}
	if _, err := f.svc.Refresh(ctx, application.RefreshInput{RefreshToken: second.RefreshToken}); !errors.Is(err, domain.ErrInvalidRefreshToken) {
		t.Fatalf("newest token after reuse: err = %v", err)
	}
	if _, err := f.svc.CurrentUser(ctx, p); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("/me after reuse: err = %v", err)
	}
}

func TestRefreshRejects(t *testing.T) {
	tests := []struct {
		name  string
		token func(f *fixture, pair application.TokenPair) string
		want  error
	}{
		{"empty", func(*fixture, application.TokenPair) string { return "" }, nil},
		{"malformed", func(*fixture, application.TokenPair) string { return "not a token" }, domain.ErrInvalidRefreshToken},
		{"unknown", func(*fixture, application.TokenPair) string { return strings.Repeat("A", 43) }, domain.ErrInvalidRefreshToken},
		{"expired", func(f *fixture, p application.TokenPair) string {
			f.clock.now = t0.Add(720*time.Hour + time.Second)
			return p.RefreshToken
		}, domain.ErrInvalidRefreshToken},
		{"after logout", func(f *fixture, p application.TokenPair) string {
			if err := f.svc.Logout(context.Background(), application.LogoutInput{RefreshToken: p.RefreshToken}); err != nil {
				t.Fatal(err)
			}
			return p.RefreshToken
		}, domain.ErrInvalidRefreshToken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.register(t, "ada@example.com", "correct horse")
			pair := f.login(t, "ada@example.com", "correct horse")
			_, err := f.svc.Refresh(context.Background(), application.RefreshInput{RefreshToken: tt.token(f, pair)})
			if tt.want == nil {
				if fieldCodes(t, err)["refresh_token"] != "required" {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestLogout(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		in   func(pair application.TokenPair, p application.Principal) application.LogoutInput
	}{
		{"by refresh token", func(pair application.TokenPair, _ application.Principal) application.LogoutInput {
			return application.LogoutInput{RefreshToken: pair.RefreshToken}
		}},
		{"by access token", func(_ application.TokenPair, p application.Principal) application.LogoutInput {
			return application.LogoutInput{Principal: &p}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			f.register(t, "ada@example.com", "correct horse")
			pair := f.login(t, "ada@example.com", "correct horse")
			p, err := f.svc.Authenticate(ctx, pair.AccessToken)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := f.svc.CurrentUser(ctx, p); err != nil {
				t.Fatalf("before logout: %v", err)
			}
			for i := range 2 { // idempotent
				if err := f.svc.Logout(ctx, tt.in(pair, p)); err != nil {
					t.Fatalf("logout #%d: %v", i+1, err)
				}
			}
			if _, err := f.svc.CurrentUser(ctx, p); !errors.Is(err, domain.ErrInvalidToken) {
				t.Fatalf("access token of a logged-out session: err = %v", err)
			}
			if _, err := f.svc.Refresh(ctx, application.RefreshInput{RefreshToken: pair.RefreshToken}); !errors.Is(err, domain.ErrInvalidRefreshToken) {
				t.Fatalf("refresh after logout: err = %v", err)
			}
		})
	}
}

func TestLogoutEdgeCases(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	if err := f.svc.Logout(ctx, application.LogoutInput{}); !errors.Is(err, application.ErrNothingToRevoke) {
		t.Fatalf("neither credential: err = %v", err)
	}
	for _, tok := range []string{"garbage", strings.Repeat("B", 43)} {
		if err := f.svc.Logout(ctx, application.LogoutInput{RefreshToken: tok}); err != nil {
			t.Fatalf("unknown token %q: err = %v", tok, err)
		}
	}
}

func TestCurrentUserStoreFailure(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	pair := f.login(t, "ada@example.com", "correct horse")
	p, _ := f.svc.Authenticate(context.Background(), pair.AccessToken)
	f.store.failSession = domain.ErrUnavailable
	if _, err := f.svc.CurrentUser(context.Background(), p); !errors.Is(err, domain.ErrUnavailable) || errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("err = %v, want ErrUnavailable only", err)
	}
}

func TestAuthenticateRejectsGarbage(t *testing.T) {
	f := newFixture(t)
	if _, err := f.svc.Authenticate(context.Background(), "nope"); !errors.Is(err, domain.ErrInvalidToken) {
		t.Fatalf("err = %v", err)
	}
}

func TestNewServiceRequiresEveryPort(t *testing.T) {
	if _, err := application.NewService(context.Background(), application.Deps{}, application.Config{RefreshTTL: time.Hour}); err == nil {
		t.Fatal("want an error for missing ports")
	}
}

var _ ports.PasswordHasher = (*fakeHasher)(nil)
