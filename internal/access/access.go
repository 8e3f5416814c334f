// Package access is who may do what in an account: its members (invited
// by a one-time link, signing in with an email and a password hashed with
// argon2id, each with a role), its named and scoped API keys, and the
// audit log of every change, with who made it.
package access

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/mail"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/store"
)

// Config configures the service. Zero fields take the documented defaults.
type Config struct {
	// PasswordCost is the argon2id cost of new passwords. Default
	// DefaultPasswordCost.
	PasswordCost PasswordCost
	// InviteTTL is how long an invitation link works. Default 7 days.
	InviteTTL time.Duration
	// ResetTTL is how long a password-reset link works. Default 1 hour.
	ResetTTL time.Duration
}

// Service runs the members, keys and audit operations. Build it with New.
type Service struct {
	cfg   Config
	store store.Store
	now   func() time.Time
	rand  io.Reader
	log   *slog.Logger
	// dummy is a hash verified for a sign-in with an unknown email, so
	// that it takes as long as one with a known email (made on first use).
	dummy     string
	dummyOnce sync.Once
}

// New returns the service over the store; now is the clock, r the
// randomness (crypto/rand when nil).
func New(cfg Config, s store.Store, now func() time.Time, r io.Reader, log *slog.Logger) *Service {
	if cfg.PasswordCost == (PasswordCost{}) {
		cfg.PasswordCost = DefaultPasswordCost
	}
	if cfg.InviteTTL <= 0 {
		cfg.InviteTTL = 7 * 24 * time.Hour
	}
	if cfg.ResetTTL <= 0 {
		cfg.ResetTTL = time.Hour
	}
	if r == nil {
		r = rand.Reader
	}
	if log == nil {
		log = slog.Default()
	}
	return &Service{cfg: cfg, store: s, now: now, rand: r, log: log}
}

// Actor is who does something: recorded in the audit log.
type Actor struct {
	Kind bahasha.ActorKind
	// ID is the user's or key's id; Label what a person recognises (an
	// email, a key's name).
	ID, Label string
	// Addr is the client's address.
	Addr string
}

// UserActor is a signed-in member.
func UserActor(u bahasha.User, addr string) Actor {
	return Actor{Kind: bahasha.ActorUser, ID: u.ID, Label: u.Email, Addr: addr}
}

// KeyActor is an API key.
func KeyActor(k bahasha.APIKey, addr string) Actor {
	return Actor{Kind: bahasha.ActorKey, ID: k.ID, Label: k.Name, Addr: addr}
}

// Operator is the platform's operator (the admin key, the CLI).
var Operator = Actor{Kind: bahasha.ActorAdmin, Label: "operator"}

// SafeFields are the request and form fields whose values the audit log
// keeps. Of custom headers it keeps the names; of any other field only
// that it was given (a verify token, a header's value can be secrets).
var SafeFields = map[string]bool{"url": true, "events": true, "description": true, "enabled": true, "scope": true,
	"scope_kind": true, "scope_id": true, "rate_limit": true, "name": true, "from": true, "to": true, "only_failed": true,
	"endpoint_id": true, "endpoint": true, "override_callback_uri": true, "phone_number_id": true, "waba_id": true,
	"role": true, "email": true}

// Record appends an entry to the account's audit log. details is marshalled
// to a JSON object; it must never hold a secret's value. A failure is
// logged and returned: the change it records has been made already.
func (s *Service) Record(ctx context.Context, a Actor, accountID, action, target string, details any) error {
	var raw json.RawMessage
	if details != nil {
		b, err := json.Marshal(details)
		if err != nil {
			return fmt.Errorf("access: audit details: %w", err)
		}
		raw = b
	}
	e := bahasha.AuditEntry{AccountID: accountID, At: s.now(), ActorKind: a.Kind, ActorID: a.ID, Actor: a.Label, Addr: a.Addr,
		Action: action, Target: target, Details: raw}
	if err := s.store.AppendAudit(ctx, &e); err != nil {
		s.log.Error("audit entry not recorded", "account", accountID, "action", action, "target", target, "err", err)
		return err
	}
	return nil
}

// AuditLog lists an account's audit entries (store.AuditLog).
func (s *Service) AuditLog(ctx context.Context, p store.AuditLogParams) ([]bahasha.AuditEntry, error) {
	if p.Limit > 200 {
		p.Limit = 200
	}
	return s.store.AuditLog(ctx, p)
}

