-- Reverts version 8: version 7 remembers audited locks per process.
ALTER TABLE login_throttle DROP COLUMN audited_lock;
