package signin

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// ChallengeOpener opens a session together with what its opening spends
// (sessions.Service.OpenWith).
type ChallengeOpener interface {
	OpenWith(ctx context.Context, auth domain.Authentication, client domain.ClientInfo, also func(ports.Stores) error) (application.TokenPair, error)
}

// Challenge method names, as a challenge lists them ("methods").
const (
	ChallengeTOTP         = "totp"
	ChallengeRecoveryCode = "recovery_code"
	ChallengePasskey      = "passkey"
)

// SecondFactor is the second step of a login: the password was right and
// the account has a second factor, so the login answered with a challenge
// (an mfa_token) instead of a session; a TOTP code or a recovery code
// answers it and opens the session.
//
// A challenge is single use, lives domain.MFAChallengeTTL, and dies after
// domain.MaxMFAFailures wrong codes; every wrong code also counts in the
// account's login throttle, so guessing the 6 digits costs what guessing
// the password does. A TOTP code is accepted once (its time step is spent
// with the session's opening, atomically).
type SecondFactor struct {
	factors  ports.SecondFactors
	users    ports.Users
	sessions ChallengeOpener
	guard    *application.Guard
	otp      ports.TOTP
	box      ports.SecretBox // nil: no data key; TOTP codes cannot be checked
	random   ports.RandomSource
	clock    ports.Clock
	audit    *application.Recorder
	// extra lists further methods a user may have (passkeys), asked per
	// user; nil: none.
	extra func(ctx context.Context, user domain.UserID) ([]string, error)
}

// SecondFactorDeps are what SecondFactor needs.
type SecondFactorDeps struct {
	Factors  ports.SecondFactors
	Users    ports.Users
	Sessions ChallengeOpener
	Guard    *application.Guard
	OTP      ports.TOTP
	Box      ports.SecretBox
	Random   ports.RandomSource
	Clock    ports.Clock
	Audit    *application.Recorder
}

// NewSecondFactor builds the second step of a login.
func NewSecondFactor(d SecondFactorDeps) *SecondFactor {
	return &SecondFactor{factors: d.Factors, users: d.Users, sessions: d.Sessions, guard: d.Guard, otp: d.OTP, box: d.Box,
		random: d.Random, clock: d.Clock, audit: d.Audit}
}

// WithMethods adds a source of further challenge methods (passkeys).
func (s *SecondFactor) WithMethods(extra func(ctx context.Context, user domain.UserID) ([]string, error)) *SecondFactor {
	s.extra = extra
	return s
}

// Challenge stores a challenge for auth (the password step) and returns
// it as the login's answer: a *domain.MFAChallengeIssued.
func (s *SecondFactor) Challenge(ctx context.Context, auth domain.Authentication) error {
	token, hash, err := domain.NewMFAToken(s.random)
	if err != nil {
		return err
	}
	u := auth.User()
	now := s.clock.Now()
	methods := []string{ChallengeTOTP}
	if n, err := s.factors.RecoveryCodesLeft(ctx, u.ID()); err != nil {
		return fmt.Errorf("mfa challenge: %w", err)
	} else if n > 0 {
		methods = append(methods, ChallengeRecoveryCode)
	}
	if s.extra != nil {
		more, err := s.extra(ctx, u.ID())
		if err != nil {
			return fmt.Errorf("mfa challenge: %w", err)
		}
		methods = append(methods, more...)
	}
	err = s.factors.CreateMFAChallenge(ctx, domain.MFAChallenge{
		Hash: hash, UserID: u.ID(), Methods: auth.Methods(), AuthAt: auth.At(),
		PasswordHash: auth.PasswordHash(), ExpiresAt: now.Add(domain.MFAChallengeTTL),
	})
	if err != nil {
		return fmt.Errorf("mfa challenge: %w", err)
	}
	return &domain.MFAChallengeIssued{Token: token, Methods: methods}
}

// VerifyInput answers a challenge with exactly one of Code (TOTP) and
// RecoveryCode.
type VerifyInput struct {
	Token        string
	Code         string
	RecoveryCode string
	Client       domain.ClientInfo
}

// DetailWrongCode is the audit detail of a wrong second-factor code.
const DetailWrongCode = "wrong second-factor code"

// Verify answers the challenge and opens the session, whose "amr" adds
// "otp" or "recovery_code" to what the first step proved. A wrong code is
// domain.ErrInvalidMFACode, or domain.ErrInvalidMFAToken when it was the
// challenge's last chance; an unusable challenge is
// domain.ErrInvalidMFAToken; a throttled account *domain.ThrottledError.
func (s *SecondFactor) Verify(ctx context.Context, in VerifyInput) (application.TokenPair, error) {
	if (in.Code == "") == (in.RecoveryCode == "") {
		v := &domain.ValidationError{}
		v.Add("code", domain.CodeRequired, "send either code (from the authenticator app) or recovery_code")
		return application.TokenPair{}, fmt.Errorf("mfa verify: %w", v)
	}
	pair, err := s.verify(ctx, in)
	if err != nil {
		return application.TokenPair{}, fmt.Errorf("mfa verify: %w", err)
	}
	return pair, nil
}