func (s *Service) id(prefix string) (string, error) {
	b := make([]byte, 8)
	if _, err := io.ReadFull(s.rand, b); err != nil {
		return "", fmt.Errorf("access: randomness: %w", err)
	}
	return prefix + hex.EncodeToString(b), nil
}

// NormalizeEmail checks an email address and returns it lower-cased.
func NormalizeEmail(email string) (string, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return "", problem.Invalid("enter an email address")
	}
	a, err := mail.ParseAddress(email)
	if err != nil || a.Address != email || len(email) > 254 || !strings.Contains(email, "@") {
		return "", problem.Invalid("%q is not an email address; write it as name@example.com", truncate(email, 80))
	}
	return strings.ToLower(email), nil
}

func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if utf8.RuneCountInString(name) > 100 || strings.ContainsFunc(name, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "", problem.Invalid("the name must be one line of at most 100 characters")
	}
	return name, nil
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// InviteParams are the arguments of Invite.
type InviteParams struct {
	AccountID string
	Email     string
	Name      string
	Role      bahasha.Role
}

// Invite adds a member who has not set a password yet, and returns them
// with the token of their one-time invitation link (valid InviteTTL).
func (s *Service) Invite(ctx context.Context, a Actor, p InviteParams) (bahasha.User, string, error) {
	email, err := NormalizeEmail(p.Email)
	if err != nil {
		return bahasha.User{}, "", err
	}
	name, err := checkName(p.Name)
	if err != nil {
		return bahasha.User{}, "", err
	}
	if !p.Role.Valid() {
		return bahasha.User{}, "", problem.Invalid("the role must be owner, developer or viewer")
	}
	id, err := s.id("usr_")
	if err != nil {
		return bahasha.User{}, "", err
	}
	u := bahasha.User{ID: id, AccountID: p.AccountID, Email: email, Name: name, Role: p.Role, CreatedAt: s.now(), CreatedBy: a.Label}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return bahasha.User{}, "", problem.New(http.StatusConflict, "member_exists",
				"%s cannot be invited: the address is already in use; ask them for another one", email)
		}
		return bahasha.User{}, "", err
	}
	token, err := s.link(ctx, u, store.LinkInvite, s.cfg.InviteTTL)
	if err != nil {
		return bahasha.User{}, "", err
	}
	s.Record(ctx, a, p.AccountID, "member.invited", u.ID, map[string]any{"email": email, "role": p.Role})
	return u, token, nil
}

// link stores a one-time link for u and returns its token.
func (s *Service) link(ctx context.Context, u bahasha.User, purpose string, ttl time.Duration) (string, error) {
	token, err := accounts.Token(s.rand, 32)
	if err != nil {
		return "", err
	}
	now := s.now()
	if err := s.store.CreateUserLink(ctx, store.UserLink{TokenHash: accounts.HashKey(token), AccountID: u.AccountID, UserID: u.ID,
		Purpose: purpose, CreatedAt: now, ExpiresAt: now.Add(ttl)}); err != nil {
		return "", err
	}
	return token, nil
}

// OwnerLink returns a new one-time link for an account's first owner
// (made with the account): an invitation when they have no password yet,
// else a password reset.
func (s *Service) OwnerLink(ctx context.Context, u bahasha.User) (string, error) {
	if u.Invited() {
		return s.link(ctx, u, store.LinkInvite, s.cfg.InviteTTL)
	}
	return s.link(ctx, u, store.LinkReset, s.cfg.ResetTTL)
}

// ResetLink makes a one-time link with which a member sets a new password
// (valid ResetTTL; an invited member's link is a new invitation, valid
// InviteTTL).
func (s *Service) ResetLink(ctx context.Context, a Actor, accountID, userID string) (string, error) {
	u, err := s.store.User(ctx, store.GetUserParams{AccountID: accountID, UserID: userID})
	if err != nil {
		return "", notMember(err)
	}
	token, err := s.OwnerLink(ctx, u)
	if err != nil {
		return "", err
	}
	s.Record(ctx, a, accountID, "member.link_issued", u.ID, map[string]any{"email": u.Email})
	return token, nil
}

