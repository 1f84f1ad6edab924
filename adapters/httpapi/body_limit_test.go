package httpapi

// Regression test for a gap in the body limit that fuzzing found:
// a body announced as larger than 64 KiB but malformed near its start was
// answered 400 instead of 413. decodeJSON now refuses by Content-Length
// first.

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestBodyOverLimitIsTooLarge: API.md says a body over 64 KiB is 413
// payload_too_large. decodeJSON streams, so a body whose first bytes are
// already malformed (or a non-object, or followed by trailing data) is
// refused as 400 malformed_request before the limit is reached, however
// large the body, even with a Content-Length that announces the size.
func TestBodyOverLimitIsTooLarge(t *testing.T) {
	pad := maxBodyBytes + 1
	bodies := map[string]string{
		"object then garbage":    "{}" + strings.Repeat("x", pad),
		"syntax error at byte 1": "{x" + strings.Repeat("x", pad),
		"null then whitespace":   "null" + strings.Repeat(" ", pad),
		"two objects":            "{}{}" + strings.Repeat(" ", pad),
		"array":                  "[" + strings.Repeat(" ", pad) + "]",
	}
	for name, body := range bodies {
		t.Run(name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/v1/auth/login", bytes.NewReader([]byte(body)))
			r.Header.Set("Content-Type", "application/json")
			if r.ContentLength != int64(len(body)) {
				t.Fatalf("Content-Length %d, body %d bytes", r.ContentLength, len(body))
			}
			err := decodeJSON(httptest.NewRecorder(), r, new(loginRequest))
			if !errors.Is(err, errTooLarge) {
				t.Errorf("a %d-byte body (limit %d): err = %v, want errTooLarge (413)", len(body), maxBodyBytes, err)
			}
		})
	}
}
