package sqlite_test

import (
	"crypto/rand"
	"fmt"
	"testing"

	"github.com/authd/authd/adapters/system"
	"github.com/authd/authd/application"
	"github.com/authd/authd/application/account"
)

// BenchmarkForgotPassword is the timing-parity measurement of the "mail me
// a link" endpoints: the same use case for an address with an account and
// one without, on the seeded store. Both take the address's mail cap and
// look the account up in one transaction; only the known address adds its
// token and mail to it. Each iteration uses a fresh address (the cap
// admits one mail a minute per address), so every known request does queue
// a mail. Compare the ns/op of the two sub-benchmarks.
func BenchmarkForgotPassword(b *testing.B) {
	st := benchStore(b)
	mp, err := application.MailConfig{}.Policies()
	if err != nil {
		b.Fatal(err)
	}
	clock := system.Clock{}
	letters := application.NewLetters(mp, system.IDs{}, rand.Reader, clock)
	reset := account.NewPasswordReset(st, st, st, nil, letters, clock, application.NewRecorder(st, system.IDs{}, clock, nil))
	for _, c := range []struct {
		name   string
		prefix string
	}{{"known", "seed"}, {"unknown", "nobody"}} {
		b.Run(c.name, func(b *testing.B) {
			i := 0
			for b.Loop() {
				// seed<i> exist (benchStore); nobody<i> do not.
				email := fmt.Sprintf("%s%d@example.com", c.prefix, i%seedUsers)
				if i >= seedUsers {
					b.Fatal("more iterations than seeded accounts: run with -benchtime below 10000x")
				}
				i++
				if err := reset.Forgot(b.Context(), account.AddressInput{Email: email}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
