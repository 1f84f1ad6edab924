package ports

import (
	"context"

	"github.com/authd/authd/domain"
)

// Mailer delivers one mail now. It renders the mail's kind into a message
// (subject, text and HTML parts) and hands it to a mail server. A nil
// error means the server accepted it. An error that implements
// PermanentMailError with Permanent() true (a recipient the server refuses
// for good) is not retried; any other error is.
type Mailer interface {
	Send(ctx context.Context, m domain.Mail) error
}

// PermanentMailError is implemented by delivery errors that retrying
// cannot fix.
type PermanentMailError interface {
	error
	Permanent() bool
}
