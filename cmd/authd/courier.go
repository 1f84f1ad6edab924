package main

import (
	"log/slog"
	"time"

	"github.com/authd/authd/adapters/metrics"
	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
)

// courierLog is the courier's observer: metrics, and a log line per
// outcome. Mails print without their link (domain.Mail.String), and the
// mailer's errors never carry it.
type courierLog struct {
	m   *metrics.Metrics // nil: no metrics
	log *slog.Logger
}

var _ application.CourierObserver = courierLog{}

func (c courierLog) MailDelivered(m domain.Mail, attempts int) {
	if c.m != nil {
		c.m.MailSent(string(m.Kind))
	}
	c.log.Info("mail sent", slog.String("mail_id", m.ID.String()), slog.String("kind", string(m.Kind)), slog.Int("attempts", attempts))
}

func (c courierLog) MailAttemptFailed(m domain.Mail, attempts int, err error, next time.Time) {
	if c.m != nil {
		c.m.MailAttemptFailed(string(m.Kind))
	}
	c.log.Warn("mail delivery failed; will retry", slog.String("mail_id", m.ID.String()), slog.String("kind", string(m.Kind)),
		slog.Int("attempts", attempts), slog.Time("next_attempt", next), slog.String("error", err.Error()))
}

func (c courierLog) MailGivenUp(m domain.Mail, attempts int, err error) {
	if c.m != nil {
		c.m.MailGivenUp(string(m.Kind))
	}
	c.log.Error("mail given up", slog.String("mail_id", m.ID.String()), slog.String("kind", string(m.Kind)),
		slog.Int("attempts", attempts), slog.String("error", err.Error()))
}

func (c courierLog) MailQueue(queued int, oldest time.Duration) {
	if c.m != nil {
		c.m.MailQueue(queued, oldest)
	}
}

func (c courierLog) CourierError(err error) {
	c.log.Warn("mail outbox unavailable; retrying", slog.String("error", err.Error()))
}
