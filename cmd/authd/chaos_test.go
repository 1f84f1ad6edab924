package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authd/authd/adapters/postgres/pgtest"
)

// The chaos tests run mixed load (16 clients: register, login, refresh
// with each client's latest token, GET /v1/users/me, and a /readyz probe)
// against the built authd, kill something mid-load (SIGKILL: nothing shuts
// down cleanly), bring it back, keep loading, and then check that
//
//   - while it is down, every answer that is not the normal one is 503
//     with Retry-After (or, while authd itself is down, no answer at all):
//     never a 500, never 401 invalid_credentials for the right password,
//     never 401 for a session's latest refresh token;
//   - once it is back, every request answers as it would normally (for
//     Postgres: every request started 5 s after a direct connection
//     succeeds again; for authd: every request from when it listens);
//   - nothing acknowledged is lost: every account whose registration was
//     answered 201 logs in, and every session's latest refresh token
//     answered 200 refreshes.
//
// A refresh in flight at the kill may have committed without its answer
// reaching the client (503 or no answer); the client then holds a spent
// token, and presenting it is reuse: 401, and the session is revoked. That
// 401 is accepted once per session, and only when the request whose
// outcome the client never learnt overlapped the kill; the client then
// logs in again. (TestNothingAcknowledgedIsLost makes the same allowance.)
// That is strict reuse detection (the default) working as designed: the
// server cannot tell a lost answer from a stolen token. The ...WithLeeway
// runs set AUTH_REFRESH_REUSE_LEEWAY, which forgives exactly that retry (a
// sibling token), and there no 401 is accepted at all: no client is left
// holding a spent token.

// chaosLeeway is the reuse leeway of the ...WithLeeway runs: longer than
// Postgres stays down plus the grace, so a retry after the gap is inside.
const chaosLeeway = "AUTH_REFRESH_REUSE_LEEWAY=30s"

const (
	chaosClients  = 16
	chaosPassword = "correct horse battery staple"
	chaosBefore   = 2500 * time.Millisecond // load before the kill
	chaosPGDown   = 3 * time.Second         // Postgres stays down this long
	chaosPGGrace  = 5 * time.Second         // from Postgres back to full success
	chaosAfter    = 2 * time.Second         // load once full success is due
)

// TestChaosPostgresKilled: Postgres's postmaster and backends are killed
// mid-load and started again on the same data directory and port; authd
// runs throughout and must ride through.
func TestChaosPostgresKilled(t *testing.T) { chaosKillPostgres(t, false) }

// TestChaosPostgresKilledWithLeeway: the same with a reuse leeway: no
// refresh in flight at the kill costs its session.
func TestChaosPostgresKilledWithLeeway(t *testing.T) { chaosKillPostgres(t, true) }

func chaosKillPostgres(t *testing.T, leeway bool) {
	srv := pgtest.StartServer(t)
	key := keyFile(t, t.TempDir(), "signing.pem", "ES256")
	env := []string{"AUTH_DATABASE_URL=" + srv.URL(), "AUTH_SIGNING_KEY_FILE=" + key, "AUTH_IP_RATE_PER_MINUTE=0"}
	if leeway {
		env = append(env, chaosLeeway)
	}
	p := start(t, env...)
	l := newChaosLoad(t, p.base)
	l.leeway = leeway
	l.run()
	time.Sleep(chaosBefore)

	var m chaosMarks
	m.killAt = time.Now()
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	m.killDone = time.Now()
	time.Sleep(chaosPGDown)
	m.restartAt = time.Now()
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	for {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		ok := srv.Ready(ctx)
		cancel()
		if ok {
			break
		}
		if time.Since(m.killDone) > 60*time.Second {
			t.Fatalf("postgres did not come back:\n%s", srv.Log())
		}
		time.Sleep(10 * time.Millisecond)
	}
	m.backAt = time.Now()
	m.grace = chaosPGGrace
	time.Sleep(chaosPGGrace + chaosAfter)
	l.finish()

	l.judge(m, true)
	l.verify(p.base, m)
	if t.Failed() {
		chaosDump(t, p)
		return
	}
	p.stop(t)
}

