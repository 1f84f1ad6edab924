// Package mailpittest runs a real mail server, mailpit, for end-to-end
// tests: authd's SMTP mailer sends to it, and the test reads back what
// arrived through mailpit's HTTP API.
//
//	srv := mailpittest.Start(t)                  // killed when t ends
//	mailer, _ := mail.NewSMTP(mail.Config{URL: srv.SMTPURL()})
//	... code under test sends to ada@example.com ...
//	msg := srv.WaitFor(t, "ada@example.com", 5*time.Second)
//	// msg.Text is the text/plain part, decoded
//
// The mailpit binary (Version) is built from the Go module proxy with `go
// install` on first use and kept in the user cache directory
// (os.UserCacheDir()/authd-test/mailpit-<Version>/mailpit; a lock file
// serialises concurrent builds, across processes too). The first build
// takes minutes; later runs start in well under a second.
// AUTH_TEST_MAILPIT names a mailpit binary to use instead.
//
// mailpit listens on free loopback ports, accepts any SMTP credentials (or
// none), also over plaintext, and keeps its messages in a database in the
// test's temporary directory: Stop and Restart keep them.
//
// Linux only, like the rest of the project's test support: mailpit is tied
// to the test binary with Pdeathsig, so it dies with it.
package mailpittest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Version is the mailpit release the helper builds.
const Version = "v1.33.1"

// EnvBinary names an existing mailpit binary to use instead of building
// one.
const EnvBinary = "AUTH_TEST_MAILPIT"

const (
	readyTimeout = 30 * time.Second
	stopTimeout  = 10 * time.Second
)

// Server is a running (or stopped) mailpit.
type Server struct {
	t                  testing.TB
	bin, dir           string
	smtpAddr, httpAddr string

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan error // receives the exit of cmd
}

// Message is a message mailpit received.
type Message struct {
	ID        string // mailpit's ID
	MessageID string // the Message-ID header, without angle brackets
	From      string // address only
	To        []string
	Subject   string
	Date      time.Time
	Text      string // the text/plain part, decoded
	HTML      string // the text/html part, decoded
}

// Start builds mailpit if needed, starts it on free loopback ports and
// waits until it accepts SMTP and HTTP. t's cleanup stops it.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := binary(t)
	if err != nil {
		t.Fatalf("mailpittest: %v", err)
	}
	s := &Server{t: t, bin: bin, dir: t.TempDir()}
	t.Cleanup(s.Stop)
	// A free port can be taken by someone else before mailpit binds it:
	// try again with others.
	for attempt := 1; ; attempt++ {
		s.smtpAddr, s.httpAddr = freeAddr(t), freeAddr(t)
		err = s.start()
		if err == nil || attempt == 3 {
			break
		}
		t.Logf("mailpittest: %v; trying other ports", err)
	}
	if err != nil {
		t.Fatalf("mailpittest: %v", err)
	}
	return s
}

// SMTPURL is the URL for mail.Config.URL (AUTH_SMTP_URL), without
// credentials; mailpit accepts any user:password added to it.
func (s *Server) SMTPURL() string { return "smtp://" + s.smtpAddr }

// WebURL is the base URL of mailpit's web UI and API.
func (s *Server) WebURL() string { return "http://" + s.httpAddr }

// Stop stops mailpit, keeping its messages; SMTP connections are refused
// until Restart. Stopping a stopped server does nothing.
func (s *Server) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(stopTimeout):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
	s.cmd = nil
}

// Restart stops mailpit if it runs and starts it again on the same ports
// and database: the messages received so far are kept. It fails the test
// (the one given to Start) when mailpit does not come back.
func (s *Server) Restart() {
	s.t.Helper()
	s.Stop()
	if err := s.start(); err != nil {
		s.t.Fatalf("mailpittest: restart: %v", err)
	}
}

// Messages returns every message mailpit holds, newest first, with its
// text and HTML parts. mailpit may store a message a moment after its
// SMTP server accepted it: to wait for one, use WaitFor.
func (s *Server) Messages(t testing.TB) []Message {
	t.Helper()
	msgs, err := s.messages()
	if err != nil {
		t.Fatalf("mailpittest: %v", err)
	}
	return msgs
}

