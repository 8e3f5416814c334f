package dashboard_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/messaging"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/sdk/webhook"
)

// Secrets of the endpoint tests: custom header values that must never
// appear in a page, and their masks.
const (
	longSecret  = "gw-key-0123456789-abcdefWXYZ" // ≥ 16 characters: its last 4 show
	shortSecret = "s3cr3t"                       // < 16: only •••• shows
	verifyToken = "ep-verify-token"
)

// countingReceiver answers the handshake for token and counts the
// requests it got.
func countingReceiver(t *testing.T, token string) (string, *atomic.Int64) {
	t.Helper()
	var n atomic.Int64
	check := echo(token)
	srv := receiver(t, func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		check(w, r)
	})
	return srv.URL, &n
}

// addNumber gives the account another sandbox number in waba.
func (f *fixture) addNumber(accountID, id, waba, display string) bahasha.PhoneNumber {
	f.t.Helper()
	n := bahasha.PhoneNumber{ID: id, AccountID: accountID, WABAID: waba, DisplayPhoneNumber: display, Sandbox: true, CreatedAt: f.clock.Now()}
	if err := f.st.AddPhoneNumber(context.Background(), n); err != nil {
		f.t.Fatal(err)
	}
	return n
}

// createEndpoint adds an endpoint without a handshake.
func (f *fixture) createEndpoint(e bahasha.Endpoint) bahasha.Endpoint {
	f.t.Helper()
	secret, err := webhook.NewSigningSecret(nil)
	if err != nil {
		f.t.Fatal(err)
	}
	if e.VerifyToken == "" {
		e.VerifyToken = verifyToken
	}
	e.VerifiedAt, e.Secret = f.clock.Now(), secret
	e, err = f.st.CreateEndpoint(context.Background(), store.CreateEndpointParams{Max: store.MaxEndpoints, Now: f.clock.Now(), Endpoint: e})
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

// endpoints lists an account's endpoints.
func (f *fixture) endpoints(accountID string) []bahasha.Endpoint {
	f.t.Helper()
	es, err := f.st.Endpoints(context.Background(), accountID)
	if err != nil {
		f.t.Fatal(err)
	}
	return es
}

func (f *fixture) endpointByID(accountID string, id int64) bahasha.Endpoint {
	f.t.Helper()
	e, err := f.st.EndpointByID(context.Background(), store.GetEndpointParams{AccountID: accountID, EndpointID: id})
	if err != nil {
		f.t.Fatal(err)
	}
	return e
}

// noSecrets fails when a page shows a custom header value, a verify
// token or a start of one.
func noSecrets(t *testing.T, where string, body string) {
	t.Helper()
	for _, s := range []string{longSecret, longSecret[:12], shortSecret, verifyToken} {
		if strings.Contains(html.UnescapeString(body), s) {
			t.Errorf("%s shows the secret %q:\n%s", where, s, excerpt(body))
		}
	}
}

// expectU is expect on the text of the page: entities (html/template
// writes + as &#43;) decoded.
func expectU(t *testing.T, r *resp, status int, want ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body:\n%s", r.Status, status, excerpt(r.Body))
	}
	text := html.UnescapeString(r.Body)
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Fatalf("body does not contain %q:\n%s", w, excerpt(r.Body))
		}
	}
}

// location checks a 303 and returns where it goes.
func location(t *testing.T, r *resp) string {
	t.Helper()
	if r.Status != http.StatusSeeOther {
		t.Fatalf("status %d, want 303; body:\n%s", r.Status, excerpt(r.Body))
	}
	return r.Header.Get("Location")
}

var endpointPathRE = regexp.MustCompile(`^/settings/webhooks/endpoints/(wh_\d+)\?flash=created$`)

