package repotest

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var auditCases = []contractCase{
	{"Audit/AppendThenReadNewestFirst", testAuditRoundTrip},
	{"Audit/PagesWithoutGapsOrDuplicates", testAuditPages},
	{"Audit/FilterByUserAndType", testAuditFilter},
	{"Audit/RejectsBadLimit", testAuditBadLimit},
	{"Audit/ConcurrentAppendsAllKept", testAuditConcurrent},
}

func appendEvents(t *testing.T, st Store, events ...domain.AuditEvent) {
	t.Helper()
	for _, e := range events {
		mustNil(t, st.Append(t.Context(), e))
	}
}

// newestFirst sorts like the port promises: descending (At, ID).
func newestFirst(events []domain.AuditEvent) []domain.AuditEvent {
	out := slices.Clone(events)
	slices.SortFunc(out, func(a, b domain.AuditEvent) int {
		if c := b.At.Compare(a.At); c != 0 {
			return c
		}
		return strings.Compare(string(b.ID), string(a.ID))
	})
	return out
}

func testAuditRoundTrip(t *testing.T, st Store) {
	user, sess := newUserID(), newSessionID()
	events := []domain.AuditEvent{
		{ID: newEventID(), At: t0, Type: domain.EventLoginSucceeded, UserID: user, SessionID: sess, Client: firefox},
		{ID: newEventID(), At: t0.Add(time.Second), Type: domain.EventLoginFailed, Client: curl, Detail: "no account has this email"},
		{ID: newEventID(), At: t0.Add(-time.Hour), Type: domain.EventRoleChanged, UserID: user, ActorID: newUserID(), Client: curl, Detail: "user -> admin"},
		{ID: newEventID(), At: t0, Type: domain.EventRateLimited, Client: domain.ClientInfo{IP: "198.51.100.1"}},
	}
	appendEvents(t, st, events...)
	got, err := st.Events(t.Context(), ports.EventFilter{Limit: 10})
	mustNil(t, err)
	assertEvents(t, got, newestFirst(events))
}

func testAuditPages(t *testing.T, st Store) {
	var events []domain.AuditEvent
	for i := range 7 {
		// Pairs share an instant, so the id must break ties.
		events = append(events, domain.AuditEvent{ID: newEventID(), At: t0.Add(time.Duration(i/2) * time.Second), Type: domain.EventRefreshed, UserID: newUserID()})
	}
	appendEvents(t, st, events...)
	want := newestFirst(events)
	for _, limit := range []int{1, 2, 3, 7, 8} {
		var walked []domain.AuditEvent
		var before ports.EventCursor
		for pages := 0; ; pages++ {
			if pages > len(events) {
				t.Fatalf("limit %d: no end after %d pages", limit, pages)
			}
			page, err := st.Events(t.Context(), ports.EventFilter{Before: before, Limit: limit})
			mustNil(t, err)
			if len(page) > limit {
				t.Fatalf("limit %d: page of %d", limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			walked = append(walked, page...)
			last := page[len(page)-1]
			before = ports.EventCursor{At: last.At, ID: last.ID}
		}
		assertEvents(t, walked, want)
	}
}

func testAuditFilter(t *testing.T, st Store) {
	ada, grace := newUserID(), newUserID()
	events := []domain.AuditEvent{
		{ID: newEventID(), At: t0, Type: domain.EventLoginSucceeded, UserID: ada},
		{ID: newEventID(), At: t0.Add(time.Second), Type: domain.EventLoginFailed, UserID: ada},
		{ID: newEventID(), At: t0.Add(2 * time.Second), Type: domain.EventLoginFailed, UserID: grace},
		{ID: newEventID(), At: t0.Add(3 * time.Second), Type: domain.EventLoginFailed},
		{ID: newEventID(), At: t0.Add(4 * time.Second), Type: domain.EventLoggedOut, UserID: ada},
	}
	appendEvents(t, st, events...)
	for _, tc := range []struct {
		f    ports.EventFilter
		want []domain.AuditEvent
	}{
		{ports.EventFilter{UserID: ada}, []domain.AuditEvent{events[4], events[1], events[0]}},
		{ports.EventFilter{Type: domain.EventLoginFailed}, []domain.AuditEvent{events[3], events[2], events[1]}},
		{ports.EventFilter{UserID: ada, Type: domain.EventLoginFailed}, []domain.AuditEvent{events[1]}},
		{ports.EventFilter{UserID: newUserID()}, nil},
		{ports.EventFilter{UserID: "not-a-uuid"}, nil},
		{ports.EventFilter{UserID: ada, Before: ports.EventCursor{At: events[4].At, ID: events[4].ID}}, []domain.AuditEvent{events[1], events[0]}},
	} {
		tc.f.Limit = 10
		got, err := st.Events(t.Context(), tc.f)
		mustNil(t, err)
		assertEvents(t, got, tc.want)
	}
}

func testAuditBadLimit(t *testing.T, st Store) {
	for _, limit := range []int{0, -1} {
		if _, err := st.Events(t.Context(), ports.EventFilter{Limit: limit}); err == nil {
			t.Errorf("Events with limit %d = nil error", limit)
		}
	}
}

// Concurrent appends, half of them inside transactions as the use cases
// make them, are all kept.
func testAuditConcurrent(t *testing.T, st Store) {
	ctx := t.Context()
	events := make([]domain.AuditEvent, concurrent)
	for i := range events {
		events[i] = domain.AuditEvent{ID: newEventID(), At: t0, Type: domain.EventLoginFailed, Detail: fmt.Sprint("attempt ", i)}
	}
	errs := together(concurrent, func(i int) error {
		if i%2 == 0 {
			return st.Append(ctx, events[i])
		}
		return st.WithinTx(ctx, func(tx ports.Stores) error { return tx.Audit.Append(ctx, events[i]) })
	})
	for _, err := range errs {
		mustNil(t, err)
	}
	got, err := st.Events(ctx, ports.EventFilter{Limit: 2 * concurrent})
	mustNil(t, err)
	assertEvents(t, got, newestFirst(events))
}

func assertEvents(t *testing.T, got, want []domain.AuditEvent) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d events, want %d:\n got  %+v\n want %+v", len(got), len(want), got, want)
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ID != w.ID || !g.At.Equal(w.At) || g.Type != w.Type || g.UserID != w.UserID || g.SessionID != w.SessionID || g.ActorID != w.ActorID ||
			g.Client != w.Client || g.Detail != w.Detail {
			t.Fatalf("event %d:\n got  %+v\n want %+v", i, g, w)
		}
	}
}
