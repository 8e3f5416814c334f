package sqlstore

import (
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// Column lists of the people tables, in the order the scanners read them.
const (
	UserColumns = `u.id, u.account_id, u.email, u.name, u.role, u.password_hash, u.created_at, u.created_by, u.password_set_at`
	KeyColumns  = `k.id, k.account_id, k.name, k.scope, k.hint, k.created_by, k.created_at, k.last_used_at, k.revoked_at`
	// SessionColumns: a member-less session reads an empty user id.
	SessionColumns = `se.id, se.token_hash, se.account_id, coalesce(se.user_id, ''), se.key_id, se.addr, se.user_agent, se.created_at, se.expires_at`
	AuditColumns   = `id, account_id, at, actor_kind, actor_id, actor, addr, action, target, details`
	// LinkColumns selects a one-time link (l).
	LinkColumns = `l.token_hash, l.account_id, l.user_id, l.purpose, l.created_at, l.expires_at`
)

// BootstrapKeyName names an account's first API key.
const BootstrapKeyName = "Bootstrap key"

// KeyID is the id of the API key with this hash.
func KeyID(hash []byte) string { return "key_" + hex.EncodeToString(hash[:min(8, len(hash))]) }

// SessionID is the id of the session with this token hash.
func SessionID(hash []byte) string { return "ses_" + hex.EncodeToString(hash[:min(8, len(hash))]) }

// userScan is a row's UserColumns being read.
type userScan struct {
	u            bahasha.User
	role         string
	created, set int64
}

func (x *userScan) dest() []any {
	return []any{&x.u.ID, &x.u.AccountID, &x.u.Email, &x.u.Name, &x.role, &x.u.PasswordHash, &x.created, &x.u.CreatedBy, &x.set}
}

func (x *userScan) user() bahasha.User {
	x.u.Role, x.u.CreatedAt, x.u.PasswordSetAt = bahasha.Role(x.role), FromMS(x.created), FromMS(x.set)
	return x.u
}

// ScanUser reads UserColumns.
func ScanUser(row Scanner) (bahasha.User, error) {
	var x userScan
	if err := row.Scan(x.dest()...); err != nil {
		return bahasha.User{}, err
	}
	return x.user(), nil
}

// ScanLinkUser reads LinkColumns, then UserColumns (LinkQuery's row).
func ScanLinkUser(row Scanner) (store.UserLink, bahasha.User, error) {
	var x userScan
	l, err := ScanLink(row, x.dest()...)
	if err != nil {
		return store.UserLink{}, bahasha.User{}, err
	}
	return l, x.user(), nil
}

// LinkQuery selects an unexpired link and its member: ph(1) the token
// hash, ph(2) now.
func LinkQuery(ph func(int) string) string {
	return `SELECT ` + LinkColumns + `, ` + UserColumns + ` FROM user_links l JOIN users u ON u.id = l.user_id
	WHERE l.token_hash = ` + ph(1) + ` AND l.expires_at > ` + ph(2)
}

// ScanSessionView reads SessionByTokenQuery's row.
func ScanSessionView(row Scanner) (store.SessionView, error) {
	var v store.SessionView
	var x userScan
	var aCreated int64
	var scope string
	dest := append([]any{&v.Account.ID, &v.Account.Name, &v.Account.AppSecret, &aCreated}, x.dest()...)
	se, err := ScanSession(row, append(dest, &scope, &v.KeyName)...)
	if err != nil {
		return store.SessionView{}, err
	}
	v.Session, v.User, v.KeyScope = se, x.user(), bahasha.KeyScope(scope)
	v.Account.CreatedAt = FromMS(aCreated)
	return v, nil
}

// KeyByHashQuery selects an unrevoked key and its account (ScanKeyAccount):
// ph(1) the key's hash.
func KeyByHashQuery(ph func(int) string) string {
	return `SELECT ` + KeyColumns + `, ` + AccountColumns + `
		FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.key_hash = ` + ph(1) + ` AND k.revoked_at = 0`
}

// ScanKeyAccount reads KeyByHashQuery's row.
func ScanKeyAccount(row Scanner) (bahasha.APIKey, bahasha.Account, error) {
	var a bahasha.Account
	var created int64
	k, err := ScanKey(row, &a.ID, &a.Name, &a.AppSecret, &created)
	if err != nil {
		return bahasha.APIKey{}, bahasha.Account{}, err
	}
	a.CreatedAt = FromMS(created)
	return k, a, nil
}

// ScanKey reads KeyColumns.
func ScanKey(row Scanner, extra ...any) (bahasha.APIKey, error) {
	var k bahasha.APIKey
	var scope string
	var created, used, revoked int64
	dest := append([]any{&k.ID, &k.AccountID, &k.Name, &scope, &k.Hint, &k.CreatedBy, &created, &used, &revoked}, extra...)
	if err := row.Scan(dest...); err != nil {
		return bahasha.APIKey{}, err
	}
	k.Scope, k.CreatedAt, k.LastUsedAt, k.RevokedAt = bahasha.KeyScope(scope), FromMS(created), FromMS(used), FromMS(revoked)
	return k, nil
}

// ScanSession reads SessionColumns, then extra.
func ScanSession(row Scanner, extra ...any) (store.Session, error) {
	var s store.Session
	var created, expires int64
	dest := append([]any{&s.ID, &s.TokenHash, &s.AccountID, &s.UserID, &s.KeyID, &s.Addr, &s.UserAgent, &created, &expires}, extra...)
	if err := row.Scan(dest...); err != nil {
		return store.Session{}, err
	}
	s.CreatedAt, s.ExpiresAt = FromMS(created), FromMS(expires)
	return s, nil
}

// ScanLink reads LinkColumns, then extra.
func ScanLink(row Scanner, extra ...any) (store.UserLink, error) {
	var l store.UserLink
	var created, expires int64
	dest := append([]any{&l.TokenHash, &l.AccountID, &l.UserID, &l.Purpose, &created, &expires}, extra...)
	if err := row.Scan(dest...); err != nil {
		return store.UserLink{}, err
	}
	l.CreatedAt, l.ExpiresAt = FromMS(created), FromMS(expires)
	return l, nil
}

// ScanAudit reads AuditColumns.
func ScanAudit(row Scanner) (bahasha.AuditEntry, error) {
	var e bahasha.AuditEntry
	var at int64
	var kind, details string
	if err := row.Scan(&e.ID, &e.AccountID, &at, &kind, &e.ActorID, &e.Actor, &e.Addr, &e.Action, &e.Target, &details); err != nil {
		return bahasha.AuditEntry{}, err
	}
	e.At, e.ActorKind, e.Details = FromMS(at), bahasha.ActorKind(kind), json.RawMessage(details)
	return e, nil
}

// AuditDetails is what an entry's details column keeps: its JSON, or {}.
func AuditDetails(d json.RawMessage) string {
	if len(d) == 0 || !json.Valid(d) {
		return "{}"
	}
	return string(d)
}

// AuditQuery is the SELECT of AuditLog, with its arguments, in the
// placeholders of ph.
func AuditQuery(p store.AuditLogParams, ph func(int) string) (string, []any) {
	var where []string
	var args []any
	add := func(cond string, arg any) {
		args = append(args, arg)
		where = append(where, strings.ReplaceAll(cond, "?", ph(len(args))))
	}
	add("account_id = ?", p.AccountID)
	if p.Before > 0 {
		add("id < ?", p.Before)
	}
	if p.Action != "" {
		args = append(args, p.Action, p.Action+".%")
		where = append(where, "(action = "+ph(len(args)-1)+" OR action LIKE "+ph(len(args))+")")
	}
	if p.ActorID != "" {
		add("actor_id = ?", p.ActorID)
	}
	if !p.From.IsZero() {
		add("at >= ?", MS(p.From))
	}
	if !p.To.IsZero() {
		add("at < ?", MS(p.To))
	}
	limit := p.Limit
	if limit <= 0 {
		limit = 50
	}
	args = append(args, limit)
	return `SELECT ` + AuditColumns + ` FROM audit_log WHERE ` + strings.Join(where, " AND ") +
		` ORDER BY id DESC LIMIT ` + ph(len(args)), args
}

// OtherActiveOwners counts an account's owners other than a user who have
// set a password: ph(1) the account, ph(2) the user.
func OtherActiveOwners(ph func(int) string) string {
	return `SELECT count(*) FROM users WHERE account_id = ` + ph(1) + ` AND id <> ` + ph(2) +
		` AND role = 'owner' AND password_hash <> ''`
}

// SessionByTokenQuery selects a session (SessionColumns), its account, its
// member (empty for a key's session) and its key's scope and name (empty
// for a member's): ph(1) the token hash, ph(2) now. A session whose key was
// revoked or removed, or that names neither a member nor a key, is not
// found.
func SessionByTokenQuery(ph func(int) string) string {
	return `SELECT ` + SessionColumns + `, a.id, a.name, a.app_secret, a.created_at,
		coalesce(u.id, ''), coalesce(u.account_id, ''), coalesce(u.email, ''), coalesce(u.name, ''), coalesce(u.role, ''),
		coalesce(u.password_hash, ''), coalesce(u.created_at, 0), coalesce(u.created_by, ''), coalesce(u.password_set_at, 0),
		coalesce(k.scope, ''), coalesce(k.name, '')
		FROM sessions se JOIN accounts a ON a.id = se.account_id LEFT JOIN users u ON u.id = se.user_id
		LEFT JOIN api_keys k ON se.user_id IS NULL AND k.id = se.key_id AND k.account_id = se.account_id AND k.revoked_at = 0
		WHERE se.token_hash = ` + ph(1) + ` AND se.expires_at > ` + ph(2) + ` AND (u.id IS NOT NULL OR k.id IS NOT NULL)`
}
