package main_test

import (
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/authd/authd/adapters/mail/mailpittest"
)

var linkToken = regexp.MustCompile(`http://localhost:3000/([a-z-]+)\?token=([A-Za-z0-9_-]{43})`)

// tokenIn finds the link of page in a mail's text part, verbatim on its
// own line, and returns its token.
func tokenIn(t *testing.T, m mailpittest.Message, page string) string {
	t.Helper()
	for _, line := range strings.Split(m.Text, "\n") {
		if got := linkToken.FindStringSubmatch(strings.TrimSpace(line)); got != nil && got[1] == page && strings.TrimSpace(line) == got[0] {
			return got[2]
		}
	}
	t.Fatalf("no %s link on a line of its own in %q", page, m.Text)
	return ""
}

// TestMailThroughARealServer runs the built binary on the embedded SQLite
// default with mailpit as its SMTP server and proves the outbox durable:
// a mail requested while the mail server is down arrives once it is back;
// a mail queued when authd is killed is delivered by the next authd on the
// same data; and no token ever appears in authd's log.
func TestMailThroughARealServer(t *testing.T) {
	mp := mailpittest.Start(t)
	dir := t.TempDir()
	env := []string{
		"AUTH_DATA_DIR=" + dir, "AUTH_SMTP_URL=" + mp.SMTPURL(), "AUTH_APP_URL=http://localhost:3000",
		"AUTH_MAIL_FROM=authd test <no-reply@app.test>", "AUTH_MAIL_MIN_INTERVAL=1s",
	}
	p := start(t, env...)
	var tokens []string

	// Sign-up mails a verification link; it verifies the address.
	status, _ := p.call(t, "POST", "/v1/auth/register", `{"email":"ada@example.com","password":"correct horse"}`, "")
	want(t, status, 201)
	m := mp.WaitFor(t, "ada@example.com", 20*time.Second)
	if !strings.Contains(m.From, "no-reply@app.test") || m.MessageID == "" {
		t.Fatalf("mail from %q, Message-ID %q", m.From, m.MessageID)
	}
	tok := tokenIn(t, m, "verify-email")
	tokens = append(tokens, tok)
	status, body := p.call(t, "POST", "/v1/auth/verify-email", `{"token":"`+tok+`"}`, "")
	want(t, status, 200)
	if body["user"].(map[string]any)["email_verified"] != true {
		t.Fatalf("verify: %v", body)
	}

	// The mail server is down when a reset is asked for: 202 at once, and
	// the mail arrives after the server is back (the courier retries).
	mp.Stop()
	before := time.Now()
	status, _ = p.call(t, "POST", "/v1/auth/password/forgot", `{"email":"ada@example.com"}`, "")
	want(t, status, 202)
	if took := time.Since(before); took > 2*time.Second {
		t.Fatalf("forgot took %v with the mail server down: delivery must not be in the request", took)
	}
	time.Sleep(3 * time.Second) // at least one failed attempt
	if !strings.Contains(p.log(), "mail delivery failed; will retry") {
		t.Fatalf("no failed attempt logged while the server was down:\n%s", p.log())
	}
	mp.Restart()
	m = waitForNth(t, mp, "ada@example.com", 2, 45*time.Second)
	tok = tokenIn(t, m, "reset-password")
	tokens = append(tokens, tok)
	status, _ = p.call(t, "POST", "/v1/auth/password/reset", `{"token":"`+tok+`","password":"battery staple"}`, "")
	want(t, status, 204)
	status, _ = p.call(t, "POST", "/v1/auth/login", `{"email":"ada@example.com","password":"battery staple"}`, "")
	want(t, status, 200)

	// authd killed with mail queued (the server down, so it stays queued):
	// the next authd on the same data delivers it.
	mp.Stop()
	time.Sleep(1100 * time.Millisecond) // the address's mail cap (1s here)
	status, _ = p.call(t, "POST", "/v1/auth/password/forgot", `{"email":"ada@example.com"}`, "")
	want(t, status, 202)
	// Killed once the courier has tried and recorded the failure (a kill
	// mid-attempt would leave the mail leased for two minutes first).
	failures := strings.Count(p.log(), "mail delivery failed; will retry")
	for deadline := time.Now().Add(10 * time.Second); strings.Count(p.log(), "mail delivery failed; will retry") == failures; {
		if time.Now().After(deadline) {
			t.Fatal("the courier never tried the queued mail")
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err := p.signal(t, syscall.SIGKILL); err == nil {
		t.Fatal("authd survived SIGKILL")
	}
	logs := p.log()
	mp.Restart()
	p2 := start(t, env...)
	// Mails so far: verification, reset, "password changed", and this reset.
	m = waitForNth(t, mp, "ada@example.com", 4, 45*time.Second)
	tokens = append(tokens, tokenIn(t, m, "reset-password"))
	p2.stop(t)
	logs += p2.log()

	for _, tok := range tokens {
		if strings.Contains(logs, tok) {
			t.Fatalf("a token appears in authd's log")
		}
	}
	if strings.Contains(logs, "token=") {
		t.Fatal("a link appears in authd's log")
	}
}

// waitForNth waits until to has received n mails and returns the newest.
func waitForNth(t *testing.T, mp *mailpittest.Server, to string, n int, timeout time.Duration) mailpittest.Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		var got []mailpittest.Message
		for _, m := range mp.Messages(t) {
			for _, r := range m.To {
				if r == to {
					got = append(got, m)
				}
			}
		}
		if len(got) >= n {
			if len(got) > n {
				t.Fatalf("%s received %d mails, want %d (a mail sent twice?)", to, len(got), n)
			}
			return got[0] // newest first
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s received %d mails within %v, want %d", to, len(got), timeout, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
