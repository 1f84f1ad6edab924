package pgtest

import (
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// SlowProxy forwards TCP to a Postgres server and holds every chunk it
// forwards, either way, for a delay the test sets: a slow network or an
// overloaded server, for tests of deadlines. Closed when the test ends.
type SlowProxy struct {
	url   string
	delay atomic.Int64 // nanoseconds
}

// NewSlowProxy starts a proxy in front of the server of dbURL (a
// postgres:// URL); URL is dbURL through the proxy, with query set on it
// (pool_max_conns, say).
func NewSlowProxy(t testing.TB, dbURL string, query url.Values) *SlowProxy {
	t.Helper()
	cfg, err := pgx.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	target := net.JoinHostPort(cfg.Host, fmt.Sprint(cfg.Port))
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	// The same URL (user, password, database, options) through the proxy:
	// a container's server asks for the password, local binaries trust.
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	u.Host = l.Addr().String()
	q := u.Query()
	for k, v := range query {
		q[k] = v
	}
	u.RawQuery = q.Encode()
	p := &SlowProxy{url: u.String()}

	var wg sync.WaitGroup
	var conns sync.Map
	t.Cleanup(func() {
		l.Close()
		conns.Range(func(k, _ any) bool { k.(net.Conn).Close(); return true })
		wg.Wait()
	})
	pipe := func(dst, src net.Conn) {
		defer wg.Done()
		defer dst.Close()
		defer src.Close()
		buf := make([]byte, 32<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				if d := time.Duration(p.delay.Load()); d > 0 {
					time.Sleep(d)
				}
				if _, werr := dst.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			in, err := l.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			conns.Store(in, nil)
			conns.Store(out, nil)
			wg.Add(2)
			go pipe(out, in)
			go pipe(in, out)
		}
	}()
	return p
}

// URL is the database URL through the proxy.
func (p *SlowProxy) URL() string { return p.url }

// SetDelay makes every chunk forwarded from now on wait d (0: none).
func (p *SlowProxy) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }
