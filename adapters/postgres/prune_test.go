package postgres_test

import (
	"testing"

	"github.com/authd/authd/adapters/postgres/pgtest"
)

// One replica at a time: while one store holds the prune lock another
// store on the same database is refused it, and gets it once released.
func TestPruneLockIsExclusiveAcrossStores(t *testing.T) {
	url := pgtest.NewDatabase(t)
	a, b := openStore(t, url), openStore(t, url)
	release, ok, err := a.LockPrune(t.Context())
	if err != nil || !ok {
		t.Fatalf("first LockPrune = %t, %v", ok, err)
	}
	if _, ok, err := b.LockPrune(t.Context()); err != nil || ok {
		t.Fatalf("LockPrune while another store holds it = %t, %v; want false, nil", ok, err)
	}
	release()
	release2, ok, err := b.LockPrune(t.Context())
	if err != nil || !ok {
		t.Fatalf("LockPrune after the release = %t, %v", ok, err)
	}
	release2()
}
