package main_test

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/authd/authd/adapters/postgres/pgtest"
)

// runAuthd runs `authd args...` in dir ("" for the test's directory) with
// only env's AUTH_ variables, and stdin as its input.
func runAuthd(t *testing.T, dir string, env []string, stdin string, args ...string) adminRun {
	t.Helper()
	cmd := exec.Command(binary(t), args...)
	cmd.Dir = dir
	cmd.Env = append(environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	r := adminRun{stdout: stdout.String(), stderr: stderr.String()}
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		r.code = exit.ExitCode()
	case err != nil:
		t.Fatalf("authd %v: %v", args, err)
	}
	t.Logf("authd %s -> exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

func mustRun(t *testing.T, dir string, env []string, stdin string, args ...string) string {
	t.Helper()
	r := runAuthd(t, dir, env, stdin, args...)
	if r.code != 0 {
		t.Fatalf("authd %v: exit %d: %s", args, r.code, r.stderr)
	}
	return r.stdout
}

var migrateVersion = regexp.MustCompile(`^version (\d+) dirty=(true|false)\n$`)

// TestEmbeddedDefaultPersists: with no AUTH_ variable at all, authd keeps
// its users, sessions and signing key in ./authd-data, private to its
// owner, and says so; a restart logs nobody out. migrate and admin work on
// the same files.
func TestEmbeddedDefaultPersists(t *testing.T) {
	t.Parallel()
	work := t.TempDir()
	p := startIn(t, work)
	data := filepath.Join(work, "authd-data")
	logs := p.log()
	for _, want := range []string{
		`"msg":"store","kind":"sqlite","path":"` + filepath.Join(data, "authd.db") + `"`,
		`"msg":"signing key","file":"` + filepath.Join(data, "signing-key.pem") + `","source":"embedded default: generated now`,
	} {
		if !strings.Contains(logs, want) {
			t.Fatalf("the start-up log lacks %s:\n%s", want, logs)
		}
	}
	if strings.Contains(logs, "IN-MEMORY") || strings.Contains(logs, "EPHEMERAL") {
		t.Fatalf("the embedded default is neither in memory nor ephemeral:\n%s", logs)
	}
	for path, mode := range map[string]os.FileMode{data: 0o700, filepath.Join(data, "signing-key.pem"): 0o600, filepath.Join(data, "authd.db"): 0o600} {
		if got := fileMode(t, path); got != mode {
			t.Errorf("%s: mode %v, want %v", path, got, mode)
		}
	}

	creds := `{"email":"ada@example.com","password":"correct horse battery"}`
	code, _ := p.call(t, "POST", "/v1/auth/register", creds, "")
	want(t, code, 201)
	code, pair := p.call(t, "POST", "/v1/auth/login", creds, "")
	want(t, code, 200)
	p.stop(t)

	p = startIn(t, work)
	if !strings.Contains(p.log(), `"source":"embedded default: AUTH_SIGNING_KEY_FILE is empty"`) {
		t.Fatalf("the restart did not reuse the key file:\n%s", p.log())
	}
	code, _ = p.call(t, "GET", "/v1/users/me", "", pair["access_token"].(string))
	want(t, code, 200)
	code, _ = p.call(t, "POST", "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, pair["refresh_token"]), "")
	want(t, code, 200)
	code, _ = p.call(t, "POST", "/v1/auth/login", creds, "")
	want(t, code, 200)

	// The commands find the same store from the same directory, while the
	// server runs.
	if out := mustRun(t, work, nil, "", "migrate", "version"); !migrateVersion.MatchString(out) || strings.Contains(out, "dirty=true") {
		t.Fatalf("migrate version printed %q", out)
	}
	mustRun(t, work, nil, "another long password\n", "admin", "create-user", "grace@example.com", "-role", "admin")
	rows, _ := parseUserTable(t, mustRun(t, work, nil, "", "admin", "list-users"))
	if len(rows) != 2 || rows[0].email != "ada@example.com" || rows[1].email != "grace@example.com" || rows[1].role != "admin" {
		t.Fatalf("list-users: %+v", rows)
	}
	code, _ = p.call(t, "POST", "/v1/auth/login", `{"email":"grace@example.com","password":"another long password"}`, "")
	want(t, code, 200)
	if out := mustRun(t, work, nil, "", "admin", "revoke-sessions", "ada@example.com"); !strings.HasPrefix(out, "revoked 2 active sessions") {
		t.Fatalf("revoke-sessions printed %q", out)
	}
	code, _ = p.call(t, "GET", "/v1/users/me", "", pair["access_token"].(string))
	want(t, code, 401)
	p.stop(t)
}

// TestStoreSelection: each scheme of AUTH_DATABASE_URL, and what the log
// says about it; a password in a Postgres URL is never logged.
func TestStoreSelection(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	file := filepath.Join(dir, "explicit.db")
	for _, url := range []string{"sqlite:" + file, "file:" + file + "?synchronous=FULL", "sqlite://" + file} {
		p := start(t, "AUTH_DATABASE_URL="+url, "AUTH_DATA_DIR="+filepath.Join(dir, "unused"))
		if !strings.Contains(p.log(), `"msg":"store","kind":"sqlite","path":"`+file+`"`) || !strings.Contains(p.log(), "EPHEMERAL") {
			t.Fatalf("%s: want the SQLite file and an ephemeral key (an explicit URL without a key file):\n%s", url, p.log())
		}
		code, _ := p.call(t, "POST", "/v1/auth/register", fmt.Sprintf(`{"email":"u%d@example.com","password":"correct horse battery"}`, len(url)), "")
		want(t, code, 201)
		p.stop(t)
	}
	if _, err := os.Stat(filepath.Join(dir, "unused")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("AUTH_DATA_DIR was created although AUTH_DATABASE_URL names the store: %v", err)
	}
	rows, _ := parseUserTable(t, mustRun(t, "", []string{"AUTH_DATABASE_URL=sqlite:" + file}, "", "admin", "list-users"))
	if len(rows) != 3 {
		t.Fatalf("three starts on one file, three users: %+v", rows)
	}

	// Postgres: the password stays out of the log even when the server is
	// not there (the start fails, naming the host).
	r := runAuthd(t, "", []string{"AUTH_ADDR=127.0.0.1:0", "AUTH_DATABASE_URL=postgres://authd:s3cr3t-pw@127.0.0.1:1/authd?sslmode=disable&password=s3cr3t-pw&connect_timeout=2"}, "")
	if r.code != 1 || strings.Contains(r.stdout+r.stderr, "s3cr3t-pw") {
		t.Fatalf("want exit 1 without the password: exit %d %s", r.code, r.stderr)
	}
}

// TestMigrateAndAdminOnSQLite: migrate up, version and down on a SQLite
// file, and the schema checks the admin commands and a server with
// AUTH_AUTO_MIGRATE=false make.
func TestMigrateAndAdminOnSQLite(t *testing.T) {
	t.Parallel()
	file := filepath.Join(t.TempDir(), "authd.db")
	db := []string{"AUTH_DATABASE_URL=sqlite:" + file}

	r := runAuthd(t, "", db, "", "admin", "list-users")
	if r.code != 1 || !strings.Contains(r.stderr, "no authd database at "+file) {
		t.Fatalf("admin on a missing file: exit %d %q", r.code, r.stderr)
	}
	if _, err := os.Stat(file); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("an admin command created the database")
	}
	r = runAuthd(t, "", append(db, "AUTH_ADDR=127.0.0.1:0", "AUTH_AUTO_MIGRATE=false"), "")
	if r.code != 1 || !strings.Contains(r.stderr, "authd migrate up") {
		t.Fatalf("a server with AUTH_AUTO_MIGRATE=false on a missing file: exit %d %q", r.code, r.stderr)
	}

	m := migrateVersion.FindStringSubmatch(mustRun(t, "", db, "", "migrate", "up"))
	if m == nil || m[2] != "false" || m[1] == "0" {
		t.Fatalf("migrate up: %v", m)
	}
	latest := m[1]
	if got := fileMode(t, file); got != 0o600 {
		t.Errorf("database mode %v, want 0600", got)
	}
	if out := mustRun(t, "", db, "", "migrate", "up"); out != "version "+latest+" dirty=false\n" {
		t.Fatalf("migrate up again: %q", out)
	}
	mustRun(t, "", db, "correct horse battery\n", "admin", "create-user", "ada@example.com")
	mustRun(t, "", db, "", "migrate", "down")
	if out := mustRun(t, "", db, "", "migrate", "version"); out == "version "+latest+" dirty=false\n" || !migrateVersion.MatchString(out) {
		t.Fatalf("migrate down did not step back: %q", out)
	}
	r = runAuthd(t, "", db, "", "admin", "list-users")
	if r.code != 1 || !strings.Contains(r.stderr, "authd migrate up") {
		t.Fatalf("admin on an old schema: exit %d %q", r.code, r.stderr)
	}
	r = runAuthd(t, "", append(db, "AUTH_ADDR=127.0.0.1:0", "AUTH_AUTO_MIGRATE=false"), "")
	if r.code != 1 || !strings.Contains(r.stderr, "authd migrate up") {
		t.Fatalf("a server with AUTH_AUTO_MIGRATE=false on an old schema: exit %d %q", r.code, r.stderr)
	}
	mustRun(t, "", db, "", "migrate", "up")
	p := start(t, append(db, "AUTH_AUTO_MIGRATE=false")...)
	code, _ := p.call(t, "POST", "/v1/auth/register", `{"email":"grace@example.com","password":"correct horse battery"}`, "")
	want(t, code, 201)
	p.stop(t)

	for _, tt := range []struct {
		env  []string
		args []string
		msg  string
	}{
		{[]string{"AUTH_DATABASE_URL=memory:"}, []string{"migrate", "up"}, "memory: has no schema"},
		{[]string{"AUTH_DATABASE_URL=sqlite:" + file + "-none"}, []string{"migrate", "version"}, "no authd database at"},
		{[]string{"AUTH_DATABASE_URL=sqlite:" + file + "-none"}, []string{"migrate", "down"}, "no authd database at"},
	} {
		if r := runAuthd(t, "", tt.env, "", tt.args...); r.code != 1 || !strings.Contains(r.stderr, tt.msg) {
			t.Errorf("%v %v: exit %d %q, want 1 and %q", tt.env, tt.args, r.code, r.stderr, tt.msg)
		}
	}
}

// TestTwoProcessesOneSQLiteFile: two servers on one data directory (one
// file, one key), as two processes on one box: the invariants are the
// database's, so they hold across both, and contention is waited out,
// never answered with a 5xx.
func TestTwoProcessesOneSQLiteFile(t *testing.T) {
	t.Parallel()
	env := []string{"AUTH_DATA_DIR=" + filepath.Join(t.TempDir(), "data"), "AUTH_IP_RATE_PER_MINUTE=0"}
	a := start(t, env...)
	b := start(t, env...)
	if strings.Contains(b.log(), "EPHEMERAL") {
		t.Fatal("the second process did not use the first's key")
	}
	procs := []*proc{a, b}
	c := loadClient()
	statuses := func(n int, path string, body func(i int) string) map[int]int {
		var mu sync.Mutex
		counts := map[int]int{}
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				code, _, err := post(c, procs[i%2].base+path, body(i), "")
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				counts[code]++
				mu.Unlock()
			})
		}
		wg.Wait()
		return counts
	}

	const password = "correct horse battery staple"
	creds := fmt.Sprintf(`{"email":"shared@example.com","password":%q}`, password)
	if got := statuses(20, "/v1/auth/register", func(int) string { return creds }); got[201] != 1 || got[409] != 19 {
		t.Fatalf("20 concurrent registrations of one email across both: %v, want one 201 and 19 409", got)
	}
	code, pair, err := post(c, a.base+"/v1/auth/login", creds, "")
	if err != nil || code != 200 {
		t.Fatalf("login: %d %v", code, err)
	}
	token := pair["refresh_token"].(string)
	if got := statuses(20, "/v1/auth/refresh", func(int) string { return `{"refresh_token":"` + token + `"}` }); got[200] != 1 || got[401] != 19 {
		t.Fatalf("20 concurrent refreshes of one token across both: %v, want one 200 and 19 401", got)
	}

	// Spent on one, dead on the other; the reuse revokes the session for both.
	code, pair, _ = post(c, b.base+"/v1/auth/login", creds, "")
	want(t, code, 200)
	first := pair["refresh_token"].(string)
	code, rotated, _ := post(c, a.base+"/v1/auth/refresh", `{"refresh_token":"`+first+`"}`, "")
	want(t, code, 200)
	code, _, _ = post(c, b.base+"/v1/auth/refresh", `{"refresh_token":"`+first+`"}`, "")
	want(t, code, 401)
	code, _, _ = post(c, a.base+"/v1/auth/refresh", `{"refresh_token":"`+rotated["refresh_token"].(string)+`"}`, "")
	want(t, code, 401)
	code, _, _ = call(c, "GET", b.base+"/v1/users/me", rotated["access_token"].(string))
	want(t, code, 401)

	// Sustained writes through both at once: 8 sessions, each alternating
	// between the processes with its latest token, and registrations on
	// both. Every answer is 200 or 201.
	var bad atomic.Int64
	var answers atomic.Int64
	var wg sync.WaitGroup
	deadline := time.Now().Add(2 * time.Second)
	for s := range 8 {
		code, pair, _ := post(c, procs[s%2].base+"/v1/auth/login", creds, "")
		want(t, code, 200)
		refresh := pair["refresh_token"].(string)
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				code, pair, err := post(c, procs[i%2].base+"/v1/auth/refresh", `{"refresh_token":"`+refresh+`"}`, "")
				if err != nil || code != 200 {
					t.Errorf("session %d, refresh %d on process %d: %d %v %v", s, i, i%2, code, pair["code"], err)
					bad.Add(1)
					return
				}
				answers.Add(1)
				refresh = pair["refresh_token"].(string)
			}
		})
	}
	for w := range 2 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				code, body, err := post(c, procs[w].base+"/v1/auth/register", fmt.Sprintf(`{"email":"load-%d-%d@example.com","password":%q}`, w, i, password), "")
				if err != nil || code != 201 {
					t.Errorf("registration on process %d: %d %v %v", w, code, body["code"], err)
					bad.Add(1)
					return
				}
				answers.Add(1)
			}
		})
	}
	wg.Wait()
	t.Logf("2 s of writes through both processes: %d answers, %d wrong", answers.Load(), bad.Load())
	for _, p := range procs {
		if strings.Contains(p.log(), `"level":"ERROR"`) {
			t.Errorf("an error in the log:\n%s", p.log())
		}
	}
	a.stop(t)
	b.stop(t)
}

