package cli_test

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/bahasha/bahasha/internal/mail/smtptest"
)

// browser is a dashboard client with its own cookies, that does not follow
// redirects.
type browser struct {
	t *testing.T
	s *server
	c *http.Client
}

func newBrowser(t *testing.T, s *server) *browser {
	return &browser{t: t, s: s, c: &http.Client{Transport: s.tr, Jar: newJar(t),
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	Status   int
	Location string
	Body     string
}

func (b *browser) do(method, path string, form url.Values, headers ...string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, b.s.URL+path, body)
	if err != nil {
		b.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return page{Status: res.StatusCode, Location: res.Header.Get("Location"), Body: string(data)}
}

func (b *browser) get(path string) page { b.t.Helper(); return b.do("GET", path, nil) }
func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	return b.do("POST", path, form)
}

var rendered = regexp.MustCompile(`Rendered [0-9: -]+Z`)

var linkToken = regexp.MustCompile(`/welcome#token=([A-Za-z0-9_-]+)`)

// tokenIn finds the one-time link's token in a page or output.
func tokenIn(t *testing.T, text string) string {
	t.Helper()
	m := linkToken.FindStringSubmatch(html.UnescapeString(text))
	if m == nil {
		t.Fatalf("no one-time link in:\n%s", text)
	}
	return m[1]
}

// TestMembers: the first owner sets a password through the link serve
// printed, invites a viewer, who joins and may read but not change; roles
// are enforced by the server whatever the page shows; keys made in the
// dashboard work until revoked; a removed member is signed out at once;
// sign-in tells nobody who is a member; it is all in the audit log.
func TestMembers(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveOpts{})
	owner := newBrowser(t, s)
	token := tokenIn(t, s.Stdout.String())
	if !strings.Contains(s.Stdout.String(), "owner@example.com") {
		t.Fatalf("serve did not name the owner: %s", s.Stdout)
	}
	// Bad input changes nothing: different passwords, a short one.
	if p := owner.post("/welcome", url.Values{"token": {token}, "password": {"a long password"}, "password_again": {"another one"}}); p.Status != 400 || !strings.Contains(p.Body, "differ") ||
		!strings.Contains(p.Body, `value="`+token+`"`) {
		t.Fatalf("two passwords: %d %s", p.Status, p.Body)
	}
	if p := owner.post("/welcome", url.Values{"token": {token}, "password": {"short"}, "password_again": {"short"}}); p.Status != 400 || !strings.Contains(p.Body, "at least 10") {
		t.Fatalf("short password: %d", p.Status)
	}
	const ownerPW = "correct horse battery staple"
	if p := owner.post("/welcome", url.Values{"token": {token}, "password": {ownerPW}, "password_again": {ownerPW}}); p.Status != 303 {
		t.Fatalf("welcome: %d %s", p.Status, p.Body)
	}
	if p := owner.get("/"); p.Status != 200 || !strings.Contains(p.Body, "owner@example.com (owner)") || !strings.Contains(p.Body, `href="/settings/members"`) {
		t.Fatalf("overview as the owner: %d", p.Status)
	}
	// The link worked once.
	if p := newBrowser(t, s).post("/welcome", url.Values{"token": {token}, "password": {"a new password!"}, "password_again": {"a new password!"}}); p.Status != 410 || !strings.Contains(p.Body, "already been used") {
		t.Fatalf("a used link: %d", p.Status)
	}

	// Invite a viewer; they join through the link shown.
	p := owner.post("/settings/members", url.Values{"email": {"Viewer@Example.com"}, "name": {"Vi"}, "role": {"viewer"}})
	if p.Status != 200 || !strings.Contains(p.Body, "viewer@example.com is invited as viewer") {
		t.Fatalf("invite: %d %s", p.Status, p.Body)
	}
	viewerToken := tokenIn(t, p.Body)
	if p := owner.post("/settings/members", url.Values{"email": {"viewer@example.com"}, "role": {"owner"}}); p.Status != 409 {
		t.Fatalf("inviting twice: %d", p.Status)
	}
	viewer := newBrowser(t, s)
	const viewerPW = "viewer's own password"
	if p := viewer.post("/welcome", url.Values{"token": {viewerToken}, "password": {viewerPW}, "password_again": {viewerPW}}); p.Status != 303 {
		t.Fatalf("viewer welcome: %d %s", p.Status, p.Body)
	}
	// What a viewer may read, and the navigation without what they may not.
	for _, path := range []string{"/", "/settings/webhooks", "/deliveries", "/replay", "/settings/account"} {
		if p := viewer.get(path); p.Status != 200 {
			t.Errorf("viewer GET %s: %d", path, p.Status)
		}
	}
	nav := regexp.MustCompile(`(?s)<nav aria-label="Main">.*?</nav>`).FindString(viewer.get("/").Body)
	if nav == "" || strings.Contains(nav, `href="/settings/members"`) || strings.Contains(nav, `href="/sandbox"`) || !strings.Contains(nav, `href="/deliveries"`) {
		t.Errorf("the viewer's navigation: %s", nav)
	}
	// And what they may not: 403, and nothing changes.
	for _, c := range []struct{ method, path string }{
		{"GET", "/settings/members"}, {"GET", "/settings/api-keys"}, {"GET", "/sandbox"}, {"GET", "/settings/audit-log"},
		{"POST", "/settings/webhooks/secret"}, {"POST", "/settings/webhooks/secret/rotate"}, {"POST", "/settings/api-keys"},
		{"POST", "/settings/members"}, {"POST", "/replay"}, {"POST", "/sandbox/send"},
	} {
		var p page
		if c.method == "GET" {
			p = viewer.get(c.path)
		} else {
			p = viewer.post(c.path, url.Values{"name": {"forged"}, "email": {"x@example.com"}, "role": {"owner"}, "scope": {"full"}})
		}
		if p.Status != 403 || !strings.Contains(p.Body, "Your role in this account is viewer") {
			t.Errorf("viewer %s %s: %d", c.method, c.path, p.Status)
		}
	}
	if keys := s.Do("GET", "/v1/api_keys", nil); keys.Len("data") != 1 {
		t.Fatalf("a viewer's forged POST made a key: %s", keys)
	}
	if p := owner.get("/settings/members"); strings.Contains(p.Body, "x@example.com") {
		t.Fatal("a viewer's forged POST invited a member")
	}
	// A cross-site form is refused whoever sends it.
	if p := owner.do("POST", "/settings/api-keys", url.Values{"name": {"csrf"}, "scope": {"full"}}, "Sec-Fetch-Site", "cross-site"); p.Status != 403 {
		t.Fatalf("cross-site POST: %d", p.Status)
	}

	// A key made in the dashboard, shown once, works until revoked.
	p = owner.post("/settings/api-keys", url.Values{"name": {"orders"}, "scope": {"send"}})
	m := regexp.MustCompile(`id="new-key">(bh_[A-Za-z0-9_-]+)<`).FindStringSubmatch(p.Body)
	if p.Status != 200 || m == nil {
		t.Fatalf("create key: %d %s", p.Status, p.Body)
	}
	key := m[1]
	phone := s.Phone()
	send := map[string]any{"messaging_product": "whatsapp", "to": "254711000001", "type": "text", "text": map[string]string{"body": "hi"}}
	if r := s.DoAs(key, "POST", "/v1/"+phone.ID+"/messages", send); r.Status != 200 {
		t.Fatalf("the new key: %s", r)
	}
	if strings.Contains(owner.get("/settings/api-keys").Body, key) {
		t.Fatal("the key is shown again")
	}
	keyID := s.Do("GET", "/v1/api_keys", nil).Str("data.0.id")
	if p := owner.post("/settings/api-keys/"+keyID+"/revoke", nil); p.Status != 200 || !strings.Contains(p.Body, "was revoked") {
		t.Fatalf("revoke: %d", p.Status)
	}
	if r := s.DoAs(key, "POST", "/v1/"+phone.ID+"/messages", send); r.Status != 401 {
		t.Fatalf("a revoked key: %s", r)
	}

	// Sign-in: the same answer for a wrong password and an unknown email.
	stranger := newBrowser(t, s)
	wrong := stranger.post("/signin", url.Values{"email": {"viewer@example.com"}, "password": {"not the password"}})
	unknown := stranger.post("/signin", url.Values{"email": {"nobody@example.com"}, "password": {"not the password"}})
	if wrong.Status != 401 || unknown.Status != 401 || !strings.Contains(wrong.Body, "do not match") ||
		rendered.ReplaceAllString(strings.Replace(wrong.Body, "viewer@example.com", "nobody@example.com", 1), "") != rendered.ReplaceAllString(unknown.Body, "") {
		t.Fatalf("sign-in answers differ:\n%d %s\n%d %s", wrong.Status, wrong.Body, unknown.Status, unknown.Body)
	}
	if p := stranger.post("/signin", url.Values{"email": {"viewer@example.com"}, "password": {viewerPW}}); p.Status != 303 {
		t.Fatalf("sign in: %d %s", p.Status, p.Body)
	}

	// Removing the viewer ends their sessions at once.
	uid := regexp.MustCompile(`id="member-(usr_[0-9a-f]{16})" data-email="viewer@example.com"`).FindStringSubmatch(owner.get("/settings/members").Body)
	if uid == nil {
		t.Fatal("the viewer is not listed")
	}
	if p := owner.post("/settings/members/"+uid[1]+"/remove", nil); p.Status != 200 {
		t.Fatalf("remove: %d", p.Status)
	}
	for _, b := range []*browser{viewer, stranger} {
		if p := b.get("/deliveries"); p.Status != 303 || !strings.HasPrefix(p.Location, "/signin") {
			t.Fatalf("a removed member's session: %d %s", p.Status, p.Location)
		}
	}
	// The owner cannot remove or demote themselves as the last owner.
	ownerID := regexp.MustCompile(`id="member-(usr_[0-9a-f]{16})" data-email="owner@example.com"`).FindStringSubmatch(owner.get("/settings/members").Body)[1]
	if p := owner.post("/settings/members/"+ownerID+"/role", url.Values{"role": {"viewer"}}); p.Status != 409 {
		t.Fatalf("demoting the last owner: %d", p.Status)
	}

	// The audit log has it all, with who and from where; no secret.
	audit := owner.get("/settings/audit-log").Body
	for _, a := range []string{"member.joined", "member.invited", "member.removed", "api_key.created", "api_key.revoked", "session.signed_in"} {
		if !strings.Contains(audit, a) {
			t.Errorf("the audit log lacks %s", a)
		}
	}
	for _, secret := range []string{ownerPW, viewerPW, key, token, viewerToken} {
		if strings.Contains(audit, secret) || strings.Contains(s.Stderr.String(), secret) {
			t.Errorf("a secret in the audit log or the logs: %q", secret)
		}
	}
	if r := s.Do("GET", "/v1/audit_log?action=member", nil); r.Str("data.0.action") != "member.removed" || r.Str("data.0.actor.name") != "owner@example.com" {
		t.Fatalf("audit through the API: %s", r)
	}
}

