package account

import (
	"context"
	"errors"
	"fmt"

	"github.com/authd/authd/application"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// DetailAtMFA names second-factor changes in the throttle's events.
const DetailAtMFA = "second-factor change"

// TOTPFactor is a user's own management of the authenticator-app factor
// and its recovery codes. Every change needs the password now (Reauth);
// turning the factor off and new recovery codes also need a current code.
// Each change is audited and mailed to the owner.
type TOTPFactor struct {
	tx       ports.Transactor
	factors  ports.SecondFactors
	sessions LiveSessions
	reauth   Reauth
	otp      ports.TOTP
	box      ports.SecretBox // nil: no data key, enrolment refused
	issuer   string
	random   ports.RandomSource
	letters  *application.Letters
	clock    ports.Clock
	audit    *application.Recorder
}

// TOTPDeps are what TOTPFactor needs.
type TOTPDeps struct {
	Tx        ports.Transactor
	Factors   ports.SecondFactors
	Passwords ports.Passwords
	Sessions  LiveSessions
	Guard     *application.Guard
	OTP       ports.TOTP
	Box       ports.SecretBox
	// Issuer is the name authenticator apps show (the product name).
	Issuer  string
	Random  ports.RandomSource
	Letters *application.Letters
	Clock   ports.Clock
	Audit   *application.Recorder
}

// NewTOTPFactor builds the TOTP management use case.
func NewTOTPFactor(d TOTPDeps) *TOTPFactor {
	return &TOTPFactor{
		tx: d.Tx, factors: d.Factors, sessions: d.Sessions, reauth: Reauth{Passwords: d.Passwords, Guard: d.Guard, Audit: d.Audit},
		otp: d.OTP, box: d.Box, issuer: d.Issuer, random: d.Random, letters: d.Letters, clock: d.Clock, audit: d.Audit,
	}
}

// FactorInput is a change to the caller's factors: the password always;
// the code when the change needs one.
type FactorInput struct {
	Principal application.Principal
	Password  string
	Code      string
	Client    domain.ClientInfo
}

// Enrolment is a pending TOTP factor: the secret to type or the URI to
// scan.
type Enrolment struct {
	Secret string
	URI    string
}

// Enrol starts (or restarts) enrolment: a fresh secret, pending until a
// code confirms it. domain.ErrMFAState when TOTP is on already.
func (f *TOTPFactor) Enrol(ctx context.Context, in FactorInput) (Enrolment, error) {
	if f.box == nil {
		return Enrolment{}, fmt.Errorf("enrol totp: %w", domain.ErrSecretsUnavailable)
	}
	u, err := f.prove(ctx, in)
	if err != nil {
		return Enrolment{}, fmt.Errorf("enrol totp: %w", err)
	}
	if u.MFAEnabled() {
		return Enrolment{}, fmt.Errorf("enrol totp: %w", domain.ErrMFAState)
	}
	secret, uri, err := f.otp.NewSecret(f.issuer, u.Email().String())
	if err != nil {
		return Enrolment{}, fmt.Errorf("enrol totp: %w", err)
	}
	sealed, err := f.box.Seal([]byte(secret), []byte(u.ID()))
	if err != nil {
		return Enrolment{}, fmt.Errorf("enrol totp: %w", err)
	}
	if err := f.factors.PutTOTP(ctx, domain.TOTPCredential{UserID: u.ID(), SealedSecret: sealed, CreatedAt: f.clock.Now()}); err != nil {
		return Enrolment{}, fmt.Errorf("enrol totp: %w", err)
	}
	return Enrolment{Secret: secret, URI: uri}, nil
}

// prove checks the caller's session and password.
func (f *TOTPFactor) prove(ctx context.Context, in FactorInput) (domain.User, error) {
	password, err := domain.LoginPassword(in.Password)
	if err != nil {
		return domain.User{}, err
	}
	_, u, err := f.sessions.Live(ctx, in.Principal)
	if err != nil {
		return domain.User{}, err
	}
	if _, err := f.reauth.Prove(ctx, u, in.Principal.SessionID, password, in.Client.Clean(), DetailAtMFA); err != nil {
		return domain.User{}, err
	}
	return u, nil
}

// Confirm turns the pending factor on with a code from it, and returns
// the recovery codes (shown this once). A wrong code is
// domain.ErrInvalidMFACode; no pending enrolment domain.ErrMFAState.
func (f *TOTPFactor) Confirm(ctx context.Context, in FactorInput) ([]string, error) {
	_, u, err := f.sessions.Live(ctx, in.Principal)
	if err != nil {
		return nil, fmt.Errorf("confirm totp: %w", err)
	}
	if err := requireCode(in.Code); err != nil {
		return nil, fmt.Errorf("confirm totp: %w", err)
	}
	key := domain.ThrottleKeyFor(u.Email())
	if err := f.reauth.Guard.Claim(ctx, key, u.ID(), in.Client.Clean(), DetailAtMFA); err != nil {
		return nil, fmt.Errorf("confirm totp: %w", err)
	}
	step, ok, err := signin.MatchTOTP(ctx, f.factors, f.box, f.otp, u.ID(), in.Code, f.clock.Now(), false)
	if err != nil {
		return nil, fmt.Errorf("confirm totp: %w", err)
	}
	if !ok {
		if _, err := f.factors.TOTP(ctx, u.ID()); errors.Is(err, domain.ErrNotFound) || u.MFAEnabled() {
			return nil, fmt.Errorf("confirm totp: %w", domain.ErrMFAState)
		}
		return nil, fmt.Errorf("confirm totp: %w", domain.ErrInvalidMFACode)
	}
	codes, hashes, err := domain.NewRecoveryCodes(f.random)
	if err != nil {
		return nil, err
	}
	client := in.Client.Clean()
	err = f.tx.WithinTx(ctx, func(st ports.Stores) error {
		now := f.clock.Now()
		if err := st.Factors.ConfirmTOTP(ctx, u.ID(), step, now); err != nil {
			return err
		}
		if err := st.Factors.ReplaceRecoveryCodes(ctx, u.ID(), hashes, now); err != nil {
			return err
		}
		if err := f.notify(ctx, st, u, domain.MailFactorAdded); err != nil {
			return err
		}
		return f.audit.InTx(ctx, st, domain.AuditEvent{Type: domain.EventMFAEnabled, UserID: u.ID(), SessionID: in.Principal.SessionID, Client: client, Detail: "totp"})
	})
	if err != nil {
		return nil, fmt.Errorf("confirm totp: %w", err)
	}
	f.letters.Posted()
	_ = f.reauth.Guard.Forget(ctx, key)
	return codes, nil
}

func (f *TOTPFactor) notify(ctx context.Context, st ports.Stores, u domain.User, kind domain.MailKind) error {
	if f.letters == nil {
		return nil
	}
	return f.letters.Notice(ctx, st, u.Email(), kind, "totp")
}

// requireCode is the validation of a code field that must be there.
func requireCode(code string) error {
	if code == "" {
		v := &domain.ValidationError{}
		v.Add("code", domain.CodeRequired, "code is required")
		return v
	}
	return nil
}

// proveCode checks, with the password already proven, a current code of
// the factor: a TOTP code (spent in st) or one of the recovery codes
// (used up in st). A wrong one is domain.ErrInvalidMFACode. The request
// claimed one attempt from the account's login throttle for the password
// and code together (Reauth.Prove, which forgets no failure of an account
// with a second factor): a guess of the code costs an attempt; the caller
// forgets the failures once the change has committed.
func (f *TOTPFactor) proveCode(ctx context.Context, u domain.User, code string) (func(ports.Stores) error, error) {
	if err := requireCode(code); err != nil {
		return nil, err
	}
	if h, err := domain.ParseRecoveryCode(code); err == nil {
		return signin.SpendRecoveryCode(ctx, u.ID(), h), nil
	}
	step, ok, err := signin.MatchTOTP(ctx, f.factors, f.box, f.otp, u.ID(), code, f.clock.Now(), true)
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, domain.ErrInvalidMFACode
	}
	return func(st ports.Stores) error { return st.Factors.UseTOTPStep(ctx, u.ID(), step) }, nil
}

