package domain

import "fmt"

// UserID identifies a user. It is a canonical, lower-case UUID string.
type UserID string

// SessionID identifies a login session (one refresh-token family).
type SessionID string

// ParseUserID validates s as a UUID.
func ParseUserID(s string) (UserID, error) {
	if !isUUID(s) {
		return "", fmt.Errorf("user id %q: not a UUID", s)
	}
	return UserID(s), nil
}

// ParseSessionID validates s as a UUID.
func ParseSessionID(s string) (SessionID, error) {
	if !isUUID(s) {
		return "", fmt.Errorf("session id %q: not a UUID", s)
	}
	return SessionID(s), nil
}

func (id UserID) String() string    { return string(id) }
func (id SessionID) String() string { return string(id) }

// isUUID reports whether s is in the canonical 8-4-4-4-12 lower-case hex form.
func isUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
				return false
			}
		}
	}
	return true
}
