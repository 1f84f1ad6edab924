-- Second factors: TOTP credentials, recovery codes and login challenges.
-- Every rule two requests could race on is one statement on the writer, or
-- a write transaction of a few (adapters/sqlite/factors.go).

-- PutTOTP stores a pending enrolment, replacing a pending one; a confirmed
-- one stays as it is (no row changed: domain.ErrMFAState).
-- name: PutTOTP :execrows
INSERT INTO totp_credentials (user_id, sealed_secret, confirmed, created_at, last_step)
VALUES (sqlc.arg(user_id), sqlc.arg(sealed_secret), 0, sqlc.arg(created_at), 0)
ON CONFLICT (user_id) DO UPDATE
SET sealed_secret = excluded.sealed_secret, created_at = excluded.created_at, last_step = 0
WHERE totp_credentials.confirmed = 0;

-- name: TOTP :one
SELECT user_id, sealed_secret, confirmed, created_at, last_step
FROM totp_credentials
WHERE user_id = sqlc.arg(user_id);

-- name: ConfirmTOTP :execrows
UPDATE totp_credentials
SET confirmed = 1, last_step = sqlc.arg(step)
WHERE user_id = sqlc.arg(user_id) AND confirmed = 0;

-- UseTOTPStep accepts step only past the last one used, on a confirmed
-- credential; no row changed is a replay or no confirmed credential.
-- name: UseTOTPStep :execrows
UPDATE totp_credentials
SET last_step = sqlc.arg(step)
WHERE user_id = sqlc.arg(user_id) AND confirmed = 1 AND last_step < sqlc.arg(step);

-- name: DeleteTOTP :execrows
DELETE FROM totp_credentials
WHERE user_id = sqlc.arg(user_id);

-- name: SetMFAEnabled :execrows
UPDATE users
SET mfa_enabled = sqlc.arg(mfa_enabled)
WHERE id = sqlc.arg(id);

-- name: UserExists :one
SELECT EXISTS (SELECT 1 FROM users WHERE id = sqlc.arg(id)) AS found;

-- name: AddRecoveryCode :exec
INSERT INTO recovery_codes (user_id, code_hash, created_at)
VALUES (sqlc.arg(user_id), sqlc.arg(code_hash), sqlc.arg(created_at))
ON CONFLICT (user_id, code_hash) DO NOTHING;

-- name: UseRecoveryCode :execrows
DELETE FROM recovery_codes
WHERE user_id = sqlc.arg(user_id) AND code_hash = sqlc.arg(code_hash);

-- name: RecoveryCodesLeft :one
SELECT count(*) FROM recovery_codes
WHERE user_id = sqlc.arg(user_id);

-- name: DeleteRecoveryCodes :execrows
DELETE FROM recovery_codes
WHERE user_id = sqlc.arg(user_id);

-- name: CreateMFAChallenge :exec
INSERT INTO mfa_challenges (hash, user_id, methods, auth_at, password_hash, expires_at, failures)
VALUES (sqlc.arg(hash), sqlc.arg(user_id), sqlc.arg(methods), sqlc.arg(auth_at), sqlc.arg(password_hash),
        sqlc.arg(expires_at), sqlc.arg(failures));

-- name: MFAChallenge :one
SELECT hash, user_id, methods, auth_at, password_hash, expires_at, failures
FROM mfa_challenges
WHERE hash = sqlc.arg(hash);

-- UseMFAChallenge deletes the challenge and returns it: writers are
-- serial, so of concurrent uses exactly one gets the row.
-- name: UseMFAChallenge :one
DELETE FROM mfa_challenges
WHERE hash = sqlc.arg(hash)
RETURNING hash, user_id, methods, auth_at, password_hash, expires_at, failures;

-- name: FailMFAChallenge :one
UPDATE mfa_challenges
SET failures = failures + 1
WHERE hash = sqlc.arg(hash)
RETURNING failures;

-- name: DeleteMFAChallenge :exec
DELETE FROM mfa_challenges
WHERE hash = sqlc.arg(hash);
