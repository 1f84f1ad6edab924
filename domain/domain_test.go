package domain_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/domain"
)

func codeOf(t *testing.T, err error, field string) string {
	t.Helper()
	var v *domain.ValidationError
	if !errors.As(err, &v) {
		t.Fatalf("want ValidationError, got %v", err)
	}
	for _, f := range v.Fields {
		if f.Field == field {
			return f.Code
		}
	}
	t.Fatalf("no error for field %s in %v", field, err)
	return ""
}

func TestNewEmail(t *testing.T) {
	tests := []struct {
		in, want, code string
	}{
		{"ada@example.com", "ada@example.com", ""},
		{"  Ada.Lovelace+tag@Example.COM\t", "Ada.Lovelace+tag@Example.COM", ""},
		{"", "", domain.CodeRequired},
		{"   ", "", domain.CodeRequired},
		{"ada", "", domain.CodeInvalid},
		{"ada@", "", domain.CodeInvalid},
		{"@example.com", "", domain.CodeInvalid},
		{"ada@localhost", "", domain.CodeInvalid},
		{"Ada <ada@example.com>", "", domain.CodeInvalid},
		{"ada@example.com, bob@example.com", "", domain.CodeInvalid},
		{"ada@exa mple.com", "", domain.CodeInvalid},
		{strings.Repeat("a", 64) + "@" + strings.Repeat("b", 186) + ".com", "", domain.CodeTooLong},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			e, err := domain.NewEmail(tt.in)
			if tt.code != "" {
				if got := codeOf(t, err, "email"); got != tt.code {
					t.Fatalf("code = %s, want %s", got, tt.code)
				}
				return
			}
			if err != nil || e.String() != tt.want || e.Key() != strings.ToLower(tt.want) {
				t.Fatalf("NewEmail = %q (key %q), %v; want %q", e, e.Key(), err, tt.want)
			}
		})
	}
}

func TestNewPassword(t *testing.T) {
	tests := []struct {
		name, in, code string
	}{
		{"8 ascii", "12345678", ""},
		{"8 multibyte characters", "ßßßßßßßß", ""},
		{"exactly 1024 bytes", strings.Repeat("a", 1024), ""},
		{"empty", "", domain.CodeRequired},
		{"7 characters", "1234567", domain.CodeTooShort},
		{"4 characters but 8 bytes", "éééé", domain.CodeTooShort},
		{"1025 bytes", strings.Repeat("a", 1025), domain.CodeTooLong},
		{"invalid utf-8", "abcdefgh\xff", domain.CodeInvalid},
		{"one character NFKC expands to 18", "\ufdfa", domain.CodeTooShort},
		{"two characters NFKC expands to 8", "\u3300\u3300", domain.CodeTooShort},
		{"U+FFFD", "\ufffdabcdefgh", domain.CodeInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := domain.NewPassword(tt.in)
			if tt.code == "" {
				if err != nil || p.Reveal() != tt.in {
					t.Fatalf("err = %v", err)
				}
				return
			}
			if got := codeOf(t, err, "password"); got != tt.code {
				t.Fatalf("code = %s, want %s", got, tt.code)
			}
		})
	}
}

func TestPasswordNeverPrints(t *testing.T) {
	p, err := domain.NewPassword("hunter2hunter2")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%v %+v %#v %s", p, p, p, p)} {
		if strings.Contains(s, "hunter2") {
			t.Fatalf("password leaked: %s", s)
		}
	}
}

func TestLoginPasswordSkipsPolicy(t *testing.T) {
	if _, err := domain.LoginPassword("short"); err != nil {
		t.Fatalf("login must accept any non-empty password: %v", err)
	}
	if got := codeOf(t, mustErr(domain.LoginPassword("")), "password"); got != domain.CodeRequired {
		t.Fatal(got)
	}
}

func mustErr[T any](_ T, err error) error { return err }

func TestValidateName(t *testing.T) {
	if err := domain.ValidateName(strings.Repeat("é", 100)); err != nil {
		t.Fatalf("100 characters must pass: %v", err)
	}
	if got := codeOf(t, domain.ValidateName(strings.Repeat("é", 101)), "name"); got != domain.CodeTooLong {
		t.Fatal(got)
	}
}

func TestNewUser(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("x", 3600))
	email, _ := domain.NewEmail("ada@example.com")
	u, err := domain.NewUser("0190a8b6-0000-7000-8000-000000000001", email, "  Ada ", now)
	if err != nil {
		t.Fatal(err)
	}
	if u.Name() != "Ada" || u.Role() != domain.RoleUser || u.CreatedAt().Location() != time.UTC || !u.CreatedAt().Equal(now) {
		t.Fatalf("user = %+v", u)
	}
	if _, err := domain.NewUser("0190a8b6-0000-7000-8000-000000000001", domain.Email{}, "", now); codeOf(t, err, "email") != domain.CodeRequired {
		t.Fatal("zero email accepted")
	}
}

