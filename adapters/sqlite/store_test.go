package sqlite_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/adapters/sqlite"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var t0 = time.Date(2030, time.March, 4, 5, 6, 7, 123456000, time.UTC)

func newID() string { return uuid.Must(uuid.NewV7()).String() }

func mustNil(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func newUser(t testing.TB, email string) domain.User {
	t.Helper()
	e, err := domain.NewEmail(email)
	mustNil(t, err)
	u, err := domain.NewUser(domain.UserID(newID()), e, "", t0)
	mustNil(t, err)
	return u
}

// newSession stores a session of user and returns its first token.
func newSession(t testing.TB, st *sqlite.Store, user domain.UserID) (domain.SessionID, domain.RefreshToken) {
	t.Helper()
	sid := domain.SessionID(newID())
	tok, err := domain.NewRefreshToken(rand.Reader, t0, time.Hour)
	mustNil(t, err)
	sess := domain.RehydrateSession(sid, user, t0, t0, time.Time{}, domain.ClientInfo{IP: "192.0.2.1"}, []domain.AuthMethod{domain.MethodPassword})
	mustNil(t, st.CreateSession(context.Background(), sess, tok.Record(sid)))
	return sid, tok
}

var errReused = errors.New("token already spent")

// refresh rotates hash the way the refresh use case does: read it in the
// transaction, let the domain decide, store the rotation.
func refresh(ctx context.Context, st *sqlite.Store, hash domain.RefreshTokenHash, at time.Time) error {
	next, err := domain.NewRefreshToken(rand.Reader, at, time.Hour)
	if err != nil {
		return err
	}
	return st.WithinTx(ctx, func(s ports.Stores) error {
		rec, sess, _, err := s.Sessions.RefreshToken(ctx, hash)
		if err != nil {
			return err
		}
		switch (domain.SessionPolicy{}).DecideRotation(rec, sess, at) {
		case domain.RotationReuse:
			return errReused
		case domain.RotationRefused:
			return errors.New("refused")
		}
		if err := s.Sessions.Rotate(ctx, domain.Rotation{Spent: hash, Next: next.Record(sess.ID()), Session: sess.ID(), At: at}); err != nil {
			return err
		}
		return s.Audit.Append(ctx, domain.AuditEvent{ID: domain.EventID(newID()), At: at, Type: domain.EventRefreshed, UserID: sess.UserID(), SessionID: sess.ID()})
	})
}

func TestSchemaVersionIsTheNewestMigration(t *testing.T) {
	if got := sqlite.SchemaVersion(); got != 4 {
		t.Fatalf("SchemaVersion = %d, want 4", got)
	}
}

func TestMigrateUpDownUp(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authd.db")
	version := func() uint {
		t.Helper()
		v, dirty, err := sqlite.MigrationVersion(path)
		mustNil(t, err)
		if dirty {
			t.Fatal("dirty")
		}
		return v
	}
	if v := version(); v != 0 {
		t.Fatalf("no file: version %d, want 0", v)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("MigrationVersion created the file: %v", err)
	}
	mustNil(t, sqlite.MigrateUp(path))
	if v := version(); v != sqlite.SchemaVersion() {
		t.Fatalf("after up: %d", v)
	}
	mustNil(t, sqlite.MigrateUp(path)) // current: nothing to do
	for want := sqlite.SchemaVersion(); want > 0; want-- {
		mustNil(t, sqlite.MigrateDown(path))
		if v := version(); v != want-1 {
			t.Fatalf("after down from %d: %d", want, v)
		}
		if want == 3 {
			for _, table := range []string{"totp_credentials", "recovery_codes", "mfa_challenges", "passkeys", "passkey_ceremonies"} {
				if tableExists(t, path, table) {
					t.Fatalf("table %s still exists after undoing migration 3", table)
				}
			}
		}
		if want == 2 {
			for _, table := range []string{"email_tokens", "mail_outbox", "mail_caps"} {
				if tableExists(t, path, table) {
					t.Fatalf("table %s still exists after undoing migration 2", table)
				}
			}
			if !tableExists(t, path, "users") {
				t.Fatal("undoing migration 2 dropped users")
			}
		}
	}
	mustNil(t, sqlite.MigrateDown(path)) // none applied: nothing to do
	mustNil(t, sqlite.MigrateUp(path))
	if v := version(); v != sqlite.SchemaVersion() {
		t.Fatalf("after up again: %d", v)
	}
	st, err := sqlite.Open(t.Context(), path)
	mustNil(t, err)
	defer st.Close()
	u := newUser(t, "ada@example.com")
	mustNil(t, st.CreateUser(t.Context(), u))
	mustNil(t, st.SetPassword(t.Context(), u.ID(), "h", t0))
	if err := st.SetPassword(t.Context(), domain.UserID(newID()), "h", t0); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("SetPassword for no user = %v, want ErrNotFound (foreign keys on)", err)
	}
}

