-- Reverts version 4: version 3 remembers audited locks per process.
ALTER TABLE login_throttle DROP COLUMN audited_lock;
