package application_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/authd/authd/application"
	"github.com/authd/authd/application/admin"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/domain"
)

func TestCreateUser(t *testing.T) {
	tests := []struct {
		name      string
		in        admin.CreateUserInput
		wantRole  domain.Role
		wantField map[string]string
	}{
		{"admin", admin.CreateUserInput{Email: " Root@Example.com ", Password: "correct horse", Name: " Root ", Role: "admin"}, domain.RoleAdmin, nil},
		{"user", admin.CreateUserInput{Email: "ada@example.com", Password: "correct horse", Role: "user"}, domain.RoleUser, nil},
		{"empty role is user", admin.CreateUserInput{Email: "ada@example.com", Password: "correct horse"}, domain.RoleUser, nil},
		{"unknown role", admin.CreateUserInput{Email: "ada@example.com", Password: "correct horse", Role: "root"}, "", map[string]string{"role": "invalid"}},
		{"role is case-sensitive", admin.CreateUserInput{Email: "ada@example.com", Password: "correct horse", Role: "Admin"}, "", map[string]string{"role": "invalid"}},
		{"register's rules apply", admin.CreateUserInput{Email: "Ada <ada@example.com>", Password: "1234567", Name: strings.Repeat("x", 101)}, "",
			map[string]string{"email": "invalid", "password": "too_short", "name": "too_long"}},
		{"every field at once", admin.CreateUserInput{Email: "", Password: "", Role: "root"}, "",
			map[string]string{"email": "required", "password": "required", "role": "invalid"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t)
			u, err := f.admin.CreateUser(ctx, tt.in)
			if tt.wantField != nil {
				got := fieldCodes(t, err)
				if fmt.Sprint(got) != fmt.Sprint(tt.wantField) {
					t.Fatalf("fields = %v, want %v", got, tt.wantField)
				}
				if f.hasher.hashes.Load() != 1 { // only the dummy hash of signin.NewPassword
					t.Errorf("a rejected account must not pay a hash")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.Role() != tt.wantRole || u.Email().String() != strings.TrimSpace(tt.in.Email) || u.Email().Key() != strings.ToLower(strings.TrimSpace(tt.in.Email)) ||
				u.Name() != strings.TrimSpace(tt.in.Name) || !u.CreatedAt().Equal(t0) {
				t.Fatalf("user = %v %v %q %v", u.Role(), u.Email(), u.Name(), u.CreatedAt())
			}
			stored, err := f.store.UserByID(ctx, u.ID())
			if err != nil || stored.Role() != tt.wantRole {
				t.Fatalf("stored = %v, %v", stored.Role(), err)
			}
			if hash := f.passwordHash(t, u.ID()); hash != "fake$"+tt.in.Password {
				t.Fatalf("stored hash = %q", hash)
			}
			// The account works like a registered one, and its tokens carry the role.
			pair := f.login(t, tt.in.Email, tt.in.Password)
			p, err := f.bearer.Authenticate(ctx, pair.AccessToken)
			if err != nil || p.Role != tt.wantRole {
				t.Fatalf("token role = %q, %v; want %q", p.Role, err, tt.wantRole)
			}
		})
	}
}

func TestCreateUserDuplicateAndHasherBusy(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	_, err := f.admin.CreateUser(context.Background(), admin.CreateUserInput{Email: "ADA@example.com", Password: "another password", Role: "admin"})
	if !errors.Is(err, domain.ErrEmailTaken) {
		t.Fatalf("duplicate: err = %v, want ErrEmailTaken", err)
	}
	f.hasher.err = domain.ErrUnavailable
	_, err = f.admin.CreateUser(context.Background(), admin.CreateUserInput{Email: "grace@example.com", Password: "correct horse"})
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("hasher busy: err = %v, want ErrUnavailable", err)
	}
}

