// Package system adapts the process environment to the ports: the wall
// clock, UUIDv7 identifiers and the operating system's CSPRNG.
package system

import (
	"crypto/rand"
	"time"

	"github.com/google/uuid"

	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Clock is the wall clock, in UTC.
type Clock struct{}

func (Clock) Now() time.Time { return time.Now().UTC() }

// IDs mints UUIDv7 identifiers: time-ordered, so B-tree inserts stay local.
type IDs struct{}

func (IDs) NewUserID() domain.UserID       { return domain.UserID(newV7()) }
func (IDs) NewSessionID() domain.SessionID { return domain.SessionID(newV7()) }
func (IDs) NewEventID() domain.EventID     { return domain.EventID(newV7()) }
func (IDs) NewMailID() domain.MailID       { return domain.MailID(newV7()) }
func (IDs) NewPasskeyID() domain.PasskeyID { return domain.PasskeyID(newV7()) }

func newV7() string {
	id, err := uuid.NewV7()
	if err != nil {
		// uuid.NewV7 fails only when crypto/rand fails, and crypto/rand
		// never returns an error on supported platforms (Go 1.24+).
		panic("uuid v7: " + err.Error())
	}
	return id.String()
}

// Random is crypto/rand.
var Random ports.RandomSource = rand.Reader

var (
	_ ports.Clock       = Clock{}
	_ ports.IDGenerator = IDs{}
)
