package argon2

import (
	"context"
	"crypto/rand"
	"testing"
)

// The OWASP benchmarks measure what one login costs on this machine; that
// figure, times Concurrency, is the server's hashing throughput ceiling.

func BenchmarkHashOWASP(b *testing.B) {
	h := New(OWASP, GateConfig{Concurrency: 1}, rand.Reader)
	p := pw(b, "correct horse battery staple")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := h.Hash(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifyOWASP(b *testing.B) {
	h := New(OWASP, GateConfig{Concurrency: 1}, rand.Reader)
	p := pw(b, "correct horse battery staple")
	enc := mustHash(b, h, "correct horse battery staple")
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if v, err := h.Verify(ctx, p, enc); err != nil || !v.Match {
			b.Fatal(v, err)
		}
	}
}

// BenchmarkGateParallel measures the gate's own overhead under contention
// (no hashing inside), to show it is negligible next to a hash.
func BenchmarkGateParallel(b *testing.B) {
	g := NewGate(GateConfig{Concurrency: 2, MaxQueue: 1 << 20, MaxWait: long})
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			release, err := g.Acquire(ctx)
			if err != nil {
				b.Error(err)
				return
			}
			release()
		}
	})
}

// BenchmarkVerifyOWASPParallel runs one verify per core at once, as a
// saturated server does: its ns/op is wall time per verify with all cores
// hashing, so 1e9/ns is the machine's real hashing throughput (memory
// bandwidth and the garbage collector are shared).
func BenchmarkVerifyOWASPParallel(b *testing.B) {
	h := New(OWASP, GateConfig{}, rand.Reader)
	p := pw(b, "correct horse battery staple")
	enc := mustHash(b, h, "correct horse battery staple")
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		ctx := context.Background()
		for pb.Next() {
			if v, err := h.Verify(ctx, p, enc); err != nil || !v.Match {
				b.Error(v, err)
				return
			}
		}
	})
}
