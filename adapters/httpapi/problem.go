package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Stable problem codes: clients switch on these, never on titles.
const (
	codeMalformed        = "malformed_request"
	codeTooLarge         = "payload_too_large"
	codeUnsupportedMedia = "unsupported_media_type"
	codeValidation       = "validation_failed"
	codeEmailTaken       = "email_taken"
	codeBadCredentials   = "invalid_credentials"
	codeBadRefresh       = "invalid_refresh_token"
	codeBadToken         = "invalid_token"
	codeForbidden        = "forbidden"
	codeUnavailable      = "unavailable"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeInternal         = "internal_error"
	codeCSRFFailed       = "csrf_failed"
	codeRateLimited      = "rate_limited"
	codeBadEmailToken    = "invalid_email_token"
	codeNotVerified      = "email_not_verified"
	codeAlreadyVerified  = "email_already_verified"
	codeMFARequired      = "mfa_required"
	codeBadMFAToken      = "invalid_mfa_token"
	codeBadMFACode       = "invalid_mfa_code"
	codeMFAState         = "mfa_state_conflict"
	codeBadCeremony      = "invalid_ceremony"
	codePasskeyRejected  = "passkey_rejected"
	codePasskeyExists    = "passkey_exists"
	codeReauth           = "reauthentication_required"
)

// outcomeSuccess is the operations counter's outcome for a request that
// met no error.
const outcomeSuccess = "success"

// errorClass is how one kind of error is answered and counted.
type errorClass struct {
	is     func(error) bool
	status int
	code   string
	// detail is sent unless the error carries its own (detailError).
	detail string
	// outcome is the operations counter's name for the failure: a handful
	// of stable names, so dashboards can tell attacks (bad credentials,
	// reuse) from overload and from faults.
	outcome string
	// retry sends Retry-After: the error's hint (ports.RetryAfter), else 1s.
	retry bool
	// challenge is the WWW-Authenticate header to send, if any.
	challenge string
	log       *logRule // nil: not logged
}

// logRule: log msg at level, with the error's text under key ("" for none).
type logRule struct {
	level    slog.Level
	msg, key string
}

