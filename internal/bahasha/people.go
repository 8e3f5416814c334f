package bahasha

import (
	"encoding/json"
	"time"
)

// Role is what a member of an account may do in the dashboard.
type Role string

// The roles, from most to least powerful.
const (
	// RoleOwner may do everything, members and API keys included.
	RoleOwner Role = "owner"
	// RoleDeveloper manages webhooks, endpoints and their secrets, replays
	// and retries, and uses the sandbox.
	RoleDeveloper Role = "developer"
	// RoleViewer reads: the overview, deliveries, settings without
	// secrets.
	RoleViewer Role = "viewer"
)

// Roles lists the roles, most powerful first.
var Roles = []Role{RoleOwner, RoleDeveloper, RoleViewer}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { return r == RoleOwner || r == RoleDeveloper || r == RoleViewer }

// rank orders the roles: a higher rank may do what a lower one may.
func (r Role) rank() int {
	switch r {
	case RoleOwner:
		return 3
	case RoleDeveloper:
		return 2
	case RoleViewer:
		return 1
	}
	return 0
}

// Allows reports whether r may do what need may: owner ⊃ developer ⊃
// viewer. An unknown role allows nothing.
func (r Role) Allows(need Role) bool { return r.rank() > 0 && r.rank() >= need.rank() }

// User is a member of an account, who signs in to the dashboard with an
// email and a password.
type User struct {
	// ID is "usr_" and 16 hex digits.
	ID        string
	AccountID string
	// Email is lower-cased; it is unique across accounts (a person signs
	// in with it).
	Email string
	Name  string
	Role  Role
	// PasswordHash is the PHC string of the password's argon2id hash;
	// empty until the member has set a password (an invited member).
	PasswordHash string
	CreatedAt    time.Time
	// CreatedBy is who added the member (an audit actor's label).
	CreatedBy string
	// PasswordSetAt is when the password last changed (zero: never set).
	PasswordSetAt time.Time
}

// Invited reports whether the member has not set a password yet.
func (u User) Invited() bool { return u.PasswordHash == "" }

// KeyScope is what an API key may do.
type KeyScope string

// The scopes of API keys.
const (
	// ScopeFull may use every /v1 route.
	ScopeFull KeyScope = "full"
	// ScopeSend may use the Messages API only: send messages, upload
	// media, list templates.
	ScopeSend KeyScope = "send"
	// ScopeRead may read deliveries and settings (not secrets) only.
	ScopeRead KeyScope = "read"
)

// KeyScopes lists the scopes.
var KeyScopes = []KeyScope{ScopeFull, ScopeSend, ScopeRead}

// Valid reports whether s is one of KeyScopes.
func (s KeyScope) Valid() bool { return s == ScopeFull || s == ScopeSend || s == ScopeRead }

// APIKey is one of an account's API keys. The key itself is never kept:
// the store holds its hash.
type APIKey struct {
	// ID is "key_" and the first 8 bytes of the key's hash in hex.
	ID        string
	AccountID string
	Name      string
	Scope     KeyScope
	// Hint shows which key it is: its first characters and its last four
	// ("bh_AbC…wxyz"); empty for keys made before hints were kept.
	Hint string
	// CreatedBy is who created the key (an audit actor's label; empty for
	// the account's first key).
	CreatedBy  string
	CreatedAt  time.Time
	LastUsedAt time.Time
	// RevokedAt is when the key was revoked; zero while it works.
	RevokedAt time.Time
}

// Revoked reports whether the key no longer works.
func (k APIKey) Revoked() bool { return !k.RevokedAt.IsZero() }

// ActorKind says who did something recorded in the audit log.
type ActorKind string

// The kinds of actors.
const (
	ActorUser  ActorKind = "user"  // a member, signed in to the dashboard
	ActorKey   ActorKind = "key"   // an API key (or a dashboard session opened with one)
	ActorAdmin ActorKind = "admin" // the operator, with the admin key or the CLI
)

// AuditEntry is one change recorded in an account's audit log. Details
// never hold a secret's value.
type AuditEntry struct {
	ID        int64
	AccountID string
	At        time.Time
	ActorKind ActorKind
	// ActorID is the user's or key's id (empty for the operator).
	ActorID string
	// Actor is a label a person recognises: the member's email, the key's
	// name.
	Actor string
	// Addr is the client address the change came from (empty from the
	// CLI).
	Addr string
	// Action names the change, "<object>.<verb>": "endpoint.updated",
	// "api_key.revoked", "member.invited", "session.signed_in", …
	Action string
	// Target is the id of what changed ("12", "key_…", "usr_…").
	Target string
	// Details is a JSON object of what changed (never secret values).
	Details json.RawMessage
}
