-- login_throttle.audited_lock: the end of the key's lock that was last
-- recorded as a login_throttled event. The first refusal under a lock sets
-- it (one UPDATE ... WHERE audited_lock IS DISTINCT FROM locked_until), so
-- a lock period gives one event however many refusals and replicas see it.
-- NULL: no lock of the key recorded yet.
ALTER TABLE login_throttle ADD COLUMN audited_lock timestamptz;