// errorTable is the one place that turns an error into a status, a code
// and an outcome. Rows are tried in order and the first match answers;
// the order matters only for errors that match two rows: a reused refresh
// token is also an invalid one, and an unavailable store may wrap a
// context error.
var errorTable = []errorClass{
	{is: isA[*domain.ValidationError], status: http.StatusUnprocessableEntity, code: codeValidation,
		detail: "one or more fields are invalid", outcome: "invalid_request"},
	{is: sentinel(errMalformed), status: http.StatusBadRequest, code: codeMalformed,
		detail: "the request body is not valid JSON of the expected shape", outcome: "invalid_request"},
	{is: sentinel(sessions.ErrNothingToRevoke), status: http.StatusBadRequest, code: codeMalformed,
		detail: "send a refresh_token in the body or an Authorization: Bearer header", outcome: "invalid_request"},
	{is: sentinel(errTooLarge), status: http.StatusRequestEntityTooLarge, code: codeTooLarge,
		detail: "request body exceeds 64 KiB", outcome: "invalid_request"},
	{is: sentinel(errUnsupportedMedia), status: http.StatusUnsupportedMediaType, code: codeUnsupportedMedia,
		detail: "send Content-Type: application/json", outcome: "invalid_request"},
	{is: sentinel(errCSRF), status: http.StatusForbidden, code: codeCSRFFailed,
		detail: "the request lacks valid CSRF proof", outcome: "csrf_failed"},
	{is: sentinel(errForbidden), status: http.StatusForbidden, code: codeForbidden,
		detail: "this endpoint needs the admin role", outcome: "forbidden"},
	{is: sentinel(domain.ErrThrottled), status: http.StatusTooManyRequests, code: codeRateLimited,
		detail: "too many failed attempts for this account; retry later", outcome: "throttled", retry: true},
	{is: isA[addressRateLimited], status: http.StatusTooManyRequests, code: codeRateLimited,
		detail: "too many requests from this address; retry later", outcome: "rate_limited", retry: true},
	{is: sentinel(domain.ErrInvalidEmailToken), status: http.StatusBadRequest, code: codeBadEmailToken,
		detail: "the link is invalid, expired or already used; ask for a new one", outcome: "invalid_email_token"},
	{is: sentinel(domain.ErrEmailNotVerified), status: http.StatusForbidden, code: codeNotVerified,
		detail: "verify the account's email first: follow the link we mailed, or ask for a new one", outcome: "email_not_verified"},
	{is: sentinel(domain.ErrEmailAlreadyVerified), status: http.StatusConflict, code: codeAlreadyVerified,
		detail: "the account's email is verified already", outcome: "email_already_verified"},
	{is: sentinel(domain.ErrMFARequired), status: http.StatusForbidden, code: codeMFARequired,
		detail: "the password is right; answer the challenge with a second factor at /v1/auth/mfa/verify", outcome: "mfa_required"},
	{is: sentinel(domain.ErrInvalidMFAToken), status: http.StatusUnauthorized, code: codeBadMFAToken,
		detail: "the mfa_token is invalid, expired, used or dead after too many wrong codes; log in again", outcome: "invalid_mfa_token"},
	{is: sentinel(domain.ErrInvalidMFACode), status: http.StatusUnauthorized, code: codeBadMFACode,
		detail: "the code is wrong or was used already", outcome: "invalid_mfa_code"},
	{is: sentinel(domain.ErrMFAState), status: http.StatusConflict, code: codeMFAState,
		detail: "the second factor is not in a state that allows this (already on, not on, or nothing to confirm)", outcome: "mfa_state_conflict"},
	{is: sentinel(domain.ErrInvalidCeremony), status: http.StatusBadRequest, code: codeBadCeremony,
		detail: "the passkey ceremony is unknown, used, expired or not yours; begin again", outcome: "invalid_ceremony"},
	{is: sentinel(domain.ErrPasskeyRejected), status: http.StatusUnauthorized, code: codePasskeyRejected,
		detail: "the passkey was not accepted", outcome: "passkey_rejected",
		log: &logRule{slog.LevelInfo, "passkey rejected", "reason"}},
	{is: sentinel(domain.ErrPasskeyExists), status: http.StatusConflict, code: codePasskeyExists,
		detail: "this passkey is registered already", outcome: "passkey_exists"},
	{is: sentinel(domain.ErrReauthRequired), status: http.StatusForbidden, code: codeReauth,
		detail: "sign in again (within the last 10 minutes) to do this", outcome: "reauthentication_required"},
	{is: sentinel(domain.ErrSecretsUnavailable), status: http.StatusServiceUnavailable, code: codeUnavailable,
		detail: "second factors are not available on this server (no data key configured)", outcome: "unavailable",
		log: &logRule{slog.LevelError, "second factor needs the data key", "error"}},
	{is: sentinel(domain.ErrNotFound), status: http.StatusNotFound, code: codeNotFound,
		detail: "no such resource", outcome: "not_found"},
	{is: sentinel(domain.ErrEmailTaken), status: http.StatusConflict, code: codeEmailTaken,
		detail: "an account with this email already exists", outcome: "email_taken"},
	{is: sentinel(domain.ErrInvalidCredentials), status: http.StatusUnauthorized, code: codeBadCredentials,
		detail: "email or password is incorrect", outcome: "invalid_credentials"},
	{is: sentinel(domain.ErrRefreshTokenReused), status: http.StatusUnauthorized, code: codeBadRefresh,
		detail: "the refresh token is invalid, expired or revoked", outcome: "reuse_detected",
		log: &logRule{slog.LevelWarn, "refresh token reuse detected; session revoked", ""}},
	{is: sentinel(domain.ErrInvalidRefreshToken), status: http.StatusUnauthorized, code: codeBadRefresh,
		detail: "the refresh token is invalid, expired or revoked", outcome: "invalid_refresh_token"},
	// RFC 6750 section 3.1: no error code when no credentials were sent.
	{is: sentinel(errNoBearer), status: http.StatusUnauthorized, code: codeBadToken,
		detail: "an Authorization: Bearer access token is required", outcome: "invalid_token",
		challenge: `Bearer realm="authd"`},
	{is: sentinel(domain.ErrInvalidToken), status: http.StatusUnauthorized, code: codeBadToken,
		detail: "the access token is invalid or expired", outcome: "invalid_token",
		challenge: `Bearer realm="authd", error="invalid_token", error_description="the access token is invalid or expired"`,
		log:       &logRule{slog.LevelDebug, "access token rejected", "reason"}},
	{is: sentinel(domain.ErrUnavailable), status: http.StatusServiceUnavailable, code: codeUnavailable,
		detail: "the service is busy or a dependency is down; retry later", outcome: "unavailable", retry: true,
		log: &logRule{slog.LevelWarn, "unavailable", "error"}},
	// The client went away or the request ran out of time while queued:
	// nobody may be listening, and it is not a server fault.
	{is: sentinel(context.Canceled, context.DeadlineExceeded), status: http.StatusServiceUnavailable, code: codeUnavailable,
		detail: "the request was cancelled or timed out; retry later", outcome: "abandoned", retry: true,
		log: &logRule{slog.LevelInfo, "request abandoned", "error"}},
}

