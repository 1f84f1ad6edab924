package domain

import (
	"strings"
	"time"
)

// User is an identity: who someone is, not how they prove it. Credentials
// (a password today; one-time-password secrets and passkeys next) belong
// to a user and are stored apart, so an account without a password can
// exist and a second factor has a place to live.
type User struct {
	id            UserID
	email         Email
	emailVerified bool
	name          string
	role          Role
	createdAt     time.Time
	// mfaEnabled: the account has a confirmed second factor, so a password
	// alone opens no session.
	mfaEnabled bool
}

// NewUser builds a freshly registered user with the default role.
func NewUser(id UserID, email Email, name string, now time.Time) (User, error) {
	name = strings.TrimSpace(name)
	v := &ValidationError{}
	if email.IsZero() {
		v.Add("email", CodeRequired, "email is required")
	}
	if err := MergeValidation(v, ValidateName(name)); err != nil {
		return User{}, err
	}
	if err := v.Err(); err != nil {
		return User{}, err
	}
	if id == "" {
		panic("domain.NewUser: id is required")
	}
	return User{id: id, email: email, name: name, role: RoleUser, createdAt: now.UTC()}, nil
}

// RehydrateUser rebuilds a user from storage, where it was validated on the way in.
func RehydrateUser(id UserID, email Email, emailVerified bool, name string, role Role, createdAt time.Time) User {
	return User{id: id, email: email, emailVerified: emailVerified, name: name, role: role, createdAt: createdAt.UTC()}
}

func (u User) ID() UserID           { return u.id }
func (u User) Email() Email         { return u.email }
func (u User) EmailVerified() bool  { return u.emailVerified }
func (u User) Name() string         { return u.name }
func (u User) Role() Role           { return u.role }
func (u User) CreatedAt() time.Time { return u.createdAt }
func (u User) MFAEnabled() bool     { return u.mfaEnabled }

// WithMFAEnabled returns u with its second-factor flag as stored.
func (u User) WithMFAEnabled(on bool) User {
	u.mfaEnabled = on
	return u
}

// WithRole returns u with role r: a role change decided by an administrator.
// An unknown role is a *ValidationError on the field "role".
func (u User) WithRole(r Role) (User, error) {
	if _, err := ParseRole(string(r)); err != nil {
		return User{}, fieldError("role", CodeInvalid, "role must be user or admin")
	}
	u.role = r
	return u, nil
}