func (s *SecondFactor) verify(ctx context.Context, in VerifyInput) (application.TokenPair, error) {
	hash, err := domain.ParseMFAToken(in.Token)
	if err != nil {
		return application.TokenPair{}, err
	}
	now := s.clock.Now()
	c, err := usableChallenge(ctx, s.factors, hash, now)
	if err != nil {
		return application.TokenPair{}, err
	}
	u, err := s.users.UserByID(ctx, c.UserID)
	if errors.Is(err, domain.ErrNotFound) {
		return application.TokenPair{}, domain.ErrInvalidMFAToken
	}
	if err != nil {
		return application.TokenPair{}, err
	}
	client := in.Client.Clean()
	key := domain.ThrottleKeyFor(u.Email())
	if err := s.guard.Claim(ctx, key, u.ID(), client, application.DetailAtLogin); err != nil {
		return application.TokenPair{}, err
	}

	method, spend, err := s.check(ctx, u, in, now)
	if err != nil {
		return application.TokenPair{}, err
	}
	var pair application.TokenPair
	if spend != nil {
		auth := domain.NewAuthentication(u, now, append(c.Methods, method)...).WithPasswordHash(c.PasswordHash)
		pair, err = s.sessions.OpenWith(ctx, auth, client, func(st ports.Stores) error {
			if _, err := st.Factors.UseMFAChallenge(ctx, hash); errors.Is(err, domain.ErrNotFound) {
				return domain.ErrInvalidMFAToken
			} else if err != nil {
				return err
			}
			if err := spend(st); err != nil {
				return err
			}
			if method == domain.MethodRecoveryCode {
				return s.audit.InTx(ctx, st, domain.AuditEvent{Type: domain.EventRecoveryCodeUsed, UserID: u.ID(), Client: client})
			}
			return nil
		})
		switch {
		case errors.Is(err, domain.ErrPasswordChanged):
			// The password changed since the first step: start again.
			return application.TokenPair{}, domain.ErrInvalidMFAToken
		case err == nil:
			if err := s.guard.Forget(ctx, key); err != nil {
				return application.TokenPair{}, err
			}
			return pair, nil
		case !errors.Is(err, domain.ErrInvalidMFACode):
			return application.TokenPair{}, err
		}
	}
	return application.TokenPair{}, s.fail(ctx, hash, u, client)
}

// usableChallenge reads the challenge with digest hash: one unknown,
// expired or dead is domain.ErrInvalidMFAToken.
func usableChallenge(ctx context.Context, factors ports.SecondFactors, hash domain.MFATokenHash, now time.Time) (domain.MFAChallenge, error) {
	c, err := factors.MFAChallenge(ctx, hash)
	if errors.Is(err, domain.ErrNotFound) || (err == nil && !c.Usable(now)) {
		return domain.MFAChallenge{}, domain.ErrInvalidMFAToken
	}
	return c, err
}

// check checks the code the input carries. A right one yields its method
// and what the session's opening must spend; a wrong one a nil spend.
func (s *SecondFactor) check(ctx context.Context, u domain.User, in VerifyInput, now time.Time) (domain.AuthMethod, func(ports.Stores) error, error) {
	if in.RecoveryCode != "" {
		h, err := domain.ParseRecoveryCode(in.RecoveryCode)
		if err != nil {
			return "", nil, nil
		}
		return domain.MethodRecoveryCode, SpendRecoveryCode(ctx, u.ID(), h), nil
	}
	step, ok, err := MatchTOTP(ctx, s.factors, s.box, s.otp, u.ID(), in.Code, now, true)
	if err != nil || !ok {
		return "", nil, err
	}
	return domain.MethodOTP, func(st ports.Stores) error { return st.Factors.UseTOTPStep(ctx, u.ID(), step) }, nil
}

// SpendRecoveryCode uses up the user's recovery code with digest h inside
// the caller's transaction; one not (or no longer) there is
// domain.ErrInvalidMFACode.
func SpendRecoveryCode(ctx context.Context, user domain.UserID, h domain.RecoveryCodeHash) func(ports.Stores) error {
	return func(st ports.Stores) error {
		if err := st.Factors.UseRecoveryCode(ctx, user, h); errors.Is(err, domain.ErrNotFound) {
			return domain.ErrInvalidMFACode
		} else if err != nil {
			return err
		}
		return nil
	}
}

// MatchTOTP checks code against the user's TOTP secret and returns the
// time step it matched; ok false for a wrong code or no credential (a
// confirmed one when confirmed, else a pending one). The secret is opened
// with box, bound to the user.
func MatchTOTP(ctx context.Context, factors ports.SecondFactors, box ports.SecretBox, otp ports.TOTP, user domain.UserID, code string, now time.Time, confirmed bool) (int64, bool, error) {
	cred, err := factors.TOTP(ctx, user)
	if errors.Is(err, domain.ErrNotFound) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, err
	}
	if cred.Confirmed != confirmed {
		return 0, false, nil
	}
	if box == nil {
		return 0, false, domain.ErrSecretsUnavailable
	}
	secret, err := box.Open(cred.SealedSecret, []byte(user))
	if err != nil {
		return 0, false, fmt.Errorf("%w: open totp secret (is AUTH_DATA_KEY_FILE the key it was sealed with?): %v", domain.ErrSecretsUnavailable, err)
	}
	step, ok := otp.Match(string(secret), code, now)
	return step, ok, nil
}

// fail counts a wrong code against the challenge (domain.ErrInvalidMFAToken
// once it is dead) and records it.
func (s *SecondFactor) fail(ctx context.Context, hash domain.MFATokenHash, u domain.User, client domain.ClientInfo) error {
	s.audit.Record(ctx, domain.AuditEvent{Type: domain.EventMFAChallengeFailed, UserID: u.ID(), Client: client, Detail: DetailWrongCode})
	n, err := s.factors.FailMFAChallenge(ctx, hash, domain.MaxMFAFailures)
	switch {
	case errors.Is(err, domain.ErrNotFound), err == nil && n >= domain.MaxMFAFailures:
		return domain.ErrInvalidMFAToken
	case err != nil:
		return err
	}
	return domain.ErrInvalidMFACode
}
