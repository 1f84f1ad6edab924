-- The mail outbox and the mail caps, in SQLite's dialect: see
-- db/queries/outbox.sql. Every write runs on the one writer connection
-- (across processes, under the database's write lock), so each statement
-- below is atomic with respect to every other write.

-- name: EnqueueMail :exec
INSERT INTO mail_outbox (id, kind, recipient, link, detail, created_at, next_attempt_at)
VALUES (sqlc.arg(id), sqlc.arg(kind), sqlc.arg(recipient), sqlc.arg(link), sqlc.arg(detail),
        sqlc.arg(created_at), sqlc.arg(next_attempt_at));

-- ClaimMail leases up to max_rows due pending mails, oldest due first, in
-- one statement: writers are serial, so claims at once are disjoint. The
-- rows come back in no particular order (the adapter sorts them).
-- name: ClaimMail :many
UPDATE mail_outbox
SET attempts = attempts + 1, lease_until = sqlc.arg(lease_until)
WHERE id IN (
    SELECT o.id FROM mail_outbox AS o
    WHERE o.sent_at IS NULL AND o.given_up_at IS NULL
      AND o.next_attempt_at <= sqlc.arg(now)
      AND (o.lease_until IS NULL OR o.lease_until <= sqlc.arg(now))
    ORDER BY o.next_attempt_at, o.id
    LIMIT sqlc.arg(max_rows)
)
RETURNING id, kind, recipient, link, detail, created_at, next_attempt_at, attempts;

-- MailSent, MailFailed and MailGivenUp change a pending mail only; when
-- they change nothing, MailExists tells an unknown id from an ended mail.
-- name: MailSent :execrows
UPDATE mail_outbox
SET sent_at = sqlc.arg(now), link = '', lease_until = NULL
WHERE id = sqlc.arg(id) AND sent_at IS NULL AND given_up_at IS NULL;

-- name: MailFailed :execrows
UPDATE mail_outbox
SET next_attempt_at = sqlc.arg(next), lease_until = NULL, last_error = sqlc.arg(last_error)
WHERE id = sqlc.arg(id) AND sent_at IS NULL AND given_up_at IS NULL;

-- name: MailGivenUp :execrows
UPDATE mail_outbox
SET given_up_at = sqlc.arg(now), link = '', lease_until = NULL, last_error = sqlc.arg(last_error)
WHERE id = sqlc.arg(id) AND sent_at IS NULL AND given_up_at IS NULL;

-- name: MailExists :one
SELECT EXISTS (SELECT 1 FROM mail_outbox WHERE id = sqlc.arg(id)) AS found;

-- oldest is meaningless (0) when queued is 0.
-- name: MailQueue :one
SELECT count(*) AS queued, CAST(coalesce(min(created_at), 0) AS INTEGER) AS oldest
FROM mail_outbox
WHERE sent_at IS NULL AND given_up_at IS NULL;

-- The mail caps: AdmitMail runs domain.MailCap.Admit in Go between these
-- two in one write transaction (a savepoint inside WithinTx), like the
-- login throttle: writers are serial, across processes too, so concurrent
-- admissions of one key each see the one before them.
-- name: MailCapState :one
SELECT last_at, window_start, count FROM mail_caps WHERE key = sqlc.arg(key);

-- name: PutMailCapState :exec
INSERT INTO mail_caps (key, last_at, window_start, count)
VALUES (sqlc.arg(key), sqlc.arg(last_at), sqlc.arg(window_start), sqlc.arg(count))
ON CONFLICT (key) DO UPDATE
SET last_at = excluded.last_at, window_start = excluded.window_start, count = excluded.count;
