package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// buildDir holds the authd binary built for this test run.
var buildDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "authload-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var buildAuthd = sync.OnceValues(func() (string, error) {
	bin := filepath.Join(buildDir, "authd")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/authd/authd/cmd/authd").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build authd: %v\n%s", err, out)
	}
	return bin, nil
})

// authdBinary builds cmd/authd once per test run.
func authdBinary(t *testing.T) string {
	t.Helper()
	bin, err := buildAuthd()
	if err != nil {
		t.Fatal(err)
	}
	return bin
}

var listeningLine = regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)

// startAuthd runs authd on a free loopback port with the in-memory store
// and returns its base URL and pid; it is stopped with SIGTERM at cleanup.
func startAuthd(t *testing.T) (base string, pid int) {
	t.Helper()
	cmd := exec.Command(authdBinary(t))
	cmd.Env = append(os.Environ(), "AUTH_ADDR=127.0.0.1:0", "AUTH_DATABASE_URL=memory:", "AUTH_SIGNING_KEY_FILE=",
		// A load test is one client address sending thousands of requests: the
		// per-IP limit would measure itself.
		"AUTH_IP_RATE_PER_MINUTE=0")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := listeningLine.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
				break
			}
		}
		_, _ = io.Copy(io.Discard, stderr) // the access log
		done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("authd did not exit 0 on SIGTERM: %v", err)
			}
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			t.Error("authd did not stop within 30s")
		}
	})
	select {
	case a := <-addr:
		return "http://" + a, cmd.Process.Pid
	case err := <-done:
		t.Fatalf("authd exited before listening: %v", err)
	case <-time.After(60 * time.Second):
		t.Fatal("authd did not start listening within 60s")
	}
	return "", 0
}

// runJSON runs `authload run ARGS -json` in process and decodes its report.
func runJSON(t *testing.T, args ...string) (report, string, error) {
	t.Helper()
	var stdout, stderr strings.Builder
	err := run(t.Context(), append(append([]string{"run"}, args...), "-json"), &stdout, &stderr)
	var rep report
	if stdout.Len() > 0 {
		if jerr := json.Unmarshal([]byte(stdout.String()), &rep); jerr != nil {
			t.Fatalf("output is not one JSON report: %v\n%s", jerr, stdout.String())
		}
	}
	return rep, stdout.String(), err
}

// freePort returns a loopback port nobody listens on (for a moment).
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
