//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package postgres

import "github.com/jackc/pgx/v5"

// connAlive: without a portable non-blocking peek, only what pgconn knows.
// pgxpool still pings connections idle for more than a second.
func connAlive(conn *pgx.Conn) bool {
	pc := conn.PgConn()
	return !pc.IsClosed() && !pc.IsBusy()
}
