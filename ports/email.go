package ports

import (
	"context"
	"time"

	"github.com/authd/authd/domain"
)

// EmailTokens stores the digests of email tokens (verification, password
// reset, email change). A token is deleted when it is used, so single use
// is the atomicity of one delete.
type EmailTokens interface {
	// CreateEmailToken stores t.
	CreateEmailToken(ctx context.Context, t domain.EmailToken) error
	// EmailToken reads the token with digest hash without using it;
	// domain.ErrNotFound for none.
	EmailToken(ctx context.Context, hash domain.EmailTokenHash) (domain.EmailToken, error)
	// UseEmailToken deletes the token with digest hash and returns it:
	// of concurrent uses exactly one gets it, the others
	// domain.ErrNotFound. The caller checks expiry.
	UseEmailToken(ctx context.Context, hash domain.EmailTokenHash) (domain.EmailToken, error)
	// DeleteEmailTokens deletes the user's tokens of purpose (every
	// purpose when purpose is empty) and returns how many.
	DeleteEmailTokens(ctx context.Context, user domain.UserID, purpose domain.EmailTokenPurpose) (int, error)
}

// Outbox queues mails in the transaction that makes them, for a courier
// (application.Courier) to deliver later, from any replica.
type Outbox interface {
	// EnqueueMail queues m, due at m.NextAttempt, with no attempt made.
	EnqueueMail(ctx context.Context, m domain.QueuedMail) error
	// ClaimMail leases up to limit due mails (NextAttempt at or before
	// now, not sent, not given up, no lease in force at now) until
	// leaseUntil, counting an attempt on each, oldest due first. Replicas
	// claiming at once get disjoint mails.
	ClaimMail(ctx context.Context, now, leaseUntil time.Time, limit int) ([]domain.QueuedMail, error)
	// MailSent records a delivery and forgets the mail's link.
	MailSent(ctx context.Context, id domain.MailID, now time.Time) error
	// MailFailed records a failed attempt: the lease ends and the mail is
	// due again at next. lastError is kept for operators (never a secret).
	MailFailed(ctx context.Context, id domain.MailID, next time.Time, lastError string) error
	// MailGivenUp abandons the mail and forgets its link.
	MailGivenUp(ctx context.Context, id domain.MailID, now time.Time, lastError string) error
	// MailQueue reports the mails not yet sent nor given up, and when the
	// oldest of them was queued (zero when none).
	MailQueue(ctx context.Context) (queued int, oldest time.Time, err error)
	// AdmitMail applies cap.Admit to key's state atomically: of
	// concurrent calls no more are admitted than the cap allows.
	AdmitMail(ctx context.Context, key domain.MailCapKey, now time.Time, cap domain.MailCap) (bool, error)
}