func tableExists(t *testing.T, path, table string) bool {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?mode=ro")
	mustNil(t, err)
	defer db.Close()
	var exists bool
	mustNil(t, db.QueryRow(`SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?)`, table).Scan(&exists))
	return exists
}

func TestOpenPathParameters(t *testing.T) {
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "full.db")+"?synchronous=FULL")
	mustNil(t, err)
	mustNil(t, st.Ping(t.Context()))
	mustNil(t, st.Close())
	for _, bad := range []string{filepath.Join(dir, "x.db?synchronous=OFF"), filepath.Join(dir, "x.db?cache=shared"), ":memory:", ""} {
		if st, err := sqlite.Open(t.Context(), bad); err == nil {
			_ = st.Close()
			t.Errorf("Open(%q) = nil error", bad)
		}
	}
	// A path with characters that mean something in a URI.
	odd := filepath.Join(dir, "a b#c%d.db")
	st, err = sqlite.Open(t.Context(), odd)
	mustNil(t, err)
	mustNil(t, st.Close())
	if _, err := os.Stat(odd); err != nil {
		t.Fatalf("database not at %q: %v", odd, err)
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	st, _ := openStore(t)
	ctx := t.Context()
	u := newUser(t, "ada@example.com")
	mustNil(t, st.CreateUser(ctx, u))
	mustNil(t, st.Close())
	var key domain.ThrottleKey
	policy := domain.ThrottlePolicy{FreeAttempts: 3, BaseDelay: time.Second, MaxDelay: time.Minute, Window: time.Hour}
	for name, err := range map[string]error{
		"Ping":       st.Ping(ctx),
		"CreateUser": st.CreateUser(ctx, newUser(t, "grace@example.com")),
		"UserByID":   func() error { _, err := st.UserByID(ctx, u.ID()); return err }(),
		"WithinTx":   st.WithinTx(ctx, func(ports.Stores) error { return nil }),
		"Claim":      func() error { _, _, err := st.ClaimLoginAttempt(ctx, key, t0, policy); return err }(),
		"Append":     st.Append(ctx, domain.AuditEvent{ID: domain.EventID(newID()), At: t0, Type: domain.EventRegistered}),
		"Backup":     st.Backup(ctx, filepath.Join(t.TempDir(), "b.db")),
	} {
		if !errors.Is(err, domain.ErrUnavailable) {
			t.Errorf("%s after Close = %v, want ErrUnavailable", name, err)
		}
	}
}

func TestErrorsCarryNoTokenHash(t *testing.T) {
	st, _ := openStore(t)
	ctx := t.Context()
	u := newUser(t, "ada@example.com")
	mustNil(t, st.CreateUser(ctx, u))
	sid, tok := newSession(t, st, u.ID())
	// The same first token again: a unique violation on the digest.
	sid2 := domain.SessionID(newID())
	sess := domain.RehydrateSession(sid2, u.ID(), t0, t0, time.Time{}, domain.ClientInfo{}, nil)
	err := st.CreateSession(ctx, sess, tok.Record(sid2))
	if err == nil {
		t.Fatal("duplicate token accepted")
	}
	h := tok.Hash()
	for _, secret := range []string{hex.EncodeToString(h[:]), strings.ToUpper(hex.EncodeToString(h[:])), tok.Plaintext()} {
		if strings.Contains(err.Error(), secret) {
			t.Fatalf("error %q carries the token", err)
		}
	}
	// Nothing of the failed session was kept.
	if _, _, err := st.SessionByID(ctx, sid2); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("half-created session: %v", err)
	}
	if _, _, err := st.SessionByID(ctx, sid); err != nil {
		t.Fatal(err)
	}
}

