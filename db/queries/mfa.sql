-- Second factors (ports.SecondFactors). Every rule two requests could race
-- on is one statement: a TOTP time step accepted once (UseTOTPStep's
-- UPDATE ... WHERE last_step < step), a recovery code or a challenge used
-- once (DELETE), a challenge's failures counted under its row lock.

-- PutTOTP stores a pending enrolment, replacing a pending one; a confirmed
-- one stays (no row: domain.ErrMFAState). The foreign key tells an unknown
-- user.
-- name: PutTOTP :execrows
INSERT INTO totp_credentials (user_id, sealed_secret, confirmed, created_at, last_step)
VALUES (@user_id, @sealed_secret, false, @created_at, 0)
ON CONFLICT (user_id) DO UPDATE
SET sealed_secret = excluded.sealed_secret, confirmed = false, created_at = excluded.created_at, last_step = 0
WHERE NOT totp_credentials.confirmed;

-- name: TOTP :one
SELECT user_id, sealed_secret, confirmed, created_at, last_step
FROM totp_credentials
WHERE user_id = @user_id;

-- ConfirmTOTP confirms the pending credential with the step that proved it
-- and sets users.mfa_enabled, in one statement. No row: none pending.
-- name: ConfirmTOTP :execrows
WITH confirmed AS (
    UPDATE totp_credentials
    SET confirmed = true, last_step = sqlc.arg(step)::bigint
    WHERE user_id = sqlc.arg(user_id)::uuid AND NOT confirmed
    RETURNING user_id
)
UPDATE users AS u
SET mfa_enabled = true, updated_at = sqlc.arg(now)::timestamptz
FROM confirmed
WHERE u.id = confirmed.user_id;

-- UseTOTPStep accepts step once: of concurrent uses of one step the first
-- to lock the row wins, the others re-check it and find last_step = step.
-- No row: no confirmed credential, or a replay (TOTPState tells).
-- name: UseTOTPStep :execrows
UPDATE totp_credentials
SET last_step = sqlc.arg(step)::bigint
WHERE user_id = sqlc.arg(user_id)::uuid AND confirmed AND last_step < sqlc.arg(step)::bigint;

-- name: TOTPState :one
SELECT confirmed, last_step
FROM totp_credentials
WHERE user_id = @user_id;

-- DeleteTOTP removes the credential and clears users.mfa_enabled in one
-- statement, and counts the credentials removed (0 or 1).
-- name: DeleteTOTP :one
WITH gone AS (
    DELETE FROM totp_credentials
    WHERE user_id = sqlc.arg(user_id)::uuid
    RETURNING user_id
), cleared AS (
    UPDATE users
    SET mfa_enabled = false
    WHERE id = sqlc.arg(user_id)::uuid AND mfa_enabled
    RETURNING id
)
SELECT (SELECT count(*) FROM gone)::integer AS deleted;

-- ReplaceRecoveryCodes makes hashes the user's only codes in one
-- statement: the codes not among them are deleted, the new ones inserted
-- (one already there stays). The foreign key tells an unknown user; found
-- tells one when there is nothing to insert.
-- name: ReplaceRecoveryCodes :one
WITH dropped AS (
    DELETE FROM recovery_codes
    WHERE user_id = sqlc.arg(user_id)::uuid
      AND NOT (code_hash = ANY (sqlc.arg(hashes)::bytea[]))
    RETURNING code_hash
), added AS (
    INSERT INTO recovery_codes (user_id, code_hash, created_at)
    SELECT sqlc.arg(user_id)::uuid, h, sqlc.arg(now)::timestamptz
    FROM unnest(sqlc.arg(hashes)::bytea[]) AS h
    ON CONFLICT (user_id, code_hash) DO NOTHING
    RETURNING code_hash
)
SELECT EXISTS (SELECT 1 FROM users WHERE id = sqlc.arg(user_id)::uuid) AS found;

-- UseRecoveryCode deletes one code: of concurrent uses exactly one deletes
-- the row.
-- name: UseRecoveryCode :execrows
DELETE FROM recovery_codes
WHERE user_id = @user_id AND code_hash = @code_hash;

-- name: RecoveryCodesLeft :one
SELECT count(*)::integer AS remaining
FROM recovery_codes
WHERE user_id = @user_id;

-- name: DeleteRecoveryCodes :execrows
DELETE FROM recovery_codes
WHERE user_id = @user_id;

-- name: CreateMFAChallenge :exec
INSERT INTO mfa_challenges (hash, user_id, methods, auth_at, password_hash, expires_at, failures)
VALUES (@hash, @user_id, @methods, @auth_at, @password_hash, @expires_at, @failures);

-- name: MFAChallenge :one
SELECT hash, user_id, methods, auth_at, password_hash, expires_at, failures
FROM mfa_challenges
WHERE hash = @hash;

-- UseMFAChallenge deletes and returns the challenge: of concurrent uses
-- exactly one gets the row.
-- name: UseMFAChallenge :one
DELETE FROM mfa_challenges
WHERE hash = @hash
RETURNING hash, user_id, methods, auth_at, password_hash, expires_at, failures;

-- FailMFAChallenge counts one wrong code in one statement: the row is
-- locked and read at its newest version (concurrent failures queue on the
-- lock, each counting on the last one's count), then updated with the new
-- count, or deleted when it reaches max. No row: no such challenge.
-- name: FailMFAChallenge :one
WITH cur AS (
    SELECT c.hash, c.failures + 1 AS failures
    FROM mfa_challenges AS c
    WHERE c.hash = sqlc.arg(hash)::bytea
    FOR UPDATE
), killed AS (
    DELETE FROM mfa_challenges AS m
    USING cur
    WHERE m.hash = cur.hash AND cur.failures >= sqlc.arg(max_failures)::integer
    RETURNING m.hash
), counted AS (
    UPDATE mfa_challenges AS m
    SET failures = cur.failures
    FROM cur
    WHERE m.hash = cur.hash AND cur.failures < sqlc.arg(max_failures)::integer
    RETURNING m.hash
)
SELECT cur.failures::integer AS failures
FROM cur;
