package mail

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

func TestParseURL(t *testing.T) {
	for _, tt := range []struct{ url, want string }{
		{"smtp://mailpit:1025", "smtp://mailpit:1025 (STARTTLS if offered)"},
		{"smtp://mail.example.com", "smtp://mail.example.com:587 (STARTTLS if offered)"},
		{"smtp://mail.example.com:587/?starttls=required", "smtp://mail.example.com:587 (STARTTLS required)"},
		{"smtp://h:25?starttls=opportunistic", "smtp://h:25 (STARTTLS if offered)"},
		{"smtps://ada%40example.com:p%40ss@mail.example.com", "smtps://ada%40example.com@mail.example.com:465 (implicit TLS, authenticated)"},
		{"smtp://ada:secret@[::1]:2525", "smtp://ada@[::1]:2525 (STARTTLS if offered, authenticated)"},
	} {
		tr, err := parseURL(tt.url)
		if err != nil {
			t.Errorf("%s: %v", tt.url, err)
			continue
		}
		if got := tr.String(); got != tt.want {
			t.Errorf("%s: String() = %q, want %q", tt.url, got, tt.want)
		}
	}
	if tr, _ := parseURL("smtps://ada%40example.com:p%40ss@mail.example.com"); tr.user != "ada@example.com" || tr.pass != "p@ss" {
		t.Errorf("userinfo not decoded: %q %q", tr.user, tr.pass)
	}

	const secret = "hunter2-s3cret"
	for _, tt := range []struct{ url, want string }{
		{"http://mail.example.com", `unknown scheme "http"`},
		{"mail.example.com:25", "unknown scheme"},
		{"smtp://", "no host"},
		{"smtp:mail.example.com", "no host"},
		{"smtp://h:0", "not a port number"},
		{"smtp://h:99999", "not a port number"},
		{"smtp://h/relay", "path"},
		{"smtp://ada@h", "both a user and a password"},
		{"smtp://:" + secret + "@h", "both a user and a password"},
		{"smtp://ada:" + secret + "@h?starttls=always", "starttls must be"},
		{"smtp://ada:" + secret + "@h?tls=1", `unknown parameter "tls"`},
		{"smtps://ada:" + secret + "@h?starttls=required", "starttls means nothing with smtps"},
		{"smtp://ada:" + secret + "%zz@h", "not a URL"},
		{"smtp://ada:" + secret + "@h:port", "not a URL"},
	} {
		_, err := parseURL(tt.url)
		if err == nil {
			t.Errorf("%s: accepted", tt.url)
			continue
		}
		if !strings.Contains(err.Error(), tt.want) || !strings.HasPrefix(err.Error(), "AUTH_SMTP_URL: ") {
			t.Errorf("%s: error %q, want AUTH_SMTP_URL and %q", tt.url, err, tt.want)
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error shows the password: %v", tt.url, err)
		}
	}
}

func TestNewAndDescribe(t *testing.T) {
	var buf bytes.Buffer
	m, err := New(Config{}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*Console); !ok {
		t.Errorf("empty URL gave %T, want the console mailer", m)
	}
	if got := Describe(Config{}); got != "console (mail is printed, not sent)" {
		t.Errorf("Describe(console) = %q", got)
	}

	cfg := Config{URL: "smtp://ada:hunter2@mailpit:1025"}
	m, err = New(cfg, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := m.(*SMTP); !ok {
		t.Errorf("an smtp URL gave %T", m)
	}
	if got := Describe(cfg); got != "smtp://ada@mailpit:1025 (STARTTLS if offered, authenticated)" || m.(*SMTP).String() != got {
		t.Errorf("Describe = %q, String = %q", got, m.(*SMTP).String())
	}
	if got := Describe(Config{URL: "smtp://ada:hunter2@h?x=1"}); strings.Contains(got, "hunter2") || !strings.Contains(got, "AUTH_SMTP_URL") {
		t.Errorf("Describe(bad URL) = %q", got)
	}

	if _, err := New(Config{URL: "smtp://h", From: "not an address"}, nil); err == nil || !strings.Contains(err.Error(), "AUTH_MAIL_FROM") {
		t.Errorf("bad From: %v", err)
	}
	if _, err := New(Config{From: "<nope"}, nil); err == nil || !strings.Contains(err.Error(), "AUTH_MAIL_FROM") {
		t.Errorf("bad From, console: %v", err)
	}
	if m, err := New(Config{URL: "http://h"}, nil); err == nil || m != nil {
		t.Errorf("bad URL: %v, %#v; want an error and a nil Mailer", err, m)
	}
	if _, err := New(Config{URL: "smtp://h", Timeout: -1}, nil); err == nil {
		t.Error("a negative timeout was accepted")
	}
}

func TestConsolePrintsTheMail(t *testing.T) {
	var buf bytes.Buffer
	c, err := NewConsole(Config{Product: "Example"}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if err := c.Send(context.Background(), testMail(domain.MailVerifyEmail)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	out := buf.String()
	if n := strings.Count(out, "----- end of mail -----\n"); n != 4 {
		t.Fatalf("%d mails printed, want 4:\n%s", n, out)
	}
	first := out[:strings.Index(out, "----- end of mail -----")]
	for _, want := range []string{
		"Message-ID: <0190f3f0-7c1e-7a3b-9d2e-4f5a6b7c8d9e@authd>\n",
		"From: authd <no-reply@localhost>\n",
		"To: ada@example.com\n",
		"Subject: Confirm your email address for Example\n",
		"\n" + testLink + "\n",
	} {
		if !strings.Contains(first, want) {
			t.Errorf("output lacks %q:\n%s", want, first)
		}
	}

	m := testMail(domain.MailVerifyEmail)
	m.Link = ""
	var pe ports.PermanentMailError
	if err := c.Send(context.Background(), m); !errors.As(err, &pe) || !pe.Permanent() {
		t.Errorf("a mail without its link: %v, want a permanent error", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Send(ctx, testMail(domain.MailVerifyEmail)); !errors.Is(err, context.Canceled) {
		t.Errorf("canceled ctx: %v", err)
	}
}
