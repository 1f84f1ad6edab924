package application

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// MailConfig holds the knobs of the email flows. Zero values take the
// defaults below.
type MailConfig struct {
	// AppURL is the web app the links point at: $AppURL/verify-email?token=…
	AppURL string
	// Token lifetimes: verification, password reset, email change.
	VerifyTTL, ResetTTL, ChangeTTL time.Duration
	// MinInterval and PerHour cap the mails one address receives per
	// purpose (domain.MailCap).
	MinInterval time.Duration
	PerHour     int
	// GiveUp abandons a mail this long after it was queued.
	GiveUp time.Duration
	// RequireVerifiedEmail refuses to open a session for an account whose
	// email is not verified (domain.ErrEmailNotVerified).
	RequireVerifiedEmail bool
}

// Mail defaults.
const (
	DefaultAppURL          = "http://localhost:3000"
	DefaultVerifyTTL       = 24 * time.Hour
	DefaultResetTTL        = 30 * time.Minute
	DefaultChangeTTL       = 24 * time.Hour
	DefaultMailMinInterval = time.Minute
	DefaultMailPerHour     = 5
	DefaultMailGiveUp      = 24 * time.Hour
	// MailFirstRetry and MailMaxRetry bound the back-off between delivery
	// attempts.
	MailFirstRetry = 5 * time.Second
	MailMaxRetry   = 10 * time.Minute
)

// MailPolicies are the checked mail policies.
type MailPolicies struct {
	AppURL          string // without a trailing slash
	Tokens          domain.EmailTokenPolicy
	Cap             domain.MailCap
	Retry           domain.MailRetryPolicy
	RequireVerified bool
}

// Policies fills the defaults and refuses what cannot work.
func (c MailConfig) Policies() (MailPolicies, error) {
	if c.AppURL == "" {
		c.AppURL = DefaultAppURL
	}
	u, err := url.Parse(c.AppURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return MailPolicies{}, fmt.Errorf("application: app URL %q must be an absolute http(s) URL without query or fragment", c.AppURL)
	}
	for _, f := range []struct {
		name string
		v    *time.Duration
		def  time.Duration
	}{
		{"verify TTL", &c.VerifyTTL, DefaultVerifyTTL},
		{"reset TTL", &c.ResetTTL, DefaultResetTTL},
		{"email change TTL", &c.ChangeTTL, DefaultChangeTTL},
		{"mail min interval", &c.MinInterval, DefaultMailMinInterval},
		{"mail give-up", &c.GiveUp, DefaultMailGiveUp},
	} {
		switch {
		case *f.v < 0:
			return MailPolicies{}, fmt.Errorf("application: %s must not be negative", f.name)
		case *f.v == 0:
			*f.v = f.def
		}
	}
	switch {
	case c.PerHour < 0:
		return MailPolicies{}, errors.New("application: mails per hour must not be negative")
	case c.PerHour == 0:
		c.PerHour = DefaultMailPerHour
	}
	return MailPolicies{
		AppURL:          strings.TrimRight(c.AppURL, "/"),
		Tokens:          domain.EmailTokenPolicy{VerifyTTL: c.VerifyTTL, ResetTTL: c.ResetTTL, ChangeTTL: c.ChangeTTL},
		Cap:             domain.MailCap{MinInterval: c.MinInterval, PerHour: c.PerHour},
		Retry:           domain.MailRetryPolicy{FirstDelay: MailFirstRetry, MaxDelay: MailMaxRetry, GiveUp: c.GiveUp},
		RequireVerified: c.RequireVerifiedEmail,
	}, nil
}

// tokenMail is what a token of each purpose is mailed as, and the page of
// the web app its link opens.
var tokenMail = map[domain.EmailTokenPurpose]struct {
	kind domain.MailKind
	page string
}{
	domain.PurposeVerifyEmail:   {domain.MailVerifyEmail, "verify-email"},
	domain.PurposeResetPassword: {domain.MailResetPassword, "reset-password"},
	domain.PurposeChangeEmail:   {domain.MailConfirmEmailChange, "confirm-email-change"},
}

// Letters writes mails into the outbox, inside the caller's transaction:
// a mail is queued if and only if the change that makes it commits. The
// Courier delivers them.
type Letters struct {
	policy MailPolicies
	ids    ports.IDGenerator
	random ports.RandomSource
	clock  ports.Clock
	posted chan struct{}
}

// NewLetters builds the outbox writer.
func NewLetters(p MailPolicies, ids ports.IDGenerator, random ports.RandomSource, clock ports.Clock) *Letters {
	return &Letters{policy: p, ids: ids, random: random, clock: clock, posted: make(chan struct{}, 1)}
}

// Policy returns the mail policies.
func (l *Letters) Policy() MailPolicies { return l.policy }

// Admit takes one of the address's mails for purpose under the cap; false
// means the address has had its share and nothing is to be sent.
func (l *Letters) Admit(ctx context.Context, st ports.Stores, addr domain.Email, purpose domain.EmailTokenPurpose) (bool, error) {
	ok, err := st.Outbox.AdmitMail(ctx, domain.MailCapKeyFor(addr, purpose), l.clock.Now(), l.policy.Cap)
	if err != nil {
		return false, fmt.Errorf("mail cap: %w", err)
	}
	return ok, nil
}

// WithToken makes a token for purpose, bound to u and sent to to (u's
// address, or the new one of an email change), and queues the mail that
// carries its link.
func (l *Letters) WithToken(ctx context.Context, st ports.Stores, u domain.User, purpose domain.EmailTokenPurpose, to domain.Email) error {
	m, ok := tokenMail[purpose]
	if !ok {
		return fmt.Errorf("mail: no mail for token purpose %q", purpose)
	}
	value, hash, err := domain.NewEmailTokenValue(l.random, purpose)
	if err != nil {
		return err
	}
	now := l.clock.Now()
	if err := st.EmailTokens.CreateEmailToken(ctx, domain.EmailToken{
		Hash: hash, UserID: u.ID(), Purpose: purpose, Email: to,
		CreatedAt: now, ExpiresAt: now.Add(l.policy.Tokens.TTL(purpose)),
	}); err != nil {
		return fmt.Errorf("create email token: %w", err)
	}
	link := l.policy.AppURL + "/" + m.page + "?token=" + value
	return l.queue(ctx, st, domain.Mail{Kind: m.kind, To: to.String(), Link: link})
}

// Notice queues a mail without a link.
func (l *Letters) Notice(ctx context.Context, st ports.Stores, to domain.Email, kind domain.MailKind, detail string) error {
	return l.queue(ctx, st, domain.Mail{Kind: kind, To: to.String(), Detail: detail})
}

func (l *Letters) queue(ctx context.Context, st ports.Stores, m domain.Mail) error {
	m.ID, m.CreatedAt = l.ids.NewMailID(), l.clock.Now()
	if err := st.Outbox.EnqueueMail(ctx, domain.QueuedMail{Mail: m, NextAttempt: m.CreatedAt}); err != nil {
		return fmt.Errorf("queue %s mail: %w", m.Kind, err)
	}
	return nil
}

// Posted tells the courier, after the transaction committed, that there
// is mail: it need not wait for its next poll. It never blocks.
func (l *Letters) Posted() {
	if l == nil {
		return
	}
	select {
	case l.posted <- struct{}{}:
	default:
	}
}
