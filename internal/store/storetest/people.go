package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

func user(t *testing.T, s store.Store, accountID, id, email string, role bahasha.Role, password string) bahasha.User {
	t.Helper()
	u := bahasha.User{ID: id, AccountID: accountID, Email: email, Name: "Name " + id, Role: role, PasswordHash: password,
		CreatedAt: t0, CreatedBy: "test"}
	if password != "" {
		u.PasswordSetAt = t0
	}
	if err := s.CreateUser(context.Background(), u); err != nil {
		t.Fatalf("CreateUser(%s): %v", id, err)
	}
	return u
}

// testUsers: members are unique by email across accounts, stay within
// their account, and an account always keeps an owner who can sign in.
func testUsers(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	account(t, s, "b")
	owner := user(t, s, "a", "usr_1", "owner@a.example", bahasha.RoleOwner, "hash1")
	user(t, s, "a", "usr_2", "dev@a.example", bahasha.RoleDeveloper, "hash2")
	user(t, s, "b", "usr_3", "owner@b.example", bahasha.RoleOwner, "hash3")
	if err := s.CreateUser(ctx, bahasha.User{ID: "usr_4", AccountID: "b", Email: "dev@a.example", Role: bahasha.RoleViewer, CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("an email of another account's member: %v, want ErrConflict", err)
	}
	if err := s.CreateUser(ctx, bahasha.User{ID: "usr_5", AccountID: "missing", Email: "x@example.com", Role: bahasha.RoleViewer, CreatedAt: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a member of no account: %v, want ErrNotFound", err)
	}
	us, err := s.Users(ctx, "a")
	if err != nil || len(us) != 2 || us[0] != owner || us[1].ID != "usr_2" {
		t.Fatalf("Users(a) = %+v, %v", us, err)
	}
	if u, err := s.User(ctx, store.GetUserParams{AccountID: "a", UserID: "usr_2"}); err != nil || u.Email != "dev@a.example" || u.Role != bahasha.RoleDeveloper {
		t.Fatalf("User = %+v, %v", u, err)
	}
	if _, err := s.User(ctx, store.GetUserParams{AccountID: "b", UserID: "usr_2"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account's member: %v", err)
	}
	if u, err := s.UserByEmail(ctx, "owner@b.example"); err != nil || u.ID != "usr_3" || u.AccountID != "b" {
		t.Fatalf("UserByEmail = %+v, %v", u, err)
	}
	if _, err := s.UserByEmail(ctx, "nobody@example.com"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown email: %v", err)
	}
	// The last owner who can sign in can be neither demoted nor removed.
	if err := s.SetUserRole(ctx, store.SetUserRoleParams{AccountID: "a", UserID: "usr_1", Role: bahasha.RoleViewer}); !errors.Is(err, store.ErrLastOwner) {
		t.Fatalf("demoting the last owner: %v", err)
	}
	if err := s.DeleteUser(ctx, store.GetUserParams{AccountID: "a", UserID: "usr_1"}); !errors.Is(err, store.ErrLastOwner) {
		t.Fatalf("removing the last owner: %v", err)
	}
	// An invited owner (no password yet) does not count.
	user(t, s, "a", "usr_6", "invited@a.example", bahasha.RoleOwner, "")
	if err := s.DeleteUser(ctx, store.GetUserParams{AccountID: "a", UserID: "usr_1"}); !errors.Is(err, store.ErrLastOwner) {
		t.Fatalf("removing the last owner beside an invited one: %v", err)
	}
	if err := s.SetUserRole(ctx, store.SetUserRoleParams{AccountID: "a", UserID: "usr_2", Role: bahasha.RoleOwner}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetUserRole(ctx, store.SetUserRoleParams{AccountID: "a", UserID: "usr_1", Role: bahasha.RoleViewer}); err != nil {
		t.Fatalf("demoting one of two owners: %v", err)
	}
	if err := s.SetUserRole(ctx, store.SetUserRoleParams{AccountID: "b", UserID: "usr_1", Role: bahasha.RoleOwner}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("changing another account's member: %v", err)
	}
	if err := s.DeleteUser(ctx, store.GetUserParams{AccountID: "b", UserID: "usr_1"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removing another account's member: %v", err)
	}
	if err := s.DeleteUser(ctx, store.GetUserParams{AccountID: "a", UserID: "usr_1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserByEmail(ctx, "owner@a.example"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed member: %v", err)
	}
	// The email is free again.
	user(t, s, "b", "usr_7", "owner@a.example", bahasha.RoleViewer, "")
}

// testCreateAccountOwner: an account can be created with its first owner
// and its bootstrap key, which is named and has every right.
func testCreateAccountOwner(t *testing.T, s store.Store) {
	ctx := context.Background()
	err := s.CreateAccount(ctx, store.CreateAccountParams{
		Account:    bahasha.Account{ID: "a", Name: "A", AppSecret: "s", CreatedAt: t0},
		APIKeyHash: []byte("hash-of-key-a"), APIKeyHint: "bh_ab…wxyz",
		Owner: bahasha.User{ID: "usr_1", Email: "first@a.example", Name: "First", Role: bahasha.RoleViewer, CreatedAt: t0, CreatedBy: "operator"},
	})
	if err != nil {
		t.Fatal(err)
	}
	u, err := s.UserByEmail(ctx, "first@a.example")
	if err != nil || u.AccountID != "a" || u.Role != bahasha.RoleOwner || !u.Invited() || u.CreatedBy != "operator" {
		t.Fatalf("first owner = %+v, %v", u, err)
	}
	keys, err := s.APIKeys(ctx, "a")
	if err != nil || len(keys) != 1 {
		t.Fatalf("APIKeys = %+v, %v", keys, err)
	}
	k := keys[0]
	if k.Name != "Bootstrap key" || k.Scope != bahasha.ScopeFull || k.Hint != "bh_ab…wxyz" || k.ID == "" || !k.CreatedAt.Equal(t0) || k.Revoked() {
		t.Fatalf("bootstrap key = %+v", k)
	}
	// An owner whose email is taken fails the whole account.
	err = s.CreateAccount(ctx, store.CreateAccountParams{
		Account: bahasha.Account{ID: "b", Name: "B", AppSecret: "s", CreatedAt: t0}, APIKeyHash: []byte("hash-of-key-b"),
		Owner: bahasha.User{ID: "usr_2", Email: "first@a.example", CreatedAt: t0},
	})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("owner with a taken email: %v", err)
	}
	if _, err := s.Account(ctx, "b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("account of a failed creation: %v", err)
	}
}

// testUserLinks: a one-time link sets a password once, before it expires,
// and ends the member's sessions and other links.
func testUserLinks(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	user(t, s, "a", "usr_1", "new@a.example", bahasha.RoleDeveloper, "")
	if err := s.CreateUserLink(ctx, store.UserLink{TokenHash: []byte("l1"), AccountID: "a", UserID: "usr_1", Purpose: store.LinkInvite,
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUserLink(ctx, store.UserLink{TokenHash: []byte("l2"), AccountID: "a", UserID: "usr_1", Purpose: store.LinkReset,
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUserLink(ctx, store.UserLink{TokenHash: []byte("l3"), AccountID: "b", UserID: "usr_1", Purpose: store.LinkReset,
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a link for another account's member: %v", err)
	}
	l, u, err := s.UserLink(ctx, store.UserLinkParams{TokenHash: []byte("l1"), Now: t0.Add(time.Minute)})
	if err != nil || l.Purpose != store.LinkInvite || l.UserID != "usr_1" || u.Email != "new@a.example" || !l.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("UserLink = %+v %+v, %v", l, u, err)
	}
	if _, _, err := s.UserLink(ctx, store.UserLinkParams{TokenHash: []byte("l1"), Now: t0.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired link: %v", err)
	}
	if _, err := s.UseUserLink(ctx, store.UseUserLinkParams{TokenHash: []byte("l1"), PasswordHash: "new", Now: t0.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("using an expired link: %v", err)
	}
	if got, _ := s.User(ctx, store.GetUserParams{AccountID: "a", UserID: "usr_1"}); !got.Invited() {
		t.Fatalf("an expired link set the password: %+v", got)
	}
	if err := s.CreateSession(ctx, store.Session{TokenHash: []byte("s1"), AccountID: "a", UserID: "usr_1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	u, err = s.UseUserLink(ctx, store.UseUserLinkParams{TokenHash: []byte("l1"), PasswordHash: "argon", Now: t0.Add(time.Minute)})
	if err != nil || u.PasswordHash != "argon" || !u.PasswordSetAt.Equal(t0.Add(time.Minute)) || u.Invited() {
		t.Fatalf("UseUserLink = %+v, %v", u, err)
	}
	// Used once: this link and the member's other link are gone, and so
	// are their sessions.
	for _, h := range []string{"l1", "l2"} {
		if _, err := s.UseUserLink(ctx, store.UseUserLinkParams{TokenHash: []byte(h), PasswordHash: "again", Now: t0.Add(time.Minute)}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("link %s after use: %v", h, err)
		}
	}
	if _, err := s.SessionByToken(ctx, store.SessionAccountParams{TokenHash: []byte("s1"), Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session after a password was set: %v", err)
	}
	// Prune removes expired links.
	if err := s.CreateUserLink(ctx, store.UserLink{TokenHash: []byte("l4"), AccountID: "a", UserID: "usr_1", Purpose: store.LinkReset,
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(ctx, store.PruneParams{Before: t0, Limit: 10, Now: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.UserLink(ctx, store.UserLinkParams{TokenHash: []byte("l4"), Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pruned link: %v", err)
	}
}

// testUserSessions: a member's sessions name them, can be listed and ended
// one by one, and end with a new password or the member's removal.
func testUserSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	account(t, s, "b")
	user(t, s, "a", "usr_1", "one@a.example", bahasha.RoleOwner, "h")
	user(t, s, "a", "usr_2", "two@a.example", bahasha.RoleViewer, "h")
	key, err := s.CreateAPIKey(ctx, store.CreateAPIKeyParams{AccountID: "a", KeyHash: []byte("session-key-hash"), Name: "reader", Scope: bahasha.ScopeRead, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	for i, se := range []store.Session{
		{TokenHash: []byte("t1"), AccountID: "a", UserID: "usr_1", Addr: "192.0.2.1", UserAgent: "UA1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		{TokenHash: []byte("t2"), AccountID: "a", UserID: "usr_1", Addr: "192.0.2.2", UserAgent: "UA2", CreatedAt: t0.Add(time.Minute), ExpiresAt: t0.Add(time.Hour)},
		{TokenHash: []byte("t3"), AccountID: "a", UserID: "usr_1", CreatedAt: t0, ExpiresAt: t0.Add(time.Second)},
		{TokenHash: []byte("t4"), AccountID: "a", UserID: "usr_2", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		{TokenHash: []byte("t5"), AccountID: "a", KeyID: key.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		{TokenHash: []byte("t7"), AccountID: "a", KeyID: "key_missing", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
		{TokenHash: []byte("t8"), AccountID: "a", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)},
	} {
		if err := s.CreateSession(ctx, se); err != nil {
			t.Fatalf("session %d: %v", i, err)
		}
	}
	v, err := s.SessionByToken(ctx, store.SessionAccountParams{TokenHash: []byte("t1"), Now: t0.Add(time.Minute)})
	if err != nil || v.Account.ID != "a" || v.Account.AppSecret != "secret-a" || v.User.ID != "usr_1" || v.User.Role != bahasha.RoleOwner ||
		v.Session.Addr != "192.0.2.1" || v.Session.UserAgent != "UA1" || v.Session.ID == "" {
		t.Fatalf("SessionByToken = %+v, %v", v, err)
	}
	if v, err := s.SessionByToken(ctx, store.SessionAccountParams{TokenHash: []byte("t5"), Now: t0}); err != nil || v.User.ID != "" || v.Account.ID != "a" ||
		v.Session.KeyID != key.ID || v.KeyScope != bahasha.ScopeRead || v.KeyName != "reader" {
		t.Fatalf("key session = %+v, %v", v, err)
	}
	// A session naming a key that does not exist, or neither a member nor
	// a key, is no session.
	for _, h := range []string{"t7", "t8"} {
		if _, err := s.SessionByToken(ctx, store.SessionAccountParams{TokenHash: []byte(h), Now: t0}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("session %s: %v", h, err)
		}
	}
	ss, err := s.UserSessions(ctx, store.UserSessionsParams{AccountID: "a", UserID: "usr_1", Now: t0.Add(time.Minute)})
	if err != nil || len(ss) != 2 || string(ss[0].TokenHash) != "t2" || string(ss[1].TokenHash) != "t1" {
		t.Fatalf("UserSessions = %+v, %v", ss, err)
	}
	// Only the member's own sessions can be ended by id.
	t4, _ := s.SessionByToken(ctx, store.SessionAccountParams{TokenHash: []byte("t4"), Now: t0})
	if err := s.DeleteUserSession(ctx, store.DeleteUserSessionParams{AccountID: "a", UserID: "usr_1", SessionID: t4.Session.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ending another member's session: %v", err)
	}
	if err := s.DeleteUserSession(ctx, store.DeleteUserSessionParams{AccountID: "b", UserID: "usr_1", SessionID: ss[0].ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ending a session through another account: %v", err)
	}
	if err := s.DeleteUserSession(ctx, store.DeleteUserSessionParams{AccountID: "a", UserID: "usr_1", SessionID: ss[0].ID}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByToken(ctx, store.SessionAccountParams{TokenHash: []byte("t2"), Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("ended session: %v", err)
	}
	// A new password ends every session but the one kept.
	if err := s.CreateSession(ctx, store.Session{TokenHash: []byte("t6"), AccountID: "a", UserID: "usr_1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.SetPassword(ctx, store.SetPasswordParams{AccountID: "a", UserID: "usr_1", PasswordHash: "new", Now: t0.Add(time.Minute), KeepSession: []byte("t1")}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByToken(ctx, store.SessionAccountParams{TokenHash: []byte("t1"), Now: t0}); err != nil {
		t.Fatalf("kept session: %v", err)
	}
	if _, err := s.SessionByToken(ctx, store.SessionAccountParams{TokenHash: []byte("t6"), Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session after a new password: %v", err)
	}
	if u, _ := s.User(ctx, store.GetUserParams{AccountID: "a", UserID: "usr_1"}); u.PasswordHash != "new" || !u.PasswordSetAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after SetPassword: %+v", u)
	}
	if err := s.SetPassword(ctx, store.SetPasswordParams{AccountID: "b", UserID: "usr_1", PasswordHash: "x", Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetPassword through another account: %v", err)
	}
	// A removed member's sessions end.
	if err := s.DeleteUser(ctx, store.GetUserParams{AccountID: "a", UserID: "usr_2"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionByToken(ctx, store.SessionAccountParams{TokenHash: []byte("t4"), Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("removed member's session: %v", err)
	}
}

// testAPIKeys: keys are named and scoped, listed newest first, revoked at
// once (with the dashboard sessions opened with them), and stay within
// their account.
func testAPIKeys(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	account(t, s, "b")
	k, err := s.CreateAPIKey(ctx, store.CreateAPIKeyParams{AccountID: "a", KeyHash: []byte("hash-k1-xxxxxxxx"), Name: "CI", Scope: bahasha.ScopeSend,
		Hint: "bh_k1…xxxx", CreatedBy: "owner@a.example", Now: t0.Add(time.Minute)})
	if err != nil || k.ID == "" || k.Name != "CI" || k.Scope != bahasha.ScopeSend {
		t.Fatalf("CreateAPIKey = %+v, %v", k, err)
	}
	if _, err := s.CreateAPIKey(ctx, store.CreateAPIKeyParams{AccountID: "b", KeyHash: []byte("hash-k1-xxxxxxxx"), Name: "dup", Scope: bahasha.ScopeFull, Now: t0}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a key hash twice: %v", err)
	}
	keys, err := s.APIKeys(ctx, "a")
	if err != nil || len(keys) != 2 || keys[0].ID != k.ID || keys[1].Name != "Bootstrap key" {
		t.Fatalf("APIKeys = %+v, %v", keys, err)
	}
	if keys[0].Hint != "bh_k1…xxxx" || keys[0].CreatedBy != "owner@a.example" || !keys[0].CreatedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("listed key = %+v", keys[0])
	}
	got, acc, err := s.KeyByHash(ctx, []byte("hash-k1-xxxxxxxx"))
	if err != nil || got.ID != k.ID || got.Scope != bahasha.ScopeSend || acc.ID != "a" || acc.AppSecret != "secret-a" {
		t.Fatalf("KeyByHash = %+v %+v, %v", got, acc, err)
	}
	// Last used only moves forward.
	for _, at := range []time.Time{t0.Add(2 * time.Hour), t0.Add(time.Hour)} {
		if err := s.TouchAPIKey(ctx, store.TouchAPIKeyParams{KeyID: k.ID, Now: at}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.TouchAPIKey(ctx, store.TouchAPIKeyParams{KeyID: "key_missing", Now: t0}); err != nil {
		t.Fatalf("touching a missing key: %v", err)
	}
	if got, _, _ := s.KeyByHash(ctx, []byte("hash-k1-xxxxxxxx")); !got.LastUsedAt.Equal(t0.Add(2 * time.Hour)) {
		t.Fatalf("last used = %v", got.LastUsedAt)
	}
	// Revoking: not through another account; then at once, with its
	// dashboard sessions.
	if _, err := s.RevokeAPIKey(ctx, store.RevokeAPIKeyParams{AccountID: "b", KeyID: k.ID, Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoking another account's key: %v", err)
	}
	if err := s.CreateSession(ctx, store.Session{TokenHash: []byte("ks"), AccountID: "a", KeyID: k.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	r, err := s.RevokeAPIKey(ctx, store.RevokeAPIKeyParams{AccountID: "a", KeyID: k.ID, Now: t0.Add(3 * time.Hour)})
	if err != nil || !r.RevokedAt.Equal(t0.Add(3*time.Hour)) || !r.Revoked() || r.Name != "CI" {
		t.Fatalf("RevokeAPIKey = %+v, %v", r, err)
	}
	if _, _, err := s.KeyByHash(ctx, []byte("hash-k1-xxxxxxxx")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked key: %v", err)
	}
	if _, err := s.SessionByToken(ctx, store.SessionAccountParams{TokenHash: []byte("ks"), Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("session of a revoked key: %v", err)
	}
	if _, err := s.RevokeAPIKey(ctx, store.RevokeAPIKeyParams{AccountID: "a", KeyID: k.ID, Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoking twice: %v", err)
	}
	if keys, _ := s.APIKeys(ctx, "a"); len(keys) != 2 || !keys[0].Revoked() {
		t.Fatalf("revoked keys stay listed: %+v", keys)
	}
	if keys, _ := s.APIKeys(ctx, "b"); len(keys) != 1 {
		t.Fatalf("APIKeys(b) = %+v", keys)
	}
}

// testAuditLog: entries are kept per account, newest first, filtered,
// paged, and pruned on their own retention.
func testAuditLog(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	account(t, s, "b")
	add := func(accountID, action, actor string, at time.Time) int64 {
		t.Helper()
		e := bahasha.AuditEntry{AccountID: accountID, At: at, ActorKind: bahasha.ActorUser, ActorID: actor, Actor: actor + "@example.com",
			Addr: "192.0.2.1", Action: action, Target: "7", Details: json.RawMessage(`{"url":{"from":"a","to":"b"}}`)}
		if err := s.AppendAudit(ctx, &e); err != nil {
			t.Fatal(err)
		}
		if e.ID == 0 {
			t.Fatal("AppendAudit set no id")
		}
		return e.ID
	}
	id1 := add("a", "endpoint.updated", "usr_1", t0)
	id2 := add("a", "endpoint.removed", "usr_2", t0.Add(time.Minute))
	id3 := add("a", "api_key.created", "usr_1", t0.Add(2*time.Minute))
	add("b", "endpoint.updated", "usr_9", t0.Add(time.Minute))
	if err := s.AppendAudit(ctx, &bahasha.AuditEntry{AccountID: "missing", At: t0, Action: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an entry of no account: %v", err)
	}
	ids := func(p store.AuditLogParams) []int64 {
		t.Helper()
		es, err := s.AuditLog(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var out []int64
		for _, e := range es {
			if e.AccountID != p.AccountID {
				t.Fatalf("entry of account %s listed for %s", e.AccountID, p.AccountID)
			}
			out = append(out, e.ID)
		}
		return out
	}
	eq := func(name string, got []int64, want ...int64) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s = %v, want %v", name, got, want)
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("%s = %v, want %v", name, got, want)
			}
		}
	}
	eq("all", ids(store.AuditLogParams{AccountID: "a"}), id3, id2, id1)
	eq("endpoint", ids(store.AuditLogParams{AccountID: "a", Action: "endpoint"}), id2, id1)
	eq("endpoint.updated", ids(store.AuditLogParams{AccountID: "a", Action: "endpoint.updated"}), id1)
	eq("endp (not a prefix of a whole name)", ids(store.AuditLogParams{AccountID: "a", Action: "endp"}))
	eq("actor", ids(store.AuditLogParams{AccountID: "a", ActorID: "usr_1"}), id3, id1)
	eq("page", ids(store.AuditLogParams{AccountID: "a", Limit: 2}), id3, id2)
	eq("next page", ids(store.AuditLogParams{AccountID: "a", Limit: 2, Before: id2}), id1)
	eq("time", ids(store.AuditLogParams{AccountID: "a", From: t0.Add(time.Minute), To: t0.Add(2 * time.Minute)}), id2)
	es, _ := s.AuditLog(ctx, store.AuditLogParams{AccountID: "a", Limit: 1})
	e := es[0]
	if e.Action != "api_key.created" || e.ActorKind != bahasha.ActorUser || e.Actor != "usr_1@example.com" || e.Addr != "192.0.2.1" ||
		e.Target != "7" || !e.At.Equal(t0.Add(2*time.Minute)) || string(e.Details) != `{"url":{"from":"a","to":"b"}}` {
		t.Fatalf("entry = %+v (%s)", e, e.Details)
	}
	// Pruned on their own retention, not Before's.
	if _, err := s.Prune(ctx, store.PruneParams{Before: t0.Add(time.Hour), Limit: 10}); err != nil {
		t.Fatal(err)
	}
	eq("after Prune without AuditBefore", ids(store.AuditLogParams{AccountID: "a"}), id3, id2, id1)
	if _, err := s.Prune(ctx, store.PruneParams{Before: t0, Limit: 10, AuditBefore: t0.Add(90 * time.Second)}); err != nil {
		t.Fatal(err)
	}
	eq("after Prune", ids(store.AuditLogParams{AccountID: "a"}), id3)
}

// CheckPeopleUpgraded checks a store opened over a database of the release
// before members (account "a" with the API key of hash keyHash, and a
// dashboard session of token hash sessionHash): the key is the account's
// bootstrap key with every right, the old session has ended, and members,
// keys and audit entries can be added.
func CheckPeopleUpgraded(t *testing.T, s store.Store, keyHash, sessionHash []byte) {
	t.Helper()
	ctx := context.Background()
	keys, err := s.APIKeys(ctx, "a")
	if err != nil || len(keys) != 1 {
		t.Fatalf("APIKeys after the upgrade = %+v, %v", keys, err)
	}
	k := keys[0]
	if k.Name != "Bootstrap key" || k.Scope != bahasha.ScopeFull || k.Revoked() || k.ID != "key_"+hexOf(keyHash[:8]) {
		t.Fatalf("upgraded key = %+v", k)
	}
	if got, acc, err := s.KeyByHash(ctx, keyHash); err != nil || got.ID != k.ID || acc.ID != "a" {
		t.Fatalf("KeyByHash after the upgrade = %+v, %v", got, err)
	}
	if _, err := s.SessionByToken(ctx, store.SessionAccountParams{TokenHash: sessionHash, Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an API-key session survived the upgrade: %v", err)
	}
	user(t, s, "a", "usr_1", "owner@a.example", bahasha.RoleOwner, "")
	if _, err := s.CreateAPIKey(ctx, store.CreateAPIKeyParams{AccountID: "a", KeyHash: []byte("another-key-hash"), Name: "n", Scope: bahasha.ScopeRead, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if err := s.AppendAudit(ctx, &bahasha.AuditEntry{AccountID: "a", At: t0, Action: "member.invited"}); err != nil {
		t.Fatal(err)
	}
}

func hexOf(b []byte) string { return fmt.Sprintf("%x", b) }
