-- Reverts version 2. The audit log and the throttle state are dropped with
-- their tables; sessions lose their last use and client.
BEGIN;

DROP TABLE IF EXISTS auth_events;
DROP TABLE IF EXISTS login_throttle;

CREATE INDEX IF NOT EXISTS sessions_user_id_idx ON sessions (user_id);
DROP INDEX IF EXISTS sessions_user_id_created_at_idx;
ALTER TABLE sessions
    DROP COLUMN IF EXISTS ip,
    DROP COLUMN IF EXISTS user_agent,
    DROP COLUMN IF EXISTS last_used_at;

COMMIT;
