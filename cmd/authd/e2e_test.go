package main_test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authd/authd/adapters/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// binary builds cmd/authd once per test run.
func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "authd-e2e-")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "authd")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// proc is a running authd with its log captured.
type proc struct {
	cmd  *exec.Cmd
	base string
	mu   sync.Mutex
	logs bytes.Buffer
	done chan error
}

var listening = regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)

func start(t *testing.T, env ...string) *proc { t.Helper(); return startIn(t, "", env...) }

// environ is the test's environment without the AUTH_ variables authd
// reads (the test helpers' AUTH_TEST_ ones stay), so each test says which
// store and key it runs with.
func environ() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "AUTH_") && !strings.HasPrefix(kv, "AUTH_TEST_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// startIn runs authd in the working directory dir ("" for the test's).
func startIn(t *testing.T, dir string, env ...string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t))
	cmd.Dir = dir
	// No shutdown delay unless a test asks (drain_test.go): stop is then quick.
	cmd.Env = append(environ(), append([]string{"AUTH_ADDR=127.0.0.1:0", "AUTH_SHUTDOWN_DELAY=0s"}, env...)...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &proc{cmd: cmd, done: make(chan error, 1)}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.logs.WriteString(line + "\n")
			p.mu.Unlock()
			if m := listening.FindStringSubmatch(line); m != nil {
				addr <- m[1]
			}
		}
		p.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
		}
	})
	select {
	case a := <-addr:
		p.base = "http://" + a
	case err := <-p.done:
		t.Fatalf("authd exited before listening: %v\n%s", err, p.log())
	case <-time.After(60 * time.Second):
		t.Fatalf("authd did not start listening within 60s\n%s", p.log())
	}
	return p
}

func (p *proc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

// stop sends SIGTERM and requires a clean exit 0.
func (p *proc) stop(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		if err != nil {
			t.Fatalf("authd did not exit 0 on SIGTERM: %v\n%s", err, p.log())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("authd did not stop within 30s")
	}
}

func (p *proc) call(t *testing.T, method, path, body, bearer string) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, p.base+path, rd)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatalf("%s %s: not JSON: %s", method, path, b)
		}
	}
	t.Logf("%-6s %-22s -> %d %s", method, path, res.StatusCode, summary(m))
	return res.StatusCode, m
}

// summary shows codes and ids, never tokens.
func summary(m map[string]any) string {
	if m == nil {
		return ""
	}
	if c, ok := m["code"]; ok {
		return fmt.Sprintf("code=%v", c)
	}
	if u, ok := m["user"].(map[string]any); ok {
		s := fmt.Sprintf("user=%v email=%v", u["id"], u["email"])
		if _, ok := m["access_token"]; ok {
			s += fmt.Sprintf(" expires_in=%.0f refresh_expires_in=%.0f", m["expires_in"], m["refresh_expires_in"])
		}
		return s
	}
	return fmt.Sprint(m)
}

func want(t *testing.T, got, want int) {
	t.Helper()
	if got != want {
		t.Fatalf("status %d, want %d", got, want)
	}
}

