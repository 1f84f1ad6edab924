-- The pruner (application.Pruner): deletes what can no longer matter,
-- by domain/retention.go's rules, in bounded batches. Sessions and refresh
-- tokens are walked in primary-key order, a page of max_rows keys per
-- statement, and the page's rows that are gone are deleted: a run is one
-- pass over each table, whatever the share of dead rows, and needs no
-- index on a time column (one on sessions.last_used_at, which every
-- refresh updates, would cost every refresh its HOT update). Each
-- statement returns how many rows it examined (fewer than max_rows: the
-- walk is over), the last key it examined (the next page starts after it)
-- and how many it deleted.

-- TryPruneLock and PruneUnlock: one replica at a time prunes. A session
-- advisory lock, taken and released on one dedicated connection.
-- name: TryPruneLock :one
SELECT pg_try_advisory_lock(sqlc.arg(key)::bigint) AS locked;

-- name: PruneUnlock :one
SELECT pg_advisory_unlock(sqlc.arg(key)::bigint) AS unlocked;

-- PruneSessions deletes the page's sessions that ended (revoked, idle or
-- too old) by the cutoffs (domain.SessionRetention.SessionCutoffs; NULL
-- sets no limit); their refresh tokens go with them (ON DELETE CASCADE).
-- A session a refresh holds locked is waited for and re-checked: used
-- since, it stays.
-- name: PruneSessions :one
WITH page AS (
    SELECT id FROM sessions
    WHERE id > sqlc.arg(after)::uuid
    ORDER BY id
    LIMIT sqlc.arg(max_rows)::integer
), gone AS (
    DELETE FROM sessions AS s
    USING page
    WHERE s.id = page.id
      AND (s.revoked_at <= sqlc.arg(revoked_by)::timestamptz
           OR s.last_used_at <= sqlc.narg(used_by)::timestamptz
           OR s.created_at <= sqlc.narg(created_by)::timestamptz)
    RETURNING s.id
)
SELECT (SELECT count(*) FROM page)::integer AS examined,
       coalesce((SELECT p.id FROM page AS p ORDER BY p.id DESC LIMIT 1), sqlc.arg(after)::uuid)::uuid AS last,
       (SELECT count(*) FROM gone)::integer AS pruned;

-- PruneRefreshTokens deletes the page's tokens that are past their expiry
-- (spent or not), or whose session is no longer usable (revoked, idle or
-- too old at now: domain.SessionRetention.TokenCutoffs). A spent token of
-- a usable session stays: presenting it is reuse (domain.DecideRotation).
-- name: PruneRefreshTokens :one
WITH page AS (
    SELECT token_hash FROM refresh_tokens
    WHERE token_hash > sqlc.arg(after)::bytea
    ORDER BY token_hash
    LIMIT sqlc.arg(max_rows)::integer
), gone AS (
    DELETE FROM refresh_tokens AS rt
    USING page, sessions AS s
    WHERE rt.token_hash = page.token_hash
      AND s.id = rt.session_id
      AND (rt.expires_at <= sqlc.arg(now)::timestamptz
           OR s.revoked_at IS NOT NULL
           OR s.last_used_at <= sqlc.narg(used_by)::timestamptz
           OR s.created_at <= sqlc.narg(created_by)::timestamptz)
    RETURNING rt.token_hash
)
SELECT (SELECT count(*) FROM page)::integer AS examined,
       coalesce((SELECT p.token_hash FROM page AS p ORDER BY p.token_hash DESC LIMIT 1), sqlc.arg(after)::bytea)::bytea AS last,
       (SELECT count(*) FROM gone)::integer AS pruned;

-- PruneAuditEvents deletes up to max_rows of the oldest events dated
-- before before (AUTH_AUDIT_RETENTION), over auth_events_at_id_idx. The
-- only statement of the service that deletes from the audit log; nothing
-- updates it.
-- name: PruneAuditEvents :execrows
DELETE FROM auth_events
WHERE id IN (
    SELECT id FROM auth_events
    WHERE at < sqlc.arg(before)::timestamptz
    ORDER BY at, id
    LIMIT sqlc.arg(max_rows)::integer
);

-- PruneEmailTokens deletes up to max_rows tokens expired at now, over
-- email_tokens_expires_at_idx (a used token is deleted already).
-- name: PruneEmailTokens :execrows
DELETE FROM email_tokens
WHERE hash IN (
    SELECT t.hash FROM email_tokens AS t
    WHERE t.expires_at <= sqlc.arg(now)::timestamptz
    ORDER BY t.expires_at
    LIMIT sqlc.arg(max_rows)::integer
);

-- PruneMail deletes up to max_rows mails that ended (sent or given up)
-- before before, longest ago first, over mail_outbox_ended_idx.
-- name: PruneMail :execrows
DELETE FROM mail_outbox
WHERE id IN (
    SELECT o.id FROM mail_outbox AS o
    WHERE (o.sent_at IS NOT NULL OR o.given_up_at IS NOT NULL)
      AND coalesce(o.sent_at, o.given_up_at) < sqlc.arg(before)::timestamptz
    ORDER BY coalesce(o.sent_at, o.given_up_at)
    LIMIT sqlc.arg(max_rows)::integer
);

-- PruneMailCaps deletes up to max_rows keys domain.MailCap.Stale at now:
-- last mail at or before last_by (now less the minimum interval), window
-- begun at or before window_by (now less the window). The conditions are
-- repeated outside the page: a key an admission updated after the page
-- was read is re-checked on its new row (READ COMMITTED) and stays.
-- name: PruneMailCaps :execrows
DELETE FROM mail_caps
WHERE key IN (
    SELECT c.key FROM mail_caps AS c
    WHERE c.last_at <= sqlc.arg(last_by)::timestamptz AND c.window_start <= sqlc.arg(window_by)::timestamptz
    LIMIT sqlc.arg(max_rows)::integer
)
  AND last_at <= sqlc.arg(last_by)::timestamptz AND window_start <= sqlc.arg(window_by)::timestamptz;

-- PruneMFAChallenges deletes up to max_rows login challenges expired at
-- now, over mfa_challenges_expires_at_idx (a used one is deleted already).
-- name: PruneMFAChallenges :execrows
DELETE FROM mfa_challenges
WHERE hash IN (
    SELECT c.hash FROM mfa_challenges AS c
    WHERE c.expires_at <= sqlc.arg(now)::timestamptz
    ORDER BY c.expires_at
    LIMIT sqlc.arg(max_rows)::integer
);

-- PruneCeremonies deletes up to max_rows passkey ceremonies expired at
-- now, over passkey_ceremonies_expires_at_idx.
-- name: PruneCeremonies :execrows
DELETE FROM passkey_ceremonies
WHERE hash IN (
    SELECT c.hash FROM passkey_ceremonies AS c
    WHERE c.expires_at <= sqlc.arg(now)::timestamptz
    ORDER BY c.expires_at
    LIMIT sqlc.arg(max_rows)::integer
);
