package mail

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"time"

	gomail "github.com/wneessen/go-mail"

	"github.com/authd/authd/domain"
)

// transport is a parsed AUTH_SMTP_URL.
type transport struct {
	host        string
	port        int
	implicitTLS bool // smtps: TLS from the first byte
	requireTLS  bool // smtp with starttls=required
	user, pass  string
}

// parseURL reads AUTH_SMTP_URL. Its errors name the variable and never
// echo the URL (it may hold a password).
func parseURL(raw string) (transport, error) {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("AUTH_SMTP_URL: "+format, a...)
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url's own error quotes the whole URL, password and all.
		return transport{}, bad("not a URL such as smtp://user:password@mail.example.com:587")
	}
	var t transport
	switch u.Scheme {
	case "smtp":
		t.port = 587
	case "smtps":
		t.port, t.implicitTLS = 465, true
	default:
		return transport{}, bad("unknown scheme %q (want smtp or smtps)", u.Scheme)
	}
	if u.Opaque != "" || u.Hostname() == "" {
		return transport{}, bad("no host (want %s://host:port)", u.Scheme)
	}
	if (u.Path != "" && u.Path != "/") || u.Fragment != "" {
		return transport{}, bad("a path or fragment means nothing here (want %s://host:port)", u.Scheme)
	}
	t.host = u.Hostname()
	if p := u.Port(); p != "" {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return transport{}, bad("port %q is not a port number", p)
		}
		t.port = n
	}
	if u.User != nil {
		t.user = u.User.Username()
		t.pass, _ = u.User.Password()
		if t.user == "" || t.pass == "" {
			return transport{}, bad("give both a user and a password (user:password@host), or neither")
		}
	}
	for key, values := range u.Query() {
		switch {
		case key != "starttls":
			return transport{}, bad("unknown parameter %q (the only one is starttls=required, for smtp)", key)
		case t.implicitTLS:
			return transport{}, bad("starttls means nothing with smtps, which is TLS from the start")
		case len(values) != 1 || (values[0] != "required" && values[0] != "opportunistic"):
			return transport{}, bad("starttls must be required or opportunistic")
		}
		t.requireTLS = values[0] == "required"
	}
	return t, nil
}

// String is the URL without the password, and what it means.
func (t transport) String() string {
	u := url.URL{Scheme: "smtp", Host: net.JoinHostPort(t.host, strconv.Itoa(t.port))}
	if t.implicitTLS {
		u.Scheme = "smtps"
	}
	if t.user != "" {
		u.User = url.User(t.user)
	}
	var how string
	switch {
	case t.implicitTLS:
		how = "implicit TLS"
	case t.requireTLS:
		how = "STARTTLS required"
	default:
		how = "STARTTLS if offered"
	}
	if t.user != "" {
		how += ", authenticated"
	}
	return u.String() + " (" + how + ")"
}

// SMTP sends mail through an SMTP server, one connection per mail.
//
// TLS: smtps is TLS from the first byte; smtp upgrades with STARTTLS when
// the server offers it (and then fails if the handshake fails), and with
// starttls=required refuses a server that does not offer it. Certificates
// are verified against the system roots.
//
// Authentication happens only when the URL has user information: PLAIN,
// else LOGIN, else the strongest other mechanism the server offers
// (go-mail's auto-discovery, which over plaintext picks only
// challenge-response ones: SCRAM, NTLM, CRAM-MD5). PLAIN and LOGIN send
// the password only over TLS or to a host written as localhost, 127.0.0.1
// or ::1 (go-mail's rule; a name such as "mailpit" counts as remote), so
// credentials never cross a network in the clear: the send fails instead.
type SMTP struct {
	t             transport
	from, product string
	timeout       time.Duration
	rootCAs       *x509.CertPool // nil: the system roots; tests set their own
}

// NewSMTP returns the SMTP mailer for cfg.URL (AUTH_SMTP_URL):
//
//	smtp://[user:password@]host[:port]                     STARTTLS if offered, port 587 by default
//	smtp://[user:password@]host[:port]?starttls=required   refuse plaintext
//	smtps://[user:password@]host[:port]                    implicit TLS, port 465 by default
//
// User and password are percent-encoded. Errors name AUTH_SMTP_URL or
// AUTH_MAIL_FROM and never contain the password.
func NewSMTP(cfg Config) (*SMTP, error) {
	if templatesErr != nil {
		return nil, templatesErr
	}
	t, err := parseURL(cfg.URL)
	if err != nil {
		return nil, err
	}
	cfg, err = cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	return &SMTP{t: t, from: cfg.From, product: cfg.Product, timeout: cfg.Timeout}, nil
}

// String describes the mailer without the password, for a log line.
func (s *SMTP) String() string { return s.t.String() }

