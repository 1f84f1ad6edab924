package domain

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// Passkey "amr" values (RFC 8176): "hwk" is proof of possession of a
// hardware-secured key; "mfa" is added when the authenticator also
// verified the user (PIN or biometrics), which makes a passkey alone two
// factors.
const (
	MethodHardwareKey AuthMethod = "hwk"
	MethodMultiFactor AuthMethod = "mfa"
)

// Passkey errors.
var (
	// ErrInvalidCeremony: a passkey ceremony that is unknown, used, expired
	// or begun for someone else.
	ErrInvalidCeremony = errors.New("invalid or expired passkey ceremony")
	// ErrPasskeyRejected: the authenticator's answer does not verify (wrong
	// origin or RP ID, bad signature, unknown credential, user not
	// verified where required).
	ErrPasskeyRejected = errors.New("the passkey was not accepted")
	// ErrPasskeyExists: the credential is registered already.
	ErrPasskeyExists = errors.New("this passkey is registered already")
	// ErrReauthRequired: the change needs a recent sign-in (the session's
	// authentication is older than ReauthWindow).
	ErrReauthRequired = errors.New("sign in again to do this")
)

// ReauthWindow is how recent a session's sign-in must be to add a
// passkey: a stolen access token alone cannot plant a lasting credential.
const ReauthWindow = 10 * time.Minute

// PasskeyID identifies a registered passkey: a UUID.
type PasskeyID string

func (id PasskeyID) String() string { return string(id) }

// ParsePasskeyID validates s as a UUID.
func ParsePasskeyID(s string) (PasskeyID, error) {
	if !isUUID(s) {
		return "", fmt.Errorf("passkey id %q: not a UUID: %w", s, ErrNotFound)
	}
	return PasskeyID(s), nil
}

// MaxPasskeyNameLen bounds a passkey's name, in characters.
const MaxPasskeyNameLen = 64

// Passkey is a WebAuthn credential registered to a user. Data is the
// WebAuthn adapter's own record of it (public key, flags, counters),
// opaque to the core.
type Passkey struct {
	ID           PasskeyID
	UserID       UserID
	CredentialID []byte
	Name         string
	Data         []byte
	SignCount    uint32
	CreatedAt    time.Time
	LastUsedAt   time.Time // zero: never used
}

// ValidatePasskeyName trims a name and checks its length ("" is allowed:
// the server names it).
func ValidatePasskeyName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > MaxPasskeyNameLen || !utf8.ValidString(name) {
		return "", fieldError("name", CodeTooLong, fmt.Sprintf("name must be at most %d characters", MaxPasskeyNameLen))
	}
	return name, nil
}

// CeremonyKind says what a passkey ceremony was begun for.
type CeremonyKind string

// The ceremonies.
const (
	CeremonyRegister CeremonyKind = "register"
	// CeremonyLogin is usernameless sign-in with a discoverable passkey.
	CeremonyLogin CeremonyKind = "login"
	// CeremonySecondFactor answers a login's challenge with a passkey.
	CeremonySecondFactor CeremonyKind = "mfa"
)

// CeremonyTTL is how long a ceremony can be finished.
const CeremonyTTL = 5 * time.Minute

// CeremonyHash is the digest under which a ceremony is stored.
type CeremonyHash [sha256.Size]byte

// NewCeremonyToken draws a ceremony's handle: 256 bits, base64url.
func NewCeremonyToken(random io.Reader) (string, CeremonyHash, error) {
	var b [32]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", CeremonyHash{}, fmt.Errorf("ceremony: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b[:]), sha256.Sum256(append([]byte("authd ceremony\x00"), b[:]...)), nil
}

// ParseCeremonyToken checks a presented handle's form;
// ErrInvalidCeremony otherwise.
func ParseCeremonyToken(presented string) (CeremonyHash, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(presented)
	if err != nil || len(b) != 32 {
		return CeremonyHash{}, ErrInvalidCeremony
	}
	return sha256.Sum256(append([]byte("authd ceremony\x00"), b...)), nil
}

// Ceremony is a passkey ceremony begun and not yet finished, kept on the
// server: its challenge and expectations (State, the WebAuthn adapter's
// own record), bound to who began it.
type Ceremony struct {
	Hash CeremonyHash
	Kind CeremonyKind
	// UserID: the registering user, or the challenged one; empty for
	// usernameless sign-in.
	UserID UserID
	// MFAToken: the login challenge a second-factor ceremony answers.
	MFAToken  MFATokenHash
	State     []byte
	ExpiresAt time.Time
}
