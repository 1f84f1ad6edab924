package application

import (
	"context"
	"fmt"
	"strings"

	"github.com/authd/authd/domain"
)

// RegisterInput is a sign-up request as the transport received it.
type RegisterInput struct {
	Email    string
	Password string
	Name     string
	// Client is who asked, for the audit log.
	Client domain.ClientInfo
}

// Register creates an account with the default role. Every invalid field is
// reported at once; a duplicate email is domain.ErrEmailTaken, decided by the
// store's unique index, not by a racy look-up first.
func (s *Service) Register(ctx context.Context, in RegisterInput) (domain.User, error) {
	v := &domain.ValidationError{}
	acct, err := parseAccount(v, in)
	if err != nil {
		return domain.User{}, err
	}
	if err := v.Err(); err != nil {
		return domain.User{}, fmt.Errorf("register: %w", err)
	}
	u, err := s.createAccount(ctx, acct, domain.RoleUser)
	if err != nil {
		return domain.User{}, fmt.Errorf("register: %w", err)
	}
	s.record(ctx, u.CreatedAt(), domain.AuditEvent{Type: domain.EventRegistered, UserID: u.ID(), Client: in.Client})
	return u, nil
}

// account is a sign-up whose fields passed the policy.
type account struct {
	email    domain.Email
	password domain.Password
	name     string
}

// parseAccount checks every field of in, recording failures in v so that
// callers can add fields of their own before reporting them all at once.
// It returns an error only for a failure that is not a validation failure.
func parseAccount(v *domain.ValidationError, in RegisterInput) (account, error) {
	email, err := domain.NewEmail(in.Email)
	if err := domain.MergeValidation(v, err); err != nil {
		return account{}, err
	}
	password, err := domain.NewPassword(in.Password)
	if err := domain.MergeValidation(v, err); err != nil {
		return account{}, err
	}
	name := strings.TrimSpace(in.Name)
	if err := domain.MergeValidation(v, domain.ValidateName(name)); err != nil {
		return account{}, err
	}
	return account{email: email, password: password, name: name}, nil
}

// createAccount hashes the password (the expensive step, so only for input
// that passed validation) and stores the user with role.
func (s *Service) createAccount(ctx context.Context, a account, role domain.Role) (domain.User, error) {
	hash, err := s.hasher.Hash(ctx, a.password)
	if err != nil {
		return domain.User{}, fmt.Errorf("hash password: %w", err)
	}
	u, err := domain.NewUser(s.ids.NewUserID(), a.email, a.name, hash, s.clock.Now())
	if err != nil {
		return domain.User{}, err
	}
	if u, err = u.WithRole(role); err != nil {
		return domain.User{}, err
	}
	if err := s.users.CreateUser(ctx, u); err != nil {
		return domain.User{}, err
	}
	return u, nil
}
