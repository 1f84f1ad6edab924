DROP TABLE auth_events;
DROP TABLE login_throttle;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE password_credentials;
DROP TABLE users;