// TestMemberEmails: with BAHASHA_SMTP_URL and --public-url, an invitation
// and a password reset arrive at a real SMTP server, with links to the
// public URL that work once; a reset asked for an unknown email sends
// nothing and answers the same.
func TestMemberEmails(t *testing.T) {
	t.Parallel()
	smtp := smtptest.Start(t)
	const public = "https://bahasha.example.com"
	s := startServe(t, serveOpts{Args: []string{"--public-url", public}, Env: map[string]string{"BAHASHA_SMTP_URL": smtp.URL("bahasha@example.com")}})
	if !strings.Contains(s.Stdout.String(), public+"/welcome#token=") {
		t.Fatalf("the owner's link is not on the public URL: %s", s.Stdout)
	}
	owner := newBrowser(t, s)
	if p := owner.post("/welcome", url.Values{"token": {tokenIn(t, s.Stdout.String())}, "password": {"owner password 1"}, "password_again": {"owner password 1"}}); p.Status != 303 {
		t.Fatalf("welcome: %d", p.Status)
	}
	p := owner.post("/settings/members", url.Values{"email": {"dev@example.com"}, "role": {"developer"}})
	if p.Status != 200 || !strings.Contains(p.Body, "It was e-mailed to dev@example.com") {
		t.Fatalf("invite: %d %s", p.Status, p.Body)
	}
	mails := waitMails(t, smtp, 1)
	invite := mailText(t, mails[0])
	if mails[0].Header.Get("To") != "dev@example.com" || !strings.Contains(invite, public+"/welcome#token=") || !strings.Contains(invite, "as developer") {
		t.Fatalf("invitation: %v\n%s", mails[0].Header, invite)
	}
	dev := newBrowser(t, s)
	if p := dev.post("/welcome", url.Values{"token": {tokenIn(t, invite)}, "password": {"developer pass 1"}, "password_again": {"developer pass 1"}}); p.Status != 303 {
		t.Fatalf("joining from the e-mail: %d", p.Status)
	}
	// Forgot the password: the same answer for a member and a stranger;
	// only the member gets an e-mail.
	anon := newBrowser(t, s)
	if p := anon.get("/signin"); !strings.Contains(p.Body, `href="/signin/reset"`) {
		t.Fatal("no reset link on the sign-in page")
	}
	a := anon.post("/signin/reset", url.Values{"email": {"nobody@example.com"}})
	b := anon.post("/signin/reset", url.Values{"email": {"dev@example.com"}})
	if a.Status != 303 || b.Status != 303 || a.Location != b.Location {
		t.Fatalf("reset answers: %d %s, %d %s", a.Status, a.Location, b.Status, b.Location)
	}
	mails = waitMails(t, smtp, 2)
	var reset string
	for _, m := range mails {
		if text := mailText(t, m); strings.Contains(text, "new password") {
			reset = text
			if m.Header.Get("To") != "dev@example.com" {
				t.Fatalf("reset sent to %s", m.Header.Get("To"))
			}
		}
	}
	if reset == "" {
		t.Fatal("no reset e-mail")
	}
	if p := anon.post("/welcome", url.Values{"token": {tokenIn(t, reset)}, "password": {"developer pass 2"}, "password_again": {"developer pass 2"}}); p.Status != 303 {
		t.Fatalf("reset: %d", p.Status)
	}
	// The old sessions ended with the new password.
	if p := dev.get("/deliveries"); p.Status != 303 {
		t.Fatalf("a session after the password was reset: %d", p.Status)
	}
	if p := anon.post("/welcome", url.Values{"token": {tokenIn(t, reset)}, "password": {"developer pass 3"}, "password_again": {"developer pass 3"}}); p.Status != 410 {
		t.Fatalf("a reset link twice: %d", p.Status)
	}
	// An owner's new link for an active member goes to the member's inbox
	// only: the owner's page never shows a way to sign in as them.
	uid := regexp.MustCompile(`id="member-(usr_[0-9a-f]{16})" data-email="dev@example.com"`).FindStringSubmatch(owner.get("/settings/members").Body)
	if uid == nil {
		t.Fatal("dev is not listed")
	}
	p = owner.post("/settings/members/"+uid[1]+"/link", nil)
	if p.Status != 200 || !strings.Contains(p.Body, "was e-mailed to dev@example.com") || linkToken.MatchString(p.Body) {
		t.Fatalf("new link for an active member: %d %s", p.Status, p.Body)
	}
	waitMails(t, smtp, 3)
}

