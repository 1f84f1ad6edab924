package httpapi_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authd/authd/adapters/argon2"
	"github.com/authd/authd/adapters/httpapi"
	"github.com/authd/authd/adapters/jwt"
	"github.com/authd/authd/adapters/memory"
	"github.com/authd/authd/adapters/metrics"
	"github.com/authd/authd/adapters/secretbox"
	"github.com/authd/authd/adapters/system"
	"github.com/authd/authd/adapters/totp"
	"github.com/authd/authd/adapters/webauthn"
	"github.com/authd/authd/application"
	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/admin"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/docs"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// cheapParams keep the real argon2id code path but make it fast enough for
// dozens of hashes per test under -race.
var cheapParams = argon2.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

type testStore interface {
	ports.Users
	ports.Passwords
	ports.Sessions
	ports.Transactor
	ports.Pinger
	ports.EmailTokens
	ports.Outbox
	ports.SecondFactors
	ports.Passkeys
}

// deps are the ports the harness wires the use cases from, as authd serve
// does; options adjust them first. Throttle and Audit are optional here.
type deps struct {
	Store    testStore
	Hasher   ports.PasswordHasher
	Issuer   ports.TokenIssuer
	Verifier ports.TokenVerifier
	Clock    ports.Clock
	Throttle ports.LoginThrottle
	Audit    ports.AuditLog
	// ReuseLeeway is the refresh reuse leeway (application.Config); 0 strict.
	ReuseLeeway time.Duration
	// Mail is the email flows' configuration (application.MailConfig).
	Mail application.MailConfig
	// Mailer receives the mails the courier delivers.
	Mailer ports.Mailer
	// WebAuthnOrigins are the origins allowed to run passkey ceremonies
	// (RP ID localhost); empty: http://localhost:3000.
	WebAuthnOrigins []string
}

// wired is the use cases plus the courier that delivers their mail.
type wired struct {
	httpapi.UseCases
	courier *application.Courier
}

// useCases wires every capability over d, as cmd/authd's newServer does.
func useCases(t *testing.T, d deps) httpapi.UseCases { return wireAll(t, d).UseCases }

// wireAll wires every capability and the courier over d.
func wireAll(t *testing.T, d deps) wired {
	t.Helper()
	policies, err := application.Config{RefreshTTL: 720 * time.Hour, RefreshReuseLeeway: d.ReuseLeeway}.Policies()
	if err != nil {
		t.Fatal(err)
	}
	ids := system.IDs{}
	audit := application.NewRecorder(d.Audit, ids, d.Clock, nil)
	guard := application.NewGuard(d.Throttle, d.Hasher, d.Clock, audit, policies.Throttle)
	sess, err := sessions.New(sessions.Deps{
		Tx: d.Store, Sessions: d.Store, Issuer: d.Issuer, Clock: d.Clock, IDs: ids, Random: rand.Reader, Audit: audit,
	}, policies)
	if err != nil {
		t.Fatal(err)
	}
	password, err := signin.NewPassword(context.Background(), d.Store, d.Store, guard, d.Hasher, d.Clock, audit)
	if err != nil {
		t.Fatal(err)
	}
	mp, err := d.Mail.Policies()
	if err != nil {
		t.Fatal(err)
	}
	letters := application.NewLetters(mp, ids, rand.Reader, d.Clock)
	registration := account.NewRegistration(d.Store, d.Hasher, ids, d.Clock, audit).WithMail(letters)
	key := make([]byte, secretbox.KeySize)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	box, err := secretbox.New(key)
	if err != nil {
		t.Fatal(err)
	}
	otp := totp.New(rand.Reader)
	second := signin.NewSecondFactor(signin.SecondFactorDeps{
		Factors: d.Store, Users: d.Store, Sessions: sess, Guard: guard, OTP: otp, Box: box, Random: rand.Reader, Clock: d.Clock, Audit: audit,
	})
	origins := d.WebAuthnOrigins
	if len(origins) == 0 {
		origins = []string{"http://localhost:3000"}
	}
	rp, err := webauthn.New(webauthn.Config{RPID: "localhost", RPDisplayName: "authd", Origins: origins})
	if err != nil {
		t.Fatal(err)
	}
	passkeySignIn := signin.NewPasskeySignIn(signin.PasskeySignInDeps{
		Factors: d.Store, Passkeys: d.Store, Users: d.Store, Sessions: sess, RP: rp, Random: rand.Reader, Clock: d.Clock, Audit: audit,
		RequireVerifiedEmail: mp.RequireVerified,
	})
	second.WithMethods(passkeySignIn.Methods)
	mailer := d.Mailer
	if mailer == nil {
		mailer = &captureMailer{}
	}
	return wired{
		UseCases: httpapi.UseCases{
			Login:        signin.NewLogin(password, sess).RequireVerifiedEmail(mp.RequireVerified).WithSecondFactor(second),
			SecondFactor: second,
			TOTP: account.NewTOTPFactor(account.TOTPDeps{
				Tx: d.Store, Factors: d.Store, Passwords: d.Store, Sessions: sess, Guard: guard, OTP: otp, Box: box,
				Issuer: "authd", Random: rand.Reader, Letters: letters, Clock: d.Clock, Audit: audit,
			}),
			Registration:   registration,
			PasswordChange: account.NewPasswordChange(d.Store, d.Store, sess, guard, d.Hasher, d.Clock, audit).WithMail(letters),
			Verification:   account.NewVerification(d.Store, letters, d.Clock, audit),
			PasswordReset:  account.NewPasswordReset(d.Store, d.Store, d.Throttle, d.Hasher, letters, d.Clock, audit),
			EmailChange:    account.NewEmailChange(d.Store, d.Store, d.Store, sess, guard, letters, d.Clock, audit),
			Passkeys: account.NewPasskeys(account.PasskeyDeps{
				Tx: d.Store, Passkeys: d.Store, Sessions: sess, RP: rp, IDs: ids, Random: rand.Reader, Letters: letters, Clock: d.Clock, Audit: audit,
			}),
			PasskeySignIn: passkeySignIn,
			Sessions:      sess,
			Bearer:        sessions.NewBearer(d.Verifier),
			Admin: admin.New(d.Store, d.Store, d.Audit, registration, d.Clock, audit).WithMail(admin.Mail{Tx: d.Store, Letters: letters}).WithFactors(func(ctx context.Context, st ports.Stores, u domain.UserID) (int, error) {
				return st.Passkeys.DeletePasskeys(ctx, u)
			}),
			Audit: audit,
			Store: d.Store,
		},
		courier: application.NewCourier(d.Store, mailer, d.Clock, letters, nopCourierObserver{}, application.CourierConfig{}),
	}
}

