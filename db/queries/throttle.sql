-- ClaimLoginAttempt is domain.ThrottlePolicy.Claim in one statement: it
-- admits an attempt by counting it (in a fresh window when window_us has
-- passed since window_start) and setting the lock it earns, unless the key
-- is locked now. delays_us is the policy's table (domain.ThrottlePolicy.Delays)
-- of the lock after the n-th attempt, 1-based; past its end the lock is its
-- last entry, the maximum. Concurrent claims on one key serialize on the row
-- (the INSERT's conflict takes its lock) and each sees the one before it, so
-- no more are admitted than the policy allows in a row. Only a real delay
-- moves locked_until (a free attempt leaves it where it was, -infinity for
-- a new key), as in Go: a free attempt that set it to its own now would
-- refuse a concurrent claim stamped a little earlier. A refused claim
-- updates nothing and returns no row; an admitted one returns the end of
-- the lock it earned, or now.
-- name: ClaimLoginAttempt :one
INSERT INTO login_throttle AS lt (email_key, failures, window_start, locked_until)
VALUES (sqlc.arg(email_key), 1, sqlc.arg(now)::timestamptz,
        CASE WHEN (sqlc.arg(delays_us)::bigint[])[1] > 0
             THEN sqlc.arg(now)::timestamptz + (sqlc.arg(delays_us)::bigint[])[1] * interval '1 microsecond'
             ELSE '-infinity'::timestamptz END)
ON CONFLICT (email_key) DO UPDATE
SET failures = CASE WHEN lt.window_start + sqlc.arg(window_us)::bigint * interval '1 microsecond' <= sqlc.arg(now)::timestamptz
                    THEN 1 ELSE lt.failures + 1 END,
    window_start = CASE WHEN lt.window_start + sqlc.arg(window_us)::bigint * interval '1 microsecond' <= sqlc.arg(now)::timestamptz
                        THEN sqlc.arg(now)::timestamptz ELSE lt.window_start END,
    locked_until = CASE WHEN coalesce(
            (sqlc.arg(delays_us)::bigint[])[CASE WHEN lt.window_start + sqlc.arg(window_us)::bigint * interval '1 microsecond' <= sqlc.arg(now)::timestamptz
                                                 THEN 1 ELSE lt.failures + 1 END],
            (sqlc.arg(delays_us)::bigint[])[cardinality(sqlc.arg(delays_us)::bigint[])]) > 0
        THEN sqlc.arg(now)::timestamptz + coalesce(
            (sqlc.arg(delays_us)::bigint[])[CASE WHEN lt.window_start + sqlc.arg(window_us)::bigint * interval '1 microsecond' <= sqlc.arg(now)::timestamptz
                                                 THEN 1 ELSE lt.failures + 1 END],
            (sqlc.arg(delays_us)::bigint[])[cardinality(sqlc.arg(delays_us)::bigint[])]) * interval '1 microsecond'
        ELSE lt.locked_until END
WHERE lt.locked_until <= sqlc.arg(now)::timestamptz
RETURNING failures, greatest(locked_until, sqlc.arg(now)::timestamptz)::timestamptz AS locked_until;

-- LoginThrottleLockedUntil tells a refused claim when to retry: the end of
-- the lock, or now when none is in force (the row may have been reset and
-- claimed afresh in between; never -infinity, which time.Time cannot hold).
-- name: LoginThrottleLockedUntil :one
SELECT greatest(locked_until, sqlc.arg(now)::timestamptz)::timestamptz AS locked_until
FROM login_throttle WHERE email_key = sqlc.arg(email_key);

-- name: ResetLoginAttempts :exec
DELETE FROM login_throttle WHERE email_key = @email_key;

-- ReleaseLoginAttempt gives back one attempt: a key left with no failure
-- and no lock in force is forgotten (failures must stay positive), any
-- other loses one failure. Both parts see one snapshot, so exactly one
-- applies.
-- name: ReleaseLoginAttempt :exec
WITH forgotten AS (
    DELETE FROM login_throttle AS d
    WHERE d.email_key = sqlc.arg(key)::bytea AND d.failures <= 1 AND d.locked_until <= sqlc.arg(now)::timestamptz
    RETURNING 1
)
UPDATE login_throttle AS u SET failures = u.failures - 1
WHERE u.email_key = sqlc.arg(key)::bytea AND u.failures > 1;

-- PruneLoginThrottle deletes up to max_rows keys a claim would start
-- afresh: lock over, window over. The conditions are repeated outside the
-- page: a key claimed after the page was read is re-checked on its new row
-- (READ COMMITTED) and stays.
-- name: PruneLoginThrottle :execrows
DELETE FROM login_throttle
WHERE email_key IN (
    SELECT t.email_key FROM login_throttle AS t
    WHERE t.locked_until <= sqlc.arg(now)::timestamptz
      AND t.window_start + sqlc.arg(window_us)::bigint * interval '1 microsecond' <= sqlc.arg(now)::timestamptz
    LIMIT sqlc.arg(max_rows)::integer
)
  AND locked_until <= sqlc.arg(now)::timestamptz
  AND window_start + sqlc.arg(window_us)::bigint * interval '1 microsecond' <= sqlc.arg(now)::timestamptz;

-- MarkLockAudited claims the recording of key's lock in force at now: one
-- row when this call is the first to see that lock (its end differs from
-- the one recorded), none when it was recorded already or no lock is in
-- force. Concurrent calls serialize on the row; the second re-checks the
-- WHERE on the first's update and finds nothing to do.
-- name: MarkLockAudited :execrows
UPDATE login_throttle SET audited_lock = locked_until
WHERE email_key = sqlc.arg(email_key)
  AND locked_until > sqlc.arg(now)::timestamptz
  AND audited_lock IS DISTINCT FROM locked_until;
