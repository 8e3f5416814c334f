package dashboard_test

import (
	"context"
	"errors"
	"net/http"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/dashboard"
	"github.com/bahasha/bahasha/internal/store"
)

func sessionCookie(t *testing.T, r *resp) *http.Cookie {
	t.Helper()
	for _, c := range r.Cookie {
		if c.Name == dashboard.CookieName {
			return c
		}
	}
	t.Fatalf("no %s cookie in %v", dashboard.CookieName, r.Header["Set-Cookie"])
	return nil
}

func TestSignIn(t *testing.T) {
	f := newFixture(t)

	page := f.get("/signin", "")
	expect(t, page, http.StatusOK, `id="signin-form"`, `<label for="api-key">API key</label>`, `type="password"`)

	r := f.post("/signin", "", url.Values{"api_key": {f.acc.APIKey}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/" {
		t.Fatalf("good key: %d to %q, want 303 to /", r.Status, r.Header.Get("Location"))
	}
	c := sessionCookie(t, r)
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, Path=/, not Secure over plain HTTP", c)
	}
	if c.MaxAge <= 0 || c.MaxAge > int((12*time.Hour).Seconds()) {
		t.Errorf("cookie MaxAge %d, want 12h", c.MaxAge)
	}
	if c.Value == f.acc.APIKey || strings.Contains(c.Value, f.acc.APIKey) {
		t.Error("the cookie carries the API key")
	}
	// The store keeps the token's hash, which finds the account.
	acc, err := f.st.SessionAccount(context.Background(), store.SessionAccountParams{TokenHash: accounts.HashKey(c.Value), Now: f.clock.Now()})
	if err != nil || acc.ID != f.acc.Account.ID {
		t.Fatalf("session of the token: %v %v", acc.ID, err)
	}
	expect(t, f.get("/", c.Value), http.StatusOK, "Overview", "Acme Ltd")

	// Signed in, the sign-in page goes on to the dashboard.
	if r := f.get("/signin?next=/deliveries", c.Value); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/deliveries" {
		t.Errorf("sign-in page when signed in: %d %q", r.Status, r.Header.Get("Location"))
	}

	// A wrong key: the page again, 401, a clear message, no cookie.
	wrong := "bh_not_a_key_0123456789012345678901234567890"
	r = f.post("/signin", "", url.Values{"api_key": {wrong}})
	expect(t, r, http.StatusUnauthorized, "That API key is not valid", `id="signin-form"`)
	if len(r.Cookie) != 0 {
		t.Errorf("a wrong key set cookies: %v", r.Cookie)
	}
	if strings.Contains(r.Body, wrong) {
		t.Error("the page shows the wrong key back")
	}
	// No key at all.
	expect(t, f.post("/signin", "", url.Values{"api_key": {"  "}}), http.StatusBadRequest, "Enter your email and your password")

	// Back to where the sign-in was asked for, but only within the site.
	r = f.post("/signin", "", url.Values{"api_key": {f.acc.APIKey}, "next": {"/deliveries?state=failed"}})
	if r.Header.Get("Location") != "/deliveries?state=failed" {
		t.Errorf("next: redirected to %q", r.Header.Get("Location"))
	}
	for _, evil := range []string{"https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)"} {
		r = f.post("/signin", "", url.Values{"api_key": {f.acc.APIKey}, "next": {evil}})
		if r.Header.Get("Location") != "/" {
			t.Errorf("next %q: redirected to %q, want /", evil, r.Header.Get("Location"))
		}
	}

	// Neither key nor token ever reaches the log or a URL.
	logs := f.log.String()
	for _, secret := range []string{f.acc.APIKey, wrong, c.Value} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains a secret: %s", logs)
		}
	}
}

func TestSecureCookieOverTLS(t *testing.T) {
	f := newFixture(t, fixtureOpts{tls: true})
	c := sessionCookie(t, f.post("/signin", "", url.Values{"api_key": {f.acc.APIKey}}))
	if !c.Secure || !c.HttpOnly {
		t.Errorf("cookie over TLS %+v: want Secure and HttpOnly", c)
	}
}

// Behind a proxy that terminates TLS, X-Forwarded-Proto: https marks the
// cookie Secure.
func TestSecureCookieBehindTLSProxy(t *testing.T) {
	f := newFixture(t)
	c := sessionCookie(t, f.post("/signin", "", url.Values{"api_key": {f.acc.APIKey}}, "X-Forwarded-Proto", "https"))
	if !c.Secure {
		t.Errorf("cookie behind a TLS proxy %+v: want Secure", c)
	}
}

