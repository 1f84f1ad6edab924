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

// Within the reuse leeway a spent token yields a sibling; past it, reuse as
// ever; a revoked session still refuses first; an expired token or an
// ended session refuses within the leeway (nothing to forgive, nothing to
// revoke).
func TestDecideRotationReuseLeeway(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := domain.SessionPolicy{IdleTimeout: time.Hour, MaxAge: 3 * time.Hour, ReuseLeeway: 10 * time.Second}
	spentAt := t0.Add(30 * time.Minute)
	live := domain.RefreshTokenRecord{ExpiresAt: t0.Add(2 * time.Hour)}
	spent := domain.RefreshTokenRecord{ExpiresAt: t0.Add(2 * time.Hour), SpentAt: spentAt}
	spentExpiring := domain.RefreshTokenRecord{ExpiresAt: spentAt.Add(5 * time.Second), SpentAt: spentAt}
	session := domain.NewSession("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0b", authFor("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0c"), t0, domain.ClientInfo{})
	used := session.Used(spentAt, domain.ClientInfo{})
	revoked := used.Revoked(spentAt)
	old := domain.NewSession("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0b", authFor("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0c"), spentAt.Add(-3*time.Hour+time.Second), domain.ClientInfo{}).Used(spentAt, domain.ClientInfo{})
	strict := p
	strict.ReuseLeeway = 0
	for _, tc := range []struct {
		name string
		p    domain.SessionPolicy
		tok  domain.RefreshTokenRecord
		s    domain.Session
		at   time.Time
		want domain.RotationVerdict
	}{
		{"live token is still allowed", p, live, used, spentAt, domain.RotationAllowed},
		{"spent at this very moment is a sibling", p, spent, used, spentAt, domain.RotationSibling},
		{"spent within the leeway is a sibling", p, spent, used, spentAt.Add(5 * time.Second), domain.RotationSibling},
		{"spent exactly the leeway ago is a sibling", p, spent, used, spentAt.Add(10 * time.Second), domain.RotationSibling},
		{"spent just past the leeway is reuse", p, spent, used, spentAt.Add(10*time.Second + time.Nanosecond), domain.RotationReuse},
		{"spent long ago is reuse", p, spent, used, spentAt.Add(time.Hour), domain.RotationReuse},
		{"spent 'later' than now (replica clocks) is a sibling", p, spent, used, spentAt.Add(-time.Second), domain.RotationSibling},
		{"no leeway: spent a moment ago is reuse", strict, spent, used, spentAt, domain.RotationReuse},
		{"revoked session refuses before the leeway", p, spent, revoked, spentAt.Add(time.Second), domain.RotationRefused},
		{"within the leeway an expired token is refused", p, spentExpiring, used, spentAt.Add(5 * time.Second), domain.RotationRefused},
		{"past the leeway an expired spent token is reuse", p, spentExpiring, used, spentAt.Add(time.Minute), domain.RotationReuse},
		{"within the leeway a too old session is refused", p, spent, old, spentAt.Add(2 * time.Second), domain.RotationRefused},
	} {
		if got := tc.p.DecideRotation(tc.tok, tc.s, tc.at); got != tc.want {
			t.Errorf("%s: verdict %s, want %s", tc.name, got, tc.want)
		}
	}
}

func TestRotateSibling(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	p := domain.SessionPolicy{ReuseLeeway: time.Second}
	s := domain.NewSession("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0b", authFor("0190a8b6-1c2d-7e3f-8a4b-5c6d7e8f9a0c"), t0, domain.ClientInfo{})
	next, err := domain.NewRefreshToken(&zeros{}, t0, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	live := domain.RefreshTokenRecord{Hash: domain.RefreshTokenHash{1}, SessionID: s.ID(), ExpiresAt: t0.Add(time.Hour)}
	if r, _ := p.Rotate(live, s, next, t0, domain.ClientInfo{}); r.Sibling || !r.Spends() {
		t.Errorf("rotation of a live token: sibling %t, spends %t; want a spending rotation", r.Sibling, r.Spends())
	}
	spent := live
	spent.SpentAt = t0
	if r, _ := p.Rotate(spent, s, next, t0, domain.ClientInfo{}); !r.Sibling || r.Spends() || r.Spent != spent.Hash {
		t.Errorf("rotation of a spent token: %+v; want a sibling that spends nothing", r)
	}
}

func TestSessionPolicyValidate(t *testing.T) {
	for _, tc := range []struct {
		leeway time.Duration
		ok     bool
	}{{0, true}, {time.Second, true}, {domain.MaxReuseLeeway, true}, {domain.MaxReuseLeeway + time.Nanosecond, false}, {-time.Second, false}} {
		err := domain.SessionPolicy{ReuseLeeway: tc.leeway}.Validate()
		if (err == nil) != tc.ok {
			t.Errorf("leeway %s: Validate = %v, want ok %t", tc.leeway, err, tc.ok)
		}
	}
}