func TestEndpointsAddListEdit(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	num := f.acc.PhoneNumber
	second := f.addNumber(f.acc.Account.ID, "990000000000001", "880000000000001", "+254700999001")
	expectU(t, f.get("/settings/webhooks", token), http.StatusOK, `id="no-endpoints"`, `id="add-endpoint-form"`,
		`<option value="account" selected>`, `<option value="phone_number:`+num.ID+`">`+num.DisplayPhoneNumber,
		`<option value="waba:`+second.WABAID+`">WABA `+second.WABAID+` (+254700999001)`, `id="ep-events-statuses"`, `id="ep-events-messages"`)

	// Add an endpoint for the first number: messages only, two custom
	// headers, a rate limit.
	rcvURL, calls := countingReceiver(t, verifyToken)
	wakes := f.waker.n.Load()
	r := f.post("/settings/webhooks/endpoints", token, url.Values{
		"url": {rcvURL + "/orders"}, "verify_token": {verifyToken}, "scope": {"phone_number:" + num.ID}, "events": {"messages"},
		"headers": {"x-api-key: " + longSecret + "\r\nX-Short:" + shortSecret + "\r\n\r\n"}, "rate_limit": {"5"}, "description": {"Orders bot"}})
	loc := location(t, r)
	m := endpointPathRE.FindStringSubmatch(loc)
	if m == nil {
		t.Fatalf("created: Location %q", loc)
	}
	pub := m[1]
	if calls.Load() != 1 {
		t.Errorf("the handshake ran %d times", calls.Load())
	}
	if f.waker.n.Load() == wakes {
		t.Error("the engine was not woken")
	}
	es := f.endpoints(f.acc.Account.ID)
	if len(es) != 1 {
		t.Fatalf("endpoints: %+v", es)
	}
	e := es[0]
	if e.PublicID() != pub || e.URL != rcvURL+"/orders" || e.VerifyToken != verifyToken || e.Scope != (bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: num.ID}) ||
		!reflect.DeepEqual(e.Events, []string{"messages"}) || !reflect.DeepEqual(e.Headers, map[string]string{"X-Api-Key": longSecret, "X-Short": shortSecret}) ||
		e.RateLimit != 5 || e.Description != "Orders bot" || e.Disabled || e.Primary || !strings.HasPrefix(e.Secret, "whsec_") {
		t.Fatalf("the endpoint saved: %+v", e)
	}
	masked := "X-Api-Key: ••••WXYZ"
	r = f.get(loc, token)
	expectU(t, r, http.StatusOK, "Verified and added", `id="endpoint-url">`+rcvURL+"/orders<", masked, "X-Short: ••••<",
		`id="endpoint-events">messages<`, "5 events per second", num.DisplayPhoneNumber, `<option value="phone_number:`+num.ID+`" selected>`,
		`<input type="checkbox" id="ep-events-messages" name="events" value="messages" checked>`, "X-Api-Key: \nX-Short: </textarea>", `value="Orders bot"`)
	noSecrets(t, "the endpoint's page", r.Body)
	if strings.Contains(html.UnescapeString(r.Body), e.Secret) {
		t.Error("the endpoint's page shows the signing secret before Reveal")
	}

	// Two more: the account's (all events) and the second number's WABA.
	acct := f.createEndpoint(bahasha.Endpoint{AccountID: f.acc.Account.ID, URL: "http://127.0.0.1:1/all", Scope: bahasha.AccountScope})
	waba := f.createEndpoint(bahasha.Endpoint{AccountID: f.acc.Account.ID, URL: "http://127.0.0.1:1/waba", Scope: bahasha.Scope{Kind: bahasha.ScopeWABA, ID: second.WABAID},
		Events: []string{"statuses"}})
	r = f.get("/settings/webhooks", token)
	expectU(t, r, http.StatusOK, `id="endpoints" data-count="3"`)
	noSecrets(t, "Settings → Webhooks", r.Body)
	// By scope: the account, then the WABA, then the number.
	iAcct, iWABA, iNum := strings.Index(r.Body, `id="scope-account"`), strings.Index(r.Body, `id="scope-waba-`+second.WABAID+`"`),
		strings.Index(r.Body, `id="scope-phone_number-`+num.ID+`"`)
	if iAcct < 0 || iWABA < iAcct || iNum < iWABA {
		t.Fatalf("scope groups out of order: %d %d %d\n%s", iAcct, iWABA, iNum, excerpt(r.Body))
	}
	numGroup := section(t, r.Body, "scope-phone_number-"+num.ID)
	for _, want := range []string{num.DisplayPhoneNumber, `<tr id="` + pub + `"`, `data-status="verified"`, `data-health="healthy"`, rcvURL + "/orders", "Orders bot",
		">messages<", masked, "X-Short: ••••<", "5/s", `id="disable-` + pub + `"`, `id="verify-` + pub + `"`, `id="remove-` + pub + `"`} {
		if !strings.Contains(html.UnescapeString(numGroup), want) {
			t.Errorf("the number's group does not show %q:\n%s", want, numGroup)
		}
	}
	acctGroup := section(t, r.Body, "scope-account")
	if !strings.Contains(acctGroup, `<tr id="`+acct.PublicID()+`"`) || !strings.Contains(acctGroup, ">all events<") || strings.Contains(acctGroup, pub) {
		t.Errorf("the account's group:\n%s", acctGroup)
	}
	if g := section(t, r.Body, "scope-waba-"+second.WABAID); !strings.Contains(g, waba.PublicID()) || !strings.Contains(g, ">statuses<") {
		t.Errorf("the WABA's group:\n%s", g)
	}

	// Edit without touching the URL or token: no handshake. An empty
	// header value keeps the saved one, a missing line removes it.
	r = f.post("/settings/webhooks/endpoints/"+pub, token, url.Values{
		"url": {rcvURL + "/orders"}, "verify_token": {""}, "scope": {"phone_number:" + second.ID}, "events": {"statuses", "messages"},
		"headers": {"X-Api-Key: \r\nX-New: fresh-value-0123456789"}, "rate_limit": {""}, "description": {" Orders and statuses "}})
	if got := location(t, r); got != "/settings/webhooks/endpoints/"+pub+"?flash=saved" {
		t.Fatalf("saved: Location %q", got)
	}
	if calls.Load() != 1 {
		t.Errorf("an edit that kept the URL and token ran the handshake")
	}
	e2 := f.endpointByID(f.acc.Account.ID, e.ID)
	if e2.Scope.ID != second.ID || !reflect.DeepEqual(e2.Events, []string{"statuses", "messages"}) || e2.RateLimit != 0 || e2.Description != "Orders and statuses" ||
		!reflect.DeepEqual(e2.Headers, map[string]string{"X-Api-Key": longSecret, "X-New": "fresh-value-0123456789"}) || e2.VerifyToken != verifyToken || e2.URL != e.URL {
		t.Fatalf("after the edit: %+v", e2)
	}
	r = f.get("/settings/webhooks/endpoints/"+pub+"?flash=saved", token)
	expectU(t, r, http.StatusOK, "Saved.", "X-New: ••••6789", masked, `id="endpoint-rate">none<`)
	noSecrets(t, "the endpoint's page after the edit", r.Body)
	if strings.Contains(html.UnescapeString(r.Body), "fresh-value") {
		t.Error("the page shows a header value just saved")
	}
	if g := section(t, f.get("/settings/webhooks", token).Body, "scope-phone_number-"+second.ID); !strings.Contains(g, pub) {
		t.Errorf("the endpoint is not listed under its new number:\n%s", g)
	}

	// A new URL and token are verified first.
	newURL, newCalls := countingReceiver(t, "new-token")
	r = f.post("/settings/webhooks/endpoints/"+pub, token, url.Values{"url": {newURL}, "verify_token": {"new-token"}, "scope": {"phone_number:" + second.ID}})
	if got := location(t, r); got != "/settings/webhooks/endpoints/"+pub+"?flash=verified" || newCalls.Load() != 1 {
		t.Fatalf("new URL: %q, %d handshakes", got, newCalls.Load())
	}
	if e3 := f.endpointByID(f.acc.Account.ID, e.ID); e3.URL != newURL || e3.VerifyToken != "new-token" || e3.Headers["X-Api-Key"] != longSecret {
		t.Fatalf("after the new URL: %+v", e3)
	}
	// The primary webhook's scope is the account's: its form offers no other.
	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/primary")
	primary, _ := f.endpoint(f.acc.Account.ID)
	r = f.get("/settings/webhooks/endpoints/"+primary.PublicID(), token)
	expectU(t, r, http.StatusOK, `<span class="badge">primary</span>`, `<option value="account" selected>`)
	if strings.Contains(r.Body, `<option value="phone_number:`) {
		t.Error("the primary webhook's form offers a number's scope")
	}
	r = f.post("/settings/webhooks/endpoints/"+primary.PublicID(), token, url.Values{"url": {primary.URL}, "scope": {"phone_number:" + num.ID}})
	expectU(t, r, http.StatusBadRequest, `id="problem"`, "covers the whole account")
	if strings.Contains(f.log.String(), longSecret) || strings.Contains(f.log.String(), shortSecret) {
		t.Error("a header value reached the log")
	}
}

