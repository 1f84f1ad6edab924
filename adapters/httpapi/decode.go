package httpapi

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/authd/authd/domain"
)

// Request-shape errors, raised before any use case runs.
var (
	errMalformed        = errors.New("malformed request body")
	errTooLarge         = errors.New("request body too large")
	errUnsupportedMedia = errors.New("content type must be application/json")
)

// maxBodyBytes bounds every request body (API.md: 64 KiB).
const maxBodyBytes = 64 << 10

func hasBody(r *http.Request) bool {
	return r.ContentLength > 0 || (r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody)
}

// decodeJSON reads exactly one JSON object into dst. Unknown fields are
// ignored (API.md) so clients can evolve; everything else is strict: the
// media type, the size, the syntax, the types and no trailing data.
func decodeJSON(w http.ResponseWriter, r *http.Request, dst any) error {
	mediaType, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mediaType != "application/json" {
		return errUnsupportedMedia
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") && !strings.EqualFold(cs, "utf8") {
		return errUnsupportedMedia // JSON is UTF-8 (RFC 8259); anything else would be misread
	}
	// A body announced as too large is refused before a byte is read, so the
	// answer is 413 whatever its first bytes hold. (A chunked body has no
	// length: the reader below stops it at the limit, and one malformed
	// before reaching it is 400.)
	if r.ContentLength > maxBodyBytes {
		return errTooLarge
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxBodyBytes))
	// The body must be an object: `null`, arrays and scalars are malformed,
	// not an object with every field missing.
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return classifyDecodeError(err)
	}
	if raw[0] != '{' {
		return &detailError{errMalformed, "the body must be a JSON object"}
	}
	// The decoder would turn every byte that is not UTF-8 into U+FFFD, so
	// two different passwords could become one: refuse them on the raw
	// bytes instead (JSON is UTF-8, RFC 8259).
	if !utf8.Valid(raw) {
		return &detailError{errMalformed, "the body must be valid UTF-8"}
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return classifyDecodeError(err)
	}
	// Exactly one value: anything after it but whitespace is an error.
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if err != nil {
			return classifyDecodeError(err)
		}
		return &detailError{errMalformed, "unexpected data after the JSON object"}
	}
	return nil
}

func classifyDecodeError(err error) error {
	var tooLarge *http.MaxBytesError
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &tooLarge):
		return errTooLarge
	case errors.Is(err, io.EOF):
		return &detailError{errMalformed, "the request body is empty"}
	case errors.Is(err, io.ErrUnexpectedEOF):
		return &detailError{errMalformed, "the JSON body is truncated"}
	case errors.As(err, &syntax):
		return &detailError{errMalformed, fmt.Sprintf("invalid JSON at byte %d", syntax.Offset)}
	case errors.As(err, &typeErr):
		if typeErr.Field != "" {
			return &detailError{errMalformed, fmt.Sprintf("field %q must be a %s", typeErr.Field, typeErr.Type)}
		}
		return &detailError{errMalformed, "the body must be a JSON object"}
	default:
		return &detailError{errMalformed, "the request body could not be read"}
	}
}

// queryInt parses an optional integer query parameter ("" is 0).
func queryInt(s string) (int, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, errors.New("not an integer")
	}
	return n, nil
}

// fieldError is a one-field validation failure raised by the adapter, so
// it is answered like the use cases' own (422 validation_failed).
func fieldError(field, message string) error {
	v := &domain.ValidationError{}
	v.Add(field, domain.CodeInvalid, message)
	return v.Err()
}
