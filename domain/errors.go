// Package domain holds authd's entities and rules. It imports the standard
// library only: no transport, storage or crypto-library types cross into it.
package domain

import (
	"errors"
	"strings"
)

// Sentinel errors. Adapters translate their own failures into these at the
// boundary; the HTTP adapter maps them to status codes in one place.
var (
	// ErrEmailTaken: another account already uses the (case-folded) email.
	ErrEmailTaken = errors.New("email already registered")
	// ErrInvalidCredentials: unknown email or wrong password; deliberately one error.
	ErrInvalidCredentials = errors.New("invalid credentials")
	// ErrInvalidRefreshToken: unknown, malformed, expired, spent or revoked refresh token.
	ErrInvalidRefreshToken = errors.New("invalid refresh token")
	// ErrRefreshTokenReused: a spent refresh token was presented again; the
	// session has been revoked (RFC 9700 section 4.14.2). It is also an
	// ErrInvalidRefreshToken, so callers that only care about "rejected" match it.
	ErrRefreshTokenReused = reusedError{}
	// ErrInvalidToken: an access token that fails verification or whose session ended.
	ErrInvalidToken = errors.New("invalid access token")
	// ErrNotFound: a repository found no such row.
	ErrNotFound = errors.New("not found")
	// ErrUnavailable: a dependency (the store, the hashing gate) cannot answer
	// now; the request may be retried later. Never reported as bad credentials.
	ErrUnavailable = errors.New("temporarily unavailable")
	// ErrPasswordChanged: a compare-and-swap on the password hash found a
	// different hash than the one the caller verified: a password change
	// (or a concurrent rehash) committed in between, so the password the
	// caller proved may no longer be the account's. It is also an
	// ErrInvalidCredentials, so the transport answers "invalid credentials"
	// without knowing about it.
	ErrPasswordChanged = passwordChangedError{}
)

type passwordChangedError struct{}

func (passwordChangedError) Error() string        { return "credentials changed during the request" }
func (passwordChangedError) Is(target error) bool { return target == ErrInvalidCredentials }

type reusedError struct{}

func (reusedError) Error() string        { return "refresh token reused; session revoked" }
func (reusedError) Is(target error) bool { return target == ErrInvalidRefreshToken }

// Field error codes used in ValidationError.
const (
	CodeRequired = "required"
	CodeInvalid  = "invalid"
	CodeTooShort = "too_short"
	CodeTooLong  = "too_long"
)

// FieldError names one rejected input field.
type FieldError struct {
	Field   string
	Code    string
	Message string
}

// ValidationError lists every failing field of one request, so a client can
// fix them all at once.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, 0, len(e.Fields))
	for _, f := range e.Fields {
		parts = append(parts, f.Field+": "+f.Code)
	}
	return "validation failed: " + strings.Join(parts, ", ")
}

// Add records one failing field.
func (e *ValidationError) Add(field, code, message string) {
	e.Fields = append(e.Fields, FieldError{Field: field, Code: code, Message: message})
}

// Err returns e when any field failed, nil otherwise.
func (e *ValidationError) Err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// fieldError turns a single-field failure into a ValidationError.
func fieldError(field, code, message string) error {
	v := &ValidationError{}
	v.Add(field, code, message)
	return v
}

// MergeValidation appends the field errors carried by err into into. It
// returns err unchanged when err is not a *ValidationError.
func MergeValidation(into *ValidationError, err error) error {
	if err == nil {
		return nil
	}
	var v *ValidationError
	if errors.As(err, &v) {
		into.Fields = append(into.Fields, v.Fields...)
		return nil
	}
	return err
}