func TestEndpointBadInput(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	num := f.acc.PhoneNumber
	rcvURL, calls := countingReceiver(t, verifyToken)
	cur := f.createEndpoint(bahasha.Endpoint{AccountID: f.acc.Account.ID, URL: rcvURL + "/cur", Scope: bahasha.AccountScope,
		Headers: map[string]string{"X-Api-Key": longSecret}, RateLimit: 7, Description: "kept"})
	otherNum := f.other.PhoneNumber
	good := func(kv ...string) url.Values {
		v := url.Values{"url": {rcvURL + "/new"}, "verify_token": {verifyToken}, "scope": {"phone_number:" + num.ID}, "events": {"statuses"},
			"headers": {"X-Api-Key: " + longSecret}, "rate_limit": {"10"}, "description": {"d"}}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] == "<absent>" {
				v.Del(kv[i])
				continue
			}
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	cases := []struct {
		name   string
		form   url.Values
		status int
		want   string
		// edit: the case applies to the edit form only; add: to the add form only.
		edit, add bool
	}{
		{"no URL", good("url", " "), 400, "Enter the endpoint URL", false, false},
		{"no token", good("verify_token", ""), 400, "Enter the verification token", false, true},
		{"long token", good("verify_token", strings.Repeat("t", 513)), 400, "longer than 512", false, false},
		{"unknown scope kind", good("scope", "region:eu"), 400, `The scope "region:eu" is not one Bahasha knows`, false, false},
		{"unknown phone number", good("scope", "phone_number:123"), 400, `This account has no phone number "123"`, false, false},
		{"another account's number", good("scope", "phone_number:"+otherNum.ID), 400, "This account has no phone number", false, false},
		{"unknown WABA", good("scope", "waba:"+f.other.PhoneNumber.WABAID), 400, "This account has no WhatsApp Business Account", false, false},
		{"bad event", good("events", "reactions"), 400, `"reactions" is not an event filter`, false, false},
		{"Host header", good("headers", "Host: evil.example"), 400, `header "Host" is set by Bahasha itself`, false, false},
		{"Content-Type header", good("headers", "content-type: text/plain"), 400, `is set by Bahasha itself`, false, false},
		{"signature header", good("headers", "X-Hub-Signature-256: sha256=00"), 400, `header "X-Hub-Signature-256" is set by Bahasha itself`, false, false},
		{"Bahasha's prefix", good("headers", "Webhook-Id: x"), 400, "is set by Bahasha itself", false, false},
		{"CR in a value", good("headers", "X-Token: abc\rInjected: yes"), 400, "control character (such as CR or LF)", false, false},
		{"NUL in a value", good("headers", "X-Token: abc\x00def"), 400, "control character", false, false},
		{"bad header name", good("headers", "X Token: abc"), 400, "is not valid", false, false},
		{"no colon", good("headers", "just-a-value-0123456789"), 400, "line 1 has no header name", false, false},
		{"twice", good("headers", "X-A: 1\nx-a: 2"), 400, "is given twice", false, false},
		{"no value", good("headers", "X-New:"), 400, `The header "X-New" has no value`, false, false},
		{"masked value", good("headers", "X-New: ••••WXYZ"), 400, "masked", false, false},
		{"rate limit negative", good("rate_limit", "-1"), 400, "from 1 to 100000", false, false},
		{"rate limit too high", good("rate_limit", "100001"), 400, "from 1 to 100000", false, false},
		{"rate limit not a number", good("rate_limit", "fast"), 400, `The rate limit "fast"`, false, false},
		{"long description", good("description", strings.Repeat("d", 201)), 400, "longer than 200", false, false},
		{"not a URL", good("url", "yourapp.com/hook"), 400, "must start with https://", false, false},
		{"failed handshake", good("verify_token", "wrong-token"), 422, "the verification token did not match", false, false},
	}
	before := f.endpoints(f.acc.Account.ID)
	wakes := f.waker.n.Load()
	for _, tc := range cases {
		for _, form := range []string{"add", "edit"} {
			if tc.edit && form == "add" || tc.add && form == "edit" {
				continue
			}
			t.Run(form+"/"+tc.name, func(t *testing.T) {
				path := "/settings/webhooks/endpoints"
				if form == "edit" {
					path += "/" + cur.PublicID()
				}
				n := calls.Load()
				r := f.post(path, token, tc.form)
				expectU(t, r, tc.status)
				if !strings.Contains(html.UnescapeString(r.Body), tc.want) {
					t.Errorf("no %q on the page:\n%s", tc.want, excerpt(r.Body))
				}
				if tc.status == 400 && !strings.Contains(r.Body, `id="problem"`) && !strings.Contains(r.Body, `data-ok="false"`) {
					t.Errorf("no message:\n%s", excerpt(r.Body))
				}
				if tc.status == 422 && !strings.Contains(r.Body, `data-ok="false"`) {
					t.Errorf("no handshake diagnosis:\n%s", excerpt(r.Body))
				}
				if tc.status == 400 && calls.Load() != n {
					t.Error("refused input reached the endpoint")
				}
				// The form is shown again, without the values of the
				// headers and the token.
				if !strings.Contains(r.Body, `id="ep-url"`) {
					t.Errorf("the form is not shown again:\n%s", excerpt(r.Body))
				}
				noSecrets(t, "the refused form", r.Body)
				if after := f.endpoints(f.acc.Account.ID); !reflect.DeepEqual(after, before) {
					t.Errorf("refused input changed the endpoints:\n%+v\nwas\n%+v", after, before)
				}
			})
		}
	}
	// Only the failed edit's handshake woke it: for its
	// endpoint.verification_failed operational event.
	if got := f.waker.n.Load() - wakes; got != 1 {
		t.Errorf("refused input woke the engine %d times, want once (the failed edit's endpoint.verification_failed)", got)
	}
	// The refused add form keeps what was entered, but no secret.
	r := f.post("/settings/webhooks/endpoints", token, good("rate_limit", "fast", "description", "my bot"))
	expectU(t, r, http.StatusBadRequest, `value="fast"`, `value="my bot"`, `<option value="phone_number:`+num.ID+`" selected>`,
		`value="statuses" checked`, "X-Api-Key: </textarea>", `id="ep-headers-retype"`)
	// A refused URL's credentials are not shown back either.
	r = f.post("/settings/webhooks/endpoints", token, good("url", "https://user:hunter2@exa mple.com/x"))
	if r.Status != 400 || strings.Contains(html.UnescapeString(r.Body), "hunter2") {
		t.Errorf("refused URL with credentials: %d\n%s", r.Status, excerpt(r.Body))
	}
	// Too large a form is refused before anything else.
	expectU(t, f.post("/settings/webhooks/endpoints", token, good("headers", "X-Big: "+strings.Repeat("b", 70<<10))), http.StatusRequestEntityTooLarge, "larger than")
	expectU(t, f.post("/settings/webhooks/endpoints/"+cur.PublicID(), token, good("description", "\xff")), http.StatusBadRequest, "is not valid UTF-8 text")
}

