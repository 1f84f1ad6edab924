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

	"github.com/authd/authd/application"
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
	codeUnavailable      = "unavailable"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeInternal         = "internal_error"
	codeCSRFFailed       = "csrf_failed"
	codeRateLimited      = "rate_limited"
)

// problem is an RFC 9457 problem details document.
type problem struct {
	Type     string       `json:"type"`
	Title    string       `json:"title"`
	Status   int          `json:"status"`
	Detail   string       `json:"detail,omitempty"`
	Code     string       `json:"code"`
	Instance string       `json:"instance,omitempty"`
	Errors   []fieldIssue `json:"errors,omitempty"`
}

type fieldIssue struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

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

// writeError is the one place that turns an error into a status and code.
// Anything it does not recognise is a 500 with a generic body; the cause is
// logged, never sent.
func (a *api) writeError(w http.ResponseWriter, r *http.Request, err error) {
	info(r).outcome = outcomeOf(err)
	var validation *domain.ValidationError
	switch {
	case errors.As(err, &validation):
		p := problem{Status: http.StatusUnprocessableEntity, Code: codeValidation, Instance: r.URL.Path,
			Detail: "one or more fields are invalid"}
		for _, f := range validation.Fields {
			p.Errors = append(p.Errors, fieldIssue(f))
		}
		writeProblemDoc(w, p)
	case errors.Is(err, errMalformed), errors.Is(err, application.ErrNothingToRevoke):
		writeProblem(w, r, http.StatusBadRequest, codeMalformed, detailOf(err))
	case errors.Is(err, errTooLarge):
		writeProblem(w, r, http.StatusRequestEntityTooLarge, codeTooLarge, "request body exceeds 64 KiB")
	case errors.Is(err, errUnsupportedMedia):
		writeProblem(w, r, http.StatusUnsupportedMediaType, codeUnsupportedMedia, "send Content-Type: application/json")
	case errors.Is(err, errCSRF):
		writeProblem(w, r, http.StatusForbidden, codeCSRFFailed, detailOf(err))
	case errors.Is(err, domain.ErrThrottled):
		setRetryAfter(w, retryAfterOf(err))
		writeProblem(w, r, http.StatusTooManyRequests, codeRateLimited, "too many failed attempts for this account; retry later")
	case errors.Is(err, domain.ErrNotFound):
		writeProblem(w, r, http.StatusNotFound, codeNotFound, "no such resource")
	case errors.Is(err, domain.ErrEmailTaken):
		writeProblem(w, r, http.StatusConflict, codeEmailTaken, "an account with this email already exists")
	case errors.Is(err, domain.ErrInvalidCredentials):
		writeProblem(w, r, http.StatusUnauthorized, codeBadCredentials, "email or password is incorrect")
	case errors.Is(err, domain.ErrInvalidRefreshToken):
		if errors.Is(err, domain.ErrRefreshTokenReused) {
			a.log.WarnContext(r.Context(), "refresh token reuse detected; session revoked")
		}
		writeProblem(w, r, http.StatusUnauthorized, codeBadRefresh, "the refresh token is invalid, expired or revoked")
	case errors.Is(err, domain.ErrInvalidToken):
		a.log.DebugContext(r.Context(), "access token rejected", slog.String("reason", err.Error()))
		w.Header().Set("WWW-Authenticate", `Bearer realm="authd", error="invalid_token", error_description="the access token is invalid or expired"`)
		writeProblem(w, r, http.StatusUnauthorized, codeBadToken, "the access token is invalid or expired")
	case errors.Is(err, domain.ErrUnavailable):
		setRetryAfter(w, retryAfterOf(err))
		a.log.WarnContext(r.Context(), "unavailable", slog.String("error", err.Error()))
		writeProblem(w, r, http.StatusServiceUnavailable, codeUnavailable, "the service is busy or a dependency is down; retry later")
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		// The client went away or the request ran out of time while queued;
		// nobody may be listening, and it is not a server fault.
		a.log.InfoContext(r.Context(), "request abandoned", slog.String("error", err.Error()))
		setRetryAfter(w, time.Second)
		writeProblem(w, r, http.StatusServiceUnavailable, codeUnavailable, "the request was cancelled or timed out; retry later")
	default:
		a.log.ErrorContext(r.Context(), "internal error", slog.String("error", err.Error()))
		writeProblem(w, r, http.StatusInternalServerError, codeInternal, "internal error")
	}
}

// detailOf exposes only this adapter's own request-shape messages.
func detailOf(err error) string {
	var d *detailError
	if errors.As(err, &d) {
		return d.detail
	}
	if errors.Is(err, application.ErrNothingToRevoke) {
		return "send a refresh_token in the body or an Authorization: Bearer header"
	}
	return "the request body is not valid JSON of the expected shape"
}

// detailError carries a client-safe explanation alongside a sentinel.
type detailError struct {
	kind   error
	detail string
}

func (e *detailError) Error() string { return e.kind.Error() + ": " + e.detail }
func (e *detailError) Unwrap() error { return e.kind }

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
