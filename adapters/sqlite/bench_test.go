package sqlite_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/adapters/sqlite"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// The benchmarks mirror adapters/postgres/bench_test.go's main paths: one
// call's full cost (statement, transaction where there is one, row
// translation) on a file in t.TempDir with the production pragmas (WAL,
// synchronous=NORMAL: a commit does not wait for the disk). The database
// holds seedUsers accounts, each with a password, a session and a live
// refresh token, so look-ups walk indexes of some size. Parallel variants
// run the hot paths of a concurrent server; the "writer" variants send the
// plain reads to the writer connection too, to show what the reader pool
// buys.

const (
	seedUsers = 10_000
	benchTTL  = 720 * time.Hour
	benchHash = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"
)

var benchNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// benchStore opens a store on a fresh, seeded file.
func benchStore(b *testing.B) *sqlite.Store {
	b.Helper()
	st, _ := openStore(b)
	ctx := b.Context()
	const batch = 1000
	for start := 0; start < seedUsers; start += batch {
		err := st.WithinTx(ctx, func(tx ports.Stores) error {
			for i := start; i < start+batch; i++ {
				u := newUser(b, fmt.Sprintf("seed%d@example.com", i))
				if err := tx.Users.CreateUser(ctx, u); err != nil {
					return err
				}
				if err := tx.Passwords.SetPassword(ctx, u.ID(), benchHash, benchNow); err != nil {
					return err
				}
				s := domain.RehydrateSession(domain.SessionID(newID()), u.ID(), benchNow, benchNow, time.Time{}, domain.ClientInfo{}, []domain.AuthMethod{domain.MethodPassword})
				if err := tx.Sessions.CreateSession(ctx, s, newRefreshToken(b).Record(s.ID())); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatalf("seed: %v", err)
		}
	}
	return st
}

func newRefreshToken(b testing.TB) domain.RefreshToken {
	b.Helper()
	tok, err := domain.NewRefreshToken(rand.Reader, benchNow, benchTTL)
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

func benchUser(b *testing.B, st *sqlite.Store, email string) domain.User {
	b.Helper()
	u := newUser(b, email)
	mustNil(b, st.CreateUser(b.Context(), u))
	mustNil(b, st.SetPassword(b.Context(), u.ID(), benchHash, benchNow))
	return u
}

func benchSession(b *testing.B, st *sqlite.Store, u domain.User) (domain.Session, domain.RefreshToken) {
	b.Helper()
	s := domain.RehydrateSession(domain.SessionID(newID()), u.ID(), benchNow, benchNow, time.Time{}, domain.ClientInfo{IP: "192.0.2.1"}, []domain.AuthMethod{domain.MethodPassword})
	tok := newRefreshToken(b)
	mustNil(b, st.CreateSession(b.Context(), s, tok.Record(s.ID())))
	return s, tok
}

func BenchmarkPing(b *testing.B) {
	st := benchStore(b)
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if err := st.Ping(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateUser(b *testing.B) {
	st := benchStore(b)
	users := make([]domain.User, b.N)
	for i := range users {
		users[i] = newUser(b, fmt.Sprintf("user%d@example.com", i))
	}
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := st.CreateUser(ctx, users[i]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCreateUserParallel(b *testing.B) {
	st := benchStore(b)
	var n atomic.Int64
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			u := newUser(b, fmt.Sprintf("user%d@example.com", n.Add(1)))
			if err := st.CreateUser(ctx, u); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkUserByID(b *testing.B) {
	st := benchStore(b)
	u := benchUser(b, st, "ada@example.com")
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.UserByID(ctx, u.ID()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSessionByID(b *testing.B) {
	st := benchStore(b)
	s, _ := benchSession(b, st, benchUser(b, st, "ada@example.com"))
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := st.SessionByID(ctx, s.ID()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSessionByIDParallel(b *testing.B) {
	for _, mode := range []string{"readers", "writer"} {
		b.Run(mode, func(b *testing.B) {
			st := benchStore(b)
			if mode == "writer" {
				sqlite.ReadThroughWriter(st)
			}
			s, _ := benchSession(b, st, benchUser(b, st, "ada@example.com"))
			ctx := b.Context()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := st.SessionByID(ctx, s.ID()); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// BenchmarkSessionByIDWhileRefreshing: the session reads of authenticated
// requests while one client refreshes in a loop, the case the reader pool
// is for: with reads on the writer they queue behind the transactions.
func BenchmarkSessionByIDWhileRefreshing(b *testing.B) {
	for _, mode := range []string{"readers", "writer"} {
		b.Run(mode, func(b *testing.B) {
			st := benchStore(b)
			if mode == "writer" {
				sqlite.ReadThroughWriter(st)
			}
			u := benchUser(b, st, "ada@example.com")
			s, _ := benchSession(b, st, u)
			_, first := benchSession(b, st, u)
			ctx, cancel := context.WithCancel(b.Context())
			done := make(chan struct{})
			var refreshes atomic.Int64
			go func() {
				defer close(done)
				presented := first.Hash()
				for ctx.Err() == nil {
					next := newRefreshToken(b)
					if err := benchRefresh(ctx, st, presented, next); err != nil {
						if ctx.Err() == nil {
							b.Error(err)
						}
						return
					}
					presented = next.Hash()
					refreshes.Add(1)
				}
			}()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, _, err := st.SessionByID(ctx, s.ID()); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			cancel()
			<-done
			b.ReportMetric(float64(refreshes.Load())/b.Elapsed().Seconds(), "refreshes/s")
		})
	}
}

// benchRefresh is one refresh as application/sessions Refresh runs it: in
// one transaction, read the token with its session and owner, decide,
// store the rotation and append the "refreshed" event.
func benchRefresh(ctx context.Context, st *sqlite.Store, presented domain.RefreshTokenHash, next domain.RefreshToken) error {
	var p domain.SessionPolicy
	return st.WithinTx(ctx, func(tx ports.Stores) error {
		rec, sess, u, err := tx.Sessions.RefreshToken(ctx, presented)
		if err != nil {
			return err
		}
		if v := p.DecideRotation(rec, sess, benchNow); v != domain.RotationAllowed {
			return fmt.Errorf("rotation verdict %v", v)
		}
		r, _ := p.Rotate(rec, sess, next, benchNow, domain.ClientInfo{})
		if err := tx.Sessions.Rotate(ctx, r); err != nil {
			return err
		}
		return tx.Audit.Append(ctx, domain.AuditEvent{
			ID: domain.EventID(newID()), At: benchNow, Type: domain.EventRefreshed, UserID: u.ID(), SessionID: sess.ID(),
		})
	})
}

// BenchmarkRefresh walks one session's rotation chain.
func BenchmarkRefresh(b *testing.B) {
	st := benchStore(b)
	_, first := benchSession(b, st, benchUser(b, st, "ada@example.com"))
	next := make([]domain.RefreshToken, b.N)
	for i := range next {
		next[i] = newRefreshToken(b)
	}
	presented := first.Hash()
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := benchRefresh(ctx, st, presented, next[i]); err != nil {
			b.Fatal(err)
		}
		presented = next[i].Hash()
	}
}

// BenchmarkRefreshParallel: each goroutine walks the chain of its own
// session; the transactions serialise on the writer.
func BenchmarkRefreshParallel(b *testing.B) {
	st := benchStore(b)
	u := benchUser(b, st, "ada@example.com")
	firsts := make([]domain.RefreshToken, runtime.GOMAXPROCS(0))
	for i := range firsts {
		_, firsts[i] = benchSession(b, st, u)
	}
	var started atomic.Int64
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := int(started.Add(1)) - 1
		if i >= len(firsts) {
			b.Errorf("goroutine %d has no session of its own", i)
			return
		}
		presented := firsts[i].Hash()
		for pb.Next() {
			next, err := domain.NewRefreshToken(rand.Reader, benchNow, benchTTL)
			if err != nil {
				b.Error(err)
				return
			}
			if err := benchRefresh(ctx, st, presented, next); err != nil {
				b.Error(err)
				return
			}
			presented = next.Hash()
		}
	})
}

// BenchmarkRotate is Rotate alone, outside a transaction (its own write
// transaction): what BenchmarkRefresh adds is the read and the event.
func BenchmarkRotate(b *testing.B) {
	st := benchStore(b)
	s, first := benchSession(b, st, benchUser(b, st, "ada@example.com"))
	next := make([]domain.IssuedRefreshToken, b.N)
	for i := range next {
		next[i] = newRefreshToken(b).Record(s.ID())
	}
	presented := first.Hash()
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := st.Rotate(ctx, domain.Rotation{Spent: presented, Next: next[i], Session: s.ID(), At: benchNow}); err != nil {
			b.Fatal(err)
		}
		presented = next[i].Hash
	}
}

func BenchmarkClaimLoginAttempt(b *testing.B) {
	st := benchStore(b)
	policy := domain.ThrottlePolicy{FreeAttempts: 1 << 30, BaseDelay: time.Second, MaxDelay: time.Minute, Window: time.Hour}
	var key domain.ThrottleKey
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if ok, _, err := st.ClaimLoginAttempt(ctx, key, benchNow, policy); err != nil || !ok {
			b.Fatal(ok, err)
		}
	}
}