func TestEndToEndOnPostgres(t *testing.T) {
	dbURL := pgtest.NewDatabase(t)
	keyFile := filepath.Join(t.TempDir(), "signing.pem")
	out, err := exec.Command(binary(t), "keygen", "-alg", "ES256").Output()
	if err != nil {
		t.Fatalf("keygen: %v", err)
	}
	if err := os.WriteFile(keyFile, out, 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"AUTH_DATABASE_URL=" + dbURL, "AUTH_SIGNING_KEY_FILE=" + keyFile, "AUTH_ISSUER=http://authd.e2e"}

	p := start(t, env...)
	code, _ := p.call(t, "POST", "/v1/auth/register", `{"email":"Ada@Example.com","password":"correct horse battery","name":"Ada"}`, "")
	want(t, code, 201)
	code, first := p.call(t, "POST", "/v1/auth/login", `{"email":"ada@example.com","password":"correct horse battery"}`, "")
	want(t, code, 200)
	code, _ = p.call(t, "GET", "/v1/users/me", "", first["access_token"].(string))
	want(t, code, 200)
	code, second := p.call(t, "POST", "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, first["refresh_token"]), "")
	want(t, code, 200)
	code, body := p.call(t, "POST", "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, first["refresh_token"]), "")
	want(t, code, 401)
	if body["code"] != "invalid_refresh_token" {
		t.Fatalf("reuse code = %v", body["code"])
	}
	t.Log("reuse of the spent token revoked the session; its newest tokens must now fail:")
	code, _ = p.call(t, "POST", "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, second["refresh_token"]), "")
	want(t, code, 401)
	code, _ = p.call(t, "GET", "/v1/users/me", "", second["access_token"].(string))
	want(t, code, 401)

	code, third := p.call(t, "POST", "/v1/auth/login", `{"email":"ada@example.com","password":"correct horse battery"}`, "")
	want(t, code, 200)
	t.Log("restarting authd with the same key file and database")
	p.stop(t)
	p = start(t, env...)
	code, _ = p.call(t, "GET", "/v1/users/me", "", third["access_token"].(string))
	want(t, code, 200)
	code, fourth := p.call(t, "POST", "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, third["refresh_token"]), "")
	want(t, code, 200)
	code, _ = p.call(t, "POST", "/v1/auth/logout", "", fourth["access_token"].(string))
	want(t, code, 204)
	code, _ = p.call(t, "GET", "/v1/users/me", "", fourth["access_token"].(string))
	want(t, code, 401)
	code, _ = p.call(t, "POST", "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, fourth["refresh_token"]), "")
	want(t, code, 401)
	code, _ = p.call(t, "GET", "/readyz", "", "")
	want(t, code, 200)
	p.stop(t)

	logs := p.log()
	for _, secret := range []string{"correct horse battery", third["refresh_token"].(string), fourth["access_token"].(string)} {
		if strings.Contains(logs, secret) {
			t.Fatal("the log contains a password or a token")
		}
	}
	if !strings.Contains(logs, `"msg":"stopped"`) {
		t.Fatalf("no orderly shutdown in the log:\n%s", logs)
	}

	// The migrate command sees the schema the server applied.
	cmd := exec.Command(binary(t), "migrate", "version")
	cmd.Env = append(os.Environ(), "AUTH_DATABASE_URL="+dbURL)
	out, err = cmd.CombinedOutput()
	if err != nil || !strings.HasPrefix(string(out), "version ") || strings.Contains(string(out), "dirty=true") {
		t.Fatalf("migrate version: %v %s", err, out)
	}
}

func TestDebugListenerServesPprofApart(t *testing.T) {
	p := start(t, "AUTH_DATABASE_URL=memory:", "AUTH_DEBUG_ADDR=127.0.0.1:0")
	m := regexp.MustCompile(`"debug_addr":"([^"]+)"`).FindStringSubmatch(p.log())
	if m == nil {
		t.Fatalf("no debug_addr in the log:\n%s", p.log())
	}
	res, err := http.Get("http://" + m[1] + "/debug/pprof/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("debug listener: %d", res.StatusCode)
	}
	if code, _ := p.call(t, "GET", "/debug/pprof/", "", ""); code != 404 {
		t.Fatalf("pprof must not be on the API listener: %d", code)
	}
	p.stop(t)
}

func TestInMemoryStoreWarnsLoudly(t *testing.T) {
	p := start(t, "AUTH_DATABASE_URL=memory:")
	if !strings.Contains(p.log(), "IN-MEMORY store") || !strings.Contains(p.log(), "EPHEMERAL") {
		t.Fatalf("missing warnings:\n%s", p.log())
	}
	code, _ := p.call(t, "GET", "/healthz", "", "")
	want(t, code, 200)
	p.stop(t)
}

func TestInvalidConfigurationNamesTheVariable(t *testing.T) {
	tests := []struct{ env, name string }{
		{"AUTH_ACCESS_TTL=soon", "AUTH_ACCESS_TTL"},
		{"AUTH_ACCESS_TTL=-1m", "AUTH_ACCESS_TTL"},
		{"AUTH_REFRESH_TTL=1m", "AUTH_REFRESH_TTL"},
		{"AUTH_AUTO_MIGRATE=maybe", "AUTH_AUTO_MIGRATE"},
		{"AUTH_DATABASE_URL=mysql://x", "AUTH_DATABASE_URL"},
		{"AUTH_DATABASE_URL=sqlite:", "AUTH_DATABASE_URL"},
		{"AUTH_DATABASE_URL=sqlite://db.example.com/authd.db", "AUTH_DATABASE_URL"},
		{"AUTH_DATABASE_URL=memory:extra", "AUTH_DATABASE_URL"},
		{"AUTH_DATABASE_URL=localhost/authd", "AUTH_DATABASE_URL"},
		{"AUTH_SIGNING_KEY_FILE=/nonexistent/key.pem", "AUTH_SIGNING_KEY_FILE"},
		{"AUTH_LOG_LEVEL=loud", "AUTH_LOG_LEVEL"},
		{"AUTH_TRUSTED_PROXIES=10.0.0.0/8,not-an-address", "AUTH_TRUSTED_PROXIES"},
		{"AUTH_IP_RATE_PER_MINUTE=-1", "AUTH_IP_RATE_PER_MINUTE"},
		{"AUTH_IP_BURST=0", "AUTH_IP_BURST"},
		{"AUTH_CORS_ORIGINS=*", "AUTH_CORS_ORIGINS"},
		{"AUTH_CORS_ORIGINS=https://app.example.com/path", "AUTH_CORS_ORIGINS"},
		{"AUTH_COOKIE_MODE=sometimes", "AUTH_COOKIE_MODE"},
		{"AUTH_SESSION_IDLE_TTL=1m", "AUTH_SESSION_IDLE_TTL"},
		{"AUTH_SESSION_MAX_AGE=24h", "AUTH_SESSION_MAX_AGE"},
		{"AUTH_LOGIN_FREE_ATTEMPTS=0", "AUTH_LOGIN_FREE_ATTEMPTS"},
		{"AUTH_LOGIN_FREE_ATTEMPTS=500", "AUTH_LOGIN_FREE_ATTEMPTS"},
		{"AUTH_LOGIN_BACKOFF_MAX=1ms", "AUTH_LOGIN_BACKOFF_MAX"},
		{"AUTH_REQUEST_TIMEOUT=0s", "AUTH_REQUEST_TIMEOUT"},
		{"AUTH_REQUEST_TIMEOUT=30s", "AUTH_REQUEST_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.env, func(t *testing.T) {
			cmd := exec.Command(binary(t))
			cmd.Env = append(os.Environ(), "AUTH_ADDR=127.0.0.1:0", "AUTH_DATABASE_URL=memory:", tt.env)
			out, err := cmd.CombinedOutput()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 1 {
				t.Fatalf("want exit 1, got %v: %s", err, out)
			}
			if !strings.Contains(string(out), tt.name) {
				t.Fatalf("message does not name %s: %s", tt.name, out)
			}
		})
	}
}

func TestCommandLine(t *testing.T) {
	for _, alg := range []string{"ES256", "RS256", "EdDSA"} {
		out, err := exec.Command(binary(t), "keygen", "-alg", alg).Output()
		if err != nil || !bytes.HasPrefix(out, []byte("-----BEGIN PRIVATE KEY-----")) {
			t.Fatalf("keygen %s: %v %s", alg, err, out)
		}
	}
	for _, args := range [][]string{{"keygen", "-alg", "HS256"}, {"keygen", "-if-missing"}, {"frobnicate"}, {"migrate"}, {"serve", "extra"}} {
		err := exec.Command(binary(t), args...).Run()
		var exit *exec.ExitError
		if !errors.As(err, &exit) || exit.ExitCode() != 2 {
			t.Errorf("%v: want usage exit 2, got %v", args, err)
		}
	}
}

// keygen -out is what the compose stack's one-shot key service runs on
// every start: the first makes the key, later ones keep it.
func TestKeygenToFile(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "signing.pem")
	run := func(args ...string) (string, error) {
		b, err := exec.Command(binary(t), append([]string{"keygen"}, args...)...).CombinedOutput()
		return string(b), err
	}
	if msg, err := run("-out", out, "-if-missing"); err != nil || !strings.Contains(msg, "wrote new ES256 key") {
		t.Fatalf("first run: %v %q", err, msg)
	}
	first, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(out); fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, want 0600", fi.Mode().Perm())
	}
	if msg, err := run("-out", out, "-if-missing"); err != nil || !strings.Contains(msg, "kept existing ES256 key") {
		t.Fatalf("second run: %v %q", err, msg)
	}
	if msg, err := run("-out", out); err == nil || !strings.Contains(msg, "exists") {
		t.Fatalf("without -if-missing an existing file must not be overwritten: %v %q", err, msg)
	}
	if again, _ := os.ReadFile(out); !bytes.Equal(again, first) {
		t.Fatal("the key file changed")
	}
	junk := filepath.Join(dir, "junk.pem")
	if err := os.WriteFile(junk, []byte("not a key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if msg, err := run("-out", junk, "-if-missing"); err == nil || !strings.Contains(msg, "not a usable key") {
		t.Fatalf("a file that is not a key must be an error: %v %q", err, msg)
	}
	if msg, err := run("-alg", "EdDSA", "-out", filepath.Join(dir, "nope", "k.pem")); err == nil || msg == "" {
		t.Fatalf("unwritable path must be an error: %v %q", err, msg)
	}
}

// The container image has no curl: its HEALTHCHECK is `authd healthcheck`.
func TestHealthcheckCommand(t *testing.T) {
	p := start(t, "AUTH_DATABASE_URL=memory:")
	addr := strings.TrimPrefix(p.base, "http://")
	check := func() (string, error) {
		cmd := exec.Command(binary(t), "healthcheck")
		cmd.Env = append(os.Environ(), "AUTH_ADDR="+addr)
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	if out, err := check(); err != nil || strings.TrimSpace(out) != "ready" {
		t.Fatalf("healthcheck against a running server: %v %q", err, out)
	}
	p.stop(t)
	out, err := check()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != 1 || !strings.Contains(out, "healthcheck") {
		t.Fatalf("healthcheck against a stopped server: want exit 1 naming the check, got %v %q", err, out)
	}
	if err := exec.Command(binary(t), "healthcheck", "extra").Run(); !errors.As(err, &exit) || exit.ExitCode() != 2 {
		t.Fatalf("healthcheck extra: want usage exit 2, got %v", err)
	}
}
