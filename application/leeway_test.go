package application_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/application/admin"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/domain"
)

// Within the reuse leeway a refresh of a spent token is a "refreshed"
// event with the fixed detail "within the reuse leeway", in the same
// session; past it the same presentation is reuse, and revokes.
func TestAuditRefreshWithinReuseLeeway(t *testing.T) {
	ctx := context.Background()
	f := newFixtureWith(t, application.Config{RefreshTTL: 720 * time.Hour, RefreshReuseLeeway: 10 * time.Second})
	u := f.register(t, "ada@example.com", "correct horse battery")
	pair, p := f.loginFrom(t, "ada@example.com", "correct horse battery", laptop)

	f.clock.now = f.clock.now.Add(time.Second)
	next := f.refresh(t, pair.RefreshToken, laptop)
	f.clock.now = f.clock.now.Add(3 * time.Second)
	sibling := f.refresh(t, pair.RefreshToken, phone) // the second tab, 3s later
	if sibling.RefreshToken == next.RefreshToken {
		t.Fatal("the sibling is the successor again")
	}
	for _, tok := range []string{next.RefreshToken, sibling.RefreshToken} {
		f.clock.now = f.clock.now.Add(time.Second)
		f.refresh(t, tok, laptop)
	}

	f.clock.now = f.clock.now.Add(time.Minute) // past the leeway
	_, err := f.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: pair.RefreshToken, Client: phone})
	if !errors.Is(err, domain.ErrRefreshTokenReused) {
		t.Fatalf("spent token past the leeway: %v, want ErrRefreshTokenReused", err)
	}

	events := allEvents(t, f, admin.ListEventsInput{Limit: 20})
	type want struct {
		typ    domain.EventType
		client domain.ClientInfo
		detail string
	}
	wants := []want{ // oldest first
		{domain.EventRefreshed, laptop, ""},
		{domain.EventRefreshed, phone, application.DetailWithinReuseLeeway},
		{domain.EventRefreshed, laptop, ""},
		{domain.EventRefreshed, laptop, ""},
		{domain.EventRefreshReuseDetected, phone, application.DetailReuseRevokedSession},
	}
	var got []domain.AuditEvent
	for i := len(events) - 1; i >= 0; i-- {
		if e := events[i]; e.Type == domain.EventRefreshed || e.Type == domain.EventRefreshReuseDetected {
			got = append(got, e)
		}
	}
	if len(got) != len(wants) {
		t.Fatalf("refresh events %+v; want %d", got, len(wants))
	}
	for i, w := range wants {
		e := got[i]
		if e.Type != w.typ || e.Client != w.client || e.Detail != w.detail || e.UserID != u.ID() || e.SessionID != p.SessionID {
			t.Errorf("event %d = %+v\n want %+v in session %s", i, e, w, p.SessionID)
		}
	}
	if application.DetailWithinReuseLeeway != "within the reuse leeway" {
		t.Errorf("detail %q changed: it is a stable phrase operators filter on", application.DetailWithinReuseLeeway)
	}
}

func TestConfigReuseLeewayBounds(t *testing.T) {
	for _, tc := range []struct {
		leeway time.Duration
		ok     bool
	}{{0, true}, {10 * time.Second, true}, {time.Minute, true}, {time.Minute + time.Millisecond, false}, {-time.Second, false}} {
		p, err := application.Config{RefreshTTL: time.Hour, RefreshReuseLeeway: tc.leeway}.Policies()
		if (err == nil) != tc.ok {
			t.Errorf("leeway %s: Policies = %v, want ok %t", tc.leeway, err, tc.ok)
			continue
		}
		if err == nil && p.Session.ReuseLeeway != tc.leeway {
			t.Errorf("leeway %s: policy carries %s", tc.leeway, p.Session.ReuseLeeway)
		}
	}
}
