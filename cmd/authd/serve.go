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
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/authd/authd/adapters/httpapi"
	"github.com/authd/authd/adapters/jwt"
	"github.com/authd/authd/adapters/mail"
	"github.com/authd/authd/adapters/metrics"
	"github.com/authd/authd/adapters/system"
	"github.com/authd/authd/docs"
)

func serve(ctx context.Context, cfg config, log *slog.Logger) error {
	spec, err := cfg.store()
	if err != nil {
		return err
	}
	if spec.embedded {
		if err := ensureDataDir(spec.dataDir, log); err != nil {
			return err
		}
	}
	key, err := loadSigningKey(cfg, spec, log)
	if err != nil {
		return err
	}
	opened, err := openStore(ctx, spec, cfg.AutoMigrate, log)
	if err != nil {
		return err
	}
	defer opened.close()
	st, pool := opened.st, opened.pool

	clock := system.Clock{}
	jwtCfg := jwt.Config{Issuer: cfg.Issuer, Audience: cfg.Audience, AccessTTL: cfg.AccessTTL, Clock: clock, Random: system.Random}
	signer, err := jwt.NewSigner(jwtCfg, key)
	if err != nil {
		return err
	}
	previous, err := loadPreviousKeys(cfg, log)
	if err != nil {
		return err
	}
	verifier, err := jwt.NewVerifier(jwtCfg, append([]*jwt.Key{key}, previous...)...)
	if err != nil {
		return err
	}
	hasher := newHasher()
	m := metrics.New(metrics.Sources{
		Gate: func() metrics.GateStats { return metrics.GateStats(hasher.Gate().Stats()) },
		Pool: pool,
	})
	mailer, err := mail.New(cfg.mailerConfig(), os.Stderr)
	if err != nil {
		return fmt.Errorf("invalid configuration: %w", err)
	}
	if cfg.SMTPURL == "" {
		log.Warn("AUTH_SMTP_URL is empty: mails (verification, password reset) are printed to stderr, not sent; set AUTH_SMTP_URL in production")
	}
	log.Info("mail", slog.String("mailer", mail.Describe(cfg.mailerConfig())), slog.String("app_url", cfg.AppURL))
	box, err := loadDataKey(cfg, spec, log)
	if err != nil {
		return err
	}
	app, err := newServer(ctx, cfg, log, st, hasher, signer, verifier, mailer, courierLog{m: m, log: log}, box)
	if err != nil {
		return err
	}
	jwks := verifier.JWKS()
	var draining atomic.Bool // set on SIGTERM: /readyz answers 503
	opts := httpapi.Options{
		Logger:      log,
		JWKS:        func() []byte { return jwks },
		Issuer:      cfg.Issuer,
		SigningAlgs: signingAlgs(key, previous),
		OpenAPI:     docs.OpenAPI,
		Observer:    m,
		RateLimit:   httpapi.RateLimit{PerMinute: cfg.IPRatePerMinute, Burst: cfg.IPBurst},
		Cookies:     httpapi.CookieOptions{Mode: cfg.CookieMode},
		CORSOrigins: cfg.CORSOrigins,
		Draining:    draining.Load,

		RequestTimeout: cfg.RequestTimeout,
	}
	opts.TrustedProxies, _ = cfg.trustedProxies() // validated by loadConfig
	if cfg.MetricsAddr == "" {
		opts.Metrics = m.Handler()
	}
	handler := httpapi.NewHandler(app.useCases, opts)

	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("listen on AUTH_ADDR %s: %w", cfg.Addr, err)
	}
	srv := &http.Server{
		Handler:           closeWhileDraining(handler, draining.Load),
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       15 * time.Second,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	if cfg.DebugAddr != "" {
		stopDebug, err := serveSide("AUTH_DEBUG_ADDR", cfg.DebugAddr, debugMux(), log)
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer stopDebug()
	}
	if cfg.MetricsAddr != "" {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", m.Handler())
		stopMetrics, err := serveSide("AUTH_METRICS_ADDR", cfg.MetricsAddr, mux, log)
		if err != nil {
			_ = ln.Close()
			return err
		}
		defer stopMetrics()
	}

	log.Info("listening", slog.String("addr", ln.Addr().String()), slog.String("kid", key.ID()), slog.String("alg", key.Alg()))

	go runPruner(ctx, app.pruner, m, log, cfg.PruneInterval)
	courierCtx, stopCourier := context.WithCancel(ctx)
	courierDone := make(chan struct{})
	go func() { defer close(courierDone); app.courier.Run(courierCtx) }()
	// A send in flight records its outcome before the store closes.
	defer func() { stopCourier(); <-courierDone }()

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	// Drain (docs/OPERATIONS.md, "Shutdown"): /readyz answers 503 at once,
	// so load balancers stop sending; for AUTH_SHUTDOWN_DELAY the listener
	// still serves what they send meanwhile, each answer closing its
	// connection; then Shutdown closes the listener and waits for the
	// requests in flight. All of it within AUTH_SHUTDOWN_TIMEOUT of the signal.
	// (Not SetKeepAlivesEnabled(false): it closes idle connections without
	// Shutdown's guard, so a request read from one just then would run, and
	// commit, with no way to answer.)
	drain, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	draining.Store(true)
	log.Info("shutting down: /readyz answers 503", slog.Duration("delay", cfg.ShutdownDelay), slog.Duration("timeout", cfg.ShutdownTimeout))
	select {
	case <-time.After(cfg.ShutdownDelay):
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("shutting down: listener closed, draining in-flight requests")
	if err := srv.Shutdown(drain); err != nil {
		_ = srv.Close()
		return fmt.Errorf("shutdown: requests still in flight after AUTH_SHUTDOWN_TIMEOUT (%s): %w", cfg.ShutdownTimeout, err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	log.Info("stopped")
	return nil
}

// closeWhileDraining answers "Connection: close" once draining reports
// true, so each client's next request opens a new connection: one the
// load balancer may send elsewhere, or that the closed listener refuses
// unread.
func closeWhileDraining(h http.Handler, draining func() bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if draining() {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// loadSigningKey reads AUTH_SIGNING_KEY_FILE; without one, the embedded
// default keeps its key in AUTH_DATA_DIR, and any other store gets an
// ephemeral key.
func loadSigningKey(cfg config, spec storeSpec, log *slog.Logger) (*jwt.Key, error) {
	switch {
	case cfg.SigningKeyFile != "":
		key, err := loadKeyFile("AUTH_SIGNING_KEY_FILE", cfg.SigningKeyFile)
		if err == nil {
			log.Info("signing key", slog.String("file", absPath(cfg.SigningKeyFile)), slog.String("source", "AUTH_SIGNING_KEY_FILE"))
		}
		return key, err
	case spec.embedded:
		return embeddedSigningKey(spec.dataDir, log)
	}
	log.Warn("AUTH_SIGNING_KEY_FILE is empty: using an EPHEMERAL ES256 key; tokens become invalid on restart (create one with `authd keygen`)")
	return jwt.GenerateKey("ES256")
}

// loadPreviousKeys reads the retired keys: they keep verifying the tokens
// they signed (until those expire) and stay in the JWKS, so a rotation is
// invisible to clients and resource servers.
func loadPreviousKeys(cfg config, log *slog.Logger) ([]*jwt.Key, error) {
	var keys []*jwt.Key
	for _, f := range cfg.PreviousKeyFiles {
		k, err := loadKeyFile("AUTH_PREVIOUS_KEY_FILES", strings.TrimSpace(f))
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
		log.Info("retired key still verifying", slog.String("kid", k.ID()), slog.String("alg", k.Alg()))
	}
	return keys, nil
}

func loadKeyFile(variable, path string) (*jwt.Key, error) {
	pemBytes, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("invalid configuration: %s: %w", variable, err)
	}
	key, err := jwt.LoadKeyPEM(pemBytes)
	if err != nil {
		return nil, fmt.Errorf("invalid configuration: %s: %s: %w", variable, path, err)
	}
	return key, nil
}

// signingAlgs lists each algorithm the JWKS holds once, the current key's
// first.
func signingAlgs(current *jwt.Key, previous []*jwt.Key) []string {
	algs := []string{current.Alg()}
	for _, k := range previous {
		if !slices.Contains(algs, k.Alg()) {
			algs = append(algs, k.Alg())
		}
	}
	return algs
}

// debugMux serves net/http/pprof: profiles reveal internals and cost CPU,
// so it only ever runs on its own, private listener.
func debugMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}

// serveSide runs an operator-only listener (pprof, metrics) next to the API;
// the address should be loopback or otherwise private, and a warning says
// so when it is not. The log names it by its variable.
func serveSide(variable, addr string, h http.Handler, log *slog.Logger) (stop func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %s %s: %w", variable, addr, err)
	}
	attr := slog.String(strings.ToLower(strings.TrimPrefix(variable, "AUTH_")), ln.Addr().String())
	if ap, err := netip.ParseAddrPort(ln.Addr().String()); err != nil || !ap.Addr().IsLoopback() {
		log.Warn(variable+" is not a loopback address: anyone who can reach it can read what it serves", attr)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	log.Info("side listener", slog.String("variable", variable), attr)
	return func() { _ = srv.Close() }, nil
}
