// Package admin is account management for operators and administrators:
// users, roles, their sessions and the audit log. The transport decides who
// may call it (the CLI: whoever holds the database URL; HTTP: admins), so
// none of these use cases takes a Principal.
package admin

import (
	"context"
	"fmt"
	"unicode/utf8"

	"github.com/authd/authd/application"
	"github.com/authd/authd/application/account"
	"github.com/authd/authd/domain"
	"github.com/authd/authd/ports"
)

// Service runs the administration use cases.
type Service struct {
	users    ports.Users
	sessions ports.Sessions
	events   ports.AuditLog // nil: ListEvents returns empty pages
	accounts *account.Registration
	clock    ports.Clock
	audit    *application.Recorder
	mail     Mail
	// factorsOn enables RemoveFactors (WithFactors).
	factorsOn      bool
	factorRemovers []FactorRemover
}

// New builds the admin use cases; events may be nil.
func New(users ports.Users, sessions ports.Sessions, events ports.AuditLog, accounts *account.Registration, clock ports.Clock, audit *application.Recorder) *Service {
	return &Service{users: users, sessions: sessions, events: events, accounts: accounts, clock: clock, audit: audit}
}

// Page sizes of ListUsers.
const (
	DefaultUserPageSize = 50
	MaxUserPageSize     = 500
)

// CreateUserInput is an account created by an operator: a sign-up with a
// chosen role.
type CreateUserInput struct {
	Email    string
	Password string
	Name     string
	// Role is "user" or "admin"; empty means "user".
	Role string
}

// CreateUser creates an account with the given role. It applies Register's
// rules (the same validation, every invalid field reported at once, the
// same hashing, domain.ErrEmailTaken from the store's unique index) plus
// the role.
func (s *Service) CreateUser(ctx context.Context, in CreateUserInput) (domain.User, error) {
	v := &domain.ValidationError{}
	fields, err := account.ParseFields(v, in.Email, in.Password, in.Name)
	if err != nil {
		return domain.User{}, err
	}
	role := domain.RoleUser
	if in.Role != "" {
		role = parseRole(v, in.Role)
	}
	if err := v.Err(); err != nil {
		return domain.User{}, fmt.Errorf("create user: %w", err)
	}
	u, err := s.accounts.Create(ctx, fields, role, domain.AuditEvent{Type: domain.EventRegistered, Detail: application.DetailByOperator})
	if err != nil {
		return domain.User{}, fmt.Errorf("create user: %w", err)
	}
	return u, nil
}

// SetRoleInput names an account, by email (the CLI) or by id (the HTTP
// admin API), and the role it should have. Exactly one of Email and UserID
// is set.
type SetRoleInput struct {
	Email  string
	UserID string
	Role   string
	// By is the administrator acting, for the audit log (zero for the
	// command line).
	By application.Actor
}

// RoleChange is the outcome of SetRole: the account as it is now, and the
// role it had when it was read.
type RoleChange struct {
	User     domain.User
	Previous domain.Role
}

// SetRole gives an account a role; an unknown email or id (a malformed id
// included) is domain.ErrNotFound. Access tokens already issued keep the
// role they carry until they expire; the account's next login or refresh
// gets the new one. An actual change is recorded as role_changed.
func (s *Service) SetRole(ctx context.Context, in SetRoleInput) (RoleChange, error) {
	v := &domain.ValidationError{}
	var email domain.Email
	switch {
	case in.UserID != "" && in.Email != "":
		v.Add("user_id", domain.CodeInvalid, "name the account by email or by id, not both")
	case in.UserID == "":
		e, err := domain.NewEmail(in.Email)
		if err := domain.MergeValidation(v, err); err != nil {
			return RoleChange{}, err
		}
		email = e
	}
	role := parseRole(v, in.Role)
	if err := v.Err(); err != nil {
		return RoleChange{}, fmt.Errorf("set role: %w", err)
	}
	u, err := s.accountByEmailOrID(ctx, email, in.UserID)
	if err != nil {
		return RoleChange{}, fmt.Errorf("set role: %w", err)
	}
	changed, err := u.WithRole(role)
	if err != nil {
		return RoleChange{}, fmt.Errorf("set role: %w", err)
	}
	now := s.clock.Now()
	if err := s.users.SetRole(ctx, u.ID(), role, now); err != nil {
		return RoleChange{}, fmt.Errorf("set role: %w", err)
	}
	if u.Role() != role {
		// Both roles are from the closed set domain.ParseRole accepts: the
		// detail is a fixed phrase, never input.
		s.audit.Record(ctx, domain.AuditEvent{
			At: now, Type: domain.EventRoleChanged, UserID: u.ID(), ActorID: in.By.UserID, Client: in.By.Client,
			Detail: u.Role().String() + " -> " + role.String(),
		})
	}
	return RoleChange{User: changed, Previous: u.Role()}, nil
}

