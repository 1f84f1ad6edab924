package mail

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"math/big"
	"mime"
	"mime/multipart"
	"net"
	netmail "net/mail"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

const (
	testLink = "https://auth.example.test/v1/verify?token=c2VjcmV0LXRva2Vu_Zm9v-YmFy&next=%2Fhome"
	testPass = "pa55-w0rd%secret"
)

func testMail(kind domain.MailKind) domain.Mail {
	return domain.Mail{
		ID:        "0190f3f0-7c1e-7a3b-9d2e-4f5a6b7c8d9e",
		Kind:      kind,
		To:        "ada@example.com",
		Link:      testLink,
		Detail:    "totp",
		CreatedAt: time.Now(),
	}
}

// fakeSMTP is an in-process SMTP server (go-smtp) that records what it
// receives and answers as told.
type fakeSMTP struct {
	addr string

	mu       sync.Mutex
	received []received
	authUser string // required user and password when set
	authPass string
	authed   []string
	rcptErr  error
	dataErr  error
	hold     chan struct{} // Data blocks until closed, when set
}

type received struct {
	from, to string
	data     []byte
	tls      bool
	user     string
}

// startFake serves on 127.0.0.1 (or listenAddr), plaintext unless cert
// is given: with cert, STARTTLS is offered, or TLS from the first byte
// when implicit.
func startFake(t *testing.T, listenAddr string, cert *tls.Certificate, implicit bool) *fakeSMTP {
	t.Helper()
	if listenAddr == "" {
		listenAddr = "127.0.0.1:0"
	}
	f := &fakeSMTP{}
	srv := smtp.NewServer(smtp.BackendFunc(func(c *smtp.Conn) (smtp.Session, error) {
		return &fakeSession{f: f, conn: c}, nil
	}))
	srv.Domain = "localhost"
	srv.AllowInsecureAuth = true // go-smtp's side; the client decides for itself
	srv.ReadTimeout, srv.WriteTimeout = 10*time.Second, 10*time.Second
	var l net.Listener
	var err error
	if cert != nil {
		srv.TLSConfig = &tls.Config{Certificates: []tls.Certificate{*cert}}
	}
	if implicit {
		l, err = tls.Listen("tcp", listenAddr, srv.TLSConfig)
	} else {
		l, err = net.Listen("tcp", listenAddr)
	}
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	f.addr = l.Addr().String()
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(func() {
		f.mu.Lock()
		if f.hold != nil {
			select {
			case <-f.hold:
			default:
				close(f.hold)
			}
		}
		f.mu.Unlock()
		_ = srv.Close()
	})
	return f
}

func (f *fakeSMTP) url(scheme, userinfo, query string) string {
	u := scheme + "://"
	if userinfo != "" {
		u += userinfo + "@"
	}
	u += f.addr
	if query != "" {
		u += "?" + query
	}
	return u
}

func (f *fakeSMTP) mails() []received {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]received(nil), f.received...)
}

type fakeSession struct {
	f        *fakeSMTP
	conn     *smtp.Conn
	from, to string
	user     string
}

func (s *fakeSession) AuthMechanisms() []string { return []string{sasl.Plain} }

func (s *fakeSession) Auth(string) (sasl.Server, error) {
	return sasl.NewPlainServer(func(_, user, pass string) error {
		s.f.mu.Lock()
		defer s.f.mu.Unlock()
		s.f.authed = append(s.f.authed, user)
		if user != s.f.authUser || pass != s.f.authPass {
			return &smtp.SMTPError{Code: 535, EnhancedCode: smtp.EnhancedCode{5, 7, 8}, Message: "bad credentials"}
		}
		s.user = user
		return nil
	}), nil
}

func (s *fakeSession) Mail(from string, _ *smtp.MailOptions) error {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.authUser != "" && s.user == "" {
		return smtp.ErrAuthRequired
	}
	s.from = from
	return nil
}

func (s *fakeSession) Rcpt(to string, _ *smtp.RcptOptions) error {
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	if s.f.rcptErr != nil {
		return s.f.rcptErr
	}
	s.to = to
	return nil
}

func (s *fakeSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return err
	}
	s.f.mu.Lock()
	hold, dataErr := s.f.hold, s.f.dataErr
	s.f.mu.Unlock()
	if hold != nil {
		<-hold
	}
	if dataErr != nil {
		return dataErr
	}
	_, isTLS := s.conn.TLSConnectionState()
	s.f.mu.Lock()
	defer s.f.mu.Unlock()
	s.f.received = append(s.f.received, received{from: s.from, to: s.to, data: data, tls: isTLS, user: s.user})
	return nil
}

