package cli_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/api"
	"github.com/bahasha/bahasha/sdk/webhook"
)

// addNumber adds a sandbox number to key's account (in waba, or a new
// WABA when waba is "").
func (s *server) addNumber(key, waba string) phoneNumber {
	s.t.Helper()
	body := map[string]string{}
	if waba != "" {
		body["waba_id"] = waba
	}
	r := s.DoAs(key, "POST", "/v1/phone_numbers", body)
	if r.Status != 201 || r.Str("id") == "" || (waba != "" && r.Str("waba_id") != waba) {
		s.t.Fatalf("POST /v1/phone_numbers %v: %s", body, r)
	}
	return phoneNumber{ID: r.Str("id"), Display: r.Str("display_phone_number"), WABA: r.Str("waba_id")}
}

// createEndpoint adds an endpoint for rcv with the rest of the body and
// returns its id.
func (s *server) createEndpoint(key string, rcv *receiver, body map[string]any) string {
	s.t.Helper()
	body["url"], body["verify_token"] = rcv.URL, rcv.Token
	r := s.DoAs(key, "POST", "/v1/webhooks", body)
	if r.Status != 201 || !strings.HasPrefix(r.Str("id"), "wh_") || r.Str("status") != "verified" {
		s.t.Fatalf("POST /v1/webhooks %v: %s", body, r)
	}
	return r.Str("id")
}

func messagesOf(rcv *receiver) []string {
	var out []string
	for _, m := range rcv.Messages() {
		out = append(out, m.Message.ID)
	}
	return out
}

func statusWAMIDs(rcv *receiver) []string {
	var out []string
	for _, s := range rcv.Statuses() {
		if !slices.Contains(out, s.Status.ID) {
			out = append(out, s.Status.ID)
		}
	}
	return out
}

