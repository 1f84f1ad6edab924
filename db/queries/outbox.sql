-- The mail outbox (ports.Outbox). A mail is pending while sent_at and
-- given_up_at are both NULL; lease_until hides a claimed one from other
-- couriers until the claim ends.

-- name: EnqueueMail :exec
INSERT INTO mail_outbox (id, kind, recipient, link, detail, created_at, next_attempt_at)
VALUES (@id, @kind, @recipient, @link, @detail, @created_at, @next_attempt_at);

-- ClaimMail leases up to max_rows due pending mails, oldest due first,
-- counting an attempt on each. FOR UPDATE SKIP LOCKED: couriers claiming
-- at once lock disjoint rows, and none waits for another; a row another
-- claim updated since the snapshot is re-checked against the conditions
-- (READ COMMITTED), so a mail leased meanwhile is not claimed again. The
-- rows come back in no particular order (the adapter sorts them).
-- name: ClaimMail :many
UPDATE mail_outbox
SET attempts = attempts + 1, lease_until = sqlc.arg(lease_until)::timestamptz
WHERE id IN (
    SELECT o.id FROM mail_outbox AS o
    WHERE o.sent_at IS NULL AND o.given_up_at IS NULL
      AND o.next_attempt_at <= sqlc.arg(now)::timestamptz
      AND (o.lease_until IS NULL OR o.lease_until <= sqlc.arg(now)::timestamptz)
    ORDER BY o.next_attempt_at, o.id
    LIMIT sqlc.arg(max_rows)::integer
    FOR UPDATE SKIP LOCKED
)
RETURNING id, kind, recipient, link, detail, created_at, next_attempt_at, attempts;

-- MailSent, MailFailed and MailGivenUp change a pending mail only: one
-- that ended already stays as it is. found tells an unknown id from an
-- ended mail: the SELECT sees the statement's snapshot, from before the
-- UPDATE. Sent and given-up mails forget their link (the token in it).
-- name: MailSent :one
WITH ended AS (
    UPDATE mail_outbox
    SET sent_at = sqlc.arg(now)::timestamptz, link = '', lease_until = NULL
    WHERE id = sqlc.arg(id)::uuid AND sent_at IS NULL AND given_up_at IS NULL
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM mail_outbox WHERE id = sqlc.arg(id)::uuid) AS found;

-- name: MailFailed :one
WITH failed AS (
    UPDATE mail_outbox
    SET next_attempt_at = sqlc.arg(next)::timestamptz, lease_until = NULL, last_error = sqlc.arg(last_error)::text
    WHERE id = sqlc.arg(id)::uuid AND sent_at IS NULL AND given_up_at IS NULL
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM mail_outbox WHERE id = sqlc.arg(id)::uuid) AS found;

-- name: MailGivenUp :one
WITH ended AS (
    UPDATE mail_outbox
    SET given_up_at = sqlc.arg(now)::timestamptz, link = '', lease_until = NULL, last_error = sqlc.arg(last_error)::text
    WHERE id = sqlc.arg(id)::uuid AND sent_at IS NULL AND given_up_at IS NULL
    RETURNING 1
)
SELECT EXISTS (SELECT 1 FROM mail_outbox WHERE id = sqlc.arg(id)::uuid) AS found;

-- oldest is meaningless (the epoch) when queued is 0.
-- name: MailQueue :one
SELECT count(*)::integer AS queued, coalesce(min(created_at), 'epoch')::timestamptz AS oldest
FROM mail_outbox
WHERE sent_at IS NULL AND given_up_at IS NULL;

-- AdmitMail is domain.MailCap.Admit in one statement (like
-- ClaimLoginAttempt): a new key is admitted with a count of 1; a known one
-- when its last mail is at or before last_by (now less the minimum
-- interval) and either its window began at or before window_by (now less
-- domain.MailCapWindow: a fresh window) or its count is below per_hour. A
-- refused claim updates nothing and returns no row. Concurrent admissions
-- of one key serialize on its row (the conflict takes its lock, inside a
-- transaction until it ends) and each sees the one before it. The caller
-- refuses a per_hour below 1 itself (no row would ever be admitted).
-- name: AdmitMail :one
INSERT INTO mail_caps AS mc (key, last_at, window_start, count)
VALUES (sqlc.arg(key), sqlc.arg(now)::timestamptz, sqlc.arg(now)::timestamptz, 1)
ON CONFLICT (key) DO UPDATE
SET count = CASE WHEN mc.window_start <= sqlc.arg(window_by)::timestamptz THEN 1 ELSE mc.count + 1 END,
    window_start = CASE WHEN mc.window_start <= sqlc.arg(window_by)::timestamptz
                        THEN sqlc.arg(now)::timestamptz ELSE mc.window_start END,
    last_at = sqlc.arg(now)::timestamptz
WHERE mc.last_at <= sqlc.arg(last_by)::timestamptz
  AND (mc.window_start <= sqlc.arg(window_by)::timestamptz OR mc.count < sqlc.arg(per_hour)::integer)
RETURNING count;