func (s *fakeSession) Reset()        {}
func (s *fakeSession) Logout() error { return nil }

// selfSigned makes a certificate for 127.0.0.1 and localhost, and a pool
// that trusts it.
func selfSigned(t *testing.T) (*tls.Certificate, *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AddCert(leaf)
	return &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}, pool
}

func newSMTP(t *testing.T, url string, timeout time.Duration, roots *x509.CertPool) *SMTP {
	t.Helper()
	s, err := NewSMTP(Config{URL: url, Product: "authd", Timeout: timeout})
	if err != nil {
		t.Fatalf("NewSMTP: %v", err)
	}
	s.rootCAs = roots
	return s
}

// parsed is a received message taken apart.
type parsed struct {
	header     netmail.Header
	text, html string
}

func parse(t *testing.T, data []byte) parsed {
	t.Helper()
	msg, err := netmail.ReadMessage(strings.NewReader(string(data)))
	if err != nil {
		t.Fatalf("not a mail: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/alternative" {
		t.Fatalf("Content-Type %q, want multipart/alternative", msg.Header.Get("Content-Type"))
	}
	p := parsed{header: msg.Header}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		part, err := mr.NextPart() // decodes quoted-printable
		if errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(part)
		switch ct, _, _ := mime.ParseMediaType(part.Header.Get("Content-Type")); ct {
		case "text/plain":
			p.text = string(body)
		case "text/html":
			p.html = string(body)
		}
	}
	return p
}

func hasLine(text, line string) bool {
	for l := range strings.Lines(text) {
		if strings.TrimRight(l, "\r\n") == line {
			return true
		}
	}
	return false
}

func TestSMTPSendsAWholeMessage(t *testing.T) {
	f := startFake(t, "", nil, false)
	s := newSMTP(t, f.url("smtp", "", ""), 5*time.Second, nil)
	m := testMail(domain.MailVerifyEmail)
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatalf("Send: %v", err)
	}
	got := f.mails()
	if len(got) != 1 {
		t.Fatalf("server got %d mails, want 1", len(got))
	}
	if got[0].from != "no-reply@localhost" || got[0].to != "ada@example.com" {
		t.Errorf("envelope %s -> %s", got[0].from, got[0].to)
	}
	p := parse(t, got[0].data)
	h := p.header
	if id := h.Get("Message-Id"); id != "<"+string(m.ID)+"@authd>" {
		t.Errorf("Message-ID %q", id)
	}
	if d, err := h.Date(); err != nil || time.Since(d) > time.Minute {
		t.Errorf("Date %q: %v", h.Get("Date"), err)
	}
	if from := h.Get("From"); !strings.Contains(from, "authd") || !strings.Contains(from, "<no-reply@localhost>") {
		t.Errorf("From %q", from)
	}
	if to := h.Get("To"); to != "<ada@example.com>" && to != "ada@example.com" {
		t.Errorf("To %q", to)
	}
	if subj := h.Get("Subject"); subj != "Confirm your email address for authd" {
		t.Errorf("Subject %q", subj)
	}
	if h.Get("Auto-Submitted") != "auto-generated" {
		t.Errorf("Auto-Submitted %q", h.Get("Auto-Submitted"))
	}
	if !hasLine(p.text, testLink) {
		t.Errorf("the text part lacks the link on a line of its own:\n%s", p.text)
	}
	if !strings.Contains(p.html, `href="`+strings.ReplaceAll(testLink, "&", "&amp;")+`"`) {
		t.Errorf("the HTML part lacks the link:\n%s", p.html)
	}
	if got[0].tls {
		t.Error("TLS on a server that offers none")
	}
}

