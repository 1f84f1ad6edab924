package main

import (
	"context"
	"log/slog"

	"github.com/authd/authd/adapters/argon2"
	"github.com/authd/authd/adapters/httpapi"
	"github.com/authd/authd/adapters/system"
	"github.com/authd/authd/adapters/totp"
	"github.com/authd/authd/application"
	"github.com/authd/authd/application/account"
	"github.com/authd/authd/application/admin"
	"github.com/authd/authd/application/sessions"
	"github.com/authd/authd/application/signin"
	"github.com/authd/authd/domain"
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
	ports.EmailTokens
	ports.Outbox
	ports.SecondFactors
	ports.Passkeys
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

// server is every use case the HTTP API drives, plus the background
// workers the server runs: the pruner and the mail courier.
type server struct {
	useCases httpapi.UseCases
	pruner   *application.Pruner
	courier  *application.Courier
}

func newServer(ctx context.Context, cfg config, log *slog.Logger, st store, hasher ports.PasswordHasher, issuer ports.TokenIssuer, verifier ports.TokenVerifier,
	mailer ports.Mailer, courierObs application.CourierObserver, box ports.SecretBox) (server, error) {
	policies, err := cfg.appConfig().Policies()
	if err != nil {
		return server{}, err
	}
	mailPolicies, err := cfg.mailConfig().Policies()
	if err != nil {
		return server{}, err
	}
	clock, ids := system.Clock{}, system.IDs{}
	audit := newRecorder(st, log)
	letters := application.NewLetters(mailPolicies, ids, system.Random, clock)
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
	registration := account.NewRegistration(st, hasher, ids, clock, audit).WithMail(letters)
	otp := totp.New(system.Random)
	secondFactor := signin.NewSecondFactor(signin.SecondFactorDeps{
		Factors: st, Users: st, Sessions: sess, Guard: guard, OTP: otp, Box: box, Random: system.Random, Clock: clock, Audit: audit,
	})
	rp, err := cfg.relyingParty()
	if err != nil {
		return server{}, err
	}
	passkeySignIn := signin.NewPasskeySignIn(signin.PasskeySignInDeps{
		Factors: st, Passkeys: st, Users: st, Sessions: sess, RP: rp, Random: system.Random, Clock: clock, Audit: audit,
		RequireVerifiedEmail: mailPolicies.RequireVerified,
	})
	secondFactor.WithMethods(passkeySignIn.Methods)
	pruner, err := application.NewPruner(st, st, clock, application.PrunerConfig{
		Policies: policies, AuditRetention: cfg.AuditRetention, MailCap: mailPolicies.Cap,
	})
	if err != nil {
		return server{}, err
	}
	return server{
		pruner:  pruner,
		courier: application.NewCourier(st, mailer, clock, letters, courierObs, application.CourierConfig{}),
		useCases: httpapi.UseCases{
			Login:        signin.NewLogin(password, sess).RequireVerifiedEmail(mailPolicies.RequireVerified).WithSecondFactor(secondFactor),
			SecondFactor: secondFactor,
			TOTP: account.NewTOTPFactor(account.TOTPDeps{
				Tx: st, Factors: st, Passwords: st, Sessions: sess, Guard: guard, OTP: otp, Box: box,
				Issuer: cfg.ProductName, Random: system.Random, Letters: letters, Clock: clock, Audit: audit,
			}),
			Registration:   registration,
			PasswordChange: account.NewPasswordChange(st, st, sess, guard, hasher, clock, audit).WithMail(letters),
			Verification:   account.NewVerification(st, letters, clock, audit),
			PasswordReset:  account.NewPasswordReset(st, st, st, hasher, letters, clock, audit),
			EmailChange:    account.NewEmailChange(st, st, st, sess, guard, letters, clock, audit),
			Passkeys: account.NewPasskeys(account.PasskeyDeps{
				Tx: st, Passkeys: st, Sessions: sess, RP: rp, IDs: ids, Random: system.Random, Letters: letters, Clock: clock, Audit: audit,
			}),
			PasskeySignIn: passkeySignIn,
			Sessions:      sess,
			Bearer:        sessions.NewBearer(verifier),
			Admin:         admin.New(st, st, st, registration, clock, audit).WithMail(admin.Mail{Tx: st, Letters: letters}).WithFactors(removePasskeys),
			Audit:         audit,
			Store:         st,
		},
	}, nil
}

// newAdmin builds exactly what the admin commands use: accounts, roles,
// sessions, the audit trail, and the outbox for verification mails (a
// running server's courier delivers them); no token keys, no throttle.
func newAdmin(st store, log *slog.Logger, hasher ports.PasswordHasher, cfg config) (*admin.Service, error) {
	mailPolicies, err := cfg.mailConfig().Policies()
	if err != nil {
		return nil, err
	}
	clock, ids, audit := system.Clock{}, system.IDs{}, newRecorder(st, log)
	letters := application.NewLetters(mailPolicies, ids, system.Random, clock)
	registration := account.NewRegistration(st, hasher, ids, clock, audit).WithMail(letters)
	return admin.New(st, st, st, registration, clock, audit).WithMail(admin.Mail{Tx: st, Letters: letters}).WithFactors(removePasskeys), nil
}

// removePasskeys is the admin's removal of a user's passkeys, with the
// other second factors.
func removePasskeys(ctx context.Context, st ports.Stores, user domain.UserID) (int, error) {
	return st.Passkeys.DeletePasskeys(ctx, user)
}