// TestEndpointsRouting runs the routing rule end to end: two numbers, a
// number's override, a filtered account endpoint, custom headers, and the
// Standard Webhooks headers of each endpoint's own secret, through a
// rotation.
func TestEndpointsRouting(t *testing.T) {
	t.Parallel()
	s, primary := setup(t, serveOpts{})
	appSecret := s.Secret(s.Key)
	first := s.Phone()
	second := s.addNumber(s.Key, "")        // a WABA of its own
	third := s.addNumber(s.Key, first.WABA) // beside the first
	if second.WABA == first.WABA {
		t.Fatalf("a new number without waba_id landed in the first's WABA %s", first.WABA)
	}

	support := newReceiver(t, appSecret)
	supportID := s.createEndpoint(s.Key, support, map[string]any{"scope": map[string]string{"phone_number_id": second.ID},
		"headers": map[string]string{"X-Api-Key": "gateway-key-0123456789"}, "description": "support desk"})
	analytics := newReceiver(t, appSecret)
	analyticsID := s.createEndpoint(s.Key, analytics, map[string]any{"events": []string{"statuses"}})

	// The first number: the account's endpoints, the filtered one taking
	// statuses only.
	w1 := s.Send(s.Key, first.ID, "254711000001")
	in1, _ := s.Inbound(s.Key, first.ID, "254711000002", "hello first")
	// The second: its own endpoint only.
	w2 := s.Send(s.Key, second.ID, "254711000003")
	in2, _ := s.Inbound(s.Key, second.ID, "254711000004", "hello support")
	// The third (the first's WABA, no override): the account's.
	in3, _ := s.Inbound(s.Key, third.ID, "254711000005", "hello third")

	primary.Wait(t, "the account's endpoint gets the first and third numbers' events", func() bool {
		return len(primary.statusesOfLocked(w1)) == 3 && len(primary.messages) == 2
	})
	support.Wait(t, "the second number's endpoint gets its events", func() bool {
		return len(support.statusesOfLocked(w2)) == 3 && len(support.messages) == 1
	})
	analytics.Wait(t, "the statuses endpoint gets the first number's statuses", func() bool {
		return len(analytics.statusesOfLocked(w1)) == 3
	})
	if got := messagesOf(primary); !slices.Equal(got, []string{in1, in3}) && !slices.Equal(got, []string{in3, in1}) {
		t.Fatalf("the account's endpoint got messages %v, want %s and %s", got, in1, in3)
	}
	if got := statusWAMIDs(primary); !slices.Equal(got, []string{w1}) {
		t.Fatalf("the account's endpoint got statuses of %v, want only %s (the second number has its own endpoint)", got, w1)
	}
	if got := messagesOf(support); !slices.Equal(got, []string{in2}) {
		t.Fatalf("the second number's endpoint got messages %v, want %s", got, in2)
	}
	if got := messagesOf(analytics); len(got) != 0 {
		t.Fatalf("the statuses-only endpoint got messages %v", got)
	}
	if got := statusWAMIDs(analytics); !slices.Equal(got, []string{w1}) {
		t.Fatalf("the statuses-only endpoint got statuses of %v, want %s (the second number's are its own endpoint's)", got, w1)
	}

	// Custom headers arrive; the API shows them masked.
	for _, p := range support.Posts() {
		if p.Header.Get("X-Api-Key") != "gateway-key-0123456789" {
			t.Fatalf("a POST to the support endpoint lacks its custom header: %v", p.Header)
		}
	}
	r := s.Do("GET", "/v1/webhooks/"+supportID, nil)
	if r.Status != 200 || r.Str("headers.X-Api-Key") != "••••6789" || r.Str("scope.phone_number_id") != second.ID || r.Str("health") != "healthy" {
		t.Fatalf("GET /v1/webhooks/%s: %s", supportID, r)
	}
	if strings.Contains(string(s.Do("GET", "/v1/webhooks", nil).Body), "gateway-key") {
		t.Fatal("GET /v1/webhooks shows a custom header's value")
	}
	if strings.Contains(s.Stderr.String(), "gateway-key") {
		t.Fatal("serve logged a custom header's value")
	}

	// Standard Webhooks: each endpoint signs with its own secret.
	supportSecret := s.Do("GET", "/v1/webhooks/"+supportID+"/secret", nil).Str("secret")
	analyticsSecret := s.Do("GET", "/v1/webhooks/"+analyticsID+"/secret", nil).Str("secret")
	if !strings.HasPrefix(supportSecret, "whsec_") || supportSecret == analyticsSecret {
		t.Fatalf("signing secrets %q and %q", supportSecret, analyticsSecret)
	}
	posts := support.Posts()
	last := posts[len(posts)-1]
	if err := webhook.VerifyStandard([]string{supportSecret}, last.Header, last.Body, last.At, 0); err != nil {
		t.Fatalf("the support endpoint's POST with its secret: %v", err)
	}
	if err := webhook.VerifyStandard([]string{analyticsSecret}, last.Header, last.Body, last.At, 0); !errors.Is(err, webhook.ErrStandardSignatureMismatch) {
		t.Fatalf("the support endpoint's POST with another endpoint's secret: %v, want a mismatch", err)
	}
	if err := webhook.VerifySignature(appSecret, last.Body, last.Header.Get(webhook.SignatureHeader)); err != nil {
		t.Fatalf("X-Hub-Signature-256 with the app secret: %v", err)
	}

	// A rotation: both secrets sign during the overlap, and a receiver
	// that knows only either one accepts.
	rot := s.Do("POST", "/v1/webhooks/"+supportID+"/secret/rotate", nil)
	if rot.Status != 200 || rot.Str("previous_secret") != supportSecret || rot.Str("secret") == supportSecret || rot.Str("previous_secret_expires_at") == "" {
		t.Fatalf("rotate: %s", rot)
	}
	in4, _ := s.Inbound(s.Key, second.ID, "254711000004", "after the rotation")
	support.Wait(t, "the message after the rotation", func() bool { return len(support.messages) == 2 })
	posts = support.Posts()
	last = posts[len(posts)-1]
	for _, secret := range []string{supportSecret, rot.Str("secret")} {
		h := &webhook.Verifier{SigningSecrets: []string{secret}, AppSecrets: []string{appSecret}, Now: func() time.Time { return last.At }}
		n, err := h.Parse(last.Header, last.Body)
		if err != nil {
			t.Fatalf("during the rotation, verifying with one secret: %v", err)
		}
		var got []string
		for m := range n.Messages() {
			got = append(got, m.Message.ID)
		}
		if !slices.Equal(got, []string{in4}) {
			t.Fatalf("parsed %v, want %s", got, in4)
		}
	}

	// Deliveries narrowed to one endpoint.
	ds := s.Deliveries(s.Key, "&endpoint="+supportID)
	if len(ds) != 5 { // 3 statuses and 2 messages
		t.Fatalf("deliveries of %s: %d, want 5", supportID, len(ds))
	}
	for _, d := range ds {
		if d["endpoint_id"] != supportID || d["phone_number_id"] != second.ID {
			t.Fatalf("a delivery of %s: %v", supportID, d)
		}
	}

	// Disabled, the override is as if absent: the second number's events
	// go to the account's endpoints; enabled again, it gets new ones.
	if r := s.Do("PATCH", "/v1/webhooks/"+supportID, map[string]any{"disabled": true}); r.Status != 200 || r.Str("status") != "disabled" {
		t.Fatalf("PATCH disabled: %s", r)
	}
	in5, _ := s.Inbound(s.Key, second.ID, "254711000004", "while disabled")
	primary.Wait(t, "the account's endpoint takes the disabled override's number", func() bool { return len(primary.messages) == 3 })
	if got := messagesOf(primary); got[len(got)-1] != in5 {
		t.Fatalf("the account's endpoint got %v, want %s last", got, in5)
	}
	if r := s.Do("PATCH", "/v1/webhooks/"+supportID, map[string]any{"disabled": false}); r.Status != 200 || r.Str("status") != "verified" {
		t.Fatalf("PATCH enabled: %s", r)
	}
	in6, _ := s.Inbound(s.Key, second.ID, "254711000004", "enabled again")
	support.Wait(t, "the override again", func() bool { return len(support.messages) == 3 })
	if got := messagesOf(support); got[2] != in6 {
		t.Fatalf("the support endpoint got %v, want %s last", got, in6)
	}

	// Removing an endpoint leaves the others.
	if r := s.Do("DELETE", "/v1/webhooks/"+analyticsID, nil); r.Status != 204 {
		t.Fatalf("DELETE: %s", r)
	}
	if r := s.Do("GET", "/v1/webhooks", nil); r.Len("data") != 2 {
		t.Fatalf("after DELETE: %s", r)
	}
	// Without a primary webhook, a delivery is retried to its own
	// endpoint; one whose endpoint was removed is refused with what to do.
	var ofPrimary, ofSupport string
	for _, d := range s.Deliveries(s.Key, "") {
		switch id := d["endpoint_id"]; {
		case id == supportID:
			ofSupport = d["id"].(string)
		case id != analyticsID:
			ofPrimary = d["id"].(string)
		}
	}
	if r := s.Do("DELETE", "/v1/webhook", nil); r.Status != 204 {
		t.Fatalf("DELETE /v1/webhook: %s", r)
	}
	if r := s.Do("POST", "/v1/webhook/deliveries/"+ofSupport+"/retry", nil); r.Status != 202 || r.Str("endpoint_id") != supportID {
		t.Fatalf("retry of %s without a primary webhook: %s", ofSupport, r)
	}
	if r := s.Do("POST", "/v1/webhook/deliveries/"+ofPrimary+"/retry", nil); r.Status != 404 || r.Str("error.code") != "endpoint_removed" {
		t.Fatalf("retry of %s, whose endpoint was removed: %s", ofPrimary, r)
	}
	for _, rcv := range []*receiver{primary, support, analytics} {
		if errs := rcv.Errs(); len(errs) > 0 {
			t.Fatalf("receiver errors: %v", errs)
		}
	}
}

