package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/authd/authd/adapters/postgres"
	"github.com/authd/authd/adapters/postgres/pgtest"
	"github.com/authd/authd/adapters/repotest"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func openStore(t testing.TB, url string) *postgres.Store {
	t.Helper()
	st, err := postgres.Open(t.Context(), url)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(st.Close)
	return st
}

func TestContract(t *testing.T) {
	repotest.Run(t, func(t *testing.T) repotest.Store {
		return openStore(t, pgtest.NewDatabase(t))
	})
}

func TestPing(t *testing.T) {
	st := openStore(t, pgtest.NewDatabase(t))
	if err := st.Ping(t.Context()); err != nil {
		t.Fatalf("Ping = %v, want nil", err)
	}
}

// latestVersion is the newest embedded migration.
const latestVersion = 8

func TestSchemaVersionIsTheNewestMigration(t *testing.T) {
	if got := postgres.SchemaVersion(); got != latestVersion {
		t.Fatalf("SchemaVersion = %d, want %d", got, latestVersion)
	}
}

// migrateAllDown reverts every migration, one at a time.
func migrateAllDown(t *testing.T, url string) {
	t.Helper()
	for range latestVersion {
		if err := postgres.MigrateDown(url); err != nil {
			t.Fatalf("MigrateDown: %v", err)
		}
	}
}

// migrateDownTo reverts migrations one at a time down to version want.
func migrateDownTo(t *testing.T, url string, want uint) {
	t.Helper()
	for {
		v, _, err := postgres.MigrationVersion(url)
		if err != nil {
			t.Fatal(err)
		}
		if v <= want {
			break
		}
		if err := postgres.MigrateDown(url); err != nil {
			t.Fatalf("MigrateDown: %v", err)
		}
	}
	assertVersion(t, url, want)
}

func indexExists(t *testing.T, url, index string) bool {
	t.Helper()
	var exists bool
	if err := rawConn(t, url).QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", index).Scan(&exists); err != nil {
		t.Fatalf("to_regclass: %v", err)
	}
	return exists
}

func assertVersion(t *testing.T, url string, want uint) {
	t.Helper()
	v, dirty, err := postgres.MigrationVersion(url)
	if err != nil || v != want || dirty {
		t.Fatalf("MigrationVersion = %d, dirty=%t, %v; want %d, false, nil", v, dirty, err, want)
	}
}

func tableExists(t *testing.T, url, table string) bool {
	t.Helper()
	conn := rawConn(t, url)
	var exists bool
	if err := conn.QueryRow(t.Context(), "SELECT to_regclass($1) IS NOT NULL", table).Scan(&exists); err != nil {
		t.Fatalf("to_regclass: %v", err)
	}
	return exists
}

func columnExists(t *testing.T, url, table, column string) bool {
	t.Helper()
	var exists bool
	err := rawConn(t, url).QueryRow(t.Context(),
		`SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = $1 AND column_name = $2)`, table, column).Scan(&exists)
	if err != nil {
		t.Fatalf("information_schema.columns: %v", err)
	}
	return exists
}

