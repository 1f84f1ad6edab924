package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"

	"github.com/authd/authd/adapters/httpapi"
	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
)

// config is read from the environment with the AUTH_ prefix; docs/OPERATIONS.md
// is the reference, and config_docs_test.go keeps it in step.
type config struct {
	Addr string `envconfig:"ADDR" default:":8080"`
	// DatabaseURL selects the store by scheme (see parseStore); empty is
	// the embedded default, SQLite in DataDir.
	DatabaseURL    string `envconfig:"DATABASE_URL"`
	DataDir        string `envconfig:"DATA_DIR" default:"./authd-data"`
	SigningKeyFile string `envconfig:"SIGNING_KEY_FILE"`
	// PreviousKeyFiles are retired signing keys (comma-separated paths):
	// published in the JWKS and accepted by the verifier, never used to sign.
	PreviousKeyFiles []string      `envconfig:"PREVIOUS_KEY_FILES"`
	Issuer           string        `envconfig:"ISSUER" default:"http://localhost:8080"`
	Audience         string        `envconfig:"AUDIENCE" default:"authd"`
	AccessTTL        time.Duration `envconfig:"ACCESS_TTL" default:"15m"`
	RefreshTTL       time.Duration `envconfig:"REFRESH_TTL" default:"720h"`
	AutoMigrate      bool          `envconfig:"AUTO_MIGRATE" default:"true"`
	LogLevel         string        `envconfig:"LOG_LEVEL" default:"info"`
	LogFormat        string        `envconfig:"LOG_FORMAT" default:"json"`
	DebugAddr        string        `envconfig:"DEBUG_ADDR"`   // net/http/pprof listener; off when empty
	MetricsAddr      string        `envconfig:"METRICS_ADDR"` // separate /metrics listener; empty: /metrics on AUTH_ADDR
	// Shutdown on SIGTERM (serve.go): /readyz answers 503 at once, the
	// listener stays open for ShutdownDelay, then in-flight requests drain;
	// all within ShutdownTimeout of the signal.
	ShutdownTimeout time.Duration `envconfig:"SHUTDOWN_TIMEOUT" default:"20s"`
	ShutdownDelay   time.Duration `envconfig:"SHUTDOWN_DELAY" default:"3s"`
	// RequestTimeout bounds each request's work (database calls, the wait
	// for a pooled connection, queueing for a hash): past it the answer is
	// 503 with Retry-After, so a slow database gives errors, not a pile-up.
	RequestTimeout time.Duration `envconfig:"REQUEST_TIMEOUT" default:"10s"`
	// TrustedProxies: CIDRs (or single addresses) whose X-Forwarded-For is
	// believed when working out a client's address.
	TrustedProxies []string `envconfig:"TRUSTED_PROXIES"`
	// IPRatePerMinute and IPBurst: the per-client-IP token bucket on the
	// credential endpoints; 0 per minute turns it off.
	IPRatePerMinute int `envconfig:"IP_RATE_PER_MINUTE" default:"300"`
	IPBurst         int `envconfig:"IP_BURST" default:"60"`
	// Session lifetime: idle timeout and absolute age.
	SessionIdleTTL time.Duration `envconfig:"SESSION_IDLE_TTL" default:"168h"`
	SessionMaxAge  time.Duration `envconfig:"SESSION_MAX_AGE" default:"720h"`
	// RefreshReuseLeeway forgives a refresh token presented again this soon
	// after its own rotation (a sibling token instead of a revoked session);
	// 0 is strict reuse detection (see application.Config).
	RefreshReuseLeeway time.Duration `envconfig:"REFRESH_REUSE_LEEWAY" default:"0s"`
	// The per-account login throttle (see application.Config).
	LoginFreeAttempts int           `envconfig:"LOGIN_FREE_ATTEMPTS" default:"5"`
	LoginBackoffBase  time.Duration `envconfig:"LOGIN_BACKOFF_BASE" default:"1s"`
	LoginBackoffMax   time.Duration `envconfig:"LOGIN_BACKOFF_MAX" default:"60s"`
	LoginWindow       time.Duration `envconfig:"LOGIN_WINDOW" default:"1h"`
	// CookieMode makes login and refresh answer with cookies (browser mode)
	// for every client, not only those that ask with X-Auth-Cookies: 1.
	CookieMode bool `envconfig:"COOKIE_MODE" default:"false"`
	// CORSOrigins are the exact origins allowed to call with credentials.
	CORSOrigins []string `envconfig:"CORS_ORIGINS"`
	// The pruner (cmd/authd/prune.go): how often it runs, and how long
	// audit events are kept (0: forever).
	PruneInterval  time.Duration `envconfig:"PRUNE_INTERVAL" default:"10m"`
	AuditRetention time.Duration `envconfig:"AUDIT_RETENTION" default:"2160h"`
	// Mail (the email flows; cmd/authd/mail.go): where links point, how
	// mail leaves, and the flows' limits (see application.MailConfig).
	AppURL               string        `envconfig:"APP_URL" default:"http://localhost:3000"`
	SMTPURL              string        `envconfig:"SMTP_URL"`
	MailFrom             string        `envconfig:"MAIL_FROM" default:"authd <no-reply@localhost>"`
	ProductName          string        `envconfig:"PRODUCT_NAME" default:"authd"`
	VerifyTTL            time.Duration `envconfig:"VERIFY_TTL" default:"24h"`
	ResetTTL             time.Duration `envconfig:"RESET_TTL" default:"30m"`
	MailMinInterval      time.Duration `envconfig:"MAIL_MIN_INTERVAL" default:"1m"`
	MailGiveUp           time.Duration `envconfig:"MAIL_GIVE_UP" default:"24h"`
	RequireVerifiedEmail bool          `envconfig:"REQUIRE_VERIFIED_EMAIL" default:"false"`
	// DataKeyFile encrypts second-factor secrets at rest (cmd/authd/datakey.go).
	DataKeyFile string `envconfig:"DATA_KEY_FILE"`
	// Passkeys (WebAuthn): the relying party's id (default: the host of
	// AUTH_APP_URL) and the origins allowed to run ceremonies (default:
	// AUTH_APP_URL).
	WebAuthnRPID    string   `envconfig:"WEBAUTHN_RP_ID"`
	WebAuthnOrigins []string `envconfig:"WEBAUTHN_ORIGINS"`
}

