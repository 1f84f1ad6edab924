package ports

import (
	"context"
	"time"

	"github.com/authd/authd/domain"
)

// TOTP makes and checks time-based one-time passwords (RFC 6238).
type TOTP interface {
	// NewSecret makes a fresh random secret (160 bits) for the account
	// (shown in authenticator apps with the issuer) and returns it base32-encoded
	// without padding, with its otpauth:// URI.
	NewSecret(issuer, account string) (secret, uri string, err error)
	// Match reports the RFC 6238 time step (unix seconds / 30) whose code equals
	// code, trying now's step and one either side; ok false otherwise (also for a
	// malformed code or secret). Comparison in constant time.
	Match(secret, code string, now time.Time) (step int64, ok bool)
}

// SecretBox encrypts small secrets at rest (AES-256-GCM). The context binds a
// ciphertext to its owner (e.g. the user id): opening with another context fails.
type SecretBox interface {
	Seal(plaintext, context []byte) ([]byte, error)
	Open(sealed, context []byte) ([]byte, error)
}

// SecondFactors stores second factors and login challenges. Every rule two
// requests could race on is one atomic step of the store: a TOTP time step
// accepted once (UseTOTPStep), a recovery code used once, a challenge used
// once and killed after its failures.
type SecondFactors interface {
	// PutTOTP stores a pending enrolment, replacing a pending one;
	// domain.ErrMFAState when a confirmed one exists, domain.ErrNotFound
	// for no such user.
	PutTOTP(ctx context.Context, c domain.TOTPCredential) error
	// TOTP returns the user's credential, pending or confirmed;
	// domain.ErrNotFound for none.
	TOTP(ctx context.Context, user domain.UserID) (domain.TOTPCredential, error)
	// ConfirmTOTP confirms the pending credential with the step of the code
	// that proved it (the step counts as used); domain.ErrMFAState when
	// there is none pending.
	ConfirmTOTP(ctx context.Context, user domain.UserID, step int64, now time.Time) error
	// UseTOTPStep records step as used; a step at or before the last one
	// used is domain.ErrTOTPReplayed, and of concurrent uses of one step
	// exactly one succeeds. domain.ErrMFAState without a confirmed
	// credential.
	UseTOTPStep(ctx context.Context, user domain.UserID, step int64) error
	// DeleteTOTP removes the credential, pending or confirmed, and reports
	// whether there was one.
	DeleteTOTP(ctx context.Context, user domain.UserID) (bool, error)

	// ReplaceRecoveryCodes makes hashes the user's only recovery codes.
	ReplaceRecoveryCodes(ctx context.Context, user domain.UserID, hashes []domain.RecoveryCodeHash, now time.Time) error
	// UseRecoveryCode deletes the user's code with digest hash: of
	// concurrent uses exactly one succeeds, the others domain.ErrNotFound.
	UseRecoveryCode(ctx context.Context, user domain.UserID, hash domain.RecoveryCodeHash) error
	// RecoveryCodesLeft counts the user's unused codes.
	RecoveryCodesLeft(ctx context.Context, user domain.UserID) (int, error)
	// DeleteRecoveryCodes removes them all and returns how many.
	DeleteRecoveryCodes(ctx context.Context, user domain.UserID) (int, error)

	// CreateMFAChallenge stores c.
	CreateMFAChallenge(ctx context.Context, c domain.MFAChallenge) error
	// MFAChallenge reads a challenge without using it; domain.ErrNotFound.
	MFAChallenge(ctx context.Context, hash domain.MFATokenHash) (domain.MFAChallenge, error)
	// UseMFAChallenge deletes and returns it: of concurrent uses exactly
	// one gets it, the others domain.ErrNotFound.
	UseMFAChallenge(ctx context.Context, hash domain.MFATokenHash) (domain.MFAChallenge, error)
	// FailMFAChallenge counts one wrong code and returns the failures so
	// far, atomically; at max the challenge is deleted. domain.ErrNotFound
	// for none.
	FailMFAChallenge(ctx context.Context, hash domain.MFATokenHash, max int) (int, error)
}

