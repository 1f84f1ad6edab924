package jwt

import (
	"context"
	"testing"
)

// One sub-benchmark per supported algorithm: the key type decides the
// per-request cost of every authenticated call (verify) and of every login
// and refresh (issue), so the figures are what choosing a key type costs.

func BenchmarkIssue(b *testing.B) {
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			s := mustSigner(b, testConfig(t0), testKey(b, alg, "main"))
			c := testClaims()
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := s.IssueAccessToken(ctx, c); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify measures the full check (the verified-token cache is
// off): what a token seen for the first time costs.
func BenchmarkVerify(b *testing.B) {
	for _, alg := range allAlgs {
		b.Run(alg, func(b *testing.B) {
			k := testKey(b, alg, "main")
			cfg := testConfig(t0)
			cfg.VerifiedCache = -1
			tok := mustIssue(b, mustSigner(b, cfg, k))
			v := mustVerifier(b, cfg, k)
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := v.VerifyAccessToken(ctx, tok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerifyRepeat is the common case: a client presenting the same
// token again, answered from the verified-token cache.
func BenchmarkVerifyRepeat(b *testing.B) {
	k := testKey(b, AlgES256, "main")
	cfg := testConfig(t0)
	tok := mustIssue(b, mustSigner(b, cfg, k))
	v := mustVerifier(b, cfg, k)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := v.VerifyAccessToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}