func TestEndpointActions(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	rcvURL, calls := countingReceiver(t, verifyToken)
	e := f.createEndpoint(bahasha.Endpoint{AccountID: f.acc.Account.ID, URL: rcvURL + "/hook", Scope: bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: f.acc.PhoneNumber.ID},
		Headers: map[string]string{"Authorization": "Bearer " + longSecret}})
	pub := e.PublicID()
	path := "/settings/webhooks/endpoints/" + pub

	// Verify again: passes.
	f.clock.Advance(time.Minute)
	r := f.post(path+"/verify", token, nil)
	expectU(t, r, http.StatusOK, `id="verify-result"`, `data-ok="true"`, "Its verification time is now")
	if got := f.endpointByID(f.acc.Account.ID, e.ID).VerifiedAt; !got.After(e.VerifiedAt) || calls.Load() != 1 {
		t.Errorf("verified at %v (was %v), %d handshakes", got, e.VerifiedAt, calls.Load())
	}
	noSecrets(t, "the verify page", r.Body)
	// Verify again with a handler that no longer answers: the diagnosis,
	// and the endpoint stays as it was.
	wrongURL, _ := countingReceiver(t, "another-token")
	if _, err := f.st.UpdateEndpoint(context.Background(), store.UpdateEndpointParams{Now: f.clock.Now(), Endpoint: func() bahasha.Endpoint {
		x := f.endpointByID(f.acc.Account.ID, e.ID)
		x.URL = wrongURL
		return x
	}()}); err != nil {
		t.Fatal(err)
	}
	was := f.endpointByID(f.acc.Account.ID, e.ID)
	r = f.post(path+"/verify", token, nil)
	expectU(t, r, http.StatusUnprocessableEntity, `data-ok="false"`, `data-reason="token_rejected"`, "Not verified", `id="verify-request"`, "stays as it was")
	if got := f.endpointByID(f.acc.Account.ID, e.ID); !reflect.DeepEqual(got, was) {
		t.Errorf("a failed verification changed the endpoint: %+v", got)
	}

	// Disable from the list, enable from its page.
	r = f.post(path+"/disable", token, nil)
	loc := location(t, r)
	if loc != "/settings/webhooks?endpoint="+pub+"&flash=disabled#"+pub {
		t.Fatalf("disable: Location %q", loc)
	}
	if !f.endpointByID(f.acc.Account.ID, e.ID).Disabled {
		t.Fatal("not disabled")
	}
	r = f.get(strings.TrimSuffix(loc, "#"+pub), token)
	expectU(t, r, http.StatusOK, pub+" was disabled", `<tr id="`+pub+`" data-id="`+pub+`" data-status="disabled"`, `id="enable-`+pub+`"`)
	r = f.post(path+"/enable", token, url.Values{"return": {"endpoint"}})
	if loc := location(t, r); loc != path+"?flash=enabled" {
		t.Fatalf("enable: Location %q", loc)
	}
	if f.endpointByID(f.acc.Account.ID, e.ID).Disabled {
		t.Fatal("not enabled")
	}
	expectU(t, f.get(path+"?flash=enabled", token), http.StatusOK, "Enabled: its waiting deliveries flow", `data-status="verified"`, `id="disable-endpoint"`)
	// A return value that is not a page of ours goes to the settings page.
	if loc := location(t, f.post(path+"/disable", token, url.Values{"return": {"https://evil.example"}})); !strings.HasPrefix(loc, "/settings/webhooks?") {
		t.Errorf("return=evil: Location %q", loc)
	}
	f.post(path+"/enable", token, nil)

	// The signing secret: only in a POST's response; Rotate keeps the
	// previous one signing.
	secret := f.endpointByID(f.acc.Account.ID, e.ID).Secret
	if r := f.get(path, token); strings.Contains(html.UnescapeString(r.Body), secret) {
		t.Fatal("the page shows the signing secret before Reveal")
	}
	expectU(t, f.post(path+"/secret", token, nil), http.StatusOK, `id="signing-secret">`+secret+"<")
	r = f.post(path+"/secret/rotate", token, nil)
	fresh := f.endpointByID(f.acc.Account.ID, e.ID).Secret
	expectU(t, r, http.StatusOK, `id="signing-secret">`+fresh+"<", `id="previous-signing-secret">`+secret+"<", "The signing secret was rotated", `id="signing-rotate-note"`)
	if fresh == secret || !strings.HasPrefix(fresh, "whsec_") {
		t.Fatalf("rotation: %q, was %q", fresh, secret)
	}
	if strings.Contains(f.log.String(), fresh) || strings.Contains(f.log.String(), secret) {
		t.Error("a signing secret reached the log")
	}

	// Remove: a confirm step first, which changes nothing.
	f.send(f.acc, "254712345678") // pending deliveries to it
	r = f.post(path+"/remove", token, nil)
	expectU(t, r, http.StatusOK, `id="confirm-remove-endpoint"`, `id="remove-endpoint-confirm"`, "Yes, remove it")
	if len(f.endpoints(f.acc.Account.ID)) != 1 {
		t.Fatal("removed before the confirmation")
	}
	r = f.post(path+"/remove", token, url.Values{"confirm": {"yes"}})
	if loc := location(t, r); loc != "/settings/webhooks?endpoint="+pub+"&flash=endpoint-removed" {
		t.Fatalf("remove: Location %q", loc)
	}
	if es := f.endpoints(f.acc.Account.ID); len(es) != 0 {
		t.Fatalf("still there: %+v", es)
	}
	for _, d := range f.deliveries(f.acc.Account.ID) {
		if d.State != bahasha.DeliveryFailed {
			t.Errorf("a delivery of the removed endpoint is %s", d.State)
		}
	}
	expectU(t, f.get("/settings/webhooks?endpoint="+pub+"&flash=endpoint-removed", token), http.StatusOK, pub+" was removed", `id="no-endpoints"`)
	expectU(t, f.get(path, token), http.StatusNotFound, `id="problem"`, "There is no endpoint "+pub)
	expectU(t, f.post(path+"/remove", token, url.Values{"confirm": {"yes"}}), http.StatusNotFound, "There is no endpoint "+pub)
}