// TestBackupWhileServing: `authd backup -to F` while the server takes
// writes gives a file authd starts on, holding every account registered
// before the backup began.
func TestBackupWhileServing(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	env := []string{"AUTH_DATA_DIR=" + data, "AUTH_IP_RATE_PER_MINUTE=0"}
	p := start(t, env...)
	c := loadClient()
	const password = "correct horse battery staple"
	var before []string
	for i := range 10 {
		email := fmt.Sprintf("before-%d@example.com", i)
		if code, _, err := post(c, p.base+"/v1/auth/register", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), ""); err != nil || code != 201 {
			t.Fatalf("register: %d %v", code, err)
		}
		before = append(before, email)
	}
	code, pair, _ := post(c, p.base+"/v1/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, before[0], password), "")
	want(t, code, 200)
	refresh := pair["refresh_token"].(string)

	stop := make(chan struct{})
	var writes atomic.Int64
	var wg sync.WaitGroup
	wg.Go(func() { // registrations
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			code, _, err := post(c, p.base+"/v1/auth/register", fmt.Sprintf(`{"email":"during-%d@example.com","password":%q}`, i, password), "")
			if err != nil || code != 201 {
				t.Errorf("registration during the backup: %d %v", code, err)
				return
			}
			writes.Add(1)
		}
	})
	wg.Go(func() { // refreshes
		for {
			select {
			case <-stop:
				return
			default:
			}
			code, pair, err := post(c, p.base+"/v1/auth/refresh", `{"refresh_token":"`+refresh+`"}`, "")
			if err != nil || code != 200 {
				t.Errorf("refresh during the backup: %d %v", code, err)
				return
			}
			refresh = pair["refresh_token"].(string)
			writes.Add(1)
		}
	})
	time.Sleep(300 * time.Millisecond)
	target := filepath.Join(dir, "backup.db")
	out := mustRun(t, "", env, "", "backup", "-to", target)
	time.Sleep(300 * time.Millisecond)
	close(stop)
	wg.Wait()
	t.Logf("%d writes while backing up", writes.Load())
	if !strings.Contains(out, "backed up ") || !strings.Contains(out, "AUTH_DATABASE_URL=sqlite:"+target) {
		t.Fatalf("backup printed %q", out)
	}
	if got := fileMode(t, target); got != 0o600 {
		t.Errorf("backup mode %v, want 0600", got)
	}
	if r := runAuthd(t, "", env, "", "backup", "-to", target); r.code != 1 || !strings.Contains(r.stderr, "already exists") {
		t.Fatalf("a second backup to the same file: exit %d %q", r.code, r.stderr)
	}
	p.stop(t)

	// The copy alone, with the original key.
	q := start(t, "AUTH_DATABASE_URL=sqlite:"+target, "AUTH_SIGNING_KEY_FILE="+filepath.Join(data, "signing-key.pem"), "AUTH_IP_RATE_PER_MINUTE=0")
	for _, email := range before {
		code, _ := q.call(t, "POST", "/v1/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), "")
		want(t, code, 200)
	}
	q.stop(t)
	if out := mustRun(t, "", []string{"AUTH_DATABASE_URL=sqlite:" + target}, "", "migrate", "version"); strings.Contains(out, "dirty=true") {
		t.Fatalf("the backup's schema: %q", out)
	}
}