// WaitFor waits up to timeout for a message to the address to (compared
// case-insensitively) and returns the newest one; it fails t if none
// comes.
func (s *Server) WaitFor(t testing.TB, to string, timeout time.Duration) Message {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		msgs, err := s.messages()
		if err == nil {
			for _, m := range msgs {
				if slices.ContainsFunc(m.To, func(a string) bool { return strings.EqualFold(a, to) }) {
					return m
				}
			}
		}
		if time.Now().After(deadline) {
			var got []string
			for _, m := range msgs {
				got = append(got, fmt.Sprintf("%v %q", m.To, m.Subject))
			}
			t.Fatalf("mailpittest: no message to %s within %v (error: %v; messages: %v)", to, timeout, err, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// start runs mailpit on s's addresses and waits until it serves.
func (s *Server) start() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd != nil {
		return errors.New("mailpit is running")
	}
	logPath := filepath.Join(s.dir, "mailpit.log")
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	defer log.Close() // the child has its own descriptor
	cmd := exec.Command(s.bin,
		"--smtp", s.smtpAddr,
		"--listen", s.httpAddr,
		"--database", filepath.Join(s.dir, "mailpit.db"),
		"--smtp-auth-accept-any",
		"--smtp-auth-allow-insecure",
		"--smtp-disable-rdns",
		"--disable-version-check",
	)
	cmd.Dir = s.dir
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), "TMPDIR="+s.dir)
	// Pdeathsig: if the test binary dies, so does mailpit. The signal is
	// tied to the thread that forked, which stays locked and parked in
	// Wait for mailpit's whole life.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	exited, started := make(chan error, 1), make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		exited <- cmd.Wait()
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("start %s: %w", s.bin, err)
	}
	s.cmd, s.exited = cmd, exited

	deadline := time.Now().Add(readyTimeout)
	for !s.ready() {
		select {
		case err := <-exited:
			s.cmd = nil
			return fmt.Errorf("mailpit exited (%v) before it was ready; its log:\n%s", err, tail(logPath))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-exited
			s.cmd = nil
			return fmt.Errorf("mailpit not ready within %v; its log:\n%s", readyTimeout, tail(logPath))
		}
	}
	return nil
}

// ready: the API answers /readyz and the SMTP port accepts.
func (s *Server) ready() bool {
	c := http.Client{Timeout: time.Second}
	resp, err := c.Get(s.WebURL() + "/readyz")
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return false
	}
	conn, err := net.DialTimeout("tcp", s.smtpAddr, time.Second)
	if err != nil {
		return false
	}
	_ = conn.Close()
	return true
}

// messages lists mailpit's messages (/api/v1/messages) and reads each one
// (/api/v1/message/{ID}) for its parts.
func (s *Server) messages() ([]Message, error) {
	var list struct {
		Messages []struct{ ID string }
	}
	if err := s.get("/api/v1/messages?limit=1000", &list); err != nil {
		return nil, err
	}
	out := make([]Message, 0, len(list.Messages))
	for _, summary := range list.Messages {
		type address struct{ Address string }
		var m struct {
			ID, MessageID, Subject, Text, HTML string
			From                               address
			To                                 []address
			Date                               time.Time
		}
		if err := s.get("/api/v1/message/"+url.PathEscape(summary.ID), &m); err != nil {
			return nil, err
		}
		msg := Message{ID: m.ID, MessageID: m.MessageID, From: m.From.Address, Subject: m.Subject, Date: m.Date, Text: m.Text, HTML: m.HTML}
		for _, a := range m.To {
			msg.To = append(msg.To, a.Address)
		}
		out = append(out, msg)
	}
	return out, nil
}

func (s *Server) get(path string, into any) error {
	c := http.Client{Timeout: 5 * time.Second}
	resp, err := c.Get(s.WebURL() + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		return fmt.Errorf("GET %s: %w", path, err)
	}
	return nil
}

// freeAddr returns a loopback address with a port that was free a moment
// ago.
func freeAddr(t testing.TB) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("mailpittest: %v", err)
	}
	defer l.Close()
	return l.Addr().String()
}

// tail returns the end of a log file.
func tail(path string) string {
	b, _ := os.ReadFile(path)
	if len(b) > 4000 {
		b = b[len(b)-4000:]
	}
	return string(b)
}

// binary returns the mailpit binary: AUTH_TEST_MAILPIT, else the cached
// build, building it first if it is missing.
func binary(t testing.TB) (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		return p, nil
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "authd-test", "mailpit-"+Version)
	bin := filepath.Join(dir, "mailpit")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// One build at a time, across processes (go test runs packages in
	// parallel): the others wait here and then find the binary.
	lock, err := os.OpenFile(filepath.Join(dir, "build.lock"), os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return "", err
	}
	defer lock.Close()
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		return "", fmt.Errorf("lock %s: %w", lock.Name(), err)
	}
	defer syscall.Flock(int(lock.Fd()), syscall.LOCK_UN)
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}

	// Install into a fresh directory, then rename: a binary at bin is
	// always complete.
	gobin, err := os.MkdirTemp(dir, "build-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(gobin)
	t.Logf("mailpittest: building mailpit %s into %s (once per machine; takes a few minutes)", Version, dir)
	start := time.Now()
	cmd := exec.Command("go", "install", "-trimpath",
		"-ldflags=-s -w -X github.com/axllent/mailpit/config.Version="+Version,
		"github.com/axllent/mailpit@"+Version)
	cmd.Dir = gobin // outside any module: go install pkg@version ignores go.mod anyway
	cmd.Env = append(os.Environ(), "GOBIN="+gobin, "CGO_ENABLED=0", "GOWORK=off", "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go install github.com/axllent/mailpit@%s: %v\n%s", Version, err, out)
	}
	if err := os.Rename(filepath.Join(gobin, "mailpit"), bin); err != nil {
		return "", err
	}
	t.Logf("mailpittest: built mailpit in %v", time.Since(start).Round(time.Second))
	return bin, nil
}
