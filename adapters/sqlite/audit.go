package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"math"

	"github.com/authd/authd/adapters/sqlite/internal/sqlcdb"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Append inserts e into auth_events: on the writer outside a transaction,
// in it inside one, where it commits, or not, with what it records. There
// is no way to change or remove an event through this package.
func (r *repos) Append(ctx context.Context, e domain.AuditEvent) error {
	const op = "append event"
	if !canonicalID(string(e.ID)) {
		return fmt.Errorf("sqlite: %s: id %q is not a canonical UUID", op, e.ID)
	}
	if _, err := domain.ParseEventType(string(e.Type)); err != nil {
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	client := e.Client.Clean()
	err := r.w.AppendEvent(ctx, sqlcdb.AppendEventParams{
		ID:        string(e.ID),
		At:        micros(e.At),
		Type:      e.Type.String(),
		UserID:    optionalID(string(e.UserID)),
		SessionID: optionalID(string(e.SessionID)),
		ActorID:   optionalID(string(e.ActorID)),
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
		return nil, fmt.Errorf("sqlite: %s: limit %d out of range", op, f.Limit)
	}
	p := sqlcdb.EventsParams{BeforeAt: math.MaxInt64, MaxRows: int64(f.Limit)}
	if !f.Before.IsZero() {
		if !canonicalID(string(f.Before.ID)) {
			return nil, fmt.Errorf("sqlite: %s: cursor id %q is not a canonical UUID", op, f.Before.ID)
		}
		p.BeforeAt, p.BeforeID = micros(f.Before.At), string(f.Before.ID)
	}
	if f.UserID != "" {
		if !canonicalID(string(f.UserID)) {
			return nil, nil // names no user: no events
		}
		p.UserID = string(f.UserID)
	}
	if f.Type != "" {
		p.Type = f.Type.String()
	}
	rows, err := r.r.Events(ctx, p)
	if err != nil {
		return nil, r.translate(op, err)
	}
	out := make([]domain.AuditEvent, 0, len(rows))
	for _, row := range rows {
		out = append(out, domain.AuditEvent{
			ID:        domain.EventID(row.ID),
			At:        fromMicros(row.At),
			Type:      domain.EventType(row.Type),
			UserID:    domain.UserID(row.UserID.String),
			SessionID: domain.SessionID(row.SessionID.String),
			ActorID:   domain.UserID(row.ActorID.String),
			Client:    domain.ClientInfo{IP: row.Ip, UserAgent: row.UserAgent},
			Detail:    row.Detail,
		})
	}
	return out, nil
}

// optionalID maps an empty or non-canonical id to NULL: an audit event
// names what it can and is never refused for it.
func optionalID(s string) sql.NullString {
	if s == "" || !canonicalID(s) {
		return sql.NullString{}
	}
	return sql.NullString{String: s, Valid: true}
}