func rawConn(t testing.TB, url string) *pgx.Conn {
	t.Helper()
	conn, err := pgx.Connect(t.Context(), url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	t.Cleanup(func() { _ = conn.Close(context.Background()) })
	return conn
}

func TestMigrateUpIsIdempotent(t *testing.T) {
	url := pgtest.NewDatabase(t) // already migrated from the template
	assertVersion(t, url, latestVersion)
	for range 2 {
		if err := postgres.MigrateUp(url); err != nil {
			t.Fatalf("MigrateUp on a current schema = %v, want nil", err)
		}
	}
	assertVersion(t, url, latestVersion)
}

func TestMigrateDownThenUp(t *testing.T) {
	url := pgtest.NewDatabase(t)
	migrateDownTo(t, url, 6)
	for _, table := range []string{"totp_credentials", "recovery_codes", "mfa_challenges", "passkeys", "passkey_ceremonies"} {
		if tableExists(t, url, table) {
			t.Fatalf("table %s still exists after undoing migration 7", table)
		}
	}
	if columnExists(t, url, "users", "mfa_enabled") {
		t.Fatal("users.mfa_enabled still exists after undoing migration 7")
	}
	migrateDownTo(t, url, 5)
	for _, table := range []string{"email_tokens", "mail_outbox", "mail_caps"} {
		if tableExists(t, url, table) {
			t.Fatalf("table %s still exists after undoing migration 6", table)
		}
	}
	migrateDownTo(t, url, 4)
	if columnExists(t, url, "users", "email_key") || !indexExists(t, url, "users_email_lower_key") {
		t.Fatal("undoing migration 5 left users.email_key, or did not bring back users_email_lower_key")
	}
	migrateDownTo(t, url, 3)
	if tableExists(t, url, "password_credentials") {
		t.Fatal("table password_credentials still exists after undoing migration 4")
	}
	for _, c := range []struct {
		table, column string
		want          bool
	}{
		{"users", "password_hash", true},
		{"users", "email_verified", false},
		{"sessions", "amr", false},
	} {
		if got := columnExists(t, url, c.table, c.column); got != c.want {
			t.Fatalf("%s.%s exists = %t after undoing migration 4, want %t", c.table, c.column, got, c.want)
		}
	}
	if err := postgres.MigrateDown(url); err != nil {
		t.Fatalf("MigrateDown: %v", err)
	}
	assertVersion(t, url, 2)
	var actor bool
	if err := rawConn(t, url).QueryRow(t.Context(),
		`SELECT EXISTS (SELECT 1 FROM information_schema.columns WHERE table_name = 'auth_events' AND column_name = 'actor_id')`).Scan(&actor); err != nil || actor {
		t.Fatalf("auth_events.actor_id after undoing migration 3: exists=%t, %v", actor, err)
	}
	if err := postgres.MigrateDown(url); err != nil {
		t.Fatalf("MigrateDown: %v", err)
	}
	for _, table := range []string{"login_throttle", "auth_events"} {
		if tableExists(t, url, table) {
			t.Fatalf("table %s still exists after undoing migration 2", table)
		}
	}
	migrateAllDown(t, url)
	assertVersion(t, url, 0)
	for _, table := range []string{"users", "sessions", "refresh_tokens"} {
		if tableExists(t, url, table) {
			t.Fatalf("table %s still exists after MigrateDown", table)
		}
	}
	if err := postgres.MigrateDown(url); err != nil {
		t.Fatalf("MigrateDown with nothing applied = %v, want nil", err)
	}
	assertVersion(t, url, 0)

	if err := postgres.MigrateUp(url); err != nil {
		t.Fatalf("MigrateUp: %v", err)
	}
	assertVersion(t, url, latestVersion)
	for _, table := range []string{"users", "password_credentials", "sessions", "refresh_tokens", "login_throttle", "auth_events",
		"email_tokens", "mail_outbox", "mail_caps"} {
		if !tableExists(t, url, table) {
			t.Fatalf("table %s missing after MigrateUp", table)
		}
	}
	st := openStore(t, url)
	u := newUser(t, "ada@example.com")
	if err := st.CreateUser(t.Context(), u); err != nil {
		t.Fatalf("CreateUser after down+up: %v", err)
	}
}

// Several processes starting at once all call MigrateUp: golang-migrate's
// advisory lock lets one migrate while the others wait and find no change.
func TestConcurrentMigrateUp(t *testing.T) {
	url := pgtest.NewDatabase(t)
	migrateAllDown(t, url)
	const n = 5
	errs := make([]error, n)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			<-start
			errs[i] = postgres.MigrateUp(url)
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("MigrateUp #%d: %v", i, err)
		}
	}
	assertVersion(t, url, latestVersion)
}