// loadConfig reads and validates the configuration. Every error names the
// variable at fault and never echoes a value that could be a secret.
func loadConfig() (config, error) {
	var c config
	if err := envconfig.Process("AUTH", &c); err != nil {
		var pe *envconfig.ParseError
		if errors.As(err, &pe) {
			return c, fmt.Errorf("invalid configuration: %s: cannot parse %q as %s", pe.KeyName, pe.Value, pe.TypeName)
		}
		return c, fmt.Errorf("invalid configuration: %w", err)
	}
	return c, c.validate()
}

func (c config) validate() error {
	bad := func(name, why string) error { return fmt.Errorf("invalid configuration: %s: %s", name, why) }
	switch {
	case strings.TrimSpace(c.Addr) == "":
		return bad("AUTH_ADDR", "must not be empty")
	case strings.TrimSpace(c.Issuer) == "":
		return bad("AUTH_ISSUER", "must not be empty")
	case strings.TrimSpace(c.Audience) == "":
		return bad("AUTH_AUDIENCE", "must not be empty")
	case c.AccessTTL < time.Second:
		return bad("AUTH_ACCESS_TTL", "must be a duration of at least 1s, such as 15m")
	case c.AccessTTL > 24*time.Hour:
		return bad("AUTH_ACCESS_TTL", "must be at most 24h: access tokens cannot be revoked everywhere")
	case c.RefreshTTL <= 0:
		return bad("AUTH_REFRESH_TTL", "must be a positive duration such as 720h")
	case c.RefreshTTL < c.AccessTTL:
		return bad("AUTH_REFRESH_TTL", "must not be shorter than AUTH_ACCESS_TTL")
	}
	if len(c.PreviousKeyFiles) > 0 && c.SigningKeyFile == "" {
		return bad("AUTH_PREVIOUS_KEY_FILES", "needs AUTH_SIGNING_KEY_FILE: retired keys only make sense next to a current one")
	}
	for _, f := range c.PreviousKeyFiles {
		if strings.TrimSpace(f) == "" {
			return bad("AUTH_PREVIOUS_KEY_FILES", "has an empty entry")
		}
	}
	switch {
	case c.SessionIdleTTL < c.AccessTTL:
		return bad("AUTH_SESSION_IDLE_TTL", "must not be shorter than AUTH_ACCESS_TTL")
	case c.SessionMaxAge < c.SessionIdleTTL:
		return bad("AUTH_SESSION_MAX_AGE", "must not be shorter than AUTH_SESSION_IDLE_TTL")
	case c.RefreshReuseLeeway < 0 || c.RefreshReuseLeeway > domain.MaxReuseLeeway:
		return bad("AUTH_REFRESH_REUSE_LEEWAY", "must be 0 (strict reuse detection) or a duration of at most "+domain.MaxReuseLeeway.String()+", such as 10s")
	case c.RequestTimeout <= 0 || c.RequestTimeout > maxRequestTimeout:
		return bad("AUTH_REQUEST_TIMEOUT", "must be a positive duration of at most "+maxRequestTimeout.String()+" (the server's write timeout is "+writeTimeout.String()+"), such as 10s")
	case c.ShutdownTimeout <= 0:
		return bad("AUTH_SHUTDOWN_TIMEOUT", "must be a positive duration such as 20s")
	case c.ShutdownDelay < 0 || c.ShutdownDelay >= c.ShutdownTimeout:
		return bad("AUTH_SHUTDOWN_DELAY", "must be 0 or a duration shorter than AUTH_SHUTDOWN_TIMEOUT, such as 3s")
	case c.LoginFreeAttempts < 1:
		return bad("AUTH_LOGIN_FREE_ATTEMPTS", "must be at least 1")
	case c.LoginBackoffBase <= 0:
		return bad("AUTH_LOGIN_BACKOFF_BASE", "must be a positive duration such as 1s")
	case c.LoginBackoffMax < c.LoginBackoffBase:
		return bad("AUTH_LOGIN_BACKOFF_MAX", "must not be shorter than AUTH_LOGIN_BACKOFF_BASE")
	case c.LoginWindow <= 0:
		return bad("AUTH_LOGIN_WINDOW", "must be a positive duration such as 1h")
	}
	if n := c.throttlePolicy().MaxAttemptsPerHour(); n >= application.MaxFailedLoginsPerHour {
		return bad("AUTH_LOGIN_FREE_ATTEMPTS", fmt.Sprintf("with AUTH_LOGIN_BACKOFF_BASE, AUTH_LOGIN_BACKOFF_MAX and AUTH_LOGIN_WINDOW it admits %d guesses an hour; keep it below %d (ASVS 2.2.1)", n, application.MaxFailedLoginsPerHour))
	}
	if err := httpapi.ValidateCORSOrigins(c.CORSOrigins); err != nil {
		return bad("AUTH_CORS_ORIGINS", err.Error())
	}
	if _, err := c.trustedProxies(); err != nil {
		return bad("AUTH_TRUSTED_PROXIES", err.Error())
	}
	switch {
	case c.IPRatePerMinute < 0:
		return bad("AUTH_IP_RATE_PER_MINUTE", "must be 0 (off) or a positive number of requests per minute")
	case c.IPRatePerMinute > 0 && c.IPBurst < 1:
		return bad("AUTH_IP_BURST", "must be at least 1")
	}
	if _, err := c.store(); err != nil {
		return err
	}
	if _, err := c.level(); err != nil {
		return bad("AUTH_LOG_LEVEL", "must be debug, info, warn or error")
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return bad("AUTH_LOG_FORMAT", "must be json or text")
	}
	switch {
	case c.PruneInterval < time.Second:
		return bad("AUTH_PRUNE_INTERVAL", "must be a duration of at least 1s, such as 10m")
	case c.AuditRetention < 0:
		return bad("AUTH_AUDIT_RETENTION", "must be 0 (keep forever) or a positive duration such as 2160h")
	case c.VerifyTTL < time.Minute:
		return bad("AUTH_VERIFY_TTL", "must be a duration of at least 1m, such as 24h")
	case c.ResetTTL < time.Minute || c.ResetTTL > 24*time.Hour:
		return bad("AUTH_RESET_TTL", "must be a duration from 1m to 24h, such as 30m: a reset link is a password")
	case c.MailMinInterval < time.Second || c.MailMinInterval > time.Hour:
		return bad("AUTH_MAIL_MIN_INTERVAL", "must be a duration from 1s to 1h, such as 1m")
	case c.MailGiveUp < time.Minute:
		return bad("AUTH_MAIL_GIVE_UP", "must be a duration of at least 1m, such as 24h")
	case strings.TrimSpace(c.ProductName) == "":
		return bad("AUTH_PRODUCT_NAME", "must not be empty")
	}
	if _, err := c.mailConfig().Policies(); err != nil {
		return bad("AUTH_APP_URL", "must be an absolute http(s) URL without query or fragment, such as https://app.example.com")
	}
	if err := c.checkMail(); err != nil {
		return err
	}
	if _, err := c.relyingParty(); err != nil {
		return err
	}
	return nil
}