// TestChaosAuthdKilledOnPostgres: authd is killed mid-load and started
// again on the same database, key and address.
func TestChaosAuthdKilledOnPostgres(t *testing.T) {
	key := keyFile(t, t.TempDir(), "signing.pem", "ES256")
	chaosKillAuthd(t, "AUTH_DATABASE_URL="+pgtest.NewDatabase(t), "AUTH_SIGNING_KEY_FILE="+key, "AUTH_IP_RATE_PER_MINUTE=0")
}

// TestChaosAuthdKilledOnSQLite: the same on the embedded default.
func TestChaosAuthdKilledOnSQLite(t *testing.T) {
	chaosKillAuthd(t, "AUTH_DATA_DIR="+filepath.Join(t.TempDir(), "data"), "AUTH_IP_RATE_PER_MINUTE=0")
}

// TestChaosAuthdKilledOnSQLiteWithLeeway: with a reuse leeway, a refresh
// whose answer died with the process costs no session either.
func TestChaosAuthdKilledOnSQLiteWithLeeway(t *testing.T) {
	chaosKillAuthd(t, "AUTH_DATA_DIR="+filepath.Join(t.TempDir(), "data"), "AUTH_IP_RATE_PER_MINUTE=0", chaosLeeway)
}

func chaosKillAuthd(t *testing.T, env ...string) {
	p := start(t, env...)
	addr := strings.TrimPrefix(p.base, "http://")
	l := newChaosLoad(t, p.base)
	l.leeway = slices.Contains(env, chaosLeeway)
	l.run()
	time.Sleep(chaosBefore)

	var m chaosMarks
	m.killAt = time.Now()
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		t.Fatal("authd still runs 30s after SIGKILL")
	}
	m.killDone = time.Now()
	// Same address, so the clients carry on; the port may be taken in
	// between (an outgoing connection's ephemeral port): try again.
	var err error
	for try := 0; ; try++ {
		if p, err = startChaosAuthd(t, append(env, "AUTH_ADDR="+addr)...); err == nil || try == 20 {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("restart authd on %s: %v", addr, err)
	}
	m.backAt = time.Now()
	if strings.Contains(p.log(), "EPHEMERAL") {
		t.Fatalf("the restart did not reuse the key:\n%s", p.log())
	}
	time.Sleep(chaosAfter + time.Second)
	l.finish()

	l.judge(m, false)
	l.verify(p.base, m)
	if t.Failed() {
		chaosDump(t, p)
		return
	}
	p.stop(t)
}

// startChaosAuthd is start that reports a process exiting before it
// listens (a taken port) instead of failing the test.
func startChaosAuthd(t *testing.T, env ...string) (*proc, error) {
	t.Helper()
	cmd := exec.Command(binary(t))
	cmd.Env = append(environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
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
		return p, nil
	case err := <-p.done:
		return nil, fmt.Errorf("exited before listening: %v\n%s", err, chaosTail(p.log(), 1000))
	case <-time.After(60 * time.Second):
		t.Fatalf("authd did not start listening within 60s\n%s", p.log())
		return nil, nil
	}
}

// chaosMarks are the instants that divide a run.
type chaosMarks struct {
	killAt, killDone time.Time     // the SIGKILL was sent; the target was gone
	restartAt        time.Time     // Postgres was started again (nothing of it ran before)
	backAt           time.Time     // Postgres accepted a connection again / authd listened again
	grace            time.Duration // from backAt to when every answer must be the normal one
}

type window struct{ start, end time.Time }

// overlaps reports whether w was in flight at the kill.
func (w window) overlaps(m chaosMarks) bool {
	return w.start.Before(m.killDone) && w.end.After(m.killAt)
}

// chaosEvent is one request and its outcome.
type chaosEvent struct {
	client     int
	op         string // register, login, refresh, me, readyz
	window            // when it was sent, when its outcome was known
	status     int    // 0: no answer
	code       string // the body's code, if any
	retryAfter string
	err        error
	// For a refresh answered 401: the requests of that session whose
	// outcome the client never learnt since its last known one.
	unknown []window
}

// chaosSession is one session as its client knows it.
type chaosSession struct {
	refresh, access string   // the latest pair answered 200
	rotations       int      // refreshes answered 200
	unknown         []window // refreshes since the last known outcome whose outcome is unknown (503, no answer)
	dead            bool     // answered 401: revoked
}

