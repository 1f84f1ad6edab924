package postgres

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/authd/authd/adapters/postgres/internal/sqlcdb"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var _ ports.SecondFactors = (*Store)(nil)

// PutTOTP stores a pending enrolment in one INSERT ... ON CONFLICT DO
// UPDATE ... WHERE NOT confirmed: no row written means a confirmed one
// exists (domain.ErrMFAState); the foreign key tells an unknown user.
func (r *repos) PutTOTP(ctx context.Context, c domain.TOTPCredential) error {
	const op = "put totp"
	uid, ok := userUUID(c.UserID)
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	n, err := r.q.PutTOTP(ctx, sqlcdb.PutTOTPParams{UserID: uid, SealedSecret: c.SealedSecret, CreatedAt: c.CreatedAt})
	if err != nil {
		return r.translate(op, err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrMFAState)
	}
	return nil
}

// TOTP returns the user's credential, pending or confirmed.
func (r *repos) TOTP(ctx context.Context, user domain.UserID) (domain.TOTPCredential, error) {
	const op = "totp"
	uid, ok := userUUID(user)
	if !ok {
		return domain.TOTPCredential{}, fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	row, err := r.q.TOTP(ctx, uid)
	if err != nil {
		return domain.TOTPCredential{}, r.translate(op, err)
	}
	return domain.TOTPCredential{
		UserID:       domain.UserID(row.UserID.String()),
		SealedSecret: row.SealedSecret,
		Confirmed:    row.Confirmed,
		CreatedAt:    row.CreatedAt,
		LastStep:     row.LastStep,
	}, nil
}

// ConfirmTOTP confirms the pending credential and sets users.mfa_enabled
// in one statement.
func (r *repos) ConfirmTOTP(ctx context.Context, user domain.UserID, step int64, now time.Time) error {
	const op = "confirm totp"
	uid, ok := userUUID(user)
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrMFAState)
	}
	n, err := r.q.ConfirmTOTP(ctx, sqlcdb.ConfirmTOTPParams{Now: now, Step: step, UserID: uid})
	if err != nil {
		return r.translate(op, err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrMFAState)
	}
	return nil
}

// UseTOTPStep records step in one UPDATE ... WHERE last_step < step: of
// concurrent uses of one step exactly one updates the row. When none is
// updated, a read tells a replay from a missing or pending credential.
func (r *repos) UseTOTPStep(ctx context.Context, user domain.UserID, step int64) error {
	const op = "use totp step"
	uid, ok := userUUID(user)
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrMFAState)
	}
	n, err := r.q.UseTOTPStep(ctx, sqlcdb.UseTOTPStepParams{Step: step, UserID: uid})
	if err != nil {
		return r.translate(op, err)
	}
	if n == 1 {
		return nil
	}
	st, err := r.q.TOTPState(ctx, uid)
	switch {
	case errors.Is(err, pgx.ErrNoRows) || (err == nil && !st.Confirmed):
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrMFAState)
	case err != nil:
		return r.translate(op, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, domain.ErrTOTPReplayed)
}

// DeleteTOTP removes the credential and clears users.mfa_enabled in one
// statement.
func (r *repos) DeleteTOTP(ctx context.Context, user domain.UserID) (bool, error) {
	const op = "delete totp"
	uid, ok := userUUID(user)
	if !ok {
		return false, nil
	}
	n, err := r.q.DeleteTOTP(ctx, uid)
	if err != nil {
		return false, r.translate(op, err)
	}
	return n > 0, nil
}