// Disable turns TOTP off and deletes the recovery codes: the password and
// a current code (or a recovery code). domain.ErrMFAState when it is off.
func (f *TOTPFactor) Disable(ctx context.Context, in FactorInput) error {
	u, err := f.prove(ctx, in)
	if err != nil {
		return fmt.Errorf("disable totp: %w", err)
	}
	if !u.MFAEnabled() {
		return fmt.Errorf("disable totp: %w", domain.ErrMFAState)
	}
	spend, err := f.proveCode(ctx, u, in.Code)
	if err != nil {
		return fmt.Errorf("disable totp: %w", err)
	}
	err = f.tx.WithinTx(ctx, func(st ports.Stores) error {
		if err := spend(st); err != nil {
			return err
		}
		if _, err := st.Factors.DeleteTOTP(ctx, u.ID()); err != nil {
			return err
		}
		if _, err := st.Factors.DeleteRecoveryCodes(ctx, u.ID()); err != nil {
			return err
		}
		// The factor protected the other sessions' logins: end them.
		if _, err := st.Sessions.RevokeSessions(ctx, u.ID(), in.Principal.SessionID, f.clock.Now()); err != nil {
			return err
		}
		if err := f.notify(ctx, st, u, domain.MailFactorRemoved); err != nil {
			return err
		}
		return f.audit.InTx(ctx, st, domain.AuditEvent{Type: domain.EventMFADisabled, UserID: u.ID(), SessionID: in.Principal.SessionID, Client: in.Client.Clean(), Detail: "totp"})
	})
	if err != nil {
		return fmt.Errorf("disable totp: %w", err)
	}
	f.letters.Posted()
	_ = f.reauth.Guard.Forget(ctx, domain.ThrottleKeyFor(u.Email()))
	return nil
}