// Migration 2 gives sessions of version 1 a last use (their creation) and
// an empty client, and they keep working: listed, rotated, touched.
func TestMigration2BackfillsSessions(t *testing.T) {
	url := pgtest.NewDatabase(t)
	for range latestVersion - 1 {
		if err := postgres.MigrateDown(url); err != nil {
			t.Fatalf("MigrateDown: %v", err)
		}
	}
	assertVersion(t, url, 1)
	conn := rawConn(t, url)
	uid, sid := uuid.Must(uuid.NewV7()), uuid.Must(uuid.NewV7())
	created := time.Date(2030, 1, 2, 3, 4, 5, 6000, time.UTC)
	tok, err := domain.NewRefreshToken(rand.Reader, created, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h := tok.Hash()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO users (id, email, role, password_hash, created_at, updated_at) VALUES ($1, 'old@example.com', 'user', 'x', $2, $2)", []any{uid, created}},
		{"INSERT INTO sessions (id, user_id, created_at) VALUES ($1, $2, $3)", []any{sid, uid, created}},
		{"INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at) VALUES ($1, $2, $3, $4)", []any{h[:], sid, created, tok.ExpiresAt()}},
	} {
		if _, err := conn.Exec(t.Context(), q.sql, q.args...); err != nil {
			t.Fatalf("%s: %v", q.sql, err)
		}
	}
	if err := postgres.MigrateUp(url); err != nil {
		t.Fatalf("MigrateUp: %v", err)
	}
	st := openStore(t, url)
	sess, _, err := st.SessionByID(t.Context(), domain.SessionID(sid.String()))
	if err != nil {
		t.Fatalf("SessionByID: %v", err)
	}
	if !sess.LastUsedAt().Equal(created) || sess.Client() != (domain.ClientInfo{}) || !sess.Active() {
		t.Fatalf("backfilled session: last use %s, client %+v, active %t", sess.LastUsedAt(), sess.Client(), sess.Active())
	}
	p := domain.SessionPolicy{IdleTimeout: time.Hour, MaxAge: 2 * time.Hour}
	at := created.Add(30 * time.Minute)
	listed, err := st.SessionsOfUser(t.Context(), domain.UserID(uid.String()), at, p, 10)
	if err != nil || len(listed) != 1 {
		t.Fatalf("SessionsOfUser = %d, %v; want the old session", len(listed), err)
	}
	if hash, err := st.PasswordHash(t.Context(), domain.UserID(uid.String())); err != nil || hash != "x" {
		t.Fatalf("PasswordHash after the upgrade = %q, %v; want the version 1 hash", hash, err)
	}
	if m := sess.Methods(); len(m) != 1 || m[0] != domain.MethodPassword {
		t.Fatalf("upgraded session methods = %v, want [pwd]", m)
	}
	next, err := domain.NewRefreshToken(rand.Reader, at, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	client := domain.ClientInfo{IP: "192.0.2.1", UserAgent: "upgraded"}
	if v := rotate(t, st, h, next, at, p, client); v != domain.RotationAllowed {
		t.Fatalf("rotate after the upgrade: verdict %v", v)
	}
	got, _, err := st.SessionByID(t.Context(), sess.ID())
	if err != nil || !got.LastUsedAt().Equal(at) || got.Client() != client {
		t.Fatalf("rotated session: %v, last use %s, client %+v", err, got.LastUsedAt(), got.Client())
	}
}

// rotate runs a refresh the way the use case does: read under lock,
// decide in the domain, store the rotation and its audit event, in one
// transaction.
func rotate(t testing.TB, st *postgres.Store, presented domain.RefreshTokenHash, next domain.RefreshToken, now time.Time, p domain.SessionPolicy, client domain.ClientInfo) domain.RotationVerdict {
	t.Helper()
	var verdict domain.RotationVerdict
	err := st.WithinTx(t.Context(), func(tx ports.Stores) error {
		rec, sess, u, err := tx.Sessions.RefreshToken(t.Context(), presented)
		if err != nil {
			return err
		}
		verdict = p.DecideRotation(rec, sess, now)
		if verdict != domain.RotationAllowed {
			return nil
		}
		r, _ := p.Rotate(rec, sess, next, now, client)
		if err := tx.Sessions.Rotate(t.Context(), r); err != nil {
			return err
		}
		return tx.Audit.Append(t.Context(), domain.AuditEvent{
			ID: newEventID(), At: now, Type: domain.EventRefreshed, UserID: u.ID(), SessionID: sess.ID(), Client: client,
		})
	})
	if err != nil {
		t.Fatalf("rotation: %v", err)
	}
	return verdict
}

func newEventID() domain.EventID { return domain.EventID(uuid.Must(uuid.NewV7()).String()) }

// Migration 4 moves every password hash of version 3 into
// password_credentials and back down again, and a user with no credential
// at version 4 goes down with the empty hash, which comes back up as no
// credential: down then up changes nothing.
func TestMigration4MovesPasswords(t *testing.T) {
	url := pgtest.NewDatabase(t)
	migrateDownTo(t, url, 3)
	conn := rawConn(t, url)
	ctx := t.Context()
	created := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	updated := created.Add(time.Hour)
	withHash := uuid.Must(uuid.NewV7())
	sid := uuid.Must(uuid.NewV7())
	if _, err := conn.Exec(ctx, `INSERT INTO users (id, email, role, password_hash, created_at, updated_at)
	                             VALUES ($1, 'old@example.com', 'admin', 'h3', $2, $3)`, withHash, created, updated); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `INSERT INTO sessions (id, user_id, created_at, last_used_at) VALUES ($1, $2, $3, $3)`, sid, withHash, created); err != nil {
		t.Fatal(err)
	}
	if err := postgres.MigrateUp(url); err != nil {
		t.Fatalf("MigrateUp: %v", err)
	}
	st := openStore(t, url)
	uid := domain.UserID(withHash.String())
	if hash, err := st.PasswordHash(ctx, uid); err != nil || hash != "h3" {
		t.Fatalf("PasswordHash after migration 4 = %q, %v; want h3", hash, err)
	}
	var credCreated, credUpdated time.Time
	if err := conn.QueryRow(ctx, `SELECT created_at, updated_at FROM password_credentials WHERE user_id = $1`, withHash).Scan(&credCreated, &credUpdated); err != nil ||
		!credCreated.Equal(created) || !credUpdated.Equal(updated) {
		t.Fatalf("credential times = %s, %s, %v; want the user's %s, %s", credCreated, credUpdated, err, created, updated)
	}
	u, err := st.UserByID(ctx, uid)
	if err != nil || u.EmailVerified() || u.Role() != domain.RoleAdmin {
		t.Fatalf("UserByID after migration 4 = verified %t, role %s, %v", u.EmailVerified(), u.Role(), err)
	}
	sess, _, err := st.SessionByID(ctx, domain.SessionID(sid.String()))
	if m := sess.Methods(); err != nil || len(m) != 1 || m[0] != domain.MethodPassword {
		t.Fatalf("version 3 session after migration 4: methods %v, %v; want [pwd]", m, err)
	}

	// A version 4 account without a password goes down with the empty hash.
	bare := newUser(t, "bare@example.com")
	if err := st.CreateUser(ctx, bare); err != nil {
		t.Fatal(err)
	}
	if err := st.SetPassword(ctx, uid, "h4", updated.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	st.Close()
	migrateDownTo(t, url, 3)
	hashes := map[string]string{}
	rows, err := conn.Query(ctx, `SELECT id::text, password_hash FROM users`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var id, h string
		if err := rows.Scan(&id, &h); err != nil {
			t.Fatal(err)
		}
		hashes[id] = h
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if hashes[string(uid)] != "h4" || hashes[string(bare.ID())] != "" || len(hashes) != 2 {
		t.Fatalf("users.password_hash after undoing migration 4 = %v; want h4 and the empty hash", hashes)
	}
	_, err = conn.Exec(ctx, `INSERT INTO users (id, email, role, created_at, updated_at) VALUES ($1, 'x@example.com', 'user', now(), now())`, uuid.New())
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23502" {
		t.Fatalf("insert without a hash at version 3 = %v, want a not-null violation (no default left behind)", err)
	}

	if err := postgres.MigrateUp(url); err != nil {
		t.Fatalf("MigrateUp: %v", err)
	}
	st = openStore(t, url)
	if hash, err := st.PasswordHash(ctx, uid); err != nil || hash != "h4" {
		t.Fatalf("PasswordHash after down and up = %q, %v; want h4", hash, err)
	}
	if _, err := st.PasswordHash(ctx, bare.ID()); !errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("PasswordHash of the account without a password after down and up = %v, want ErrNotFound", err)
	}
}

