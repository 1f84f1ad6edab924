package domain

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"time"
)

// ErrInvalidEmailToken: an email token that is unknown, used, expired,
// meant for another purpose or malformed; deliberately one error.
var ErrInvalidEmailToken = errors.New("invalid or expired email token")

// ErrEmailNotVerified: the right password of an account whose email is not
// verified, where the configuration requires verified emails.
var ErrEmailNotVerified = errors.New("email not verified")

// ErrEmailAlreadyVerified: a verification asked for an address that is
// verified already (the admin API; the public one never tells).
var ErrEmailAlreadyVerified = errors.New("email already verified")

// EmailTokenPurpose is what an email token may be used for, and nothing else.
type EmailTokenPurpose string

// The purposes of email tokens.
const (
	PurposeVerifyEmail   EmailTokenPurpose = "verify_email"
	PurposeResetPassword EmailTokenPurpose = "reset_password"
	PurposeChangeEmail   EmailTokenPurpose = "change_email"
)

// EmailTokenPurposes lists every purpose, in a stable order.
var EmailTokenPurposes = []EmailTokenPurpose{PurposeVerifyEmail, PurposeResetPassword, PurposeChangeEmail}

// ParseEmailTokenPurpose accepts only the known purposes.
func ParseEmailTokenPurpose(s string) (EmailTokenPurpose, error) {
	for _, p := range EmailTokenPurposes {
		if string(p) == s {
			return p, nil
		}
	}
	return "", fmt.Errorf("unknown email token purpose %q", s)
}

// EmailTokenHash is the digest under which an email token is stored. It
// covers the purpose, so a token presented for another purpose is simply
// unknown.
type EmailTokenHash [sha256.Size]byte

// emailTokenBytes is the entropy of an email token: 256 bits.
const emailTokenBytes = 32

// NewEmailTokenValue draws a token for purpose from random: 256 bits,
// base64url without padding (what the link carries), and its digest (what
// the store keeps).
func NewEmailTokenValue(random io.Reader, purpose EmailTokenPurpose) (string, EmailTokenHash, error) {
	var b [emailTokenBytes]byte
	if _, err := io.ReadFull(random, b[:]); err != nil {
		return "", EmailTokenHash{}, fmt.Errorf("email token: %w", err)
	}
	value := base64.RawURLEncoding.EncodeToString(b[:])
	return value, emailTokenDigest(purpose, b[:]), nil
}

// ParseEmailToken checks a presented token's form and returns its digest
// for purpose; anything that is not 32 base64url bytes is
// ErrInvalidEmailToken.
func ParseEmailToken(presented string, purpose EmailTokenPurpose) (EmailTokenHash, error) {
	b, err := base64.RawURLEncoding.Strict().DecodeString(presented)
	if err != nil || len(b) != emailTokenBytes {
		return EmailTokenHash{}, ErrInvalidEmailToken
	}
	return emailTokenDigest(purpose, b), nil
}

func emailTokenDigest(purpose EmailTokenPurpose, raw []byte) EmailTokenHash {
	h := sha256.New()
	h.Write([]byte("authd email token\x00" + string(purpose) + "\x00"))
	h.Write(raw)
	var d EmailTokenHash
	h.Sum(d[:0])
	return d
}

// EmailToken is a stored email token: one user, one purpose, one use.
type EmailToken struct {
	Hash    EmailTokenHash
	UserID  UserID
	Purpose EmailTokenPurpose
	// Email is the address the token was sent to: the account's for
	// verification and reset, the new one for an email change.
	Email     Email
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Usable reports whether t may still be used at now.
func (t EmailToken) Usable(now time.Time) bool { return now.Before(t.ExpiresAt) }

// EmailTokenPolicy holds the lifetimes of email tokens.
type EmailTokenPolicy struct {
	VerifyTTL, ResetTTL, ChangeTTL time.Duration
}

// TTL is the lifetime of a token of purpose.
func (p EmailTokenPolicy) TTL(purpose EmailTokenPurpose) time.Duration {
	switch purpose {
	case PurposeVerifyEmail:
		return p.VerifyTTL
	case PurposeResetPassword:
		return p.ResetTTL
	default:
		return p.ChangeTTL
	}
}

// MailCapKey names one address and purpose for the mail caps: a digest, so
// the store keeps no attacker-chosen address in clear.
type MailCapKey [sha256.Size]byte

// MailCapKeyFor derives the key of an address (by its canonical key) and a
// purpose.
func MailCapKeyFor(e Email, purpose EmailTokenPurpose) MailCapKey {
	return sha256.Sum256([]byte("authd mail cap\x00" + string(purpose) + "\x00" + e.Key()))
}

// MailCap limits the mails a request can make one address receive: at most
// one per MinInterval and at most PerHour in a sliding hour's window that
// starts at the first mail.
type MailCap struct {
	MinInterval time.Duration
	PerHour     int
}

// MailCapWindow is the window PerHour counts in.
const MailCapWindow = time.Hour

// MailCapState is what a store keeps per key.
type MailCapState struct {
	Last        time.Time // the last admitted mail
	WindowStart time.Time
	Count       int // admitted in the window
}

// Admit decides whether a mail may go at now given s, and returns the
// state to store when it may.
func (c MailCap) Admit(s MailCapState, now time.Time) (MailCapState, bool) {
	if !s.Last.IsZero() && now.Before(s.Last.Add(c.MinInterval)) {
		return s, false
	}
	if s.WindowStart.IsZero() || !now.Before(s.WindowStart.Add(MailCapWindow)) {
		s.WindowStart, s.Count = now, 0
	}
	if s.Count >= c.PerHour {
		return s, false
	}
	s.Count++
	s.Last = now
	return s, true
}

// Stale reports whether s no longer limits anything at now: Admit would
// treat it as new.
func (c MailCap) Stale(s MailCapState, now time.Time) bool {
	return !now.Before(s.Last.Add(c.MinInterval)) && !now.Before(s.WindowStart.Add(MailCapWindow))
}
