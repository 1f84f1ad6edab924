package domain

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
)

// The second-factor methods, by their "amr" values (RFC 8176 where one
// fits: "otp" for a one-time password from an authenticator app; a
// recovery code has no registered value and is recorded as what it is).
const (
	MethodOTP          AuthMethod = "otp"
	MethodRecoveryCode AuthMethod = "recovery_code"
)

// Errors of multi-factor sign-in.
var (
	// ErrMFARequired: the password was right and the account has a second
	// factor; the answer is a *MFAChallengeIssued carrying the challenge.
	ErrMFARequired = errors.New("a second factor is required")
	// ErrInvalidMFAToken: an mfa_token that is unknown, used, expired,
	// malformed or dead after too many wrong codes.
	ErrInvalidMFAToken = errors.New("invalid or expired mfa token")
	// ErrInvalidMFACode: a wrong, malformed, replayed or used code.
	ErrInvalidMFACode = errors.New("invalid code")
	// ErrTOTPReplayed: the code's time step was used already (a store
	// refuses it atomically); answered as ErrInvalidMFACode.
	ErrTOTPReplayed = replayedError{}
	// ErrMFAState: the factor is not in a state that allows the request
	// (no pending enrolment to confirm, TOTP enabled already, not enabled).
	ErrMFAState = errors.New("the second factor is not in a state that allows this")
	// ErrSecretsUnavailable: no key to encrypt factor secrets with (the
	// data key is not configured).
	ErrSecretsUnavailable = errors.New("second factors are unavailable: no data key")
)

type replayedError struct{}

func (replayedError) Error() string        { return "one-time code already used" }
func (replayedError) Is(target error) bool { return target == ErrInvalidMFACode }

// MFAChallengeIssued is the refusal of a login that needs a second factor:
// the challenge's token (shown once) and the methods that can answer it.
type MFAChallengeIssued struct {
	Token   string
	Methods []string
}

func (e *MFAChallengeIssued) Error() string { return ErrMFARequired.Error() }

// Unwrap makes errors.Is(err, ErrMFARequired) hold.
func (e *MFAChallengeIssued) Unwrap() error { return ErrMFARequired }

// TOTPCredential is a user's authenticator-app secret, sealed (encrypted
// with the data key, bound to the user). Pending until a code confirms it.
type TOTPCredential struct {
	UserID       UserID
	SealedSecret []byte
	Confirmed    bool
	CreatedAt    time.Time
	// LastStep is the RFC 6238 time step of the last code accepted: a code
	// of that step or an earlier one is refused (no replay).
	LastStep int64
}

// RecoveryCodeCount is how many recovery codes a user gets at once.
const RecoveryCodeCount = 10

// recoveryCodeBytes is the entropy of one code: 80 bits, 16 base32
// characters.
const recoveryCodeBytes = 10

var recoveryEncoding = base32.StdEncoding.WithPadding(base32.NoPadding)

// RecoveryCodeHash is the digest a store keeps of a recovery code; the
// codes have 80 bits of entropy, so a fast hash suffices.
type RecoveryCodeHash [sha256.Size]byte

// NewRecoveryCodes draws RecoveryCodeCount codes from random, formatted
// "xxxx-xxxx-xxxx-xxxx" in lower case, with their digests.
func NewRecoveryCodes(random io.Reader) ([]string, []RecoveryCodeHash, error) {
	codes := make([]string, RecoveryCodeCount)
	hashes := make([]RecoveryCodeHash, RecoveryCodeCount)
	for i := range codes {
		var b [recoveryCodeBytes]byte
		if _, err := io.ReadFull(random, b[:]); err != nil {
			return nil, nil, fmt.Errorf("recovery codes: %w", err)
		}
		s := strings.ToLower(recoveryEncoding.EncodeToString(b[:]))
		codes[i] = s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
		hashes[i], _ = ParseRecoveryCode(codes[i])
	}
	return codes, hashes, nil
}

// ParseRecoveryCode normalises a typed code (case, spaces and dashes do
// not matter) and returns its digest; anything that is not 16 base32
// characters is ErrInvalidMFACode.
func ParseRecoveryCode(typed string) (RecoveryCodeHash, error) {
	s := strings.Map(func(r rune) rune {
		switch r {
		case '-', ' ':
			return -1
		}
		return r
	}, strings.ToUpper(strings.TrimSpace(typed)))
	if len(s) != 16 {
		return RecoveryCodeHash{}, ErrInvalidMFACode
	}
	if _, err := recoveryEncoding.DecodeString(s); err != nil {
		return RecoveryCodeHash{}, ErrInvalidMFACode
	}
	return sha256.Sum256([]byte("authd recovery code\x00" + s)), nil
}

// MFATokenHash is the digest under which a login challenge is stored.
type MFATokenHash [sha256.Size]byte

// MFAChallengeTTL is how long a login challenge can be answered.
const MFAChallengeTTL = 5 * time.Minute

// MaxMFAFailures wrong codes kill a challenge.
const MaxMFAFailures = 5

// NewMFAToken draws a challenge token: 256 bits, base64url.
func NewMFAToken(random io.Reader) (string, MFATokenHash, error) {
	var b [32]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", MFATokenHash{}, fmt.Errorf("mfa token: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), mfaTokenDigest(b[:]), nil
}

// ParseMFAToken checks a presented token's form; ErrInvalidMFAToken
// otherwise.
func ParseMFAToken(presented string) (MFATokenHash, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(presented)
	if err != nil || len(b) != 32 {
		return MFATokenHash{}, ErrInvalidMFAToken
	}
	return mfaTokenDigest(b), nil
}

func mfaTokenDigest(raw []byte) MFATokenHash {
	return sha256.Sum256(append([]byte("authd mfa token\x00"), raw...))
}

// MFAChallenge is a login halfway: the password was right, a second
// factor is due. It remembers what the first step proved, so the second
// opens the session the first would have.
type MFAChallenge struct {
	Hash   MFATokenHash
	UserID UserID
	// Methods proved so far, and when (the password's time is the
	// session's auth_time).
	Methods []AuthMethod
	AuthAt  time.Time
	// PasswordHash is the hash the password was verified against; the
	// session opens only while it is still the account's.
	PasswordHash string
	ExpiresAt    time.Time
	Failures     int
}

// Usable reports whether c can still be answered at now.
func (c MFAChallenge) Usable(now time.Time) bool {
	return now.Before(c.ExpiresAt) && c.Failures < MaxMFAFailures
}

// String leaves the password hash out.
func (c MFAChallenge) String() string {
	return fmt.Sprintf("MFAChallenge{user: %s, methods: %s, failures: %d}", c.UserID, FormatMethods(c.Methods), c.Failures)
}
