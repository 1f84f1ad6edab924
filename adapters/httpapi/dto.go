package httpapi

import (
	"encoding/json"
	"net/http"
	"time"

	"github.com/authd/authd/application"
	"github.com/authd/authd/domain"
)

// The JSON shapes shared by several resources, and the one way answers are
// written.

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func rfc3339(t time.Time) string { return t.UTC().Format(time.RFC3339) }

// userDTO is the public shape of an account: never a hash of anything.
type userDTO struct {
	ID    string `json:"id"`
	Email string `json:"email"`
	// EmailVerified: the owner proved the address (a link mailed to it).
	EmailVerified bool `json:"email_verified"`
	// MFAEnabled: a password alone opens no session of this account.
	MFAEnabled bool   `json:"mfa_enabled"`
	Name       string `json:"name"`
	Role       string `json:"role"`
	CreatedAt  string `json:"created_at"`
}

func toUserDTO(u domain.User) userDTO {
	return userDTO{
		ID:            u.ID().String(),
		Email:         u.Email().String(),
		EmailVerified: u.EmailVerified(),
		MFAEnabled:    u.MFAEnabled(),
		Name:          u.Name(),
		Role:          u.Role().String(),
		CreatedAt:     rfc3339(u.CreatedAt()),
	}
}

type userEnvelope struct {
	User userDTO `json:"user"`
}

type tokenPairDTO struct {
	AccessToken      string  `json:"access_token"`
	TokenType        string  `json:"token_type"`
	ExpiresIn        int64   `json:"expires_in"`
	RefreshToken     string  `json:"refresh_token"`
	RefreshExpiresIn int64   `json:"refresh_expires_in"`
	User             userDTO `json:"user"`
}

func toTokenPairDTO(p application.TokenPair) tokenPairDTO {
	return tokenPairDTO{
		AccessToken:      p.AccessToken,
		TokenType:        "Bearer",
		ExpiresIn:        int64(p.AccessExpiresIn / time.Second),
		RefreshToken:     p.RefreshToken,
		RefreshExpiresIn: int64(p.RefreshExpiresIn / time.Second),
		User:             toUserDTO(p.User),
	}
}
