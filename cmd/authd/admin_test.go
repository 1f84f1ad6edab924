package main_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/authd/authd/adapters/postgres/pgtest"
)

// adminRun is one finished `authd admin ...`.
type adminRun struct {
	stdout, stderr string
	code           int
}

// runAdmin runs `authd admin args...` with env added to the test's
// environment and stdin as its standard input.
func runAdmin(t *testing.T, env []string, stdin string, args ...string) adminRun {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"admin"}, args...)...)
	cmd.Env = append(os.Environ(), env...)
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
		t.Fatalf("admin %v: %v", args, err)
	}
	t.Logf("admin %s -> exit %d\n%s%s", strings.Join(args, " "), r.code, r.stdout, r.stderr)
	return r
}

// mustAdmin runs an admin command that must succeed.
func mustAdmin(t *testing.T, env []string, stdin string, args ...string) string {
	t.Helper()
	r := runAdmin(t, env, stdin, args...)
	if r.code != 0 {
		t.Fatalf("admin %v: exit %d: %s", args, r.code, r.stderr)
	}
	return r.stdout
}

// userRow is one line of the list-users table.
type userRow struct{ id, email, role string }

var nextCursor = regexp.MustCompile(`(?m)^next cursor: (\S+)$`)

// parseUserTable reads list-users output: the rows, and the next cursor
// ("" when none was printed).
func parseUserTable(t *testing.T, out string) ([]userRow, string) {
	t.Helper()
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || strings.Join(strings.Fields(lines[0]), " ") != "ID EMAIL NAME ROLE CREATED" {
		t.Fatalf("no table header in:\n%s", out)
	}
	var rows []userRow
	var next string
	for _, line := range lines[1:] {
		if m := nextCursor.FindStringSubmatch(line); m != nil {
			next = m[1]
			continue
		}
		f := strings.Fields(line)
		if len(f) < 5 {
			t.Fatalf("short table row %q", line)
		}
		rows = append(rows, userRow{id: f[0], email: f[1], role: f[len(f)-2]})
	}
	return rows, next
}