func TestSetRole(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	u := f.register(t, "ada@example.com", "correct horse")
	other := f.register(t, "grace@example.com", "correct horse")
	pair := f.login(t, "ada@example.com", "correct horse")

	change, err := f.admin.SetRole(ctx, admin.SetRoleInput{Email: " ADA@example.com", Role: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	if change.Previous != domain.RoleUser || change.User.Role() != domain.RoleAdmin || change.User.ID() != u.ID() {
		t.Fatalf("change = %v -> %v for %v", change.Previous, change.User.Role(), change.User.ID())
	}
	if got, _ := f.store.UserByID(ctx, u.ID()); got.Role() != domain.RoleAdmin {
		t.Fatalf("stored role = %q", got.Role())
	}
	if got, _ := f.store.UserByID(ctx, other.ID()); got.Role() != domain.RoleUser {
		t.Fatalf("another user's role changed to %q", got.Role())
	}

	// The old access token keeps its role; the next refresh carries the new one.
	if p, _ := f.bearer.Authenticate(ctx, pair.AccessToken); p.Role != domain.RoleUser {
		t.Fatalf("old token role = %q", p.Role)
	}
	next, err := f.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: pair.RefreshToken})
	if err != nil {
		t.Fatal(err)
	}
	if p, _ := f.bearer.Authenticate(ctx, next.AccessToken); p.Role != domain.RoleAdmin {
		t.Fatalf("refreshed token role = %q, want admin", p.Role)
	}

	// Again: no change, no error.
	change, err = f.admin.SetRole(ctx, admin.SetRoleInput{Email: "ada@example.com", Role: "admin"})
	if err != nil || change.Previous != domain.RoleAdmin || change.User.Role() != domain.RoleAdmin {
		t.Fatalf("idempotent set: %v -> %v, %v", change.Previous, change.User.Role(), err)
	}
}

func TestSetRoleFailures(t *testing.T) {
	tests := []struct {
		name      string
		in        admin.SetRoleInput
		setup     func(f *fixture)
		want      error
		wantField map[string]string
	}{
		{name: "unknown email", in: admin.SetRoleInput{Email: "nobody@example.com", Role: "admin"}, want: domain.ErrNotFound},
		{name: "unknown role", in: admin.SetRoleInput{Email: "ada@example.com", Role: "root"}, wantField: map[string]string{"role": "invalid"}},
		{name: "both bad", in: admin.SetRoleInput{Email: "nope", Role: ""}, wantField: map[string]string{"email": "invalid", "role": "invalid"}},
		{name: "store failure is not not-found", in: admin.SetRoleInput{Email: "ada@example.com", Role: "admin"},
			setup: func(f *fixture) { f.store.failByEmail = domain.ErrUnavailable }, want: domain.ErrUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			u := f.register(t, "ada@example.com", "correct horse")
			if tt.setup != nil {
				tt.setup(f)
			}
			_, err := f.admin.SetRole(context.Background(), tt.in)
			if tt.wantField != nil {
				if got := fieldCodes(t, err); fmt.Sprint(got) != fmt.Sprint(tt.wantField) {
					t.Fatalf("fields = %v, want %v", got, tt.wantField)
				}
			} else if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want != domain.ErrNotFound && errors.Is(err, domain.ErrNotFound) {
				t.Fatalf("err = %v must not be ErrNotFound", err)
			}
			if got, _ := f.store.Store.UserByID(context.Background(), u.ID()); got.Role() != domain.RoleUser {
				t.Fatalf("a failed SetRole changed the role to %q", got.Role())
			}
		})
	}
}

func TestRevokeUserSessions(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	f.register(t, "grace@example.com", "correct horse")
	first := f.login(t, "ada@example.com", "correct horse")
	second := f.login(t, "ada@example.com", "correct horse")
	loggedOut := f.login(t, "ada@example.com", "correct horse")
	grace := f.login(t, "grace@example.com", "correct horse")
	if err := f.sessions.Logout(ctx, sessions.LogoutInput{RefreshToken: loggedOut.RefreshToken}); err != nil {
		t.Fatal(err)
	}

	n, err := f.admin.RevokeUserSessions(ctx, "Ada@Example.com")
	if err != nil || n != 2 {
		t.Fatalf("RevokeUserSessions = %d, %v; want 2 (the logged-out session does not count)", n, err)
	}
	for _, pair := range []application.TokenPair{first, second} {
		if _, err := f.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: pair.RefreshToken}); !errors.Is(err, domain.ErrInvalidRefreshToken) {
			t.Fatalf("refresh after revoke: err = %v", err)
		}
		p, _ := f.bearer.Authenticate(ctx, pair.AccessToken)
		if _, err := f.sessions.CurrentUser(ctx, p); !errors.Is(err, domain.ErrInvalidToken) {
			t.Fatalf("/me after revoke: err = %v", err)
		}
	}
	if _, err := f.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: grace.RefreshToken}); err != nil {
		t.Fatalf("another user's session was touched: %v", err)
	}
	if n, err := f.admin.RevokeUserSessions(ctx, "ada@example.com"); err != nil || n != 0 {
		t.Fatalf("second RevokeUserSessions = %d, %v; want 0", n, err)
	}
	// Revoking sessions does not lock the account out.
	f.login(t, "ada@example.com", "correct horse")
}

