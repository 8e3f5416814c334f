package dashboard_test

// Browser tests: the dashboard in a real headless Chromium (internal/browsertest),
// on the whole platform — SQLite store, delivery engine, API, dashboard —
// behind server.Handler, delivering to an httptest receiver. Each wait is a
// chromedp Poll on what the page shows, bounded by browsertest.Timeout;
// never a fixed sleep. Screenshots of each page go to docs/screenshots with
// BAHASHA_UPDATE_SCREENSHOTS=1.

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/browsertest"
	"github.com/bahasha/bahasha/internal/dashboard"
	"github.com/bahasha/bahasha/internal/delivery"
	"github.com/bahasha/bahasha/internal/messaging"
	"github.com/bahasha/bahasha/internal/retry"
	"github.com/bahasha/bahasha/internal/safehttp"
	"github.com/bahasha/bahasha/internal/server"
	"github.com/bahasha/bahasha/internal/store/sqlite"
)

// testReceiver is a business's webhook endpoint whose behaviour a test
// changes: a correct or a wrong handshake answer, and POSTs that succeed or
// fail.
type testReceiver struct {
	mu        sync.Mutex
	token     string
	quoted    bool // answer the challenge JSON-encoded, the classic mistake
	failPOSTs bool
	events    int
	srv       *httptest.Server
}

func newTestReceiver(t *testing.T, token string) *testReceiver {
	rcv := &testReceiver{token: token}
	rcv.srv = httptest.NewServer(http.HandlerFunc(rcv.serve))
	t.Cleanup(rcv.srv.Close)
	return rcv
}

func (rcv *testReceiver) serve(w http.ResponseWriter, r *http.Request) {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if r.Method == http.MethodGet {
		q := r.URL.Query()
		if q.Get("hub.verify_token") != rcv.token {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		if rcv.quoted {
			json.NewEncoder(w).Encode(q.Get("hub.challenge"))
			return
		}
		w.Write([]byte(q.Get("hub.challenge")))
		return
	}
	if rcv.failPOSTs {
		http.Error(w, "receiver down: cannot reach the orders database", http.StatusInternalServerError)
		return
	}
	rcv.events++
	w.WriteHeader(http.StatusOK)
}

func (rcv *testReceiver) set(f func(*testReceiver)) {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	f(rcv)
}

// platform is bahasha serve's stack, wired as internal/cli does.
type platform struct {
	srv *httptest.Server
	st  *sqlite.Store
	msg *messaging.Service
	acc accounts.Created
}

func newPlatform(t *testing.T) *platform { t.Helper(); return newPlatformWith(t, dashboard.Config{}) }

// newPlatformWith is newPlatform with the dashboard configured by dc.
func newPlatformWith(t *testing.T, dc dashboard.Config) *platform {
	t.Helper()
	if dc.StreamInterval == 0 {
		dc.StreamInterval = 100 * time.Millisecond
	}
	dc.KeySignin = true // the pages' tests sign in with the account's key
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "b.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acc, err := accounts.Create(context.Background(), st, accounts.Params{Name: "Acme Ltd", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(&syncBuffer{}, nil))
	policy := retry.DefaultPolicy()
	policy.Steps, policy.MaxDelay = []time.Duration{time.Minute}, time.Minute // a failure waits for the Retry button
	p, err := server.Build(st, server.Options{
		Client:      safehttp.Config{AllowPrivate: true, Timeout: 5 * time.Second},
		Engine:      delivery.Config{Retry: policy, PollInterval: 100 * time.Millisecond, MaintenanceInterval: 100 * time.Millisecond},
		SandboxPace: 300 * time.Millisecond,
		Dashboard:   dc,
		Jitter:      rand.New(rand.NewPCG(1, 2)),
		Log:         log,
	})
	if err != nil {
		t.Fatal(err)
	}
	engine, dash := p.Engine, p.Dashboard
	srv := httptest.NewServer(p.Handler)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- engine.Run(ctx) }()
	t.Cleanup(func() {
		dash.Shutdown()
		srv.Close()
		cancel()
		<-done
	})
	return &platform{srv: srv, st: st, msg: p.Messaging, acc: acc}
}