// RequestReset makes a reset link for the member with this email, if any
// (ok false: none, or an invited member, who should use their invitation).
// The caller answers the same either way.
func (s *Service) RequestReset(ctx context.Context, email, addr string) (u bahasha.User, token string, ok bool, err error) {
	email, err = NormalizeEmail(email)
	if err != nil {
		return bahasha.User{}, "", false, err
	}
	u, err = s.store.UserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		return bahasha.User{}, "", false, nil
	}
	if err != nil || u.Invited() {
		return bahasha.User{}, "", false, err
	}
	token, err = s.link(ctx, u, store.LinkReset, s.cfg.ResetTTL)
	if err != nil {
		return bahasha.User{}, "", false, err
	}
	s.Record(ctx, Actor{Kind: bahasha.ActorUser, ID: u.ID, Label: u.Email, Addr: addr}, u.AccountID, "member.reset_requested", u.ID, nil)
	return u, token, true, nil
}

// ErrLinkInvalid: a one-time link that does not exist, was used or has
// expired.
var ErrLinkInvalid = problem.New(http.StatusGone, "link_invalid",
	"This link has already been used or has expired. Ask an owner of your account for a new one, or reset your password from the sign-in page.")

// Link returns the one-time link of a token and its member, for the form
// that uses it.
func (s *Service) Link(ctx context.Context, token string) (store.UserLink, bahasha.User, error) {
	if token == "" || len(token) > 128 {
		return store.UserLink{}, bahasha.User{}, ErrLinkInvalid
	}
	l, u, err := s.store.UserLink(ctx, store.UserLinkParams{TokenHash: accounts.HashKey(token), Now: s.now()})
	if errors.Is(err, store.ErrNotFound) {
		return store.UserLink{}, bahasha.User{}, ErrLinkInvalid
	}
	return l, u, err
}

// UseLink sets the member's password from a one-time link, once. It ends
// their other sessions and links.
func (s *Service) UseLink(ctx context.Context, token, password, addr string) (bahasha.User, error) {
	l, _, err := s.Link(ctx, token)
	if err != nil {
		return bahasha.User{}, err
	}
	if err := CheckPassword(password); err != nil {
		return bahasha.User{}, problem.Invalid("%s", strings.TrimPrefix(err.Error(), "password: "))
	}
	hash, err := HashPassword(s.rand, password, s.cfg.PasswordCost)
	if err != nil {
		return bahasha.User{}, err
	}
	u, err := s.store.UseUserLink(ctx, store.UseUserLinkParams{TokenHash: accounts.HashKey(token), PasswordHash: hash, Now: s.now()})
	if errors.Is(err, store.ErrNotFound) {
		return bahasha.User{}, ErrLinkInvalid // used meanwhile
	}
	if err != nil {
		return bahasha.User{}, err
	}
	action := "member.password_reset"
	if l.Purpose == store.LinkInvite {
		action = "member.joined"
	}
	s.Record(ctx, UserActor(u, addr), u.AccountID, action, u.ID, nil)
	return u, nil
}

// ErrBadCredentials: the email and password do not match a member who can
// sign in. The same for an unknown email, a wrong password and a member
// who has not set a password, so that sign-in tells nobody who is a member.
var ErrBadCredentials = problem.New(http.StatusUnauthorized, "bad_credentials",
	"That email and password do not match. Check both, or reset your password.")

// SignIn returns the member with this email and password. Every failure is
// ErrBadCredentials, after the same work.
func (s *Service) SignIn(ctx context.Context, email, password, addr string) (bahasha.User, error) {
	email = strings.ToLower(strings.TrimSpace(email))
	u, err := s.store.UserByEmail(ctx, email)
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return bahasha.User{}, err
	}
	hash := u.PasswordHash
	if hash == "" {
		s.dummyOnce.Do(func() { s.dummy, _ = HashPassword(rand.Reader, "not anyone's password", s.cfg.PasswordCost) })
		hash = s.dummy
	}
	if !VerifyPassword(hash, password) || u.PasswordHash == "" {
		return bahasha.User{}, ErrBadCredentials
	}
	s.Record(ctx, UserActor(u, addr), u.AccountID, "session.signed_in", u.ID, nil)
	return u, nil
}