// TestEndpointsBadInput sends every new route what it must refuse, and
// checks that nothing changed.
func TestEndpointsBadInput(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveOpts{Env: map[string]string{"BAHASHA_ADMIN_KEY": testAdminKey}})
	primary := newReceiver(t, s.Secret(s.Key))
	s.Register(s.Key, primary)
	other := s.DoAs(testAdminKey, "POST", "/admin/v1/accounts", map[string]string{"name": "Other"})
	if other.Status != 201 {
		t.Fatalf("POST /admin/v1/accounts: %s", other)
	}
	otherKey := other.Str("api_key")
	otherNumber := phoneOf(t, s, otherKey)
	rcv := newReceiver(t, s.Secret(s.Key))
	good := func(extra map[string]any) map[string]any {
		b := map[string]any{"url": rcv.URL, "verify_token": rcv.Token}
		for k, v := range extra {
			b[k] = v
		}
		return b
	}
	otherEndpoint := s.DoAs(otherKey, "POST", "/v1/webhooks", map[string]any{"url": rcv.URL, "verify_token": rcv.Token})
	if otherEndpoint.Status != 201 {
		t.Fatalf("the other account's endpoint: %s", otherEndpoint)
	}
	long := strings.Repeat("v", 5000)
	cases := []struct {
		name, method, path string
		body               any
		status             int
		code, says         string
	}{
		{"no url", "POST", "/v1/webhooks", map[string]any{"verify_token": "x"}, 400, "invalid_request", `"url" is required`},
		{"no token", "POST", "/v1/webhooks", map[string]any{"url": rcv.URL}, 400, "invalid_request", `"verify_token" is required`},
		{"not json", "POST", "/v1/webhooks", "{", 400, "invalid_request", ""},
		{"unknown field", "POST", "/v1/webhooks", good(map[string]any{"colour": "red"}), 400, "invalid_request", "colour"},
		{"unknown number", "POST", "/v1/webhooks", good(map[string]any{"scope": map[string]string{"phone_number_id": "999"}}), 404, "not_found", `no phone number "999"`},
		{"other tenant's number", "POST", "/v1/webhooks", good(map[string]any{"scope": map[string]string{"phone_number_id": otherNumber.ID}}), 404, "not_found", "no phone number"},
		{"other tenant's waba", "POST", "/v1/webhooks", good(map[string]any{"scope": map[string]string{"waba_id": otherNumber.WABA}}), 404, "not_found", "no WhatsApp Business Account"},
		{"both scopes", "POST", "/v1/webhooks", good(map[string]any{"scope": map[string]string{"waba_id": "1", "phone_number_id": "2"}}), 400, "invalid_request", "not both"},
		{"unknown event", "POST", "/v1/webhooks", good(map[string]any{"events": []string{"status"}}), 400, "invalid_request", `"status" is not an event filter`},
		{"host header", "POST", "/v1/webhooks", good(map[string]any{"headers": map[string]string{"Host": "evil"}}), 400, "invalid_request", "set by Bahasha"},
		{"content-type header", "POST", "/v1/webhooks", good(map[string]any{"headers": map[string]string{"content-type": "text/plain"}}), 400, "invalid_request", "set by Bahasha"},
		{"signature header", "POST", "/v1/webhooks", good(map[string]any{"headers": map[string]string{"X-Hub-Signature-256": "sha256=0"}}), 400, "invalid_request", "set by Bahasha"},
		{"webhook- header", "POST", "/v1/webhooks", good(map[string]any{"headers": map[string]string{"Webhook-Id": "x"}}), 400, "invalid_request", "set by Bahasha"},
		{"CRLF value", "POST", "/v1/webhooks", good(map[string]any{"headers": map[string]string{"X-A": "a\r\nX-Injected: 1"}}), 400, "invalid_request", "control character"},
		{"bad name", "POST", "/v1/webhooks", good(map[string]any{"headers": map[string]string{"X A": "1"}}), 400, "invalid_request", "not valid"},
		{"oversized value", "POST", "/v1/webhooks", good(map[string]any{"headers": map[string]string{"X-A": long}}), 400, "invalid_request", "the limit is 4096"},
		{"negative rate", "POST", "/v1/webhooks", good(map[string]any{"rate_limit": -1}), 400, "invalid_request", "rate_limit"},
		{"bad handshake", "POST", "/v1/webhooks", map[string]any{"url": rcv.URL, "verify_token": "wrong"}, 422, "verification_failed", "not saved"},
		{"bad id", "GET", "/v1/webhooks/12", nil, 404, "not_found", "not an endpoint id"},
		{"unknown id", "GET", "/v1/webhooks/wh_999999", nil, 404, "not_found", "no endpoint wh_999999"},
		{"other tenant's endpoint", "GET", "/v1/webhooks/" + otherEndpoint.Str("id"), nil, 404, "not_found", "no endpoint"},
		{"patch other tenant's", "PATCH", "/v1/webhooks/" + otherEndpoint.Str("id"), map[string]any{"disabled": true}, 404, "not_found", "no endpoint"},
		{"delete other tenant's", "DELETE", "/v1/webhooks/" + otherEndpoint.Str("id"), nil, 404, "not_found", "no endpoint"},
		{"secret of other tenant's", "GET", "/v1/webhooks/" + otherEndpoint.Str("id") + "/secret", nil, 404, "not_found", "no endpoint"},
		{"rotate other tenant's", "POST", "/v1/webhooks/" + otherEndpoint.Str("id") + "/secret/rotate", nil, 404, "not_found", "no endpoint"},
		{"deliveries of other tenant's", "GET", "/v1/webhook/deliveries?endpoint=" + otherEndpoint.Str("id"), nil, 404, "not_found", "no endpoint"},
		{"deliveries bad endpoint", "GET", "/v1/webhook/deliveries?endpoint=12", nil, 400, "invalid_request", "endpoint id"},
		{"replay to other tenant's", "POST", "/v1/webhook/replay", map[string]any{"endpoint_id": otherEndpoint.Str("id"), "from": "2026-01-01T00:00:00Z"}, 404, "not_found", "no endpoint"},
		{"dry run to other tenant's", "POST", "/v1/webhook/replay", map[string]any{"endpoint_id": otherEndpoint.Str("id"), "from": "2026-01-01T00:00:00Z", "dry_run": true}, 404, "not_found", "no endpoint"},
		{"number in other tenant's waba", "POST", "/v1/phone_numbers", map[string]string{"waba_id": otherNumber.WABA}, 404, "not_found", "no WhatsApp Business Account"},
		{"number unknown field", "POST", "/v1/phone_numbers", map[string]string{"wabaid": "1"}, 400, "invalid_request", "wabaid"},
		{"put method", "PUT", "/v1/webhooks/wh_1", map[string]any{}, 405, "method_not_allowed", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := s.Do(c.method, c.path, c.body)
			if r.Status != c.status || r.Str("error.code") != c.code || !strings.Contains(r.Str("error.message"), c.says) {
				t.Fatalf("%s %s: %s; want %d %s saying %q", c.method, c.path, r, c.status, c.code, c.says)
			}
		})
	}
	// Nothing was saved but the primary.
	if r := s.Do("GET", "/v1/webhooks", nil); r.Len("data") != 1 || r.Get("data.0.primary") != true {
		t.Fatalf("after the bad requests: %s", r)
	}
	if r := s.DoAs(otherKey, "GET", "/v1/webhooks", nil); r.Len("data") != 1 || r.Str("data.0.status") != "verified" {
		t.Fatalf("the other account's endpoints after the bad requests: %s", r)
	}

	// PATCH: a masked value sent back is refused; a change of URL re-runs
	// the handshake and a failed one changes nothing.
	id := s.createEndpoint(s.Key, rcv, map[string]any{"headers": map[string]string{"X-Api-Key": "0123456789abcdefXYZ"}})
	if r := s.Do("PATCH", "/v1/webhooks/"+id, map[string]any{"headers": map[string]string{"X-Api-Key": "••••fXYZ"}}); r.Status != 400 || !strings.Contains(r.Str("error.message"), "masked") {
		t.Fatalf("PATCH with a masked value: %s", r)
	}
	bad := newReceiver(t, s.Secret(s.Key))
	bad.Token = "another-token"
	if r := s.Do("PATCH", "/v1/webhooks/"+id, map[string]any{"url": bad.URL, "verify_token": rcv.Token}); r.Status != 422 || r.Str("error.details.reason") == "" {
		t.Fatalf("PATCH to a URL that fails the handshake: %s", r)
	}
	if r := s.Do("GET", "/v1/webhooks/"+id, nil); r.Str("url") != rcv.URL || r.Str("headers.X-Api-Key") != "••••fXYZ" {
		t.Fatalf("after the failed PATCH: %s", r)
	}
	if errs := primary.Errs(); len(errs) > 0 {
		t.Fatalf("receiver errors: %v", errs)
	}
}

// TestEndpointsLimit creates endpoints up to the documented limit.
func TestEndpointsLimit(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, serveOpts{})
	rcv := newReceiver(t, s.Secret(s.Key))
	limit := int(s.Do("GET", "/v1/webhooks", nil).Num("limit"))
	if limit < 2 {
		t.Fatalf("limit %d", limit)
	}
	for i := 1; i < limit; i++ { // the primary is one
		s.createEndpoint(s.Key, rcv, map[string]any{"description": fmt.Sprint(i)})
	}
	r := s.Do("POST", "/v1/webhooks", map[string]any{"url": rcv.URL, "verify_token": rcv.Token})
	if r.Status != 409 || r.Str("error.code") != "too_many_endpoints" {
		t.Fatalf("endpoint %d: %s", limit+1, r)
	}
	// Sandbox numbers are capped too (the account has one).
	for range api.MaxSandboxNumbers - 1 {
		s.addNumber(s.Key, "")
	}
	if r := s.Do("POST", "/v1/phone_numbers", map[string]string{}); r.Status != 409 || r.Str("error.code") != "too_many_numbers" {
		t.Fatalf("number %d: %s", api.MaxSandboxNumbers+1, r)
	}
}
