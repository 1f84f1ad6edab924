package application

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// CourierObserver hears what the courier does: metrics and logs. Mails
// passed to it print without their link (domain.Mail.String).
type CourierObserver interface {
	MailDelivered(m domain.Mail, attempts int)
	MailAttemptFailed(m domain.Mail, attempts int, err error, next time.Time)
	MailGivenUp(m domain.Mail, attempts int, err error)
	MailQueue(queued int, oldestAge time.Duration)
	// CourierError is a failure of the outbox itself (the store down); the
	// courier retries at its next poll.
	CourierError(err error)
}

// CourierConfig tunes the courier; zero values take the defaults.
type CourierConfig struct {
	Poll        time.Duration // how often the outbox is looked at (1s)
	Lease       time.Duration // how long a claimed mail is ours (2m)
	SendTimeout time.Duration // one delivery attempt's bound (30s)
	Batch       int           // mails claimed at once (10)
}

// Courier delivers the outbox: it claims due mails under a lease (so
// replicas share the work without sending a mail twice), hands each to
// the Mailer, and records the outcome: sent, due again after a back-off
// (domain.MailRetryPolicy), or given up. A mail whose sender died is
// claimed again once its lease ends. Delivery is at least once: a crash
// between the mail server's acceptance and MailSent sends it again, and
// its Message-ID lets a reader spot the duplicate.
type Courier struct {
	outbox ports.Outbox
	mailer ports.Mailer
	clock  ports.Clock
	retry  domain.MailRetryPolicy
	posted <-chan struct{}
	obs    CourierObserver
	cfg    CourierConfig
}

// NewCourier builds a courier for the outbox letters writes to.
func NewCourier(outbox ports.Outbox, mailer ports.Mailer, clock ports.Clock, letters *Letters, obs CourierObserver, cfg CourierConfig) *Courier {
	if cfg.Poll <= 0 {
		cfg.Poll = time.Second
	}
	if cfg.Lease <= 0 {
		cfg.Lease = 2 * time.Minute
	}
	if cfg.SendTimeout <= 0 {
		cfg.SendTimeout = 30 * time.Second
	}
	if cfg.Batch <= 0 {
		cfg.Batch = 10
	}
	return &Courier{outbox: outbox, mailer: mailer, clock: clock, retry: letters.policy.Retry, posted: letters.posted, obs: obs, cfg: cfg}
}

// Run delivers until ctx ends: a pass at every poll, and at once when a
// use case posted mail.
func (c *Courier) Run(ctx context.Context) {
	t := time.NewTicker(c.cfg.Poll)
	defer t.Stop()
	for {
		if _, err := c.Drain(ctx); err != nil && ctx.Err() == nil {
			c.obs.CourierError(err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-c.posted:
		}
	}
}

// Drain delivers what is due now, batch after batch, and reports the
// queue; it returns how many mails it handled.
func (c *Courier) Drain(ctx context.Context) (int, error) {
	handled := 0
	defer c.report(ctx)
	for ctx.Err() == nil {
		now := c.clock.Now()
		mails, err := c.outbox.ClaimMail(ctx, now, now.Add(c.cfg.Lease), c.cfg.Batch)
		if err != nil {
			return handled, fmt.Errorf("courier: claim: %w", err)
		}
		if len(mails) == 0 {
			return handled, nil
		}
		for _, m := range mails {
			if err := c.deliver(ctx, m); err != nil {
				return handled, err
			}
			handled++
		}
	}
	return handled, nil
}

// deliver sends one claimed mail and records the outcome; an error is the
// outbox's, not the mail server's.
func (c *Courier) deliver(ctx context.Context, m domain.QueuedMail) error {
	sendCtx, cancel := context.WithTimeout(ctx, c.cfg.SendTimeout)
	err := c.mailer.Send(sendCtx, m.Mail)
	cancel()
	// The outcome is recorded even when ctx ended meanwhile (shutdown):
	// a mail left leased would wait for its lease to end.
	rec, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer done()
	now := c.clock.Now()
	if err == nil {
		if err := c.outbox.MailSent(rec, m.ID, now); err != nil {
			return fmt.Errorf("courier: record %s sent: %w", m.ID, err)
		}
		c.obs.MailDelivered(m.Mail, m.Attempts)
		return nil
	}
	var perm ports.PermanentMailError
	permanent := errors.As(err, &perm) && perm.Permanent()
	next, giveUp := c.retry.Next(m, now)
	if ctx.Err() != nil && !permanent {
		// Cut short by shutdown: due again at once, for whoever runs next.
		next, giveUp = now, false
	}
	if permanent || giveUp {
		if err := c.outbox.MailGivenUp(rec, m.ID, now, errorText(err)); err != nil {
			return fmt.Errorf("courier: record %s given up: %w", m.ID, err)
		}
		c.obs.MailGivenUp(m.Mail, m.Attempts, err)
		return nil
	}
	if err := c.outbox.MailFailed(rec, m.ID, next, errorText(err)); err != nil {
		return fmt.Errorf("courier: record %s failed: %w", m.ID, err)
	}
	c.obs.MailAttemptFailed(m.Mail, m.Attempts, err, next)
	return nil
}

// report tells the observer the queue's size and age.
func (c *Courier) report(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	n, oldest, err := c.outbox.MailQueue(ctx)
	if err != nil {
		return
	}
	var age time.Duration
	if !oldest.IsZero() {
		age = max(c.clock.Now().Sub(oldest), 0)
	}
	c.obs.MailQueue(n, age)
}

// errorText is what the outbox keeps of a delivery error: bounded, and
// only the mailer's message, which never carries the link.
func errorText(err error) string {
	s := err.Error()
	if len(s) > 500 {
		s = strings.ToValidUTF8(s[:500], "")
	}
	return s
}