func TestEndpointHealthShown(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	e := f.createEndpoint(bahasha.Endpoint{AccountID: f.acc.Account.ID, URL: "http://127.0.0.1:1/hook", Scope: bahasha.AccountScope})
	f.send(f.acc, "254712345678")
	f.failDue() // one failed POST: failing, then probing (the fixture opens the breaker)
	r := f.get("/settings/webhooks", token)
	got := f.endpointByID(f.acc.Account.ID, e.ID)
	state := "failing"
	if got.Probing() {
		state = "probing"
	}
	expectU(t, r, http.StatusOK, `data-health="`+state+`"`, "failing since "+got.FailingSince.UTC().Format("2006-01-02 15:04:05Z"))
	// The overview: the endpoint, its health and its pending deliveries.
	r = f.get("/", token)
	expectU(t, r, http.StatusOK, `id="overview-endpoints"`, `data-endpoint="`+e.PublicID()+`"`, `data-health="`+state+`"`,
		`href="/deliveries?endpoint=`+e.PublicID()+`&state=pending"`)
	pending := 0
	for _, d := range f.deliveries(f.acc.Account.ID) {
		if d.State == bahasha.DeliveryPending {
			pending++
		}
	}
	if !strings.Contains(r.Body, `aria-label="`+e.PublicID()+`: pending deliveries">`+itoa(int64(pending))+`<`) {
		t.Errorf("the overview does not count %d pending:\n%s", pending, excerpt(section(t, r.Body, "overview-endpoints")))
	}
}

