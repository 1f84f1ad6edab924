package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"
)

// loadClient is an HTTP client of its own (no pooled connection shared with
// another test), with a bound on every request.
func loadClient() *http.Client {
	return &http.Client{
		Timeout:   15 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 64, DisableCompression: true},
	}
}

// post sends a JSON POST; err is a transport error (no answer).
func post(c *http.Client, url, body, bearer string) (int, map[string]any, error) {
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		return 0, nil, err
	}
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return res.StatusCode, m, nil
}

// signal sends sig and waits for the process to end; it returns how it
// ended.
func (p *proc) signal(t *testing.T, sig syscall.Signal) error {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-p.done:
		return err
	case <-time.After(30 * time.Second):
		t.Fatalf("authd did not end within 30s of %v", sig)
		return nil
	}
}

// loadSession is one client of one session: it always refreshes with the
// latest token it was given.
type loadSession struct {
	refresh, access string // the last pair answered 200
	rotations       int
	// unanswered: the last request (with refresh) got no answer: it may or
	// may not have rotated the token before the process died.
	unanswered bool
}

// TestNothingAcknowledgedIsLost runs registrations and refreshes against
// authd on a fresh SQLite data directory (the embedded default), ends the
// process mid-load (SIGKILL: no chance to flush anything; SIGTERM: the
// orderly shutdown, which must exit 0), restarts it on the same directory
// and checks that every acknowledged write is there: each account whose
// registration was answered 201 logs in, and each session's last refresh
// token answered 200 refreshes again.
//
// A refresh in flight when SIGKILL lands may have committed without its
// answer reaching the client; that session's last acknowledged token is
// then spent, and presenting it is reuse (401): both outcomes are
// consistent, so the "hot" sessions, which are mid-request at the kill,
// accept 200 or 401 for such a request. The "paced" sessions stop just
// before the kill, with no request in flight: theirs must be 200. After
// SIGTERM every request was answered (in-flight ones drain; those that
// arrive later are refused unread), so every session must be 200.
func TestNothingAcknowledgedIsLost(t *testing.T) {
	for _, tc := range []struct {
		name string
		sig  syscall.Signal
	}{{"SIGKILL", syscall.SIGKILL}, {"SIGTERM", syscall.SIGTERM}} {
		t.Run(tc.name, func(t *testing.T) { nothingLostAfter(t, tc.sig) })
	}
}

