package ports

import "context"

// Stores are the repositories a transaction works with.
type Stores struct {
	Users     Users
	Passwords Passwords
	Sessions  Sessions
	Audit     AuditLog
	// EmailTokens and Outbox: an email token and the mail that carries it
	// are made together.
	EmailTokens EmailTokens
	Outbox      Outbox
	// Factors: a second factor's use and the session it opens commit
	// together.
	Factors  SecondFactors
	Passkeys Passkeys
}

// Transactor runs a change of several things at once: everything fn does
// through the Stores it is given commits together when fn returns nil, and
// none of it when fn returns an error; fn reads its own writes. fn must not act outside them: a
// store may run it again after a failure that provably committed nothing.
type Transactor interface {
	WithinTx(ctx context.Context, fn func(Stores) error) error
}
