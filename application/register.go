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
}

// Register creates an account with the default role. Every invalid field is
// reported at once; a duplicate email is domain.ErrEmailTaken, decided by the
// store's unique index, not by a racy look-up first.
func (s *Service) Register(ctx context.Context, in RegisterInput) (domain.User, error) {
	v := &domain.ValidationError{}
	email, err := domain.NewEmail(in.Email)
	if err := domain.MergeValidation(v, err); err != nil {
		return domain.User{}, err
	}
	password, err := domain.NewPassword(in.Password)
	if err := domain.MergeValidation(v, err); err != nil {
		return domain.User{}, err
	}
	in.Name = strings.TrimSpace(in.Name)
	if err := domain.MergeValidation(v, domain.ValidateName(in.Name)); err != nil {
		return domain.User{}, err
	}
	if err := v.Err(); err != nil {
		return domain.User{}, fmt.Errorf("register: %w", err)
	}

	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return domain.User{}, fmt.Errorf("register: hash password: %w", err)
	}
	u, err := domain.NewUser(s.ids.NewUserID(), email, in.Name, hash, s.clock.Now())
	if err != nil {
		return domain.User{}, fmt.Errorf("register: %w", err)
	}
	if err := s.users.CreateUser(ctx, u); err != nil {
		return domain.User{}, fmt.Errorf("register: %w", err)
	}
	return u, nil
}