func TestBrowser(t *testing.T) {
	p := newPlatform(t)
	rcv := newTestReceiver(t, "my-verify-token")
	ctx := browsertest.New(t)
	console := browsertest.WatchConsole(t, ctx)
	run := func(actions ...chromedp.Action[chromedp.Void]) { t.Helper(); browsertest.Run(t, ctx, actions...) }
	text := func(sel string) string {
		t.Helper()
		return browsertest.Get(t, ctx, chromedp.Text(chromedp.CSS(sel)))
	}
	waitFor := func(js string) {
		t.Helper()
		browsertest.Get(t, ctx, chromedp.Poll[bool](js))
	}
	accessible := func(name string) { t.Helper(); checkAccessible(t, ctx, name) }
	shot := func(name string) { t.Helper(); browsertest.Screenshot(t, ctx, name); accessible(name) }

	// Sign in: a signed-out visit goes to the sign-in page, then back.
	run(chromedp.Navigate(p.srv.URL+"/settings/webhooks"),
		chromedp.WaitVisible(chromedp.CSS("#api-key")))
	shot("dashboard-signin")
	run(chromedp.SendKeys(chromedp.CSS("#api-key"), p.acc.APIKey),
		chromedp.Click(chromedp.CSS("#key-signin")),
		chromedp.WaitVisible(chromedp.CSS("#webhook-form")))

	// A handler that answers the challenge JSON-encoded: the diagnosis.
	rcv.set(func(r *testReceiver) { r.quoted = true })
	run(chromedp.SendKeys(chromedp.CSS("#webhook-url"), rcv.srv.URL+"/webhook"),
		chromedp.SendKeys(chromedp.CSS("#verify-token"), "my-verify-token"),
		chromedp.Click(chromedp.CSS("#verify-save")),
		chromedp.WaitVisible(chromedp.CSS("#verify-result")))
	if got := text("#verify-message"); !strings.Contains(got, "with quotes") {
		t.Errorf("diagnosis = %q, want it to explain the quotes", got)
	}
	if got := text("#verify-request"); !strings.Contains(got, "hub.verify_token=***") || strings.Contains(got, "my-verify-token") {
		t.Errorf("request shown = %q: want the token masked", got)
	}
	shot("dashboard-settings-diagnosis")

	// Fixed: verified. (The URL field kept its value; the token is typed again.)
	rcv.set(func(r *testReceiver) { r.quoted = false })
	run(chromedp.SendKeys(chromedp.CSS("#verify-token"), "my-verify-token"),
		chromedp.Click(chromedp.CSS("#verify-save")),
		chromedp.WaitVisible(chromedp.CSS(`#verify-result[data-ok="true"]`)))
	if got := text("#current-status"); got != "verified" {
		t.Errorf("current webhook status = %q", got)
	}
	shot("dashboard-settings-verified")

	// Send a sandbox message, then watch its three deliveries arrive live.
	run(chromedp.Navigate(p.srv.URL+"/sandbox"),
		chromedp.WaitVisible(chromedp.CSS("#send-form")),
		chromedp.Click(chromedp.CSS("#send")),
		chromedp.WaitVisible(chromedp.CSS("#send-result")))
	shot("dashboard-sandbox")
	run(chromedp.Navigate(p.srv.URL+"/deliveries"),
		chromedp.WaitVisible(chromedp.CSS("#deliveries")))
	waitFor(`document.querySelector('#deliveries').dataset.live === 'on'`)
	sent, err := p.msg.Send(context.Background(), messaging.SendParams{AccountID: p.acc.Account.ID, PhoneNumberID: p.acc.PhoneNumber.ID,
		To: "254712345678"})
	if err != nil {
		t.Fatal(err)
	}
	// The page was not reloaded: the rows came over server-sent events.
	waitFor(`[...document.querySelectorAll('#delivery-rows tr[data-state="delivered"]')].filter(r => r.querySelector('.wamid').title === ` +
		jsString(sent.WAMID) + `).length === 3 && Number(document.querySelector('#deliveries').dataset.updates) > 0`)
	shot("dashboard-deliveries")

	// The receiver fails: the failed attempt and its answer are shown;
	// once it is fixed, Retry delivers.
	rcv.set(func(r *testReceiver) { r.failPOSTs = true })
	run(chromedp.Navigate(p.srv.URL+"/sandbox"),
		chromedp.WaitVisible(chromedp.CSS("#reply-form")),
		chromedp.Click(chromedp.CSS("#reply")),
		chromedp.WaitVisible(chromedp.CSS("#reply-result")),
		chromedp.Click(chromedp.CSS("#reply-delivery-link")),
		chromedp.WaitVisible(chromedp.CSS("#delivery")))
	url := browsertest.Get(t, ctx, chromedp.Location())
	// The detail page is live: the failed attempt appears without a reload.
	waitFor(`document.querySelector('#attempts tr[data-status-code="500"]') !== null`)
	// Read in one evaluation: the live stream may replace the table
	// between finding a node and reading it.
	if got := browsertest.Get(t, ctx, chromedp.Evaluate[string](`document.querySelector('#attempts').textContent`)); !strings.Contains(got, "receiver down: cannot reach the orders database") {
		t.Errorf("attempts table = %q, want the response body", got)
	}
	shot("dashboard-delivery-failed")
	rcv.set(func(r *testReceiver) { r.failPOSTs = false })
	run(chromedp.Click(chromedp.CSS("#retry")),
		chromedp.WaitVisible(chromedp.CSS("#flash")))
	// Delivered, again without a reload, and the stream ends.
	waitFor(`document.querySelector('#delivery-state').textContent === 'delivered' &&
		document.querySelector('#delivery-live').dataset.live === 'done'`)
	run(chromedp.Navigate(url), chromedp.WaitVisible(chromedp.CSS(`#delivery[data-state="delivered"]`)))

	// Replay the last day (the form's default range) and watch it finish.
	run(chromedp.Navigate(p.srv.URL+"/replay"),
		chromedp.WaitVisible(chromedp.CSS("#replay-form")),
		chromedp.Click(chromedp.CSS("#replay-preview")),
		chromedp.WaitVisible(chromedp.CSS("#replay-preview-result")))
	if got := text("#replay-count"); got != "7" {
		t.Errorf("preview covers %s events, want 7 (3 + 3 statuses and a reply)", got)
	}
	run(chromedp.Click(chromedp.CSS("#replay-confirm")),
		chromedp.WaitVisible(chromedp.CSS("#replay-progress")))
	waitFor(`document.querySelector('[data-replay]').dataset.percent === '100'`)
	if got := text("#replay-delivered"); got != "7" {
		t.Errorf("replay delivered %s, want 7", got)
	}
	shot("dashboard-replay")

	// The overview counts it all.
	run(chromedp.Navigate(p.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#stats-hour")))
	if got := text("#stats-hour .delivered"); got == "0" {
		t.Errorf("the overview shows %s delivered", got)
	}
	if got := browsertest.Get(t, ctx, chromedp.Evaluate[string](`document.querySelector('#health').dataset.health`)); got != "healthy" {
		t.Errorf("health = %q", got)
	}
	shot("dashboard-overview")

	// Sign out.
	run(chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#api-key")))

	// No script error, no CSP violation. The failed verification's page
	// answered 422 on purpose; the browser reports that as a failed load.
	for _, e := range console.Errors(t) {
		if !strings.Contains(e, "status of 422 (Unprocessable Entity) ("+p.srv.URL+"/settings/webhooks)") {
			t.Errorf("the page reported: %s", e)
		}
	}
}

// checkAccessible checks the page shown for what keyboard and
// screen-reader users need: each form control has a label, nothing
// focusable is taken out of the tab order, and the first Tab lands on a
// link or control (the navigation).
func checkAccessible(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	run := func(actions ...chromedp.Action[chromedp.Void]) { t.Helper(); browsertest.Run(t, ctx, actions...) }
	unlabelled := browsertest.Get(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('input:not([type=hidden]), select, textarea')]
		.filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby'))
		.map(e => e.name || e.id || e.outerHTML.slice(0, 60))`))
	if len(unlabelled) > 0 {
		t.Errorf("%s: form controls without a label: %v", name, unlabelled)
	}
	untabbable := browsertest.Get(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('a[href], button, input, select, textarea')]
		.filter(e => e.tabIndex < 0 && e.type !== 'hidden').map(e => e.id || e.name || e.outerHTML.slice(0, 60))`))
	if len(untabbable) > 0 {
		t.Errorf("%s: focusable elements out of the tab order: %v", name, untabbable)
	}
	run(chromedp.Evaluate[chromedp.Void](`document.activeElement && document.activeElement.blur()`))
	run(chromedp.KeyEvent("\t"))
	if tag := browsertest.Get(t, ctx, chromedp.Evaluate[string](`document.activeElement ? document.activeElement.tagName : ''`)); tag != "A" && tag != "BUTTON" && tag != "INPUT" {
		t.Errorf("%s: the first Tab focuses %q, want a link or a control", name, tag)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestBrowserEndpoints: Settings → Webhooks in the browser, for an
// endpoint of one phone number: add it with an events filter and a custom
// header, see it listed under its number with the header's value masked,
// disable it, enable it, remove it.
func TestBrowserEndpoints(t *testing.T) {
	p := newPlatform(t)
	rcv := newTestReceiver(t, "number-token")
	num := p.acc.PhoneNumber
	const headerValue = "gw-key-0123456789-abcdefWXYZ"
	ctx := browsertest.New(t)
	console := browsertest.WatchConsole(t, ctx)
	run := func(actions ...chromedp.Action[chromedp.Void]) { t.Helper(); browsertest.Run(t, ctx, actions...) }
	eval := func(js string) string { t.Helper(); return browsertest.Get(t, ctx, chromedp.Evaluate[string](js)) }
	waitFor := func(js string) { t.Helper(); browsertest.Get(t, ctx, chromedp.Poll[bool](js)) }

	run(chromedp.Navigate(p.srv.URL+"/settings/webhooks"),
		chromedp.WaitVisible(chromedp.CSS("#api-key")),
		chromedp.SendKeys(chromedp.CSS("#api-key"), p.acc.APIKey),
		chromedp.Click(chromedp.CSS("#key-signin")),
		chromedp.WaitVisible(chromedp.CSS("#add-endpoint-form")))
	if got := eval(`document.querySelector('#no-endpoints') ? 'none' : 'some'`); got != "none" {
		t.Errorf("a new account lists endpoints")
	}

	// Add: the number's scope, messages only, an API gateway key.
	run(chromedp.SendKeys(chromedp.CSS("#ep-url"), rcv.srv.URL+"/number"),
		chromedp.SendKeys(chromedp.CSS("#ep-token"), "number-token"),
		chromedp.SetValue(chromedp.CSS("#ep-scope"), "phone_number:"+num.ID),
		chromedp.Click(chromedp.CSS("#ep-events-messages")),
		chromedp.SendKeys(chromedp.CSS("#ep-headers"), "X-Api-Key: "+headerValue),
		chromedp.SendKeys(chromedp.CSS("#ep-rate"), "20"),
		chromedp.SendKeys(chromedp.CSS("#ep-description"), "Support inbox"),
		chromedp.Click(chromedp.CSS("#add-endpoint-submit")),
		chromedp.WaitVisible(chromedp.CSS("#endpoint")))
	id := eval(`document.querySelector('#endpoint').dataset.id`)
	if !strings.HasPrefix(id, "wh_") {
		t.Fatalf("endpoint page for %q", id)
	}
	if got := eval(`document.querySelector('#flash').textContent`); !strings.Contains(got, "Verified and added") {
		t.Errorf("flash = %q", got)
	}
	if got := eval(`document.querySelector('#endpoint-headers').textContent`); got != "X-Api-Key: ••••WXYZ" {
		t.Errorf("headers shown = %q", got)
	}
	browsertest.Screenshot(t, ctx, "dashboard-endpoint")
	checkAccessible(t, ctx, "dashboard-endpoint")

	// Listed under its number, the header masked.
	row := "#scope-phone_number-" + num.ID + " tr#" + id
	run(chromedp.Navigate(p.srv.URL+"/settings/webhooks"), chromedp.WaitVisible(chromedp.CSS(row)))
	if got := eval(`document.querySelector('#scope-phone_number-` + num.ID + ` h3').textContent`); got != num.DisplayPhoneNumber {
		t.Errorf("the group's title = %q, want the display number %s", got, num.DisplayPhoneNumber)
	}
	rowText := eval(`document.querySelector(` + jsString(row) + `).textContent`)
	for _, want := range []string{rcv.srv.URL + "/number", "Support inbox", "messages", "X-Api-Key: ••••WXYZ", "20/s", "verified", "healthy"} {
		if !strings.Contains(rowText, want) {
			t.Errorf("the row does not show %q: %q", want, rowText)
		}
	}
	if strings.Contains(eval(`document.documentElement.outerHTML`), headerValue[:12]) {
		t.Error("the page holds the header's value")
	}
	browsertest.Screenshot(t, ctx, "dashboard-settings-endpoints")
	checkAccessible(t, ctx, "dashboard-settings-endpoints")

	// Disable, then enable, from the list.
	run(chromedp.Click(chromedp.CSS("#disable-"+id)), chromedp.WaitVisible(chromedp.CSS(row+`[data-status="disabled"]`)))
	if got := eval(`document.querySelector('#flash').textContent`); !strings.Contains(got, id+" was disabled") {
		t.Errorf("flash = %q", got)
	}
	run(chromedp.Click(chromedp.CSS("#enable-"+id)), chromedp.WaitVisible(chromedp.CSS(row+`[data-status="verified"]`)))
	waitFor(`document.querySelector('#flash').textContent.includes(` + jsString(id+" was enabled") + `)`)

	// Remove: a confirm step, then gone.
	run(chromedp.Click(chromedp.CSS("#remove-"+id)),
		chromedp.WaitVisible(chromedp.CSS("#confirm-remove-endpoint")),
		chromedp.Click(chromedp.CSS("#remove-endpoint-confirm")),
		chromedp.WaitVisible(chromedp.CSS("#no-endpoints")))
	if got := eval(`document.querySelector('#flash').textContent`); !strings.Contains(got, id+" was removed") {
		t.Errorf("flash = %q", got)
	}
	if got := eval(`document.querySelector('#endpoints tr[data-id]') ? 'listed' : 'gone'`); got != "gone" {
		t.Error("the removed endpoint is still listed")
	}
	if n := len(browsertest.Get(t, ctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#endpoints tr[data-id]')].map(r => r.id)`))); n != 0 {
		t.Errorf("%d endpoints listed after removal", n)
	}
	console.NoErrors(t)
}

// TestBrowserOperations: an endpoint that answers 410 Gone is disabled;
// the business sees why, as a notice on the Overview and on the
// endpoint's page, and the operator, signed in with the admin key on a
// page of its own, sees it among the platform's unhealthy endpoints.
func TestBrowserOperations(t *testing.T) {
	const adminKey = "browser-operator-key-0123456789abcdefgh"
	p := newPlatformWith(t, dashboard.Config{AdminKey: adminKey})
	gone := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodGet {
			w.Write([]byte(r.URL.Query().Get("hub.challenge")))
			return
		}
		http.Error(w, "this endpoint is gone", http.StatusGone)
	}))
	t.Cleanup(gone.Close)
	ctx := browsertest.New(t)
	console := browsertest.WatchConsole(t, ctx)
	run := func(actions ...chromedp.Action[chromedp.Void]) { t.Helper(); browsertest.Run(t, ctx, actions...) }
	eval := func(js string) string { t.Helper(); return browsertest.Get(t, ctx, chromedp.Evaluate[string](js)) }
	waitFor := func(js string) { t.Helper(); browsertest.Get(t, ctx, chromedp.Poll[bool](js)) }

	run(chromedp.Navigate(p.srv.URL+"/settings/webhooks"),
		chromedp.WaitVisible(chromedp.CSS("#api-key")),
		chromedp.SendKeys(chromedp.CSS("#api-key"), p.acc.APIKey),
		chromedp.Click(chromedp.CSS("#key-signin")),
		chromedp.WaitVisible(chromedp.CSS("#webhook-form")),
		chromedp.SendKeys(chromedp.CSS("#webhook-url"), gone.URL+"/webhook"),
		chromedp.SendKeys(chromedp.CSS("#verify-token"), "tok"),
		chromedp.Click(chromedp.CSS("#verify-save")),
		chromedp.WaitVisible(chromedp.CSS(`#verify-result[data-ok="true"]`)))
	if _, err := p.msg.Send(context.Background(), messaging.SendParams{AccountID: p.acc.Account.ID, PhoneNumberID: p.acc.PhoneNumber.ID,
		To: "254712345678"}); err != nil {
		t.Fatal(err)
	}
	// The Overview's notices say it was disabled, and link to it.
	// (The Overview is not live: the page asks for it until the turn that
	// disabled the endpoint has run, then shows it.)
	browsertest.Get(t, ctx, chromedp.Poll[bool](`fetch('/').then(r => r.text()).then(t => t.includes('data-type="endpoint.disabled"'))`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(browsertest.Timeout)))
	run(chromedp.Navigate(p.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`#notices li[data-type="endpoint.disabled"]`)))
	notice := eval(`document.querySelector('#notices li[data-type="endpoint.disabled"]').textContent`)
	if !strings.Contains(notice, "410") {
		t.Errorf("the notice = %q, want the reason", notice)
	}
	browsertest.Screenshot(t, ctx, "dashboard-notices")
	checkAccessible(t, ctx, "dashboard-notices")
	run(chromedp.Click(chromedp.CSS(`#notices li[data-type="endpoint.disabled"] a`)),
		chromedp.WaitVisible(chromedp.CSS("#endpoint-disabled-reason")))
	if got := eval(`document.querySelector('#endpoint-disabled-reason').textContent`); !strings.Contains(got, "410 Gone") {
		t.Errorf("the endpoint's page says %q", got)
	}

	// The operator: a wrong key is refused, the admin key opens the page.
	run(chromedp.Navigate(p.srv.URL+"/operator"),
		chromedp.WaitVisible(chromedp.CSS("#admin-key")))
	checkAccessible(t, ctx, "operator-signin")
	run(chromedp.SendKeys(chromedp.CSS("#admin-key"), p.acc.APIKey),
		chromedp.Click(chromedp.CSS("#operator-signin")),
		chromedp.WaitVisible(chromedp.CSS("#problem")))
	run(chromedp.SendKeys(chromedp.CSS("#admin-key"), adminKey),
		chromedp.Click(chromedp.CSS("#operator-signin")),
		chromedp.WaitVisible(chromedp.CSS("#operator-unhealthy")))
	waitFor(`document.querySelector('#operator-unhealthy tr[data-health="disabled"]') !== null`)
	row := eval(`document.querySelector('#operator-unhealthy tr[data-health="disabled"]').textContent`)
	if !strings.Contains(row, p.acc.Account.ID) || !strings.Contains(row, "410 Gone") {
		t.Errorf("the operator's row = %q, want the account and the reason", row)
	}
	if got := eval(`document.querySelector('#operator-backlog').textContent`); got != "3" {
		t.Errorf("the operator's backlog = %s, want the 3 statuses waiting on the disabled endpoint", got)
	}
	browsertest.Screenshot(t, ctx, "operator-health")
	checkAccessible(t, ctx, "operator-health")
	run(chromedp.Click(chromedp.CSS("#operator-signout")), chromedp.WaitVisible(chromedp.CSS("#admin-key")))
	// The failed sign-in answered 401 on purpose.
	for _, e := range console.Errors(t) {
		if !strings.Contains(e, "status of 401 (Unauthorized) ("+p.srv.URL+"/operator/signin)") {
			t.Errorf("the page reported: %s", e)
		}
	}
}
