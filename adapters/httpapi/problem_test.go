package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/domain"
)

type retryHint struct{ error }

func (retryHint) RetryAfter() time.Duration { return 2500 * time.Millisecond }
func (h retryHint) Unwrap() error           { return h.error }

// TestErrorTable pins what each error the handlers meet is answered and
// counted as: status, code, outcome, Retry-After and WWW-Authenticate.
func TestErrorTable(t *testing.T) {
	cases := []struct {
		err        error
		status     int
		code       string
		outcome    string
		retryAfter string
		challenge  bool
	}{
		{fieldError("limit", "limit must be a whole number"), 422, codeValidation, "invalid_request", "", false},
		{&detailError{errMalformed, "the request body is empty"}, 400, codeMalformed, "invalid_request", "", false},
		{sessions.ErrNothingToRevoke, 400, codeMalformed, "invalid_request", "", false},
		{errTooLarge, 413, codeTooLarge, "invalid_request", "", false},
		{errUnsupportedMedia, 415, codeUnsupportedMedia, "invalid_request", "", false},
		{csrfFailure("no token"), 403, codeCSRFFailed, "csrf_failed", "", false},
		{errForbidden, 403, codeForbidden, "forbidden", "", false},
		{&domain.ThrottledError{Retry: 90 * time.Second}, 429, codeRateLimited, "throttled", "90", false},
		{addressRateLimited{wait: 1500 * time.Millisecond}, 429, codeRateLimited, "rate_limited", "2", false},
		{fmt.Errorf("x: %w", domain.ErrNotFound), 404, codeNotFound, "not_found", "", false},
		{domain.ErrEmailTaken, 409, codeEmailTaken, "email_taken", "", false},
		{fmt.Errorf("login: %w", domain.ErrPasswordChanged), 401, codeBadCredentials, "invalid_credentials", "", false},
		{domain.ErrRefreshTokenReused, 401, codeBadRefresh, "reuse_detected", "", false},
		{domain.ErrInvalidRefreshToken, 401, codeBadRefresh, "invalid_refresh_token", "", false},
		{errNoBearer, 401, codeBadToken, "invalid_token", "", true},
		{fmt.Errorf("%w: expired", domain.ErrInvalidToken), 401, codeBadToken, "invalid_token", "", true},
		{retryHint{fmt.Errorf("%w: gate full", domain.ErrUnavailable)}, 503, codeUnavailable, "unavailable", "3", false},
		{fmt.Errorf("%w: postgres: %w", domain.ErrUnavailable, context.DeadlineExceeded), 503, codeUnavailable, "unavailable", "1", false},
		{context.Canceled, 503, codeUnavailable, "abandoned", "1", false},
		{errors.New("boom"), 500, codeInternal, "error", "", false},
	}
	a := &api{log: slog.New(slog.DiscardHandler)}
	for _, tc := range cases {
		t.Run(tc.err.Error(), func(t *testing.T) {
			w := httptest.NewRecorder()
			ri := &requestInfo{}
			r := httptest.NewRequest(http.MethodPost, "/v1/x", nil)
			r = r.WithContext(context.WithValue(r.Context(), requestInfoKey{}, ri))
			a.writeError(w, r, tc.err)
			var p problem
			if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil {
				t.Fatal(err)
			}
			if w.Code != tc.status || p.Status != tc.status || p.Code != tc.code || ri.outcome != tc.outcome {
				t.Errorf("got %d %q outcome %q, want %d %q outcome %q", w.Code, p.Code, ri.outcome, tc.status, tc.code, tc.outcome)
			}
			if got := w.Header().Get("Retry-After"); got != tc.retryAfter {
				t.Errorf("Retry-After %q, want %q", got, tc.retryAfter)
			}
			if got := w.Header().Get("WWW-Authenticate") != ""; got != tc.challenge {
				t.Errorf("WWW-Authenticate %q", w.Header().Get("WWW-Authenticate"))
			}
			if tc.status == 500 && p.Detail != "internal error" {
				t.Errorf("a 500 leaked its cause: %q", p.Detail)
			}
		})
	}
}
