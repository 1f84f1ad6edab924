package ports

import (
	"context"
	"time"

	"github.com/authd/authd/domain"
)

// Pruner deletes what can no longer matter (domain/retention.go), in
// bounded batches: each call is at most a statement or two over at most
// Limit rows, so no call holds locks or builds a transaction of unbounded
// size. The caller loops until a batch says Done.
type Pruner interface {
	// LockPrune takes the store-wide prune lock, so that one replica at a
	// time prunes a shared database: ok false (and nothing to release)
	// when another holds it. A store only one process uses may always
	// grant it. release must be called once the run is over.
	LockPrune(ctx context.Context) (release func(), ok bool, err error)
	// PruneSessions examines the next sessions after b.After in the
	// store's order and deletes those that rule.SessionGone at now, with
	// their refresh tokens.
	PruneSessions(ctx context.Context, now time.Time, rule domain.SessionRetention, b PruneBatch) (PruneResult, error)
	// PruneRefreshTokens examines the next refresh tokens after b.After
	// and deletes those that rule.RefreshTokenGone at now.
	PruneRefreshTokens(ctx context.Context, now time.Time, rule domain.SessionRetention, b PruneBatch) (PruneResult, error)
	// PruneAuditEvents deletes up to b.Limit of the oldest events at
	// before before (After is not used: what is deleted is gone).
	PruneAuditEvents(ctx context.Context, before time.Time, b PruneBatch) (PruneResult, error)
	// PruneEmailTokens deletes up to b.Limit email tokens expired at now
	// (used ones are gone already; After is not used).
	PruneEmailTokens(ctx context.Context, now time.Time, b PruneBatch) (PruneResult, error)
	// PruneMail deletes up to b.Limit mails sent or given up before
	// before (After is not used).
	PruneMail(ctx context.Context, before time.Time, b PruneBatch) (PruneResult, error)
	// PruneMailCaps deletes up to b.Limit mail-cap keys cap.Stale at now
	// (After is not used).
	PruneMailCaps(ctx context.Context, now time.Time, cap domain.MailCap, b PruneBatch) (PruneResult, error)
	// PruneMFAChallenges deletes up to b.Limit login challenges expired at
	// now (After is not used).
	PruneMFAChallenges(ctx context.Context, now time.Time, b PruneBatch) (PruneResult, error)
	// PruneCeremonies deletes up to b.Limit passkey ceremonies expired at
	// now (After is not used).
	PruneCeremonies(ctx context.Context, now time.Time, b PruneBatch) (PruneResult, error)
}

// PruneBatch is one bounded step of a prune.
type PruneBatch struct {
	// After is the previous batch's Next; empty starts at the beginning.
	After string
	// Limit bounds the rows one batch examines (or deletes); positive.
	Limit int
}

// PruneResult is what one batch did.
type PruneResult struct {
	Pruned int
	// Next is where the next batch starts (opaque to the caller).
	Next string
	// Done: nothing is left to examine in this run.
	Done bool
}
