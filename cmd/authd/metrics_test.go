package main_test

import (
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/authd/authd/adapters/postgres/pgtest"
)

func scrapeMetrics(t *testing.T, url string) string {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, res.StatusCode)
	}
	return string(b)
}

func TestMetricsOnTheAPIListener(t *testing.T) {
	p := start(t, "AUTH_DATABASE_URL="+pgtest.NewDatabase(t))
	creds := `{"email":"metrics@example.com","password":"correct horse battery staple"}`
	code, _ := p.call(t, "POST", "/v1/auth/register", creds, "")
	want(t, code, 201)
	code, pair := p.call(t, "POST", "/v1/auth/login", creds, "")
	want(t, code, 200)
	code, _ = p.call(t, "POST", "/v1/auth/login", `{"email":"metrics@example.com","password":"not the password"}`, "")
	want(t, code, 401)
	refresh := pair["refresh_token"].(string)
	code, _ = p.call(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+refresh+`"}`, "")
	want(t, code, 200)
	code, _ = p.call(t, "POST", "/v1/auth/refresh", `{"refresh_token":"`+refresh+`"}`, "")
	want(t, code, 401)

	body := scrapeMetrics(t, p.base+"/metrics")
	for _, line := range []string{
		`authd_auth_operations_total{operation="register",outcome="success"} 1`,
		`authd_auth_operations_total{operation="login",outcome="success"} 1`,
		`authd_auth_operations_total{operation="login",outcome="invalid_credentials"} 1`,
		`authd_auth_operations_total{operation="refresh",outcome="reuse_detected"} 1`,
		`authd_refresh_token_reuse_detected_total 1`,
		`authd_http_requests_total{method="POST",route="/v1/auth/login",status="401"} 1`,
		`authd_hash_gate_admitted_total 4`, // the start-up dummy hash, one sign-up, two logins
		`authd_hash_gate_capacity `,
		`authd_db_pool_max_connections `,
		`authd_http_request_duration_seconds_bucket{method="POST",route="/v1/auth/refresh",le="+Inf"} 2`,
	} {
		if !strings.Contains(body, line) {
			t.Errorf("metrics lack %q", line)
		}
	}
	// No user data in any label: no email, id or token.
	for _, secret := range []string{"metrics@example.com", refresh, pair["access_token"].(string), pair["user"].(map[string]any)["id"].(string)} {
		if strings.Contains(body, secret) {
			t.Errorf("metrics expose user data %.12s...", secret)
		}
	}
	p.stop(t)
}

func TestMetricsOnTheirOwnListener(t *testing.T) {
	p := start(t, "AUTH_DATABASE_URL=memory:", "AUTH_METRICS_ADDR=127.0.0.1:0")
	m := regexp.MustCompile(`"metrics_addr":"([^"]+)"`).FindStringSubmatch(p.log())
	if m == nil {
		t.Fatalf("no metrics_addr in the log:\n%s", p.log())
	}
	if body := scrapeMetrics(t, "http://"+m[1]+"/metrics"); !strings.Contains(body, "authd_hash_gate_capacity") ||
		strings.Contains(body, "authd_db_pool_") {
		t.Fatalf("side listener metrics (memory store: no pool series):\n%.400s", body)
	}
	if code, _ := p.call(t, "GET", "/metrics", "", ""); code != 404 {
		t.Fatalf("/metrics still on the API listener: %d", code)
	}
	p.stop(t)
}