// store is the store AUTH_DATABASE_URL and AUTH_DATA_DIR select.
func (c config) store() (storeSpec, error) { return parseStore(c.DatabaseURL, c.DataDir) }

func (c config) throttlePolicy() domain.ThrottlePolicy {
	return domain.ThrottlePolicy{FreeAttempts: c.LoginFreeAttempts, BaseDelay: c.LoginBackoffBase, MaxDelay: c.LoginBackoffMax, Window: c.LoginWindow}
}

// appConfig is the use cases' policy.
func (c config) appConfig() application.Config {
	return application.Config{
		RefreshTTL:         c.RefreshTTL,
		SessionIdleTTL:     c.SessionIdleTTL,
		SessionMaxAge:      c.SessionMaxAge,
		RefreshReuseLeeway: c.RefreshReuseLeeway,
		LoginFreeAttempts:  c.LoginFreeAttempts,
		LoginBackoffBase:   c.LoginBackoffBase,
		LoginBackoffMax:    c.LoginBackoffMax,
		LoginWindow:        c.LoginWindow,
	}
}

// mailConfig is the email flows' policy.
func (c config) mailConfig() application.MailConfig {
	return application.MailConfig{
		AppURL: c.AppURL, VerifyTTL: c.VerifyTTL, ResetTTL: c.ResetTTL,
		MinInterval: c.MailMinInterval, GiveUp: c.MailGiveUp, RequireVerifiedEmail: c.RequireVerifiedEmail,
	}
}

// trustedProxies parses AUTH_TRUSTED_PROXIES: CIDRs, or plain addresses
// meaning just that host.
func (c config) trustedProxies() ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range c.TrustedProxies {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither a CIDR nor an IP address", s)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

func (c config) level() (slog.Level, error) {
	var l slog.Level
	err := l.UnmarshalText([]byte(c.LogLevel))
	return l, err
}

// writeTimeout is the HTTP server's: an answer must be written within it.
// maxRequestTimeout leaves a request's answer time to be written after its
// work was cut at AUTH_REQUEST_TIMEOUT.
const (
	writeTimeout      = 30 * time.Second
	maxRequestTimeout = writeTimeout - 5*time.Second
)
