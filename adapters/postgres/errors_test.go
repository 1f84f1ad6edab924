package postgres

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/authd/authd/domain"
)

func TestTranslate(t *testing.T) {
	pg := func(code, constraint string) error {
		return fmt.Errorf("exec: %w", &pgconn.PgError{Severity: "ERROR", Code: code, ConstraintName: constraint, Message: "m"})
	}
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED}
	for _, tc := range []struct {
		name string
		err  error
		want error // nil: must be none of the sentinels below
	}{
		{"no rows", pgx.ErrNoRows, domain.ErrNotFound},
		{"email index", pg("23505", emailIndex), domain.ErrEmailTaken},
		{"other unique", pg("23505", "users_pkey"), nil},
		{"credential of no user", pg("23503", credentialUserFK), domain.ErrNotFound},
		{"email token of no user", pg("23503", emailTokenUserFK), domain.ErrNotFound},
		{"other foreign key", pg("23503", "sessions_user_id_fkey"), nil},
		{"unique on the credential", pg("23505", "password_credentials_pkey"), nil},
		{"connection failure 08006", pg("08006", ""), domain.ErrUnavailable},
		{"too many connections 53300", pg("53300", ""), domain.ErrUnavailable},
		{"disk full 53100", pg("53100", ""), domain.ErrUnavailable},
		{"admin shutdown 57P01", pg("57P01", ""), domain.ErrUnavailable},
		{"crash shutdown 57P02", pg("57P02", ""), domain.ErrUnavailable},
		{"cannot connect now 57P03", pg("57P03", ""), domain.ErrUnavailable},
		{"query canceled 57014", pg("57014", ""), nil},
		{"syntax error", pg("42601", ""), nil},
		{"deadline", fmt.Errorf("acquire: %w", context.DeadlineExceeded), domain.ErrUnavailable},
		{"cancel", fmt.Errorf("acquire: %w", context.Canceled), nil},
		{"refused", refused, domain.ErrUnavailable},
		{"eof", fmt.Errorf("read: %w", io.ErrUnexpectedEOF), domain.ErrUnavailable},
		{"conn closed", fmt.Errorf("exec: %w", pgconn.ErrConnClosed), domain.ErrUnavailable},
		{"anything else", errors.New("boom"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := translate("op", tc.err)
			if got == nil {
				t.Fatal("translate returned nil for an error")
			}
			sentinels := []error{domain.ErrNotFound, domain.ErrEmailTaken, domain.ErrUnavailable}
			for _, s := range sentinels {
				if is := errors.Is(got, s); is != (s == tc.want) {
					t.Errorf("errors.Is(%v, %v) = %t, want %t", got, s, is, !is)
				}
			}
			if tc.want == domain.ErrUnavailable && !errors.Is(got, tc.err) {
				t.Errorf("unavailable error %v does not wrap the cause", got)
			}
		})
	}
	if translate("op", nil) != nil {
		t.Fatal("translate(nil) != nil")
	}
}

func TestMigrateURL(t *testing.T) {
	for in, want := range map[string]string{
		"postgres://u:p@h:5432/db?sslmode=disable": "pgx5://u:p@h:5432/db?sslmode=disable",
		"postgresql://u@h/db":                      "pgx5://u@h/db",
		"PostgreSQL://u@h/db":                      "pgx5://u@h/db",
		"pgx5://u@h/db":                            "pgx5://u@h/db",
		"postgres://u@h/db?pool_max_conns=8&sslmode=require&pool_min_conns=1": "pgx5://u@h/db?sslmode=require",
	} {
		got, err := migrateURL(in)
		if err != nil || got != want {
			t.Errorf("migrateURL(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"mysql://h/db", "host=h dbname=db", ""} {
		if _, err := migrateURL(in); err == nil {
			t.Errorf("migrateURL(%q) = nil error, want one", in)
		}
	}
}
