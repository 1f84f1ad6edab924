-- LockUserWithHash is the first statement of a login's session creation:
-- it checks that the user's password hash still is the one the login
-- verified and holds a FOR SHARE lock on the row until the session is
-- committed. FOR SHARE conflicts with the row lock of ChangePasswordHash
-- (the sessions foreign key takes only FOR KEY SHARE, which does not), so
-- a login and a password change of one user serialise: a login that locks
-- first commits its session before the change's revocation reads the
-- sessions (and is revoked with the others); a login that comes after
-- waits, re-checks the committed row, sees the new hash and gets no row.
-- name: LockUserWithHash :one
SELECT 1 AS locked
FROM users
WHERE id = @id AND password_hash = @password_hash
FOR SHARE;

-- name: CreateSession :exec
INSERT INTO sessions (id, user_id, created_at, last_used_at, revoked_at, ip, user_agent)
VALUES (@id, @user_id, @created_at, @last_used_at, @revoked_at, @ip, @user_agent);

-- name: InsertRefreshToken :exec
INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at)
VALUES (@token_hash, @session_id, @issued_at, @expires_at);

-- RotateRefreshToken is the atomic heart of rotation, in one statement (one
-- round trip, one implicit transaction): it spends the presented token only
-- if it is live (unspent, unexpired) and its session usable (not revoked,
-- used after used_after, created after created_after: the idle and absolute
-- timeouts; NULL sets no limit), records the use on the session (last use,
-- client), stores the successor in the same session with its expiry capped
-- at the session's creation + max_age_us, and returns the session with its
-- owner. Two concurrent calls serialize on the token's row lock; under READ
-- COMMITTED the second re-checks the row, sees spent_at set and gets no row
-- back, and inserts nothing. A revocation committed between the read of the
-- session and its update makes the touch find no row (the update re-checks
-- revoked_at), so the statement returns nothing: a rotation racing a logout
-- loses.
-- name: RotateRefreshToken :one
WITH spent AS (
    UPDATE refresh_tokens AS rt
    SET spent_at = sqlc.arg(now)::timestamptz
    FROM sessions AS s
    WHERE rt.token_hash = sqlc.arg(token_hash)
      AND s.id = rt.session_id
      AND rt.spent_at IS NULL
      AND rt.expires_at > sqlc.arg(now)::timestamptz
      AND s.revoked_at IS NULL
      AND (sqlc.narg(used_after)::timestamptz IS NULL OR s.last_used_at > sqlc.narg(used_after)::timestamptz)
      AND (sqlc.narg(created_after)::timestamptz IS NULL OR s.created_at > sqlc.narg(created_after)::timestamptz)
    RETURNING s.id, s.created_at
), touched AS (
    UPDATE sessions AS s
    SET last_used_at = sqlc.arg(now)::timestamptz, ip = sqlc.arg(ip)::text, user_agent = sqlc.arg(user_agent)::text
    FROM spent
    WHERE s.id = spent.id AND s.revoked_at IS NULL
    RETURNING s.id, s.user_id, s.created_at, s.last_used_at, s.revoked_at, s.ip, s.user_agent
), successor AS (
    INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at)
    SELECT sqlc.arg(next_hash)::bytea, spent.id, sqlc.arg(now)::timestamptz,
           CASE WHEN sqlc.narg(max_age_us)::bigint IS NULL THEN sqlc.arg(next_expires_at)::timestamptz
                ELSE least(sqlc.arg(next_expires_at)::timestamptz, spent.created_at + sqlc.narg(max_age_us)::bigint * interval '1 microsecond')
           END
    FROM spent
    RETURNING session_id
), logged AS (
    -- The optional audit event, in the same statement: one commit.
    INSERT INTO auth_events (id, at, type, user_id, session_id, ip, user_agent, detail)
    SELECT sqlc.narg(event_id)::uuid, sqlc.arg(now)::timestamptz, sqlc.arg(event_type)::text,
           touched.user_id, touched.id, sqlc.arg(ip)::text, sqlc.arg(user_agent)::text, sqlc.arg(event_detail)::text
    FROM touched
    JOIN successor ON successor.session_id = touched.id
    WHERE sqlc.narg(event_id)::uuid IS NOT NULL
)
SELECT touched.id, touched.user_id, touched.created_at, touched.last_used_at, touched.revoked_at, touched.ip, touched.user_agent,
       u.email, u.name, u.role, u.password_hash, u.created_at AS user_created_at
