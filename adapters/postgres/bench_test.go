package postgres_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/adapters/postgres"
	"github.com/authd/authd/adapters/postgres/pgtest"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// One benchmark per repository method, against the Postgres pgtest
// provides, so each figure is one call's full cost: round trips, the
// transaction where there is one, and row translation. The server usually
// shares this machine's CPUs with the benchmark, and pgtest runs it with
// fsync=off and synchronous_commit=off, so the writes here do not wait for
// a disk: a production commit costs more. Compare figures from one machine
// and one pgtest source only. Rows a benchmark needs are made before the
// timer starts.
//
// The hot paths of a concurrent server (every authenticated request reads
// a session and its user; every refresh rotates) have Parallel variants.
// Where a use case runs several calls in one transaction (a login opens a
// session, a refresh rotates), a benchmark runs that transaction as the
// use case does, so the figure is what the use case pays.

const (
	// seedUsers is how many unrelated accounts, each with a password, one
	// session and one live refresh token, sit in the tables, so that look-ups walk
	// indexes of some size rather than a one-row table.
	seedUsers  = 10_000
	benchTTL   = 720 * time.Hour
	benchHash  = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"
	benchHash2 = "$argon2id$v=19$m=19456,t=2,p=1$dGxhc3RsYXN0bGFzdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA"
)

// benchNow is the fixed "now" of the benchmarks: every refresh token is
// issued and spent at it, well before it expires.
var benchNow = time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)

// seed is the background data; ANALYZE gives the planner real statistics,
// as a long-running database would have.
const seed = `
INSERT INTO users (id, email, email_key, role, created_at, updated_at)
SELECT gen_random_uuid(), 'seed' || g || '@example.com', 'seed' || g || '@example.com', 'user', now(), now()
FROM generate_series(1, %d) AS g;
INSERT INTO password_credentials (user_id, hash, created_at, updated_at)
SELECT id, 'h', now(), now() FROM users;
INSERT INTO sessions (id, user_id, created_at, last_used_at)
SELECT gen_random_uuid(), id, now(), now() FROM users;
INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at)
SELECT sha256(convert_to(id::text, 'UTF8')), id, now(), now() + interval '30 days' FROM sessions;
ANALYZE;`

// benchStore opens a store on a fresh, seeded database.
func benchStore(b *testing.B) *postgres.Store {
	b.Helper()
	url := pgtest.NewDatabase(b)
	if _, err := rawConn(b, url).Exec(b.Context(), fmt.Sprintf(seed, seedUsers)); err != nil {
		b.Fatalf("seed: %v", err)
	}
	return openStore(b, url)
}

// benchUser stores a new account with password benchHash.
func benchUser(b *testing.B, st *postgres.Store, email string) domain.User {
	b.Helper()
	u := newUser(b, email)
	if err := st.CreateUser(b.Context(), u); err != nil {
		b.Fatalf("CreateUser: %v", err)
	}
	if err := st.SetPassword(b.Context(), u.ID(), benchHash, benchNow); err != nil {
		b.Fatalf("SetPassword: %v", err)
	}
	return u
}

func newRefreshToken(b *testing.B) domain.RefreshToken {
	b.Helper()
	tok, err := domain.NewRefreshToken(rand.Reader, benchNow, benchTTL)
	if err != nil {
		b.Fatal(err)
	}
	return tok
}

// benchSession stores a new session of u with its first refresh token and
// returns both.
func benchSession(b *testing.B, st *postgres.Store, u domain.User) (domain.Session, domain.RefreshToken) {
	b.Helper()
	s := newSession(u, benchNow)
	tok := newRefreshToken(b)
	if err := st.CreateSession(b.Context(), s, tok.Record(s.ID())); err != nil {
		b.Fatalf("CreateSession: %v", err)
	}
	return s, tok
}

// BenchmarkPing is the floor: one round trip on a pooled connection.
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

// ---- users ----

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

func BenchmarkUserByEmail(b *testing.B) {
	st := benchStore(b)
	u := benchUser(b, st, "ada@example.com")
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if got, err := st.UserByEmail(ctx, u.Email()); err != nil || got.ID() != u.ID() {
			b.Fatal(got.ID(), err)
		}
	}
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

