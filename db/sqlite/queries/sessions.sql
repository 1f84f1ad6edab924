-- Sessions and their refresh-token families. Deciding what a presented
-- refresh token leads to is domain.SessionPolicy.DecideRotation's job; the
-- queries here read (RefreshToken) and write (Rotate) for it, and the
-- transaction around them (adapters/sqlite WithinTx, BEGIN IMMEDIATE)
-- makes the pair atomic: no FOR UPDATE is needed, the write lock already
-- serialises every writer.

-- name: CreateSession :exec
INSERT INTO sessions (id, user_id, created_at, last_used_at, revoked_at, ip, user_agent, amr)
VALUES (sqlc.arg(id), sqlc.arg(user_id), sqlc.arg(created_at), sqlc.arg(last_used_at), sqlc.narg(revoked_at),
        sqlc.arg(ip), sqlc.arg(user_agent), sqlc.arg(amr));

-- name: CreateRefreshToken :exec
INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at)
VALUES (sqlc.arg(token_hash), sqlc.arg(session_id), sqlc.arg(issued_at), sqlc.arg(expires_at));

-- RefreshToken reads a token with its session and the session's owner.
-- name: RefreshToken :one
SELECT rt.expires_at, rt.spent_at,
       s.id, s.user_id, s.created_at, s.last_used_at, s.revoked_at, s.ip, s.user_agent, s.amr,
       u.email, u.email_key, u.email_verified, u.name, u.role, u.created_at AS user_created_at, u.mfa_enabled
FROM refresh_tokens AS rt
JOIN sessions AS s ON s.id = rt.session_id
JOIN users AS u ON u.id = s.user_id
WHERE rt.token_hash = sqlc.arg(token_hash);

-- SpendRefreshToken is the first step of a rotation: it spends the
-- presented token only if it is unspent, and returns its session. No row:
-- nothing was spent, and the rotation must fail.
-- name: SpendRefreshToken :one
UPDATE refresh_tokens
SET spent_at = sqlc.arg(at)
WHERE token_hash = sqlc.arg(token_hash) AND spent_at IS NULL
RETURNING session_id;

-- SpentRefreshTokenSession is the check of a sibling rotation: the
-- session of the presented token, only if it is already spent.
-- name: SpentRefreshTokenSession :one
SELECT session_id
FROM refresh_tokens
WHERE token_hash = sqlc.arg(token_hash) AND spent_at IS NOT NULL;

-- name: TouchSession :execrows
UPDATE sessions
SET last_used_at = sqlc.arg(at), ip = sqlc.arg(ip), user_agent = sqlc.arg(user_agent)
WHERE id = sqlc.arg(id);

-- SessionWithOwner reads a session and its user in one statement: every
-- authenticated request that must see a logout at once makes this call.
-- name: SessionWithOwner :one
SELECT s.id, s.user_id, s.created_at, s.last_used_at, s.revoked_at, s.ip, s.user_agent, s.amr,
       u.email, u.email_key, u.email_verified, u.name, u.role, u.created_at AS user_created_at, u.mfa_enabled
FROM sessions AS s
JOIN users AS u ON u.id = s.user_id
WHERE s.id = sqlc.arg(id);

-- UsableSessionsOfUser lists a user's usable sessions newest first, over
-- sessions_user_id_created_at_idx: not revoked, used after used_after and
-- created after created_after (domain.SessionPolicy.UsedAfter and
-- CreatedAfter; the adapter passes the smallest integer for no limit).
-- name: UsableSessionsOfUser :many
SELECT id, user_id, created_at, last_used_at, revoked_at, ip, user_agent, amr
FROM sessions
WHERE user_id = sqlc.arg(user_id)
  AND revoked_at IS NULL
  AND last_used_at > sqlc.arg(used_after)
  AND created_at > sqlc.arg(created_after)
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(max_rows);

-- coalesce keeps the first revocation time: revoking is idempotent.
-- name: RevokeSession :exec
UPDATE sessions
SET revoked_at = coalesce(revoked_at, sqlc.arg(now))
WHERE id = sqlc.arg(id);

-- RevokeSessions ends a user's active sessions but keep ('' spares none).
-- Only active sessions are touched, so the row count is how many this call
-- ended; writers are serial, so concurrent calls count each session once.
-- name: RevokeSessions :execrows
UPDATE sessions
SET revoked_at = sqlc.arg(now)
WHERE user_id = sqlc.arg(user_id)
  AND revoked_at IS NULL
  AND id <> sqlc.arg(keep);
