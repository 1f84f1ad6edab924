package admin

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Page sizes of ListEvents.
const (
	DefaultEventPageSize = 50
	MaxEventPageSize     = 500
)

// ListEventsInput selects one page of the audit log.
type ListEventsInput struct {
	// After is the Next of the previous page; empty starts at the newest event.
	After string
	// Limit is the page size: 0 means DefaultEventPageSize, at most MaxEventPageSize.
	Limit int
	// UserID keeps one user's events; empty keeps all.
	UserID string
	// Type keeps one type of event (domain.EventTypes); empty keeps all.
	Type string
}

// EventPage is one page of the audit log, newest first.
type EventPage struct {
	Events []domain.AuditEvent
	// Next is the cursor of the following (older) page; empty on the last page.
	Next string
}

// ListEvents returns one page of the audit log, newest first: what an
// operator looks at is what just happened. Paging is by keyset on (At, ID),
// so events appended while an operator pages do not shift the pages (they
// appear on a new first page). It is an administrator's use case: like the
// other admin use cases it takes no Principal, and the transport must let
// only admins call it. It asks the store for one event more than the page
// holds, so Next is empty exactly when nothing follows.
func (s *Service) ListEvents(ctx context.Context, in ListEventsInput) (EventPage, error) {
	v := &domain.ValidationError{}
	limit := application.PageSize(v, in.Limit, DefaultEventPageSize, MaxEventPageSize)
	var before ports.EventCursor
	if in.After != "" {
		c, err := parseEventCursor(in.After)
		if err != nil {
			v.Add("after", domain.CodeInvalid, "after must be a cursor printed by a previous page")
		}
		before = c
	}
	var user domain.UserID
	if in.UserID != "" {
		id, err := domain.ParseUserID(in.UserID)
		if err != nil {
			v.Add("user_id", domain.CodeInvalid, "user_id must be a user id")
		}
		user = id
	}
	var typ domain.EventType
	if in.Type != "" {
		t, err := domain.ParseEventType(in.Type)
		if err != nil {
			v.Add("type", domain.CodeInvalid, "type must be one of the audit event types")
		}
		typ = t
	}
	if err := v.Err(); err != nil {
		return EventPage{}, fmt.Errorf("list events: %w", err)
	}
	if s.events == nil {
		return EventPage{}, nil
	}
	events, err := s.events.Events(ctx, ports.EventFilter{Before: before, UserID: user, Type: typ, Limit: limit + 1})
	if err != nil {
		return EventPage{}, fmt.Errorf("list events: %w", err)
	}
	events, last, more := application.OnePage(events, limit)
	page := EventPage{Events: events}
	if more {
		page.Next = formatEventCursor(ports.EventCursor{At: last.At, ID: last.ID})
	}
	return page, nil
}

// Event cursors print as "<unix microseconds>_<event id>": opaque to
// clients, exact at the store's resolution (Postgres keeps microseconds).
func formatEventCursor(c ports.EventCursor) string {
	return strconv.FormatInt(c.At.UnixMicro(), 10) + "_" + c.ID.String()
}

func parseEventCursor(s string) (ports.EventCursor, error) {
	micros, id, ok := strings.Cut(s, "_")
	if !ok {
		return ports.EventCursor{}, fmt.Errorf("cursor %q: no separator", s)
	}
	us, err := strconv.ParseInt(micros, 10, 64)
	if err != nil || us < 0 {
		return ports.EventCursor{}, fmt.Errorf("cursor %q: bad time", s)
	}
	eid, err := domain.ParseEventID(id)
	if err != nil {
		return ports.EventCursor{}, fmt.Errorf("cursor %q: %w", s, err)
	}
	return ports.EventCursor{At: time.UnixMicro(us).UTC(), ID: eid}, nil
}
