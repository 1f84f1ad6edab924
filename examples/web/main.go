// Command web serves authd's demo web app: one plain HTML + JavaScript
// page (no framework, no build step, nothing fetched from the internet)
// that signs up, logs in (with a second factor), lists and revokes
// sessions, runs the email flows and manages TOTP and passkeys, in authd's
// browser mode (HttpOnly cookies, CSRF token, CORS). See README.md.
//
// Configuration (flags override the environment):
//
//	-addr  WEB_ADDR   listen address (default 127.0.0.1:3000)
//	-authd AUTHD_URL  authd's base URL (default http://localhost:8080)
package main

import (
	"context"
	"errors"
	"flag"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/authd/authd/examples/web/webapp"
)

func main() {
	addr := flag.String("addr", env("WEB_ADDR", "127.0.0.1:3000"), "listen address")
	authd := flag.String("authd", env("AUTHD_URL", "http://localhost:8080"), "authd's base URL")
	flag.Parse()

	handler, err := webapp.Handler(*authd)
	if err != nil {
		log.Fatal(err)
	}
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		log.Fatal(err)
	}
	// Open it as localhost: the page's origin must be in authd's
	// AUTH_CORS_ORIGINS, and on the same site as authd for its cookies.
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	log.Printf("demo app on http://localhost:%s (listening on %s), talking to authd at %s", port, ln.Addr(), *authd)

	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		log.Fatal(err)
	}
}

func env(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
