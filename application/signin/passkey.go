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

// PasskeySignIn signs in with a passkey: usernameless (a discoverable
// credential, user verification required: the passkey alone is two
// factors, "amr" ["hwk","mfa"]) or as the second factor of a password
// login (answering its challenge: "amr" ["pwd","hwk"]). Ceremonies live
// on the server, are single use, expire after domain.CeremonyTTL and are
// bound to the challenge they answer.
type PasskeySignIn struct {
	factors         ports.SecondFactors
	passkeys        ports.Passkeys
	users           ports.Users
	sessions        ChallengeOpener
	rp              ports.WebAuthn
	random          ports.RandomSource
	clock           ports.Clock
	audit           *application.Recorder
	requireVerified bool
}

// PasskeySignInDeps are what PasskeySignIn needs.
type PasskeySignInDeps struct {
	Factors  ports.SecondFactors
	Passkeys ports.Passkeys
	Users    ports.Users
	Sessions ChallengeOpener
	RP       ports.WebAuthn
	Random   ports.RandomSource
	Clock    ports.Clock
	Audit    *application.Recorder
	// RequireVerifiedEmail as for Login.
	RequireVerifiedEmail bool
}

// NewPasskeySignIn builds passkey sign-in.
func NewPasskeySignIn(d PasskeySignInDeps) *PasskeySignIn {
	return &PasskeySignIn{factors: d.Factors, passkeys: d.Passkeys, users: d.Users, sessions: d.Sessions, rp: d.RP,
		random: d.Random, clock: d.Clock, audit: d.Audit, requireVerified: d.RequireVerifiedEmail}
}

// Methods is the challenge method a user's passkeys add
// (SecondFactor.WithMethods).
func (s *PasskeySignIn) Methods(ctx context.Context, user domain.UserID) ([]string, error) {
	list, err := s.passkeys.PasskeysOf(ctx, user)
	if err != nil || len(list) == 0 {
		return nil, err
	}
	return []string{ChallengePasskey}, nil
}

// Begin starts a sign-in ceremony: usernameless when mfaToken is empty,
// else answering that login challenge (domain.ErrInvalidMFAToken when it
// is not usable; domain.ErrMFAState when the user has no passkey).
func (s *PasskeySignIn) Begin(ctx context.Context, mfaToken string) (application.Ceremony, error) {
	now := s.clock.Now()
	c := domain.Ceremony{Kind: domain.CeremonyLogin, ExpiresAt: now.Add(domain.CeremonyTTL)}
	var options []byte
	var err error
	if mfaToken == "" {
		options, c.State, err = s.rp.BeginLogin(nil, nil)
	} else {
		var challenge domain.MFAChallenge
		if challenge, err = s.challenge(ctx, mfaToken, now); err != nil {
			return application.Ceremony{}, fmt.Errorf("begin passkey sign-in: %w", err)
		}
		u, err := s.users.UserByID(ctx, challenge.UserID)
		if err != nil {
			return application.Ceremony{}, fmt.Errorf("begin passkey sign-in: %w", err)
		}
		list, err := s.passkeys.PasskeysOf(ctx, u.ID())
		if err != nil {
			return application.Ceremony{}, fmt.Errorf("begin passkey sign-in: %w", err)
		}
		if len(list) == 0 {
			return application.Ceremony{}, fmt.Errorf("begin passkey sign-in: %w", domain.ErrMFAState)
		}
		c.Kind, c.UserID, c.MFAToken = domain.CeremonySecondFactor, u.ID(), challenge.Hash
		options, c.State, err = s.rp.BeginLogin(&u, list)
		if err != nil {
			return application.Ceremony{}, fmt.Errorf("begin passkey sign-in: %w", err)
		}
	}
	if err != nil {
		return application.Ceremony{}, fmt.Errorf("begin passkey sign-in: %w", err)
	}
	token, hash, err := domain.NewCeremonyToken(s.random)
	if err != nil {
		return application.Ceremony{}, err
	}
	c.Hash = hash
	if err := s.passkeys.CreateCeremony(ctx, c); err != nil {
		return application.Ceremony{}, fmt.Errorf("begin passkey sign-in: %w", err)
	}
	return application.Ceremony{Token: token, Options: options}, nil
}

func (s *PasskeySignIn) challenge(ctx context.Context, token string, now time.Time) (domain.MFAChallenge, error) {
	h, err := domain.ParseMFAToken(token)
	if err != nil {
		return domain.MFAChallenge{}, err
	}
	return usableChallenge(ctx, s.factors, h, now)
}

