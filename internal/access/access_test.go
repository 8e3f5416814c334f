package access_test

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bahasha/bahasha/internal/access"
	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// cheap keeps the tests fast; the default cost is measured by
// BenchmarkHashPassword.
var cheap = access.PasswordCost{Time: 1, Memory: 64, Threads: 1}

func TestPasswordHash(t *testing.T) {
	h, err := access.HashPassword(rand.Reader, "correct horse battery", cheap)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(h, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash = %s", h)
	}
	h2, _ := access.HashPassword(rand.Reader, "correct horse battery", cheap)
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	if !access.VerifyPassword(h, "correct horse battery") {
		t.Fatal("the password does not verify")
	}
	for _, bad := range []string{"correct horse batterY", "", "correct horse battery "} {
		if access.VerifyPassword(h, bad) {
			t.Fatalf("%q verifies", bad)
		}
	}
	// Malformed or hostile hashes match nothing (and do not run away).
	parts := strings.Split(h, "$")
	for _, bad := range []string{"", "plain", "$argon2i$v=19$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=18$m=64,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=4194304,t=1,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1000,p=1$" + parts[4] + "$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$!!$" + parts[5],
		"$argon2id$v=19$m=64,t=1,p=1$" + parts[4] + "$"} {
		if access.VerifyPassword(bad, "correct horse battery") {
			t.Fatalf("hash %q verifies", bad)
		}
	}
}

func TestCheckPassword(t *testing.T) {
	for pw, ok := range map[string]bool{
		"short":                     false,
		"          ":                false,
		"ten chars!":                true,
		"naïve café ☕":              true,
		strings.Repeat("x", 256):    true,
		strings.Repeat("x", 257):    false,
		"bad utf8 \xff\xfe here ok": false,
	} {
		if err := access.CheckPassword(pw); (err == nil) != ok {
			t.Errorf("CheckPassword(%q) = %v", pw, err)
		}
	}
}

func BenchmarkHashPassword(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		access.HashPassword(rand.Reader, "correct horse battery", access.DefaultPasswordCost)
	}
}

type fixture struct {
	st  store.Store
	svc *access.Service
	acc accounts.Created
	now time.Time
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "a.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{st: st, now: time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)}
	f.acc, err = accounts.Create(context.Background(), st, accounts.Params{Name: "A", Now: f.now, OwnerEmail: "owner@a.example"})
	if err != nil {
		t.Fatal(err)
	}
	f.svc = access.New(access.Config{PasswordCost: cheap}, st, func() time.Time { return f.now }, rand.Reader,
		slog.New(slog.NewTextHandler(io.Discard, nil)))
	return f
}

func status(err error) int { return problem.Classify(err).Status }

