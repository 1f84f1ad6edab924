package domain

import (
	"fmt"
	"time"
)

// MailID identifies a queued mail: a canonical, lower-case UUID (v7).
type MailID string

func (id MailID) String() string { return string(id) }

// MailKind says what a mail is about; the mail adapter picks its
// templates by it. Stored as text.
type MailKind string

// The mails authd sends.
const (
	// MailVerifyEmail carries a link that proves the address (Link).
	MailVerifyEmail MailKind = "verify_email"
	// MailResetPassword carries a link that sets a new password (Link).
	MailResetPassword MailKind = "reset_password"
	// MailPasswordChanged tells the owner the password was changed.
	MailPasswordChanged MailKind = "password_changed"
	// MailConfirmEmailChange goes to the new address with the link that
	// applies the change (Link).
	MailConfirmEmailChange MailKind = "confirm_email_change"
	// MailEmailChanged tells the old address that the account moved;
	// Detail is the new address, masked.
	MailEmailChanged MailKind = "email_changed"
	// MailFactorAdded and MailFactorRemoved tell the owner a sign-in
	// factor changed; Detail names the factor ("totp", "passkey", ...).
	MailFactorAdded   MailKind = "factor_added"
	MailFactorRemoved MailKind = "factor_removed"
)

// MailKinds lists every kind, in a stable order.
var MailKinds = []MailKind{
	MailVerifyEmail, MailResetPassword, MailPasswordChanged, MailConfirmEmailChange,
	MailEmailChanged, MailFactorAdded, MailFactorRemoved,
}

// ParseMailKind accepts only the known kinds.
func ParseMailKind(s string) (MailKind, error) {
	for _, k := range MailKinds {
		if string(k) == s {
			return k, nil
		}
	}
	return "", fmt.Errorf("unknown mail kind %q", s)
}

// Mail is one message to send: what about, to whom, and what it carries.
// Link holds a secret (an email token) until the mail is sent: it is never
// logged, and a store forgets it once the mail is sent or given up.
type Mail struct {
	ID        MailID
	Kind      MailKind
	To        string // the address as the user typed it
	Link      string // the action link, empty for notices
	Detail    string // a notice's one variable part, never a secret
	CreatedAt time.Time
}

// String leaves the link out, so a mail in a log line or a %v shows no token.
func (m Mail) String() string {
	return fmt.Sprintf("mail %s (%s) to %s", m.ID, m.Kind, m.To)
}

// QueuedMail is a mail in the outbox with its delivery state.
type QueuedMail struct {
	Mail
	// Attempts counts delivery attempts started, this one included once
	// claimed.
	Attempts int
	// NextAttempt is when the mail is due (again).
	NextAttempt time.Time
}

// MailRetryPolicy decides when a failed delivery is tried again and when
// it is given up.
type MailRetryPolicy struct {
	// FirstDelay is the wait after the first failure, doubling per further
	// failure up to MaxDelay.
	FirstDelay, MaxDelay time.Duration
	// GiveUp is how long after it was queued a mail is abandoned.
	GiveUp time.Duration
}

// Next says, after attempt number attempts (from 1) failed at now, when
// to try again, or giveUp when the mail is past its give-up age (or would
// be by the next try).
func (p MailRetryPolicy) Next(m QueuedMail, now time.Time) (next time.Time, giveUp bool) {
	d := p.FirstDelay
	for i := 1; i < m.Attempts && d < p.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, p.MaxDelay)
	next = now.Add(d)
	if !next.Before(m.CreatedAt.Add(p.GiveUp)) {
		return time.Time{}, true
	}
	return next, false
}

// MaskEmail hides most of an address's local part for notices sent to
// another address: "ada@example.com" becomes "a**@example.com".
func MaskEmail(addr string) string {
	at := -1
	for i := len(addr) - 1; i >= 0; i-- {
		if addr[i] == '@' {
			at = i
			break
		}
	}
	if at <= 0 {
		return "***"
	}
	local := []rune(addr[:at])
	masked := string(local[0])
	for range local[1:] {
		masked += "*"
	}
	return masked + addr[at:]
}