// internalError answers whatever the table does not know: a generic body;
// the cause is logged, never sent.
var internalError = errorClass{status: http.StatusInternalServerError, code: codeInternal,
	detail: "internal error", outcome: "error", log: &logRule{slog.LevelError, "internal error", "error"}}

func classify(err error) errorClass {
	for _, c := range errorTable {
		if c.is(err) {
			return c
		}
	}
	return internalError
}

func sentinel(targets ...error) func(error) bool {
	return func(err error) bool {
		for _, t := range targets {
			if errors.Is(err, t) {
				return true
			}
		}
		return false
	}
}

func isA[T error](err error) bool {
	var target T
	return errors.As(err, &target)
}

// writeError answers err as its row of errorTable says, and records the
// row's outcome for the operations counter.
func (a *api) writeError(w http.ResponseWriter, r *http.Request, err error) {
	c := classify(err)
	info(r).outcome = c.outcome
	if c.log != nil {
		var attrs []slog.Attr
		if c.log.key != "" {
			attrs = append(attrs, slog.String(c.log.key, err.Error()))
		}
		a.log.LogAttrs(r.Context(), c.log.level, c.log.msg, attrs...)
	}
	if c.retry {
		setRetryAfter(w, retryAfterOf(err))
	}
	if c.challenge != "" {
		w.Header().Set("WWW-Authenticate", c.challenge)
	}
	p := problem{Status: c.status, Code: c.code, Detail: c.detail, Instance: r.URL.Path}
	var d *detailError
	if errors.As(err, &d) {
		p.Detail = d.detail
	}
	var challenge *domain.MFAChallengeIssued
	if errors.As(err, &challenge) {
		p.MFAToken, p.Methods = challenge.Token, challenge.Methods
	}
	var validation *domain.ValidationError
	if errors.As(err, &validation) {
		for _, f := range validation.Fields {
			p.Errors = append(p.Errors, fieldIssue(f))
		}
	}
	writeProblemDoc(w, p)
}

// detailError carries a client-safe explanation, written by this adapter,
// alongside a sentinel.
type detailError struct {
	kind   error
	detail string
}

func (e *detailError) Error() string { return e.kind.Error() + ": " + e.detail }
func (e *detailError) Unwrap() error { return e.kind }

// problem is an RFC 9457 problem details document.
type problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Code     string       `json:"code"`
	Instance string       `json:"instance,omitempty"`
	Errors   []fieldIssue `json:"errors,omitempty"`
	// MFAToken and Methods extend mfa_required: the challenge to answer
	// and the factors that can answer it.
	MFAToken string   `json:"mfa_token,omitempty"`
	Methods  []string `json:"methods,omitempty"`
}

type fieldIssue struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

// writeProblem answers a problem that is no error of a request's own (no
// route, a panic, a probe): such answers count no outcome.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, code, detail string) {
	writeProblemDoc(w, problem{Status: status, Code: code, Detail: detail, Instance: r.URL.Path})
}

func writeProblemDoc(w http.ResponseWriter, p problem) {
	p.Type = "urn:authd:problem:" + p.Code
	p.Title = http.StatusText(p.Status)
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

// retryAfterOf is the retry hint an error carries (ports.RetryAfter), or
// one second when it carries none.
func retryAfterOf(err error) time.Duration {
	var retry ports.RetryAfter
	if errors.As(err, &retry) {
		return retry.RetryAfter()
	}
	return time.Second
}

// setRetryAfter sets Retry-After to d in whole seconds, rounded up, at
// least 1.
func setRetryAfter(w http.ResponseWriter, d time.Duration) {
	w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(max(d, time.Second).Seconds()))))
}