// The audit log is append-only in practice: no query of the adapter
// updates or deletes auth_events, but the pruner's retention (prune.sql,
// one DELETE by age).
func TestNoQueryChangesTheAuditLog(t *testing.T) {
	names, err := filepath.Glob("../../db/queries/*.sql")
	if err != nil || len(names) == 0 {
		t.Fatalf("no query files found: %v", err)
	}
	re := regexp.MustCompile(`(?is)\b(update|delete\s+from|truncate)\s+(table\s+)?auth_events\b`)
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if filepath.Base(n) == "prune.sql" {
			if got := len(re.FindAll(b, -1)); got != 1 || !regexp.MustCompile(`(?is)delete\s+from\s+auth_events\s+where\s+id\s+in\s+\(\s*select\s+id\s+from\s+auth_events\s+where\s+at\s+<`).Match(b) {
				t.Errorf("%s: want exactly one change of the audit log, the retention's DELETE by age; found %d", n, got)
			}
			continue
		}
		if m := re.Find(b); m != nil {
			t.Errorf("%s: %q changes the audit log", n, m)
		}
	}
}

func TestMigrateRejectsOtherSchemes(t *testing.T) {
	for _, fn := range []func(string) error{postgres.MigrateUp, postgres.MigrateDown} {
		if err := fn("mysql://root@127.0.0.1/authd"); err == nil {
			t.Fatal("migrating a mysql:// URL = nil, want an error")
		}
	}
	if _, _, err := postgres.MigrationVersion("host=127.0.0.1 dbname=authd"); err == nil {
		t.Fatal("MigrationVersion with a key=value DSN = nil, want an error")
	}
}