// TestOverviewNarrowedToEndpoint: the overview's figures and backlog for
// all endpoints together, or for one.
func TestOverviewNarrowedToEndpoint(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/primary")
	primary, _ := f.endpoint(f.acc.Account.ID)
	second := f.addNumber(f.acc.Account.ID, "990000000000002", f.acc.PhoneNumber.WABAID, "+254700999002")
	mine := f.createEndpoint(bahasha.Endpoint{AccountID: f.acc.Account.ID, URL: "http://127.0.0.1:1/second", Scope: bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: second.ID}})
	sendFrom := func(n bahasha.PhoneNumber) {
		t.Helper()
		if _, err := f.msg.Send(context.Background(), messaging.SendParams{AccountID: f.acc.Account.ID, PhoneNumberID: n.ID, To: "254712345678"}); err != nil {
			t.Fatal(err)
		}
	}
	sendFrom(f.acc.PhoneNumber) // 3 statuses to the primary webhook: delivered
	deliverDue(t, f)
	sendFrom(second) // 3 to the number's endpoint: failed
	f.failDue()
	sendFrom(second) // 3 more to it: pending
	figures := func(query string) (delivered, failedAttempts, backlog string) {
		t.Helper()
		r := f.get("/"+query, token)
		expectU(t, r, http.StatusOK, `id="overview-filter"`)
		hour := section(t, r.Body, "stats-hour")
		get := func(re string, body string) string {
			m := regexp.MustCompile(re).FindStringSubmatch(body)
			if m == nil {
				t.Fatalf("%s: no %s", query, re)
			}
			return m[1]
		}
		return get(`<dd class="delivered">(\d+)<`, hour), get(`<dd class="failed-attempts">(\d+)<`, hour), get(`id="backlog">(\d+)<`, r.Body)
	}
	for _, tc := range []struct{ query, delivered, failed, backlog string }{
		{"", "3", "3", "3"},
		{"?endpoint=" + primary.PublicID(), "3", "0", "0"},
		{"?endpoint=" + mine.PublicID(), "0", "3", "3"},
	} {
		if d, fa, b := figures(tc.query); d != tc.delivered || fa != tc.failed || b != tc.backlog {
			t.Errorf("overview %q: delivered %s, failed attempts %s, backlog %s; want %s, %s, %s", tc.query, d, fa, b, tc.delivered, tc.failed, tc.backlog)
		}
	}
	r := f.get("/?endpoint="+mine.PublicID(), token)
	expectU(t, r, http.StatusOK, `<option value="`+mine.PublicID()+`" selected>`, mine.PublicID()+": health", `<tr data-endpoint="`+mine.PublicID()+`" class="selected"`,
		`aria-label="`+mine.PublicID()+`: pending deliveries">3<`, `aria-label="`+primary.PublicID()+`: pending deliveries">0<`)
	if strings.Contains(r.Body, `id="empty-state"`) {
		t.Error("a narrowed overview shows the getting-started card")
	}
	// Another account's endpoint, or no endpoint id: the error page.
	theirs := f.createEndpoint(bahasha.Endpoint{AccountID: f.other.Account.ID, URL: "http://127.0.0.1:1/theirs", Scope: bahasha.AccountScope})
	expectU(t, f.get("/?endpoint="+theirs.PublicID(), token), http.StatusNotFound, `id="problem"`, "This account has no endpoint "+theirs.PublicID())
	expectU(t, f.get("/?endpoint=nope", token), http.StatusBadRequest, `id="problem"`, "is not an endpoint id")
}

func TestEndpointTenancy(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	theirs := f.createEndpoint(bahasha.Endpoint{AccountID: f.other.Account.ID, URL: "http://127.0.0.1:1/theirs", Scope: bahasha.AccountScope,
		Headers: map[string]string{"X-Api-Key": longSecret}, Description: "their endpoint"})
	mine := f.createEndpoint(bahasha.Endpoint{AccountID: f.acc.Account.ID, URL: "http://127.0.0.1:1/mine", Scope: bahasha.AccountScope})
	path := "/settings/webhooks/endpoints/" + theirs.PublicID()
	expectU(t, f.get(path, token), http.StatusNotFound, `id="problem"`, "There is no endpoint "+theirs.PublicID()+" in this account")
	for _, p := range []string{"", "/verify", "/disable", "/enable", "/remove", "/secret", "/secret/rotate"} {
		r := f.post(path+p, token, url.Values{"url": {"http://127.0.0.1:1/stolen"}, "confirm": {"yes"}})
		expectU(t, r, http.StatusNotFound, `id="problem"`)
		if strings.Contains(html.UnescapeString(r.Body), theirs.Secret) || strings.Contains(html.UnescapeString(r.Body), "their endpoint") || strings.Contains(html.UnescapeString(r.Body), "/theirs") {
			t.Errorf("POST %s shows the other account's endpoint:\n%s", p, excerpt(r.Body))
		}
	}
	if got := f.endpointByID(f.other.Account.ID, theirs.ID); !reflect.DeepEqual(got, theirs) {
		t.Errorf("the other account's endpoint changed: %+v", got)
	}
	r := f.get("/settings/webhooks", token)
	if !strings.Contains(r.Body, mine.PublicID()) || strings.Contains(html.UnescapeString(r.Body), "/theirs") {
		t.Errorf("the list:\n%s", excerpt(r.Body))
	}
	for _, bad := range []string{"wh_x", "12", "wh_0", "wh_99999"} {
		expectU(t, f.get("/settings/webhooks/endpoints/"+bad, token), http.StatusNotFound, `id="problem"`)
	}
	// Nor can their id filter my deliveries.
	expectU(t, f.get("/deliveries?endpoint="+theirs.PublicID(), token), http.StatusNotFound, `id="problem"`, "This account has no endpoint "+theirs.PublicID())
	if r := f.get("/deliveries/stream?endpoint="+theirs.PublicID(), token); r.Status != http.StatusNotFound {
		t.Errorf("stream with another account's endpoint: %d", r.Status)
	}
}

