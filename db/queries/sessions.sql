-- Sessions and their refresh-token families. Deciding what a presented
-- refresh token leads to is domain.SessionPolicy.DecideRotation's job; the
-- queries here read (RefreshToken) and write (Rotate) for it, and the
-- transaction around them (adapters/postgres WithinTx) makes the pair
-- atomic.

-- CreateSession stores a session and its first refresh token in one
-- statement: one round trip, and atomic even outside a transaction. The
-- token's foreign key is checked at the end of the statement, when the
-- session row it names exists.
-- name: CreateSession :exec
WITH opened AS (
    INSERT INTO sessions (id, user_id, created_at, last_used_at, revoked_at, ip, user_agent, amr)
    VALUES (@id, @user_id, @created_at, @last_used_at, @revoked_at, @ip, @user_agent, @amr)
    RETURNING id, created_at
)
INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at)
SELECT sqlc.arg(token_hash)::bytea, opened.id, opened.created_at, sqlc.arg(expires_at)::timestamptz
FROM opened;

-- RefreshToken reads a token with its session and the session's owner in
-- one round trip. Inside a transaction it is the read of a rotation: the
-- token and session rows stay locked until the end, so a concurrent
-- presentation of the same token, a logout or a password change's
-- revocation waits, and whoever comes next reads what this one committed
-- (under READ COMMITTED a locking read returns the newest version of the
-- rows it waited for). The user row is not locked: nothing a rotation
-- decides depends on it, and a role change must not queue behind refreshes.
-- FOR NO KEY UPDATE is the lock Rotate's own UPDATEs of these rows take
-- (they change no key), so the write needs no stronger lock than the read
-- took; it excludes every other locking read and UPDATE of the rows, but
-- not the FOR KEY SHARE of foreign-key checks, which FOR UPDATE would.
-- name: RefreshToken :one
SELECT rt.expires_at, rt.spent_at,
       s.id, s.user_id, s.created_at, s.last_used_at, s.revoked_at, s.ip, s.user_agent, s.amr,
       u.email, u.email_key, u.email_verified, u.name, u.role, u.created_at AS user_created_at, u.mfa_enabled
FROM refresh_tokens AS rt
JOIN sessions AS s ON s.id = rt.session_id
JOIN users AS u ON u.id = s.user_id
WHERE rt.token_hash = @token_hash
FOR NO KEY UPDATE OF rt, s;

-- RefreshTokenUnlocked is RefreshToken for a read outside a transaction
-- (a logout), where the lock would end with the statement: a locking read
-- gets a transaction id and logs the lock, so its commit waits for a WAL
-- flush like a write's, while a plain read is free. Same columns, so the
-- rows convert.
-- name: RefreshTokenUnlocked :one
SELECT rt.expires_at, rt.spent_at,
       s.id, s.user_id, s.created_at, s.last_used_at, s.revoked_at, s.ip, s.user_agent, s.amr,
       u.email, u.email_key, u.email_verified, u.name, u.role, u.created_at AS user_created_at, u.mfa_enabled
FROM refresh_tokens AS rt
JOIN sessions AS s ON s.id = rt.session_id
JOIN users AS u ON u.id = s.user_id
WHERE rt.token_hash = @token_hash;

-- Rotate stores an allowed rotation in one statement: it spends the
-- presented token, records the use on its session and adds the successor
-- to that session (its expiry already capped by the domain). Every part
-- hangs off the spend, so a spend that matches no row writes nothing at
-- all and returns no row. spent_at IS NULL is the only condition, and a
-- guard, not a decision: the caller read the token under lock and decided;
-- outside a transaction it still makes two rotations of one token
-- exclusive (the second re-checks the row it waited for and finds it
-- spent). The token is found by its key alone: a session_id condition
-- here would let the planner walk the session's whole chain of spent
-- tokens through refresh_tokens_session_id_idx instead (it did, measured:
-- the cost grew with every rotation). The session the token belongs to is
-- returned, and the caller checks it is the one the rotation names.
-- name: Rotate :one
WITH spent AS (
    UPDATE refresh_tokens
    SET spent_at = sqlc.arg(at)::timestamptz
    WHERE token_hash = sqlc.arg(spent)::bytea
      AND spent_at IS NULL
    RETURNING session_id
), touched AS (
    UPDATE sessions AS s
    SET last_used_at = sqlc.arg(at)::timestamptz, ip = sqlc.arg(ip)::text, user_agent = sqlc.arg(user_agent)::text
    FROM spent
    WHERE s.id = spent.session_id
    RETURNING s.id
), successor AS (
    INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at)
    SELECT sqlc.arg(next_hash)::bytea, spent.session_id, sqlc.arg(at)::timestamptz, sqlc.arg(next_expires_at)::timestamptz
    FROM spent
    RETURNING session_id
)
SELECT successor.session_id
FROM successor
JOIN touched ON touched.id = successor.session_id;