// A path that is no page gets a 404 page with the dashboard's headers.
func TestUnknownPage(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	for _, session := range []string{"", token} {
		r := f.get("/no/such/page", session)
		expect(t, r, http.StatusNotFound, `id="problem"`, "There is no page at /no/such/page")
		if r.Header.Get("Content-Security-Policy") != dashboard.ContentSecurityPolicy {
			t.Errorf("404 page without the CSP: %v", r.Header)
		}
	}
	// The API keeps its own JSON 404. (A path of three segments: GET
	// /v1/{phone_number_id} and /v1/{waba_id}/{edge} are Graph API routes,
	// which ask for an API key first.)
	if r := f.get("/v1/no/such/route", ""); r.Status != http.StatusNotFound || !strings.Contains(r.Body, `"not_found"`) {
		t.Errorf("GET /v1/no/such/route: %d %s", r.Status, r.Body)
	}
}

func TestSignedOutRequestsGoToSignIn(t *testing.T) {
	f := newFixture(t)
	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/webhook")
	for _, path := range []string{"/", "/deliveries?state=failed", "/deliveries/dlv_1", "/replay", "/replay/rpl_1", "/sandbox", "/settings/webhooks"} {
		r := f.get(path, "")
		want := "/signin?next=" + url.QueryEscape(path)
		if path == "/" {
			want = "/signin"
		}
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != want {
			t.Errorf("GET %s signed out: %d to %q, want 303 to %q", path, r.Status, r.Header.Get("Location"), want)
		}
		// A cookie that is no session is the same as none.
		if r := f.get(path, "forged-token"); r.Status != http.StatusSeeOther {
			t.Errorf("GET %s with a forged cookie: %d", path, r.Status)
		}
	}
	for _, path := range []string{"/settings/webhooks/secret/rotate", "/settings/webhooks/remove", "/deliveries/dlv_1/retry", "/replay", "/sandbox/send"} {
		r := f.post(path, "", url.Values{"confirm": {"yes"}, "from": {"2020-01-01T00:00"}})
		if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/signin" {
			t.Errorf("POST %s signed out: %d to %q", path, r.Status, r.Header.Get("Location"))
		}
	}
	if _, ok := f.endpoint(f.acc.Account.ID); !ok {
		t.Error("a signed-out POST removed the webhook")
	}
	for _, path := range []string{"/deliveries/stream", "/replay/rpl_1/stream"} {
		if r := f.get(path, ""); r.Status != http.StatusUnauthorized {
			t.Errorf("GET %s signed out: %d, want 401", path, r.Status)
		}
	}
}

func TestSessionExpires(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	expect(t, f.get("/deliveries", token), http.StatusOK)
	f.clock.Advance(11 * time.Hour)
	expect(t, f.get("/deliveries", token), http.StatusOK)
	f.clock.Advance(time.Hour + time.Second)
	r := f.get("/deliveries", token)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin") {
		t.Fatalf("after 12h: %d %q, want a redirect to sign in", r.Status, r.Header.Get("Location"))
	}
	if r := f.get("/deliveries/stream", token); r.Status != http.StatusUnauthorized {
		t.Errorf("stream after expiry: %d", r.Status)
	}
}

func TestSignOut(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	other := f.signin(f.acc.APIKey) // a second browser
	r := f.post("/signout", token, nil)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/signin") {
		t.Fatalf("sign out: %d %q", r.Status, r.Header.Get("Location"))
	}
	if c := sessionCookie(t, r); c.MaxAge >= 0 || c.Value != "" {
		t.Errorf("sign out left the cookie %+v", c)
	}
	if _, err := f.st.SessionAccount(context.Background(), store.SessionAccountParams{TokenHash: accounts.HashKey(token), Now: f.clock.Now()}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the session outlived sign-out: %v", err)
	}
	if r := f.get("/", token); r.Status != http.StatusSeeOther {
		t.Errorf("the old cookie still works: %d", r.Status)
	}
	expect(t, f.get("/", other), http.StatusOK) // other sessions stay
	expect(t, f.get("/signin?signed_out=1", ""), http.StatusOK, "You are signed out")
}

