package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"os"
	"time"

	"github.com/authd/authd/adapters/argon2"
	"github.com/authd/authd/adapters/httpapi"
	"github.com/authd/authd/adapters/jwt"
	"github.com/authd/authd/adapters/memory"
	"github.com/authd/authd/adapters/postgres"
	"github.com/authd/authd/adapters/system"
	"github.com/authd/authd/application"
	"github.com/authd/authd/ports"
)

// shutdownGrace bounds how long in-flight requests may take to drain.
const shutdownGrace = 20 * time.Second

type store interface {
	ports.UserRepository
	ports.SessionRepository
	ports.Pinger
}

func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	key, err := loadSigningKey(cfg, log)
	if err != nil {
		return err
	}

	var st store
	if cfg.DatabaseURL == "" {
		log.Warn("AUTH_DATABASE_URL is empty: using the IN-MEMORY store; every user and session is LOST when the process stops")
		st = memory.NewStore()
	} else {
		if cfg.AutoMigrate {
			if err := postgres.MigrateUp(cfg.DatabaseURL); err != nil {
				return fmt.Errorf("apply migrations: %w", err)
			}
			log.Info("migrations applied")
		}
		pg, err := postgres.Open(ctx, cfg.DatabaseURL)
		if err != nil {
			return fmt.Errorf("open database: %w", err)
		}
		defer pg.Close()
		st = pg
		log.Info("using postgres store")
	}

	clock := system.Clock{}
	jwtCfg := jwt.Config{Issuer: cfg.Issuer, Audience: cfg.Audience, AccessTTL: cfg.AccessTTL, Clock: clock, Random: system.Random}
	signer, err := jwt.NewSigner(jwtCfg, key)
	if err != nil {
		return err
	}
	verifier, err := jwt.NewVerifier(jwtCfg, key)
	if err != nil {
		return err
	}
	svc, err := application.NewService(ctx, application.Deps{
		Users: st, Sessions: st, Store: st,
		Hasher:   argon2.New(argon2.OWASP, argon2.GateConfig{}, system.Random),
		Issuer:   signer,
		Verifier: verifier,
		Clock:    clock,
		IDs:      system.IDs{},
		Random:   system.Random,
	}, application.Config{RefreshTTL: cfg.RefreshTTL})
	if err != nil {
		return err
	}
	jwks := verifier.JWKS()
	handler := httpapi.NewHandler(svc, httpapi.Options{Logger: log, JWKS: func() []byte { return jwks }})

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on AUTH_ADDR %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if cfg.DebugAddr != "" {
		stopDebug, err := serveDebug(cfg.DebugAddr, log)
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer stopDebug()
	}

	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("kid", key.ID()), slog.String("alg", key.Alg()))

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down: draining in-flight requests")
	drain, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(drain); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

func loadSigningKey(cfg config, log *slog.Logger) (*jwt.Key, error) {
	if cfg.SigningKeyFile == "" {
		log.Warn("AUTH_SIGNING_KEY_FILE is empty: using an EPHEMERAL ES256 key; tokens become invalid on restart (create one with `authd keygen`)")
		return jwt.GenerateKey("ES256")
	}
	pemBytes, err := os.ReadFile(cfg.SigningKeyFile)
	if err != nil {
		return nil, fmt.Errorf("invalid configuration: AUTH_SIGNING_KEY_FILE: %w", err)
	}
	key, err := jwt.LoadKeyPEM(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("invalid configuration: AUTH_SIGNING_KEY_FILE: %w", err)
	}
	return key, nil
}

// serveDebug serves net/http/pprof on its own listener, never on the API's:
// profiles reveal internals and cost CPU, so the address should be
// loopback or otherwise private (a warning says so when it is not).
func serveDebug(addr string, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on AUTH_DEBUG_ADDR %s: %w", addr, err)
	}
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err != nil || !ap.Addr().IsLoopback() {
		log.Warn("AUTH_DEBUG_ADDR is not a loopback address: anyone who can reach it can read profiles", slog.String("debug_addr", ln.Addr().String()))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("debug listener (pprof)", slog.String("debug_addr", ln.Addr().String()))
	return func() { _ = srv.Close() }, nil
}
