package store

import (
	"context"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
)

// People is the part of Store about who may do what: an account's members,
// their one-time links (invitations, password resets), their dashboard
// sessions, the account's API keys and its audit log.
type People interface {
	// CreateUser adds a member. ErrConflict if the email (lower-cased by
	// the caller) is already a member of any account, ErrNotFound if the
	// account does not exist.
	CreateUser(ctx context.Context, u bahasha.User) error
	// Users lists an account's members, oldest first.
	Users(ctx context.Context, accountID string) ([]bahasha.User, error)
	// User returns one of an account's members, or ErrNotFound.
	User(ctx context.Context, p GetUserParams) (bahasha.User, error)
	// UserByEmail returns the member with this (lower-cased) email, of
	// whichever account, or ErrNotFound.
	UserByEmail(ctx context.Context, email string) (bahasha.User, error)
	// SetUserRole changes a member's role. ErrNotFound if there is no such
	// member; ErrLastOwner if it would leave the account without an owner
	// who has set a password.
	SetUserRole(ctx context.Context, p SetUserRoleParams) error
	// DeleteUser removes a member with their sessions and one-time links.
	// ErrNotFound if there is no such member; ErrLastOwner if they are the
	// account's last owner who has set a password.
	DeleteUser(ctx context.Context, p GetUserParams) error
	// SetPassword replaces a member's password hash and ends their
	// sessions, all but KeepSession's (when not nil), and their one-time
	// links. ErrNotFound if there is no such member.
	SetPassword(ctx context.Context, p SetPasswordParams) error

	// CreateUserLink stores a one-time link for a member. ErrNotFound if
	// the member does not exist.
	CreateUserLink(ctx context.Context, l UserLink) error
	// UserLink returns the link with this token hash and its member if it
	// has not expired at now, else ErrNotFound.
	UserLink(ctx context.Context, p UserLinkParams) (UserLink, bahasha.User, error)
	// UseUserLink sets the member's password from a link, in one step:
	// the link must exist and not have expired at Now (else ErrNotFound,
	// nothing changes); the member's links (this one included) and
	// sessions are removed. It returns the member as they are now.
	UseUserLink(ctx context.Context, p UseUserLinkParams) (bahasha.User, error)

	// SessionByToken returns the session with this token hash, its account
	// and its member (zero for a session opened with an API key, whose
	// scope it returns), if it has not expired at Now; else ErrNotFound —
	// also for a key's session whose key was revoked, and a session naming
	// neither a member nor a key.
	SessionByToken(ctx context.Context, p SessionAccountParams) (SessionView, error)
	// UserSessions lists a member's unexpired sessions, newest first.
	UserSessions(ctx context.Context, p UserSessionsParams) ([]Session, error)
	// DeleteUserSession ends one of a member's sessions by its ID.
	// ErrNotFound if the member has no such session.
	DeleteUserSession(ctx context.Context, p DeleteUserSessionParams) error

	// CreateAPIKey stores a new API key (its hash). ErrConflict if the hash
	// exists.
	CreateAPIKey(ctx context.Context, p CreateAPIKeyParams) (bahasha.APIKey, error)
	// APIKeys lists an account's API keys, revoked ones included, newest
	// first.
	APIKeys(ctx context.Context, accountID string) ([]bahasha.APIKey, error)
	// KeyByHash returns the unrevoked API key with this hash and its
	// account, or ErrNotFound (also for a revoked key).
	KeyByHash(ctx context.Context, keyHash []byte) (bahasha.APIKey, bahasha.Account, error)
	// RevokeAPIKey revokes one of an account's keys at Now and ends the
	// dashboard sessions opened with it. ErrNotFound if the account has no
	// such unrevoked key.
	RevokeAPIKey(ctx context.Context, p RevokeAPIKeyParams) (bahasha.APIKey, error)
	// TouchAPIKey records that a key was used at Now (if later than what
	// is recorded). No error if there is no such key.
	TouchAPIKey(ctx context.Context, p TouchAPIKeyParams) error

	// AppendAudit records an entry in its account's audit log and sets
	// its ID. ErrNotFound if the account does not exist.
	AppendAudit(ctx context.Context, e *bahasha.AuditEntry) error
	// AuditLog lists an account's audit entries, newest first.
	AuditLog(ctx context.Context, p AuditLogParams) ([]bahasha.AuditEntry, error)
}

// GetUserParams name one of an account's members.
type GetUserParams struct {
	AccountID string
	UserID    string
}

// SetUserRoleParams are the arguments of SetUserRole.
type SetUserRoleParams struct {
	AccountID string
	UserID    string
	Role      bahasha.Role
}

// SetPasswordParams are the arguments of SetPassword.
type SetPasswordParams struct {
	AccountID    string
	UserID       string
	PasswordHash string
	Now          time.Time
	// KeepSession is the token hash of a session to keep (the member's
	// own, when they change their password); nil ends them all.
	KeepSession []byte
}

// The purposes of one-time links.
const (
	LinkInvite = "invite" // a new member sets their first password
	LinkReset  = "reset"  // a member sets a new password
)

// UserLink is a one-time link that lets a member set a password: the URL
// carries the token, the store only its hash.
type UserLink struct {
	TokenHash []byte
	AccountID string
	UserID    string
	// Purpose is LinkInvite or LinkReset.
	Purpose   string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// UserLinkParams are the arguments of UserLink.
type UserLinkParams struct {
	TokenHash []byte
	Now       time.Time
}

// UseUserLinkParams are the arguments of UseUserLink.
type UseUserLinkParams struct {
	TokenHash    []byte
	PasswordHash string
	Now          time.Time
}

// SessionView is a session with its account and member.
type SessionView struct {
	Session Session
	Account bahasha.Account
	// User is the member signed in; its ID is empty for a session opened
	// with an API key, whose scope and name KeyScope and KeyName are.
	User     bahasha.User
	KeyScope bahasha.KeyScope
	KeyName  string
}

// UserSessionsParams are the arguments of UserSessions.
type UserSessionsParams struct {
	AccountID string
	UserID    string
	Now       time.Time
}

// DeleteUserSessionParams are the arguments of DeleteUserSession.
type DeleteUserSessionParams struct {
	AccountID string
	UserID    string
	SessionID string
}

// CreateAPIKeyParams are the arguments of CreateAPIKey; the key's ID is
// derived from KeyHash.
type CreateAPIKeyParams struct {
	AccountID string
	KeyHash   []byte
	Name      string
	Scope     bahasha.KeyScope
	Hint      string
	CreatedBy string
	Now       time.Time
}

// RevokeAPIKeyParams are the arguments of RevokeAPIKey.
type RevokeAPIKeyParams struct {
	AccountID string
	KeyID     string
	Now       time.Time
}

// TouchAPIKeyParams are the arguments of TouchAPIKey.
type TouchAPIKeyParams struct {
	KeyID string
	Now   time.Time
}

// AuditLogParams are the arguments of AuditLog.
type AuditLogParams struct {
	AccountID string
	// Before, when not 0, lists the entries with smaller IDs (the next
	// page).
	Before int64
	// Action, when not empty, keeps the entries whose action is it or
	// starts with it and a dot ("endpoint" keeps "endpoint.updated").
	Action string
	// ActorID, when not empty, keeps one user's or key's entries.
	ActorID string
	// From and To, when not zero, keep the entries recorded in [From, To).
	From, To time.Time
	// Limit caps the entries; 0 means 50.
	Limit int
}
