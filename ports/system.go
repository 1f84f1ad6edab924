package ports

import (
	"context"
	"io"
	"time"

	"github.com/authd/authd/domain"
)

// Clock tells the time; tests inject a fixed one.
type Clock interface {
	Now() time.Time
}

// IDGenerator mints identifiers (UUIDv7 in production).
type IDGenerator interface {
	NewUserID() domain.UserID
	NewSessionID() domain.SessionID
	NewEventID() domain.EventID
	NewMailID() domain.MailID
	NewPasskeyID() domain.PasskeyID
}

// RandomSource is a cryptographically secure byte source.
type RandomSource = io.Reader

// Pinger reports whether the store answers (readiness).
type Pinger interface {
	Ping(ctx context.Context) error
}
