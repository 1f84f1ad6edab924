package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/authd/authd/adapters/postgres/internal/sqlcdb"
	"github.com/authd/authd/domain"
)

// EmailKeyReport is what CanonicalizeEmails did.
type EmailKeyReport struct {
	// Updated counts the accounts whose key was brought to the canonical form.
	Updated int
	// Collisions are accounts whose canonical key another account already
	// holds: two accounts of one person, most likely. They keep their old
	// key and nothing is merged; signing in by that address reaches the
	// holder, so the other account needs an operator (docs/OPERATIONS.md).
	Collisions []EmailKeyCollision
	// Invalid are accounts whose address today's rules refuse (a local
	// part mixing look-alike scripts, an underscore in the domain); they
	// keep their old key and cannot sign in by that address until an
	// operator gives them another.
	Invalid []domain.UserID
}

// EmailKeyCollision names an account and the one that holds its key.
type EmailKeyCollision struct {
	User, Holder domain.UserID
	Key          string
}

// CanonicalizeEmails brings every account's email key to domain.Email.Key,
// which SQL alone cannot compute (migration 5 starts every key at
// lower(email), exact for plain ASCII addresses). It reads only the
// addresses that are not plain ASCII ones, so it is cheap to run after
// every migration, and it is idempotent.
func (s *Store) CanonicalizeEmails(ctx context.Context) (EmailKeyReport, error) {
	const op = "canonicalize emails"
	rows, err := s.q.EmailsToCanonicalize(ctx)
	if err != nil {
		return EmailKeyReport{}, s.translate(op, err)
	}
	var report EmailKeyReport
	for _, row := range rows {
		id := domain.UserID(row.ID.String())
		key, err := domain.EmailKey(row.Email)
		if err != nil {
			report.Invalid = append(report.Invalid, id)
			continue
		}
		if key == row.EmailKey {
			continue
		}
		_, err = s.q.SetEmailKey(ctx, sqlcdb.SetEmailKeyParams{EmailKey: key, ID: row.ID})
		if errors.Is(translate(op, err), domain.ErrEmailTaken) {
			holder, herr := s.q.UserByEmail(ctx, key)
			if herr != nil {
				return report, s.translate(op+": holder of "+id.String(), herr)
			}
			report.Collisions = append(report.Collisions, EmailKeyCollision{User: id, Holder: domain.UserID(holder.ID.String()), Key: key})
			continue
		}
		if err != nil {
			return report, s.translate(fmt.Sprintf("%s: %s", op, id), err)
		}
		report.Updated++
	}
	return report, nil
}
