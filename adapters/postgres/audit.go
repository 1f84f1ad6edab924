package postgres

import (
	"context"
	"fmt"
	"math"

	"github.com/google/uuid"

	"github.com/authd/authd/adapters/postgres/internal/sqlcdb"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Append inserts e into auth_events: on the lazy pool outside a
// transaction, in it inside one (see repos.book). There is no way to
// change or remove an event through this package: the table is
// append-only in practice.
func (r *repos) Append(ctx context.Context, e domain.AuditEvent) error {
	const op = "append event"
	id, ok := eventUUID(e.ID)
	if !ok {
		return fmt.Errorf("postgres: %s: id %q is not a canonical UUID", op, e.ID)
	}
	client := e.Client.Clean()
	err := r.book.AppendEvent(ctx, sqlcdb.AppendEventParams{
		ID:        id,
		At:        e.At,
		Type:      e.Type.String(),
		UserID:    optionalUUID(string(e.UserID)),
		SessionID: optionalUUID(string(e.SessionID)),
		ActorID:   optionalUUID(string(e.ActorID)),
		Ip:        client.IP,
		UserAgent: client.UserAgent,
		Detail:    e.Detail,
	})
	return r.translate(op, err)
}

// Events reads one keyset page, newest first (see the Events query).
func (r *repos) Events(ctx context.Context, f ports.EventFilter) ([]domain.AuditEvent, error) {
	const op = "events"
	if f.Limit < 1 || f.Limit > math.MaxInt32 {
		return nil, fmt.Errorf("postgres: %s: limit %d out of range", op, f.Limit)
	}
	p := sqlcdb.EventsParams{MaxRows: int32(f.Limit)}
	if !f.Before.IsZero() {
		id, ok := eventUUID(f.Before.ID)
		if !ok {
			return nil, fmt.Errorf("postgres: %s: cursor id %q is not a canonical UUID", op, f.Before.ID)
		}
		at := f.Before.At
		p.BeforeAt, p.BeforeID = &at, &id
	}
	if f.UserID != "" {
		uid, ok := userUUID(f.UserID)
		if !ok {
			return nil, nil // names no user: no events
		}
		p.UserID = &uid
	}
	if f.Type != "" {
		t := f.Type.String()
		p.Type = &t
	}
	rows, err := r.q.Events(ctx, p)
	if err != nil {
		return nil, r.translate(op, err)
	}
	out := make([]domain.AuditEvent, 0, len(rows))
	for _, row := range rows {
		e := domain.AuditEvent{
			ID:     domain.EventID(row.ID.String()),
			At:     row.At.UTC(),
			Type:   domain.EventType(row.Type),
			Client: domain.ClientInfo{IP: row.Ip, UserAgent: row.UserAgent},
			Detail: row.Detail,
		}
		if row.UserID != nil {
			e.UserID = domain.UserID(row.UserID.String())
		}
		if row.SessionID != nil {
			e.SessionID = domain.SessionID(row.SessionID.String())
		}
		if row.ActorID != nil {
			e.ActorID = domain.UserID(row.ActorID.String())
		}
		out = append(out, e)
	}
	return out, nil
}

func eventUUID(id domain.EventID) (uuid.UUID, bool) {
	if _, err := domain.ParseEventID(string(id)); err != nil {
		return uuid.UUID{}, false
	}
	u, err := uuid.Parse(string(id))
	return u, err == nil
}

// optionalUUID maps an empty or non-canonical id to NULL: an audit event
// names what it can and is never refused for it.
func optionalUUID(s string) *uuid.UUID {
	if s == "" || !domainUUID(s) {
		return nil
	}
	u, err := uuid.Parse(s)
	if err != nil {
		return nil
	}
	return &u
}

func domainUUID(s string) bool {
	_, err := domain.ParseEventID(s) // the same canonical-UUID check for any id
	return err == nil
}
