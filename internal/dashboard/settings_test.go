package dashboard_test

import (
	"html"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// receiver is a webhook endpoint whose GET handshake answer a test
// chooses.
func receiver(t *testing.T, answer func(w http.ResponseWriter, r *http.Request)) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(answer))
	t.Cleanup(srv.Close)
	return srv
}

// echo is a correct handshake handler for token.
func echo(token string) func(w http.ResponseWriter, r *http.Request) {
	return func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("hub.mode") != "subscribe" || q.Get("hub.verify_token") != token {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		w.Write([]byte(q.Get("hub.challenge")))
	}
}

func TestVerifyAndSave(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	expect(t, f.get("/settings/webhooks", token), http.StatusOK, `id="no-webhook"`, `<label for="webhook-url">Webhook URL</label>`,
		`<label for="verify-token">Verification token</label>`, "Verify and save")

	good := receiver(t, echo("s3cret-token"))
	wakes := f.waker.n.Load()
	r := f.post("/settings/webhooks", token, url.Values{"url": {good.URL + "/webhook"}, "verify_token": {"s3cret-token"}})
	expect(t, r, http.StatusOK, `id="verify-result"`, `data-ok="true"`, "Verified", `id="current-url">`+good.URL+"/webhook<")
	e, ok := f.endpoint(f.acc.Account.ID)
	if !ok || e.URL != good.URL+"/webhook" || e.VerifyToken != "s3cret-token" {
		t.Fatalf("endpoint after verify: %+v %v", e, ok)
	}
	if f.waker.n.Load() == wakes {
		t.Error("the engine was not woken")
	}
	if strings.Contains(r.Body, "s3cret-token") {
		t.Error("the page shows the verify token")
	}

	// Failures: the page explains, shows the request (token masked) and
	// the answer; the webhook saved before stays.
	cases := []struct {
		name, reason string
		status       int
		answer       func(w http.ResponseWriter, r *http.Request)
		want         []string
	}{
		{"wrong token", "token_rejected", 422, echo("another-token"),
			[]string{"403 Forbidden", "the verification token did not match", "HTTP 403 Forbidden"}},
		{"quoted challenge", "body_mismatch", 422, func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte(`"` + r.URL.Query().Get("hub.challenge") + `"`))
		}, []string{"with quotes", "res.send(challenge) not res.json(challenge)"}},
		{"server error", "wrong_status", 422, func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "db down", http.StatusInternalServerError)
		}, []string{"500 Internal Server Error", "db down"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rcv := receiver(t, tc.answer)
			r := f.post("/settings/webhooks", token, url.Values{"url": {rcv.URL + "/hook?x=1"}, "verify_token": {"s3cret-token"}})
			expect(t, r, tc.status, `data-ok="false"`, `data-reason="`+tc.reason+`"`, "Not verified", `id="verify-request"`,
				"GET "+html.EscapeString(rcv.URL+"/hook?x=1&hub.mode=subscribe&hub.verify_token=***&hub.challenge="))
			for _, w := range tc.want {
				if !strings.Contains(html.UnescapeString(r.Body), w) {
					t.Errorf("the page does not say %q:\n%s", w, excerpt(r.Body))
				}
			}
			if strings.Contains(r.Body, "s3cret-token") {
				t.Error("the page shows the verify token")
			}
			if e2, _ := f.endpoint(f.acc.Account.ID); e2.URL != e.URL || e2.VerifyToken != e.VerifyToken {
				t.Errorf("a failed verification changed the webhook to %q", e2.URL)
			}
		})
	}
	// Nothing listening: no answer, said so.
	dead := receiver(t, echo("x"))
	deadURL := dead.URL
	dead.Close()
	r = f.post("/settings/webhooks", token, url.Values{"url": {deadURL}, "verify_token": {"x"}})
	expect(t, r, 422, `data-reason="connect"`, "connection was refused", "No answer")
	if strings.Contains(f.log.String(), "s3cret-token") {
		t.Error("the verify token reached the log")
	}
}

func TestVerifyAndSaveBadInput(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/before")
	called := false
	rcv := receiver(t, func(w http.ResponseWriter, r *http.Request) { called = true })
	cases := []struct {
		name   string
		form   url.Values
		status int
		want   string
	}{
		{"no URL", url.Values{"url": {"  "}, "verify_token": {"t"}}, 400, "Enter the webhook URL"},
		{"no fields", url.Values{}, 400, "Enter the webhook URL"},
		{"no token", url.Values{"url": {rcv.URL}, "verify_token": {""}}, 400, "Enter the verification token"},
		{"long token", url.Values{"url": {rcv.URL}, "verify_token": {strings.Repeat("t", 513)}}, 400, "longer than 512"},
		{"not a URL", url.Values{"url": {"yourapp.com/webhook"}, "verify_token": {"t"}}, 400, "must start with https://"},
		{"ftp", url.Values{"url": {"ftp://yourapp.com/webhook"}, "verify_token": {"t"}}, 400, "not ftp://"},
		{"long URL", url.Values{"url": {"https://x.example/" + strings.Repeat("a", 3000)}, "verify_token": {"t"}}, 400, "characters long"},
		{"fragment", url.Values{"url": {rcv.URL + "/#x"}, "verify_token": {"t"}}, 400, ""},
		{"form too large", url.Values{"url": {rcv.URL}, "verify_token": {strings.Repeat("t", 70<<10)}}, 413, "larger than"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := f.post("/settings/webhooks", token, tc.form)
			expect(t, r, tc.status, tc.want)
			if tc.status == 400 && !strings.Contains(r.Body, `id="problem"`) && !strings.Contains(r.Body, `data-ok="false"`) {
				t.Errorf("no message on the page:\n%s", excerpt(r.Body))
			}
			if e, _ := f.endpoint(f.acc.Account.ID); e.URL != "http://127.0.0.1:1/before" {
				t.Errorf("the webhook changed to %q", e.URL)
			}
		})
	}
	if called {
		t.Error("bad input reached the endpoint")
	}
	if f.waker.n.Load() != 0 {
		t.Error("bad input woke the engine")
	}
}

