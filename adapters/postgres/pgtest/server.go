package pgtest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Server is a throw-away PostgreSQL server that one test owns and
// controls, for chaos tests: its own cluster in a directory of the test's,
// on its own loopback port, started from the local binaries (never a
// container and never the server NewDatabase shares), and killed and
// started again at will. The test's cleanup stops it.
//
// Unlike the shared server it runs with synchronous_commit on (fsync stays
// off: a killed process loses nothing the kernel already has), so a commit
// Postgres acknowledged survives a kill of the server.
type Server struct {
	pgBin string
	dir   string // holds data/ and the log
	data  string
	port  int
	cred  *syscall.Credential

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error // receives once when the running postmaster exits
}

// StartServer initialises a cluster (initdb) in a temporary directory of
// t's and starts postgres on a free 127.0.0.1 port, waiting until it
// accepts connections. Without the local binaries it skips t, unless the
// environment asks for Postgres (CI=true, AUTH_TEST_POSTGRES or
// AUTH_TEST_DATABASE_URL): then t fails.
func StartServer(t testing.TB) *Server {
	t.Helper()
	initdb, pgBin, err := findBinaries()
	if err != nil {
		if !required() {
			t.Skipf("pgtest: skipping, a controlled server needs the local binaries (set CI=true or %s to make this fatal): %v", EnvSource, err)
		}
		t.Fatalf("pgtest: %v", err)
	}
	dir := t.TempDir()
	s := &Server{pgBin: pgBin, dir: dir, data: filepath.Join(dir, "data")}
	// Postgres refuses to run as root: run it as the postgres OS user,
	// which must be able to reach the directory.
	if os.Geteuid() == 0 {
		if s.cred, err = postgresUser(); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		for d := dir; d != os.TempDir() && d != "/" && d != "."; d = filepath.Dir(d) {
			if fi, err := os.Stat(d); err == nil && fi.Mode().Perm()&0o011 != 0o011 {
				if err := os.Chmod(d, fi.Mode().Perm()|0o011); err != nil {
					t.Fatalf("pgtest: %v", err)
				}
			}
		}
		if err := os.Chown(dir, int(s.cred.Uid), int(s.cred.Gid)); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
	}
	cmd := exec.Command(initdb, "-D", s.data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("pgtest: %s: %v\n%s", initdb, err, out)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})

	var lastErr error
	for range startTries {
		if s.port, err = freePort(); err != nil {
			t.Fatalf("pgtest: %v", err)
		}
		if lastErr = s.Start(); lastErr == nil {
			lastErr = s.WaitReady(readyTimeout)
		}
		if lastErr == nil {
			return s
		}
		_ = s.Kill()
		if log := s.Log(); !strings.Contains(log, "could not bind") && !strings.Contains(log, "already in use") {
			break
		}
	}
	t.Fatalf("pgtest: %v\n%s", lastErr, tail([]byte(s.Log()), 2000))
	return nil
}

// URL is the postgres:// URL of the server's postgres database, as the
// superuser.
func (s *Server) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", s.port)
}

// Port is the loopback port the server listens on, the same on every start.
func (s *Server) Port() int { return s.port }

// Log is what every start of the server has logged so far.
func (s *Server) Log() string {
	b, _ := os.ReadFile(filepath.Join(s.dir, "postgres.log"))
	return string(b)
}

// Start starts postgres on the cluster and port of the first start, and
// returns once the process runs (not once it accepts connections: see
// WaitReady and Ready). After a Kill, Postgres recovers from its WAL.
func (s *Server) Start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("pgtest: the server is running")
	}
	logFile, err := os.OpenFile(filepath.Join(s.dir, "postgres.log"), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer logFile.Close() // the child has its own descriptor
	cmd := exec.Command(s.pgBin,
		"-D", s.data,
		"-p", strconv.Itoa(s.port),
		"-c", "listen_addresses=127.0.0.1",
		"-c", "unix_socket_directories=",
		"-c", "fsync=off",
		"-c", "full_page_writes=off",
	)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	// Pdeathsig: if this test binary dies, so does the server (tied to the
	// forking thread, which stays locked and parked in Wait).
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: s.cred, Pdeathsig: syscall.SIGINT}
	exited, startErr := make(chan error, 1), make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			startErr <- err
			return
		}
		startErr <- nil
		exited <- cmd.Wait()
	}()
	if err := <-startErr; err != nil {
		return fmt.Errorf("pgtest: start %s: %w", s.pgBin, err)
	}
	s.cmd, s.exited = cmd, exited
	return nil
}

// Kill sends SIGKILL to the postmaster and then to every other process of
// the server (its backends and auxiliary processes, which Postgres puts in
// sessions of their own, found by their working directory, the data
// directory), as when a machine or container dies: nothing shuts down,
// nothing is flushed, and no orphaned backend commits anything afterwards.
// It returns once every one of them is gone. Killing a server that is not
// running does nothing.
func (s *Server) Kill() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return nil
	}
	if err := s.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("pgtest: kill postgres: %w", err)
	}
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		return fmt.Errorf("pgtest: postgres still runs %s after SIGKILL", stopTimeout)
	}
	s.cmd, s.exited = nil, nil
	deadline := time.Now().Add(stopTimeout)
	for {
		left := s.processes()
		if len(left) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: postgres processes %v still run %s after SIGKILL", left, stopTimeout)
		}
		for _, pid := range left {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
		time.Sleep(pollEvery)
	}
}

// processes lists the live processes whose working directory is the data
// directory: the server's (Linux /proc; elsewhere none are found).
func (s *Server) processes() []int {
	entries, _ := os.ReadDir("/proc")
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if cwd, err := os.Readlink(filepath.Join("/proc", e.Name(), "cwd")); err == nil && cwd == s.data {
			if st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat")); err == nil && !zombie(st) {
				pids = append(pids, pid)
			}
		}
	}
	return pids
}

// zombie reports a /proc/PID/stat of a process that has exited (its parent
// has yet to reap it): state Z or X, after the command's closing paren.
func zombie(stat []byte) bool {
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X')
}

// Ready reports whether a new connection to the server succeeds now.
func (s *Server) Ready(ctx context.Context) bool {
	conn, err := pgx.Connect(ctx, s.URL())
	if err != nil {
		return false
	}
	_ = conn.Close(context.Background())
	return true
}

// WaitReady polls until a connection succeeds, the server exits, or
// timeout passes.
func (s *Server) WaitReady(timeout time.Duration) error {
	s.mu.Lock()
	exited := s.exited
	s.mu.Unlock()
	if exited == nil {
		return errors.New("pgtest: the server is not running")
	}
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		ok := s.Ready(ctx)
		cancel()
		if ok {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pgtest: postgres on port %d not ready after %s", s.port, timeout)
		}
		select {
		case err := <-exited:
			exited <- err // Kill still waits on it
			return fmt.Errorf("pgtest: postgres on port %d exited before accepting connections: %v", s.port, err)
		case <-time.After(pollEvery):
		}
	}
}

// Stop shuts a running server down as pg_ctl stop -m fast does (SIGINT:
// every backend ends with FATAL 57P01, as in a restart by an operator),
// killing it if it lingers. Start starts it again. Stopping a server that
// is not running does nothing.
func (s *Server) Stop() error {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.mu.Unlock()
	if cmd == nil {
		return nil
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("stop postgres: %w", err)
	}
	select {
	case err := <-exited:
		exited <- err
		return s.Kill() // reaps the group's leftovers, if any
	case <-time.After(stopTimeout):
		_ = s.Kill()
		return fmt.Errorf("postgres did not stop within %s after SIGINT; killed it", stopTimeout)
	}
}
