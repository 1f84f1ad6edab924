package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"
)

func ms(n ...int) []time.Duration {
	out := make([]time.Duration, len(n))
	for i, v := range n {
		out[i] = time.Duration(v) * time.Millisecond
	}
	return out
}

func upTo(n int) []time.Duration {
	out := make([]time.Duration, n)
	for i := range out {
		out[i] = time.Duration(i+1) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	tests := []struct {
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{nil, 50, 0},
		{ms(7), 50, 7 * time.Millisecond},
		{ms(7), 99, 7 * time.Millisecond},
		{ms(1, 2, 3), 50, 2 * time.Millisecond},
		{ms(1, 2, 3, 4), 50, 2 * time.Millisecond}, // nearest rank: no interpolation
		{upTo(10), 95, 10 * time.Millisecond},
		{upTo(100), 50, 50 * time.Millisecond},
		{upTo(100), 95, 95 * time.Millisecond}, // p*n/100 is exact: no rounding up to 96
		{upTo(100), 99, 99 * time.Millisecond},
		{upTo(100), 100, 100 * time.Millisecond},
		{upTo(1000), 99.9, 999 * time.Millisecond},
		{upTo(100), 0, 1 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n=%d/p%v", len(tt.sorted), tt.p), func(t *testing.T) {
			if got := percentile(tt.sorted, tt.p); got != tt.want {
				t.Fatalf("percentile = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestTallyCountsAndMerges(t *testing.T) {
	a, b := newTally(), newTally()
	a.add(opMe, response{status: 200}, 3*time.Millisecond)
	a.add(opRegister, response{status: 201}, 40*time.Millisecond)
	a.add(opLogin, response{status: 503, retryAfter: true}, 1*time.Millisecond)
	b.add(opMe, response{status: 401}, 2*time.Millisecond)
	b.add(opMe, response{err: context.DeadlineExceeded}, time.Second)
	b.add(opLogin, response{err: &net.OpError{Op: "dial", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}}, 0)
	a.merge(b)

	if a.requests[opMe] != 3 || a.requests[opLogin] != 2 || a.requests[opRegister] != 1 {
		t.Errorf("requests by op = %v", a.requests)
	}
	if len(a.latencies[opMe]) != 2 {
		t.Errorf("latencies of me = %v: transport errors must not count", a.latencies[opMe])
	}
	if a.status[200] != 1 || a.status[201] != 1 || a.status[401] != 1 || a.status[503] != 1 {
		t.Errorf("status = %v", a.status)
	}
	if a.unexpected != 2 || a.retryAfter != 1 {
		t.Errorf("unexpected = %d, retryAfter = %d; want 2 and 1", a.unexpected, a.retryAfter)
	}
	if a.errors[errTimeout] != 1 || a.errors[errRefused] != 1 || a.errors[errOther] != 0 {
		t.Errorf("errors = %v", a.errors)
	}
}

func TestErrorKind(t *testing.T) {
	refused := &net.OpError{Op: "dial", Net: "tcp", Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
	tests := []struct {
		err  error
		want string
	}{
		{context.DeadlineExceeded, errTimeout},
		{&url.Error{Op: "Get", URL: "http://127.0.0.1/", Err: context.DeadlineExceeded}, errTimeout},
		{&url.Error{Op: "Post", URL: "http://127.0.0.1/", Err: refused}, errRefused},
		{errors.New("unexpected EOF"), errOther},
	}
	for _, tt := range tests {
		if got := errorKind(tt.err); got != tt.want {
			t.Errorf("errorKind(%v) = %s, want %s", tt.err, got, tt.want)
		}
	}
}

func TestMixWeights(t *testing.T) {
	got := map[op]int{}
	for roll := range 100 {
		got[mixOp(roll)]++
	}
	want := map[op]int{opMe: 70, opRefresh: 20, opLogin: 8, opRegister: 2}
	for o, n := range want {
		if got[o] != n {
			t.Errorf("%v: %d%%, want %d%%", o, got[o], n)
		}
	}
}

func TestParseStatusKiB(t *testing.T) {
	status := "Name:\tauthd\nVmPeak:\t 1300000 kB\nVmHWM:\t   91876 kB\nVmRSS:\t   90012 kB\nThreads:\t9\n"
	if kib, err := parseStatusKiB(status, "VmHWM"); err != nil || kib != 91876 {
		t.Errorf("VmHWM = %d, %v", kib, err)
	}
	if kib, err := parseStatusKiB(status, "VmRSS"); err != nil || kib != 90012 {
		t.Errorf("VmRSS = %d, %v", kib, err)
	}
	if _, err := parseStatusKiB(status, "VmSwap"); err == nil {
		t.Error("a missing field must be an error")
	}
	if _, err := parseStatusKiB(status, "Threads"); err == nil {
		t.Error("a field without kB must be an error")
	}
	// The test process itself has a status: the sampler reads something.
	stop := sampleRSS(os.Getpid(), time.Millisecond)
	if kib := stop(); kib <= 0 {
		t.Errorf("sampled VmRSS of this process = %d", kib)
	}
}

func TestTokensNeverPrint(t *testing.T) {
	p := tokenPair{AccessToken: "eyJsecret", RefreshToken: "refresh-secret"}
	for _, s := range []string{fmt.Sprint(p), fmt.Sprintf("%v %+v %s", p, p, p)} {
		if strings.Contains(s, "secret") {
			t.Fatalf("a token pair printed its tokens: %s", s)
		}
	}
}
