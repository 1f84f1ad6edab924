// Package mail delivers authd's mails: it renders each domain.MailKind from
// embedded templates (a subject, a text/plain part, an HTML alternative)
// and hands the message to an SMTP server (SMTP, on go-mail), or, when no
// server is configured, prints it (Console, for development).
//
// A mail's Link is a secret until the mail is sent: no error of this
// package contains it, and only the console mailer, which exists to show
// it to a developer, ever writes it anywhere.
package mail

import (
	"errors"
	"fmt"
	"io"
	netmail "net/mail"
	"os"
	"time"

	"github.com/authd/authd/ports"
)

// Defaults for an unset Config field.
const (
	DefaultFrom    = "authd <no-reply@localhost>"
	DefaultProduct = "authd"
	DefaultTimeout = 30 * time.Second
)

// Config selects and configures the mailer.
type Config struct {
	// URL is AUTH_SMTP_URL: empty for the console mailer, else
	// smtp://[user:pass@]host[:port][?starttls=required] or
	// smtps://[user:pass@]host[:port] (see NewSMTP).
	URL string
	// From is AUTH_MAIL_FROM, the sender: an RFC 5322 address with an
	// optional display name. Default DefaultFrom.
	From string
	// Product is the product name the mails speak of. Default
	// DefaultProduct.
	Product string
	// Timeout bounds one Send, connection and all. Default DefaultTimeout.
	Timeout time.Duration
}

// withDefaults fills the unset fields and validates the rest.
func (c Config) withDefaults() (Config, error) {
	if c.From == "" {
		c.From = DefaultFrom
	}
	if c.Product == "" {
		c.Product = DefaultProduct
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Timeout < 0 {
		return c, errors.New("mail: the send timeout must be positive")
	}
	if _, err := netmail.ParseAddress(c.From); err != nil {
		return c, fmt.Errorf("AUTH_MAIL_FROM: %q is not an address such as %q", c.From, DefaultFrom)
	}
	return c, nil
}

// New returns the mailer cfg asks for: SMTP when cfg.URL is set, else the
// console mailer writing to console (os.Stderr when nil).
func New(cfg Config, console io.Writer) (ports.Mailer, error) {
	if cfg.URL == "" {
		if console == nil {
			console = os.Stderr
		}
		c, err := NewConsole(cfg, console)
		if err != nil {
			return nil, err // not a nil *Console in a non-nil interface
		}
		return c, nil
	}
	s, err := NewSMTP(cfg)
	if err != nil {
		return nil, err
	}
	return s, nil
}

// Describe says, for the start-up log line, where mail goes, without the
// SMTP password: "smtp://mailpit:1025 (STARTTLS if offered)" or "console
// (mail is printed, not sent)".
func Describe(cfg Config) string {
	if cfg.URL == "" {
		return consoleDescription
	}
	t, err := parseURL(cfg.URL)
	if err != nil {
		return "invalid AUTH_SMTP_URL"
	}
	return t.String()
}

// deliveryError is what Send returns: the cause, and whether retrying
// could help. It implements ports.PermanentMailError.
type deliveryError struct {
	msg       string
	permanent bool
	err       error
}

func (e *deliveryError) Error() string   { return e.msg }
func (e *deliveryError) Unwrap() error   { return e.err }
func (e *deliveryError) Permanent() bool { return e.permanent }

var _ ports.PermanentMailError = (*deliveryError)(nil)

// permanent wraps err as a failure that retrying cannot fix.
func permanent(err error) error {
	return &deliveryError{msg: err.Error(), permanent: true, err: err}
}