func TestRevokeUserSessionsFailures(t *testing.T) {
	f := newFixture(t)
	f.register(t, "ada@example.com", "correct horse")
	if _, err := f.admin.RevokeUserSessions(context.Background(), "nobody@example.com"); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("unknown email: err = %v, want ErrNotFound", err)
	}
	if _, err := f.admin.RevokeUserSessions(context.Background(), "not an email"); fieldCodes(t, err)["email"] != "invalid" {
		t.Fatalf("bad email: err = %v", err)
	}
	f.store.failByEmail = domain.ErrUnavailable
	if _, err := f.admin.RevokeUserSessions(context.Background(), "ada@example.com"); !errors.Is(err, domain.ErrUnavailable) || errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("store down: err = %v, want ErrUnavailable only", err)
	}
}

func TestListUsersPages(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	var want []string
	for i := range 5 {
		email := fmt.Sprintf("user%d@example.com", i)
		f.register(t, email, "correct horse")
		want = append(want, email)
	}

	for _, limit := range []int{1, 2, 4, 5, 6} {
		var got []string
		in := admin.ListUsersInput{Limit: limit}
		for pages := 1; ; pages++ {
			page, err := f.admin.ListUsers(ctx, in)
			if err != nil {
				t.Fatal(err)
			}
			if len(page.Users) == 0 || len(page.Users) > limit {
				t.Fatalf("limit %d, page %d: %d users; a page is never empty or over the limit", limit, pages, len(page.Users))
			}
			for _, u := range page.Users {
				got = append(got, u.Email().String())
			}
			if page.Next == "" {
				break
			}
			if page.Next != page.Users[len(page.Users)-1].ID().String() {
				t.Fatalf("Next = %s, want the last id of the page", page.Next)
			}
			in.After = page.Next
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("limit %d: walked %v, want %v", limit, got, want)
		}
	}

	page, err := f.admin.ListUsers(ctx, admin.ListUsersInput{})
	if err != nil || len(page.Users) != 5 || page.Next != "" {
		t.Fatalf("default limit: %d users, next %q, %v", len(page.Users), page.Next, err)
	}
	page, err = f.admin.ListUsers(ctx, admin.ListUsersInput{EmailContains: "USER3@", Limit: 1})
	if err != nil || len(page.Users) != 1 || page.Users[0].Email().String() != "user3@example.com" || page.Next != "" {
		t.Fatalf("filter: %v next %q, %v", page.Users, page.Next, err)
	}
}

func TestListUsersDefaultAndMaxLimit(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t)
	// Straight into the store: 501 hashes would only slow the test down.
	for i := range admin.MaxUserPageSize + 1 {
		email, _ := domain.NewEmail(fmt.Sprintf("user%03d@example.com", i))
		u, err := domain.NewUser(domain.UserID(fmt.Sprintf("00000000-0000-7000-9000-%012d", i)), email, "", t0)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.store.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	page, err := f.admin.ListUsers(ctx, admin.ListUsersInput{})
	if err != nil || len(page.Users) != admin.DefaultUserPageSize || page.Next == "" {
		t.Fatalf("default page: %d users, next %q, %v", len(page.Users), page.Next, err)
	}
	page, err = f.admin.ListUsers(ctx, admin.ListUsersInput{Limit: admin.MaxUserPageSize})
	if err != nil || len(page.Users) != admin.MaxUserPageSize || page.Next == "" {
		t.Fatalf("max page: %d users, next %q, %v", len(page.Users), page.Next, err)
	}
	last, err := f.admin.ListUsers(ctx, admin.ListUsersInput{Limit: admin.MaxUserPageSize, After: page.Next})
	if err != nil || len(last.Users) != 1 || last.Next != "" {
		t.Fatalf("after the max page: %d users, next %q, %v", len(last.Users), last.Next, err)
	}
}

func TestListUsersRejects(t *testing.T) {
	tests := []struct {
		name  string
		in    admin.ListUsersInput
		field string
		code  string
	}{
		{"negative limit", admin.ListUsersInput{Limit: -1}, "limit", "invalid"},
		{"limit over the maximum", admin.ListUsersInput{Limit: admin.MaxUserPageSize + 1}, "limit", "invalid"},
		{"malformed cursor", admin.ListUsersInput{After: "page-2"}, "after", "invalid"},
		{"filter not UTF-8", admin.ListUsersInput{EmailContains: "a\xffb"}, "email", "invalid"},
		{"filter longer than any email", admin.ListUsersInput{EmailContains: strings.Repeat("a", domain.MaxEmailBytes+1)}, "email", "too_long"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			_, err := f.admin.ListUsers(context.Background(), tt.in)
			if got := fieldCodes(t, err); len(got) != 1 || got[tt.field] != tt.code {
				t.Fatalf("fields = %v, want %s: %s", got, tt.field, tt.code)
			}
		})
	}
}
