package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd/adapters/sqlite/internal/sqlcdb"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var _ ports.SecondFactors = (*Store)(nil)

// PutTOTP stores a pending enrolment in one INSERT ... ON CONFLICT DO
// UPDATE that replaces a pending credential only: no row changed means a
// confirmed one exists (domain.ErrMFAState); the foreign key tells an
// unknown user (domain.ErrNotFound).
func (r *repos) PutTOTP(ctx context.Context, c domain.TOTPCredential) error {
	const op = "put totp"
	if !canonicalID(string(c.UserID)) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	n, err := r.w.PutTOTP(ctx, sqlcdb.PutTOTPParams{UserID: string(c.UserID), SealedSecret: c.SealedSecret, CreatedAt: micros(c.CreatedAt)})
	switch {
	case isForeignKeyViolation(err):
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	case err != nil:
		return r.translate(op, err)
	case n == 0:
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrMFAState)
	}
	return nil
}

// TOTP returns the user's credential, pending or confirmed.
func (r *repos) TOTP(ctx context.Context, user domain.UserID) (domain.TOTPCredential, error) {
	const op = "totp"
	if !canonicalID(string(user)) {
		return domain.TOTPCredential{}, fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	row, err := r.r.TOTP(ctx, string(user))
	if err != nil {
		return domain.TOTPCredential{}, r.translate(op, err)
	}
	return domain.TOTPCredential{
		UserID:       domain.UserID(row.UserID),
		SealedSecret: row.SealedSecret,
		Confirmed:    row.Confirmed != 0,
		CreatedAt:    fromMicros(row.CreatedAt),
		LastStep:     row.LastStep,
	}, nil
}

// ConfirmTOTP confirms the pending credential and sets the user's
// mfa_enabled, in one write transaction.
func (r *repos) ConfirmTOTP(ctx context.Context, user domain.UserID, step int64, _ time.Time) error {
	const op = "confirm totp"
	if !canonicalID(string(user)) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrMFAState)
	}
	return r.atomically(ctx, op, func(q *sqlcdb.Queries) error {
		n, err := q.ConfirmTOTP(ctx, sqlcdb.ConfirmTOTPParams{Step: step, UserID: string(user)})
		switch {
		case err != nil:
			return r.translate(op, err)
		case n == 0:
			return fmt.Errorf("sqlite: %s: %w", op, domain.ErrMFAState)
		}
		_, err = q.SetMFAEnabled(ctx, sqlcdb.SetMFAEnabledParams{MfaEnabled: 1, ID: string(user)})
		return r.translate(op, err)
	})
}

// UseTOTPStep records step in one UPDATE that accepts it only past the last
// step used, on a confirmed credential: writers are serial, so of
// concurrent uses of one step exactly one changes the row. When none
// changed, a read on the same connection says why.
func (r *repos) UseTOTPStep(ctx context.Context, user domain.UserID, step int64) error {
	const op = "use totp step"
	if !canonicalID(string(user)) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrMFAState)
	}
	n, err := r.w.UseTOTPStep(ctx, sqlcdb.UseTOTPStepParams{Step: step, UserID: string(user)})
	if err != nil || n > 0 {
		return r.translate(op, err)
	}
	row, err := r.w.TOTP(ctx, string(user))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrMFAState)
	case err != nil:
		return r.translate(op, err)
	case row.Confirmed == 0:
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrMFAState)
	}
	return fmt.Errorf("sqlite: %s: %w", op, domain.ErrTOTPReplayed)
}

// DeleteTOTP removes the credential and clears the user's mfa_enabled, in
// one write transaction.
func (r *repos) DeleteTOTP(ctx context.Context, user domain.UserID) (bool, error) {
	const op = "delete totp"
	if !canonicalID(string(user)) {
		return false, nil
	}
	var found bool
	err := r.atomically(ctx, op, func(q *sqlcdb.Queries) error {
		n, err := q.DeleteTOTP(ctx, string(user))
		if err != nil {
			return r.translate(op, err)
		}
		found = n > 0
		_, err = q.SetMFAEnabled(ctx, sqlcdb.SetMFAEnabledParams{MfaEnabled: 0, ID: string(user)})
		return r.translate(op, err)
	})
	if err != nil {
		return false, err
	}
	return found, nil
}

// ReplaceRecoveryCodes deletes the user's codes and inserts hashes, in one
// write transaction.
func (r *repos) ReplaceRecoveryCodes(ctx context.Context, user domain.UserID, hashes []domain.RecoveryCodeHash, now time.Time) error {
	const op = "replace recovery codes"
	if !canonicalID(string(user)) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	return r.atomically(ctx, op, func(q *sqlcdb.Queries) error {
		found, err := q.UserExists(ctx, string(user))
		switch {
		case err != nil:
			return r.translate(op, err)
		case !found:
			return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
		}
		if _, err := q.DeleteRecoveryCodes(ctx, string(user)); err != nil {
			return r.translate(op, err)
		}
		for _, h := range hashes {
			err := q.AddRecoveryCode(ctx, sqlcdb.AddRecoveryCodeParams{UserID: string(user), CodeHash: h[:], CreatedAt: micros(now)})
			if err != nil {
				return r.translate(op, err)
			}
		}
		return nil
	})
}

