ALTER TABLE auth_events DROP COLUMN actor_id;