func TestSMTPAuth(t *testing.T) {
	f := startFake(t, "", nil, false)
	f.authUser, f.authPass = "ada", testPass
	userinfo := "ada:" + strings.ReplaceAll(testPass, "%", "%25")

	t.Run("accepted", func(t *testing.T) {
		s := newSMTP(t, f.url("smtp", userinfo, ""), 5*time.Second, nil)
		if err := s.Send(context.Background(), testMail(domain.MailResetPassword)); err != nil {
			t.Fatalf("Send: %v", err)
		}
		if got := f.mails(); len(got) != 1 || got[0].user != "ada" {
			t.Fatalf("got %+v, want one mail sent as ada", got)
		}
		if strings.Contains(s.String(), testPass) {
			t.Errorf("String() shows the password: %s", s)
		}
	})
	t.Run("wrong password is temporary and not echoed", func(t *testing.T) {
		s := newSMTP(t, f.url("smtp", "ada:wrong-"+userinfo[4:], ""), 5*time.Second, nil)
		err := s.Send(context.Background(), testMail(domain.MailResetPassword))
		assertTemporary(t, err)
		if strings.Contains(err.Error(), "wrong-") || strings.Contains(err.Error(), testLink) {
			t.Errorf("the error shows a secret: %v", err)
		}
	})
	t.Run("no credentials, server wants them", func(t *testing.T) {
		s := newSMTP(t, f.url("smtp", "", ""), 5*time.Second, nil)
		assertTemporary(t, s.Send(context.Background(), testMail(domain.MailResetPassword)))
	})
}

// PLAIN over plaintext goes only to a loopback name: 127.0.0.2 is
// loopback to the kernel but not to go-mail's check, so it stands for a
// remote server here.
func TestSMTPAuthRefusesPlaintextToARemoteServer(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("127.0.0.2 is a loopback address on Linux; elsewhere it may not be")
	}
	f := startFake(t, "127.0.0.2:0", nil, false)
	f.authUser, f.authPass = "ada", "secret"
	s := newSMTP(t, f.url("smtp", "ada:secret", ""), 5*time.Second, nil)
	err := s.Send(context.Background(), testMail(domain.MailResetPassword))
	assertTemporary(t, err)
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.authed) != 0 {
		t.Errorf("the credentials were sent in the clear (server saw %v)", f.authed)
	}
	t.Logf("refused as it should: %v", err)
}

func TestSMTPStartTLSRequiredRefusesAPlaintextServer(t *testing.T) {
	f := startFake(t, "", nil, false)
	s := newSMTP(t, f.url("smtp", "", "starttls=required"), 5*time.Second, nil)
	err := s.Send(context.Background(), testMail(domain.MailVerifyEmail))
	assertTemporary(t, err)
	if !strings.Contains(err.Error(), "STARTTLS") {
		t.Errorf("error does not say why: %v", err)
	}
	if n := len(f.mails()); n != 0 {
		t.Errorf("server got %d mails over plaintext", n)
	}
}

func TestSMTPTLS(t *testing.T) {
	cert, roots := selfSigned(t)
	for _, tt := range []struct {
		name, scheme, query string
		implicit            bool
	}{
		{"STARTTLS when offered", "smtp", "", false},
		{"STARTTLS required", "smtp", "starttls=required", false},
		{"implicit TLS", "smtps", "", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, "", cert, tt.implicit)
			f.authUser, f.authPass = "ada", "secret"
			s := newSMTP(t, f.url(tt.scheme, "ada:secret", tt.query), 5*time.Second, roots)
			if err := s.Send(context.Background(), testMail(domain.MailVerifyEmail)); err != nil {
				t.Fatalf("Send: %v", err)
			}
			if got := f.mails(); len(got) != 1 || !got[0].tls || got[0].user != "ada" {
				t.Fatalf("got %+v, want one mail over TLS as ada", got)
			}
		})
	}
	t.Run("an untrusted certificate fails", func(t *testing.T) {
		f := startFake(t, "", cert, false)
		s := newSMTP(t, f.url("smtp", "", ""), 5*time.Second, nil) // system roots
		assertTemporary(t, s.Send(context.Background(), testMail(domain.MailVerifyEmail)))
		if n := len(f.mails()); n != 0 {
			t.Errorf("server got %d mails", n)
		}
	})
}