func TestMigrateUnreachableIsUnavailable(t *testing.T) {
	err := postgres.MigrateUp("postgres://postgres@127.0.0.1:1/authd?sslmode=disable&connect_timeout=2")
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("MigrateUp against a closed port = %v, want ErrUnavailable", err)
	}
}

func TestOpenUnreachableIsUnavailable(t *testing.T) {
	st, err := postgres.Open(t.Context(), "postgres://postgres@127.0.0.1:1/authd?sslmode=disable&connect_timeout=2")
	if err == nil {
		st.Close()
		t.Fatal("Open against a closed port = nil error")
	}
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Open against a closed port = %v, want ErrUnavailable", err)
	}
}

func TestOpenBadURLIsNotUnavailable(t *testing.T) {
	_, err := postgres.Open(t.Context(), "postgres://postgres:secret@127.0.0.1:notaport/authd")
	if err == nil || errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Open with a malformed URL = %v, want a configuration error", err)
	}
	if strings.Contains(err.Error(), "secret") {
		t.Fatalf("Open error leaks the password: %v", err)
	}
}

func TestClosedStoreIsUnavailable(t *testing.T) {
	st, err := postgres.Open(t.Context(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	st.Close()
	if err := st.Ping(t.Context()); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Ping after Close = %v, want ErrUnavailable", err)
	}
	_, err = st.UserByID(t.Context(), domain.UserID(uuid.NewString()))
	if !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("UserByID after Close = %v, want ErrUnavailable", err)
	}
	_, _, _, err = st.RefreshToken(t.Context(), domain.RefreshTokenHash{})
	if !errors.Is(err, domain.ErrUnavailable) || errors.Is(err, domain.ErrNotFound) {
		t.Fatalf("RefreshToken after Close = %v, want ErrUnavailable and not ErrNotFound", err)
	}
	ran := false
	err = st.WithinTx(t.Context(), func(ports.Stores) error { ran = true; return nil })
	if !errors.Is(err, domain.ErrUnavailable) || ran {
		t.Fatalf("WithinTx after Close = %v (fn ran: %t), want ErrUnavailable without running fn", err, ran)
	}
	if err := st.Append(t.Context(), domain.AuditEvent{ID: newEventID(), At: time.Now(), Type: domain.EventLoggedOut}); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("Append after Close = %v, want ErrUnavailable", err)
	}
}

