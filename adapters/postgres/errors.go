package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/authd/authd/domain"
)

// Constraints whose violation is a domain answer, by name.
const (
	// emailIndex is the unique index on the email's key (db/migrations/000005).
	emailIndex = "users_email_key"
	// credentialUserFK ties a password credential to its user
	// (db/migrations/000004): violated, it means there is no such user.
	credentialUserFK = "password_credentials_user_id_fkey"
	// emailTokenUserFK ties an email token to its user
	// (db/migrations/000006): violated, there is no such user.
	emailTokenUserFK = "email_tokens_user_id_fkey"
	// passkeyCredentialKey is the unique constraint on a passkey's
	// credential id (db/migrations/000007): violated, the credential is
	// registered already.
	passkeyCredentialKey = "passkeys_credential_id_key"
)

// userFKs are the foreign keys to users whose violation means there is no
// such user (db/migrations/000004, 000006 and 000007).
var userFKs = map[string]bool{
	credentialUserFK:                  true,
	emailTokenUserFK:                  true,
	"totp_credentials_user_id_fkey":   true,
	"recovery_codes_user_id_fkey":     true,
	"mfa_challenges_user_id_fkey":     true,
	"passkeys_user_id_fkey":           true,
	"passkey_ceremonies_user_id_fkey": true,
}

const (
	sqlstateUniqueViolation     = "23505"
	sqlstateForeignKeyViolation = "23503"
)

// translate maps a driver error to the domain's vocabulary at the boundary:
//
//   - pgx.ErrNoRows                                  -> domain.ErrNotFound
//   - unique violation on users_email_key            -> domain.ErrEmailTaken
//   - unique violation on passkeys_credential_id_key -> domain.ErrPasskeyExists
//   - foreign key violation on one of userFKs (a password, an email token,
//     a second factor, a challenge, a passkey or a ceremony for no such
//     user)                                          -> domain.ErrNotFound
//   - the server or the network cannot answer now    -> domain.ErrUnavailable (wrapping err)
//   - anything else                                  -> err, wrapped with the operation
//
// Messages name the operation only; they never carry SQL arguments such as
// token digests or password hashes (PgError.Error omits the Detail field,
// which is where the server would echo a key).
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	if isTxError(err) {
		return err // translated already, as the operation that failed
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
	}
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		switch {
		case pgErr.Code == sqlstateUniqueViolation && pgErr.ConstraintName == emailIndex:
			return fmt.Errorf("postgres: %s: %w", op, domain.ErrEmailTaken)
		case pgErr.Code == sqlstateUniqueViolation && pgErr.ConstraintName == passkeyCredentialKey:
			return fmt.Errorf("postgres: %s: %w", op, domain.ErrPasskeyExists)
		case pgErr.Code == sqlstateForeignKeyViolation && userFKs[pgErr.ConstraintName]:
			return fmt.Errorf("postgres: %s: %w", op, domain.ErrNotFound)
		case unavailableSQLState(pgErr.Code):
			return fmt.Errorf("%w: postgres: %s: %w", domain.ErrUnavailable, op, err)
		}
		return fmt.Errorf("postgres: %s: %w", op, err)
	}
	if connectionFailure(err) {
		return fmt.Errorf("%w: postgres: %s: %w", domain.ErrUnavailable, op, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// translate is the repositories' variant: once the Store is closed every
// failure is "unavailable" (the pool reports a bare "closed pool" error).
func (r *repos) translate(op string, err error) error {
	if err != nil && r.closed.Load() && !isTxError(err) {
		return fmt.Errorf("%w: postgres: %s: store closed: %w", domain.ErrUnavailable, op, err)
	}
	return translate(op, err)
}

// unavailableSQLState: class 08 (connection exception), class 53
// (insufficient resources: too many connections, out of memory, disk full)
// and 57P01-57P03 (admin shutdown, crash shutdown, cannot connect now).
func unavailableSQLState(code string) bool {
	if len(code) != 5 {
		return false
	}
	switch code[:2] {
	case "08", "53":
		return true
	}
	switch code {
	case "57P01", "57P02", "57P03":
		return true
	}
	return false
}

// connectionFailure reports errors of reaching the server rather than of
// the statement: refused or broken connections, timeouts, a deadline that
// ran out. A cancelled context is the caller giving up, not the store
// failing, so it stays a plain error.
func connectionFailure(err error) bool {
	var connectErr *pgconn.ConnectError
	var netErr net.Error
	switch {
	case errors.As(err, &connectErr),
		pgconn.Timeout(err),
		errors.Is(err, context.DeadlineExceeded),
		errors.Is(err, pgconn.ErrConnClosed),
		errors.As(err, &netErr),
		errors.Is(err, io.EOF),
		errors.Is(err, io.ErrUnexpectedEOF):
		return true
	}
	return false
}

// isTxError reports a failure of the transaction (see txError): the
// statement that meets it did not run.
func isTxError(err error) bool {
	var te *txError
	return errors.As(err, &te)
}
