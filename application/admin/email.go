package admin

import (
	"context"
	"fmt"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Mail gives the admin service what the email operations need; without it
// (WithMail not called) they answer ErrNoMail.
type Mail struct {
	Tx      ports.Transactor
	Letters *application.Letters
}

// ErrNoMail: the operation needs the mail outbox, which this service was
// built without.
var ErrNoMail = fmt.Errorf("admin: no mail configured")

// WithMail enables MarkEmailVerified's siblings that send mail.
func (s *Service) WithMail(m Mail) *Service {
	s.mail = m
	return s
}

// AccountRef names an account by email (the command line) or by id (the
// HTTP admin API: Email empty).
type AccountRef struct {
	Email string
	ID    string
}

func (s *Service) account(ctx context.Context, ref AccountRef) (domain.User, error) {
	if ref.ID == "" {
		e, err := domain.NewEmail(ref.Email)
		if err != nil {
			return domain.User{}, err
		}
		return s.accountByEmailOrID(ctx, e, "")
	}
	return s.accountByEmailOrID(ctx, domain.Email{}, ref.ID)
}

// MarkEmailVerified records, on an operator's word, that the account's
// email is verified, and returns the account; already verified is no
// change and no event.
func (s *Service) MarkEmailVerified(ctx context.Context, ref AccountRef, by application.Actor) (domain.User, error) {
	u, err := s.account(ctx, ref)
	if err != nil {
		return domain.User{}, fmt.Errorf("mark email verified: %w", err)
	}
	if u.EmailVerified() {
		return u, nil
	}
	now := s.clock.Now()
	if err := s.users.MarkEmailVerified(ctx, u.ID(), now); err != nil {
		return domain.User{}, fmt.Errorf("mark email verified: %w", err)
	}
	s.audit.Record(ctx, domain.AuditEvent{
		At: now, Type: domain.EventEmailVerified, UserID: u.ID(), ActorID: by.UserID, Client: by.Client, Detail: application.DetailByOperator,
	})
	return s.users.UserByID(ctx, u.ID())
}

// ResendVerification queues a fresh verification mail for the account,
// past the per-address cap (an operator asked), unless its email is
// verified already: domain.ErrEmailAlreadyVerified.
func (s *Service) ResendVerification(ctx context.Context, ref AccountRef, by application.Actor) error {
	if s.mail.Letters == nil {
		return ErrNoMail
	}
	u, err := s.account(ctx, ref)
	if err != nil {
		return fmt.Errorf("resend verification: %w", err)
	}
	if u.EmailVerified() {
		return fmt.Errorf("resend verification: %w", domain.ErrEmailAlreadyVerified)
	}
	err = s.mail.Tx.WithinTx(ctx, func(st ports.Stores) error {
		if err := s.mail.Letters.WithToken(ctx, st, u, domain.PurposeVerifyEmail, u.Email()); err != nil {
			return err
		}
		return s.audit.InTx(ctx, st, domain.AuditEvent{
			Type: domain.EventVerificationRequested, UserID: u.ID(), ActorID: by.UserID, Client: by.Client, Detail: application.DetailByOperator,
		})
	})
	if err != nil {
		return fmt.Errorf("resend verification: %w", err)
	}
	s.mail.Letters.Posted()
	return nil
}