func TestDeadlineIsUnavailableCancelIsNot(t *testing.T) {
	st := openStore(t, pgtest.NewDatabase(t))

	expired, cancel := context.WithDeadline(t.Context(), time.Now().Add(-time.Second))
	defer cancel()
	if _, err := st.UserByID(expired, domain.UserID(uuid.NewString())); !errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("UserByID with an expired deadline = %v, want ErrUnavailable", err)
	}

	cancelled, cancel2 := context.WithCancel(t.Context())
	cancel2()
	_, err := st.UserByID(cancelled, domain.UserID(uuid.NewString()))
	if !errors.Is(err, context.Canceled) || errors.Is(err, domain.ErrUnavailable) {
		t.Fatalf("UserByID with a cancelled context = %v, want context.Canceled, not ErrUnavailable", err)
	}
}

// A server that ends the connection (admin shutdown, SQLSTATE 57P01) is
// unavailable, not a bad request.
// TestTerminatedConnectionIsReplaced: a pooled connection whose backend
// was terminated (a restart, a failover, pg_terminate_backend) is found dead
// before use and replaced, so the next call is served, not refused.
func TestTerminatedConnectionIsReplaced(t *testing.T) {
	url := pgtest.NewDatabase(t)
	st := openStore(t, url+"&pool_max_conns=1")
	admin := rawConn(t, url)
	ctx := t.Context()

	if err := st.Ping(ctx); err != nil { // the pools' connections now exist
		t.Fatalf("Ping: %v", err)
	}
	var terminated int
	err := admin.QueryRow(ctx, `SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 5000))
	                            FROM pg_stat_activity
	                            WHERE datname = current_database() AND pid <> pg_backend_pid()`).Scan(&terminated)
	if err != nil || terminated < 1 {
		t.Fatalf("terminated %d backends, %v; want at least 1", terminated, err)
	}
	for range 2 {
		if _, err := st.UserByID(ctx, domain.UserID(uuid.NewString())); !errors.Is(err, domain.ErrNotFound) {
			t.Fatalf("UserByID after its connection was terminated = %v, want ErrNotFound (served on a new connection)", err)
		}
	}
}

func TestEmailKeyIsUnique(t *testing.T) {
	url := pgtest.NewDatabase(t)
	conn := rawConn(t, url)
	ctx := t.Context()
	insert := `INSERT INTO users (id, email, email_key, role, created_at, updated_at)
	           VALUES ($1, $2, $3, 'user', now(), now())`
	if _, err := conn.Exec(ctx, insert, uuid.New(), "Ada@Example.com", "ada@example.com"); err != nil {
		t.Fatalf("first insert: %v", err)
	}
	_, err := conn.Exec(ctx, insert, uuid.New(), "aDA@eXAMPLE.COM", "ada@example.com")
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) || pgErr.Code != "23505" || pgErr.ConstraintName != "users_email_key" {
		t.Fatalf("second insert with the same key = %v, want unique violation of users_email_key", err)
	}

	st := openStore(t, url)
	if err := st.CreateUser(ctx, newUser(t, "ADA@example.com")); !errors.Is(err, domain.ErrEmailTaken) {
		t.Fatalf("CreateUser of another spelling = %v, want ErrEmailTaken", err)
	}
	got, err := st.UserByEmail(ctx, mustEmail(t, "ada@EXAMPLE.com"))
	if err != nil || got.Email().String() != "Ada@Example.com" || got.Email().Key() != "ada@example.com" {
		t.Fatalf("UserByEmail = %v (key %q), %v; want the row as typed", got.Email(), got.Email().Key(), err)
	}
}