// captureMailer keeps every mail it is given.
type captureMailer struct {
	mu   sync.Mutex
	sent []domain.Mail
}

func (m *captureMailer) Send(_ context.Context, mail domain.Mail) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sent = append(m.sent, mail)
	return nil
}

type nopCourierObserver struct{}

func (nopCourierObserver) MailDelivered(domain.Mail, int)                       {}
func (nopCourierObserver) MailAttemptFailed(domain.Mail, int, error, time.Time) {}
func (nopCourierObserver) MailGivenUp(domain.Mail, int, error)                  {}
func (nopCourierObserver) MailQueue(int, time.Duration)                         {}
func (nopCourierObserver) CourierError(error)                                   {}

// movableClock lets a test jump past token lifetimes without sleeping.
type movableClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *movableClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *movableClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type harness struct {
	srv   *httptest.Server
	key   *jwt.Key
	clock *movableClock
	cfg   jwt.Config
	logs  *bytes.Buffer
	// courier delivers the outbox to mailer when a test asks (mails).
	courier *application.Courier
	mailer  ports.Mailer
}

type harnessOption func(*deps)

func newHarness(t *testing.T, st testStore, opts ...harnessOption) *harness {
	t.Helper()
	return newHarnessWith(t, st, nil, opts...)
}

// newHarnessWith is newHarness with httpOpts adjusting the HTTP adapter's
// options (browser mode: cookies, CORS) before the server starts.
func newHarnessWith(t *testing.T, st testStore, httpOpts func(*httpapi.Options), opts ...harnessOption) *harness {
	t.Helper()
	if st == nil {
		st = memory.NewStore()
	}
	key, err := jwt.GenerateKey("ES256")
	if err != nil {
		t.Fatal(err)
	}
	clock := &movableClock{now: time.Now().UTC().Truncate(time.Second)}
	cfg := jwt.Config{Issuer: "http://authd.test", Audience: "authd", AccessTTL: 15 * time.Minute, Clock: clock, Random: rand.Reader}
	signer, err := jwt.NewSigner(cfg, key)
	if err != nil {
		t.Fatal(err)
	}
	verifier, err := jwt.NewVerifier(cfg, key)
	if err != nil {
		t.Fatal(err)
	}
	d := deps{
		Store:    st,
		Hasher:   argon2.New(cheapParams, argon2.GateConfig{MaxQueue: 256, MaxWait: 30 * time.Second}, rand.Reader),
		Issuer:   signer,
		Verifier: verifier,
		Clock:    clock,
	}
	for _, o := range opts {
		o(&d)
	}
	if d.Mailer == nil {
		d.Mailer = &captureMailer{}
	}
	w := wireAll(t, d)
	uc := w.UseCases
	logs := &bytes.Buffer{}
	logger := slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	m := metrics.New(metrics.Sources{})
	httpOptions := httpapi.Options{
		Logger: logger, JWKS: verifier.JWKS,
		// Every optional route on, as authd serve configures them, so the
		// tests reach (and validate) every documented operation.
		Issuer: cfg.Issuer, SigningAlgs: []string{key.Alg()}, OpenAPI: docs.OpenAPI,
		Metrics: m.Handler(), Observer: m,
	}
	if httpOpts != nil {
		httpOpts(&httpOptions)
	}
	srv := httptest.NewServer(httpapi.NewHandler(uc, httpOptions))
	t.Cleanup(srv.Close)
	validateExchanges(t, srv)
	return &harness{srv: srv, key: key, clock: clock, cfg: cfg, logs: logs, courier: w.courier, mailer: d.Mailer}
}

type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// do sends a request; body is sent as application/json unless headers
// override Content-Type.
func (h *harness) do(t *testing.T, method, path, body string, headers ...string) response {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := h.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: b}
}

func (h *harness) register(t *testing.T, email, password string) {
	t.Helper()
	if r := h.do(t, "POST", "/v1/auth/register", `{"email":"`+email+`","password":"`+password+`"}`); r.status != http.StatusCreated {
		t.Fatalf("register: %d %s", r.status, r.body)
	}
}

type pair struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

func (h *harness) login(t *testing.T, email, password string) pair {
	t.Helper()
	r := h.do(t, "POST", "/v1/auth/login", `{"email":"`+email+`","password":"`+password+`"}`)
	if r.status != http.StatusOK {
		t.Fatalf("login: %d %s", r.status, r.body)
	}
	var p pair
	if err := json.Unmarshal(r.body, &p); err != nil {
		t.Fatal(err)
	}
	return p
}