// waitMails waits until the server received n messages.
func waitMails(t *testing.T, srv *smtptest.Server, n int) []*mail.Message {
	t.Helper()
	var got []*mail.Message
	eventually(t, fmt.Sprintf("%d e-mails", n), func() (bool, string) {
		got = srv.Messages(t)
		return len(got) >= n, fmt.Sprintf("%d received", len(got))
	})
	if len(got) != n {
		t.Fatalf("%d e-mails, want %d", len(got), n)
	}
	return got
}

func mailText(t *testing.T, m *mail.Message) string {
	t.Helper()
	b, err := io.ReadAll(m.Body)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// An account made before members gets an owner from the CLI or the admin
// API, with a one-time link that works.
func TestAddOwner(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveOpts{Env: map[string]string{"BAHASHA_ADMIN_KEY": testAdminKey}})
	created := s.DoAs(testAdminKey, "POST", "/admin/v1/accounts", map[string]string{"name": "Old Ltd"})
	acc := created.Str("account.id")
	r := s.DoAs(testAdminKey, "POST", "/admin/v1/accounts/"+acc+"/owners", map[string]string{"email": "Boss@Old.example"})
	if r.Status != 201 || r.Str("email") != "boss@old.example" || r.Str("role") != "owner" || !strings.Contains(r.Str("invite_url"), "/welcome#token=") {
		t.Fatalf("add owner: %s", r)
	}
	b := newBrowser(t, s)
	if p := b.post("/welcome", url.Values{"token": {tokenIn(t, r.Str("invite_url"))}, "password": {"the boss's password"}, "password_again": {"the boss's password"}}); p.Status != 303 {
		t.Fatalf("welcome: %d", p.Status)
	}
	if p := b.get("/"); !strings.Contains(p.Body, "Old Ltd") || !strings.Contains(p.Body, "boss@old.example (owner)") {
		t.Fatal("not signed in to the old account as its owner")
	}
	for _, c := range []struct {
		path string
		body any
		want int
	}{
		{"/admin/v1/accounts/acc_missing/owners", map[string]string{"email": "x@example.com"}, 404},
		{"/admin/v1/accounts/" + acc + "/owners", map[string]string{"email": "boss@old.example"}, 409},
		{"/admin/v1/accounts/" + acc + "/owners", map[string]string{"email": "not an email"}, 400},
	} {
		if r := s.DoAs(testAdminKey, "POST", c.path, c.body); r.Status != c.want || r.Str("error.message") == "" {
			t.Errorf("POST %s %v: %s, want %d", c.path, c.body, r, c.want)
		}
	}
	// The CLI, on the same database while serve runs.
	code, out, errOut := runCLI(t, context.Background(), nil, "accounts", "add-owner", "--account", acc, "--email", "second@old.example", "--data", s.Data)
	if code != 0 || !strings.Contains(out, "second@old.example") || !linkToken.MatchString(out) {
		t.Fatalf("accounts add-owner: %d %q %q", code, out, errOut)
	}
	code, _, errOut = runCLI(t, context.Background(), nil, "accounts", "add-owner", "--account", "acc_nope", "--email", "x@example.com", "--data", s.Data)
	if code == 0 || len(lines(errOut)) != 1 || !strings.Contains(errOut, "no account acc_nope") {
		t.Fatalf("add-owner to nothing: %d %q", code, errOut)
	}
	// accounts create --owner-email prints the owner's link too.
	code, out, _ = runCLI(t, context.Background(), nil, "accounts", "create", "--name", "New Ltd", "--owner-email", "new@new.example", "--data", s.Data, "--json")
	if code != 0 || !strings.Contains(out, `"invite_url"`) || !strings.Contains(out, "new@new.example") {
		t.Fatalf("accounts create --owner-email: %d %q", code, out)
	}
}