func BenchmarkUserByIDParallel(b *testing.B) {
	st := benchStore(b)
	u := benchUser(b, st, "ada@example.com")
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := st.UserByID(ctx, u.ID()); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// ---- passwords ----

// BenchmarkPasswordHash is the read of every password login.
func BenchmarkPasswordHash(b *testing.B) {
	st := benchStore(b)
	u := benchUser(b, st, "ada@example.com")
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := st.PasswordHash(ctx, u.ID()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSwapPasswordHash alternates two hashes so that every UPDATE
// writes a changed row, as a rehash on login does (a compare-and-swap over
// the hash the previous iteration wrote).
func BenchmarkSwapPasswordHash(b *testing.B) {
	st := benchStore(b)
	u := benchUser(b, st, "ada@example.com")
	hashes := [2]string{benchHash, benchHash2}
	ctx := b.Context()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if err := st.SwapPasswordHash(ctx, u.ID(), hashes[i%2], hashes[(i+1)%2], benchNow); err != nil {
			b.Fatal(err)
		}
	}
}

// ---- sessions ----

// BenchmarkCreateSession is the bare call: one statement storing the
// session and its first refresh token.
func BenchmarkCreateSession(b *testing.B) {
	st := benchStore(b)
	u := benchUser(b, st, "ada@example.com")
	sessions, firsts := benchLogins(b, u)
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := st.CreateSession(ctx, sessions[i], firsts[i]); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkOpenSession is what every password login pays to open its
// session (application/sessions Open): one transaction holding the
// password (FOR SHARE), storing the session and appending the login event.
func BenchmarkOpenSession(b *testing.B) {
	st := benchStore(b)
	u := benchUser(b, st, "ada@example.com")
	sessions, firsts := benchLogins(b, u)
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		err := st.WithinTx(ctx, func(tx ports.Stores) error {
			if err := tx.Passwords.HoldPassword(ctx, u.ID(), benchHash); err != nil {
				return err
			}
			if err := tx.Sessions.CreateSession(ctx, sessions[i], firsts[i]); err != nil {
				return err
			}
			return tx.Audit.Append(ctx, domain.AuditEvent{
				ID: newEventID(), At: benchNow, Type: domain.EventLoginSucceeded, UserID: u.ID(), SessionID: sessions[i].ID(),
			})
		})
		if err != nil {
			b.Fatal(err)
		}
	}
}

// benchLogins mints b.N sessions of u with their first refresh tokens.
func benchLogins(b *testing.B, u domain.User) ([]domain.Session, []domain.IssuedRefreshToken) {
	sessions := make([]domain.Session, b.N)
	firsts := make([]domain.IssuedRefreshToken, b.N)
	for i := range sessions {
		sessions[i] = newSession(u, benchNow)
		firsts[i] = newRefreshToken(b).Record(sessions[i].ID())
	}
	return sessions, firsts
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
	st := benchStore(b)
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
}

// benchRefresh is one refresh as application/sessions Refresh runs it:
// in one transaction, read the token with its session and owner (locked),
// decide, store the rotation and append the "refreshed" event.
func benchRefresh(ctx context.Context, st *postgres.Store, presented domain.RefreshTokenHash, next domain.RefreshToken) error {
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
			ID: newEventID(), At: benchNow, Type: domain.EventRefreshed, UserID: u.ID(), SessionID: sess.ID(),
		})
	})
}

// BenchmarkRefresh walks one session's rotation chain: each iteration
// spends the token the previous one stored. The successors are minted in
// setup.
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
// session, like many clients refreshing at once. Refreshes of one token
// serialize on its lock by design (and the later ones are reuse), so
// sharing a session here would measure that, not rotation. Successors are
// minted in the loop (crypto/rand and SHA-256, about a microsecond, next to
// a transaction's several round trips), since how many each goroutine
// needs is unknown beforehand.
func BenchmarkRefreshParallel(b *testing.B) {
	st := benchStore(b)
	u := benchUser(b, st, "ada@example.com")
	// RunParallel starts GOMAXPROCS goroutines (no SetParallelism here).
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
			b.Errorf("goroutine %d has no session of its own (%d made)", i, len(firsts))
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

// BenchmarkRotate is Rotate's statement alone, outside a transaction, on
// one session's chain: what BenchmarkRefresh adds to it is the
// transaction, the locking read and the audit insert.
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
		r := domain.Rotation{Spent: presented, Next: next[i], Session: s.ID(), At: benchNow}
		if err := st.Rotate(ctx, r); err != nil {
			b.Fatal(err)
		}
		presented = next[i].Hash
	}
}

// BenchmarkRefreshToken is the read alone, outside a transaction (a
// logout by refresh token makes it).
func BenchmarkRefreshToken(b *testing.B) {
	st := benchStore(b)
	_, tok := benchSession(b, st, benchUser(b, st, "ada@example.com"))
	ctx := b.Context()
	b.ReportAllocs()
	for b.Loop() {
		if _, _, _, err := st.RefreshToken(ctx, tok.Hash()); err != nil {
			b.Fatal(err)
		}
	}
}

// The revoke benchmarks end a live session per iteration: revoking an
// already revoked one changes nothing and would flatter the figure.

func BenchmarkRevokeSession(b *testing.B) {
	st := benchStore(b)
	u := benchUser(b, st, "ada@example.com")
	ids := make([]domain.SessionID, b.N)
	for i := range ids {
		s, _ := benchSession(b, st, u)
		ids[i] = s.ID()
	}
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := st.RevokeSession(ctx, ids[i], benchNow); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRevokeSessions ends the one live session of a fresh user per
// iteration, sparing none, as a password change or an admin does.
func BenchmarkRevokeSessions(b *testing.B) {
	st := benchStore(b)
	users := make([]domain.UserID, b.N)
	for i := range users {
		u := benchUser(b, st, fmt.Sprintf("user%d@example.com", i))
		benchSession(b, st, u)
		users[i] = u.ID()
	}
	ctx := b.Context()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if n, err := st.RevokeSessions(ctx, users[i], "", benchNow); err != nil || n != 1 {
			b.Fatal(n, err)
		}
	}
}