// FinishInput is the browser's answer to a sign-in ceremony.
type FinishInput struct {
	Ceremony   string
	Credential []byte
	Client     domain.ClientInfo
}

// Finish verifies the assertion and opens the session. The ceremony is
// spent whatever the outcome (domain.ErrInvalidCeremony when unusable); an
// assertion that does not verify, or whose signature counter went
// backwards (a cloned key: audited), is domain.ErrPasskeyRejected.
func (s *PasskeySignIn) Finish(ctx context.Context, in FinishInput) (application.TokenPair, error) {
	pair, err := s.finish(ctx, in)
	if err != nil {
		return application.TokenPair{}, fmt.Errorf("passkey sign-in: %w", err)
	}
	return pair, nil
}

func (s *PasskeySignIn) finish(ctx context.Context, in FinishInput) (application.TokenPair, error) {
	now := s.clock.Now()
	c, err := application.UseCeremony(ctx, s.passkeys, in.Ceremony, now, domain.CeremonyLogin, domain.CeremonySecondFactor)
	if err != nil {
		return application.TokenPair{}, err
	}
	client := in.Client.Clean()
	var challenge domain.MFAChallenge
	lookup := func(handle []byte) (domain.User, []domain.Passkey, error) {
		id := domain.UserID(handle)
		if c.Kind == domain.CeremonySecondFactor {
			id = c.UserID
		}
		u, err := s.users.UserByID(ctx, id)
		if err != nil {
			return domain.User{}, nil, err
		}
		list, err := s.passkeys.PasskeysOf(ctx, u.ID())
		return u, list, err
	}
	if c.Kind == domain.CeremonySecondFactor {
		if challenge, err = usableChallenge(ctx, s.factors, c.MFAToken, now); err != nil {
			return application.TokenPair{}, err
		}
	}
	a, err := s.rp.FinishLogin(c.State, in.Credential, lookup)
	if err == nil && a.CloneWarning {
		s.audit.Record(ctx, domain.AuditEvent{Type: domain.EventPasskeyCloneWarning, UserID: a.User.ID(), Client: client, Detail: "signature counter went backwards; passkey " + a.Passkey.ID.String()})
		err = fmt.Errorf("%w: signature counter went backwards", domain.ErrPasskeyRejected)
	}
	if err == nil && c.Kind == domain.CeremonyLogin && !a.UserVerified {
		err = fmt.Errorf("%w: the authenticator did not verify the user", domain.ErrPasskeyRejected)
	}
	if err != nil {
		if !errors.Is(err, domain.ErrPasskeyRejected) && !errors.Is(err, domain.ErrNotFound) {
			return application.TokenPair{}, err
		}
		s.audit.Record(ctx, domain.AuditEvent{Type: domain.EventPasskeyRejected, UserID: c.UserID, Client: client, Detail: "assertion did not verify"})
		if c.Kind == domain.CeremonySecondFactor {
			_, _ = s.factors.FailMFAChallenge(ctx, c.MFAToken, domain.MaxMFAFailures)
		}
		return application.TokenPair{}, domain.ErrPasskeyRejected
	}
	u := a.User
	var auth domain.Authentication
	if c.Kind == domain.CeremonySecondFactor {
		auth = domain.NewAuthentication(u, now, append(challenge.Methods, domain.MethodHardwareKey)...).WithPasswordHash(challenge.PasswordHash)
	} else {
		if s.requireVerified && !u.EmailVerified() {
			return application.TokenPair{}, domain.ErrEmailNotVerified
		}
		auth = domain.NewAuthentication(u, now, domain.MethodHardwareKey, domain.MethodMultiFactor)
	}
	pair, err := s.sessions.OpenWith(ctx, auth, client, func(st ports.Stores) error {
		if c.Kind == domain.CeremonySecondFactor {
			if _, err := st.Factors.UseMFAChallenge(ctx, c.MFAToken); errors.Is(err, domain.ErrNotFound) {
				return domain.ErrInvalidMFAToken
			} else if err != nil {
				return err
			}
		}
		return st.Passkeys.PasskeyUsed(ctx, a.Passkey.ID, a.Passkey.Data, a.Passkey.SignCount, now)
	})
	if errors.Is(err, domain.ErrPasswordChanged) {
		return application.TokenPair{}, domain.ErrInvalidMFAToken
	}
	return pair, err
}
