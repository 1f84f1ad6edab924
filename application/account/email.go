package account

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// The audit details of the email flows.
const (
	DetailAtEmailChange = "email change"
	DetailByResetLink   = "password reset by email link"
)

// Verification proves that an account's owner reads its email.
type Verification struct {
	tx      ports.Transactor
	letters *application.Letters
	clock   ports.Clock
	audit   *application.Recorder
}

// NewVerification builds the email verification use case.
func NewVerification(tx ports.Transactor, letters *application.Letters, clock ports.Clock, audit *application.Recorder) *Verification {
	return &Verification{tx: tx, letters: letters, clock: clock, audit: audit}
}

// AddressInput is a request that names an address: the answer must not
// tell whether an account has it.
type AddressInput struct {
	Email  string
	Client domain.ClientInfo
}

// Send queues a verification mail for the account with that address, if
// there is one, its email is not verified yet, and the address has not had
// its share of mails (domain.MailCap). Every one of these cases answers
// the same: nil. Only a malformed address (*domain.ValidationError) or a
// store failure is an error.
func (v *Verification) Send(ctx context.Context, in AddressInput) error {
	err := requestMail(ctx, v.tx, v.letters, in.Email, domain.PurposeVerifyEmail, func(st ports.Stores, u domain.User) (bool, error) {
		if u.EmailVerified() {
			return false, nil
		}
		return true, v.audit.InTx(ctx, st, domain.AuditEvent{Type: domain.EventVerificationRequested, UserID: u.ID(), Client: in.Client})
	})
	if err != nil {
		return fmt.Errorf("send verification: %w", err)
	}
	return nil
}

// requestMail is the shape of the "mail me a link" requests, built so that
// an address with an account and one without cost the same store work up
// to the last step: one transaction that takes the address's mail cap and
// looks the account up, whether or not the account exists. Only then,
// for an account that wants it (want), are the token and its mail added
// to the same transaction.
func requestMail(ctx context.Context, tx ports.Transactor, letters *application.Letters, raw string, purpose domain.EmailTokenPurpose,
	want func(ports.Stores, domain.User) (bool, error)) error {
	addr, err := domain.NewEmail(raw)
	if err != nil {
		return err
	}
	queued := false
	err = tx.WithinTx(ctx, func(st ports.Stores) error {
		queued = false
		admitted, err := letters.Admit(ctx, st, addr, purpose)
		if err != nil {
			return err
		}
		u, err := st.Users.UserByEmail(ctx, addr)
		switch {
		case errors.Is(err, domain.ErrNotFound):
			return nil
		case err != nil:
			return err
		case !admitted:
			return nil
		}
		ok, err := want(st, u)
		if err != nil || !ok {
			return err
		}
		queued = true
		return letters.WithToken(ctx, st, u, purpose, u.Email())
	})
	if err != nil {
		return err
	}
	if queued {
		letters.Posted()
	}
	return nil
}

// Verify uses a verification token: the account's email is verified.
// Every unusable token is domain.ErrInvalidEmailToken.
func (v *Verification) Verify(ctx context.Context, token string, client domain.ClientInfo) (domain.User, error) {
	h, err := domain.ParseEmailToken(token, domain.PurposeVerifyEmail)
	if err != nil {
		return domain.User{}, fmt.Errorf("verify email: %w", err)
	}
	var u domain.User
	err = v.tx.WithinTx(ctx, func(st ports.Stores) error {
		var t domain.EmailToken
		if t, u, err = useToken(ctx, st, h, v.clock.Now()); err != nil {
			return err
		}
		if t.Email.Key() != u.Email().Key() {
			// Sent to an address the account has left since.
			return domain.ErrInvalidEmailToken
		}
		if err := st.Users.MarkEmailVerified(ctx, u.ID(), v.clock.Now()); err != nil {
			return err
		}
		if u, err = st.Users.UserByID(ctx, u.ID()); err != nil {
			return err
		}
		return v.audit.InTx(ctx, st, domain.AuditEvent{Type: domain.EventEmailVerified, UserID: u.ID(), Client: client})
	})
	if err != nil {
		return domain.User{}, fmt.Errorf("verify email: %w", err)
	}
	return u, nil
}

// useToken spends the token with digest h inside st and returns it with
// its user; a token unknown, spent or expired is
// domain.ErrInvalidEmailToken. The caller's transaction rolls the use
// back if it fails.
func useToken(ctx context.Context, st ports.Stores, h domain.EmailTokenHash, now time.Time) (domain.EmailToken, domain.User, error) {
	t, err := st.EmailTokens.UseEmailToken(ctx, h)
	if errors.Is(err, domain.ErrNotFound) {
		return t, domain.User{}, domain.ErrInvalidEmailToken
	}
	if err != nil {
		return t, domain.User{}, err
	}
	if !t.Usable(now) {
		return t, domain.User{}, domain.ErrInvalidEmailToken
	}
	u, err := st.Users.UserByID(ctx, t.UserID)
	if errors.Is(err, domain.ErrNotFound) {
		return t, u, domain.ErrInvalidEmailToken
	}
	return t, u, err
}