// TestCanonicalizeEmails: rows written under version 4 (unique by
// lower(email)) get their canonical keys after migration 5 and the Go pass;
// two accounts of one address in two spellings are reported, not merged.
func TestCanonicalizeEmails(t *testing.T) {
	url := pgtest.NewDatabase(t)
	ctx := t.Context()
	migrateDownTo(t, url, 4)
	conn := rawConn(t, url)
	insert := `INSERT INTO users (id, email, role, created_at, updated_at) VALUES ($1, $2, 'user', now(), now())`
	// The punycode spelling is lower-case, so migration 5's lower(email)
	// already gives it the canonical key in any database locale; the other
	// two spellings of that address then collide with it in the Go pass.
	// Zoë's address is alone and only needs its key brought up to date.
	precomposed, combining, punycode, zoe, plain, spoof, underscore := uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New(), uuid.New()
	for id, email := range map[uuid.UUID]string{
		precomposed: "ädä@exämple.com",
		combining:   "a\u0308da\u0308@exa\u0308mple.com",
		punycode:    "ädä@xn--exmple-cua.com",
		zoe:         "zoë@exämple.org",
		plain:       "Grace@Example.com",
		spoof:       "b\u043eb@example.com",
		underscore:  "ada@my_host.example.com",
	} {
		if _, err := conn.Exec(ctx, insert, id, email); err != nil {
			t.Fatalf("insert %q under version 4: %v", email, err)
		}
	}
	if err := postgres.MigrateUp(url); err != nil {
		t.Fatalf("MigrateUp: %v", err)
	}
	st := openStore(t, url)
	report, err := st.CanonicalizeEmails(ctx)
	if err != nil {
		t.Fatal(err)
	}
	const key = "ädä@xn--exmple-cua.com"
	collided := map[domain.UserID]bool{}
	for _, c := range report.Collisions {
		collided[c.User] = true
		if c.Holder != domain.UserID(punycode.String()) || c.Key != key {
			t.Errorf("collision %+v; want the punycode row as holder of %q", c, key)
		}
	}
	if report.Updated != 1 || len(report.Collisions) != 2 || !collided[domain.UserID(precomposed.String())] ||
		!collided[domain.UserID(combining.String())] || len(report.Invalid) != 2 ||
		!slices.Contains(report.Invalid, domain.UserID(spoof.String())) || !slices.Contains(report.Invalid, domain.UserID(underscore.String())) {
		t.Fatalf("report = %+v; want Zoë updated, the two other spellings colliding, the spoof and the underscore domain invalid", report)
	}
	got, err := st.UserByEmail(ctx, mustEmail(t, "ÄDÄ@EXÄMPLE.COM"))
	if err != nil || got.ID() != domain.UserID(punycode.String()) {
		t.Fatalf("UserByEmail of another spelling = %v, %v; want the key holder", got.ID(), err)
	}
	if got, err := st.UserByEmail(ctx, mustEmail(t, "ZOË@xn--exmple-cua.org")); err != nil || got.ID() != domain.UserID(zoe.String()) {
		t.Fatalf("Zoë by another spelling = %v, %v", got.ID(), err)
	}
	// The pass is idempotent: nothing more to update, the same collisions.
	again, err := st.CanonicalizeEmails(ctx)
	if err != nil || again.Updated != 0 || len(again.Collisions) != 2 {
		t.Fatalf("second pass = %+v, %v", again, err)
	}
	if _, err := st.UserByEmail(ctx, mustEmail(t, "grace@example.com")); err != nil {
		t.Fatalf("an ASCII address keeps working without the pass: %v", err)
	}
}