// A member is invited, sets a password once through the link, and signs
// in; wrong passwords and unknown emails are told apart from nothing.
func TestInviteAndSignIn(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	owner := access.UserActor(f.acc.Owner, "192.0.2.1")
	u, token, err := f.svc.Invite(ctx, owner, access.InviteParams{AccountID: f.acc.Account.ID, Email: " Dev@Example.COM ", Name: "Dev", Role: bahasha.RoleDeveloper})
	if err != nil || u.Email != "dev@example.com" || !u.Invited() || token == "" {
		t.Fatalf("Invite = %+v %q, %v", u, token, err)
	}
	if _, _, err := f.svc.Invite(ctx, owner, access.InviteParams{AccountID: f.acc.Account.ID, Email: "dev@example.com", Role: bahasha.RoleViewer}); status(err) != http.StatusConflict {
		t.Fatalf("inviting a member again: %v", err)
	}
	for _, bad := range []access.InviteParams{{Email: "not an email", Role: bahasha.RoleViewer}, {Email: "x@example.com", Role: "admin"}, {Email: "", Role: bahasha.RoleViewer}} {
		bad.AccountID = f.acc.Account.ID
		if _, _, err := f.svc.Invite(ctx, owner, bad); status(err) != http.StatusBadRequest {
			t.Fatalf("Invite(%+v) = %v, want 400", bad, err)
		}
	}
	// An invited member cannot sign in yet.
	if _, err := f.svc.SignIn(ctx, "dev@example.com", "", ""); !errors.Is(err, access.ErrBadCredentials) {
		t.Fatalf("invited member signs in: %v", err)
	}
	if _, err := f.svc.UseLink(ctx, token, "short", ""); status(err) != http.StatusBadRequest {
		t.Fatalf("a short password: %v", err)
	}
	if _, err := f.svc.UseLink(ctx, token, "a good long password", "192.0.2.9"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UseLink(ctx, token, "another good password", ""); !errors.Is(err, access.ErrLinkInvalid) {
		t.Fatalf("a used link: %v", err)
	}
	got, err := f.svc.SignIn(ctx, "DEV@example.com", "a good long password", "192.0.2.9")
	if err != nil || got.ID != u.ID || got.Role != bahasha.RoleDeveloper {
		t.Fatalf("SignIn = %+v, %v", got, err)
	}
	for _, c := range [][2]string{{"dev@example.com", "a good long passworD"}, {"nobody@example.com", "a good long password"}, {"", ""}} {
		if _, err := f.svc.SignIn(ctx, c[0], c[1], ""); !errors.Is(err, access.ErrBadCredentials) {
			t.Fatalf("SignIn(%q, %q) = %v", c[0], c[1], err)
		}
	}
	// An expired link is refused.
	_, token2, err := f.svc.Invite(ctx, owner, access.InviteParams{AccountID: f.acc.Account.ID, Email: "late@example.com", Role: bahasha.RoleViewer})
	if err != nil {
		t.Fatal(err)
	}
	f.now = f.now.Add(7*24*time.Hour + time.Second)
	if _, err := f.svc.UseLink(ctx, token2, "a good long password", ""); !errors.Is(err, access.ErrLinkInvalid) {
		t.Fatalf("an expired invitation: %v", err)
	}
	// The audit log has it all, newest first, and no password.
	es, err := f.svc.AuditLog(ctx, store.AuditLogParams{AccountID: f.acc.Account.ID})
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range es {
		actions = append(actions, e.Action)
		if strings.Contains(string(e.Details), "password") {
			t.Fatalf("a password in the audit log: %s", e.Details)
		}
	}
	if strings.Join(actions, " ") != "member.invited session.signed_in member.joined member.invited" {
		t.Fatalf("audit actions = %v", actions)
	}
	if es[2].Actor != "dev@example.com" || es[2].Addr != "192.0.2.9" || es[3].Actor != "owner@a.example" {
		t.Fatalf("audit entries = %+v", es)
	}
}

// A changed password ends the member's other sessions; a reset link works
// once; the last owner cannot be demoted or removed.
func TestPasswordsAndRoles(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	acc := f.acc.Account.ID
	link, err := f.svc.OwnerLink(ctx, f.acc.Owner)
	if err != nil {
		t.Fatal(err)
	}
	owner, err := f.svc.UseLink(ctx, link, "the owner's password", "")
	if err != nil {
		t.Fatal(err)
	}
	for _, tok := range []string{"keep", "other"} {
		if err := f.st.CreateSession(ctx, store.Session{TokenHash: accounts.HashKey(tok), AccountID: acc, UserID: owner.ID, CreatedAt: f.now, ExpiresAt: f.now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.svc.ChangePassword(ctx, owner, "wrong current", "a new password!", accounts.HashKey("keep"), ""); status(err) != http.StatusUnauthorized {
		t.Fatalf("wrong current password: %v", err)
	}
	if err := f.svc.ChangePassword(ctx, owner, "the owner's password", "a new password!", accounts.HashKey("keep"), ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.st.SessionByToken(ctx, store.SessionAccountParams{TokenHash: accounts.HashKey("other"), Now: f.now}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("other session after a password change: %v", err)
	}
	if _, err := f.st.SessionByToken(ctx, store.SessionAccountParams{TokenHash: accounts.HashKey("keep"), Now: f.now}); err != nil {
		t.Fatalf("own session after a password change: %v", err)
	}
	if _, err := f.svc.SignIn(ctx, "owner@a.example", "the owner's password", ""); !errors.Is(err, access.ErrBadCredentials) {
		t.Fatalf("the old password still works: %v", err)
	}
	a := access.UserActor(owner, "")
	if err := f.svc.SetRole(ctx, a, acc, owner.ID, bahasha.RoleViewer); status(err) != http.StatusConflict {
		t.Fatalf("demoting the last owner: %v", err)
	}
	if err := f.svc.Remove(ctx, a, acc, owner.ID); status(err) != http.StatusConflict {
		t.Fatalf("removing the last owner: %v", err)
	}
	if err := f.svc.Remove(ctx, a, acc, "usr_missing"); status(err) != http.StatusNotFound {
		t.Fatalf("removing nobody: %v", err)
	}
	// A reset link: through the owner (for a member), or asked for by
	// email; the same answer for an unknown email.
	token, err := f.svc.ResetLink(ctx, a, acc, owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.UseLink(ctx, token, "the third password", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.SignIn(ctx, "owner@a.example", "the third password", ""); err != nil {
		t.Fatal(err)
	}
	if _, _, ok, err := f.svc.RequestReset(ctx, "nobody@example.com", ""); ok || err != nil {
		t.Fatalf("reset for an unknown email: %v %v", ok, err)
	}
	if _, tok, ok, err := f.svc.RequestReset(ctx, "Owner@A.example", ""); !ok || err != nil || tok == "" {
		t.Fatalf("reset for the owner: %v %v", ok, err)
	}
}

// Keys are created with a name and a scope, shown once, listed without the
// key, and revoked at once.
func TestKeys(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	acc := f.acc.Account.ID
	a := access.UserActor(f.acc.Owner, "")
	k, key, err := f.svc.CreateKey(ctx, a, access.CreateKeyParams{AccountID: acc, Name: "CI", Scope: bahasha.ScopeSend})
	if err != nil || !strings.HasPrefix(key, "bh_") || k.Scope != bahasha.ScopeSend || k.Hint != key[:7]+"…"+key[len(key)-4:] || k.CreatedBy != "owner@a.example" {
		t.Fatalf("CreateKey = %+v %q, %v", k, key, err)
	}
	got, gotAcc, err := f.st.KeyByHash(ctx, accounts.HashKey(key))
	if err != nil || got.ID != k.ID || gotAcc.ID != acc {
		t.Fatalf("KeyByHash = %+v, %v", got, err)
	}
	for _, bad := range []access.CreateKeyParams{{Name: ""}, {Name: "x", Scope: "admin"}, {Name: strings.Repeat("n", 101)}, {Name: "a\nb"}} {
		bad.AccountID = acc
		if _, _, err := f.svc.CreateKey(ctx, a, bad); status(err) != http.StatusBadRequest {
			t.Fatalf("CreateKey(%+v) = %v", bad, err)
		}
	}
	if _, err := f.svc.RevokeKey(ctx, a, acc, k.ID); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.st.KeyByHash(ctx, accounts.HashKey(key)); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a revoked key works: %v", err)
	}
	if _, err := f.svc.RevokeKey(ctx, a, acc, k.ID); status(err) != http.StatusNotFound {
		t.Fatalf("revoking twice: %v", err)
	}
	es, _ := f.svc.AuditLog(ctx, store.AuditLogParams{AccountID: acc, Action: "api_key"})
	if len(es) != 2 || es[0].Action != "api_key.revoked" || es[1].Action != "api_key.created" || strings.Contains(string(es[1].Details), key) {
		t.Fatalf("audit = %+v", es)
	}
	// Touches write once a minute per key.
	touches := access.NewTouches(f.st, time.Minute, slog.New(slog.NewTextHandler(io.Discard, nil)))
	boot := f.acc.APIKey
	bk, _, _ := f.st.KeyByHash(ctx, accounts.HashKey(boot))
	touches.Used(ctx, bk.ID, f.now)
	touches.Used(ctx, bk.ID, f.now.Add(30*time.Second))
	if got, _, _ := f.st.KeyByHash(ctx, accounts.HashKey(boot)); !got.LastUsedAt.Equal(f.now) {
		t.Fatalf("last used = %v, want %v", got.LastUsedAt, f.now)
	}
	touches.Used(ctx, bk.ID, f.now.Add(61*time.Second))
	if got, _, _ := f.st.KeyByHash(ctx, accounts.HashKey(boot)); !got.LastUsedAt.Equal(f.now.Add(61 * time.Second)) {
		t.Fatalf("last used = %v after a minute", got.LastUsedAt)
	}
}
