package application

import (
	"time"

	"github.com/authd/authd/domain"
)

// Principal is the caller proven by an access token.
type Principal struct {
	UserID    domain.UserID
	SessionID domain.SessionID
	Role      domain.Role
	ExpiresAt time.Time
}

// TokenPair is what opening or refreshing a session returns.
type TokenPair struct {
	AccessToken      string
	AccessExpiresIn  time.Duration
	RefreshToken     string
	RefreshExpiresIn time.Duration
	User             domain.User
}

// Actor is who performs an admin action: an administrator's account and
// the client it acts from. The zero Actor is an operator on the host.
type Actor struct {
	UserID domain.UserID
	Client domain.ClientInfo
}