type chaosLoad struct {
	t    *testing.T
	c    *http.Client
	base string
	stop chan struct{}
	wg   sync.WaitGroup

	// leeway: the server forgives a refresh token presented again soon
	// after its rotation, so no 401 for a token spent in flight is accepted.
	leeway bool

	mu         sync.Mutex
	events     []chaosEvent
	registered []string        // answered 201
	sessions   []*chaosSession // every session a login answered 200 opened
}

func newChaosLoad(t *testing.T, base string) *chaosLoad {
	c := loadClient()
	c.Timeout = 20 * time.Second
	return &chaosLoad{t: t, c: c, base: base, stop: make(chan struct{})}
}

func (l *chaosLoad) stopped() bool {
	select {
	case <-l.stop:
		return true
	default:
		return false
	}
}

// do sends one request and records it.
func (l *chaosLoad) do(client int, op, method, path, body, bearer string) (chaosEvent, map[string]any) {
	ev := chaosEvent{client: client, op: op}
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, l.base+path, rd)
	if err != nil {
		l.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	var m map[string]any
	ev.start = time.Now()
	res, err := l.c.Do(req)
	if err == nil {
		var b []byte
		b, err = io.ReadAll(res.Body)
		res.Body.Close()
		if err == nil {
			ev.status = res.StatusCode
			ev.retryAfter = res.Header.Get("Retry-After")
			_ = json.Unmarshal(b, &m)
			ev.code, _ = m["code"].(string)
		}
	}
	ev.end = time.Now()
	ev.err = err
	return ev, m
}

func (l *chaosLoad) record(ev chaosEvent) {
	l.mu.Lock()
	l.events = append(l.events, ev)
	l.mu.Unlock()
	if ev.err != nil || ev.status >= 500 {
		// Down or busy: back off a little rather than spin.
		time.Sleep(20 * time.Millisecond)
	}
}

func credentials(email string) string {
	return fmt.Sprintf(`{"email":%q,"password":%q}`, email, chaosPassword)
}

// run registers each client's own account, then starts the clients and
// the /readyz probe.
func (l *chaosLoad) run() {
	own := make([]string, chaosClients)
	var setup sync.WaitGroup
	for i := range own {
		own[i] = fmt.Sprintf("client-%d@example.com", i)
		setup.Go(func() {
			if ev, _ := l.do(i, "register", "POST", "/v1/auth/register", credentials(own[i]), ""); ev.status != 201 {
				l.t.Errorf("register client %d's account: %d %s %v", i, ev.status, ev.code, ev.err)
			}
		})
	}
	setup.Wait()
	if l.t.Failed() {
		l.t.FailNow()
	}
	for i := range chaosClients {
		l.wg.Go(func() { l.client(i, own[i]) })
	}
	l.wg.Go(func() {
		for !l.stopped() {
			ev, _ := l.do(-1, "readyz", "GET", "/readyz", "", "")
			l.record(ev)
			time.Sleep(100 * time.Millisecond)
		}
	})
}

// finish stops the load and waits for every client's last answer.
func (l *chaosLoad) finish() {
	close(l.stop)
	l.wg.Wait()
}

// client cycles through the operations: a refresh with its latest token
// and a /me with its latest access token every round, a registration of a
// new account every fourth, and a login (a new session, which the client
// then uses) every eighth or whenever it has no live session.
func (l *chaosLoad) client(i int, email string) {
	var sess *chaosSession
	for round := 0; !l.stopped(); round++ {
		if round%4 == 1 {
			fresh := fmt.Sprintf("c%d-r%d@example.com", i, round)
			ev, _ := l.do(i, "register", "POST", "/v1/auth/register", credentials(fresh), "")
			if ev.status == 201 {
				l.mu.Lock()
				l.registered = append(l.registered, fresh)
				l.mu.Unlock()
			}
			l.record(ev)
		}
		if sess == nil || sess.dead || round%8 == 0 {
			ev, body := l.do(i, "login", "POST", "/v1/auth/login", credentials(email), "")
			if ev.status == 200 {
				sess = &chaosSession{refresh: body["refresh_token"].(string), access: body["access_token"].(string)}
				l.mu.Lock()
				l.sessions = append(l.sessions, sess)
				l.mu.Unlock()
			}
			l.record(ev)
		}
		if sess == nil || sess.dead {
			continue
		}
		ev, body := l.do(i, "refresh", "POST", "/v1/auth/refresh", `{"refresh_token":"`+sess.refresh+`"}`, "")
		switch {
		case ev.status == 200:
			sess.refresh, sess.access = body["refresh_token"].(string), body["access_token"].(string)
			sess.rotations++
			sess.unknown = nil
		case ev.err != nil || ev.status >= 500:
			sess.unknown = append(sess.unknown, ev.window)
		case ev.status == 401:
			ev.unknown = sess.unknown
			sess.dead = true // judged later; the client logs in again
		}
		l.record(ev)
		if sess.dead {
			continue
		}
		ev, _ = l.do(i, "me", "GET", "/v1/users/me", "", sess.access)
		l.record(ev)
	}
}