FROM touched
JOIN successor ON successor.session_id = touched.id
JOIN users AS u ON u.id = touched.user_id;

-- RefreshTokenState explains why RotateRefreshToken returned no row.
-- name: RefreshTokenState :one
SELECT rt.session_id, rt.expires_at, rt.spent_at,
       s.user_id, s.created_at, s.last_used_at, s.revoked_at, s.ip, s.user_agent
FROM refresh_tokens AS rt
JOIN sessions AS s ON s.id = rt.session_id
WHERE rt.token_hash = @token_hash;

-- coalesce keeps the first revocation time: revoking is idempotent.
-- name: RevokeSession :exec
UPDATE sessions
SET revoked_at = coalesce(revoked_at, sqlc.arg(now)::timestamptz)
WHERE id = sqlc.arg(id);

-- name: RevokeSessionByRefreshToken :one
UPDATE sessions
SET revoked_at = coalesce(revoked_at, sqlc.arg(now)::timestamptz)
WHERE id = (SELECT rt.session_id FROM refresh_tokens AS rt WHERE rt.token_hash = sqlc.arg(token_hash))
RETURNING id, user_id, created_at, last_used_at, revoked_at, ip, user_agent;

-- SessionWithOwner reads a session and its user in one round trip: every
-- authenticated request that must see a logout at once makes this call.
-- name: SessionWithOwner :one
SELECT s.id, s.user_id, s.created_at, s.last_used_at, s.revoked_at, s.ip, s.user_agent,
       u.email, u.name, u.role, u.password_hash, u.created_at AS user_created_at
FROM sessions AS s
JOIN users AS u ON u.id = s.user_id
WHERE s.id = @id;

-- Only active sessions are touched, so the row count is how many this call
-- ended. Concurrent calls serialize on the row locks; under READ COMMITTED
-- the later one re-checks revoked_at, skips the row and does not count it.
-- name: RevokeUserSessions :execrows
UPDATE sessions
SET revoked_at = sqlc.arg(now)::timestamptz
WHERE user_id = sqlc.arg(user_id) AND revoked_at IS NULL;

-- SessionByLiveRefreshToken finds the session of an unspent, unexpired token.
-- name: SessionByLiveRefreshToken :one
SELECT s.id, s.user_id, s.created_at, s.last_used_at, s.revoked_at, s.ip, s.user_agent
FROM refresh_tokens AS rt
JOIN sessions AS s ON s.id = rt.session_id
WHERE rt.token_hash = sqlc.arg(token_hash)
  AND rt.spent_at IS NULL
  AND rt.expires_at > sqlc.arg(now)::timestamptz;

-- UsableSessionsOfUser lists a user's usable sessions newest first, over
-- sessions_user_id_created_at_idx; the usability test is the one
-- RotateRefreshToken applies.
-- name: UsableSessionsOfUser :many
SELECT id, user_id, created_at, last_used_at, revoked_at, ip, user_agent
FROM sessions
WHERE user_id = sqlc.arg(user_id)
  AND revoked_at IS NULL
  AND (sqlc.narg(used_after)::timestamptz IS NULL OR last_used_at > sqlc.narg(used_after)::timestamptz)
  AND (sqlc.narg(created_after)::timestamptz IS NULL OR created_at > sqlc.narg(created_after)::timestamptz)
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(max_rows)::integer;

-- The user_id condition makes another user's session id look like an
-- unknown one: zero rows either way.
-- name: RevokeUserSession :execrows
UPDATE sessions
SET revoked_at = coalesce(revoked_at, sqlc.arg(now)::timestamptz)
WHERE id = sqlc.arg(id) AND user_id = sqlc.arg(user_id);

-- Like RevokeUserSessions, sparing one session.
-- name: RevokeOtherSessions :execrows
UPDATE sessions
SET revoked_at = sqlc.arg(now)::timestamptz
WHERE user_id = sqlc.arg(user_id) AND id <> sqlc.arg(keep) AND revoked_at IS NULL;
