// Package webapp serves authd's demo web app: the static files of
// static/, embedded in the binary; a generated /config.js that tells the
// page where authd is; and the pages authd's mails link to
// (/verify-email, /reset-password, /confirm-email-change), which are the
// same single page: it reads the token from the query and posts it.
//
// It is a package, not part of the command, so the browser test of
// adapters/httpapi serves exactly what `go run ./examples/web` serves.
package webapp

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"net/http"
	"net/url"
	"strings"
)

//go:embed static
var static embed.FS

// linkPages are the app pages of authd's mails (docs/API.md, "Email").
var linkPages = []string{"verify-email", "reset-password", "confirm-email-change"}

// Handler serves the demo app talking to the authd at authdURL (its base
// URL, such as http://localhost:8080).
func Handler(authdURL string) (http.Handler, error) {
	origin, err := originOf(authdURL)
	if err != nil {
		return nil, fmt.Errorf("authd URL %q: %w", authdURL, err)
	}
	files, err := fs.Sub(static, "static")
	if err != nil {
		return nil, err
	}
	index, err := fs.ReadFile(files, "index.html")
	if err != nil {
		return nil, err
	}
	base, _ := json.Marshal(strings.TrimRight(authdURL, "/")) // escapes <, > and &: safe in a script
	config := []byte("window.AUTHD_URL = " + string(base) + ";\n")

	page := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write(index)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", page)
	for _, p := range linkPages {
		mux.HandleFunc("GET /"+p, page)
	}
	mux.HandleFunc("GET /config.js", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		_, _ = w.Write(config)
	})
	mux.Handle("GET /", http.FileServerFS(files))

	// The page talks to authd only (connect-src), runs only its own
	// scripts, and keeps the link tokens out of Referer headers.
	csp := "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src " + origin +
		"; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Cache-Control", "no-cache")
		mux.ServeHTTP(w, r)
	}), nil
}

// originOf returns scheme://host[:port] of an http(s) URL.
func originOf(raw string) (string, error) {
	u, err := url.Parse(raw)
	switch {
	case err != nil:
		return "", err
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("the scheme must be http or https")
	case u.Host == "":
		return "", fmt.Errorf("a host is required")
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		return "", fmt.Errorf("a base URL has no query, fragment or user info")
	}
	return u.Scheme + "://" + u.Host, nil
}
