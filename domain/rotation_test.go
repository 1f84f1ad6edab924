package domain_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/domain"
)

func TestDecideRotation(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := domain.SessionPolicy{IdleTimeout: time.Hour, MaxAge: 3 * time.Hour}
	live := domain.RefreshTokenRecord{ExpiresAt: t0.Add(2 * time.Hour)}
	spent := domain.RefreshTokenRecord{ExpiresAt: t0.Add(2 * time.Hour), SpentAt: t0.Add(time.Minute)}
	spentExpired := domain.RefreshTokenRecord{ExpiresAt: t0.Add(time.Minute), SpentAt: t0.Add(time.Second)}
	session := domain.NewSession("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0b", authFor("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0c"), t0, domain.ClientInfo{})
	revoked := session.Revoked(t0.Add(time.Minute))
	for _, tc := range []struct {
		name string
		tok  domain.RefreshTokenRecord
		s    domain.Session
		at   time.Time
		want domain.RotationVerdict
	}{
		{"live token, usable session", live, session, t0.Add(30 * time.Minute), domain.RotationAllowed},
		{"spent token is reuse", spent, session, t0.Add(30 * time.Minute), domain.RotationReuse},
		{"spent and expired is still reuse", spentExpired, session, t0.Add(30 * time.Minute), domain.RotationReuse},
		{"revoked session refuses before reuse", spent, revoked, t0.Add(30 * time.Minute), domain.RotationRefused},
		{"revoked session refuses a live token", live, revoked, t0.Add(30 * time.Minute), domain.RotationRefused},
		{"expired token", live, session, t0.Add(2 * time.Hour), domain.RotationRefused},
		{"idle session", live, session, t0.Add(time.Hour), domain.RotationRefused},
	} {
		if got := p.DecideRotation(tc.tok, tc.s, tc.at); got != tc.want {
			t.Errorf("%s: verdict %d, want %d", tc.name, got, tc.want)
		}
	}
}

func TestRotateCapsAndTouches(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := domain.SessionPolicy{IdleTimeout: time.Hour, MaxAge: 3 * time.Hour}
	s := domain.NewSession("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0b", authFor("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0c"), t0, domain.ClientInfo{})
	now := t0.Add(150 * time.Minute)
	next, err := domain.NewRefreshToken(&zeros{}, now, 24*time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	tok := domain.RefreshTokenRecord{Hash: domain.RefreshTokenHash{1}, SessionID: s.ID(), ExpiresAt: t0.Add(time.Hour)}
	r, used := p.Rotate(tok, s, next, now, domain.ClientInfo{IP: "192.0.2.1", UserAgent: "ua"})
	if r.Spent != tok.Hash || r.Session != s.ID() || r.Next.SessionID != s.ID() || r.Next.Hash != next.Hash() {
		t.Fatalf("rotation = %+v", r)
	}
	if !r.Next.ExpiresAt.Equal(t0.Add(3 * time.Hour)) {
		t.Errorf("successor expires %v, want the session's end %v", r.Next.ExpiresAt, t0.Add(3*time.Hour))
	}
	if !used.LastUsedAt().Equal(now) || used.IP() != "192.0.2.1" || !used.CreatedAt().Equal(t0) {
		t.Errorf("session after rotation = %+v", used)
	}
}

func TestAuthenticationAndSessionMethods(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := authFor("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0c").WithPasswordHash("h")
	if a.PasswordHash() != "h" || a.IsZero() || !slices.Equal(a.Methods(), []domain.AuthMethod{domain.MethodPassword}) {
		t.Fatalf("authentication = %+v", a)
	}
	if !(domain.Authentication{}).IsZero() {
		t.Fatal("zero Authentication not zero")
	}
	s := domain.NewSession("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0b", a, t0, domain.ClientInfo{})
	if s.UserID() != a.User().ID() || !slices.Equal(s.Methods(), a.Methods()) || !s.AuthTime().Equal(t0) {
		t.Fatalf("session = %+v", s)
	}
	for _, m := range [][]domain.AuthMethod{nil, {domain.MethodPassword}, {"pwd", "otp"}} {
		if got := domain.ParseMethods(domain.FormatMethods(m)); !slices.Equal(got, m) {
			t.Errorf("methods %v round-trip to %v", m, got)
		}
	}
	if r := s.Revoked(t0.Add(time.Minute)).Revoked(t0.Add(time.Hour)); !r.RevokedAt().Equal(t0.Add(time.Minute)) {
		t.Errorf("a second revocation moved the time to %v", r.RevokedAt())
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) { clear(p); return len(p), nil }

func TestAuthenticationDoesNotPrintItsHash(t *testing.T) {
	a := authFor("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0c").WithPasswordHash("$argon2id$secret-hash")
	for _, s := range []string{fmt.Sprint(a), fmt.Sprintf("%v %+v %#v", a, a, a)} {
		if strings.Contains(s, "secret-hash") {
			t.Fatalf("printed %q", s)
		}
	}
}