// ReplaceRecoveryCodes makes hashes the user's only codes in one statement.
func (r *repos) ReplaceRecoveryCodes(ctx context.Context, user domain.UserID, hashes []domain.RecoveryCodeHash, now time.Time) error {
	const op = "replace recovery codes"
	uid, ok := userUUID(user)
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	hs := make([][]byte, len(hashes))
	for i := range hashes {
		hs[i] = hashes[i][:]
	}
	found, err := r.q.ReplaceRecoveryCodes(ctx, sqlcdb.ReplaceRecoveryCodesParams{UserID: uid, Hashes: hs, Now: now})
	if err != nil {
		return r.translate(op, err)
	}
	if !found {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	return nil
}

// UseRecoveryCode deletes the code in one DELETE: of concurrent uses
// exactly one deletes the row.
func (r *repos) UseRecoveryCode(ctx context.Context, user domain.UserID, hash domain.RecoveryCodeHash) error {
	const op = "use recovery code"
	uid, ok := userUUID(user)
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	n, err := r.q.UseRecoveryCode(ctx, sqlcdb.UseRecoveryCodeParams{UserID: uid, CodeHash: hash[:]})
	if err != nil {
		return r.translate(op, err)
	}
	if n == 0 {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	return nil
}

// RecoveryCodesLeft counts the user's codes.
func (r *repos) RecoveryCodesLeft(ctx context.Context, user domain.UserID) (int, error) {
	uid, ok := userUUID(user)
	if !ok {
		return 0, nil
	}
	n, err := r.q.RecoveryCodesLeft(ctx, uid)
	if err != nil {
		return 0, r.translate("recovery codes left", err)
	}
	return int(n), nil
}

// DeleteRecoveryCodes removes the user's codes.
func (r *repos) DeleteRecoveryCodes(ctx context.Context, user domain.UserID) (int, error) {
	uid, ok := userUUID(user)
	if !ok {
		return 0, nil
	}
	n, err := r.q.DeleteRecoveryCodes(ctx, uid)
	if err != nil {
		return 0, r.translate("delete recovery codes", err)
	}
	return int(n), nil
}

// CreateMFAChallenge inserts c; the foreign key tells an unknown user.
func (r *repos) CreateMFAChallenge(ctx context.Context, c domain.MFAChallenge) error {
	const op = "create mfa challenge"
	uid, ok := userUUID(c.UserID)
	if !ok {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	err := r.q.CreateMFAChallenge(ctx, sqlcdb.CreateMFAChallengeParams{
		Hash:         c.Hash[:],
		UserID:       uid,
		Methods:      domain.FormatMethods(c.Methods),
		AuthAt:       c.AuthAt,
		PasswordHash: c.PasswordHash,
		ExpiresAt:    c.ExpiresAt,
		Failures:     int32(min(max(c.Failures, 0), math.MaxInt32)),
	})
	return r.translate(op, err)
}

// MFAChallenge reads a challenge without using it.
func (r *repos) MFAChallenge(ctx context.Context, hash domain.MFATokenHash) (domain.MFAChallenge, error) {
	const op = "mfa challenge"
	row, err := r.q.MFAChallenge(ctx, hash[:])
	if err != nil {
		return domain.MFAChallenge{}, r.translate(op, err)
	}
	return challengeFromRow(op, row)
}

// UseMFAChallenge deletes and returns the challenge in one DELETE ...
// RETURNING: of concurrent uses exactly one gets it.
func (r *repos) UseMFAChallenge(ctx context.Context, hash domain.MFATokenHash) (domain.MFAChallenge, error) {
	const op = "use mfa challenge"
	row, err := r.q.UseMFAChallenge(ctx, hash[:])
	if err != nil {
		return domain.MFAChallenge{}, r.translate(op, err)
	}
	return challengeFromRow(op, row)
}

// FailMFAChallenge counts a failure in one statement under the row's lock
// (see the FailMFAChallenge query); at max the challenge is deleted.
func (r *repos) FailMFAChallenge(ctx context.Context, hash domain.MFATokenHash, maxFailures int) (int, error) {
	const op = "fail mfa challenge"
	n, err := r.q.FailMFAChallenge(ctx, sqlcdb.FailMFAChallengeParams{
		Hash: hash[:], MaxFailures: int32(min(max(maxFailures, 0), math.MaxInt32)),
	})
	if err != nil {
		return 0, r.translate(op, err)
	}
	return int(n), nil
}

func challengeFromRow(op string, row sqlcdb.MfaChallenge) (domain.MFAChallenge, error) {
	if len(row.Hash) != len(domain.MFATokenHash{}) {
		// The CHECK constraint makes this unreachable short of a schema drift.
		return domain.MFAChallenge{}, fmt.Errorf("postgres: %s: malformed row of user %s", op, row.UserID)
	}
	return domain.MFAChallenge{
		Hash:         domain.MFATokenHash(row.Hash),
		UserID:       domain.UserID(row.UserID.String()),
		Methods:      domain.ParseMethods(row.Methods),
		AuthAt:       row.AuthAt,
		PasswordHash: row.PasswordHash,
		ExpiresAt:    row.ExpiresAt,
		Failures:     int(row.Failures),
	}, nil
}

// PruneMFAChallenges deletes up to b.Limit challenges expired at now.
func (s *Store) PruneMFAChallenges(ctx context.Context, now time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune mfa challenges"
	limit, err := pruneLimit(op, b)
	if err != nil {
		return ports.PruneResult{}, err
	}
	n, err := s.q.PruneMFAChallenges(ctx, sqlcdb.PruneMFAChallengesParams{Now: now, MaxRows: limit})
	return pruned(s, op, n, limit, err)
}
