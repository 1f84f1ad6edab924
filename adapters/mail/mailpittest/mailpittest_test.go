package mailpittest_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/authd/authd/adapters/mail"
	"github.com/authd/authd/adapters/mail/mailpittest"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

const link = "https://auth.example.test/v1/email/verify?token=Q2hlY2sgdGhpcyBsaW5r_LS0tLS0tLS0tLS0tLS0tLS0tLS0tLS0tLS0tLS0tLS0tLS0tLS0&next=%2Fwelcome%3Fa%3D1"

// The SMTP mailer against a real mail server: the mail arrives whole, a
// server that is down is a temporary failure, and it delivers again once
// the server is back.
func TestSMTPMailerAgainstMailpit(t *testing.T) {
	srv := mailpittest.Start(t)
	// mailpit takes any credentials; authenticating proves the AUTH path
	// (PLAIN over plaintext, allowed to 127.0.0.1 only).
	url := strings.Replace(srv.SMTPURL(), "smtp://", "smtp://authd:local-secret@", 1)
	mailer, err := mail.New(mail.Config{URL: url, Product: "Example", Timeout: 5 * time.Second}, nil)
	if err != nil {
		t.Fatal(err)
	}
	send := func(id, to string) error {
		return mailer.Send(context.Background(), domain.Mail{
			ID: domain.MailID(id), Kind: domain.MailVerifyEmail, To: to, Link: link, CreatedAt: time.Now(),
		})
	}

	if err := send("0190f3f0-0000-7000-8000-000000000001", "ada@example.com"); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := srv.WaitFor(t, "ada@example.com", 10*time.Second)
	if got.MessageID != "0190f3f0-0000-7000-8000-000000000001@authd" {
		t.Errorf("Message-ID %q", got.MessageID)
	}
	if got.Subject != "Confirm your email address for Example" || got.From != "no-reply@localhost" {
		t.Errorf("subject %q, from %q", got.Subject, got.From)
	}
	if !hasLine(got.Text, link) {
		t.Errorf("the text part lacks the link on a line of its own:\n%s", got.Text)
	}
	if !strings.Contains(got.HTML, strings.ReplaceAll(link, "&", "&amp;")) {
		t.Errorf("the HTML part lacks the link:\n%s", got.HTML)
	}
	if time.Since(got.Date) > time.Minute {
		t.Errorf("Date %v", got.Date)
	}

	srv.Stop()
	err = send("0190f3f0-0000-7000-8000-000000000002", "grace@example.com")
	var pe ports.PermanentMailError
	if err == nil || (errors.As(err, &pe) && pe.Permanent()) {
		t.Fatalf("Send with mailpit down: %v, want a temporary error", err)
	}
	if strings.Contains(err.Error(), "token=") || strings.Contains(err.Error(), "local-secret") {
		t.Errorf("the error shows a secret: %v", err)
	}
	t.Logf("mailpit down: %v", err)

	srv.Restart()
	if err := send("0190f3f0-0000-7000-8000-000000000002", "grace@example.com"); err != nil {
		t.Fatalf("Send after Restart: %v", err)
	}
	srv.WaitFor(t, "grace@example.com", 10*time.Second)
	if msgs := srv.Messages(t); len(msgs) != 2 {
		t.Errorf("%d messages after the restart, want 2 (the first one is kept)", len(msgs))
	}
}

func hasLine(text, line string) bool {
	for l := range strings.Lines(text) {
		if strings.TrimRight(l, "\r\n") == line {
			return true
		}
	}
	return false
}