// normal is the answer each operation gets with the store up.
var chaosNormal = map[string]int{"register": 201, "login": 200, "refresh": 200, "me": 200, "readyz": 200}

// judge checks every answer against the marks and logs the counts per
// period. pgDown: the target was Postgres (authd answered throughout).
func (l *chaosLoad) judge(m chaosMarks, pgDown bool) {
	t := l.t
	t.Helper()
	due := m.backAt.Add(m.grace) // every request started from here answers normally
	periods := []string{"before the kill", "down", "back, grace", "back"}
	counts := make([]map[string]int, len(periods))
	for i := range counts {
		counts[i] = map[string]int{}
	}
	var bad []string
	var recovered time.Time // the end of the last abnormal answer to a request sent after backAt
	var accepted401 int
	for _, ev := range l.events {
		period := 0
		switch {
		case !ev.start.Before(due):
			period = 3
		case !ev.start.Before(m.backAt):
			period = 2
		case !ev.start.Before(m.killAt):
			period = 1
		}
		label := fmt.Sprint(ev.status)
		if ev.err != nil {
			label = "no answer"
		}
		disrupted := ev.end.After(m.killAt) && ev.start.Before(due)
		var why string
		accepted := false // a 401 for a token spent by a request in flight at the kill
		switch {
		case ev.err == nil && ev.status == chaosNormal[ev.op]:
		case !l.leeway && ev.op == "refresh" && ev.status == 401 && ev.code == "invalid_refresh_token" && slices.ContainsFunc(ev.unknown, func(w window) bool { return w.overlaps(m) }):
			label = "401 (in flight at the kill)"
			accepted401++
			accepted = true
		case ev.err == nil && ev.status == 503 && ev.retryAfter != "" && disrupted:
		case ev.err == nil && ev.status == 503 && ev.retryAfter == "":
			why = "503 without Retry-After"
		case ev.err != nil && !pgDown && ev.end.After(m.killAt) && ev.start.Before(m.backAt):
			// authd was down: no answer is the answer
		case ev.err != nil:
			why = fmt.Sprintf("no answer: %v", ev.err)
		case ev.op == "refresh" && ev.status == 401:
			why = fmt.Sprintf("401 %s for the session's latest refresh token", ev.code)
		case ev.op == "login" && ev.status == 401:
			why = fmt.Sprintf("401 %s for the right password", ev.code)
		default:
			why = fmt.Sprintf("%d %s", ev.status, ev.code)
		}
		counts[period][ev.op+" "+label]++
		abnormal := (ev.err != nil || ev.status != chaosNormal[ev.op]) && !accepted
		if abnormal && !ev.start.Before(m.backAt) && ev.end.After(recovered) {
			recovered = ev.end
		}
		if why != "" {
			bad = append(bad, fmt.Sprintf("%s (client %d) sent %+.3fs from the kill, %+.3fs from back: %s",
				ev.op, ev.client, ev.start.Sub(m.killAt).Seconds(), ev.start.Sub(m.backAt).Seconds(), why))
		}
		// Every operation and /readyz reads the store: while no process of
		// Postgres runs nothing succeeds (and /readyz says so). (backAt is
		// when this test's poll got through, which may be a little after
		// authd's first connection did.)
		if pgDown && ev.err == nil && ev.status == chaosNormal[ev.op] && ev.start.After(m.killDone) && ev.end.Before(m.restartAt) {
			bad = append(bad, fmt.Sprintf("%s answered %d while Postgres was down, %.3fs after it was killed", ev.op, ev.status, ev.start.Sub(m.killDone).Seconds()))
		}
	}
	target := "authd"
	if pgDown {
		target = "Postgres"
	}
	t.Logf("%s killed %.3fs into the load, down %.3fs (killed in %.0fms); %d requests, %d registrations acknowledged, %d sessions; %d refreshes answered 401 after one in flight at the kill",
		target, chaosBefore.Seconds(), m.backAt.Sub(m.killAt).Seconds(), float64(m.killDone.Sub(m.killAt).Microseconds())/1000,
		len(l.events), len(l.registered), len(l.sessions), accepted401)
	for i, c := range counts {
		if len(c) == 0 {
			continue
		}
		t.Logf("  %-15s %s", periods[i]+":", chaosCounts(c))
	}
	if recovered.IsZero() {
		t.Logf("  every request sent after %s was back answered normally", target)
	} else {
		t.Logf("  the last abnormal answer to a request sent after %s was back came %.3fs after", target, recovered.Sub(m.backAt).Seconds())
	}
	if len(bad) > 0 {
		if len(bad) > 30 {
			bad = append(bad[:30], fmt.Sprintf("... and %d more", len(bad)-30))
		}
		t.Errorf("%d answers broke the rules:\n%s", len(bad), strings.Join(bad, "\n"))
	}
	if len(l.registered) < 10 || len(l.events) < 500 {
		t.Errorf("too little load to mean anything: %d requests, %d registrations", len(l.events), len(l.registered))
	}
}

