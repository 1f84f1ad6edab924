package main

import (
	"context"
	"log/slog"

	"github.com/authd/authd/adapters/argon2"
	"github.com/authd/authd/adapters/httpapi"
	"github.com/authd/authd/adapters/system"
	"github.com/authd/authd/application"
	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/admin"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/ports"
)

// store is what every store adapter provides.
type store interface {
	ports.Users
	ports.Passwords
	ports.Sessions
	ports.LoginThrottle
	ports.AuditLog
	ports.Pinger
	ports.Transactor
	ports.Pruner
}

// newHasher is the production password hasher: argon2id at OWASP's
// parameters behind the default admission gate. The server and the admin
// commands share it, so an account an operator creates needs no rehash.
func newHasher() *argon2.Hasher { return argon2.New(argon2.OWASP, argon2.GateConfig{}, system.Random) }

// newRecorder is the audit writer; a lost event leaves a hole in the
// trail while the operation stands, so it is logged loudly.
func newRecorder(st store, log *slog.Logger) *application.Recorder {
	return application.NewRecorder(st, system.IDs{}, system.Clock{}, func(err error) {
		log.Error("audit event lost", slog.String("error", err.Error()))
	})
}

// server is every use case the HTTP API drives, plus the pruner the
// server schedules.
type server struct {
	useCases httpapi.UseCases
	pruner   *application.Pruner
}

func newServer(ctx context.Context, cfg config, log *slog.Logger, st store, hasher ports.PasswordHasher, issuer ports.TokenIssuer, verifier ports.TokenVerifier) (server, error) {
	policies, err := cfg.appConfig().Policies()
	if err != nil {
		return server{}, err
	}
	clock, ids := system.Clock{}, system.IDs{}
	audit := newRecorder(st, log)
	guard := application.NewGuard(st, hasher, clock, audit, policies.Throttle)
	sess, err := sessions.New(sessions.Deps{
		Tx: st, Sessions: st, Issuer: issuer, Clock: clock, IDs: ids, Random: system.Random, Audit: audit,
	}, policies)
	if err != nil {
		return server{}, err
	}
	password, err := signin.NewPassword(ctx, st, st, guard, hasher, clock, audit)
	if err != nil {
		return server{}, err
	}
	registration := account.NewRegistration(st, hasher, ids, clock, audit)
	pruner, err := application.NewPruner(st, st, clock, application.PrunerConfig{Policies: policies, AuditRetention: cfg.AuditRetention})
	if err != nil {
		return server{}, err
	}
	return server{
		pruner: pruner,
		useCases: httpapi.UseCases{
			Login:          signin.NewLogin(password, sess),
			Registration:   registration,
			PasswordChange: account.NewPasswordChange(st, st, sess, guard, hasher, clock, audit),
			Sessions:       sess,
			Bearer:         sessions.NewBearer(verifier),
			Admin:          admin.New(st, st, st, registration, clock, audit),
			Audit:          audit,
			Store:          st,
		},
	}, nil
}

// newAdmin builds exactly what the admin commands use: accounts, roles,
// sessions and the audit trail; no token keys, no throttle.
func newAdmin(st store, log *slog.Logger, hasher ports.PasswordHasher) *admin.Service {
	clock, audit := system.Clock{}, newRecorder(st, log)
	return admin.New(st, st, st, account.NewRegistration(st, hasher, system.IDs{}, clock, audit), clock, audit)
}
