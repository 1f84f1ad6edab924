package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	sqlite "modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/authd/authd/domain"
)

// Constraints whose violation is a domain answer. SQLite names the columns
// of a violated unique index, not the index, and no foreign key at all.
const (
	// emailKeyColumn is the column of users_email_key, the unique index
	// on the email's key (db/sqlite/migrations/000001).
	emailKeyColumn = "users.email_key"
	// credentialIDColumn is the unique column of a passkey's credential id
	// (db/sqlite/migrations/000003).
	credentialIDColumn = "passkeys.credential_id"
)

// translate maps a driver error to the domain's vocabulary at the boundary:
//
//   - sql.ErrNoRows                                   -> domain.ErrNotFound
//   - unique violation on users.email_key             -> domain.ErrEmailTaken
//   - unique violation on passkeys.credential_id      -> domain.ErrPasskeyExists
//   - the database cannot answer now (SQLITE_BUSY, _LOCKED, I/O errors, a
//     full disk, no memory, a file that cannot be opened or is not a
//     database, a deadline that ran out, a connection gone)
//     -> domain.ErrUnavailable (wrapping err)
//   - anything else                                   -> err, wrapped with the operation
//
// A foreign key violation is not translated here: the statements that can
// cause one that means "no such user" (SetPassword, CreateEmailToken, and
// the inserts of second factors and passkeys) say so themselves.
//
// Messages name the operation and SQLite's message, which names tables
// and columns but never the statement's arguments (token digests,
// password hashes); the SQL text is not included either.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s: %w", op, domain.ErrNotFound)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code()
		switch {
		case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE && strings.Contains(se.Error(), emailKeyColumn):
			return fmt.Errorf("sqlite: %s: %w", op, domain.ErrEmailTaken)
		case code == sqlite3.SQLITE_CONSTRAINT_UNIQUE && strings.Contains(se.Error(), credentialIDColumn):
			return fmt.Errorf("sqlite: %s: %w", op, domain.ErrPasskeyExists)
		case unavailableCode(code):
			return fmt.Errorf("%w: sqlite: %s: %w", domain.ErrUnavailable, op, err)
		}
		return fmt.Errorf("sqlite: %s: %w", op, err)
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, sql.ErrConnDone):
		return fmt.Errorf("%w: sqlite: %s: %w", domain.ErrUnavailable, op, err)
	}
	return fmt.Errorf("sqlite: %s: %w", op, err)
}

// translate is the repositories' variant: once the Store is closed every
// failure is "unavailable" (database/sql reports a bare "database is
// closed").
func (r *repos) translate(op string, err error) error {
	if err != nil && r.closed.Load() {
		return fmt.Errorf("%w: sqlite: %s: store closed: %w", domain.ErrUnavailable, op, err)
	}
	return translate(op, err)
}

// isForeignKeyViolation reports SQLITE_CONSTRAINT_FOREIGNKEY.
func isForeignKeyViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// unavailableCode: the primary result codes of a database that cannot
// serve now, whatever the statement: locks held too long by another
// process, I/O failures, a full disk, no memory, a read-only or missing
// file, a damaged one.
func unavailableCode(code int) bool {
	switch code & 0xff {
	case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM, sqlite3.SQLITE_READONLY,
		sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN,
		sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOTADB:
		return true
	}
	return false
}
