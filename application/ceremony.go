package application

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Ceremony is a begun WebAuthn ceremony: its handle and the options for
// the browser.
type Ceremony struct {
	Token   string
	Options []byte
}

// UseCeremony spends the ceremony with handle token: it must be of one of
// kinds and not expired at now. The ceremony is spent whatever the
// outcome; an unusable one is domain.ErrInvalidCeremony.
func UseCeremony(ctx context.Context, passkeys ports.Passkeys, token string, now time.Time, kinds ...domain.CeremonyKind) (domain.Ceremony, error) {
	h, err := domain.ParseCeremonyToken(token)
	if err != nil {
		return domain.Ceremony{}, err
	}
	c, err := passkeys.UseCeremony(ctx, h)
	switch {
	case errors.Is(err, domain.ErrNotFound):
		return domain.Ceremony{}, domain.ErrInvalidCeremony
	case err != nil:
		return domain.Ceremony{}, err
	case !slices.Contains(kinds, c.Kind) || !now.Before(c.ExpiresAt):
		return domain.Ceremony{}, domain.ErrInvalidCeremony
	}
	return c, nil
}
