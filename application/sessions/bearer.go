package sessions

import (
	"context"
	"fmt"

	"github.com/authd/authd/application"
	"github.com/authd/authd/ports"
)

// Bearer turns an access token into the Principal it proves. It is
// stateless (no store access), so any backend holding the JWKS could do the
// same; endpoints that must see a logout at once then ask Service.Live or
// Service.CurrentUser.
type Bearer struct {
	verifier ports.TokenVerifier
}

// NewBearer checks access tokens with verifier.
func NewBearer(verifier ports.TokenVerifier) *Bearer { return &Bearer{verifier: verifier} }

// Authenticate verifies an access token's signature and claims.
func (b *Bearer) Authenticate(ctx context.Context, accessToken string) (application.Principal, error) {
	c, err := b.verifier.VerifyAccessToken(ctx, accessToken)
	if err != nil {
		return application.Principal{}, fmt.Errorf("authenticate: %w", err)
	}
	return application.Principal{UserID: c.UserID, SessionID: c.SessionID, Role: c.Role, ExpiresAt: c.ExpiresAt}, nil
}