func TestBackupRefusals(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	to := filepath.Join(dir, "b.db")
	for _, tt := range []struct {
		env  []string
		args []string
		code int
		msg  string
	}{
		{[]string{"AUTH_DATABASE_URL=postgres://authd:pw@127.0.0.1:1/authd"}, []string{"backup", "-to", to}, 2, "pg_dump"},
		{[]string{"AUTH_DATABASE_URL=memory:"}, []string{"backup", "-to", to}, 2, "memory:"},
		{[]string{"AUTH_DATABASE_URL=sqlite:" + filepath.Join(dir, "x.db")}, []string{"backup"}, 2, "backup takes -to FILE"},
		{[]string{"AUTH_DATABASE_URL=sqlite:" + filepath.Join(dir, "x.db")}, []string{"backup", "-to", to, "extra"}, 2, "backup takes -to FILE"},
		{[]string{"AUTH_DATABASE_URL=sqlite:" + filepath.Join(dir, "x.db")}, []string{"backup", "-to", to}, 1, "no authd database at"},
		{[]string{"AUTH_DATA_DIR=" + filepath.Join(dir, "none")}, []string{"backup", "-to", to}, 1, "no authd database at"},
	} {
		if r := runAuthd(t, "", tt.env, "", tt.args...); r.code != tt.code || !strings.Contains(r.stderr, tt.msg) {
			t.Errorf("%v %v: exit %d %q, want %d and %q", tt.env, tt.args, r.code, r.stderr, tt.code, tt.msg)
		}
	}
	if _, err := os.Stat(to); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("a refused backup wrote a file")
	}
	for _, f := range []string{filepath.Join(dir, "x.db"), filepath.Join(dir, "none")} {
		if _, err := os.Stat(f); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("a refused backup created %s", f)
		}
	}
}