// TestTwoStoresOnOneFile opens two Stores on one new file at once, as two
// processes starting together would (one migrates, the other waits), then
// races them.
func TestTwoStoresOnOneFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "authd.db")
	stores := make([]*sqlite.Store, 2)
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i := range stores {
		wg.Go(func() { stores[i], errs[i] = sqlite.Open(t.Context(), path) })
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("Open %d: %v", i, err)
		}
		t.Cleanup(func() { _ = stores[i].Close() })
	}
	if v, dirty, err := sqlite.MigrationVersion(path); err != nil || dirty || v != sqlite.SchemaVersion() {
		t.Fatalf("MigrationVersion = %d, %v, %v", v, dirty, err)
	}
	ctx := t.Context()

	t.Run("RegistrationsOfOneEmail", func(t *testing.T) {
		for round := range 5 {
			email := fmt.Sprintf("race%d@example.com", round)
			const n = 40
			var ok, taken atomic.Int32
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					err := stores[i%2].WithinTx(ctx, func(s ports.Stores) error {
						u := newUser(t, email)
						if err := s.Users.CreateUser(ctx, u); err != nil {
							return err
						}
						return s.Passwords.SetPassword(ctx, u.ID(), "hash", t0)
					})
					switch {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, domain.ErrEmailTaken):
						taken.Add(1)
					default:
						t.Errorf("register: %v", err)
					}
				})
			}
			wg.Wait()
			if ok.Load() != 1 || taken.Load() != n-1 {
				t.Fatalf("round %d: %d registered, %d taken; want 1 and %d", round, ok.Load(), taken.Load(), n-1)
			}
		}
	})

	t.Run("RefreshesOfOneToken", func(t *testing.T) {
		u := newUser(t, "refresh@example.com")
		mustNil(t, stores[0].CreateUser(ctx, u))
		for round := range 5 {
			sid, tok := newSession(t, stores[round%2], u.ID())
			const n = 50
			var ok, reused atomic.Int32
			var wg sync.WaitGroup
			at := t0.Add(time.Minute)
			for i := range n {
				wg.Go(func() {
					switch err := refresh(ctx, stores[i%2], tok.Hash(), at); {
					case err == nil:
						ok.Add(1)
					case errors.Is(err, errReused):
						reused.Add(1)
					default:
						t.Errorf("refresh: %v", err)
					}
				})
			}
			wg.Wait()
			if ok.Load() != 1 || reused.Load() != n-1 {
				t.Fatalf("round %d: %d rotated, %d reused; want 1 and %d", round, ok.Load(), reused.Load(), n-1)
			}
			sess, _, err := stores[1].SessionByID(ctx, sid)
			mustNil(t, err)
			if !sess.LastUsedAt().Equal(at) {
				t.Fatalf("last use %v, want %v", sess.LastUsedAt(), at)
			}
		}
	})

	t.Run("ThrottleClaimsAcrossStores", func(t *testing.T) {
		policy := domain.ThrottlePolicy{FreeAttempts: 5, BaseDelay: time.Minute, MaxDelay: time.Hour, Window: time.Hour}
		var key domain.ThrottleKey
		key[0] = 7
		var admitted atomic.Int32
		var wg sync.WaitGroup
		for i := range 40 {
			wg.Go(func() {
				ok, _, err := stores[i%2].ClaimLoginAttempt(ctx, key, t0, policy)
				if err != nil {
					t.Errorf("claim: %v", err)
				}
				if ok {
					admitted.Add(1)
				}
			})
		}
		wg.Wait()
		if got := admitted.Load(); got != int32(policy.FreeAttempts) {
			t.Fatalf("%d admitted at one instant, want %d", got, policy.FreeAttempts)
		}
	})
}

// TestBackupWhileWriting takes a backup while registrations run and
// checks the copy opens and holds every user committed before it started.
func TestBackupWhileWriting(t *testing.T) {
	st, _ := openStore(t)
	ctx := t.Context()
	var mu sync.Mutex
	var committed []domain.UserID
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				u := newUser(t, fmt.Sprintf("w%d-%d@example.com", w, i))
				err := st.WithinTx(ctx, func(s ports.Stores) error {
					if err := s.Users.CreateUser(ctx, u); err != nil {
						return err
					}
					return s.Passwords.SetPassword(ctx, u.ID(), "hash", t0)
				})
				if err != nil {
					t.Errorf("register: %v", err)
					return
				}
				mu.Lock()
				committed = append(committed, u.ID())
				mu.Unlock()
			}
		})
	}
	for {
		mu.Lock()
		n := len(committed)
		mu.Unlock()
		if n >= 200 {
			break
		}
		time.Sleep(time.Millisecond)
	}
	mu.Lock()
	before := append([]domain.UserID(nil), committed...)
	mu.Unlock()
	to := filepath.Join(t.TempDir(), "backup.db")
	mustNil(t, st.Backup(ctx, to))
	close(stop)
	wg.Wait()

	if err := st.Backup(ctx, to); err == nil {
		t.Fatal("Backup overwrote an existing file")
	}

	bk, err := sqlite.Open(ctx, to)
	mustNil(t, err)
	defer bk.Close()
	for _, id := range before {
		if _, err := bk.UserByID(ctx, id); err != nil {
			t.Fatalf("user %s committed before the backup: %v", id, err)
		}
		if _, err := bk.PasswordHash(ctx, id); err != nil {
			t.Fatalf("password of %s: %v", id, err)
		}
	}
	// Consistent: every user in the copy has its password (they committed
	// together).
	all, err := bk.ListUsers(ctx, ports.UserFilter{Limit: 1 << 20})
	mustNil(t, err)
	for _, u := range all {
		if _, err := bk.PasswordHash(ctx, u.ID()); err != nil {
			t.Fatalf("user %s without its password in the copy: %v", u.ID(), err)
		}
	}
	t.Logf("%d users committed before the backup, %d in it", len(before), len(all))
}