// PasswordReset recovers an account by email: forgot, then reset.
type PasswordReset struct {
	tx       ports.Transactor
	tokens   ports.EmailTokens
	throttle ports.LoginThrottle
	hasher   ports.PasswordHasher
	letters  *application.Letters
	clock    ports.Clock
	audit    *application.Recorder
}

// NewPasswordReset builds the password reset use case.
func NewPasswordReset(tx ports.Transactor, tokens ports.EmailTokens, throttle ports.LoginThrottle, hasher ports.PasswordHasher,
	letters *application.Letters, clock ports.Clock, audit *application.Recorder) *PasswordReset {
	return &PasswordReset{tx: tx, tokens: tokens, throttle: throttle, hasher: hasher, letters: letters, clock: clock, audit: audit}
}

// Forgot queues a reset mail for the account with that address, if there
// is one and the cap allows; it answers the same either way (see
// Verification.Send).
func (r *PasswordReset) Forgot(ctx context.Context, in AddressInput) error {
	err := requestMail(ctx, r.tx, r.letters, in.Email, domain.PurposeResetPassword, func(st ports.Stores, u domain.User) (bool, error) {
		return true, r.audit.InTx(ctx, st, domain.AuditEvent{Type: domain.EventPasswordResetRequested, UserID: u.ID(), Client: in.Client})
	})
	if err != nil {
		return fmt.Errorf("forgot password: %w", err)
	}
	return nil
}

// ResetInput is a new password with the token that allows it.
type ResetInput struct {
	Token    string
	Password string
	Client   domain.ClientInfo
}

// Reset sets a new password with a reset token, and with it: every
// session of the account ends, every other reset token dies, the login
// throttle of the account is cleared, the address counts as verified (the
// link proved it) and the owner is told by mail. The new password must
// pass the sign-up policy (*domain.ValidationError on "password", checked
// first: a token is not spent on a password that would be refused); an
// unusable token is domain.ErrInvalidEmailToken, found before any hashing.
func (r *PasswordReset) Reset(ctx context.Context, in ResetInput) error {
	password, err := domain.NewPassword(in.Password)
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	h, err := domain.ParseEmailToken(in.Token, domain.PurposeResetPassword)
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	// A look before the expensive hash, so that guessing tokens costs us
	// no hashing; the transaction below decides.
	if t, err := r.tokens.EmailToken(ctx, h); errors.Is(err, domain.ErrNotFound) || (err == nil && !t.Usable(r.clock.Now())) {
		return fmt.Errorf("reset password: %w", domain.ErrInvalidEmailToken)
	} else if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	hash, err := r.hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("reset password: hash password: %w", err)
	}
	var u domain.User
	err = r.tx.WithinTx(ctx, func(st ports.Stores) error {
		now := r.clock.Now()
		var t domain.EmailToken
		if t, u, err = useToken(ctx, st, h, now); err != nil {
			return err
		}
		if err := st.Passwords.SetPassword(ctx, u.ID(), hash, now); err != nil {
			return err
		}
		// Every other link dies: other resets, and a pending email change
		// someone who held the account may have asked for.
		if _, err := st.EmailTokens.DeleteEmailTokens(ctx, u.ID(), ""); err != nil {
			return err
		}
		if _, err := st.Sessions.RevokeSessions(ctx, u.ID(), "", now); err != nil {
			return err
		}
		if !u.EmailVerified() {
			// The address was never proven before: whoever signed up with
			// it may not be its owner, who is recovering it now. Second
			// factors added before are theirs, not the owner's: they go.
			if err := removeFactors(ctx, st, u.ID()); err != nil {
				return err
			}
		}
		if t.Email.Key() == u.Email().Key() && !u.EmailVerified() {
			if err := st.Users.MarkEmailVerified(ctx, u.ID(), now); err != nil {
				return err
			}
		}
		if err := r.letters.Notice(ctx, st, u.Email(), domain.MailPasswordChanged, ""); err != nil {
			return err
		}
		return r.audit.InTx(ctx, st, domain.AuditEvent{
			Type: domain.EventPasswordReset, UserID: u.ID(), Client: in.Client, Detail: DetailByResetLink,
		})
	})
	if err != nil {
		return fmt.Errorf("reset password: %w", err)
	}
	r.letters.Posted()
	// The owner proved the mailbox: a lock an attacker's guesses put on
	// the account goes. Best effort: the reset itself has committed.
	if r.throttle != nil {
		_ = r.throttle.ResetLoginAttempts(context.WithoutCancel(ctx), domain.ThrottleKeyFor(u.Email()))
	}
	return nil
}

// removeFactors takes every second factor from user inside st.
func removeFactors(ctx context.Context, st ports.Stores, user domain.UserID) error {
	if _, err := st.Factors.DeleteTOTP(ctx, user); err != nil {
		return err
	}
	if _, err := st.Factors.DeleteRecoveryCodes(ctx, user); err != nil {
		return err
	}
	_, err := st.Passkeys.DeletePasskeys(ctx, user)
	return err
}