func TestSchemaChecks(t *testing.T) {
	conn := rawConn(t, pgtest.NewDatabase(t))
	ctx := t.Context()
	_, err := conn.Exec(ctx, `INSERT INTO users (id, email, email_key, role, created_at, updated_at)
	                          VALUES ($1, 'x@example.com', 'x@example.com', 'root', now(), now())`, uuid.New())
	if !isCheckViolation(err) {
		t.Fatalf("insert with role root = %v, want a check violation", err)
	}
	_, err = conn.Exec(ctx, `INSERT INTO refresh_tokens (token_hash, session_id, issued_at, expires_at)
	                          VALUES ($1, $2, now(), now())`, make([]byte, 31), uuid.New())
	if !isCheckViolation(err) {
		t.Fatalf("insert of a 31-byte token hash = %v, want a check violation", err)
	}
}

func isCheckViolation(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == "23514"
}

// Errors end up in logs; they must not carry refresh-token material. The
// server echoes a duplicate key in the error's Detail, which Error() omits.
func TestErrorsDoNotCarryTokenHashes(t *testing.T) {
	st := openStore(t, pgtest.NewDatabase(t))
	ctx := t.Context()
	u := newUser(t, "ada@example.com")
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tok, err := domain.NewRefreshToken(rand.Reader, now, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s1 := newSession(u, now)
	if err := st.CreateSession(ctx, s1, tok.Record(s1.ID())); err != nil {
		t.Fatalf("CreateSession: %v", err)
	}
	s2 := newSession(u, now)
	err = st.CreateSession(ctx, s2, tok.Record(s2.ID()))
	if err == nil {
		t.Fatal("CreateSession reusing a token digest = nil, want an error")
	}
	h := tok.Hash()
	if msg := err.Error(); strings.Contains(msg, hex.EncodeToString(h[:])) || strings.Contains(msg, tok.Plaintext()) {
		t.Fatalf("error carries token material: %v", err)
	}
}

func mustEmail(t testing.TB, raw string) domain.Email {
	t.Helper()
	e, err := domain.NewEmail(raw)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func newUser(t testing.TB, email string) domain.User {
	t.Helper()
	u, err := domain.NewUser(domain.UserID(uuid.Must(uuid.NewV7()).String()), mustEmail(t, email), "", time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// newSession is a password login of u at now.
func newSession(u domain.User, now time.Time) domain.Session {
	auth := domain.NewAuthentication(u, now, domain.MethodPassword)
	return domain.NewSession(domain.SessionID(uuid.Must(uuid.NewV7()).String()), auth, now, domain.ClientInfo{})
}

// updated_at is not part of domain.User, so the contract suite cannot see
// it: a role change records the caller's time there.
func TestSetRoleRecordsUpdatedAt(t *testing.T) {
	url := pgtest.NewDatabase(t)
	st := openStore(t, url)
	ctx := t.Context()
	u := newUser(t, "ada@example.com")
	if err := st.CreateUser(ctx, u); err != nil {
		t.Fatalf("CreateUser: %v", err)
	}
	changed := time.Date(2031, 5, 6, 7, 8, 9, 123456000, time.UTC)
	if err := st.SetRole(ctx, u.ID(), domain.RoleAdmin, changed); err != nil {
		t.Fatalf("SetRole: %v", err)
	}
	var role string
	var created, updated time.Time
	err := rawConn(t, url).QueryRow(ctx, "SELECT role, created_at, updated_at FROM users WHERE id = $1", u.ID().String()).Scan(&role, &created, &updated)
	if err != nil {
		t.Fatal(err)
	}
	if role != "admin" || !updated.Equal(changed) || !created.Equal(u.CreatedAt()) {
		t.Fatalf("row: role=%s created=%s updated=%s; want admin, %s, %s", role, created, updated, u.CreatedAt(), changed)
	}
}
