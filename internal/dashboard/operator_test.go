package dashboard_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/bahasha/bahasha/internal/dashboard"
)

const testAdminKey = "operator-admin-key-0123456789abcdefghij"

// operatorCookie is the Cookie header of an operator session.
func operatorCookie(token string) []string {
	return []string{"Cookie", dashboard.OperatorCookieName + "=" + token}
}

// The operator's page is off without the admin key, opens only with it
// (never with an account's key or session), shows every account's
// unhealthy endpoints with the platform's backlog, and signing out ends
// the session.
func TestOperatorPage(t *testing.T) {
	off := newFixture(t)
	expect(t, off.get("/operator", ""), http.StatusNotFound, "BAHASHA_ADMIN_KEY")
	expect(t, off.post("/operator/signin", "", url.Values{"admin_key": {testAdminKey}}), http.StatusNotFound)

	f := newFixture(t, fixtureOpts{adminKey: testAdminKey})
	if r := f.get("/operator", ""); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/operator/signin" {
		t.Fatalf("signed out: %d %s", r.Status, r.Header.Get("Location"))
	}
	// An account's session or key does not open it.
	session := f.signin(f.acc.APIKey)
	if r := f.get("/operator", session); r.Status != http.StatusSeeOther {
		t.Fatalf("with an account's session: %d", r.Status)
	}
	expect(t, f.post("/operator/signin", "", url.Values{"admin_key": {f.acc.APIKey}}), http.StatusUnauthorized, "not the admin key")
	expect(t, f.post("/operator/signin", "", url.Values{"admin_key": {""}}), http.StatusBadRequest, "Enter the admin key")
	// A form from another site is refused before the key is looked at.
	expect(t, f.post("/operator/signin", "", url.Values{"admin_key": {testAdminKey}}, "Sec-Fetch-Site", "cross-site"), http.StatusForbidden)

	r := f.post("/operator/signin", "", url.Values{"admin_key": {testAdminKey}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/operator" {
		t.Fatalf("sign in: %d %s", r.Status, excerpt(r.Body))
	}
	var token string
	for _, c := range r.Cookie {
		if c.Name == dashboard.OperatorCookieName {
			token = c.Value
			if c.Path != "/operator" || !c.HttpOnly || c.SameSite != http.SameSiteStrictMode {
				t.Errorf("the operator cookie: %+v", c)
			}
		}
	}
	if token == "" {
		t.Fatal("no operator cookie")
	}
	if strings.Contains(f.log.String(), testAdminKey) {
		t.Fatal("the admin key is in the log")
	}

	// Both accounts' endpoints; one failing.
	f.putEndpoint(f.acc.Account.ID, "https://acme.example/hook")
	f.putEndpoint(f.other.Account.ID, "https://other.example/hook")
	f.send(f.acc, "254712345678")
	f.failDue()
	p := f.request("GET", "/operator", "", nil, operatorCookie(token)...)
	expect(t, p, http.StatusOK, "Platform health", `id="operator-backlog">`, "Unhealthy endpoints", f.acc.Account.ID, `data-health="healthy">1<`)
	if strings.Contains(p.Body, f.other.Account.ID) {
		t.Errorf("a healthy account is listed among the unhealthy:\n%s", excerpt(p.Body))
	}
	if !strings.Contains(p.Body, `data-health="probing"`) && !strings.Contains(p.Body, `data-health="failing"`) {
		t.Errorf("the failing endpoint's health is not shown:\n%s", excerpt(p.Body))
	}
	// The account's own pages are not opened by the operator's cookie.
	if r := f.request("GET", "/", "", nil, operatorCookie(token)...); r.Status != http.StatusSeeOther {
		t.Fatalf("the overview with the operator's cookie: %d", r.Status)
	}

	if r := f.request("POST", "/operator/signout", "", url.Values{}, operatorCookie(token)...); r.Status != http.StatusSeeOther {
		t.Fatalf("sign out: %d", r.Status)
	}
	if r := f.request("GET", "/operator", "", nil, operatorCookie(token)...); r.Status != http.StatusSeeOther {
		t.Fatalf("after signing out: %d", r.Status)
	}
}
