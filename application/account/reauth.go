package account

import (
	"context"
	"errors"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Reauth proves, before a sensitive change, that the holder of a live
// session knows the account's password now: under the same throttle as a
// login of the account's email (refused: *domain.ThrottledError), a wrong
// password recorded as a failed login and answered
// domain.ErrInvalidCredentials.
type Reauth struct {
	Passwords ports.Passwords
	Guard     *application.Guard
	Audit     *application.Recorder
}

// Prove checks password for u and returns the hash it matched, for a
// compare-and-swap or a hold. at names the change in the throttle's
// events (application.DetailAt...).
func (r Reauth) Prove(ctx context.Context, u domain.User, sid domain.SessionID, password domain.Password, client domain.ClientInfo, at string) (string, error) {
	key := domain.ThrottleKeyFor(u.Email())
	if err := r.Guard.Claim(ctx, key, u.ID(), client, at); err != nil {
		return "", err
	}
	hash, err := r.Passwords.PasswordHash(ctx, u.ID())
	if errors.Is(err, domain.ErrNotFound) {
		return "", r.wrong(ctx, u, sid, client, at, domain.ErrInvalidCredentials)
	}
	if err != nil {
		return "", err
	}
	verdict, err := r.Guard.Verify(ctx, key, password, hash, !u.MFAEnabled())
	if err != nil {
		return "", err
	}
	if !verdict.Match {
		return "", r.wrong(ctx, u, sid, client, at, domain.ErrInvalidCredentials)
	}
	return hash, nil
}

// Recheck checks password once more against the stored hash, after a
// compare-and-swap found it changed: domain.ErrPasswordChanged when it no
// longer matches.
func (r Reauth) Recheck(ctx context.Context, u domain.User, sid domain.SessionID, password domain.Password, client domain.ClientInfo, at string) (string, error) {
	hash, match, err := r.Guard.Recheck(ctx, r.Passwords, u.ID(), password)
	if err != nil {
		return "", err
	}
	if !match {
		return "", r.wrong(ctx, u, sid, client, at, domain.ErrPasswordChanged)
	}
	return hash, nil
}

func (r Reauth) wrong(ctx context.Context, u domain.User, sid domain.SessionID, client domain.ClientInfo, at string, err error) error {
	detail := application.DetailWrongCurrentPassword
	if at != application.DetailAtPasswordChange {
		detail = "wrong current password at " + at
	}
	r.Audit.Record(ctx, domain.AuditEvent{
		Type: domain.EventLoginFailed, UserID: u.ID(), SessionID: sid,
		Client: client, Detail: detail,
	})
	return err
}
