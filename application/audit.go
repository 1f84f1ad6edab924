package application

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// The audit log: every use case that changes who is logged in, or how,
// appends an event (domain.AuditEvent). Details are the fixed phrases below,
// never user input, a password, a token or a hash.
const (
	detailUnknownEmail         = "no account has this email"
	detailWrongPassword        = "wrong password"
	detailAtLogin              = "login"
	detailAtPasswordChange     = "password change"
	detailWrongCurrentPassword = "wrong current password at password change"
	detailOtherSessionsRevoked = "other sessions revoked"
	detailByOwner              = "by its owner"
	detailAllByOperator        = "all sessions, by an operator"
	detailByOperator           = "by an operator"
	detailReuseRevokedSession  = "spent refresh token presented; session revoked"
	detailPerIPLimit           = "per-IP request limit"
	detailLogoutThisSession    = "this session"
	detailLogoutOthers         = "others"
	detailLogoutGlobal         = "global"
)

// record appends an event of type t at now. A failure goes to OnAuditError
// and nowhere else: the outcome of the use case stands. The append is not
// cancelled with the request, so a client that hangs up right after its
// login still leaves its trace.
func (s *Service) record(ctx context.Context, now time.Time, e domain.AuditEvent) {
	if s.audit == nil {
		return
	}
	e.ID = s.ids.NewEventID()
	e.At = now
	e.Client = e.Client.Clean()
	if err := s.audit.Append(context.WithoutCancel(ctx), e); err != nil && s.onAuditError != nil {
		s.onAuditError(fmt.Errorf("audit: append %s event: %w", e.Type, err))
	}
}

// rateLimitedEvery is how often one client IP may add a rate_limited event:
// a client hammering past the limiter must not turn every refused request
// into a write.
const rateLimitedEvery = time.Minute

// rateLimitedLog remembers when each IP last got a rate_limited event.
type rateLimitedLog struct {
	mu   sync.Mutex
	seen map[string]time.Time
}

// maxRateLimitedIPs bounds rateLimitedLog's memory; past it the map starts over.
const maxRateLimitedIPs = 10_000

// due reports whether ip may get an event at now, and if so notes it.
// IPv6 addresses count per /64, as the limiter buckets them: a client
// rotating addresses inside its /64 must not write an event per request.
func (l *rateLimitedLog) due(ip string, now time.Time) bool {
	if a, err := netip.ParseAddr(ip); err == nil && a.Is6() && !a.Is4In6() {
		if p, err := a.Prefix(64); err == nil {
			ip = p.String()
		}
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if last, ok := l.seen[ip]; ok && now.Sub(last) < rateLimitedEvery {
		return false
	}
	if len(l.seen) >= maxRateLimitedIPs {
		clear(l.seen)
	}
	l.seen[ip] = now
	return true
}

// RecordRateLimited notes in the audit log that the transport's per-client
// limiter refused a request from client. Call it for every refusal: it
// records at most one event per client IP a minute, and never fails (a
// failed append goes to OnAuditError).
func (s *Service) RecordRateLimited(ctx context.Context, client domain.ClientInfo) {
	client = client.Clean()
	now := s.clock.Now()
	if !s.rateLimited.due(client.IP, now) {
		return
	}
	s.record(ctx, now, domain.AuditEvent{Type: domain.EventRateLimited, Client: client, Detail: detailPerIPLimit})
}

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
	limit := pageSize(v, in.Limit, DefaultEventPageSize, MaxEventPageSize)
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
	if s.audit == nil {
		return EventPage{}, nil
	}
	events, err := s.audit.Events(ctx, ports.EventFilter{Before: before, UserID: user, Type: typ, Limit: limit + 1})
	if err != nil {
		return EventPage{}, fmt.Errorf("list events: %w", err)
	}
	events, last, more := onePage(events, limit)
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