func TestCrossOriginRequestsAreRefused(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/webhook")
	f.send(f.acc, "254712345678")
	ids := f.failDue()
	secretBefore := accountSecret(t, f, f.acc.Account.ID)

	attacks := []struct {
		name    string
		headers []string
	}{
		{"Sec-Fetch-Site cross-site", []string{"Sec-Fetch-Site", "cross-site"}},
		{"Sec-Fetch-Site same-site", []string{"Sec-Fetch-Site", "same-site"}},
		{"foreign Origin", []string{"Origin", "https://evil.example"}},
	}
	forms := []struct {
		path string
		form url.Values
	}{
		{"/signin", url.Values{"api_key": {f.acc.APIKey}}},
		{"/signout", nil},
		{"/settings/webhooks", url.Values{"url": {"http://127.0.0.1:1/x"}, "verify_token": {"t"}}},
		{"/settings/webhooks/secret", nil},
		{"/settings/webhooks/secret/rotate", nil},
		{"/settings/webhooks/remove", url.Values{"confirm": {"yes"}}},
		{"/deliveries/dlv_" + itoa(ids[0]) + "/retry", nil},
		{"/replay", url.Values{"from": {"2020-01-01T00:00"}}},
		{"/sandbox/send", url.Values{"phone_number_id": {f.acc.PhoneNumber.ID}, "to": {"254712345678"}, "body": {"x"}}},
		{"/sandbox/inbound", url.Values{"phone_number_id": {f.acc.PhoneNumber.ID}, "from": {"254712345678"}, "type": {"text"}, "body": {"x"}}},
	}
	before := len(f.deliveries(f.acc.Account.ID))
	wakes := f.waker.n.Load()
	for _, a := range attacks {
		for _, fm := range forms {
			r := f.post(fm.path, token, fm.form, a.headers...)
			if r.Status != http.StatusForbidden {
				t.Errorf("%s: POST %s answered %d, want 403", a.name, fm.path, r.Status)
				continue
			}
			expect(t, r, http.StatusForbidden, "sent from another site")
			if r.Header.Get("Content-Security-Policy") != dashboard.ContentSecurityPolicy {
				t.Errorf("the 403 page has no CSP")
			}
			if strings.Contains(r.Body, secretBefore) {
				t.Errorf("POST %s cross-origin revealed the secret", fm.path)
			}
			if len(r.Cookie) != 0 {
				t.Errorf("POST %s cross-origin set a cookie", fm.path)
			}
		}
	}
	// Nothing changed.
	if _, ok := f.endpoint(f.acc.Account.ID); !ok {
		t.Error("the webhook was removed")
	}
	if got := accountSecret(t, f, f.acc.Account.ID); got != secretBefore {
		t.Error("the secret was rotated")
	}
	if n := len(f.deliveries(f.acc.Account.ID)); n != before {
		t.Errorf("deliveries: %d, was %d", n, before)
	}
	if d := f.deliveries(f.acc.Account.ID); d[len(d)-1].State != "failed" {
		t.Errorf("the failed delivery was retried: %s", d[len(d)-1].State)
	}
	if f.waker.n.Load() != wakes {
		t.Error("the engine was woken")
	}
	expect(t, f.get("/", token), http.StatusOK) // the session survived the forged sign-out

	// The same forms from the dashboard itself pass.
	r := f.post("/settings/webhooks/secret", token, nil, "Sec-Fetch-Site", "same-origin", "Origin", f.srv.URL)
	expect(t, r, http.StatusOK, secretBefore)
}

