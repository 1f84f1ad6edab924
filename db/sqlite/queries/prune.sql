-- The pruner (application.Pruner), in SQLite's dialect: see
-- db/queries/prune.sql for the rules. SQLite has no DELETE in a WITH, so a
-- page is two statements: the key that ends it (the max_rows-th after
-- after; none: the page runs to the end of the table), then the delete of
-- the gone rows in (after, end]. Cutoffs with no limit are the smallest
-- integer (nothing is at or before it).

-- name: SessionPageEnd :one
SELECT id FROM sessions
WHERE id > sqlc.arg(after)
ORDER BY id
LIMIT 1 OFFSET sqlc.arg(skip);

-- name: PruneSessions :execrows
DELETE FROM sessions
WHERE id > sqlc.arg(after) AND id <= sqlc.arg(page_end)
  AND (revoked_at <= sqlc.arg(revoked_by)
       OR last_used_at <= sqlc.arg(used_by)
       OR created_at <= sqlc.arg(created_by));

-- name: RefreshTokenPageEnd :one
SELECT token_hash FROM refresh_tokens
WHERE token_hash > sqlc.arg(after)
ORDER BY token_hash
LIMIT 1 OFFSET sqlc.arg(skip);

-- name: PruneRefreshTokens :execrows
DELETE FROM refresh_tokens
WHERE token_hash > sqlc.arg(after) AND token_hash <= sqlc.arg(page_end)
  AND (expires_at <= sqlc.arg(now)
       OR EXISTS (SELECT 1 FROM sessions AS s
                  WHERE s.id = refresh_tokens.session_id
                    AND (s.revoked_at IS NOT NULL
                         OR s.last_used_at <= sqlc.arg(used_by)
                         OR s.created_at <= sqlc.arg(created_by))));

-- name: PruneAuditEvents :execrows
DELETE FROM auth_events
WHERE id IN (
    SELECT e.id FROM auth_events AS e
    WHERE e.at < sqlc.arg(before)
    ORDER BY e.at, e.id
    LIMIT sqlc.arg(max_rows)
);

-- name: PruneEmailTokens :execrows
DELETE FROM email_tokens
WHERE hash IN (
    SELECT t.hash FROM email_tokens AS t
    WHERE t.expires_at <= sqlc.arg(now)
    ORDER BY t.expires_at
    LIMIT sqlc.arg(max_rows)
);

-- name: PruneMail :execrows
DELETE FROM mail_outbox
WHERE id IN (
    SELECT o.id FROM mail_outbox AS o
    WHERE (o.sent_at IS NOT NULL OR o.given_up_at IS NOT NULL)
      AND coalesce(o.sent_at, o.given_up_at) < sqlc.arg(before)
    ORDER BY coalesce(o.sent_at, o.given_up_at)
    LIMIT sqlc.arg(max_rows)
);

-- name: PruneMailCaps :execrows
DELETE FROM mail_caps
WHERE key IN (
    SELECT c.key FROM mail_caps AS c
    WHERE c.last_at <= sqlc.arg(last_by) AND c.window_start <= sqlc.arg(window_by)
    LIMIT sqlc.arg(max_rows)
);

-- name: PruneMFAChallenges :execrows
DELETE FROM mfa_challenges
WHERE hash IN (
    SELECT c.hash FROM mfa_challenges AS c
    WHERE c.expires_at <= sqlc.arg(now)
    ORDER BY c.expires_at
    LIMIT sqlc.arg(max_rows)
);

-- name: PruneCeremonies :execrows
DELETE FROM passkey_ceremonies
WHERE hash IN (
    SELECT c.hash FROM passkey_ceremonies AS c
    WHERE c.expires_at <= sqlc.arg(now)
    ORDER BY c.expires_at
    LIMIT sqlc.arg(max_rows)
);
