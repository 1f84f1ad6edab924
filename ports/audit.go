package ports

import (
	"context"
	"time"

	"github.com/authd/authd/domain"
)

// AuditLog is the append-only security log.
type AuditLog interface {
	// Append stores e as given (ID and At set by the caller).
	Append(ctx context.Context, e domain.AuditEvent) error
	// Events returns at most filter.Limit events, newest first by (At, ID),
	// before filter.Before: a keyset cursor. A limit below 1 is an error.
	Events(ctx context.Context, filter EventFilter) ([]domain.AuditEvent, error)
}

// EventFilter selects a page of audit events.
type EventFilter struct {
	Before EventCursor
	UserID domain.UserID    // empty keeps all
	Type   domain.EventType // empty keeps all
	Limit  int
}

// EventCursor is a position in the (At, ID) order of the audit log.
type EventCursor struct {
	At time.Time
	ID domain.EventID
}

// IsZero reports whether c names no position (start at the newest).
func (c EventCursor) IsZero() bool { return c.At.IsZero() && c.ID == "" }
