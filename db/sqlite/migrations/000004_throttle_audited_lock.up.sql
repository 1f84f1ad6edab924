-- login_throttle.audited_lock: the end of the key's lock (microseconds)
-- last recorded as a login_throttled event. The first refusal under a lock
-- sets it, so a lock period gives one event however many refusals and
-- processes see it. NULL: no lock of the key recorded yet.
ALTER TABLE login_throttle ADD COLUMN audited_lock INTEGER;
