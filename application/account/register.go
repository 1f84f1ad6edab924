// Package account runs the account's own life: sign-up and the password.
package account

import (
	"context"
	"fmt"
	"strings"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Registration creates accounts: the identity and its password credential,
// with the audit event, in one transaction.
type Registration struct {
	tx     ports.Transactor
	hasher ports.PasswordHasher
	ids    ports.IDGenerator
	clock  ports.Clock
	audit  *application.Recorder
	// letters, when set, mails every new account a verification link.
	letters *application.Letters
}

// NewRegistration builds the sign-up use case.
func NewRegistration(tx ports.Transactor, hasher ports.PasswordHasher, ids ports.IDGenerator, clock ports.Clock, audit *application.Recorder) *Registration {
	return &Registration{tx: tx, hasher: hasher, ids: ids, clock: clock, audit: audit}
}

// WithMail makes every new account get a verification mail, queued in
// the transaction that creates it.
func (r *Registration) WithMail(l *application.Letters) *Registration {
	r.letters = l
	return r
}

// RegisterInput is a sign-up request as the transport received it.
type RegisterInput struct {
	Email    string
	Password string
	Name     string
	Client   domain.ClientInfo
}

// Register creates an account with the default role. Every invalid field
// is reported at once; a duplicate email is domain.ErrEmailTaken, decided
// by the store's unique index, not by a racy look-up first.
func (r *Registration) Register(ctx context.Context, in RegisterInput) (domain.User, error) {
	v := &domain.ValidationError{}
	fields, err := ParseFields(v, in.Email, in.Password, in.Name)
	if err != nil {
		return domain.User{}, err
	}
	if err := v.Err(); err != nil {
		return domain.User{}, fmt.Errorf("register: %w", err)
	}
	u, err := r.Create(ctx, fields, domain.RoleUser, domain.AuditEvent{Type: domain.EventRegistered, Client: in.Client})
	if err != nil {
		return domain.User{}, fmt.Errorf("register: %w", err)
	}
	return u, nil
}

// Fields are the fields of a sign-up that passed the policy.
type Fields struct {
	Email    domain.Email
	Password domain.Password
	Name     string
}

// ParseFields checks a sign-up's fields, recording every failure in v so
// that callers can add fields of their own before reporting them all at
// once; it returns an error only for a failure that is not a validation.
func ParseFields(v *domain.ValidationError, email, password, name string) (Fields, error) {
	e, err := domain.NewEmail(email)
	if err := domain.MergeValidation(v, err); err != nil {
		return Fields{}, err
	}
	p, err := domain.NewPassword(password)
	if err := domain.MergeValidation(v, err); err != nil {
		return Fields{}, err
	}
	name = strings.TrimSpace(name)
	if err := domain.MergeValidation(v, domain.ValidateName(name)); err != nil {
		return Fields{}, err
	}
	return Fields{Email: e, Password: p, Name: name}, nil
}

// Create hashes the password (the expensive step, so only for fields that
// passed validation) and stores the user with role, its password and
// event (completed with the new user's id) in one transaction.
func (r *Registration) Create(ctx context.Context, f Fields, role domain.Role, event domain.AuditEvent) (domain.User, error) {
	hash, err := r.hasher.Hash(ctx, f.Password)
	if err != nil {
		return domain.User{}, fmt.Errorf("hash password: %w", err)
	}
	now := r.clock.Now()
	u, err := domain.NewUser(r.ids.NewUserID(), f.Email, f.Name, now)
	if err != nil {
		return domain.User{}, err
	}
	if u, err = u.WithRole(role); err != nil {
		return domain.User{}, err
	}
	event.At, event.UserID = u.CreatedAt(), u.ID()
	err = r.tx.WithinTx(ctx, func(st ports.Stores) error {
		if err := st.Users.CreateUser(ctx, u); err != nil {
			return err
		}
		if err := st.Passwords.SetPassword(ctx, u.ID(), hash, now); err != nil {
			return err
		}
		if r.letters != nil {
			if err := r.letters.WithToken(ctx, st, u, domain.PurposeVerifyEmail, u.Email()); err != nil {
				return err
			}
		}
		return r.audit.InTx(ctx, st, event)
	})
	if err != nil {
		return domain.User{}, err
	}
	r.letters.Posted()
	return u, nil
}