func TestDeliveriesEndpointFilter(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/primary")
	primary, _ := f.endpoint(f.acc.Account.ID)
	// A second endpoint at the account's scope: every event goes to both.
	second := f.createEndpoint(bahasha.Endpoint{AccountID: f.acc.Account.ID, URL: "http://127.0.0.1:1/second", Scope: bahasha.AccountScope,
		Headers: map[string]string{"X-Api-Key": longSecret}, Description: "analytics"})
	f.send(f.acc, "254712345678")
	if n := len(f.deliveries(f.acc.Account.ID)); n != 6 {
		t.Fatalf("%d deliveries, want 3 statuses × 2 endpoints", n)
	}
	r := f.get("/deliveries", token)
	expectU(t, r, http.StatusOK, `<option value="" selected>All endpoints</option>`, `<option value="`+second.PublicID()+`">`+second.PublicID()+` — http://127.0.0.1:1/second (analytics)</option>`,
		`data-endpoint="`+primary.PublicID()+`"`, `data-endpoint="`+second.PublicID()+`"`, `<td class="endpoint-id"><code>`+second.PublicID()+`</code></td>`)
	if n := len(rows(r.Body)); n != 6 {
		t.Errorf("all endpoints: %d rows", n)
	}
	r = f.get("/deliveries?endpoint="+second.PublicID(), token)
	expectU(t, r, http.StatusOK, `<option value="`+second.PublicID()+`" selected>`, `data-stream="/deliveries/stream?endpoint=`+second.PublicID()+`"`)
	if n := len(rows(r.Body)); n != 3 || strings.Contains(r.Body, `data-endpoint="`+primary.PublicID()+`"`) {
		t.Errorf("endpoint=%s: %d rows\n%s", second.PublicID(), n, excerpt(r.Body))
	}
	// With another filter, and across pages, the endpoint filter stays.
	r = f.get("/deliveries?state=pending&endpoint="+primary.PublicID(), token)
	if n := len(rows(r.Body)); n != 3 || strings.Contains(r.Body, `data-endpoint="`+second.PublicID()+`"`) {
		t.Errorf("state=pending&endpoint=%s: %d rows", primary.PublicID(), n)
	}
	// Its live stream sends that endpoint's rows only.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s := f.stream(ctx, "/deliveries/stream?endpoint="+second.PublicID(), token)
	s.until("the rows", func(d string) bool {
		return strings.Count(d, `data-endpoint="`+second.PublicID()+`"`) == 3 && !strings.Contains(d, `data-endpoint="`+primary.PublicID()+`"`)
	})
	cancel()
	for _, bad := range []string{"wh_x", "12", "wh_0"} {
		r := f.get("/deliveries?endpoint="+bad, token)
		expectU(t, r, http.StatusBadRequest, `id="problem"`, "is not an endpoint id such as wh_12", `id="filter-form"`)
		if r := f.get("/deliveries/stream?endpoint="+bad, token); r.Status != http.StatusBadRequest {
			t.Errorf("stream ?endpoint=%s: %d", bad, r.Status)
		}
	}
	expectU(t, f.get("/deliveries?endpoint=wh_99999", token), http.StatusNotFound, "This account has no endpoint wh_99999")

	// A delivery's page names its endpoint and shows its custom headers
	// masked.
	var dl bahasha.Delivery
	for _, d := range f.deliveries(f.acc.Account.ID) {
		if d.EndpointID == second.ID {
			dl = d
		}
	}
	r = f.get("/deliveries/dlv_"+itoa(dl.ID), token)
	expectU(t, r, http.StatusOK, `<dd id="delivery-endpoint"><a href="/settings/webhooks/endpoints/`+second.PublicID()+`"><code>`+second.PublicID()+`</code></a></dd>`,
		"X-Api-Key: ••••WXYZ", "Delivers again now to <code>http://127.0.0.1:1/second</code>")
	noSecrets(t, "the delivery's page", r.Body)
	// Its endpoint removed, a retry cannot go anywhere: the page says to
	// replay instead, and a retry is refused.
	if err := f.st.RemoveEndpoint(context.Background(), store.RemoveEndpointParams{AccountID: f.acc.Account.ID, EndpointID: second.ID, Now: f.clock.Now(), Reason: "gone"}); err != nil {
		t.Fatal(err)
	}
	r = f.get("/deliveries/dlv_"+itoa(dl.ID), token)
	expectU(t, r, http.StatusOK, second.PublicID()+"</code> (removed)", "Its endpoint "+second.PublicID()+" was removed")
	expect(t, f.post("/deliveries/dlv_"+itoa(dl.ID)+"/retry", token, nil), http.StatusNotFound, "endpoint was removed")
	for _, p := range []string{"/", "/deliveries", "/settings/webhooks"} {
		noSecrets(t, p, f.get(p, token).Body)
	}
}

