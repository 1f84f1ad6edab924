package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/authd/authd/adapters/postgres"
	"github.com/authd/authd/adapters/postgres/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func newPostgresHarness(t *testing.T) *harness {
	t.Helper()
	st, err := postgres.Open(context.Background(), pgtest.NewDatabase(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(st.Close)
	return newHarness(t, st)
}

// race fires n identical requests at once (a closed channel is the start
// gun) and counts the statuses.
func (h *harness) race(t *testing.T, n int, path, body string) map[int]int {
	t.Helper()
	start := make(chan struct{})
	var wg sync.WaitGroup
	var mu sync.Mutex
	statuses := map[int]int{}
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", h.srv.URL+path, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			<-start
			res, err := h.srv.Client().Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			mu.Lock()
			statuses[res.StatusCode]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	return statuses
}

func TestConcurrentRegistrationOfOneEmail(t *testing.T) {
	h := newPostgresHarness(t)
	got := h.race(t, 20, "/v1/auth/register", `{"email":"race@example.com","password":"correct horse"}`)
	if got[201] != 1 || got[409] != 19 || len(got) != 2 {
		t.Fatalf("statuses = %v, want exactly one 201 and nineteen 409", got)
	}
	// Case variants race too: the unique index is on lower(email).
	variants := h.race(t, 10, "/v1/auth/register", `{"email":"RACE@example.com","password":"correct horse"}`)
	if variants[409] != 10 {
		t.Fatalf("case variants = %v, want all 409", variants)
	}
}

func TestConcurrentRefreshOfOneToken(t *testing.T) {
	h := newPostgresHarness(t)
	h.register(t, "ada@example.com", "correct horse")
	p := h.login(t, "ada@example.com", "correct horse")
	got := h.race(t, 20, "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, p.RefreshToken))
	if got[200] != 1 || got[401] != 19 || len(got) != 2 {
		t.Fatalf("statuses = %v, want exactly one 200 and nineteen 401", got)
	}
}

// TestPostgresWalk runs the main flow through HTTP on the Postgres adapter.
func TestPostgresWalk(t *testing.T) {
	h := newPostgresHarness(t)
	h.register(t, "Ada@Example.com", "correct horse")
	p := h.login(t, "ada@example.com", "correct horse")
	r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+p.AccessToken)
	if r.status != 200 || r.json(t)["user"].(map[string]any)["email"] != "Ada@Example.com" {
		t.Fatalf("me: %d %s", r.status, r.body)
	}
	r = h.do(t, "POST", "/v1/auth/refresh", fmt.Sprintf(`{"refresh_token":%q}`, p.RefreshToken))
	var next pair
	if err := json.Unmarshal(r.body, &next); err != nil || r.status != 200 {
		t.Fatalf("refresh: %d %s", r.status, r.body)
	}
	if r := h.do(t, "POST", "/v1/auth/logout", fmt.Sprintf(`{"refresh_token":%q}`, next.RefreshToken)); r.status != 204 {
		t.Fatalf("logout: %d", r.status)
	}
	if r := h.do(t, "GET", "/v1/users/me", "", "Authorization", "Bearer "+next.AccessToken); r.status != 401 {
		t.Fatalf("me after logout: %d", r.status)
	}
	if r := h.do(t, "GET", "/readyz", ""); r.status != 200 {
		t.Fatalf("readyz: %d", r.status)
	}
}
