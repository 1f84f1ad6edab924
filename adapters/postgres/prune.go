package postgres

import (
	"context"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/adapters/postgres/internal/sqlcdb"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var _ ports.Pruner = (*Store)(nil)

// pruneLockKey is the advisory lock of a prune run ("authd.prune" in the
// lock space every authd replica shares; the migrations use their own).
const pruneLockKey int64 = 0x6175_7468_6470_7275 // "authdpru"

// LockPrune takes pg_try_advisory_lock on a connection of its own, held
// until release: the lock belongs to that session, so the run's own
// statements may use any connection. Another replica's run holding it is
// ok false. release unlocks; if the unlock cannot be confirmed the
// connection is closed, which ends its session and so the lock.
func (s *Store) LockPrune(ctx context.Context) (func(), bool, error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return nil, false, s.translate("prune lock", err)
	}
	locked, err := sqlcdb.New(conn).TryPruneLock(ctx, pruneLockKey)
	if err != nil || !locked {
		conn.Release()
		return nil, false, s.translate("prune lock", err)
	}
	release := func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		if ok, err := sqlcdb.New(conn).PruneUnlock(ctx, pruneLockKey); err != nil || !ok {
			_ = conn.Conn().Close(ctx)
		}
		conn.Release()
	}
	return release, true, nil
}

// PruneSessions deletes the gone sessions of the next page (see the
// PruneSessions query); the cursor is the last session id examined.
func (s *Store) PruneSessions(ctx context.Context, now time.Time, rule domain.SessionRetention, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune sessions"
	limit, err := pruneLimit(op, b)
	if err != nil {
		return ports.PruneResult{}, err
	}
	after := uuid.Nil
	if b.After != "" {
		if after, err = uuid.Parse(b.After); err != nil {
			return ports.PruneResult{}, fmt.Errorf("postgres: %s: cursor %q is not a UUID", op, b.After)
		}
	}
	c := rule.SessionCutoffs(now)
	row, err := s.q.PruneSessions(ctx, sqlcdb.PruneSessionsParams{
		After: after, MaxRows: limit, RevokedBy: c.RevokedBy, UsedBy: nullTime(c.UsedBy), CreatedBy: nullTime(c.CreatedBy),
	})
	if err != nil {
		return ports.PruneResult{}, s.translate(op, err)
	}
	return ports.PruneResult{Pruned: int(row.Pruned), Next: row.Last.String(), Done: row.Examined < limit}, nil
}

// PruneRefreshTokens deletes the gone tokens of the next page (see the
// PruneRefreshTokens query); the cursor is the last digest examined, in hex.
func (s *Store) PruneRefreshTokens(ctx context.Context, now time.Time, rule domain.SessionRetention, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune refresh tokens"
	limit, err := pruneLimit(op, b)
	if err != nil {
		return ports.PruneResult{}, err
	}
	after, err := hex.DecodeString(b.After)
	if err != nil {
		return ports.PruneResult{}, fmt.Errorf("postgres: %s: cursor %q is not hex", op, b.After)
	}
	if after == nil {
		after = []byte{}
	}
	c := rule.TokenCutoffs(now)
	row, err := s.q.PruneRefreshTokens(ctx, sqlcdb.PruneRefreshTokensParams{
		After: after, MaxRows: limit, Now: now, UsedBy: nullTime(c.UsedBy), CreatedBy: nullTime(c.CreatedBy),
	})
	if err != nil {
		return ports.PruneResult{}, s.translate(op, err)
	}
	return ports.PruneResult{Pruned: int(row.Pruned), Next: hex.EncodeToString(row.Last), Done: row.Examined < limit}, nil
}

// PruneAuditEvents deletes up to b.Limit of the oldest events before before.
func (s *Store) PruneAuditEvents(ctx context.Context, before time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune audit events"
	limit, err := pruneLimit(op, b)
	if err != nil {
		return ports.PruneResult{}, err
	}
	n, err := s.q.PruneAuditEvents(ctx, sqlcdb.PruneAuditEventsParams{Before: before, MaxRows: limit})
	if err != nil {
		return ports.PruneResult{}, s.translate(op, err)
	}
	return ports.PruneResult{Pruned: int(n), Done: n < int64(limit)}, nil
}

// PruneEmailTokens deletes up to b.Limit tokens expired at now.
func (s *Store) PruneEmailTokens(ctx context.Context, now time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune email tokens"
	limit, err := pruneLimit(op, b)
	if err != nil {
		return ports.PruneResult{}, err
	}
	n, err := s.q.PruneEmailTokens(ctx, sqlcdb.PruneEmailTokensParams{Now: now, MaxRows: limit})
	return pruned(s, op, n, limit, err)
}

// PruneMail deletes up to b.Limit mails sent or given up before before.
func (s *Store) PruneMail(ctx context.Context, before time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune mail"
	limit, err := pruneLimit(op, b)
	if err != nil {
		return ports.PruneResult{}, err
	}
	n, err := s.q.PruneMail(ctx, sqlcdb.PruneMailParams{Before: before, MaxRows: limit})
	return pruned(s, op, n, limit, err)
}

// PruneMailCaps deletes up to b.Limit mail-cap keys cap.Stale at now.
func (s *Store) PruneMailCaps(ctx context.Context, now time.Time, cap domain.MailCap, b ports.PruneBatch) (ports.PruneResult, error) {
	const op = "prune mail caps"
	limit, err := pruneLimit(op, b)
	if err != nil {
		return ports.PruneResult{}, err
	}
	lastBy, windowBy := mailCapCutoffs(now, cap)
	n, err := s.q.PruneMailCaps(ctx, sqlcdb.PruneMailCapsParams{LastBy: lastBy, WindowBy: windowBy, MaxRows: limit})
	return pruned(s, op, n, limit, err)
}

// pruned is the result of a batch that deleted n of at most limit rows.
func pruned(s *Store, op string, n int64, limit int32, err error) (ports.PruneResult, error) {
	if err != nil {
		return ports.PruneResult{}, s.translate(op, err)
	}
	return ports.PruneResult{Pruned: int(n), Done: n < int64(limit)}, nil
}

func pruneLimit(op string, b ports.PruneBatch) (int32, error) {
	if b.Limit < 1 || b.Limit > math.MaxInt32 {
		return 0, fmt.Errorf("postgres: %s: limit %d out of range", op, b.Limit)
	}
	return int32(b.Limit), nil
}
