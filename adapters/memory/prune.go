package memory

import (
	"context"
	"fmt"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var _ ports.Pruner = (*Store)(nil)

// LockPrune always grants: one process owns a memory store.
func (s *Store) LockPrune(context.Context) (func(), bool, error) { return func() {}, true, nil }

// PruneSessions deletes up to b.Limit sessions rule says are gone, with
// their tokens, in one pass under the mutex. Memory has no order to page
// through: each batch starts over (what it deleted is gone), and is Done
// when it found fewer than b.Limit.
func (s *Store) PruneSessions(_ context.Context, now time.Time, rule domain.SessionRetention, b ports.PruneBatch) (ports.PruneResult, error) {
	if b.Limit < 1 {
		return ports.PruneResult{}, fmt.Errorf("memory: prune sessions: limit %d is not positive", b.Limit)
	}
	defer s.lock()()
	gone := map[domain.SessionID]bool{}
	for id, sess := range s.d.sessions {
		if len(gone) == b.Limit {
			break
		}
		if rule.SessionGone(sess, now) {
			gone[id] = true
			delete(s.d.sessions, id)
		}
	}
	if len(gone) > 0 {
		for h, t := range s.d.tokens {
			if gone[t.SessionID] {
				delete(s.d.tokens, h)
			}
		}
	}
	return ports.PruneResult{Pruned: len(gone), Done: len(gone) < b.Limit}, nil
}

// PruneRefreshTokens deletes up to b.Limit tokens rule says are gone, like
// PruneSessions.
func (s *Store) PruneRefreshTokens(_ context.Context, now time.Time, rule domain.SessionRetention, b ports.PruneBatch) (ports.PruneResult, error) {
	if b.Limit < 1 {
		return ports.PruneResult{}, fmt.Errorf("memory: prune refresh tokens: limit %d is not positive", b.Limit)
	}
	defer s.lock()()
	n := 0
	for h, t := range s.d.tokens {
		if n == b.Limit {
			break
		}
		if rule.RefreshTokenGone(t, s.d.sessions[t.SessionID], now) {
			delete(s.d.tokens, h)
			n++
		}
	}
	return ports.PruneResult{Pruned: n, Done: n < b.Limit}, nil
}

// PruneAuditEvents drops at most b.Limit events dated before before, into
// a fresh slice (a transaction's undo log may hold the old one).
func (s *Store) PruneAuditEvents(_ context.Context, before time.Time, b ports.PruneBatch) (ports.PruneResult, error) {
	if b.Limit < 1 {
		return ports.PruneResult{}, fmt.Errorf("memory: prune audit events: limit %d is not positive", b.Limit)
	}
	defer s.lock()()
	n := 0
	kept := make([]domain.AuditEvent, 0, len(s.d.events))
	for _, e := range s.d.events {
		if n < b.Limit && e.At.Before(before) {
			n++
			continue
		}
		kept = append(kept, e)
	}
	if n > 0 {
		s.d.events = kept
	}
	return ports.PruneResult{Pruned: n, Done: n < b.Limit}, nil
}
