package application_test

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

type fixedClock struct{ now time.Time }

func (c *fixedClock) Now() time.Time { return c.now }

// seqIDs mints predictable UUIDs.
type seqIDs struct{ n atomic.Int64 }

func (s *seqIDs) next() string {
	return fmt.Sprintf("00000000-0000-7000-8000-%012d", s.n.Add(1))
}
func (s *seqIDs) NewUserID() domain.UserID       { return domain.UserID(s.next()) }
func (s *seqIDs) NewSessionID() domain.SessionID { return domain.SessionID(s.next()) }
func (s *seqIDs) NewEventID() domain.EventID     { return domain.EventID(s.next()) }
func (s *seqIDs) NewMailID() domain.MailID       { return domain.MailID(s.next()) }
func (s *seqIDs) NewPasskeyID() domain.PasskeyID { return domain.PasskeyID(s.next()) }

// countingRandom yields distinct, deterministic bytes: SHA-256 of a
// counter, so no two refresh tokens of a test repeat.
type countingRandom struct {
	mu  sync.Mutex
	n   uint64
	buf []byte
}

func (r *countingRandom) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := range p {
		if len(r.buf) == 0 {
			r.n++
			sum := sha256.Sum256(binary.BigEndian.AppendUint64(nil, r.n))
			r.buf = sum[:]
		}
		p[i] = r.buf[0]
		r.buf = r.buf[1:]
	}
	return len(p), nil
}

// fakeHasher is reversible on purpose; "legacy$" hashes need a rehash.
type fakeHasher struct {
	hashes   atomic.Int64
	verifies atomic.Int64
	err      error
	shed     error // Admit's answer (ports.Admission)
	block    atomic.Pointer[hasherBlock]
}

var (
	_ ports.PasswordHasher = (*fakeHasher)(nil)
	_ ports.Admission      = (*fakeHasher)(nil)
)

// Admit makes the fake a ports.Admission.
func (h *fakeHasher) Admit() error { return h.shed }

// hasherBlock parks one call of the fake hasher, the slow argon2 call a
// race hides in: the first Verify or Hash (op) of password after blockNext
// closes entered and waits for release.
type hasherBlock struct {
	op, password string
	entered      chan struct{}
	release      chan struct{}
}

// blockNext arms a hasherBlock for the next op ("verify" or "hash") of password.
func (h *fakeHasher) blockNext(op, password string) *hasherBlock {
	b := &hasherBlock{op: op, password: password, entered: make(chan struct{}), release: make(chan struct{})}
	h.block.Store(b)
	return b
}

func (h *fakeHasher) park(op string, p domain.Password) {
	b := h.block.Load()
	if b == nil || b.op != op || b.password != p.Reveal() || !h.block.CompareAndSwap(b, nil) {
		return
	}
	close(b.entered)
	<-b.release
}

func (h *fakeHasher) Hash(_ context.Context, p domain.Password) (string, error) {
	if h.err != nil {
		return "", h.err
	}
	h.park("hash", p)
	h.hashes.Add(1)
	return "fake$" + p.Reveal(), nil
}

func (h *fakeHasher) Verify(_ context.Context, p domain.Password, encoded string) (ports.PasswordVerdict, error) {
	if h.err != nil {
		return ports.PasswordVerdict{}, h.err
	}
	h.park("verify", p)
	h.verifies.Add(1)
	if rest, ok := strings.CutPrefix(encoded, "legacy$"); ok {
		return ports.PasswordVerdict{Match: rest == p.Reveal(), NeedsRehash: rest == p.Reveal()}, nil
	}
	return ports.PasswordVerdict{Match: encoded == "fake$"+p.Reveal()}, nil
}

// fakeTokens issues "at.<user>.<session>.<role>.<methods>.<auth time>"
// (methods as domain.FormatMethods, auth time in Unix nanoseconds, 0 for
// none) and verifies the same, so a test can read back every claim a use
// case asked for.
type fakeTokens struct{ clock ports.Clock }

var (
	_ ports.TokenIssuer   = fakeTokens{}
	_ ports.TokenVerifier = fakeTokens{}
)

func (f fakeTokens) IssueAccessToken(_ context.Context, c domain.AccessClaims) (string, domain.AccessClaims, error) {
	c.IssuedAt = f.clock.Now()
	c.ExpiresAt = c.IssuedAt.Add(15 * time.Minute)
	authTime := "0"
	if !c.AuthTime.IsZero() {
		authTime = strconv.FormatInt(c.AuthTime.UnixNano(), 10)
	}
	return strings.Join([]string{"at", c.UserID.String(), c.SessionID.String(), c.Role.String(), domain.FormatMethods(c.Methods), authTime}, "."), c, nil
}

func (f fakeTokens) VerifyAccessToken(_ context.Context, token string) (domain.AccessClaims, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 6 || parts[0] != "at" {
		return domain.AccessClaims{}, domain.ErrInvalidToken
	}
	c := domain.AccessClaims{
		UserID: domain.UserID(parts[1]), SessionID: domain.SessionID(parts[2]), Role: domain.Role(parts[3]),
		Methods: domain.ParseMethods(parts[4]),
	}
	ns, err := strconv.ParseInt(parts[5], 10, 64)
	if err != nil {
		return domain.AccessClaims{}, domain.ErrInvalidToken
	}
	if ns != 0 {
		c.AuthTime = time.Unix(0, ns).UTC()
	}
	return c, nil
}
