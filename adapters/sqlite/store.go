// Package sqlite is the SQLite adapter: every store port on one database
// file, through modernc.org/sqlite (pure Go, no cgo).
package sqlite

import (
	"context"
	"errors"
	"time"

	_ "github.com/golang-migrate/migrate/v4/database/sqlite" // the sqlite:// migrate driver (modernc)
	_ "modernc.org/sqlite"                                   // the "sqlite" database/sql driver

	_ "github.com/authd/authd/db/sqlite" // the embedded migrations
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var (
	_ ports.Users         = (*Store)(nil)
	_ ports.Passwords     = (*Store)(nil)
	_ ports.Sessions      = (*Store)(nil)
	_ ports.LoginThrottle = (*Store)(nil)
	_ ports.AuditLog      = (*Store)(nil)
	_ ports.Pinger        = (*Store)(nil)
	_ ports.Transactor    = (*Store)(nil)
)

var errTODO = errors.New("sqlite: not implemented yet")

// Store is the SQLite-backed repository.
type Store struct{}

// Open opens or creates the database file at path, migrates it and pings it.
func Open(ctx context.Context, path string) (*Store, error) { return nil, errTODO }

// Close closes the database.
func (s *Store) Close() error { return nil }

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error { return errTODO }

// Backup writes a consistent copy of the database to the new file to.
func (s *Store) Backup(ctx context.Context, to string) error { return errTODO }

// MigrateUp applies every pending migration.
func MigrateUp(path string) error { return errTODO }

// MigrateDown reverts the newest applied migration.
func MigrateDown(path string) error { return errTODO }

// MigrationVersion reports the applied schema version and whether it is dirty.
func MigrationVersion(path string) (uint, bool, error) { return 0, false, errTODO }

// SchemaVersion is the version the embedded migrations bring a database to.
func SchemaVersion() uint { return 1 }

func (s *Store) WithinTx(ctx context.Context, fn func(ports.Stores) error) error { return errTODO }

func (s *Store) CreateUser(ctx context.Context, u domain.User) error { return errTODO }
func (s *Store) UserByEmail(ctx context.Context, email domain.Email) (domain.User, error) {
	return domain.User{}, errTODO
}
func (s *Store) UserByID(ctx context.Context, id domain.UserID) (domain.User, error) {
	return domain.User{}, errTODO
}
func (s *Store) SetRole(ctx context.Context, id domain.UserID, role domain.Role, now time.Time) error {
	return errTODO
}
func (s *Store) ListUsers(ctx context.Context, filter ports.UserFilter) ([]domain.User, error) {
	return nil, errTODO
}
func (s *Store) SetPassword(ctx context.Context, user domain.UserID, hash string, now time.Time) error {
	return errTODO
}
func (s *Store) PasswordHash(ctx context.Context, user domain.UserID) (string, error) {
	return "", errTODO
}
func (s *Store) SwapPasswordHash(ctx context.Context, user domain.UserID, oldHash, newHash string, now time.Time) error {
	return errTODO
}
func (s *Store) HoldPassword(ctx context.Context, user domain.UserID, hash string) error {
	return errTODO
}
func (s *Store) CreateSession(ctx context.Context, sess domain.Session, first domain.IssuedRefreshToken) error {
	return errTODO
}
func (s *Store) RefreshToken(ctx context.Context, hash domain.RefreshTokenHash) (domain.RefreshTokenRecord, domain.Session, domain.User, error) {
	return domain.RefreshTokenRecord{}, domain.Session{}, domain.User{}, errTODO
}
func (s *Store) Rotate(ctx context.Context, r domain.Rotation) error { return errTODO }
func (s *Store) SessionByID(ctx context.Context, id domain.SessionID) (domain.Session, domain.User, error) {
	return domain.Session{}, domain.User{}, errTODO
}
func (s *Store) SessionsOfUser(ctx context.Context, user domain.UserID, now time.Time, policy domain.SessionPolicy, limit int) ([]domain.Session, error) {
	return nil, errTODO
}
func (s *Store) RevokeSession(ctx context.Context, id domain.SessionID, now time.Time) error {
	return errTODO
}
func (s *Store) RevokeSessions(ctx context.Context, user domain.UserID, keep domain.SessionID, now time.Time) (int, error) {
	return 0, errTODO
}
func (s *Store) ClaimLoginAttempt(ctx context.Context, key domain.ThrottleKey, now time.Time, policy domain.ThrottlePolicy) (bool, time.Time, error) {
	return false, time.Time{}, errTODO
}
func (s *Store) ResetLoginAttempts(ctx context.Context, key domain.ThrottleKey) error {
	return errTODO
}
func (s *Store) ReleaseLoginAttempt(ctx context.Context, key domain.ThrottleKey, now time.Time) error {
	return errTODO
}
func (s *Store) PruneLoginThrottle(ctx context.Context, now time.Time, policy domain.ThrottlePolicy) (int, error) {
	return 0, errTODO
}
func (s *Store) Append(ctx context.Context, e domain.AuditEvent) error { return errTODO }
func (s *Store) Events(ctx context.Context, filter ports.EventFilter) ([]domain.AuditEvent, error) {
	return nil, errTODO
}
