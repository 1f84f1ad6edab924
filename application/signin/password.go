// Package signin proves who someone is. Each sign-in method proves one
// factor and yields a domain.Authentication; Login chains them and asks a
// SessionOpener to open the session.
package signin

import (
	"context"
	"errors"
	"fmt"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Password proves the password factor.
type Password struct {
	users     ports.Users
	passwords ports.Passwords
	guard     *application.Guard
	hasher    ports.PasswordHasher
	clock     ports.Clock
	audit     *application.Recorder
	// dummyHash is checked when the email names no account, so that "no
	// such user" costs the same hash as "wrong password".
	dummyHash string
}

// NewPassword prepares the dummy hash (one password hash).
func NewPassword(ctx context.Context, users ports.Users, passwords ports.Passwords, guard *application.Guard,
	hasher ports.PasswordHasher, clock ports.Clock, audit *application.Recorder) (*Password, error) {
	p, err := domain.NewPassword("placeholder for accounts that do not exist")
	if err != nil {
		return nil, err
	}
	dummy, err := hasher.Hash(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("signin: dummy hash: %w", err)
	}
	return &Password{users: users, passwords: passwords, guard: guard, hasher: hasher, clock: clock, audit: audit, dummyHash: dummy}, nil
}

// Prove checks password for the account of email. An unknown email, an
// account without a password and a wrong password are one
// domain.ErrInvalidCredentials after the same work (one hash); a storage
// or hashing failure is never reported as bad credentials. The attempt is
// claimed from the email's throttle first (refused: *domain.ThrottledError,
// no hash spent), and a hash in outdated parameters is upgraded.
func (p *Password) Prove(ctx context.Context, email domain.Email, password domain.Password, client domain.ClientInfo) (domain.Authentication, error) {
	if err := p.guard.Admit(); err != nil {
		return domain.Authentication{}, err
	}
	u, hash, err := p.account(ctx, email)
	if err != nil {
		return domain.Authentication{}, err
	}
	key := domain.ThrottleKeyFor(email)
	if err := p.guard.Claim(ctx, key, u.ID(), client, application.DetailAtLogin); err != nil {
		return domain.Authentication{}, err
	}
	if hash == "" {
		if _, err := p.guard.Verify(ctx, key, password, p.dummyHash, false); err != nil {
			return domain.Authentication{}, err
		}
		p.audit.Record(ctx, domain.AuditEvent{Type: domain.EventLoginFailed, UserID: u.ID(), Client: client, Detail: application.DetailUnknownEmail})
		return domain.Authentication{}, domain.ErrInvalidCredentials
	}
	verdict, err := p.guard.Verify(ctx, key, password, hash, !u.MFAEnabled())
	if err != nil {
		return domain.Authentication{}, err
	}
	if !verdict.Match {
		p.audit.Record(ctx, domain.AuditEvent{Type: domain.EventLoginFailed, UserID: u.ID(), Client: client, Detail: application.DetailWrongPassword})
		return domain.Authentication{}, domain.ErrInvalidCredentials
	}
	if verdict.NeedsRehash {
		hash = p.rehash(ctx, u.ID(), password, hash)
	}
	return domain.NewAuthentication(u, p.clock.Now(), domain.MethodPassword).WithPasswordHash(hash), nil
}

// account reads the user of email and their password hash; both are zero
// when there is no such account or it has no password.
func (p *Password) account(ctx context.Context, email domain.Email) (domain.User, string, error) {
	u, err := p.users.UserByEmail(ctx, email)
	if errors.Is(err, domain.ErrNotFound) {
		// The same two reads as for an account, so the store's time does
		// not tell which emails exist: the second finds nothing.
		if _, err := p.passwords.PasswordHash(ctx, noUser); err != nil && !errors.Is(err, domain.ErrNotFound) {
			return domain.User{}, "", err
		}
		return domain.User{}, "", nil
	}
	if err != nil {
		return domain.User{}, "", err
	}
	hash, err := p.passwords.PasswordHash(ctx, u.ID())
	if errors.Is(err, domain.ErrNotFound) {
		return u, "", nil
	}
	if err != nil {
		return domain.User{}, "", err
	}
	return u, hash, nil
}

// noUser is an id no account has (UUIDv7 ids never have a zero version).
const noUser domain.UserID = "00000000-0000-0000-0000-000000000000"

// rehash stores a hash of password in today's parameters over old and
// returns the hash now stored. Best effort: the password is proven, so a
// failed upgrade (retried next time) must not fail the sign-in. The swap
// is a compare-and-swap over old, so it never reverts a password change
// committed meanwhile; then old is returned and opening the session decides.
func (p *Password) rehash(ctx context.Context, user domain.UserID, password domain.Password, old string) string {
	hash, err := p.hasher.Hash(ctx, password)
	if err != nil {
		return old
	}
	if err := p.passwords.SwapPasswordHash(ctx, user, old, hash, p.clock.Now()); err != nil {
		return old
	}
	return hash
}

// Recheck proves password again against the account's hash as stored now,
// after opening a session found the hash changed since auth was made: a
// concurrent rehash of the same password passes, a password change does
// not (domain.ErrPasswordChanged, recorded as a failed login).
func (p *Password) Recheck(ctx context.Context, auth domain.Authentication, password domain.Password, client domain.ClientInfo) (domain.Authentication, error) {
	u := auth.User()
	hash, match, err := p.guard.Recheck(ctx, p.passwords, u.ID(), password)
	if err != nil {
		return domain.Authentication{}, err
	}
	if !match {
		p.audit.Record(ctx, domain.AuditEvent{Type: domain.EventLoginFailed, UserID: u.ID(), Client: client, Detail: application.DetailPasswordChangedDuringLogin})
		return domain.Authentication{}, domain.ErrPasswordChanged
	}
	return domain.NewAuthentication(u, p.clock.Now(), auth.Methods()...).WithPasswordHash(hash), nil
}