func TestPrivateAddressIsExplained(t *testing.T) {
	f := newFixture(t, fixtureOpts{strict: true})
	token := f.signin(f.acc.APIKey)
	r := f.post("/settings/webhooks", token, url.Values{"url": {"https://127.0.0.1/webhook"}, "verify_token": {"t"}})
	expect(t, r, http.StatusUnprocessableEntity, `data-reason="private_address"`, "localhost")
	if _, ok := f.endpoint(f.acc.Account.ID); ok {
		t.Error("a private address was saved")
	}
}

func TestAppSecret(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	secret := f.acc.Account.AppSecret
	if r := f.get("/settings/webhooks", token); strings.Contains(r.Body, secret) {
		t.Fatal("the settings page shows the secret before Reveal")
	}
	r := f.post("/settings/webhooks/secret", token, nil)
	expect(t, r, http.StatusOK, `id="app-secret">`+secret+"<")

	r = f.post("/settings/webhooks/secret/rotate", token, nil)
	expect(t, r, http.StatusOK, `id="previous-secret">`+secret+"<", `id="rotate-note"`, "Accept both secrets")
	fresh := accountSecret(t, f, f.acc.Account.ID)
	if fresh == secret || !strings.Contains(r.Body, `id="app-secret">`+fresh+"<") {
		t.Fatalf("rotation: store has %q; page:\n%s", fresh, excerpt(r.Body))
	}
	if accountSecret(t, f, f.other.Account.ID) != f.other.Account.AppSecret {
		t.Error("another account's secret changed")
	}
	if strings.Contains(f.log.String(), fresh) || strings.Contains(f.log.String(), secret) {
		t.Error("a secret reached the log")
	}
}

func TestRemoveWebhook(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/webhook")
	f.putEndpoint(f.other.Account.ID, "http://127.0.0.1:1/other")
	f.send(f.acc, "254712345678")

	// The first POST asks to confirm, and changes nothing.
	r := f.post("/settings/webhooks/remove", token, nil)
	expect(t, r, http.StatusOK, `id="confirm-remove"`, `id="remove-confirm"`, "Yes, remove it")
	if _, ok := f.endpoint(f.acc.Account.ID); !ok {
		t.Fatal("removed before confirmation")
	}
	r = f.post("/settings/webhooks/remove", token, url.Values{"confirm": {"yes"}})
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/settings/webhooks?flash=removed" {
		t.Fatalf("confirm: %d %q", r.Status, r.Header.Get("Location"))
	}
	if _, ok := f.endpoint(f.acc.Account.ID); ok {
		t.Fatal("the webhook is still there")
	}
	if _, ok := f.endpoint(f.other.Account.ID); !ok {
		t.Fatal("another account's webhook was removed")
	}
	for _, d := range f.deliveries(f.acc.Account.ID) {
		if d.State != "failed" {
			t.Errorf("pending delivery after removal: %s", d.State)
		}
	}
	expect(t, f.get("/settings/webhooks?flash=removed", token), http.StatusOK, "The webhook was removed", `id="no-webhook"`)
	expect(t, f.post("/settings/webhooks/remove", token, url.Values{"confirm": {"yes"}}), http.StatusNotFound, "nothing to remove")
}

// TestRefusedURLHidesCredentials: a URL with a user name and password is
// refused, and the form shows it back without them; a form value that is
// not UTF-8 is refused with the field's name.
func TestRefusedURLHidesCredentials(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	for _, raw := range []string{"https://user:hunter2@example.com/webhook", "https://user:hunter2@exa mple.com/webhook?x=1"} {
		r := f.post("/settings/webhooks", token, url.Values{"url": {raw}, "verify_token": {"s3cret-token"}})
		if r.Status < 400 || r.Status >= 500 {
			t.Fatalf("%s: status %d, want a refusal", raw, r.Status)
		}
		if strings.Contains(r.Body, "hunter2") {
			t.Fatalf("%s: the page shows the credentials back:\n%s", raw, excerpt(r.Body))
		}
		if !strings.Contains(html.UnescapeString(r.Body), strings.Replace(raw, "user:hunter2@", "", 1)) {
			t.Fatalf("%s: the page does not show the URL without its credentials:\n%s", raw, excerpt(r.Body))
		}
	}
	for _, path := range []string{"/settings/webhooks", "/sandbox/send", "/sandbox/inbound", "/replay"} {
		r := f.post(path, token, url.Values{"url": {"https://example.com/\xff"}, "verify_token": {"a\xfe"}, "body": {"hi \xff"}, "to": {"254712345678"}})
		expect(t, r, http.StatusBadRequest, "is not valid UTF-8 text")
	}
	if _, ok := f.endpoint(f.acc.Account.ID); ok {
		t.Fatal("a refused form saved a webhook")
	}
}
