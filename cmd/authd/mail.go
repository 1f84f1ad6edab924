package main

import (
	"fmt"
	"io"

	"github.com/authd/authd/adapters/mail"
)

// mailerConfig is the mail adapter's configuration.
func (c config) mailerConfig() mail.Config {
	return mail.Config{URL: c.SMTPURL, From: c.MailFrom, Product: c.ProductName}
}

// checkMail refuses an AUTH_SMTP_URL or AUTH_MAIL_FROM the mailer cannot
// use, at start rather than at the first mail. Its errors never echo the
// SMTP password.
func (c config) checkMail() error {
	if _, err := mail.New(c.mailerConfig(), io.Discard); err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	return nil
}