// Passkeys stores WebAuthn credentials and the ceremonies in progress.
type Passkeys interface {
	// AddPasskey stores p; a credential id registered already (to anyone)
	// is domain.ErrPasskeyExists, no such user domain.ErrNotFound.
	AddPasskey(ctx context.Context, p domain.Passkey) error
	// PasskeysOf lists the user's passkeys, oldest first.
	PasskeysOf(ctx context.Context, user domain.UserID) ([]domain.Passkey, error)
	// PasskeyByCredentialID finds a passkey by its credential id;
	// domain.ErrNotFound for none.
	PasskeyByCredentialID(ctx context.Context, credentialID []byte) (domain.Passkey, error)
	// PasskeyUsed records a sign-in: the adapter's updated record and
	// counter, and when.
	PasskeyUsed(ctx context.Context, id domain.PasskeyID, data []byte, signCount uint32, now time.Time) error
	// RenamePasskey and DeletePasskey act on the user's own passkey only:
	// another user's id is domain.ErrNotFound.
	RenamePasskey(ctx context.Context, user domain.UserID, id domain.PasskeyID, name string) error
	DeletePasskey(ctx context.Context, user domain.UserID, id domain.PasskeyID) error
	// DeletePasskeys removes all the user's passkeys and returns how many.
	DeletePasskeys(ctx context.Context, user domain.UserID) (int, error)

	// CreateCeremony stores c.
	CreateCeremony(ctx context.Context, c domain.Ceremony) error
	// UseCeremony deletes and returns it: of concurrent uses exactly one
	// gets it, the others domain.ErrNotFound.
	UseCeremony(ctx context.Context, hash domain.CeremonyHash) (domain.Ceremony, error)
}

// WebAuthn runs the relying party's side of passkey ceremonies (W3C
// WebAuthn level 2+). Options and responses are the browser's JSON
// (PublicKeyCredentialCreationOptionsJSON / RequestOptionsJSON wrapped as
// {"publicKey": ...}, and PublicKeyCredential.toJSON()); State is the
// adapter's record of a ceremony, kept by the server between begin and
// finish (domain.Ceremony.State).
type WebAuthn interface {
	// BeginRegistration starts registering a discoverable credential for
	// user (resident key and user verification required), excluding the
	// credentials it has.
	BeginRegistration(user domain.User, existing []domain.Passkey) (options, state []byte, err error)
	// FinishRegistration verifies the browser's answer against state and
	// returns the new passkey's CredentialID, Data and SignCount;
	// domain.ErrPasskeyRejected when it does not verify.
	FinishRegistration(user domain.User, existing []domain.Passkey, state, response []byte) (domain.Passkey, error)
	// BeginLogin starts an assertion: usernameless (user nil: any
	// discoverable credential, user verification required) or for user's
	// passkeys (a second factor).
	BeginLogin(user *domain.User, passkeys []domain.Passkey) (options, state []byte, err error)
	// FinishLogin verifies an assertion against state. lookup finds the
	// account and its passkeys by the user handle the authenticator
	// returned (usernameless) or, for a second factor, ignores it and
	// returns the challenged user. domain.ErrPasskeyRejected when it does
	// not verify.
	FinishLogin(state, response []byte, lookup func(userHandle []byte) (domain.User, []domain.Passkey, error)) (PasskeyAssertion, error)
}

// PasskeyAssertion is a verified passkey sign-in.
type PasskeyAssertion struct {
	User    domain.User
	Passkey domain.Passkey // with the adapter's updated Data and SignCount
	// UserVerified: the authenticator verified the user (PIN, biometrics).
	UserVerified bool
	// CloneWarning: the signature counter went backwards, a sign the
	// credential may have been copied.
	CloneWarning bool
}
