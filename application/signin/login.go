package signin

import (
	"context"
	"errors"
	"fmt"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
)

// SessionOpener opens a session for a completed authentication
// (sessions.Service). It refuses with domain.ErrPasswordChanged when the
// password hash the authentication was proven against is no longer the
// account's.
type SessionOpener interface {
	Open(ctx context.Context, auth domain.Authentication, client domain.ClientInfo) (application.TokenPair, error)
}

// Login is sign-in with email and password: prove the password, open the
// session.
type Login struct {
	password *Password
	sessions SessionOpener
	// requireVerified refuses accounts whose email is not verified.
	requireVerified bool
	// mfa challenges accounts with a second factor; nil: none has one.
	mfa *SecondFactor
}

// WithSecondFactor makes the login of an account with a second factor
// answer with its challenge (a *domain.MFAChallengeIssued) instead of a
// session.
func (l *Login) WithSecondFactor(s *SecondFactor) *Login {
	l.mfa = s
	return l
}

// RequireVerifiedEmail makes the right password of an account whose email
// is not verified answer domain.ErrEmailNotVerified instead of a session.
// A wrong password is still domain.ErrInvalidCredentials: the refusal
// tells only the owner anything.
func (l *Login) RequireVerifiedEmail(on bool) *Login {
	l.requireVerified = on
	return l
}

// NewLogin chains the password factor to a session opener.
func NewLogin(password *Password, sessions SessionOpener) *Login {
	return &Login{password: password, sessions: sessions}
}

// LoginInput is a login request as the transport received it.
type LoginInput struct {
	Email    string
	Password string
	Client   domain.ClientInfo
}

// Login checks the credentials and opens a session (see Password.Prove
// for what it refuses and how).
func (l *Login) Login(ctx context.Context, in LoginInput) (application.TokenPair, error) {
	v := &domain.ValidationError{}
	email, err := domain.NewEmail(in.Email)
	if err := domain.MergeValidation(v, err); err != nil {
		return application.TokenPair{}, err
	}
	password, err := domain.LoginPassword(in.Password)
	if err := domain.MergeValidation(v, err); err != nil {
		return application.TokenPair{}, err
	}
	if err := v.Err(); err != nil {
		return application.TokenPair{}, fmt.Errorf("login: %w", err)
	}
	client := in.Client.Clean()
	auth, err := l.password.Prove(ctx, email, password, client)
	if err != nil {
		return application.TokenPair{}, fmt.Errorf("login: %w", err)
	}
	if l.requireVerified && !auth.User().EmailVerified() {
		return application.TokenPair{}, fmt.Errorf("login: %w", domain.ErrEmailNotVerified)
	}
	if l.mfa != nil && auth.User().MFAEnabled() {
		return application.TokenPair{}, fmt.Errorf("login: %w", l.mfa.Challenge(ctx, auth))
	}
	pair, err := l.sessions.Open(ctx, auth, client)
	if errors.Is(err, domain.ErrPasswordChanged) {
		// The hash changed after the check: another login's rehash of the
		// same password, or a real change. One more check tells them apart.
		if auth, err = l.password.Recheck(ctx, auth, password, client); err != nil {
			return application.TokenPair{}, fmt.Errorf("login: %w", err)
		}
		pair, err = l.sessions.Open(ctx, auth, client)
	}
	if err != nil {
		return application.TokenPair{}, fmt.Errorf("login: %w", err)
	}
	return pair, nil
}
