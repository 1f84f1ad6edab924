// Package totp makes and checks the time-based one-time passwords of
// authenticator apps (RFC 6238) with pquerna/otp: SHA-1, 6 digits, a 30 s
// period and one step of skew either way, the parameters every app
// understands. pquerna/otp never leaves this package.
package totp

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"errors"
	"fmt"
	"image/png"
	"io"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/hotp"
	xtotp "github.com/pquerna/otp/totp"

	"github.com/authd/authd/ports"
)

const (
	// Period is the length of a time step, in seconds.
	Period = 30
	// Digits is the length of a code.
	Digits = 6
	// SecretSize is the size of a new secret in bytes (160 bits, as RFC
	// 4226 recommends).
	SecretSize = 20
	// minSecretChars is RFC 4226's floor of 128 bits, in base32 characters:
	// a stored secret shorter than that is refused, never used.
	minSecretChars = (128 + 4) / 5
	// MaxQRSize bounds QRCodePNG's side, in pixels.
	MaxQRSize = 1024
)

var hotpOpts = hotp.ValidateOpts{Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// Authenticator implements ports.TOTP.
type Authenticator struct {
	random io.Reader
}

// New returns an Authenticator that draws secrets from random (nil means
// crypto/rand).
func New(random io.Reader) *Authenticator {
	if random == nil {
		random = rand.Reader
	}
	return &Authenticator{random: random}
}

// NewSecret makes a 160-bit secret for account and its otpauth://totp URI
// (Key URI Format: label "issuer:account", with secret, issuer, algorithm,
// digits and period). Neither issuer nor account may be empty or hold a
// colon, which would make the label ambiguous.
func (a *Authenticator) NewSecret(issuer, account string) (secret, uri string, err error) {
	if strings.Contains(issuer, ":") || strings.Contains(account, ":") {
		return "", "", errors.New("totp: issuer and account may not contain a colon")
	}
	key, err := xtotp.Generate(xtotp.GenerateOpts{
		Issuer:      issuer,
		AccountName: account,
		Period:      Period,
		SecretSize:  SecretSize,
		Digits:      otp.DigitsSix,
		Algorithm:   otp.AlgorithmSHA1,
		Rand:        a.random,
	})
	if err != nil {
		return "", "", fmt.Errorf("totp: %w", err)
	}
	return key.Secret(), key.String(), nil
}

// Match reports the time step whose code is code among now's step and its
// neighbours, preferring now's. All three codes are computed and compared
// in constant time whatever the outcome. A code that is not exactly six
// ASCII digits, a secret that is not base32 of at least 128 bits, and steps
// before the Unix epoch never match.
func (a *Authenticator) Match(secret, code string, now time.Time) (step int64, ok bool) {
	if !sixDigits(code) || len(strings.TrimRight(strings.TrimSpace(secret), "=")) < minSecretChars {
		return 0, false
	}
	current := floorDiv(now.Unix(), Period)
	for _, s := range [...]int64{current, current - 1, current + 1} {
		if s < 0 {
			continue
		}
		want, err := hotp.GenerateCodeCustom(secret, uint64(s), hotpOpts)
		if err != nil {
			return 0, false // not base32: the same for every step
		}
		if subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 && !ok {
			step, ok = s, true
		}
	}
	return step, ok
}

// Code returns the code of secret at time step step; tests and tools use it
// to play the authenticator app.
func Code(secret string, step int64) (string, error) {
	if step < 0 {
		return "", errors.New("totp: negative time step")
	}
	code, err := hotp.GenerateCodeCustom(secret, uint64(step), hotpOpts)
	if err != nil {
		return "", fmt.Errorf("totp: %w", err)
	}
	return code, nil
}

// QRCodePNG renders an otpauth:// URI as a PNG QR code of size×size pixels
// (at most MaxQRSize; too small for the code is an error), for an
// enrolment page to show next to the secret.
func QRCodePNG(uri string, size int) ([]byte, error) {
	if !strings.HasPrefix(uri, "otpauth://") {
		return nil, errors.New("totp: not an otpauth:// URI")
	}
	if size <= 0 || size > MaxQRSize {
		return nil, fmt.Errorf("totp: QR code size %d outside 1..%d", size, MaxQRSize)
	}
	key, err := otp.NewKeyFromURL(uri)
	if err != nil {
		return nil, fmt.Errorf("totp: %w", err)
	}
	img, err := key.Image(size, size)
	if err != nil {
		return nil, fmt.Errorf("totp: QR code: %w", err)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("totp: QR code: %w", err)
	}
	return buf.Bytes(), nil
}

func sixDigits(code string) bool {
	if len(code) != Digits {
		return false
	}
	for i := range len(code) {
		if code[i] < '0' || code[i] > '9' {
			return false
		}
	}
	return true
}

// floorDiv rounds towards minus infinity, so the second before the epoch is
// step -1, not step 0.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

var _ ports.TOTP = (*Authenticator)(nil)