// accessRole reads the role claim of an access token (the signature is the
// server's business; this only looks at what it asserts).
func accessRole(t *testing.T, token any) string {
	t.Helper()
	s, _ := token.(string)
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var claims struct {
		Role string `json:"role"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	return claims.Role
}

// The admin CLI and the HTTP API drive the same use cases over the same
// database: what one does, the other sees.
func TestAdminCommandsOnPostgres(t *testing.T) {
	t.Parallel()
	db := []string{"AUTH_DATABASE_URL=" + pgtest.NewDatabase(t)}
	const password = "correct horse battery"

	out := mustAdmin(t, db, password+"\n", "create-user", "Ada@Example.com", "-name", "Ada Lovelace")
	if !strings.Contains(out, "created user Ada@Example.com") || !strings.Contains(out, "role user") {
		t.Fatalf("create-user printed %q", out)
	}
	rows, next := parseUserTable(t, mustAdmin(t, db, "", "list-users"))
	if len(rows) != 1 || rows[0].email != "Ada@Example.com" || rows[0].role != "user" || next != "" {
		t.Fatalf("list-users: %+v next %q", rows, next)
	}

	p := start(t, db...)
	code, first := p.call(t, "POST", "/v1/auth/login", `{"email":"ada@example.com","password":"correct horse battery"}`, "")
	want(t, code, 200)
	if role := accessRole(t, first["access_token"]); role != "user" {
		t.Fatalf("access token role = %q, want user", role)
	}

	out = mustAdmin(t, db, "", "set-role", "ada@example.com", "admin")
	if strings.TrimSpace(out) != "Ada@Example.com: role user -> admin" {
		t.Fatalf("set-role printed %q", out)
	}
	// The session's next refresh carries the new role.
	code, refreshed := p.call(t, "POST", "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, first["refresh_token"]), "")
	want(t, code, 200)
	if role := accessRole(t, refreshed["access_token"]); role != "admin" {
		t.Fatalf("refreshed access token role = %q, want admin", role)
	}
	rows, _ = parseUserTable(t, mustAdmin(t, db, "", "list-users", "-email", "ADA"))
	if len(rows) != 1 || rows[0].role != "admin" {
		t.Fatalf("list-users after set-role: %+v", rows)
	}
	if out := mustAdmin(t, db, "", "set-role", "ada@example.com", "admin"); !strings.Contains(out, "already has role admin") {
		t.Fatalf("set-role to the same role printed %q", out)
	}

	out = mustAdmin(t, db, "", "revoke-sessions", "ada@example.com")
	if strings.TrimSpace(out) != "revoked 1 active session of ada@example.com" {
		t.Fatalf("revoke-sessions printed %q", out)
	}
	code, body := p.call(t, "POST", "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, refreshed["refresh_token"]), "")
	want(t, code, 401)
	if body["code"] != "invalid_refresh_token" {
		t.Fatalf("refresh after revoke-sessions: code %v", body["code"])
	}
	code, _ = p.call(t, "GET", "/v1/users/me", "", refreshed["access_token"].(string))
	want(t, code, 401)
	if out := mustAdmin(t, db, "", "revoke-sessions", "ada@example.com"); !strings.HasPrefix(out, "revoked 0 active sessions") {
		t.Fatalf("second revoke-sessions printed %q", out)
	}

	// The account itself is intact: a new login works, as an admin.
	code, again := p.call(t, "POST", "/v1/auth/login", `{"email":"ada@example.com","password":"correct horse battery"}`, "")
	want(t, code, 200)
	if role := accessRole(t, again["access_token"]); role != "admin" {
		t.Fatalf("new login's access token role = %q, want admin", role)
	}
	if u, _ := again["user"].(map[string]any); u["role"] != "admin" {
		t.Fatalf("login response user role = %v", u["role"])
	}
	code, _ = p.call(t, "GET", "/v1/users/me", "", again["access_token"].(string))
	want(t, code, 200)

	// And the reverse direction: a user registered over HTTP is listed.
	code, _ = p.call(t, "POST", "/v1/auth/register", `{"email":"grace@example.com","password":"another long password"}`, "")
	want(t, code, 201)
	p.stop(t)
	rows, _ = parseUserTable(t, mustAdmin(t, db, "", "list-users"))
	if len(rows) != 2 || rows[0].email != "Ada@Example.com" || rows[1].email != "grace@example.com" {
		t.Fatalf("list-users after an HTTP registration: %+v", rows)
	}
}

func TestAdminListUsersPages(t *testing.T) {
	t.Parallel()
	db := []string{"AUTH_DATABASE_URL=" + pgtest.NewDatabase(t)}
	pwFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pwFile, []byte("a long enough password\nignored second line\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var created []string
	for i := range 5 {
		email := fmt.Sprintf("user%d@example.com", i)
		mustAdmin(t, db, "", "create-user", "-password-file", pwFile, email, "-role", []string{"user", "admin"}[i%2])
		created = append(created, email)
	}

	var walked []string
	args := []string{"list-users", "-limit", "2"}
	for pages := 1; ; pages++ {
		rows, next := parseUserTable(t, mustAdmin(t, db, "", args...))
		if len(rows) == 0 || len(rows) > 2 {
			t.Fatalf("page %d has %d rows", pages, len(rows))
		}
		for _, r := range rows {
			walked = append(walked, r.email)
		}
		if next == "" {
			if pages != 3 {
				t.Fatalf("%d pages of 2 for 5 users, want 3", pages)
			}
			break
		}
		if next != rows[len(rows)-1].id {
			t.Fatalf("next cursor %s is not the page's last id %s", next, rows[len(rows)-1].id)
		}
		args = []string{"list-users", "-limit", "2", "-after", next}
	}
	// UUIDv7 ids: id order is creation order.
	if !slices.Equal(walked, created) {
		t.Fatalf("pages walked %v, want %v once each in creation order", walked, created)
	}

	rows, next := parseUserTable(t, mustAdmin(t, db, "", "list-users", "-email", "USER3@"))
	if len(rows) != 1 || rows[0].email != "user3@example.com" || rows[0].role != "admin" || next != "" {
		t.Fatalf("filtered: %+v next %q", rows, next)
	}
	// A filter of LIKE's wildcard matches only a literal '%'.
	if rows, _ := parseUserTable(t, mustAdmin(t, db, "", "list-users", "-email", "%")); len(rows) != 0 {
		t.Fatalf("'%%' matched %+v", rows)
	}
	// The password file's first line is the password: it logs in.
	p := start(t, db...)
	code, _ := p.call(t, "POST", "/v1/auth/login", `{"email":"user0@example.com","password":"a long enough password"}`, "")
	want(t, code, 200)
	p.stop(t)
}

func TestAdminFailures(t *testing.T) {
	t.Parallel()
	db := []string{"AUTH_DATABASE_URL=" + pgtest.NewDatabase(t)}
	const secret = "correct horse battery"
	mustAdmin(t, db, secret+"\n", "create-user", "ada@example.com")

	tests := []struct {
		name  string
		env   []string
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"no subcommand", db, "", nil, 2, "admin needs a subcommand"},
		{"unknown subcommand", db, "", []string{"delete-user", "ada@example.com"}, 2, `unknown admin subcommand "delete-user"`},
		{"memory store: list", []string{"AUTH_DATABASE_URL=memory:"}, "", []string{"list-users"}, 1, "AUTH_DATABASE_URL: memory: cannot be used by admin commands"},
		{"memory store: create", []string{"AUTH_DATABASE_URL=memory:"}, secret + "\n", []string{"create-user", "grace@example.com"}, 1, "AUTH_DATABASE_URL"},
		{"no embedded store yet", []string{"AUTH_DATABASE_URL=", "AUTH_DATA_DIR=" + filepath.Join(t.TempDir(), "none")}, "", []string{"list-users"}, 1, "no authd database at"},
		{"database unreachable", []string{"AUTH_DATABASE_URL=postgres://postgres@127.0.0.1:1/authd?sslmode=disable&connect_timeout=2"}, "",
			[]string{"list-users"}, 1, "database is unavailable"},
		{"set-role unknown email", db, "", []string{"set-role", "nobody@example.com", "admin"}, 1, "no user with email nobody@example.com"},
		{"revoke-sessions unknown email", db, "", []string{"revoke-sessions", "nobody@example.com"}, 1, "no user with email nobody@example.com"},
		{"set-role bad role", db, "", []string{"set-role", "ada@example.com", "root"}, 2, `unknown role "root"`},
		{"set-role no role", db, "", []string{"set-role", "ada@example.com"}, 2, "set-role takes EMAIL and a role"},
		{"set-role invalid email", db, "", []string{"set-role", "not-an-email", "admin"}, 1, "invalid input: email must be a valid address"},
		{"create-user bad role", db, secret + "\n", []string{"create-user", "grace@example.com", "-role", "root"}, 2, `unknown role "root"`},
		{"password flag is no option", db, "", []string{"create-user", "grace@example.com", "-password", secret}, 2, "never from the command line"},
		{"password flag with =", db, "", []string{"create-user", "-password=" + secret, "grace@example.com"}, 2, "flag provided but not defined: -password"},
		{"password as an argument", db, "", []string{"create-user", "grace@example.com", secret}, 2, "create-user takes one EMAIL"},
		{"empty stdin", db, "", []string{"create-user", "grace@example.com"}, 1, "no password"},
		{"empty first line", db, "\n" + secret + "\n", []string{"create-user", "grace@example.com"}, 1, "no password"},
		{"missing password file", db, "", []string{"create-user", "grace@example.com", "-password-file", "/nonexistent/pw"}, 1, "password file"},
		{"short password", db, "short\n", []string{"create-user", "grace@example.com"}, 1, "invalid input: password must be at least 8 characters"},
		{"duplicate email", db, secret + "\n", []string{"create-user", "ADA@example.com"}, 1, "a user with email ADA@example.com already exists"},
		{"list-users limit 0", db, "", []string{"list-users", "-limit", "0"}, 2, "-limit must be between 1 and 500"},
		{"list-users limit 501", db, "", []string{"list-users", "-limit", "501"}, 2, "-limit must be between 1 and 500"},
		{"list-users bad cursor", db, "", []string{"list-users", "-after", "page-2"}, 2, "-after must be a cursor"},
		{"list-users stray argument", db, "", []string{"list-users", "ada"}, 2, "list-users takes only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := runAdmin(t, tt.env, tt.stdin, tt.args...)
			if r.code != tt.code || !strings.Contains(r.stderr, tt.msg) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tt.code, tt.msg)
			}
			if strings.Contains(r.stdout+r.stderr, secret) {
				t.Fatal("the output repeats the password")
			}
			if tt.code == 2 && !strings.Contains(r.stderr, "authd admin create-user EMAIL") {
				t.Fatal("a usage error must print the usage")
			}
		})
	}

	// Nothing above created a second user or changed the first.
	rows, _ := parseUserTable(t, mustAdmin(t, db, "", "list-users"))
	if len(rows) != 1 || rows[0].email != "ada@example.com" || rows[0].role != "user" {
		t.Fatalf("after the failures: %+v", rows)
	}
}

// An admin command never migrates: on a database without the schema it
// says what to run instead of failing on a missing table.
func TestAdminNeedsAMigratedDatabase(t *testing.T) {
	t.Parallel()
	db := []string{"AUTH_DATABASE_URL=" + pgtest.NewDatabase(t)}
	cmd := exec.Command(binary(t), "migrate", "down")
	cmd.Env = append(os.Environ(), db...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("migrate down: %v %s", err, out)
	}
	r := runAdmin(t, db, "", "list-users")
	if r.code != 1 || !strings.Contains(r.stderr, "authd migrate up") {
		t.Fatalf("exit %d, stderr %q; want exit 1 naming `authd migrate up`", r.code, r.stderr)
	}
}