func accountSecret(t *testing.T, f *fixture, id string) string {
	t.Helper()
	acc, err := f.st.Account(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return acc.AppSecret
}

var (
	scriptTag  = regexp.MustCompile(`(?is)<script\b[^>]*>(.*?)</script>`)
	inlineAttr = regexp.MustCompile(`(?i)\s(style|on[a-z]+)\s*=|<style|javascript:`)
)

// inlineCode returns what the CSP would block: an inline script, an inline
// style, an event handler attribute, a javascript: URL.
func inlineCode(body string) string {
	for _, m := range scriptTag.FindAllStringSubmatch(body, -1) {
		if !strings.Contains(m[0], ` src="/static/`) || strings.TrimSpace(m[1]) != "" {
			return m[0]
		}
	}
	return inlineAttr.FindString(body)
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestEveryPageHasTheSecurityHeaders(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/webhook")
	f.send(f.acc, "254712345678")
	ids := f.failDue()
	other := f.signin(f.other.APIKey)
	_ = other

	pages := []struct {
		method, path, session string
		form                  url.Values
		status                int
	}{
		{"GET", "/signin", "", nil, 200},
		{"POST", "/signin", "", url.Values{"api_key": {"wrong"}}, 401},
		{"GET", "/", token, nil, 200},
		{"GET", "/settings/webhooks", token, nil, 200},
		{"POST", "/settings/webhooks", token, url.Values{"url": {""}}, 400},
		{"POST", "/settings/webhooks/secret", token, nil, 200},
		{"POST", "/settings/webhooks/remove", token, nil, 200},
		{"GET", "/deliveries", token, nil, 200},
		{"GET", "/deliveries?state=nope", token, nil, 400},
		{"GET", "/deliveries/dlv_" + itoa(ids[0]), token, nil, 200},
		{"GET", "/deliveries/nope", token, nil, 404},
		{"GET", "/replay", token, nil, 200},
		{"GET", "/replay?preview=1&from=2020-01-01T00:00", token, nil, 200},
		{"GET", "/replay/rpl_999", token, nil, 404},
		{"GET", "/sandbox", token, nil, 200},
		{"GET", "/", "", nil, 303},
	}
	for _, p := range pages {
		var r *resp
		if p.method == "GET" {
			r = f.get(p.path, p.session)
		} else {
			r = f.post(p.path, p.session, p.form)
		}
		if r.Status != p.status {
			t.Errorf("%s %s: %d, want %d", p.method, p.path, r.Status, p.status)
		}
		if got := r.Header.Get("Content-Security-Policy"); got != dashboard.ContentSecurityPolicy {
			t.Errorf("%s %s: CSP %q", p.method, p.path, got)
		}
		if got := r.Header.Get("Cache-Control"); got != "no-store" {
			t.Errorf("%s %s: Cache-Control %q, want no-store", p.method, p.path, got)
		}
		if r.Status != 303 {
			if ct := r.Header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("%s %s: Content-Type %q", p.method, p.path, ct)
			}
			if m := inlineCode(r.Body); m != "" {
				t.Errorf("%s %s: inline code the CSP blocks: %q", p.method, p.path, m)
			}
			if !strings.Contains(r.Body, `<script src="/static/dashboard.js?v=`) || !strings.Contains(r.Body, `<link rel="stylesheet" href="/static/dashboard.css?v=`) {
				t.Errorf("%s %s: no script or stylesheet from /static/", p.method, p.path)
			}
		}
	}
	for _, name := range []string{"dashboard.css", "dashboard.js"} {
		r := f.get("/static/"+name, "")
		if r.Status != 200 || r.Header.Get("Content-Security-Policy") == "" || len(r.Body) < 100 {
			t.Errorf("/static/%s: %d, CSP %q, %d bytes", name, r.Status, r.Header.Get("Content-Security-Policy"), len(r.Body))
		}
	}
	if r := f.get("/static/nope.js", ""); r.Status != 404 {
		t.Errorf("/static/nope.js: %d", r.Status)
	}
	// The API and the probes keep their own headers: no page CSP on JSON.
	if r := f.get("/v1/phone_numbers", ""); r.Status != 401 || r.Header.Get("Content-Security-Policy") != "" {
		t.Errorf("/v1/phone_numbers: %d, CSP %q", r.Status, r.Header.Get("Content-Security-Policy"))
	}
	if r := f.get("/healthz", ""); r.Status != 200 || strings.TrimSpace(r.Body) != "ok" {
		t.Errorf("/healthz: %d %q", r.Status, r.Body)
	}
	if r := f.get("/readyz", ""); r.Status != 200 {
		t.Errorf("/readyz: %d %q", r.Status, r.Body)
	}
}

// Behind a trusted proxy (the test's loopback client plays it), the limit
// counts each client named by X-Forwarded-For: one client's wrong keys do
// not lock out another; without the setting, the proxy is one client.
func TestSigninLimitBehindTrustedProxy(t *testing.T) {
	for _, trusted := range []bool{true, false} {
		var o fixtureOpts
		if trusted {
			o.trustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
		}
		f := newFixture(t, o)
		for i := range 10 {
			r := f.post("/signin", "", url.Values{"api_key": {"bh_wrong_" + strconv.Itoa(i)}}, "X-Forwarded-For", "203.0.113.9")
			expect(t, r, http.StatusUnauthorized, "That API key is not valid")
		}
		r := f.post("/signin", "", url.Values{"api_key": {f.acc.APIKey}}, "X-Forwarded-For", "198.51.100.4")
		if trusted && r.Status != http.StatusSeeOther {
			t.Fatalf("behind a trusted proxy, another client's sign-in: %d, want it through", r.Status)
		}
		if !trusted {
			expect(t, r, http.StatusTooManyRequests, "Too many failed sign-ins from your address")
		}
		if trusted {
			r := f.post("/signin", "", url.Values{"api_key": {f.acc.APIKey}}, "X-Forwarded-For", "1.2.3.4, 203.0.113.9")
			expect(t, r, http.StatusTooManyRequests, "Too many failed sign-ins from your address")
		}
	}
}

// Ten wrong keys from one address within a minute make it wait; the right
// key is refused too meanwhile, and accepted once the minute has passed.
func TestFailedSigninsAreLimited(t *testing.T) {
	f := newFixture(t)
	for i := range 10 {
		r := f.post("/signin", "", url.Values{"api_key": {"bh_wrong_" + strconv.Itoa(i)}})
		expect(t, r, http.StatusUnauthorized, "That API key is not valid")
	}
	r := f.post("/signin", "", url.Values{"api_key": {f.acc.APIKey}})
	expect(t, r, http.StatusTooManyRequests, "Too many failed sign-ins from your address")
	if r.Header.Get("Retry-After") == "" {
		t.Error("429 without Retry-After")
	}
	f.clock.Advance(61 * time.Second)
	if r := f.post("/signin", "", url.Values{"api_key": {f.acc.APIKey}}); r.Status != http.StatusSeeOther {
		t.Fatalf("sign-in after the window: %d", r.Status)
	}
}
