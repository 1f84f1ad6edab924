package memory

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var _ ports.SecondFactors = (*Store)(nil)

// PutTOTP stores a pending enrolment unless a confirmed one exists.
func (v *view) PutTOTP(_ context.Context, c domain.TOTPCredential) error {
	defer v.lock()()
	if _, ok := v.d.users[c.UserID]; !ok {
		return fmt.Errorf("memory: put totp: %w", domain.ErrNotFound)
	}
	if old, ok := v.d.totp[c.UserID]; ok && old.Confirmed {
		return fmt.Errorf("memory: put totp: %w", domain.ErrMFAState)
	}
	c.Confirmed, c.LastStep, c.CreatedAt = false, 0, pgTime(c.CreatedAt)
	c.SealedSecret = slices.Clone(c.SealedSecret)
	put(v, v.d.totp, c.UserID, c)
	return nil
}

// TOTP returns the user's credential.
func (v *view) TOTP(_ context.Context, user domain.UserID) (domain.TOTPCredential, error) {
	defer v.lock()()
	c, ok := v.d.totp[user]
	if !ok {
		return domain.TOTPCredential{}, fmt.Errorf("memory: totp: %w", domain.ErrNotFound)
	}
	c.SealedSecret = slices.Clone(c.SealedSecret)
	return c, nil
}

// ConfirmTOTP confirms a pending credential.
func (v *view) ConfirmTOTP(_ context.Context, user domain.UserID, step int64, _ time.Time) error {
	defer v.lock()()
	c, ok := v.d.totp[user]
	if !ok || c.Confirmed {
		return fmt.Errorf("memory: confirm totp: %w", domain.ErrMFAState)
	}
	c.Confirmed, c.LastStep = true, step
	put(v, v.d.totp, user, c)
	v.setMFA(user, true)
	return nil
}

// UseTOTPStep records step under the mutex.
func (v *view) UseTOTPStep(_ context.Context, user domain.UserID, step int64) error {
	defer v.lock()()
	c, ok := v.d.totp[user]
	if !ok || !c.Confirmed {
		return fmt.Errorf("memory: use totp step: %w", domain.ErrMFAState)
	}
	if step <= c.LastStep {
		return fmt.Errorf("memory: use totp step: %w", domain.ErrTOTPReplayed)
	}
	c.LastStep = step
	put(v, v.d.totp, user, c)
	return nil
}

// DeleteTOTP removes the credential.
func (v *view) DeleteTOTP(_ context.Context, user domain.UserID) (bool, error) {
	defer v.lock()()
	_, ok := v.d.totp[user]
	drop(v, v.d.totp, user)
	v.setMFA(user, false)
	return ok, nil
}

// setMFA sets the user's mfa_enabled flag (the mutex is held).
func (v *view) setMFA(user domain.UserID, on bool) {
	if u, ok := v.d.users[user]; ok && u.MFAEnabled() != on {
		put(v, v.d.users, user, u.WithMFAEnabled(on))
	}
}

// ReplaceRecoveryCodes makes hashes the user's codes.
func (v *view) ReplaceRecoveryCodes(_ context.Context, user domain.UserID, hashes []domain.RecoveryCodeHash, _ time.Time) error {
	defer v.lock()()
	if _, ok := v.d.users[user]; !ok {
		return fmt.Errorf("memory: replace recovery codes: %w", domain.ErrNotFound)
	}
	set := make(map[domain.RecoveryCodeHash]bool, len(hashes))
	for _, h := range hashes {
		set[h] = true
	}
	put(v, v.d.recovery, user, set)
	return nil
}

// UseRecoveryCode deletes one code.
func (v *view) UseRecoveryCode(_ context.Context, user domain.UserID, hash domain.RecoveryCodeHash) error {
	defer v.lock()()
	set := v.d.recovery[user]
	if !set[hash] {
		return fmt.Errorf("memory: use recovery code: %w", domain.ErrNotFound)
	}
	left := maps.Clone(set)
	delete(left, hash)
	put(v, v.d.recovery, user, left)
	return nil
}

// RecoveryCodesLeft counts the user's codes.
func (v *view) RecoveryCodesLeft(_ context.Context, user domain.UserID) (int, error) {
	defer v.lock()()
	return len(v.d.recovery[user]), nil
}

// DeleteRecoveryCodes removes the user's codes.
func (v *view) DeleteRecoveryCodes(_ context.Context, user domain.UserID) (int, error) {
	defer v.lock()()
	n := len(v.d.recovery[user])
	drop(v, v.d.recovery, user)
	return n, nil
}

// CreateMFAChallenge stores c.
func (v *view) CreateMFAChallenge(_ context.Context, c domain.MFAChallenge) error {
	defer v.lock()()
	if _, ok := v.d.users[c.UserID]; !ok {
		return fmt.Errorf("memory: create mfa challenge: %w", domain.ErrNotFound)
	}
	c.AuthAt, c.ExpiresAt, c.Methods = pgTime(c.AuthAt), pgTime(c.ExpiresAt), slices.Clone(c.Methods)
	put(v, v.d.challenges, c.Hash, c)
	return nil
}

// MFAChallenge reads a challenge.
func (v *view) MFAChallenge(_ context.Context, hash domain.MFATokenHash) (domain.MFAChallenge, error) {
	defer v.lock()()
	c, ok := v.d.challenges[hash]
	if !ok {
		return domain.MFAChallenge{}, fmt.Errorf("memory: mfa challenge: %w", domain.ErrNotFound)
	}
	return c, nil
}

// UseMFAChallenge deletes and returns a challenge.
func (v *view) UseMFAChallenge(_ context.Context, hash domain.MFATokenHash) (domain.MFAChallenge, error) {
	defer v.lock()()
	c, ok := v.d.challenges[hash]
	if !ok {
		return domain.MFAChallenge{}, fmt.Errorf("memory: use mfa challenge: %w", domain.ErrNotFound)
	}
	drop(v, v.d.challenges, hash)
	return c, nil
}

// FailMFAChallenge counts a failure; at max the challenge goes.
func (v *view) FailMFAChallenge(_ context.Context, hash domain.MFATokenHash, max int) (int, error) {
	defer v.lock()()
	c, ok := v.d.challenges[hash]
	if !ok {
		return 0, fmt.Errorf("memory: fail mfa challenge: %w", domain.ErrNotFound)
	}
	c.Failures++
	if c.Failures >= max {
		drop(v, v.d.challenges, hash)
	} else {
		put(v, v.d.challenges, hash, c)
	}
	return c.Failures, nil
}

// PruneMFAChallenges deletes up to b.Limit expired challenges.
func (s *Store) PruneMFAChallenges(_ context.Context, now time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	return pruneWhere(s, "mfa challenges", b, s.d.challenges, func(c domain.MFAChallenge) bool { return !now.Before(c.ExpiresAt) })
}
