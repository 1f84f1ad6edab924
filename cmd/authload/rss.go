package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// rssInterval is how often the server's VmRSS is sampled during a run.
const rssInterval = 100 * time.Millisecond

// readStatusKiB reads one "Field: N kB" line (VmHWM, VmRSS) of
// /proc/PID/status.
func readStatusKiB(pid int, field string) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusKiB(string(b), field)
}

func parseStatusKiB(status, field string) (int64, error) {
	for line := range strings.Lines(status) {
		name, value, ok := strings.Cut(line, ":")
		if !ok || name != field {
			continue
		}
		num, unit, _ := strings.Cut(strings.TrimSpace(value), " ")
		kib, err := strconv.ParseInt(num, 10, 64)
		if err != nil || unit != "kB" {
			return 0, fmt.Errorf("unexpected %s line %q", field, strings.TrimSpace(line))
		}
		return kib, nil
	}
	return 0, fmt.Errorf("no %s in the process status", field)
}

// sampleRSS reads pid's VmRSS now and every interval until the returned
// stop is called; stop returns the largest value read, in KiB (0 if none
// could be read, e.g. because the process is gone).
func sampleRSS(pid int, interval time.Duration) (stop func() int64) {
	done := make(chan struct{})
	peak := make(chan int64, 1)
	go func() {
		tick := time.NewTicker(interval)
		defer tick.Stop()
		var most int64
		for {
			if kib, err := readStatusKiB(pid, "VmRSS"); err == nil {
				most = max(most, kib)
			}
			select {
			case <-done:
				peak <- most
				return
			case <-tick.C:
			}
		}
	}()
	return func() int64 {
		close(done)
		return <-peak
	}
}
