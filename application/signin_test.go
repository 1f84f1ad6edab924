package application_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/domain"
)

func TestRegister(t *testing.T) {
	long := strings.Repeat("x", 101)
	tests := []struct {
		name      string
		in        account.RegisterInput
		wantField map[string]string
	}{
		{"valid", account.RegisterInput{Email: "  Ada@Example.COM ", Password: "correct horse", Name: "Ada"}, nil},
		{"multibyte password of 8 characters", account.RegisterInput{Email: "b@example.com", Password: "éééééééé"}, nil},
		{"missing email", account.RegisterInput{Password: "correct horse"}, map[string]string{"email": "required"}},
		{"bad email", account.RegisterInput{Email: "not-an-email", Password: "correct horse"}, map[string]string{"email": "invalid"}},
		{"display-name email", account.RegisterInput{Email: "Ada <ada@example.com>", Password: "correct horse"}, map[string]string{"email": "invalid"}},
		{"email too long", account.RegisterInput{Email: strings.Repeat("a", 250) + "@x.io", Password: "correct horse"}, map[string]string{"email": "too_long"}},
		{"short password", account.RegisterInput{Email: "c@example.com", Password: "1234567"}, map[string]string{"password": "too_short"}},
		{"password over 1024 bytes", account.RegisterInput{Email: "c@example.com", Password: strings.Repeat("p", 1025)}, map[string]string{"password": "too_long"}},
		{"name too long", account.RegisterInput{Email: "c@example.com", Password: "correct horse", Name: long}, map[string]string{"name": "too_long"}},
		{"every field at once", account.RegisterInput{Email: "x", Password: "", Name: long}, map[string]string{"email": "invalid", "password": "required", "name": "too_long"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			u, err := f.registration.Register(context.Background(), tt.in)
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
				if f.hasher.hashes.Load() != 1 { // only the dummy hash of signin.NewPassword
					t.Errorf("a rejected sign-up must not pay a hash")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.Email().String() != strings.TrimSpace(tt.in.Email) || u.Email().Key() != strings.ToLower(strings.TrimSpace(tt.in.Email)) || u.Role() != domain.RoleUser || !u.CreatedAt().Equal(t0) {
				t.Errorf("user = %+v", u)
			}
			if got := f.passwordHash(t, u.ID()); got != "fake$"+tt.in.Password {
				t.Errorf("stored hash = %q", got)
			}
		})
	}
}

func TestRegisterDuplicateEmailIsCaseInsensitive(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	_, err := f.registration.Register(context.Background(), account.RegisterInput{Email: "ADA@example.com", Password: "another password"})
	if !errors.Is(err, domain.ErrEmailTaken) {
		t.Fatalf("err = %v, want ErrEmailTaken", err)
	}
}

func TestRegisterHasherBusy(t *testing.T) {
	f := newFixture(t)
	f.hasher.err = domain.ErrUnavailable
	_, err := f.registration.Register(context.Background(), account.RegisterInput{Email: "a@example.com", Password: "correct horse"})
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("err = %v, want ErrUnavailable", err)
	}
}

func TestLogin(t *testing.T) {
	f := newFixture(t)
	u := f.register(t, "ada@example.com", "correct horse")
	pair := f.login(t, "  ADA@example.com", "correct horse")
	if pair.User.ID() != u.ID() || pair.AccessExpiresIn != 15*time.Minute || pair.RefreshExpiresIn != application.DefaultSessionIdleTTL {
		t.Fatalf("pair = %+v", pair)
	}
	if len(pair.RefreshToken) != 43 { // 32 bytes, base64url, unpadded
		t.Errorf("refresh token length = %d", len(pair.RefreshToken))
	}
	p, err := f.bearer.Authenticate(context.Background(), pair.AccessToken)
	if err != nil || p.UserID != u.ID() {
		t.Fatalf("authenticate: %+v %v", p, err)
	}
}

// Access tokens say how and when the user authenticated: the password
// (RFC 8176 "pwd") at the session's creation, and a refresh changes
// neither, however much later it comes.
func TestAccessTokensCarryMethodsAndAuthTime(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	f.clock.now = t0.Add(time.Minute)
	pair := f.login(t, "ada@example.com", "correct horse")

	check := func(what, access string) {
		t.Helper()
		c, err := f.tokens.VerifyAccessToken(ctx, access)
		if err != nil {
			t.Fatal(err)
		}
		session, _, err := f.store.Store.SessionByID(ctx, c.SessionID)
		if err != nil {
			t.Fatal(err)
		}
		if len(c.Methods) != 1 || c.Methods[0] != domain.MethodPassword {
			t.Errorf("%s: methods = %v, want [pwd]", what, c.Methods)
		}
		if !c.AuthTime.Equal(session.CreatedAt()) || !c.AuthTime.Equal(t0.Add(time.Minute)) {
			t.Errorf("%s: auth time = %v, want the session's creation %v", what, c.AuthTime, session.CreatedAt())
		}
		if m := session.Methods(); len(m) != 1 || m[0] != domain.MethodPassword {
			t.Errorf("%s: the stored session's methods = %v", what, m)
		}
		if p, err := f.bearer.Authenticate(ctx, access); err != nil || p.UserID != pair.User.ID() {
			t.Errorf("%s: authenticate = %+v, %v", what, p, err)
		}
	}
	check("login", pair.AccessToken)
	for i := range 3 {
		f.clock.now = f.clock.now.Add(time.Duration(i+1) * time.Hour)
		pair = f.refresh(t, pair.RefreshToken, phone)
		check("refresh", pair.AccessToken)
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
		{name: "account without a password pays one hash", email: "nopass@example.com", pass: "correct horse", want: domain.ErrInvalidCredentials, wantVerify: 1},
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
			ctx := context.Background()
			f := newFixture(t)
			f.register(t, "ada@example.com", "correct horse")
			// An identity without a password credential (ports.Passwords).
			email, _ := domain.NewEmail("nopass@example.com")
			nopass, err := domain.NewUser("00000000-0000-7000-9000-000000000001", email, "", t0)
			if err != nil {
				t.Fatal(err)
			}
			if err := f.store.Store.CreateUser(ctx, nopass); err != nil {
				t.Fatal(err)
			}
			if tt.setup != nil {
				tt.setup(f)
			}
			before := f.hasher.verifies.Load()
			_, err = f.logins.Login(ctx, signin.LoginInput{Email: tt.email, Password: tt.pass})
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
	_, err := f.logins.Login(context.Background(), signin.LoginInput{Email: "", Password: strings.Repeat("p", 1025)})
	got := fieldCodes(t, err)
	if got["email"] != "required" || got["password"] != "too_long" {
		t.Fatalf("fields = %v", got)
	}
}

func TestLoginUpgradesOutdatedHash(t *testing.T) {
	f := newFixture(t)
	u := f.register(t, "ada@example.com", "correct horse")
	f.setPasswordHash(t, u.ID(), "legacy$correct horse")
	f.login(t, "ada@example.com", "correct horse")
	if got, n := f.passwordHash(t, u.ID()), f.store.swaps.Load(); got != "fake$correct horse" || n != 1 {
		t.Fatalf("hash = %q after %d swaps, want upgraded once", got, n)
	}
	f.login(t, "ada@example.com", "correct horse")
	if f.store.swaps.Load() != 1 {
		t.Fatalf("an up-to-date hash was rewritten")
	}
}
