-- authd schema, version 3: who did it. Admin actions (role changes,
-- revoking a user's sessions) record the acting administrator next to the
-- account acted on. NULL for everything else, and for the command line
-- (an operator on the host, not an account). Like user_id, no foreign key:
-- the trail must outlive the accounts it names.
ALTER TABLE auth_events ADD COLUMN actor_id uuid NULL;