// Send renders m and delivers it within the configured timeout and ctx.
// A mail that cannot be rendered or addressed, or that the server refuses
// with a 5xx reply to RCPT or DATA, fails permanently; connection, TLS,
// authentication and 4xx failures, and an expired timeout or ctx, are
// temporary.
func (s *SMTP) Send(ctx context.Context, m domain.Mail) error {
	rendered, err := render(m, s.from, s.product)
	if err != nil {
		return permanent(err)
	}
	msg, err := s.message(rendered)
	if err != nil {
		return permanent(fmt.Errorf("mail %s: %w", m.ID, err))
	}

	caller := ctx
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	client, err := gomail.NewClient(s.t.host, s.options(ctx)...)
	if err != nil {
		return &deliveryError{msg: fmt.Sprintf("mail %s: SMTP client: %v", m.ID, err), err: err}
	}
	err = client.DialAndSendWithContext(ctx, msg)
	switch {
	case msg.IsDelivered():
		return nil // accepted; a failed QUIT afterwards changes nothing
	case err == nil:
		err = errors.New("the server did not confirm the mail")
	case caller.Err() != nil:
		// The connection was cut when ctx ended: say so, not "use of
		// closed network connection".
		err = fmt.Errorf("%w before the server accepted the mail (%v)", caller.Err(), err)
	case ctx.Err() != nil:
		err = fmt.Errorf("%w: no answer within the send timeout of %v (%v)", ctx.Err(), s.timeout, err)
	}
	return &deliveryError{
		msg:       fmt.Sprintf("mail %s via %s: %v", m.ID, net.JoinHostPort(s.t.host, strconv.Itoa(s.t.port)), err),
		permanent: refusedForGood(err),
		err:       err,
	}
}

// message builds go-mail's message from a rendered one.
func (s *SMTP) message(r message) (*gomail.Msg, error) {
	msg := gomail.NewMsg(gomail.WithNoDefaultUserAgent())
	if err := msg.From(r.From); err != nil {
		return nil, fmt.Errorf("sender: %w", err)
	}
	if err := msg.To(r.To); err != nil {
		return nil, fmt.Errorf("recipient: %w", err)
	}
	msg.SetMessageIDWithValue(r.MessageID)
	msg.SetDate()
	msg.Subject(r.Subject)
	// RFC 3834: no out-of-office replies to these.
	msg.SetGenHeader(gomail.Header("Auto-Submitted"), "auto-generated")
	msg.SetBodyString(gomail.TypeTextPlain, r.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, r.HTML)
	return msg, nil
}

// options configures a go-mail client for one send. The connection is
// dialled here, so that ctx ending (its deadline is the send timeout)
// closes it whatever go-mail is waiting for: go-mail itself watches ctx
// only while dialling.
func (s *SMTP) options(ctx context.Context) []gomail.Option {
	tlsConfig := &tls.Config{ServerName: s.t.host, MinVersion: tls.VersionTLS12, RootCAs: s.rootCAs}
	dial := func(dialCtx context.Context, network, addr string) (net.Conn, error) {
		d := &net.Dialer{}
		var conn net.Conn
		var err error
		if s.t.implicitTLS {
			conn, err = (&tls.Dialer{NetDialer: d, Config: tlsConfig}).DialContext(dialCtx, network, addr)
		} else {
			conn, err = d.DialContext(dialCtx, network, addr)
		}
		if err != nil {
			return nil, err
		}
		// Runs when Send's ctx ends, at the latest when Send returns;
		// closing twice is harmless.
		context.AfterFunc(ctx, func() { _ = conn.Close() })
		return conn, nil
	}
	opts := []gomail.Option{
		gomail.WithPort(s.t.port),
		gomail.WithTimeout(s.timeout), // per command; ctx bounds the whole
		gomail.WithDialContextFunc(dial),
		gomail.WithTLSConfig(tlsConfig),
	}
	switch {
	case s.t.implicitTLS:
		// Our dialler does the TLS; this tells go-mail not to STARTTLS.
		opts = append(opts, gomail.WithSSL())
	case s.t.requireTLS:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	}
	if s.t.user != "" {
		opts = append(opts,
			gomail.WithOpportunisticSMTPAuth(gomail.SMTPAuthPlain, gomail.SMTPAuthLogin),
			gomail.WithUsername(s.t.user), gomail.WithPassword(s.t.pass))
	}
	return opts
}

// refusedForGood: the server answered RCPT or DATA (or the end of the
// data) with a 5xx reply. Everything else may work on another try.
func refusedForGood(err error) bool {
	var se *gomail.SendError
	if !errors.As(err, &se) {
		return false
	}
	switch se.Reason {
	case gomail.ErrSMTPRcptTo, gomail.ErrSMTPData, gomail.ErrSMTPDataClose:
		return se.ErrorCode() >= 500 && se.ErrorCode() < 600
	}
	return false
}
