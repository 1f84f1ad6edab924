package account

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// LiveSessions tells whether a bearer's session is still alive
// (sessions.Service).
type LiveSessions interface {
	Live(ctx context.Context, p application.Principal) (domain.Session, domain.User, error)
}

// PasswordChange replaces a logged-in user's password.
type PasswordChange struct {
	tx        ports.Transactor
	passwords ports.Passwords
	sessions  LiveSessions
	guard     *application.Guard
	hasher    ports.PasswordHasher
	clock     ports.Clock
	audit     *application.Recorder
	letters   *application.Letters // nil: no mail
}

// NewPasswordChange builds the password-change use case.
func NewPasswordChange(tx ports.Transactor, passwords ports.Passwords, sessions LiveSessions, guard *application.Guard,
	hasher ports.PasswordHasher, clock ports.Clock, audit *application.Recorder) *PasswordChange {
	return &PasswordChange{tx: tx, passwords: passwords, sessions: sessions, guard: guard, hasher: hasher, clock: clock, audit: audit}
}

// WithMail makes the change tell the owner by mail.
func (c *PasswordChange) WithMail(l *application.Letters) *PasswordChange {
	c.letters = l
	return c
}

// ChangePasswordInput is a password change by a logged-in user.
type ChangePasswordInput struct {
	Principal       application.Principal
	CurrentPassword string
	NewPassword     string
	Client          domain.ClientInfo
}

// Change replaces the caller's password and ends every other session of
// the account; the caller's session stays. The current password is
// checked under the same throttle as a login of the account's email
// (refused: *domain.ThrottledError; wrong: domain.ErrInvalidCredentials);
// the new one must pass the sign-up policy (*domain.ValidationError on
// "new_password"; a missing current password is "current_password").
//
// The swap of the hash, the revocation and the audit event are one
// transaction, and the swap happens only over the hash the current
// password was verified against: no login verified under the old password
// keeps a session, and no concurrent change is overwritten. When the hash
// changed in between (another change, or a login's rehash) the current
// password is checked once more against the stored hash.
func (c *PasswordChange) Change(ctx context.Context, in ChangePasswordInput) error {
	v := &domain.ValidationError{}
	current, err := domain.LoginPassword(in.CurrentPassword)
	if err := mergeRenamed(v, err, "current_password"); err != nil {
		return err
	}
	next, err := domain.NewPassword(in.NewPassword)
	if err := mergeRenamed(v, err, "new_password"); err != nil {
		return err
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	client := in.Client.Clean()
	_, u, err := c.sessions.Live(ctx, in.Principal)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	re := Reauth{Passwords: c.passwords, Guard: c.guard, Audit: c.audit}
	verified, err := re.Prove(ctx, u, in.Principal.SessionID, current, client, application.DetailAtPasswordChange)
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	hash, err := c.hasher.Hash(ctx, next)
	if err != nil {
		return fmt.Errorf("change password: hash password: %w", err)
	}
	err = c.swap(ctx, u, verified, hash, in.Principal.SessionID, client)
	if errors.Is(err, domain.ErrNotFound) {
		// The credential vanished since it was read: the password the
		// caller proved is not the account's any more.
		err = domain.ErrPasswordChanged
	}
	if errors.Is(err, domain.ErrPasswordChanged) {
		if verified, err = re.Recheck(ctx, u, in.Principal.SessionID, current, client, application.DetailAtPasswordChange); err != nil {
			return fmt.Errorf("change password: %w", err)
		}
		err = c.swap(ctx, u, verified, hash, in.Principal.SessionID, client)
	}
	if err != nil {
		return fmt.Errorf("change password: %w", err)
	}
	return nil
}

// swap writes hash over verified, ends the other sessions and records the
// change, together.
func (c *PasswordChange) swap(ctx context.Context, user domain.User, verified, hash string, keep domain.SessionID, client domain.ClientInfo) error {
	now := c.clock.Now()
	return c.tx.WithinTx(ctx, func(st ports.Stores) error {
		if err := st.Passwords.SwapPasswordHash(ctx, user.ID(), verified, hash, now); err != nil {
			return err
		}
		if _, err := st.Sessions.RevokeSessions(ctx, user.ID(), keep, now); err != nil {
			return err
		}
		// A link mailed before the change must not undo it: a reset, or an
		// email change someone who held the account asked for.
		if _, err := st.EmailTokens.DeleteEmailTokens(ctx, user.ID(), ""); err != nil {
			return err
		}
		if c.letters != nil {
			if err := c.letters.Notice(ctx, st, user.Email(), domain.MailPasswordChanged, ""); err != nil {
				return err
			}
		}
		return c.audit.InTx(ctx, st, domain.AuditEvent{
			At: now, Type: domain.EventPasswordChanged, UserID: user.ID(), SessionID: keep,
			Client: client, Detail: application.DetailOtherSessionsRevoked,
		})
	})
}

// mergeRenamed merges a single-field validation failure into v under the
// name field: the domain names its password field "password", the request
// has two of them.
func mergeRenamed(v *domain.ValidationError, err error, field string) error {
	var fe *domain.ValidationError
	if err == nil || !errors.As(err, &fe) {
		return err
	}
	for _, f := range fe.Fields {
		msg := f.Message
		if rest, ok := strings.CutPrefix(msg, "password"); ok {
			msg = field + rest
		}
		v.Add(field, f.Code, msg)
	}
	return nil
}