// EmailChange moves an account to another address, once the new address
// confirms.
type EmailChange struct {
	tx       ports.Transactor
	users    ports.Users
	sessions LiveSessions
	reauth   Reauth
	letters  *application.Letters
	clock    ports.Clock
	audit    *application.Recorder
}

// NewEmailChange builds the email change use case.
func NewEmailChange(tx ports.Transactor, users ports.Users, passwords ports.Passwords, sessions LiveSessions, guard *application.Guard,
	letters *application.Letters, clock ports.Clock, audit *application.Recorder) *EmailChange {
	return &EmailChange{
		tx: tx, users: users, sessions: sessions, reauth: Reauth{Passwords: passwords, Guard: guard, Audit: audit},
		letters: letters, clock: clock, audit: audit,
	}
}

// ChangeEmailInput is a logged-in user's request to move to Email.
type ChangeEmailInput struct {
	Principal application.Principal
	Email     string
	Password  string
	Client    domain.ClientInfo
}

// Request checks the password (see Reauth) and mails a confirmation link
// to the new address; nothing changes until it is used. An address
// another account has is domain.ErrEmailTaken; the account's own address
// is a validation error. A new request replaces an earlier one's link.
// Past the new address's mail cap nothing is sent, and the answer is the
// same.
func (c *EmailChange) Request(ctx context.Context, in ChangeEmailInput) error {
	v := &domain.ValidationError{}
	addr, err := domain.NewEmail(in.Email)
	if err := domain.MergeValidation(v, err); err != nil {
		return err
	}
	password, err := domain.LoginPassword(in.Password)
	if err := domain.MergeValidation(v, err); err != nil {
		return err
	}
	if err := v.Err(); err != nil {
		return fmt.Errorf("change email: %w", err)
	}
	client := in.Client.Clean()
	_, u, err := c.sessions.Live(ctx, in.Principal)
	if err != nil {
		return fmt.Errorf("change email: %w", err)
	}
	if addr.Key() == u.Email().Key() {
		v.Add("email", domain.CodeInvalid, "email is already the account's address")
		return fmt.Errorf("change email: %w", v)
	}
	if _, err := c.reauth.Prove(ctx, u, in.Principal.SessionID, password, client, DetailAtEmailChange); err != nil {
		return fmt.Errorf("change email: %w", err)
	}
	if _, err := c.users.UserByEmail(ctx, addr); err == nil {
		return fmt.Errorf("change email: %w", domain.ErrEmailTaken)
	} else if !errors.Is(err, domain.ErrNotFound) {
		return fmt.Errorf("change email: %w", err)
	}
	queued := false
	err = c.tx.WithinTx(ctx, func(st ports.Stores) error {
		queued = false
		ok, err := c.letters.Admit(ctx, st, addr, domain.PurposeChangeEmail)
		if err != nil || !ok {
			return err
		}
		if _, err := st.EmailTokens.DeleteEmailTokens(ctx, u.ID(), domain.PurposeChangeEmail); err != nil {
			return err
		}
		if err := c.letters.WithToken(ctx, st, u, domain.PurposeChangeEmail, addr); err != nil {
			return err
		}
		queued = true
		return c.audit.InTx(ctx, st, domain.AuditEvent{
			Type: domain.EventEmailChangeRequested, UserID: u.ID(), SessionID: in.Principal.SessionID, Client: client,
		})
	})
	if err != nil {
		return fmt.Errorf("change email: %w", err)
	}
	if queued {
		c.letters.Posted()
	}
	return nil
}

// Confirm applies an email change with the token mailed to the new
// address: the account moves there, verified; the old address is told;
// every other email token of the account dies (they were sent to the old
// address). An address another account took meanwhile is
// domain.ErrEmailTaken, decided by the store's unique index, and the
// token stays for another try.
func (c *EmailChange) Confirm(ctx context.Context, token string, client domain.ClientInfo) (domain.User, error) {
	h, err := domain.ParseEmailToken(token, domain.PurposeChangeEmail)
	if err != nil {
		return domain.User{}, fmt.Errorf("confirm email change: %w", err)
	}
	var u domain.User
	err = c.tx.WithinTx(ctx, func(st ports.Stores) error {
		now := c.clock.Now()
		t, old, err := useToken(ctx, st, h, now)
		if err != nil {
			return err
		}
		if err := st.Users.SetEmail(ctx, old.ID(), t.Email, true, now); err != nil {
			return err
		}
		if _, err := st.EmailTokens.DeleteEmailTokens(ctx, old.ID(), ""); err != nil {
			return err
		}
		if err := c.letters.Notice(ctx, st, old.Email(), domain.MailEmailChanged, domain.MaskEmail(t.Email.String())); err != nil {
			return err
		}
		if u, err = st.Users.UserByID(ctx, old.ID()); err != nil {
			return err
		}
		return c.audit.InTx(ctx, st, domain.AuditEvent{Type: domain.EventEmailChanged, UserID: u.ID(), Client: client})
	})
	if err != nil {
		return domain.User{}, fmt.Errorf("confirm email change: %w", err)
	}
	c.letters.Posted()
	return u, nil
}
