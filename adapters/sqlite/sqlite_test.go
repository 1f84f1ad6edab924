package sqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/authd/authd/adapters/repotest"
	"github.com/authd/authd/adapters/sqlite"
)

// openStore opens a new database file in a fresh directory.
func openStore(t testing.TB) (*sqlite.Store, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "authd.db")
	st, err := sqlite.Open(t.Context(), path)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = st.Close() })
	return st, path
}

func TestContract(t *testing.T) {
	repotest.Run(t, func(t *testing.T) repotest.Store {
		st, _ := openStore(t)
		return st
	})
}
