package admin

import (
	"context"
	"fmt"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// FactorRemover removes one more kind of second factor of a user inside
// the admin's transaction (passkeys), returning how many it removed.
type FactorRemover func(ctx context.Context, st ports.Stores, user domain.UserID) (int, error)

// WithFactors enables RemoveFactors over the stores' second factors, and
// any further kinds.
func (s *Service) WithFactors(more ...FactorRemover) *Service {
	s.factorRemovers = more
	s.factorsOn = true
	return s
}

// RemovedFactors is what RemoveFactors took away.
type RemovedFactors struct {
	User          domain.User
	TOTP          bool
	RecoveryCodes int
	Others        int
}

// Any reports whether anything was removed.
func (r RemovedFactors) Any() bool { return r.TOTP || r.RecoveryCodes > 0 || r.Others > 0 }

// RemoveFactors takes every second factor from an account (a user who
// lost the phone and the recovery codes, after an out-of-band identity
// check): its next login needs the password only. Audited with the acting
// administrator; the owner is told by mail. Nothing to remove is no
// change and no event.
func (s *Service) RemoveFactors(ctx context.Context, ref AccountRef, by application.Actor) (RemovedFactors, error) {
	if !s.factorsOn || s.mail.Tx == nil {
		return RemovedFactors{}, fmt.Errorf("remove factors: %w", ErrNoMail)
	}
	u, err := s.account(ctx, ref)
	if err != nil {
		return RemovedFactors{}, fmt.Errorf("remove factors: %w", err)
	}
	var out RemovedFactors
	err = s.mail.Tx.WithinTx(ctx, func(st ports.Stores) error {
		out = RemovedFactors{}
		var err error
		if out.TOTP, err = st.Factors.DeleteTOTP(ctx, u.ID()); err != nil {
			return err
		}
		if out.RecoveryCodes, err = st.Factors.DeleteRecoveryCodes(ctx, u.ID()); err != nil {
			return err
		}
		for _, remove := range s.factorRemovers {
			n, err := remove(ctx, st, u.ID())
			if err != nil {
				return err
			}
			out.Others += n
		}
		if !out.Any() {
			return nil
		}
		// The factors protected the sessions' logins: end them.
		if _, err := st.Sessions.RevokeSessions(ctx, u.ID(), "", s.clock.Now()); err != nil {
			return err
		}
		if s.mail.Letters != nil {
			if err := s.mail.Letters.Notice(ctx, st, u.Email(), domain.MailFactorRemoved, "all"); err != nil {
				return err
			}
		}
		return s.audit.InTx(ctx, st, domain.AuditEvent{
			Type: domain.EventMFADisabled, UserID: u.ID(), ActorID: by.UserID, Client: by.Client, Detail: "all second factors, by an operator",
		})
	})
	if err != nil {
		return RemovedFactors{}, fmt.Errorf("remove factors: %w", err)
	}
	s.mail.Letters.Posted()
	if out.User, err = s.users.UserByID(ctx, u.ID()); err != nil {
		return RemovedFactors{}, fmt.Errorf("remove factors: %w", err)
	}
	return out, nil
}
