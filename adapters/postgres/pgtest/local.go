package pgtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 15 * time.Second
	pollEvery    = 20 * time.Millisecond
	startTries   = 3 // a free port can be taken between probe and bind
)

// fromLocalBinaries runs a throwaway cluster from the initdb and postgres
// binaries found on this machine.
func fromLocalBinaries() (*server, error) {
	initdb, pgBin, err := findBinaries()
	if err != nil {
		return nil, err
	}
	dir, err := makeDataDir()
	if err != nil {
		return nil, err
	}
	cleanup := func() { _ = os.RemoveAll(dir) }

	// Postgres refuses to run as root: run it as the postgres OS user.
	var cred *syscall.Credential
	if os.Geteuid() == 0 {
		cred, err = postgresUser()
		if err != nil {
			cleanup()
			return nil, err
		}
		if err := os.Chown(dir, int(cred.Uid), int(cred.Gid)); err != nil {
			cleanup()
			return nil, err
		}
	}

	data := filepath.Join(dir, "data")
	cmd := exec.Command(initdb, "-D", data, "-U", "postgres", "--auth=trust", "--encoding=UTF8", "--locale=C", "--no-sync")
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	if out, err := cmd.CombinedOutput(); err != nil {
		cleanup()
		return nil, fmt.Errorf("%s: %w\n%s", initdb, err, out)
	}

	var lastErr error
	for range startTries {
		s, retry, err := startPostgres(pgBin, dir, data, cred)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if !retry {
			break
		}
	}
	cleanup()
	return nil, lastErr
}

// startPostgres starts the server on a free port and waits until it takes
// connections. retry reports a lost race for the port.
func startPostgres(pgBin, dir, data string, cred *syscall.Credential) (s *server, retry bool, err error) {
	port, err := freePort()
	if err != nil {
		return nil, false, err
	}
	logPath := filepath.Join(dir, "postgres-"+strconv.Itoa(port)+".log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, false, err
	}
	defer logFile.Close() // the child has its own descriptor

	cmd := exec.Command(pgBin,
		"-D", data,
		"-p", strconv.Itoa(port),
		"-k", dir,
		"-c", "listen_addresses=127.0.0.1",
		"-c", "fsync=off",
		"-c", "synchronous_commit=off",
		"-c", "full_page_writes=off",
	)
	cmd.Dir = dir
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	// If this binary dies without reaching Main's shutdown (a test timeout
	// panic, a kill), the kernel tells postgres to shut down. The signal is
	// tied to the OS thread that forked, so that thread stays locked, alive
	// and parked in Wait for the server's whole life.
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred, Pdeathsig: syscall.SIGINT}
	exited := make(chan error, 1)
	startErr := make(chan error, 1)
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
		return nil, false, fmt.Errorf("start %s: %w", pgBin, err)
	}

	stop := func() error {
		defer os.RemoveAll(dir)
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("stop postgres: %w", err)
		}
		select {
		case <-exited:
			return nil
		case <-time.After(stopTimeout):
			_ = cmd.Process.Kill()
			<-exited
			return fmt.Errorf("postgres did not stop within %s after SIGINT; killed it", stopTimeout)
		}
	}

	adminURL := fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", port)
	if err := waitReady(adminURL, exited); err != nil {
		_ = cmd.Process.Kill()
		select {
		case <-exited:
		case <-time.After(stopTimeout):
		}
		log, _ := os.ReadFile(logPath)
		retry = strings.Contains(string(log), "could not bind") || strings.Contains(string(log), "already in use")
		return nil, retry, fmt.Errorf("%s on port %d: %w\n%s", pgBin, port, err, tail(log, 2000))
	}

	s = &server{adminURL: adminURL, ownsData: true}
	if err := s.connect(); err != nil {
		_ = stop()
		return nil, false, err
	}
	s.stop = stop
	s.source = fmt.Sprintf("using local postgres binaries (PostgreSQL %s, %s) on 127.0.0.1:%d", s.version(), filepath.Dir(pgBin), port)
	return s, false, nil
}

// waitReady polls until a connection succeeds, the server exits, or
// readyTimeout passes.
func waitReady(url string, exited <-chan error) error {
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		conn, err := pgx.Connect(ctx, url)
		cancel()
		if err == nil {
			_ = conn.Close(context.Background())
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not ready after %s: %w", readyTimeout, err)
		}
		select {
		case werr := <-exited:
			return fmt.Errorf("exited before accepting connections: %v", werr)
		case <-tick.C:
		}
	}
}

// binaryDirs lists where to look for Postgres binaries, in order: PATH,
// /usr/local/bin, then /usr/lib/postgresql/<major>/bin, newest first. A
// variable so this package's tests can simulate a machine without them.
var binaryDirs = func() []string {
	var dirs []string
	if p, err := exec.LookPath("postgres"); err == nil {
		dirs = append(dirs, filepath.Dir(p))
	}
	dirs = append(dirs, "/usr/local/bin")
	versioned, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(versioned, func(a, b string) int { return majorOf(b) - majorOf(a) })
	return append(dirs, versioned...)
}

// findBinaries looks for an initdb and postgres pair from one installation.
func findBinaries() (initdb, pgBin string, err error) {
	for _, d := range binaryDirs() {
		i, p := filepath.Join(d, "initdb"), filepath.Join(d, "postgres")
		if isExecutable(i) && isExecutable(p) {
			return i, p, nil
		}
	}
	return "", "", fmt.Errorf("no initdb and postgres binaries in PATH, /usr/local/bin or /usr/lib/postgresql/*/bin")
}

// makeDataDir prefers /dev/shm: on tmpfs CREATE DATABASE ... TEMPLATE takes
// ~20ms instead of ~300ms on a VM's disk, which is most of a test's cost.
// The cluster is small and every test database is dropped when its test ends.
func makeDataDir() (string, error) {
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "pgtest-"); err == nil {
			return dir, nil
		}
	}
	return os.MkdirTemp("", "pgtest-")
}

func majorOf(binDir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	return n
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

func postgresUser() (*syscall.Credential, error) {
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root and no postgres OS user to run the server as: %w", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, err
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, err
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}, nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func tail(b []byte, n int) string {
	if len(b) > n {
		b = b[len(b)-n:]
	}
	return string(b)
}
