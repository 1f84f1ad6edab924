package memory_test

import (
	"context"
	"testing"

	"github.com/authd/authd/adapters/memory"
	"github.com/authd/authd/adapters/repotest"
)

func TestContract(t *testing.T) {
	repotest.Run(t, func(*testing.T) repotest.Store { return memory.NewStore() })
}

func TestPing(t *testing.T) {
	if err := memory.NewStore().Ping(context.Background()); err != nil {
		t.Fatalf("Ping = %v, want nil", err)
	}
}