// NewRecoveryCodes replaces the recovery codes (the old ones die): the
// password and a current code.
func (f *TOTPFactor) NewRecoveryCodes(ctx context.Context, in FactorInput) ([]string, error) {
	u, err := f.prove(ctx, in)
	if err != nil {
		return nil, fmt.Errorf("new recovery codes: %w", err)
	}
	if !u.MFAEnabled() {
		return nil, fmt.Errorf("new recovery codes: %w", domain.ErrMFAState)
	}
	spend, err := f.proveCode(ctx, u, in.Code)
	if err != nil {
		return nil, fmt.Errorf("new recovery codes: %w", err)
	}
	codes, hashes, err := domain.NewRecoveryCodes(f.random)
	if err != nil {
		return nil, err
	}
	err = f.tx.WithinTx(ctx, func(st ports.Stores) error {
		if err := spend(st); err != nil {
			return err
		}
		if err := st.Factors.ReplaceRecoveryCodes(ctx, u.ID(), hashes, f.clock.Now()); err != nil {
			return err
		}
		if f.letters != nil {
			if err := f.letters.Notice(ctx, st, u.Email(), domain.MailFactorAdded, "new recovery codes"); err != nil {
				return err
			}
		}
		return f.audit.InTx(ctx, st, domain.AuditEvent{Type: domain.EventRecoveryCodesIssued, UserID: u.ID(), SessionID: in.Principal.SessionID, Client: in.Client.Clean()})
	})
	if err != nil {
		return nil, fmt.Errorf("new recovery codes: %w", err)
	}
	f.letters.Posted()
	_ = f.reauth.Guard.Forget(ctx, domain.ThrottleKeyFor(u.Email()))
	return codes, nil
}

// MFAState is what GET /v1/users/me/mfa tells.
type MFAState struct {
	// TOTP is "off", "pending" (enrolled, not confirmed) or "on".
	TOTP              string
	RecoveryCodesLeft int
	Enabled           bool
}

// State reads the caller's factors.
func (f *TOTPFactor) State(ctx context.Context, p application.Principal) (MFAState, error) {
	_, u, err := f.sessions.Live(ctx, p)
	if err != nil {
		return MFAState{}, fmt.Errorf("mfa state: %w", err)
	}
	st := MFAState{TOTP: "off", Enabled: u.MFAEnabled()}
	switch c, err := f.factors.TOTP(ctx, u.ID()); {
	case errors.Is(err, domain.ErrNotFound):
	case err != nil:
		return MFAState{}, fmt.Errorf("mfa state: %w", err)
	case c.Confirmed:
		st.TOTP = "on"
	default:
		st.TOTP = "pending"
	}
	if st.RecoveryCodesLeft, err = f.factors.RecoveryCodesLeft(ctx, u.ID()); err != nil {
		return MFAState{}, fmt.Errorf("mfa state: %w", err)
	}
	return st, nil
}