// accountByEmailOrID reads the account named by id when it is set, else by
// email. A malformed id names no account: domain.ErrNotFound.
func (s *Service) accountByEmailOrID(ctx context.Context, email domain.Email, id string) (domain.User, error) {
	if id == "" {
		return s.users.UserByEmail(ctx, email)
	}
	uid, err := domain.ParseUserID(id)
	if err != nil {
		return domain.User{}, domain.ErrNotFound
	}
	return s.users.UserByID(ctx, uid)
}

// RevokeUserSessions ends every active session of the account and returns
// how many it ended (0 when there were none: it is idempotent); an unknown
// email is domain.ErrNotFound. The sessions' refresh tokens stop working at
// once, and so do their access tokens wherever the session is checked
// (CurrentUser); a verifier that only checks signatures accepts them until
// they expire.
func (s *Service) RevokeUserSessions(ctx context.Context, email string) (int, error) {
	e, err := domain.NewEmail(email)
	if err != nil {
		return 0, fmt.Errorf("revoke user sessions: %w", err)
	}
	return s.revokeUserSessions(ctx, e, "", application.Actor{})
}

// RevokeUserSessionsByID is RevokeUserSessions for an account named by id
// (the HTTP admin API); an unknown or malformed id is domain.ErrNotFound.
// by is the acting administrator, for the audit log.
func (s *Service) RevokeUserSessionsByID(ctx context.Context, id string, by application.Actor) (int, error) {
	if id == "" {
		return 0, fmt.Errorf("revoke user sessions: %w", domain.ErrNotFound)
	}
	return s.revokeUserSessions(ctx, domain.Email{}, id, by)
}

func (s *Service) revokeUserSessions(ctx context.Context, email domain.Email, id string, by application.Actor) (int, error) {
	u, err := s.accountByEmailOrID(ctx, email, id)
	if err != nil {
		return 0, fmt.Errorf("revoke user sessions: %w", err)
	}
	now := s.clock.Now()
	n, err := s.sessions.RevokeSessions(ctx, u.ID(), "", now)
	if err != nil {
		return 0, fmt.Errorf("revoke user sessions: %w", err)
	}
	if n > 0 {
		s.audit.Record(ctx, domain.AuditEvent{
			At: now, Type: domain.EventSessionRevoked, UserID: u.ID(), ActorID: by.UserID, Client: by.Client, Detail: application.DetailAllByOperator,
		})
	}
	return n, nil
}

// ListUsersInput selects one page of accounts.
type ListUsersInput struct {
	// EmailContains keeps accounts whose email contains it (plain text,
	// case-insensitive); empty keeps all.
	EmailContains string
	// After is the Next of the previous page; empty starts at the beginning.
	After string
	// Limit is the page size: 0 means DefaultUserPageSize, at most MaxUserPageSize.
	Limit int
}

// UserPage is one page of accounts, oldest first.
type UserPage struct {
	Users []domain.User
	// Next is the cursor of the following page; empty on the last page.
	Next string
}

// ListUsers returns one page of accounts in id order (creation order for
// UUIDv7 ids). It asks the store for one row more than the page holds, so
// Next is empty exactly when nothing follows: a full last page does not
// promise a page that turns out empty.
func (s *Service) ListUsers(ctx context.Context, in ListUsersInput) (UserPage, error) {
	v := &domain.ValidationError{}
	limit := application.PageSize(v, in.Limit, DefaultUserPageSize, MaxUserPageSize)
	var after domain.UserID
	if in.After != "" {
		id, err := domain.ParseUserID(in.After)
		if err != nil {
			v.Add("after", domain.CodeInvalid, "after must be a cursor printed by a previous page")
		}
		after = id
	}
	switch {
	case !utf8.ValidString(in.EmailContains):
		v.Add("email", domain.CodeInvalid, "email filter must be valid UTF-8")
	case len(in.EmailContains) > domain.MaxEmailBytes:
		v.Add("email", domain.CodeTooLong, fmt.Sprintf("email filter must be at most %d bytes", domain.MaxEmailBytes))
	}
	if err := v.Err(); err != nil {
		return UserPage{}, fmt.Errorf("list users: %w", err)
	}

	users, err := s.users.ListUsers(ctx, ports.UserFilter{EmailContains: in.EmailContains, After: after, Limit: limit + 1})
	if err != nil {
		return UserPage{}, fmt.Errorf("list users: %w", err)
	}
	users, last, more := application.OnePage(users, limit)
	page := UserPage{Users: users}
	if more {
		page.Next = last.ID().String()
	}
	return page, nil
}

// parseRole records an unknown role in v.
func parseRole(v *domain.ValidationError, raw string) domain.Role {
	r, err := domain.ParseRole(raw)
	if err != nil {
		v.Add("role", domain.CodeInvalid, "role must be user or admin")
	}
	return r
}