// TestEndpointsWithoutPrimary: an account whose only endpoints are a
// number's has no primary webhook, and the pages still say where events go.
func TestEndpointsWithoutPrimary(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	e := f.createEndpoint(bahasha.Endpoint{AccountID: f.acc.Account.ID, URL: "http://127.0.0.1:1/number", Scope: bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: f.acc.PhoneNumber.ID}})
	f.send(f.acc, "254712345678")
	ids := f.failDue()
	expectU(t, f.get("/settings/webhooks", token), http.StatusOK, `id="no-webhook"`, `<tr id="`+e.PublicID()+`"`)
	r := f.get("/deliveries", token)
	if strings.Contains(r.Body, `id="no-webhook-note"`) {
		t.Error("the deliveries page says no webhook is registered")
	}
	expectU(t, f.get("/deliveries/dlv_"+itoa(ids[0]), token), http.StatusOK, "Delivers again now to <code>http://127.0.0.1:1/number</code>")
	if loc := location(t, f.post("/deliveries/dlv_"+itoa(ids[0])+"/retry", token, nil)); !strings.HasSuffix(loc, "?flash=queued") {
		t.Errorf("retry: %q", loc)
	}
}

func TestEndpointFormsRefuseCrossOrigin(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	e := f.createEndpoint(bahasha.Endpoint{AccountID: f.acc.Account.ID, URL: "http://127.0.0.1:1/hook", Scope: bahasha.AccountScope})
	path := "/settings/webhooks/endpoints/" + e.PublicID()
	for _, p := range []string{"/settings/webhooks/endpoints", path, path + "/verify", path + "/disable", path + "/enable", path + "/remove", path + "/secret", path + "/secret/rotate"} {
		for _, h := range [][]string{{"Sec-Fetch-Site", "cross-site"}, {"Origin", "https://evil.example"}} {
			r := f.post(p, token, url.Values{"url": {"http://127.0.0.1:1/x"}, "verify_token": {"t"}, "confirm": {"yes"}}, h...)
			expectU(t, r, http.StatusForbidden, "sent from another site")
			if strings.Contains(html.UnescapeString(r.Body), e.Secret) {
				t.Errorf("POST %s cross-origin shows the signing secret", p)
			}
		}
		// Signed out, a form goes to the sign-in page.
		if r := f.post(p, "", url.Values{"confirm": {"yes"}}); r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/signin" {
			t.Errorf("POST %s signed out: %d %q", p, r.Status, r.Header.Get("Location"))
		}
	}
	if got := f.endpoints(f.acc.Account.ID); len(got) != 1 || !reflect.DeepEqual(got[0], e) {
		t.Errorf("a refused request changed the endpoint: %+v", got)
	}
	// Pages carry the CSP and no inline code.
	for _, p := range []string{path, "/settings/webhooks"} {
		r := f.get(p, token)
		if r.Header.Get("Content-Security-Policy") == "" {
			t.Errorf("%s: no CSP", p)
		}
		if code := inlineCode(r.Body); code != "" {
			t.Errorf("%s: inline code %q", p, code)
		}
	}
}

// TestReplayToEndpoint replays to an endpoint chosen in the form: its
// events go to it, not to the primary webhook.
func TestReplayToEndpoint(t *testing.T) {
	f := newFixture(t)
	acc := f.acc.Account.ID
	f.putEndpoint(acc, "http://127.0.0.1:1/primary")
	f.send(f.acc, "254712345678")
	f.failDue()
	extra := f.createEndpoint(bahasha.Endpoint{AccountID: acc, URL: "http://127.0.0.1:1/extra"})
	f.clock.Advance(time.Minute) // the events are before "now"
	token := f.signin(f.acc.APIKey)
	from := f.clock.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04")

	page := f.get("/replay?preview=1&from="+from+"&endpoint="+extra.PublicID(), token)
	expect(t, page, http.StatusOK, `<option value="`+extra.PublicID()+`" selected>`, `name="endpoint" value="`+extra.PublicID()+`"`,
		`data-count="3"`) // the message's three statuses, which the routing rule sends to it too
	r := f.post("/replay", token, url.Values{"from": {from}, "endpoint": {extra.PublicID()}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("replay: %d %s", r.Status, excerpt(r.Body))
	}
	rs, err := f.st.Replays(context.Background(), store.ListReplaysParams{AccountID: acc, Limit: 5})
	if err != nil || len(rs) != 1 || rs[0].EndpointID != extra.ID {
		t.Fatalf("replays: %+v, %v; want one to %s", rs, err, extra.PublicID())
	}
	pending, err := f.st.Deliveries(context.Background(), store.ListDeliveriesParams{AccountID: acc, EndpointID: extra.ID, State: bahasha.DeliveryPending, Limit: 10})
	if err != nil || len(pending) == 0 {
		t.Fatalf("the replay queued nothing for %s: %v", extra.PublicID(), err)
	}
	expect(t, f.get("/replay", token), http.StatusOK, "<td>"+extra.PublicID()+"</td>")
	expect(t, f.post("/replay", token, url.Values{"from": {from}, "endpoint": {"nope"}}), http.StatusBadRequest, "Choose one of the listed endpoints")
	other := f.createEndpoint(bahasha.Endpoint{AccountID: f.other.Account.ID, URL: "http://127.0.0.1:1/other"})
	expect(t, f.post("/replay", token, url.Values{"from": {from}, "endpoint": {other.PublicID()}}), http.StatusNotFound)
}
