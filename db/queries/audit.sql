-- The audit log is append-only: this file has its INSERT and its SELECT,
-- and no query of authd updates or deletes auth_events.

-- name: AppendEvent :exec
INSERT INTO auth_events (id, at, type, user_id, session_id, actor_id, ip, user_agent, detail)
VALUES (@id, @at, @type, @user_id, @session_id, @actor_id, @ip, @user_agent, @detail);

-- Events is one page of a keyset walk in descending (at, id) order over
-- auth_events_at_id_idx (or, filtered by user, auth_events_user_id_at_id_idx):
-- the row comparison is an index condition, so a page costs the same
-- wherever it starts.
-- name: Events :many
SELECT id, at, type, user_id, session_id, actor_id, ip, user_agent, detail
FROM auth_events
WHERE (sqlc.narg(before_at)::timestamptz IS NULL OR (at, id) < (sqlc.narg(before_at)::timestamptz, sqlc.narg(before_id)::uuid))
  AND (sqlc.narg(user_id)::uuid IS NULL OR user_id = sqlc.narg(user_id)::uuid)
  AND (sqlc.narg(type)::text IS NULL OR type = sqlc.narg(type)::text)
ORDER BY at DESC, id DESC
LIMIT sqlc.arg(max_rows)::integer;
