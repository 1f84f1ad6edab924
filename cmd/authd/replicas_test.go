package main_test

import (
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/authd/authd/adapters/postgres/pgtest"
)

// TestTwoReplicasOneDatabase runs two authd processes against one Postgres
// with the same key, as a load balancer would see them: every invariant is
// the database's, so what one replica does the other sees at once.
func TestTwoReplicasOneDatabase(t *testing.T) {
	key := keyFile(t, t.TempDir(), "shared.pem", "ES256")
	env := []string{"AUTH_DATABASE_URL=" + pgtest.NewDatabase(t), "AUTH_SIGNING_KEY_FILE=" + key, "AUTH_IP_RATE_PER_MINUTE=0"}
	a := start(t, env...)
	b := start(t, env...)

	creds := `{"email":"replicas@example.com","password":"correct horse battery staple"}`
	code, _ := a.call(t, "POST", "/v1/auth/register", creds, "")
	want(t, code, 201)
	code, _ = b.call(t, "POST", "/v1/auth/register", creds, "")
	want(t, code, 409) // the unique email holds across replicas

	// A refresh token spent on one replica is dead on the other, and the
	// reuse revokes the session everywhere.
	code, pair := a.call(t, "POST", "/v1/auth/login", creds, "")
	want(t, code, 200)
	first := pair["refresh_token"].(string)
	code, rotated := b.call(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+first+`"}`, "")
	want(t, code, 200)
	code, _ = a.call(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+first+`"}`, "")
	want(t, code, 401)
	code, _ = b.call(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+rotated["refresh_token"].(string)+`"}`, "")
	want(t, code, 401) // the successor died with the session
	code, _ = a.call(t, "GET", "/v1/users/me", "", rotated["access_token"].(string))
	want(t, code, 401)

	// Logout on one replica ends the session for the other's /me.
	code, pair = b.call(t, "POST", "/v1/auth/login", creds, "")
	want(t, code, 200)
	code, _ = a.call(t, "POST", "/v1/auth/logout", "", pair["access_token"].(string))
	want(t, code, 204)
	code, _ = b.call(t, "GET", "/v1/users/me", "", pair["access_token"].(string))
	want(t, code, 401)

	// Concurrent refreshes of one token, split across both: exactly one wins.
	code, pair = a.call(t, "POST", "/v1/auth/login", creds, "")
	want(t, code, 200)
	token := pair["refresh_token"].(string)
	const n = 20
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		base := a.base
		if i%2 == 1 {
			base = b.base
		}
		wg.Go(func() {
			res, err := http.Post(base+"/v1/auth/refresh", "application/json", strings.NewReader(`{"refresh_token":"`+token+`"}`))
			if err != nil {
				t.Error(err)
				return
			}
			res.Body.Close()
			statuses <- res.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for s := range statuses {
		counts[s]++
	}
	if counts[200] != 1 || counts[401] != n-1 {
		t.Fatalf("concurrent refreshes across replicas: %v, want exactly one 200 and %d 401", counts, n-1)
	}
	// The account backoff holds across replicas: wrong guesses alternating
	// between them share one count, so the sixth is refused wherever it
	// lands, with Retry-After.
	wrong := `{"email":"replicas@example.com","password":"not the password at all"}`
	var refused int
	for i := range 8 {
		p := a
		if i%2 == 1 {
			p = b
		}
		res, err := http.Post(p.base+"/v1/auth/login", "application/json", strings.NewReader(wrong))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		switch {
		case res.StatusCode == 429 && res.Header.Get("Retry-After") != "":
			refused++
		case res.StatusCode == 401 && refused == 0:
		default:
			t.Fatalf("wrong guess %d on replica %d: %d (refused so far %d)", i+1, i%2, res.StatusCode, refused)
		}
	}
	if refused < 3 {
		t.Fatalf("only %d of 8 alternating wrong guesses refused; the free allowance is 5", refused)
	}
	a.stop(t)
	b.stop(t)
}