-- RotateSibling stores a sibling rotation (a spent token presented again
-- within the reuse leeway, domain.RotationSibling) in one statement, like
-- Rotate but spending nothing: the presented token must already be spent
-- (the guard), the use is recorded on its session and the sibling is added
-- to it. No row: nothing was written.
-- name: RotateSibling :one
WITH presented AS (
    SELECT session_id
    FROM refresh_tokens
    WHERE token_hash = sqlc.arg(spent)::bytea
      AND spent_at IS NOT NULL
), touched AS (
    UPDATE sessions AS s
    SET last_used_at = sqlc.arg(at)::timestamptz, ip = sqlc.arg(ip)::text, user_agent = sqlc.arg(user_agent)::text
    FROM presented
    WHERE s.id = presented.session_id
    RETURNING s.id
), sibling AS (
    INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at)
    SELECT sqlc.arg(next_hash)::bytea, presented.session_id, sqlc.arg(at)::timestamptz, sqlc.arg(next_expires_at)::timestamptz
    FROM presented
    RETURNING session_id
)
SELECT sibling.session_id
FROM sibling
JOIN touched ON touched.id = sibling.session_id;

-- SessionWithOwner reads a session and its user in one round trip: every
-- authenticated request that must see a logout at once makes this call.
-- name: SessionWithOwner :one
SELECT s.id, s.user_id, s.created_at, s.last_used_at, s.revoked_at, s.ip, s.user_agent, s.amr,
       u.email, u.email_key, u.email_verified, u.name, u.role, u.created_at AS user_created_at, u.mfa_enabled
FROM sessions AS s
JOIN users AS u ON u.id = s.user_id
WHERE s.id = @id;

-- UsableSessionsOfUser lists a user's usable sessions newest first, over
-- sessions_user_id_created_at_idx: not revoked, used after used_after and
-- created after created_after (domain.SessionPolicy.UsedAfter and
-- CreatedAfter: the idle and absolute timeouts; NULL sets no limit).
-- name: UsableSessionsOfUser :many
SELECT id, user_id, created_at, last_used_at, revoked_at, ip, user_agent, amr
FROM sessions
WHERE user_id = sqlc.arg(user_id)
  AND revoked_at IS NULL
  AND (sqlc.narg(used_after)::timestamptz IS NULL OR last_used_at > sqlc.narg(used_after)::timestamptz)
  AND (sqlc.narg(created_after)::timestamptz IS NULL OR created_at > sqlc.narg(created_after)::timestamptz)
ORDER BY created_at DESC, id DESC
LIMIT sqlc.arg(max_rows)::integer;

-- coalesce keeps the first revocation time: revoking is idempotent.
-- name: RevokeSession :exec
UPDATE sessions
SET revoked_at = coalesce(revoked_at, sqlc.arg(now)::timestamptz)
WHERE id = sqlc.arg(id);

-- RevokeSessions ends a user's active sessions but keep (NULL spares
-- none). Only active sessions are touched, so the row count is how many
-- this call ended. Concurrent calls serialize on the row locks; under READ
-- COMMITTED the later one re-checks revoked_at, skips the row and does not
-- count it.
-- name: RevokeSessions :execrows
UPDATE sessions
SET revoked_at = sqlc.arg(now)::timestamptz
WHERE user_id = sqlc.arg(user_id)
  AND revoked_at IS NULL
  AND (sqlc.narg(keep)::uuid IS NULL OR id <> sqlc.narg(keep)::uuid);
