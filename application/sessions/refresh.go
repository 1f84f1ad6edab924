package sessions

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// RefreshInput is a refresh request as the transport received it.
type RefreshInput struct {
	RefreshToken string
	// Client becomes the session's latest client.
	Client domain.ClientInfo
}

// Refresh spends a refresh token and returns a new pair (RFC 9700
// rotation). The token and its session are read locked, the rule decides
// (domain.SessionPolicy.DecideRotation), and its outcome commits as one
// transaction with its audit event: of N concurrent refreshes of one token
// exactly one rotates, and the others see it spent, which is reuse and
// revokes the session, unless the policy has a reuse leeway: within it
// each of the others gets a sibling token in the same session (a
// "refreshed" event with DetailWithinReuseLeeway). Expired, unknown and
// malformed tokens, and those of sessions revoked, idle or too old, are
// domain.ErrInvalidRefreshToken; the successor never outlives the
// session's maximum age.
func (s *Service) Refresh(ctx context.Context, in RefreshInput) (application.TokenPair, error) {
	if in.RefreshToken == "" {
		v := &domain.ValidationError{}
		v.Add("refresh_token", domain.CodeRequired, "refresh_token is required")
		return application.TokenPair{}, fmt.Errorf("refresh: %w", v)
	}
	hash, err := domain.ParseRefreshToken(in.RefreshToken)
	if err != nil {
		return application.TokenPair{}, fmt.Errorf("refresh: %w", err)
	}
	client := in.Client.Clean()
	now := s.clock.Now()
	next, err := domain.NewRefreshToken(s.random, now, s.refreshTTL)
	if err != nil {
		return application.TokenPair{}, fmt.Errorf("refresh: %w", err)
	}

	var (
		verdict  domain.RotationVerdict
		rotation domain.Rotation
		session  domain.Session
		owner    domain.User
	)
	err = s.tx.WithinTx(ctx, func(st ports.Stores) error {
		rec, sess, u, err := st.Sessions.RefreshToken(ctx, hash)
		if errors.Is(err, domain.ErrNotFound) {
			verdict = domain.RotationRefused
			return nil
		}
		if err != nil {
			return err
		}
		verdict = s.policy.DecideRotation(rec, sess, now)
		switch verdict {
		case domain.RotationReuse:
			session = sess.Revoked(now)
			if err := st.Sessions.RevokeSession(ctx, sess.ID(), now); err != nil {
				return err
			}
			return s.audit.InTx(ctx, st, reuseEvent(session, client, now))
		case domain.RotationAllowed, domain.RotationSibling:
			rotation, session = s.policy.Rotate(rec, sess, next, now, client)
			owner = u
			if err := st.Sessions.Rotate(ctx, rotation); err != nil {
				return err
			}
			var detail string
			if rotation.Sibling {
				detail = application.DetailWithinReuseLeeway
			}
			return s.audit.InTx(ctx, st, domain.AuditEvent{
				At: now, Type: domain.EventRefreshed, UserID: u.ID(), SessionID: sess.ID(), Client: client, Detail: detail,
			})
		}
		return nil
	})
	if err != nil && verdict == domain.RotationReuse {
		// The revocation must not depend on its audit event: revoke again
		// on its own (idempotent) and record the event best effort.
		if rerr := s.sessions.RevokeSession(ctx, session.ID(), now); rerr == nil {
			s.audit.Record(ctx, reuseEvent(session, client, now))
			err = nil
		}
	}
	switch {
	case err != nil:
		return application.TokenPair{}, fmt.Errorf("refresh: %w", err)
	case verdict == domain.RotationReuse:
		return application.TokenPair{}, fmt.Errorf("refresh: %w", domain.ErrRefreshTokenReused)
	case verdict != domain.RotationAllowed && verdict != domain.RotationSibling:
		return application.TokenPair{}, fmt.Errorf("refresh: %w", domain.ErrInvalidRefreshToken)
	}
	pair, err := s.issuePair(ctx, owner, session, next, rotation.Next.ExpiresAt, now)
	if err != nil {
		return application.TokenPair{}, fmt.Errorf("refresh: %w", err)
	}
	return pair, nil
}

// reuseEvent records that a spent token revoked session.
func reuseEvent(session domain.Session, client domain.ClientInfo, now time.Time) domain.AuditEvent {
	return domain.AuditEvent{
		At: now, Type: domain.EventRefreshReuseDetected, UserID: session.UserID(), SessionID: session.ID(),
		Client: client, Detail: application.DetailReuseRevokedSession,
	}
}
