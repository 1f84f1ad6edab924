package application_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"testing"
	"time"

	"github.com/authd/authd/adapters/memory"
	"github.com/authd/authd/application"
	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/application/signin"
)

// These benchmarks measure the use cases' own logic over the memory store.
// The password hasher and the token issuer/verifier are the tests' fakes
// (fakeHasher, fakeTokens), deliberately: a real argon2id hash costs tens of
// milliseconds and would swamp everything else, and a real signature tens
// of microseconds. Their costs are measured where they live:
// adapters/argon2 (BenchmarkHashOWASP, BenchmarkVerifyOWASP) and
// adapters/jwt (BenchmarkIssue, BenchmarkVerify). Storage over Postgres is
// measured in adapters/postgres.
//
// newFixture is not reused: it takes a *testing.T and wraps the store in
// test doubles; wireUseCases, which builds both, is. Refresh tokens come from crypto/rand here, as in
// production, so minting one is part of what Login and Refresh cost.

const benchPassword = "correct horse battery staple"

// newBenchService wires the use cases like newFixture does (and as authd
// serve does: throttle, transactions and audit log on the store), over a
// bare memory store and crypto/rand.
func newBenchService(b *testing.B) useCases {
	b.Helper()
	st := memory.NewStore()
	clock := &fixedClock{now: t0}
	return wireUseCases(b, wiring{
		store: st, audit: st, hasher: &fakeHasher{}, tokens: fakeTokens{clock: clock},
		clock: clock, ids: &seqIDs{}, random: rand.Reader, config: application.Config{RefreshTTL: 720 * time.Hour},
	})
}

func benchRegister(b *testing.B, svc useCases, email string) {
	b.Helper()
	if _, err := svc.registration.Register(context.Background(), account.RegisterInput{Email: email, Password: benchPassword, Name: "Ada"}); err != nil {
		b.Fatalf("register %s: %v", email, err)
	}
}

func benchLogin(b *testing.B, svc useCases, email string) application.TokenPair {
	b.Helper()
	p, err := svc.logins.Login(context.Background(), signin.LoginInput{Email: email, Password: benchPassword})
	if err != nil {
		b.Fatalf("login %s: %v", email, err)
	}
	return p
}

func BenchmarkRegister(b *testing.B) {
	svc := newBenchService(b)
	// Every registration needs a fresh address; formatting them is setup.
	inputs := make([]account.RegisterInput, b.N)
	for i := range inputs {
		inputs[i] = account.RegisterInput{Email: fmt.Sprintf("user%d@example.com", i), Password: benchPassword, Name: "Ada"}
	}
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.registration.Register(ctx, inputs[i]); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkLogin(b *testing.B) {
	svc := newBenchService(b)
	benchRegister(b, svc, "ada@example.com")
	in := signin.LoginInput{Email: "ada@example.com", Password: benchPassword}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.logins.Login(ctx, in); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRefresh walks one session's rotation chain: each iteration
// spends the token the previous one returned, as a well-behaved client does.
func BenchmarkRefresh(b *testing.B) {
	svc := newBenchService(b)
	benchRegister(b, svc, "ada@example.com")
	token := benchLogin(b, svc, "ada@example.com").RefreshToken
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		pair, err := svc.sessions.Refresh(ctx, sessions.RefreshInput{RefreshToken: token})
		if err != nil {
			b.Fatal(err)
		}
		token = pair.RefreshToken
	}
}

// BenchmarkLogout ends a live session per iteration (a revoked one would
// take the cheaper idempotent path), by each of the two ways a client can
// name it. The sessions are opened in setup.
func BenchmarkLogout(b *testing.B) {
	for _, tc := range []struct {
		name  string
		input func(b *testing.B, svc useCases, pair application.TokenPair) sessions.LogoutInput
	}{
		{"RefreshToken", func(_ *testing.B, _ useCases, pair application.TokenPair) sessions.LogoutInput {
			return sessions.LogoutInput{RefreshToken: pair.RefreshToken}
		}},
		{"AccessToken", func(b *testing.B, svc useCases, pair application.TokenPair) sessions.LogoutInput {
			p, err := svc.bearer.Authenticate(context.Background(), pair.AccessToken)
			if err != nil {
				b.Fatal(err)
			}
			return sessions.LogoutInput{Principal: &p}
		}},
	} {
		b.Run(tc.name, func(b *testing.B) {
			svc := newBenchService(b)
			benchRegister(b, svc, "ada@example.com")
			inputs := make([]sessions.LogoutInput, b.N)
			for i := range inputs {
				inputs[i] = tc.input(b, svc, benchLogin(b, svc, "ada@example.com"))
			}
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := svc.sessions.Logout(ctx, inputs[i]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	svc := newBenchService(b)
	benchRegister(b, svc, "ada@example.com")
	access := benchLogin(b, svc, "ada@example.com").AccessToken
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.bearer.Authenticate(ctx, access); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCurrentUser(b *testing.B) {
	svc := newBenchService(b)
	benchRegister(b, svc, "ada@example.com")
	ctx := context.Background()
	p, err := svc.bearer.Authenticate(ctx, benchLogin(b, svc, "ada@example.com").AccessToken)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := svc.sessions.CurrentUser(ctx, p); err != nil {
			b.Fatal(err)
		}
	}
}