func chaosCounts(c map[string]int) string {
	keys := make([]string, 0, len(c))
	for k := range c {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s:%d  ", k, c[k])
	}
	return strings.TrimSpace(b.String())
}

// verify: every acknowledged registration logs in, and every live
// session's latest token refreshes (or, if its last refresh was in flight
// at the kill and may have committed, is refused as reuse).
func (l *chaosLoad) verify(base string, m chaosMarks) {
	t := l.t
	t.Helper()
	l.base = base
	began := time.Now()
	var mu sync.Mutex
	var lost []string
	var inFlight, sessions int
	work := make(chan func())
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for f := range work {
				f()
			}
		})
	}
	for _, email := range l.registered {
		work <- func() {
			ev, _ := l.do(0, "login", "POST", "/v1/auth/login", credentials(email), "")
			if ev.status != 200 {
				mu.Lock()
				lost = append(lost, fmt.Sprintf("account %s (registration answered 201): login -> %d %s %v", email, ev.status, ev.code, ev.err))
				mu.Unlock()
			}
		}
	}
	for _, s := range l.sessions {
		if s.dead {
			continue
		}
		work <- func() {
			ev, _ := l.do(0, "refresh", "POST", "/v1/auth/refresh", `{"refresh_token":"`+s.refresh+`"}`, "")
			mu.Lock()
			defer mu.Unlock()
			sessions++
			switch {
			case ev.status == 200:
			case !l.leeway && ev.status == 401 && ev.code == "invalid_refresh_token" && slices.ContainsFunc(s.unknown, func(w window) bool { return w.overlaps(m) }):
				inFlight++
			default:
				lost = append(lost, fmt.Sprintf("session (%d rotations): latest refresh token answered 200 -> %d %s %v", s.rotations, ev.status, ev.code, ev.err))
			}
		}
	}
	close(work)
	wg.Wait()
	t.Logf("after the run (checked in %.1fs): %d of %d acknowledged registrations log in; %d of %d live sessions refresh with their latest token (%d more had theirs spent by a refresh in flight at the kill)",
		time.Since(began).Seconds(), len(l.registered)-countPrefix(lost, "account "), len(l.registered), sessions-inFlight-countPrefix(lost, "session "), sessions, inFlight)
	if len(lost) > 0 {
		t.Errorf("acknowledged writes lost:\n%s", strings.Join(lost, "\n"))
	}
}

func countPrefix(list []string, prefix string) int {
	n := 0
	for _, s := range list {
		if strings.HasPrefix(s, prefix) {
			n++
		}
	}
	return n
}

// chaosDump logs the tail of a failed run's authd log and, for a hang,
// where its goroutines are: SIGQUIT makes a Go program print them and exit.
func chaosDump(t *testing.T, p *proc) {
	t.Helper()
	before := len(p.log())
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
	logs := p.log()
	t.Logf("authd's log (tail):\n%s", chaosTail(logs[:before], 3000))
	t.Logf("authd's goroutines at the end (SIGQUIT):\n%s", logs[before:])
}

func chaosTail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
