package domain

import "fmt"

// Role is a coarse authorisation level carried in access tokens.
type Role string

const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// ParseRole accepts only the known roles.
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleUser, RoleAdmin:
		return r, nil
	}
	return "", fmt.Errorf("unknown role %q", s)
}

func (r Role) String() string { return string(r) }
