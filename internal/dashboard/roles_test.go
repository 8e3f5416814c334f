package dashboard_test

import (
	"context"
	"crypto/rand"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/access"
	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// member adds a member with a password and a session, and returns the
// session's token.
func (f *fixture) member(id, email string, role bahasha.Role) string {
	f.t.Helper()
	ctx := context.Background()
	hash, err := access.HashPassword(rand.Reader, "password of "+id, access.PasswordCost{Time: 1, Memory: 64, Threads: 1})
	if err != nil {
		f.t.Fatal(err)
	}
	now := f.clock.Now()
	if err := f.st.CreateUser(ctx, bahasha.User{ID: id, AccountID: f.acc.Account.ID, Email: email, Role: role, PasswordHash: hash,
		CreatedAt: now, PasswordSetAt: now}); err != nil {
		f.t.Fatal(err)
	}
	token := "session-of-" + id + "-0123456789"
	if err := f.st.CreateSession(ctx, store.Session{TokenHash: accounts.HashKey(token), AccountID: f.acc.Account.ID, UserID: id,
		CreatedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
		f.t.Fatal(err)
	}
	return token
}

// routeRoles is the least role of every page and form: the README's
// table. TestRoles fails when a route is missing here.
var routeRoles = map[string]bahasha.Role{
	"GET /{$}":                                    bahasha.RoleViewer,
	"GET /settings":                               bahasha.RoleViewer,
	"GET /settings/webhooks":                      bahasha.RoleViewer,
	"GET /settings/webhooks/endpoints":            bahasha.RoleViewer,
	"GET /settings/webhooks/endpoints/{id}":       bahasha.RoleViewer,
	"GET /deliveries":                             bahasha.RoleViewer,
	"GET /deliveries/{id}":                        bahasha.RoleViewer,
	"GET /replay":                                 bahasha.RoleViewer,
	"GET /replay/{id}":                            bahasha.RoleViewer,
	"GET /settings/account":                       bahasha.RoleViewer,
	"POST /settings/account/password":             bahasha.RoleViewer,
	"POST /settings/account/sessions/{id}/revoke": bahasha.RoleViewer,

	"POST /settings/webhooks":                              bahasha.RoleDeveloper,
	"POST /settings/webhooks/secret":                       bahasha.RoleDeveloper,
	"POST /settings/webhooks/secret/rotate":                bahasha.RoleDeveloper,
	"POST /settings/webhooks/remove":                       bahasha.RoleDeveloper,
	"POST /settings/webhooks/endpoints":                    bahasha.RoleDeveloper,
	"POST /settings/webhooks/endpoints/{id}":               bahasha.RoleDeveloper,
	"POST /settings/webhooks/endpoints/{id}/verify":        bahasha.RoleDeveloper,
	"POST /settings/webhooks/endpoints/{id}/disable":       bahasha.RoleDeveloper,
	"POST /settings/webhooks/endpoints/{id}/enable":        bahasha.RoleDeveloper,
	"POST /settings/webhooks/endpoints/{id}/remove":        bahasha.RoleDeveloper,
	"POST /settings/webhooks/endpoints/{id}/secret":        bahasha.RoleDeveloper,
	"POST /settings/webhooks/endpoints/{id}/secret/rotate": bahasha.RoleDeveloper,
	"POST /deliveries/{id}/retry":                          bahasha.RoleDeveloper,
	"POST /replay":                                         bahasha.RoleDeveloper,
	"GET /sandbox":                                         bahasha.RoleDeveloper,
	"POST /sandbox/send":                                   bahasha.RoleDeveloper,
	"POST /sandbox/inbound":                                bahasha.RoleDeveloper,
	"GET /settings/audit-log":                              bahasha.RoleDeveloper,

	"GET /settings/members":               bahasha.RoleOwner,
	"POST /settings/members":              bahasha.RoleOwner,
	"POST /settings/members/{id}/role":    bahasha.RoleOwner,
	"POST /settings/members/{id}/link":    bahasha.RoleOwner,
	"POST /settings/members/{id}/remove":  bahasha.RoleOwner,
	"GET /settings/api-keys":              bahasha.RoleOwner,
	"POST /settings/api-keys":             bahasha.RoleOwner,
	"POST /settings/api-keys/{id}/revoke": bahasha.RoleOwner,
}

// TestRoles runs every page and form as an owner, a developer and a
// viewer: each role gets 403 exactly where the table says, and a refused
// POST changes nothing (no audit entry, no member, key or endpoint).
func TestRoles(t *testing.T) {
	f := newFixture(t, fixtureOpts{noKeySignin: true})
	src, err := os.ReadFile("dashboard.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := regexp.MustCompile(`page\("([A-Z]+ [^"]+)", (viewer|developer|owner),`).FindAllStringSubmatch(string(src), -1)
	if len(declared) != len(routeRoles) {
		t.Errorf("dashboard.go declares %d pages, the table has %d", len(declared), len(routeRoles))
	}
	for _, d := range declared {
		if want, ok := routeRoles[d[1]]; !ok || string(want) != d[2] {
			t.Errorf("%s is declared %s, the table says %q", d[1], d[2], want)
		}
	}
	sessions := map[bahasha.Role]string{
		bahasha.RoleOwner:     f.member("usr_00000000000000a1", "owner@example.com", bahasha.RoleOwner),
		bahasha.RoleDeveloper: f.member("usr_00000000000000a2", "dev@example.com", bahasha.RoleDeveloper),
		bahasha.RoleViewer:    f.member("usr_00000000000000a3", "viewer@example.com", bahasha.RoleViewer),
	}
	ctx := context.Background()
	count := func() string {
		es, _ := f.st.AuditLog(ctx, store.AuditLogParams{AccountID: f.acc.Account.ID, Limit: 1000})
		us, _ := f.st.Users(ctx, f.acc.Account.ID)
		ks, _ := f.st.APIKeys(ctx, f.acc.Account.ID)
		eps, _ := f.st.Endpoints(ctx, f.acc.Account.ID)
		return strings.Repeat("a", len(es)) + "|" + strings.Repeat("u", len(us)) + "|" + strings.Repeat("k", len(ks)) + "|" + strings.Repeat("e", len(eps))
	}
	form := url.Values{"url": {"https://example.com/hook"}, "verify_token": {"t"}, "email": {"new@example.com"}, "role": {"owner"},
		"name": {"forged"}, "scope": {"full"}, "confirm": {"yes"}, "from": {"2026-01-01T00:00"}, "to": {"wamid.x"}, "body": {"hi"}}
	for route, need := range routeRoles {
		method, path, _ := strings.Cut(route, " ")
		path = strings.ReplaceAll(strings.ReplaceAll(path, "{$}", ""), "{id}", "1")
		for role, session := range sessions {
			before := count()
			var r *resp
			if method == "GET" {
				r = f.get(path, session)
			} else {
				r = f.post(path, session, form)
			}
			forbidden := r.Status == http.StatusForbidden
			if forbidden != !role.Allows(need) {
				t.Errorf("%s as %s: %d, want 403 = %v", route, role, r.Status, !role.Allows(need))
			}
			if forbidden {
				if !strings.Contains(r.Body, "Your role in this account is "+string(role)) {
					t.Errorf("%s as %s: the 403 page does not say why", route, role)
				}
				if after := count(); after != before {
					t.Errorf("%s as %s was refused but changed something: %s → %s", route, role, before, after)
				}
			}
		}
	}
}

// API-key sessions (--dashboard-key-signin): a read key is a viewer, a
// send key cannot sign in, a revoked key's session ends at once, and with
// the flag off no key session works.
func TestKeySessions(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	mk := func(name string, scope bahasha.KeyScope) (string, bahasha.APIKey) {
		key := "bh_" + name + "-key-0123456789abcdefghijklmnop"
		k, err := f.st.CreateAPIKey(ctx, store.CreateAPIKeyParams{AccountID: f.acc.Account.ID, KeyHash: accounts.HashKey(key), Name: name,
			Scope: scope, Now: f.clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
		return key, k
	}
	readKey, read := mk("reader", bahasha.ScopeRead)
	sendKey, _ := mk("sender", bahasha.ScopeSend)
	session := f.signin(readKey)
	expect(t, f.get("/settings/webhooks", session), http.StatusOK, "reader (viewer)")
	expect(t, f.get("/settings/members", session), http.StatusForbidden, "Your role in this account is viewer")
	expect(t, f.post("/settings/webhooks/secret", session, nil), http.StatusForbidden)
	expect(t, f.post("/signin", "", url.Values{"api_key": {sendKey}}), http.StatusForbidden, "Messages API only")
	if _, err := f.st.RevokeAPIKey(ctx, store.RevokeAPIKeyParams{AccountID: f.acc.Account.ID, KeyID: read.ID, Now: f.clock.Now()}); err != nil {
		t.Fatal(err)
	}
	if r := f.get("/settings/webhooks", session); r.Status != http.StatusSeeOther {
		t.Fatalf("a revoked key's session: %d", r.Status)
	}
	// With the flag off, a key session is no session, and the form takes
	// no key.
	off := newFixture(t, fixtureOpts{noKeySignin: true})
	keys, _ := off.st.APIKeys(ctx, off.acc.Account.ID)
	const token = "key-session-token-0123456789abcdef"
	if err := off.st.CreateSession(ctx, store.Session{TokenHash: accounts.HashKey(token), AccountID: off.acc.Account.ID, KeyID: keys[0].ID,
		CreatedAt: off.clock.Now(), ExpiresAt: off.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if r := off.get("/", token); r.Status != http.StatusSeeOther {
		t.Fatalf("a key session with the flag off: %d", r.Status)
	}
	expect(t, off.post("/signin", "", url.Values{"api_key": {off.acc.APIKey}}), http.StatusBadRequest, "Enter your email and your password")
}

// Your sign-in: a member sees their sessions, ends another one, and a new
// password ends the rest but keeps this one; failed sign-ins are limited
// per email too, whatever the address.
func TestAccountPage(t *testing.T) {
	f := newFixture(t, fixtureOpts{noKeySignin: true, trustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}})
	here := f.member("usr_00000000000000c1", "me@example.com", bahasha.RoleViewer)
	other := "other-session-of-usr_00000000000000c1"
	ctx := context.Background()
	if err := f.st.CreateSession(ctx, store.Session{TokenHash: accounts.HashKey(other), AccountID: f.acc.Account.ID, UserID: "usr_00000000000000c1",
		Addr: "198.51.100.7", UserAgent: "OtherBrowser/1", CreatedAt: f.clock.Now(), ExpiresAt: f.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	r := f.get("/settings/account", here)
	expect(t, r, http.StatusOK, "me@example.com", "OtherBrowser/1", "this session")
	m := regexp.MustCompile(`action="/settings/account/sessions/(ses_[0-9a-f]+)/revoke"`).FindStringSubmatch(r.Body)
	if m == nil {
		t.Fatal("no session to end")
	}
	expect(t, f.post("/settings/account/sessions/"+m[1]+"/revoke", here, nil), http.StatusOK, "The session was ended")
	if r := f.get("/", other); r.Status != http.StatusSeeOther {
		t.Fatalf("an ended session: %d", r.Status)
	}
	expect(t, f.post("/settings/account/sessions/"+m[1]+"/revoke", here, nil), http.StatusNotFound)

	// A new password: wrong current one changes nothing; then the other
	// sessions end and this one stays.
	third := "third-session-of-usr_00000000000000c1"
	if err := f.st.CreateSession(ctx, store.Session{TokenHash: accounts.HashKey(third), AccountID: f.acc.Account.ID, UserID: "usr_00000000000000c1",
		CreatedAt: f.clock.Now(), ExpiresAt: f.clock.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	form := url.Values{"current_password": {"wrong"}, "new_password": {"a brand new password"}, "new_password_again": {"a brand new password"}}
	expect(t, f.post("/settings/account/password", here, form), http.StatusUnauthorized, "nothing changed")
	form.Set("current_password", "password of usr_00000000000000c1")
	expect(t, f.post("/settings/account/password", here, form), http.StatusOK, "your other sessions were ended")
	if r := f.get("/", third); r.Status != http.StatusSeeOther {
		t.Fatalf("another session after a new password: %d", r.Status)
	}
	expect(t, f.get("/settings/account", here), http.StatusOK, "this session")
	if r := f.post("/signin", "", url.Values{"email": {"me@example.com"}, "password": {"a brand new password"}}); r.Status != http.StatusSeeOther {
		t.Fatalf("signing in with the new password: %d", r.Status)
	}

	// Ten wrong passwords for one email, from ten addresses: the eleventh
	// attempt waits, even with the right password.
	for i := range 10 {
		r := f.post("/signin", "", url.Values{"email": {"me@example.com"}, "password": {"wrong"}}, "X-Forwarded-For", fmt.Sprintf("203.0.113.%d", i+1))
		expect(t, r, http.StatusUnauthorized)
	}
	r = f.post("/signin", "", url.Values{"email": {"me@example.com"}, "password": {"a brand new password"}}, "X-Forwarded-For", "203.0.113.99")
	expect(t, r, http.StatusTooManyRequests, "Too many failed sign-ins from this email")
}
