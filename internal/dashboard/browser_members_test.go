package dashboard_test

import (
	"context"
	"crypto/rand"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bahasha/bahasha/internal/access"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/browsertest"
)

// TestBrowserMembers: an owner signs in with a password, invites a viewer
// and gets the one-time link; the viewer opens it in a browser of their
// own, chooses a password and is signed in, sees what a viewer may see and
// is refused what they may not; the owner creates a key, sees it once,
// revokes it, and the API refuses it at once.
func TestBrowserMembers(t *testing.T) {
	p := newPlatform(t)
	const ownerPW = "the owner's password"
	hash, err := access.HashPassword(rand.Reader, ownerPW, access.PasswordCost{Time: 1, Memory: 64, Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	if err := p.st.CreateUser(context.Background(), bahasha.User{ID: "usr_00000000000000b1", AccountID: p.acc.Account.ID, Email: "owner@example.com",
		Name: "Olu", Role: bahasha.RoleOwner, PasswordHash: hash, CreatedAt: now, PasswordSetAt: now}); err != nil {
		t.Fatal(err)
	}

	ctx := browsertest.New(t)
	console := browsertest.WatchConsole(t, ctx)
	run := func(actions ...chromedp.Action[chromedp.Void]) { t.Helper(); browsertest.Run(t, ctx, actions...) }
	eval := func(js string) string { t.Helper(); return browsertest.Get(t, ctx, chromedp.Evaluate[string](js)) }

	run(chromedp.Navigate(p.srv.URL+"/settings/members"),
		chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), "owner@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), ownerPW),
		chromedp.Click(chromedp.CSS("#signin")),
		chromedp.WaitVisible(chromedp.CSS("#invite-form")))
	run(chromedp.SendKeys(chromedp.CSS("#invite-email"), "viewer@example.com"),
		chromedp.SendKeys(chromedp.CSS("#invite-name"), "Vera"),
		chromedp.SetValue(chromedp.CSS("#invite-role"), "viewer"),
		chromedp.Click(chromedp.CSS("#invite")),
		chromedp.WaitVisible(chromedp.CSS("#member-link")))
	link := eval(`document.querySelector('#member-link').textContent`)
	if !strings.HasPrefix(link, p.srv.URL+"/welcome#token=") {
		t.Fatalf("the invitation link = %q", link)
	}
	browsertest.Screenshot(t, ctx, "dashboard-members")
	checkAccessible(t, ctx, "dashboard-members")

	// The viewer, in a browser of their own.
	vctx := browsertest.New(t)
	vconsole := browsertest.WatchConsole(t, vctx)
	vrun := func(actions ...chromedp.Action[chromedp.Void]) { t.Helper(); browsertest.Run(t, vctx, actions...) }
	veval := func(js string) string { t.Helper(); return browsertest.Get(t, vctx, chromedp.Evaluate[string](js)) }
	vrun(chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS("#welcome-form")))
	if got := veval(`document.querySelector('#welcome-token').value.length > 20 && location.hash === '' ? 'moved' : 'not moved'`); got != "moved" {
		t.Fatalf("the token was %s from the fragment into the form", got)
	}
	browsertest.Screenshot(t, vctx, "dashboard-welcome")
	checkAccessible(t, vctx, "dashboard-welcome")
	vrun(chromedp.SendKeys(chromedp.CSS("#new-password"), "vera's own password"),
		chromedp.SendKeys(chromedp.CSS("#new-password-again"), "vera's own password"),
		chromedp.Click(chromedp.CSS("#welcome-save")),
		chromedp.WaitVisible(chromedp.CSS("#who")))
	if who := veval(`document.querySelector('#who').textContent`); !strings.Contains(who, "viewer@example.com (viewer)") {
		t.Errorf("signed in as %q", who)
	}
	if nav := veval(`document.querySelector('nav[aria-label="Main"]').textContent`); strings.Contains(nav, "Members") || strings.Contains(nav, "Sandbox") ||
		!strings.Contains(nav, "Deliveries") {
		t.Errorf("the viewer's navigation: %q", nav)
	}
	vrun(chromedp.Navigate(p.srv.URL+"/settings/webhooks"), chromedp.WaitVisible(chromedp.CSS("#current-webhook")))
	vrun(chromedp.Navigate(p.srv.URL+"/settings/members"), chromedp.WaitVisible(chromedp.CSS("#problem")))
	if got := veval(`document.querySelector('#problem').textContent`); !strings.Contains(got, "Your role in this account is viewer") {
		t.Errorf("the viewer on Members: %q", got)
	}

	// A key, shown once, revoked: the API refuses it at once.
	run(chromedp.Navigate(p.srv.URL+"/settings/api-keys"), chromedp.WaitVisible(chromedp.CSS("#create-key-form")),
		chromedp.SendKeys(chromedp.CSS("#key-name"), "reporting"),
		chromedp.SetValue(chromedp.CSS("#key-scope"), "read"),
		chromedp.Click(chromedp.CSS("#create-key")),
		chromedp.WaitVisible(chromedp.CSS("#new-key")))
	key := eval(`document.querySelector('#new-key').textContent`)
	api := func() int {
		req, _ := http.NewRequest("GET", p.srv.URL+"/v1/webhook/deliveries", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := api(); code != 200 {
		t.Fatalf("the new read key: %d", code)
	}
	browsertest.Screenshot(t, ctx, "dashboard-api-keys")
	checkAccessible(t, ctx, "dashboard-api-keys")
	run(chromedp.Click(chromedp.CSS(`#keys tr[data-name="reporting"] button`)), chromedp.WaitVisible(chromedp.CSS("#flash")))
	if code := api(); code != 401 {
		t.Fatalf("a revoked key: %d", code)
	}
	run(chromedp.Navigate(p.srv.URL+"/settings/audit-log"), chromedp.WaitVisible(chromedp.CSS("#audit")))
	if got := eval(`[...document.querySelectorAll('#audit tr[data-action]')].map(r => r.dataset.action).join(' ')`); !strings.Contains(got, "api_key.revoked api_key.created member.joined member.invited session.signed_in") {
		t.Errorf("the audit log's actions: %s", got)
	}
	browsertest.Screenshot(t, ctx, "dashboard-audit-log")
	checkAccessible(t, ctx, "dashboard-audit-log")
	console.NoErrors(t)
	// The viewer's 403 page is an answer on purpose.
	for _, e := range vconsole.Errors(t) {
		if !strings.Contains(e, "status of 403 (Forbidden)") {
			t.Errorf("the viewer's page reported: %s", e)
		}
	}
}