// TestCopyAccountsBetweenStores: SQLite -> Postgres -> a new SQLite file;
// on each, every account logs in with its password and keeps its role; a
// second run adds nothing; sessions stay behind.
func TestCopyAccountsBetweenStores(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key := keyFile(t, dir, "signing.pem", "ES256")
	from := "AUTH_DATABASE_URL=sqlite:" + filepath.Join(dir, "from.db")
	pg := pgtest.NewDatabase(t)
	back := filepath.Join(dir, "back.db")
	const password = "correct horse battery staple"

	p := start(t, from, "AUTH_SIGNING_KEY_FILE="+key)
	for _, email := range []string{"Ada@Example.com", "grace@example.com", "linus@example.com"} {
		code, _ := p.call(t, "POST", "/v1/auth/register", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), "")
		want(t, code, 201)
	}
	code, pair := p.call(t, "POST", "/v1/auth/login", fmt.Sprintf(`{"email":"grace@example.com","password":%q}`, password), "")
	want(t, code, 200)
	p.stop(t)
	mustRun(t, "", []string{from}, "", "admin", "set-role", "grace@example.com", "admin")

	if out := mustRun(t, "", []string{from}, "", "copy-accounts", "-to", pg); !strings.Contains(out, "copied 3 accounts") || strings.Contains(out, "secret") {
		t.Fatalf("copy to Postgres printed %q", out)
	}
	if out := mustRun(t, "", []string{from}, "", "copy-accounts", "-to", pg); !strings.Contains(out, "copied 0 accounts") || !strings.Contains(out, "skipped 3") {
		t.Fatalf("a second copy printed %q", out)
	}
	if out := mustRun(t, "", []string{"AUTH_DATABASE_URL=" + pg}, "", "copy-accounts", "-to", "sqlite:"+back); !strings.Contains(out, "copied 3 accounts") {
		t.Fatalf("copy back to SQLite printed %q", out)
	}
	for _, url := range []string{pg, "sqlite:" + back} {
		rows, _ := parseUserTable(t, mustRun(t, "", []string{"AUTH_DATABASE_URL=" + url}, "", "admin", "list-users"))
		if len(rows) != 3 || rows[0].email != "Ada@Example.com" || rows[1].role != "admin" {
			t.Fatalf("%s: %+v", url, rows)
		}
		p := start(t, "AUTH_DATABASE_URL="+url, "AUTH_SIGNING_KEY_FILE="+key)
		for _, email := range []string{"ada@example.com", "grace@example.com", "linus@example.com"} {
			code, _ := p.call(t, "POST", "/v1/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), "")
			want(t, code, 200)
		}
		code, _ := p.call(t, "POST", "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, pair["refresh_token"]), "")
		want(t, code, 401) // sessions are not copied
		p.stop(t)
	}
	for _, tt := range []struct {
		env  []string
		args []string
		msg  string
	}{
		{[]string{from}, []string{"copy-accounts"}, "copy-accounts takes -to URL"},
		{[]string{from}, []string{"copy-accounts", "-to", "memory:"}, "vanishes"},
		{[]string{from}, []string{"copy-accounts", "-to", "mysql://x"}, "AUTH_DATABASE_URL"},
		{[]string{from}, []string{"copy-accounts", "-to", "sqlite:" + filepath.Join(dir, "from.db")}, "the same store"},
		{[]string{"AUTH_DATABASE_URL=memory:"}, []string{"copy-accounts", "-to", "sqlite:" + back}, "memory:"},
	} {
		if r := runAuthd(t, "", tt.env, "", tt.args...); r.code != 2 || !strings.Contains(r.stderr, tt.msg) {
			t.Errorf("%v %v: exit %d %q, want 2 and %q", tt.env, tt.args, r.code, r.stderr, tt.msg)
		}
	}
}
