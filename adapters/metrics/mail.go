package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// MailKinds are the values of the kind label, each exported from the
// start (at zero). They mirror domain.MailKinds; this adapter imports no
// core package.
var MailKinds = []string{
	"verify_email", "reset_password", "password_changed", "confirm_email_change",
	"email_changed", "factor_added", "factor_removed",
}

// mailMetrics are the courier's figures.
type mailMetrics struct {
	sent, failed, givenUp *prometheus.CounterVec
	queued, oldest        prometheus.Gauge
}

func newMailMetrics(reg *prometheus.Registry) *mailMetrics {
	byKind := func(name, help string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, []string{"kind"})
	}
	m := &mailMetrics{
		sent:    byKind("mail_sent_total", "Mails the mail server accepted, by kind."),
		failed:  byKind("mail_attempts_failed_total", "Delivery attempts that failed and will be retried, by kind."),
		givenUp: byKind("mail_given_up_total", "Mails abandoned (past AUTH_MAIL_GIVE_UP, or refused for good by the server), by kind. Alert on any increase."),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "mail_queued",
			Help: "Mails in the outbox not yet sent nor given up (all replicas), as of the courier's last pass."}),
		oldest: prometheus.NewGauge(prometheus.GaugeOpts{Namespace: namespace, Name: "mail_oldest_queued_age_seconds",
			Help: "Age of the oldest mail in the outbox (0 when empty). Growing: mail is not going out."}),
	}
	for _, k := range MailKinds {
		m.sent.WithLabelValues(k)
		m.failed.WithLabelValues(k)
		m.givenUp.WithLabelValues(k)
	}
	reg.MustRegister(m.sent, m.failed, m.givenUp, m.queued, m.oldest)
	return m
}

// MailSent counts a delivered mail of kind.
func (m *Metrics) MailSent(kind string) { m.mail.sent.WithLabelValues(kind).Inc() }

// MailAttemptFailed counts a failed attempt that will be retried.
func (m *Metrics) MailAttemptFailed(kind string) { m.mail.failed.WithLabelValues(kind).Inc() }

// MailGivenUp counts an abandoned mail.
func (m *Metrics) MailGivenUp(kind string) { m.mail.givenUp.WithLabelValues(kind).Inc() }

// MailQueue sets the outbox's size and the age of its oldest mail.
func (m *Metrics) MailQueue(queued int, oldest time.Duration) {
	m.mail.queued.Set(float64(queued))
	m.mail.oldest.Set(oldest.Seconds())
}
