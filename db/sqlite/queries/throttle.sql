-- The login throttle. ClaimLoginAttempt is domain.ThrottlePolicy.Claim run
-- in Go inside one write transaction (BEGIN IMMEDIATE): read the key's
-- state, decide, write it back. Writers are serial, across processes too,
-- so concurrent claims on one key each see the one before them.

-- name: LoginThrottleState :one
SELECT failures, window_start, locked_until FROM login_throttle WHERE email_key = sqlc.arg(email_key);

-- name: PutLoginThrottleState :exec
INSERT INTO login_throttle (email_key, failures, window_start, locked_until)
VALUES (sqlc.arg(email_key), sqlc.arg(failures), sqlc.arg(window_start), sqlc.arg(locked_until))
ON CONFLICT (email_key) DO UPDATE
SET failures = excluded.failures, window_start = excluded.window_start, locked_until = excluded.locked_until;

-- name: ResetLoginAttempts :exec
DELETE FROM login_throttle WHERE email_key = sqlc.arg(email_key);

-- ReleaseLoginAttempt gives back one attempt: a key left with no failure
-- and no lock in force is forgotten (failures must stay positive), any
-- other loses one failure. The two statements run in one write
-- transaction and touch disjoint rows, so exactly one applies.
-- name: ForgetReleasedLoginAttempt :exec
DELETE FROM login_throttle
WHERE email_key = sqlc.arg(email_key) AND failures <= 1 AND locked_until <= sqlc.arg(now);

-- name: DecrementLoginAttempts :exec
UPDATE login_throttle SET failures = failures - 1
WHERE email_key = sqlc.arg(email_key) AND failures > 1;

-- PruneLoginThrottle deletes up to max_rows keys a claim would start
-- afresh: lock over, window over.
-- name: PruneLoginThrottle :execrows
DELETE FROM login_throttle
WHERE email_key IN (
    SELECT t.email_key FROM login_throttle AS t
    WHERE t.locked_until <= sqlc.arg(now)
      AND t.window_start + sqlc.arg(window_us) <= sqlc.arg(now)
    LIMIT sqlc.arg(max_rows)
);

-- MarkLockAudited claims the recording of key's lock in force at now: one
-- row when this call is the first to see that lock, none when it was
-- recorded already or no lock is in force (writers are serial).
-- name: MarkLockAudited :execrows
UPDATE login_throttle SET audited_lock = locked_until
WHERE email_key = sqlc.arg(email_key)
  AND locked_until > sqlc.arg(now)
  AND audited_lock IS NOT locked_until;
