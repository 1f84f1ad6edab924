//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package postgres

import (
	"errors"
	"net"
	"syscall"

	"github.com/jackc/pgx/v5"
)

// connAlive is the pool's PrepareConn check (see retry.go): false when the
// connection is closed, busy, or its socket has something to read (an
// idle connection never has: what is there is a FATAL such as 57P01 from
// a shutting-down server, or the end of the stream). It peeks with
// MSG_PEEK|MSG_DONTWAIT: one system call, no round trip, nothing consumed.
// A socket it cannot peek at (not TCP or Unix) counts as alive.
func connAlive(conn *pgx.Conn) bool {
	pc := conn.PgConn()
	if pc.IsClosed() || pc.IsBusy() {
		return false
	}
	nc := pc.Conn()
	if tc, ok := nc.(interface{ NetConn() net.Conn }); ok { // *tls.Conn
		nc = tc.NetConn()
	}
	sc, ok := nc.(syscall.Conn)
	if !ok {
		return true
	}
	raw, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := true
	var buf [1]byte
	// Control, not Read: Read would take the descriptor's read lock, which
	// pgconn's background reader (started by a slow write) may hold, parked
	// in a read, for as long as the connection stays idle. The peek neither
	// blocks nor consumes anything, so it may run beside such a read (which
	// then gets what there is: a dead connection it hides is found by the
	// statement, as without this check).
	err = raw.Control(func(fd uintptr) {
		n, _, rerr := syscall.Recvfrom(int(fd), buf[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		switch {
		case errors.Is(rerr, syscall.EAGAIN), errors.Is(rerr, syscall.EWOULDBLOCK), errors.Is(rerr, syscall.EINTR):
			// nothing to read: the connection is idle, as it should be
		default: // an error, end of file (n == 0), or unsolicited data
			alive = false
		}
		_ = n
	})
	return err == nil && alive
}
