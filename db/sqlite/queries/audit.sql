-- The audit log is append-only: this file has its INSERT and its SELECT,
-- and no query of authd updates or deletes auth_events.

-- name: AppendEvent :exec
INSERT INTO auth_events (id, at, type, user_id, session_id, actor_id, ip, user_agent, detail)
VALUES (sqlc.arg(id), sqlc.arg(at), sqlc.arg(type), sqlc.narg(user_id), sqlc.narg(session_id), sqlc.narg(actor_id),
        sqlc.arg(ip), sqlc.arg(user_agent), sqlc.arg(detail));

-- Events is one page of a keyset walk in descending (at, id) order over
-- auth_events_at_id_idx (or, filtered by user, auth_events_user_id_at_id_idx).
-- The cursor is (before_at, before_id); the adapter passes the largest
-- integer for "from the newest". A NULL user_id or type keeps all.
-- name: Events :many
SELECT id, at, type, user_id, session_id, actor_id, ip, user_agent, detail
FROM auth_events
WHERE (at < sqlc.arg(before_at) OR (at = sqlc.arg(before_at) AND id < sqlc.arg(before_id)))
  AND (sqlc.narg(user_id) IS NULL OR user_id = sqlc.narg(user_id))
  AND (sqlc.narg(type) IS NULL OR type = sqlc.narg(type))
ORDER BY at DESC, id DESC
LIMIT sqlc.arg(max_rows);