// ChangePassword sets a member's new password after checking the current
// one, and ends their other sessions (all but keep's).
func (s *Service) ChangePassword(ctx context.Context, u bahasha.User, current, next string, keep []byte, addr string) error {
	if !VerifyPassword(u.PasswordHash, current) {
		return problem.New(http.StatusUnauthorized, "wrong_password", "The current password is not right; nothing changed.")
	}
	if err := CheckPassword(next); err != nil {
		return problem.Invalid("%s", strings.TrimPrefix(err.Error(), "password: "))
	}
	hash, err := HashPassword(s.rand, next, s.cfg.PasswordCost)
	if err != nil {
		return err
	}
	if err := s.store.SetPassword(ctx, store.SetPasswordParams{AccountID: u.AccountID, UserID: u.ID, PasswordHash: hash,
		Now: s.now(), KeepSession: keep}); err != nil {
		return err
	}
	s.Record(ctx, UserActor(u, addr), u.AccountID, "member.password_changed", u.ID, nil)
	return nil
}

func notMember(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return problem.NotFound("no_member", "there is no such member in this account")
	}
	return err
}

// SetRole changes a member's role.
func (s *Service) SetRole(ctx context.Context, a Actor, accountID, userID string, role bahasha.Role) error {
	if !role.Valid() {
		return problem.Invalid("the role must be owner, developer or viewer")
	}
	u, err := s.store.User(ctx, store.GetUserParams{AccountID: accountID, UserID: userID})
	if err != nil {
		return notMember(err)
	}
	if u.Role == role {
		return nil
	}
	if err := s.store.SetUserRole(ctx, store.SetUserRoleParams{AccountID: accountID, UserID: userID, Role: role}); err != nil {
		return notMember(err)
	}
	s.Record(ctx, a, accountID, "member.role_changed", userID, map[string]any{"email": u.Email, "role": map[string]bahasha.Role{"from": u.Role, "to": role}})
	return nil
}

// Remove removes a member; their sessions end at once.
func (s *Service) Remove(ctx context.Context, a Actor, accountID, userID string) error {
	u, err := s.store.User(ctx, store.GetUserParams{AccountID: accountID, UserID: userID})
	if err != nil {
		return notMember(err)
	}
	if err := s.store.DeleteUser(ctx, store.GetUserParams{AccountID: accountID, UserID: userID}); err != nil {
		return notMember(err)
	}
	s.Record(ctx, a, accountID, "member.removed", userID, map[string]any{"email": u.Email, "role": u.Role})
	return nil
}

// Message is an e-mail to a member.
type Message struct {
	To, Subject, Body string
}

// Mailer sends e-mail (internal/mail over SMTP).
type Mailer interface {
	Send(ctx context.Context, m Message) error
}

// LinkURL is the address of a one-time link: publicURL (else the origin
// of r, when there is one) and /welcome, with the token in the fragment,
// which browsers never send to a server, log or pass on as a Referer (the
// welcome page's script moves it into its form).
func LinkURL(publicURL string, r *http.Request, token string) string {
	base := strings.TrimRight(publicURL, "/")
	if base == "" && r != nil {
		scheme := "http"
		if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	return base + "/welcome#token=" + token
}

// AuditQuery reads the audit log's filters from a query: action, actor,
// from, to (RFC 3339), before (an entry id, for the next page), limit.
func AuditQuery(q map[string][]string, accountID string) (store.AuditLogParams, error) {
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return strings.TrimSpace(v[0])
		}
		return ""
	}
	p := store.AuditLogParams{AccountID: accountID, Action: get("action"), ActorID: get("actor"), Limit: 50}
	if len(p.Action) > 100 || len(p.ActorID) > 100 {
		return p, problem.Invalid(`"action" and "actor" are at most 100 characters`)
	}
	if s := get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 200 {
			return p, problem.Invalid(`"limit" must be a whole number from 1 to 200`)
		}
		p.Limit = n
	}
	if s := get("before"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1 {
			return p, problem.Invalid(`"before" must be an entry id (the "next_before" of the previous page)`)
		}
		p.Before = n
	}
	for _, f := range []struct {
		name string
		t    *time.Time
	}{{"from", &p.From}, {"to", &p.To}} {
		if s := get(f.name); s != "" {
			t, err := time.Parse(time.RFC3339, s)
			if err != nil {
				return p, problem.Invalid(`%q must be a time in RFC 3339 form, such as 2026-12-01T00:00:00Z`, f.name)
			}
			*f.t = t
		}
	}
	return p, nil
}
