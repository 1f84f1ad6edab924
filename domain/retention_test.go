package domain_test

import (
	"testing"
	"time"

	"github.com/authd/authd/domain"
)

// The cutoffs the stores compare columns with decide exactly as the rule
// itself, at every boundary: SessionGone (with the grace) and the session
// half of RefreshTokenGone (Usable, no grace).
func TestRetentionCutoffsAgreeWithTheRule(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	h := time.Hour
	for _, p := range []domain.SessionPolicy{{}, {IdleTimeout: 10 * h}, {MaxAge: 30 * h}, {IdleTimeout: 10 * h, MaxAge: 30 * h}} {
		for _, grace := range []time.Duration{0, 24 * h} {
			r := domain.SessionRetention{Policy: p, Grace: grace}
			for _, revoked := range []time.Duration{-1, 0, 5 * h} {
				for _, used := range []time.Duration{0, 3 * h, 25 * h} {
					var rev time.Time
					if revoked >= 0 {
						rev = t0.Add(used + revoked)
					}
					s := domain.RehydrateSession("s", "u", t0, t0.Add(used), rev, domain.ClientInfo{}, nil)
					for now := t0; now.Before(t0.Add(80 * h)); now = now.Add(30 * time.Minute) {
						if now.Before(s.LastUsedAt()) || now.Before(rev) {
							continue // no session is used or revoked in the future
						}
						if got, want := r.SessionCutoffs(now).Gone(s), r.SessionGone(s, now); got != want {
							t.Fatalf("policy %+v grace %s session used +%s revoked %s, at +%s: cutoffs say gone=%t, rule %t",
								p, grace, used, rev, now.Sub(t0), got, want)
						}
						if got, want := r.TokenCutoffs(now).Gone(s), !p.Usable(s, now); got != want {
							t.Fatalf("policy %+v session used +%s revoked %s, at +%s: token cutoffs say gone=%t, !Usable %t",
								p, used, rev, now.Sub(t0), got, want)
						}
					}
				}
			}
		}
	}
}

func TestRefreshTokenGone(t *testing.T) {
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	p := domain.SessionPolicy{IdleTimeout: 10 * time.Hour, MaxAge: 30 * time.Hour}
	r := domain.SessionRetention{Policy: p}
	live := domain.RehydrateSession("s", "u", t0, t0, time.Time{}, domain.ClientInfo{}, nil)
	now := t0.Add(time.Hour)
	spent := domain.RefreshTokenRecord{ExpiresAt: t0.Add(2 * time.Hour), SpentAt: t0.Add(time.Minute)}
	if r.RefreshTokenGone(spent, live, now) {
		t.Fatal("a spent, unexpired token of a usable session is gone: its reuse would go undetected")
	}
	if !r.RefreshTokenGone(spent, live, t0.Add(2*time.Hour)) {
		t.Fatal("a token at its expiry is kept")
	}
	if !r.RefreshTokenGone(spent, live.Revoked(now), now) {
		t.Fatal("a token of a revoked session is kept")
	}
}