func TestUserWithRole(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	email, _ := domain.NewEmail("ada@example.com")
	u, err := domain.NewUser("0190a8b6-0000-7000-8000-000000000001", email, "Ada", now)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := u.WithRole(domain.RoleAdmin)
	if err != nil {
		t.Fatal(err)
	}
	if admin.Role() != domain.RoleAdmin || admin.ID() != u.ID() || admin.Email() != u.Email() || admin.Name() != u.Name() ||
		admin.EmailVerified() != u.EmailVerified() || !admin.CreatedAt().Equal(u.CreatedAt()) {
		t.Fatalf("WithRole changed more than the role: %+v", admin)
	}
	if u.Role() != domain.RoleUser {
		t.Fatal("WithRole modified the receiver")
	}
	if _, err := u.WithRole("root"); codeOf(t, err, "role") != domain.CodeInvalid {
		t.Fatal("unknown role accepted")
	}
}

func TestIDsAndRoles(t *testing.T) {
	good := "0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0b"
	if _, err := domain.ParseUserID(good); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"", "not-a-uuid", strings.ToUpper(good), good + "0", "0190a8b6x1c2d-7e3f-8a4b-5c6d7e8f9a0b"} {
		if _, err := domain.ParseSessionID(bad); err == nil {
			t.Errorf("ParseSessionID(%q) accepted", bad)
		}
	}
	if _, err := domain.ParseRole("admin"); err != nil {
		t.Fatal(err)
	}
	if _, err := domain.ParseRole("root"); err == nil {
		t.Fatal("unknown role accepted")
	}
}

func TestRefreshToken(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	tok, err := domain.NewRefreshToken(bytes.NewReader(bytes.Repeat([]byte{7}, 32)), now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if len(tok.Plaintext()) != 43 || !tok.ExpiresAt().Equal(now.Add(time.Hour)) {
		t.Fatalf("token = %q expires %v", tok.Plaintext(), tok.ExpiresAt())
	}
	h, err := domain.ParseRefreshToken(tok.Plaintext())
	if err != nil || !h.Equal(tok.Hash()) {
		t.Fatalf("parse: %v", err)
	}
	if strings.Contains(fmt.Sprintf("%v %+v", tok, tok), tok.Plaintext()) {
		t.Fatal("refresh token leaked through fmt")
	}
	for _, bad := range []string{"", "short", tok.Plaintext() + "A", tok.Plaintext()[:42] + "*", tok.Plaintext() + "="} {
		if _, err := domain.ParseRefreshToken(bad); !errors.Is(err, domain.ErrInvalidRefreshToken) {
			t.Errorf("ParseRefreshToken(%q) = %v", bad, err)
		}
	}
	if _, err := domain.NewRefreshToken(bytes.NewReader(nil), now, time.Hour); err == nil {
		t.Fatal("an exhausted entropy source must fail")
	}
}

func TestSession(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := domain.NewSession("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0b", authFor("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0c"), now, domain.ClientInfo{})
	if !s.Active() {
		t.Fatal("new session must be active")
	}
	r := domain.RehydrateSession(s.ID(), s.UserID(), now, now, now.Add(time.Minute), domain.ClientInfo{}, nil)
	if r.Active() {
		t.Fatal("revoked session reported active")
	}
}

func TestReusedIsInvalidRefresh(t *testing.T) {
	err := fmt.Errorf("wrapped: %w", domain.ErrRefreshTokenReused)
	if !errors.Is(err, domain.ErrInvalidRefreshToken) || !errors.Is(err, domain.ErrRefreshTokenReused) {
		t.Fatal("reuse must match both sentinels")
	}
	if errors.Is(domain.ErrInvalidRefreshToken, domain.ErrRefreshTokenReused) {
		t.Fatal("plain invalid must not claim reuse")
	}
}

func FuzzNewEmail(f *testing.F) {
	for _, s := range []string{"ada@example.com", "A <a@b.c>", "\x00@x.y", strings.Repeat("a", 300)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := domain.NewEmail(s)
		if err != nil {
			return
		}
		if len(e.String()) > domain.MaxEmailBytes || e.String() != strings.ToLower(e.String()) {
			t.Fatalf("accepted %q as %q", s, e)
		}
		again, err := domain.NewEmail(e.String())
		if err != nil || again != e {
			t.Fatalf("normalisation not idempotent for %q", s)
		}
	})
}

func FuzzParseRefreshToken(f *testing.F) {
	f.Add("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
	f.Add("")
	f.Fuzz(func(t *testing.T, s string) {
		if _, err := domain.ParseRefreshToken(s); err == nil && len(s) != 43 {
			t.Fatalf("accepted %q", s)
		}
	})
}

// authFor is a password authentication of the user with id.
func authFor(id domain.UserID) domain.Authentication {
	u := domain.RehydrateUser(id, domain.RehydrateEmail("a@example.com", "a@example.com"), false, "", domain.RoleUser, time.Time{})
	return domain.NewAuthentication(u, time.Time{}, domain.MethodPassword)
}