// UseRecoveryCode deletes the code in one DELETE on the writer: of
// concurrent uses exactly one deletes the row.
func (r *repos) UseRecoveryCode(ctx context.Context, user domain.UserID, hash domain.RecoveryCodeHash) error {
	const op = "use recovery code"
	if !canonicalID(string(user)) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	n, err := r.w.UseRecoveryCode(ctx, sqlcdb.UseRecoveryCodeParams{UserID: string(user), CodeHash: hash[:]})
	if err != nil {
		return r.translate(op, err)
	}
	if n == 0 {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	return nil
}

// RecoveryCodesLeft counts the user's unused codes.
func (r *repos) RecoveryCodesLeft(ctx context.Context, user domain.UserID) (int, error) {
	if !canonicalID(string(user)) {
		return 0, nil
	}
	n, err := r.r.RecoveryCodesLeft(ctx, string(user))
	if err != nil {
		return 0, r.translate("recovery codes left", err)
	}
	return int(n), nil
}

// DeleteRecoveryCodes removes the user's codes.
func (r *repos) DeleteRecoveryCodes(ctx context.Context, user domain.UserID) (int, error) {
	if !canonicalID(string(user)) {
		return 0, nil
	}
	n, err := r.w.DeleteRecoveryCodes(ctx, string(user))
	if err != nil {
		return 0, r.translate("delete recovery codes", err)
	}
	return int(n), nil
}

// CreateMFAChallenge inserts c; the foreign key tells an unknown user.
func (r *repos) CreateMFAChallenge(ctx context.Context, c domain.MFAChallenge) error {
	const op = "create mfa challenge"
	if !canonicalID(string(c.UserID)) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	err := r.w.CreateMFAChallenge(ctx, sqlcdb.CreateMFAChallengeParams{
		Hash:         c.Hash[:],
		UserID:       string(c.UserID),
		Methods:      domain.FormatMethods(c.Methods),
		AuthAt:       micros(c.AuthAt),
		PasswordHash: c.PasswordHash,
		ExpiresAt:    micros(c.ExpiresAt),
		Failures:     int64(c.Failures),
	})
	if isForeignKeyViolation(err) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	return r.translate(op, err)
}

// MFAChallenge reads a challenge without using it.
func (r *repos) MFAChallenge(ctx context.Context, hash domain.MFATokenHash) (domain.MFAChallenge, error) {
	const op = "mfa challenge"
	row, err := r.r.MFAChallenge(ctx, hash[:])
	if err != nil {
		return domain.MFAChallenge{}, r.translate(op, err)
	}
	return challengeFromRow(op, row)
}

// UseMFAChallenge deletes the challenge and returns it, in one DELETE ...
// RETURNING on the writer: of concurrent uses exactly one gets the row.
func (r *repos) UseMFAChallenge(ctx context.Context, hash domain.MFATokenHash) (domain.MFAChallenge, error) {
	const op = "use mfa challenge"
	row, err := r.w.UseMFAChallenge(ctx, hash[:])
	if err != nil {
		return domain.MFAChallenge{}, r.translate(op, err)
	}
	return challengeFromRow(op, row)
}

// FailMFAChallenge counts a failure and, at max, deletes the challenge, in
// one write transaction: writers are serial, so each failure is counted
// once.
func (r *repos) FailMFAChallenge(ctx context.Context, hash domain.MFATokenHash, max int) (int, error) {
	const op = "fail mfa challenge"
	var failures int64
	err := r.atomically(ctx, op, func(q *sqlcdb.Queries) error {
		var err error
		if failures, err = q.FailMFAChallenge(ctx, hash[:]); err != nil {
			return r.translate(op, err)
		}
		if failures >= int64(max) {
			return r.translate(op, q.DeleteMFAChallenge(ctx, hash[:]))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int(failures), nil
}

func challengeFromRow(op string, row sqlcdb.MfaChallenge) (domain.MFAChallenge, error) {
	if len(row.Hash) != len(domain.MFATokenHash{}) {
		// The CHECK constraint makes this unreachable short of a schema drift.
		return domain.MFAChallenge{}, fmt.Errorf("sqlite: %s: malformed row of user %s", op, row.UserID)
	}
	return domain.MFAChallenge{
		Hash:         domain.MFATokenHash(row.Hash),
		UserID:       domain.UserID(row.UserID),
		Methods:      domain.ParseMethods(row.Methods),
		AuthAt:       fromMicros(row.AuthAt),
		PasswordHash: row.PasswordHash,
		ExpiresAt:    fromMicros(row.ExpiresAt),
		Failures:     int(row.Failures),
	}, nil
}