func nothingLostAfter(t *testing.T, sig syscall.Signal) {
	dir := t.TempDir()
	env := []string{"AUTH_DATA_DIR=" + filepath.Join(dir, "data"), "AUTH_IP_RATE_PER_MINUTE=0"}
	p := start(t, env...)
	c := loadClient()
	const password = "correct horse battery staple"
	owner := fmt.Sprintf(`{"email":"owner@example.com","password":%q}`, password)
	if code, _, err := post(c, p.base+"/v1/auth/register", owner, ""); err != nil || code != 201 {
		t.Fatalf("register the sessions' owner: %d %v", code, err)
	}

	const hot, paced = 4, 8
	sessions := make([]*loadSession, hot+paced)
	for i := range sessions {
		code, pair, err := post(c, p.base+"/v1/auth/login", owner, "")
		if err != nil || code != 200 {
			t.Fatalf("login %d: %d %v", i, code, err)
		}
		sessions[i] = &loadSession{refresh: pair["refresh_token"].(string), access: pair["access_token"].(string)}
	}

	var (
		mu         sync.Mutex
		registered []string // answered 201
		unexpected []string // any answer but 200/201 before the end
		answered   atomic.Int64
		transport  atomic.Int64
	)
	fail := func(what string) {
		mu.Lock()
		unexpected = append(unexpected, what)
		mu.Unlock()
	}
	pause := make(chan struct{}) // closed: the paced sessions stop
	var pacedWG, allWG sync.WaitGroup

	refresher := func(s *loadSession, stop <-chan struct{}) {
		for {
			select {
			case <-stop:
				return
			default:
			}
			code, pair, err := post(c, p.base+"/v1/auth/refresh", `{"refresh_token":"`+s.refresh+`"}`, "")
			switch {
			case err != nil:
				s.unanswered = true
				transport.Add(1)
				return
			case code != 200:
				fail(fmt.Sprintf("refresh: %d %v", code, pair["code"]))
				return
			}
			answered.Add(1)
			s.refresh, s.access = pair["refresh_token"].(string), pair["access_token"].(string)
			s.rotations++
		}
	}
	for i, s := range sessions {
		if i < hot {
			allWG.Go(func() { refresher(s, nil) })
		} else {
			pacedWG.Go(func() { refresher(s, pause) })
		}
	}
	for w := range 2 {
		allWG.Go(func() {
			for i := 0; ; i++ {
				email := fmt.Sprintf("user-%d-%d@example.com", w, i)
				code, body, err := post(c, p.base+"/v1/auth/register", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), "")
				switch {
				case err != nil:
					transport.Add(1)
					return
				case code != 201:
					fail(fmt.Sprintf("register: %d %v", code, body["code"]))
					return
				}
				answered.Add(1)
				mu.Lock()
				registered = append(registered, email)
				mu.Unlock()
			}
		})
	}

	time.Sleep(2 * time.Second)
	close(pause)
	pacedWG.Wait() // the paced sessions' last answers are in: nothing of theirs in flight
	err := p.signal(t, sig)
	allWG.Wait()
	switch {
	case sig == syscall.SIGTERM && err != nil:
		t.Fatalf("authd did not exit 0 on SIGTERM: %v\n%s", err, p.log())
	case sig == syscall.SIGKILL && err == nil:
		t.Fatal("authd exited 0 on SIGKILL?")
	}
	if len(unexpected) > 0 {
		t.Fatalf("unexpected answers under load (want only 200 and 201): %v", unexpected)
	}
	t.Logf("%v after %d answered requests (%d accounts registered), %d requests left without an answer", sig, answered.Load(), len(registered), transport.Load())
	if len(registered) < 5 || answered.Load() < 100 {
		t.Fatalf("too little load to mean anything: %d answers, %d registrations", answered.Load(), len(registered))
	}

	p = start(t, env...)
	if strings.Contains(p.log(), "EPHEMERAL") {
		t.Fatalf("the restart did not reuse the key:\n%s", p.log())
	}
	// The key survived: an access token from before still works.
	if code, _, err := call(c, "GET", p.base+"/v1/users/me", sessions[hot].access); err != nil || code != 200 {
		t.Fatalf("/me with an access token issued before the restart: %d %v", code, err)
	}

	var lost []string
	var ambiguous [2]int // hot sessions whose token in flight had (401) or had not (200) committed
	for i, s := range sessions {
		code, body, err := post(c, p.base+"/v1/auth/refresh", `{"refresh_token":"`+s.refresh+`"}`, "")
		if err != nil {
			t.Fatal(err)
		}
		switch {
		case code == 200 && s.unanswered:
			ambiguous[0]++
		case code == 200:
		case code == 401 && body["code"] == "invalid_refresh_token" && s.unanswered && sig == syscall.SIGKILL:
			ambiguous[1]++
		default:
			lost = append(lost, fmt.Sprintf("session %d (%d rotations, in flight at the end: %t): last acknowledged refresh token -> %d %v", i, s.rotations, s.unanswered, code, body["code"]))
		}
	}
	t.Logf("sessions: %d of %d refreshed with their last acknowledged token (%d of them had a request in flight at the end that never committed); %d had one in flight that committed (their acknowledged token is spent: 401)",
		len(sessions)-len(lost)-ambiguous[1], len(sessions), ambiguous[0], ambiguous[1])

	logins := make(chan string)
	var loginWG sync.WaitGroup
	for range 4 {
		loginWG.Go(func() {
			for email := range logins {
				code, body, err := post(c, p.base+"/v1/auth/login", fmt.Sprintf(`{"email":%q,"password":%q}`, email, password), "")
				if err != nil || code != 200 {
					mu.Lock()
					lost = append(lost, fmt.Sprintf("account %s (registration answered 201): login -> %d %v %v", email, code, body["code"], err))
					mu.Unlock()
				}
			}
		})
	}
	for _, email := range registered {
		logins <- email
	}
	close(logins)
	loginWG.Wait()
	if len(lost) > 0 {
		t.Fatalf("acknowledged writes lost after %v and restart:\n%s", sig, strings.Join(lost, "\n"))
	}
	p.stop(t)
}

// call sends a request with an optional bearer token.
func call(c *http.Client, method, url, bearer string) (int, map[string]any, error) {
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		return 0, nil, err
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	return res.StatusCode, m, nil
}

// fileMode is a file's permission bits, or fails the test.
func fileMode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}