func TestSMTPRefusals(t *testing.T) {
	for _, tt := range []struct {
		name            string
		rcptErr, data   error
		wantPermanent   bool
		wantInTheReason string
	}{
		{"550 to RCPT", &smtp.SMTPError{Code: 550, EnhancedCode: smtp.EnhancedCode{5, 1, 1}, Message: "no such user"}, nil, true, "550"},
		{"451 to RCPT", &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 0}, Message: "try later"}, nil, false, "451"},
		{"554 to DATA", nil, &smtp.SMTPError{Code: 554, EnhancedCode: smtp.EnhancedCode{5, 6, 0}, Message: "rejected"}, true, "554"},
		{"452 to DATA", nil, &smtp.SMTPError{Code: 452, EnhancedCode: smtp.EnhancedCode{4, 3, 1}, Message: "disk full"}, false, "452"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			f := startFake(t, "", nil, false)
			f.rcptErr, f.dataErr = tt.rcptErr, tt.data
			s := newSMTP(t, f.url("smtp", "", ""), 5*time.Second, nil)
			err := s.Send(context.Background(), testMail(domain.MailVerifyEmail))
			var pe ports.PermanentMailError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v (%T) does not implement PermanentMailError", err, err)
			}
			if pe.Permanent() != tt.wantPermanent {
				t.Errorf("Permanent() = %v, want %v: %v", pe.Permanent(), tt.wantPermanent, err)
			}
			if !strings.Contains(err.Error(), tt.wantInTheReason) || strings.Contains(err.Error(), testLink) {
				t.Errorf("error: %v", err)
			}
		})
	}
}

func TestSMTPServerDownIsTemporary(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	s := newSMTP(t, "smtp://"+addr, 5*time.Second, nil)
	assertTemporary(t, s.Send(context.Background(), testMail(domain.MailVerifyEmail)))
}

func TestSMTPTimeouts(t *testing.T) {
	// A server that accepts and never speaks.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			t.Cleanup(func() { _ = c.Close() })
		}
	}()
	t.Run("the send timeout", func(t *testing.T) {
		s := newSMTP(t, "smtp://"+l.Addr().String(), 300*time.Millisecond, nil)
		start := time.Now()
		err := s.Send(context.Background(), testMail(domain.MailVerifyEmail))
		assertTemporary(t, err)
		if d := time.Since(start); d > 3*time.Second {
			t.Errorf("Send took %v with a 300ms timeout", d)
		}
	})

	// The server hangs in DATA: only ctx can end the wait, as go-mail's
	// own per-command deadline is the 30s timeout.
	f := startFake(t, "", nil, false)
	f.hold = make(chan struct{})
	for _, tt := range []struct {
		name string
		ctx  func() (context.Context, context.CancelFunc)
		want error
	}{
		{"ctx deadline", func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 300*time.Millisecond)
		}, context.DeadlineExceeded},
		{"ctx canceled", func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(300*time.Millisecond, cancel)
			return ctx, cancel
		}, context.Canceled},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := newSMTP(t, f.url("smtp", "", ""), 30*time.Second, nil)
			ctx, cancel := tt.ctx()
			defer cancel()
			start := time.Now()
			err := s.Send(ctx, testMail(domain.MailVerifyEmail))
			assertTemporary(t, err)
			if !errors.Is(err, tt.want) {
				t.Errorf("error %v is not %v", err, tt.want)
			}
			if d := time.Since(start); d > 3*time.Second {
				t.Errorf("Send took %v; ctx ended after 300ms", d)
			}
		})
	}
}

func TestSMTPRefusesMailItCannotBuild(t *testing.T) {
	f := startFake(t, "", nil, false)
	s := newSMTP(t, f.url("smtp", "", ""), 5*time.Second, nil)
	for name, m := range map[string]domain.Mail{
		"bad recipient": func() domain.Mail { m := testMail(domain.MailVerifyEmail); m.To = "not an address"; return m }(),
		"no link":       func() domain.Mail { m := testMail(domain.MailVerifyEmail); m.Link = ""; return m }(),
		"unknown kind":  testMail("welcome"),
	} {
		err := s.Send(context.Background(), m)
		var pe ports.PermanentMailError
		if !errors.As(err, &pe) || !pe.Permanent() {
			t.Errorf("%s: error %v, want a permanent one", name, err)
		} else if strings.Contains(err.Error(), testLink) {
			t.Errorf("%s: the error shows the link: %v", name, err)
		}
	}
	if n := len(f.mails()); n != 0 {
		t.Errorf("server got %d mails", n)
	}
}

func assertTemporary(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("Send succeeded, want a temporary error")
	}
	var pe ports.PermanentMailError
	if errors.As(err, &pe) && pe.Permanent() {
		t.Fatalf("error is permanent, want temporary: %v", err)
	}
	if strings.Contains(err.Error(), testLink) || strings.Contains(err.Error(), "token=") {
		t.Fatalf("the error shows the link: %v", err)
	}
}
