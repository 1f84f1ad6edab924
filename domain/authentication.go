package domain

import (
	"slices"
	"strings"
	"time"
)

// AuthMethod is a way a user proved who they are, named by its RFC 8176
// "amr" value.
type AuthMethod string

// The methods authd knows. Each sign-in method adds the value of the
// factor it proved.
const (
	MethodPassword AuthMethod = "pwd"
)

// Authentication is the outcome of proving one or more factors: who, how
// and when. Opening a session takes one, so every way of signing in ends
// in the same place, and a second factor is one more method in the list.
type Authentication struct {
	user    User
	methods []AuthMethod
	at      time.Time
	// passwordHash is the stored hash a password factor was checked
	// against: a session opens only while it is still the account's, so a
	// password change committed after the check cannot be outrun.
	passwordHash string
}

// NewAuthentication records that user proved methods at at.
func NewAuthentication(user User, at time.Time, methods ...AuthMethod) Authentication {
	return Authentication{user: user, methods: slices.Clone(methods), at: at.UTC()}
}

// WithPasswordHash returns a with the hash its password factor was
// verified against.
func (a Authentication) WithPasswordHash(hash string) Authentication {
	a.passwordHash = hash
	return a
}

func (a Authentication) User() User            { return a.user }
func (a Authentication) Methods() []AuthMethod { return slices.Clone(a.methods) }
func (a Authentication) At() time.Time         { return a.at }
func (a Authentication) PasswordHash() string  { return a.passwordHash }
func (a Authentication) IsZero() bool          { return a.user.id == "" }

// FormatMethods is the storable form of methods: their values joined by
// commas (RFC 8176 values contain none).
func FormatMethods(methods []AuthMethod) string {
	s := make([]string, len(methods))
	for i, m := range methods {
		s[i] = string(m)
	}
	return strings.Join(s, ",")
}

// ParseMethods reverses FormatMethods.
func ParseMethods(s string) []AuthMethod {
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ",")
	out := make([]AuthMethod, len(parts))
	for i, p := range parts {
		out[i] = AuthMethod(p)
	}
	return out
}

// String and GoString keep the password hash out of logs and %v.
func (a Authentication) String() string {
	return "Authentication{user: " + string(a.user.id) + ", methods: " + FormatMethods(a.methods) + "}"
}

func (a Authentication) GoString() string { return a.String() }
