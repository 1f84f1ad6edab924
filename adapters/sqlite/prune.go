package sqlite

import (
	"context"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/authd/authd/adapters/sqlite/internal/sqlcdb"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var _ ports.Pruner = (*Store)(nil)

// LockPrune always grants: the processes sharing a file take turns at the
// write lock, so two runs at once only repeat each other's work.
func (s *Store) LockPrune(context.Context) (func(), bool, error) { return func() {}, true, nil }

// PruneSessions deletes the gone sessions among the next b.Limit in id
// order: the page's end is read, then its gone rows deleted on the writer
// (see db/sqlite/queries/prune.sql); their tokens go with them (ON DELETE
// CASCADE). The cursor is the last id of the page.
func (s *Store) PruneSessions(ctx context.Context, now time.Time, rule domain.SessionRetention, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune sessions"
	if err := pruneLimit(op, b); err != nil {
		return ports.PruneResult{}, err
	}
	end, err := s.w.SessionPageEnd(ctx, sqlcdb.SessionPageEndParams{After: b.After, Skip: int64(b.Limit - 1)})
	done := errors.Is(err, sql.ErrNoRows)
	switch {
	case done:
		end = "\U0010FFFF" // past every id: the rest of the table
	case err != nil:
		return ports.PruneResult{}, s.translate(op, err)
	}
	c := rule.SessionCutoffs(now)
	n, err := s.w.PruneSessions(ctx, sqlcdb.PruneSessionsParams{
		After: b.After, PageEnd: end,
		RevokedBy: sql.NullInt64{Int64: micros(c.RevokedBy), Valid: true},
		UsedBy:    lowerBound(c.UsedBy), CreatedBy: lowerBound(c.CreatedBy),
	})
	if err != nil {
		return ports.PruneResult{}, s.translate(op, err)
	}
	return ports.PruneResult{Pruned: int(n), Next: end, Done: done}, nil
}

// PruneRefreshTokens deletes the gone tokens among the next b.Limit in
// digest order, like PruneSessions; the cursor is the last digest, in hex.
func (s *Store) PruneRefreshTokens(ctx context.Context, now time.Time, rule domain.SessionRetention, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune refresh tokens"
	if err := pruneLimit(op, b); err != nil {
		return ports.PruneResult{}, err
	}
	after, err := hex.DecodeString(b.After)
	if err != nil {
		return ports.PruneResult{}, fmt.Errorf("sqlite: %s: cursor %q is not hex", op, b.After)
	}
	if after == nil {
		after = []byte{}
	}
	end, err := s.w.RefreshTokenPageEnd(ctx, sqlcdb.RefreshTokenPageEndParams{After: after, Skip: int64(b.Limit - 1)})
	done := errors.Is(err, sql.ErrNoRows)
	switch {
	case done:
		end = []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
			0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}
	case err != nil:
		return ports.PruneResult{}, s.translate(op, err)
	}
	c := rule.TokenCutoffs(now)
	n, err := s.w.PruneRefreshTokens(ctx, sqlcdb.PruneRefreshTokensParams{
		After: after, PageEnd: end, Now: micros(now), UsedBy: lowerBound(c.UsedBy), CreatedBy: lowerBound(c.CreatedBy),
	})
	if err != nil {
		return ports.PruneResult{}, s.translate(op, err)
	}
	return ports.PruneResult{Pruned: int(n), Next: hex.EncodeToString(end), Done: done}, nil
}

// PruneAuditEvents deletes up to b.Limit of the oldest events before before.
func (s *Store) PruneAuditEvents(ctx context.Context, before time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune audit events"
	if err := pruneLimit(op, b); err != nil {
		return ports.PruneResult{}, err
	}
	n, err := s.w.PruneAuditEvents(ctx, sqlcdb.PruneAuditEventsParams{Before: micros(before), MaxRows: int64(b.Limit)})
	if err != nil {
		return ports.PruneResult{}, s.translate(op, err)
	}
	return ports.PruneResult{Pruned: int(n), Done: n < int64(b.Limit)}, nil
}

// PruneEmailTokens deletes up to b.Limit tokens expired at now.
func (s *Store) PruneEmailTokens(ctx context.Context, now time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune email tokens"
	if err := pruneLimit(op, b); err != nil {
		return ports.PruneResult{}, err
	}
	n, err := s.w.PruneEmailTokens(ctx, sqlcdb.PruneEmailTokensParams{Now: micros(now), MaxRows: int64(b.Limit)})
	return pruned(s, op, n, b, err)
}

// PruneMail deletes up to b.Limit mails sent or given up before before.
func (s *Store) PruneMail(ctx context.Context, before time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune mail"
	if err := pruneLimit(op, b); err != nil {
		return ports.PruneResult{}, err
	}
	n, err := s.w.PruneMail(ctx, sqlcdb.PruneMailParams{Before: sql.NullInt64{Int64: micros(before), Valid: true}, MaxRows: int64(b.Limit)})
	return pruned(s, op, n, b, err)
}

// PruneMailCaps deletes up to b.Limit mail-cap keys cap.Stale at now.
func (s *Store) PruneMailCaps(ctx context.Context, now time.Time, cap domain.MailCap, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune mail caps"
	if err := pruneLimit(op, b); err != nil {
		return ports.PruneResult{}, err
	}
	lastBy, windowBy := mailCapCutoffs(now, cap)
	n, err := s.w.PruneMailCaps(ctx, sqlcdb.PruneMailCapsParams{LastBy: lastBy, WindowBy: windowBy, MaxRows: int64(b.Limit)})
	return pruned(s, op, n, b, err)
}

// PruneMFAChallenges deletes up to b.Limit login challenges expired at now.
func (s *Store) PruneMFAChallenges(ctx context.Context, now time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune mfa challenges"
	if err := pruneLimit(op, b); err != nil {
		return ports.PruneResult{}, err
	}
	n, err := s.w.PruneMFAChallenges(ctx, sqlcdb.PruneMFAChallengesParams{Now: micros(now), MaxRows: int64(b.Limit)})
	return pruned(s, op, n, b, err)
}

// PruneCeremonies deletes up to b.Limit passkey ceremonies expired at now.
func (s *Store) PruneCeremonies(ctx context.Context, now time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune ceremonies"
	if err := pruneLimit(op, b); err != nil {
		return ports.PruneResult{}, err
	}
	n, err := s.w.PruneCeremonies(ctx, sqlcdb.PruneCeremoniesParams{Now: micros(now), MaxRows: int64(b.Limit)})
	return pruned(s, op, n, b, err)
}

// pruned is the result of a batch that deleted n of at most b.Limit rows.
func pruned(s *Store, op string, n int64, b ports.PruneBatch, err error) (ports.PruneResult, error) {
	if err != nil {
		return ports.PruneResult{}, s.translate(op, err)
	}
	return ports.PruneResult{Pruned: int(n), Done: n < int64(b.Limit)}, nil
}

func pruneLimit(op string, b ports.PruneBatch) error {
	if b.Limit < 1 || b.Limit > math.MaxInt32 {
		return fmt.Errorf("sqlite: %s: limit %d out of range", op, b.Limit)
	}
	return nil
}
