package cli_test

import (
	"reflect"
	"slices"
	"strings"
	"testing"
)

// The Graph API's webhook override requests (POST and GET
// /<WABA_ID>/subscribed_apps, POST /<PHONE_NUMBER_ID> and GET
// /<PHONE_NUMBER_ID>?fields=webhook_configuration), end to end.

// graphAddNumber adds a sandbox number to the account of key in waba.
func graphAddNumber(t *testing.T, s *server, key, waba string) phoneNumber {
	t.Helper()
	r := s.DoAs(key, "POST", "/v1/phone_numbers", map[string]string{"waba_id": waba})
	if r.Status != 201 || r.Str("id") == "" || r.Str("waba_id") != waba {
		t.Fatalf("POST /v1/phone_numbers {waba_id: %s}: %s", waba, r)
	}
	return phoneNumber{ID: r.Str("id"), Display: r.Str("display_phone_number"), WABA: waba}
}

// setWABAOverride sets the WABA's override to url with key, or with url ""
// clears it (a POST without a body), and expects {"success":true}.
func setWABAOverride(t *testing.T, s *server, key, waba, url, token string) {
	t.Helper()
	var body any
	if url != "" {
		body = map[string]string{"override_callback_uri": url, "verify_token": token}
	}
	r := s.DoAs(key, "POST", "/v1/"+waba+"/subscribed_apps", body)
	if r.Status != 200 || !reflect.DeepEqual(r.JSON, map[string]any{"success": true}) {
		t.Fatalf("POST /v1/%s/subscribed_apps %v: %s, want 200 {\"success\":true}", waba, body, r)
	}
}

// setNumberOverride sets the number's override to url with key, or with url
// "" clears it, and expects {"success":true}.
func setNumberOverride(t *testing.T, s *server, key, phoneID, url, token string) {
	t.Helper()
	conf := map[string]string{"override_callback_uri": url}
	if url != "" {
		conf["verify_token"] = token
	}
	r := s.DoAs(key, "POST", "/v1/"+phoneID, map[string]any{"webhook_configuration": conf})
	if r.Status != 200 || !reflect.DeepEqual(r.JSON, map[string]any{"success": true}) {
		t.Fatalf("POST /v1/%s %v: %s, want 200 {\"success\":true}", phoneID, conf, r)
	}
}

// wantWebhookConfiguration checks GET /v1/{phone}?fields=webhook_configuration
// against the levels given (a level "" must be absent).
func wantWebhookConfiguration(t *testing.T, s *server, key, phoneID, number, waba, app string) {
	t.Helper()
	levels := map[string]any{}
	for k, v := range map[string]string{"phone_number": number, "whatsapp_business_account": waba, "application": app} {
		if v != "" {
			levels[k] = v
		}
	}
	want := map[string]any{"webhook_configuration": levels, "id": phoneID}
	r := s.DoAs(key, "GET", "/v1/"+phoneID+"?fields=webhook_configuration", nil)
	if r.Status != 200 || !reflect.DeepEqual(r.JSON, want) {
		t.Fatalf("GET /v1/%s?fields=webhook_configuration: %s, want %v", phoneID, r, want)
	}
}

// wabaOverride returns the override_callback_uri GET
// /v1/{waba}/subscribed_apps shows ("" when absent).
func wabaOverride(t *testing.T, s *server, key, waba string) string {
	t.Helper()
	r := s.DoAs(key, "GET", "/v1/"+waba+"/subscribed_apps", nil)
	if r.Status != 200 || r.Len("data") != 1 || r.Str("data.0.whatsapp_business_api_data.name") != "Bahasha" ||
		r.Str("data.0.whatsapp_business_api_data.id") == "" || r.Str("data.0.whatsapp_business_api_data.link") == "" {
		t.Fatalf("GET /v1/%s/subscribed_apps: %s, want one app, Bahasha", waba, r)
	}
	return r.Str("data.0.override_callback_uri")
}

// endpointsByScope lists key's account's endpoints' ids by scope:
// "primary", "account", "waba:<id>" or "phone_number:<id>".
func endpointsByScope(t *testing.T, s *server, key string) map[string][]string {
	t.Helper()
	r := s.DoAs(key, "GET", "/v1/webhooks", nil)
	data, ok := r.Get("data").([]any)
	if r.Status != 200 || !ok {
		t.Fatalf("GET /v1/webhooks: %s", r)
	}
	out := map[string][]string{}
	for _, e := range data {
		scope := "account"
		switch {
		case jget(e, "primary") == true:
			scope = "primary"
		case jget(e, "scope.waba_id") != nil:
			scope = "waba:" + jget(e, "scope.waba_id").(string)
		case jget(e, "scope.phone_number_id") != nil:
			scope = "phone_number:" + jget(e, "scope.phone_number_id").(string)
		}
		out[scope] = append(out[scope], jget(e, "id").(string))
	}
	return out
}

// deliveredTo returns the endpoint ids of the deliveries of wamid's events.
func deliveredTo(s *server, key, wamid string) []string {
	var out []string
	for _, d := range s.Deliveries(key, "") {
		if id, _ := d["endpoint_id"].(string); d["wamid"] == wamid && !slices.Contains(out, id) {
			out = append(out, id)
		}
	}
	return out
}

// messageIDs returns the wamids of the messages rcv received.
func messageIDs(rcv *receiver) []string {
	var out []string
	for _, m := range rcv.Messages() {
		out = append(out, m.Message.ID)
	}
	return out
}

// handshakes returns how many verification GETs rcv got.
func handshakes(rcv *receiver) int {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return rcv.gets
}

// wantGraphError checks a Graph-shaped error: the status, Graph's numeric
// code, and detail (when not "") in the message or error_data.details.
func wantGraphError(t *testing.T, what string, r *apiResp, status int, code float64, detail string) {
	t.Helper()
	text := r.Str("error.message") + " | " + r.Str("error.error_data.details")
	if r.Status != status || r.Num("error.code") != code || r.Str("error.type") == "" || r.Str("error.fbtrace_id") == "" ||
		r.Str("error.message") == "" || !strings.Contains(text, detail) {
		t.Fatalf("%s: %s; want %d with Graph's {\"error\":{\"message\",\"type\",\"code\":%v,\"fbtrace_id\"}} saying %q", what, r, status, code, detail)
	}
}

// TestGraphOverrides sets a WABA's and a number's overrides with the Graph
// API's requests, reads them back, routes events by them, clears them, and
// refuses a callback that fails the handshake.
func TestGraphOverrides(t *testing.T) {
	t.Parallel()
	s, primary := setup(t, serveOpts{})
	secret := s.Secret(s.Key)
	first := s.Phone()
	second := graphAddNumber(t, s, s.Key, first.WABA)
	wabaRcv, numRcv := newReceiver(t, secret), newReceiver(t, secret)

	setWABAOverride(t, s, s.Key, first.WABA, wabaRcv.URL, wabaRcv.Token)
	setNumberOverride(t, s, s.Key, first.ID, numRcv.URL, numRcv.Token)

	// Read back: the URL of each level, only the field asked for.
	wantWebhookConfiguration(t, s, s.Key, first.ID, numRcv.URL, wabaRcv.URL, primary.URL)
	wantWebhookConfiguration(t, s, s.Key, second.ID, "", wabaRcv.URL, primary.URL)
	if got := wabaOverride(t, s, s.Key, first.WABA); got != wabaRcv.URL {
		t.Fatalf("the WABA's override_callback_uri is %q, want %s", got, wabaRcv.URL)
	}
	if r := s.Do("GET", "/v1/"+first.ID, nil); r.Status != 200 || r.Str("id") != first.ID ||
		r.Str("display_phone_number") != first.Display || r.Str("verified_name") == "" || r.Get("webhook_configuration") != nil {
		t.Fatalf("GET /v1/%s: %s, want its id, display_phone_number and verified_name", first.ID, r)
	}
	if r := s.Do("GET", "/v1/"+first.ID+"?fields=display_phone_number", nil); r.Status != 200 ||
		!reflect.DeepEqual(r.JSON, map[string]any{"display_phone_number": first.Display, "id": first.ID}) {
		t.Fatalf("GET /v1/%s?fields=display_phone_number: %s", first.ID, r)
	}
	eps := endpointsByScope(t, s, s.Key)
	primaryID := eps["primary"]
	wabaID, numID := eps["waba:"+first.WABA], eps["phone_number:"+first.ID]
	if len(primaryID) != 1 || len(wabaID) != 1 || len(numID) != 1 || len(eps) != 3 {
		t.Fatalf("the account's endpoints: %v, want the primary, the WABA's and the number's", eps)
	}

	// The first number's events go to its override, the second number's to
	// the WABA's, none to the account's.
	w1 := s.Send(s.Key, first.ID, "254711000001")
	in1, _ := s.Inbound(s.Key, first.ID, "254711000002", "to the number's override")
	in2, _ := s.Inbound(s.Key, second.ID, "254711000003", "to the WABA's override")
	numRcv.Wait(t, "the number's override gets the first number's events", func() bool {
		return len(numRcv.statusesOfLocked(w1)) == 3 && len(numRcv.messages) == 1
	})
	wabaRcv.Wait(t, "the WABA's override gets the second number's message", func() bool { return len(wabaRcv.messages) == 1 })
	for _, c := range []struct {
		wamid string
		want  []string
	}{{w1, numID}, {in1, numID}, {in2, wabaID}} {
		if got := deliveredTo(s, s.Key, c.wamid); !slices.Equal(got, c.want) {
			t.Fatalf("%s was delivered to %v, want %v", c.wamid, got, c.want)
		}
	}
	if got := messageIDs(numRcv); !slices.Equal(got, []string{in1}) {
		t.Fatalf("the number's override got messages %v, want %s", got, in1)
	}
	if got := messageIDs(wabaRcv); !slices.Equal(got, []string{in2}) {
		t.Fatalf("the WABA's override got messages %v, want %s", got, in2)
	}
	if n := len(primary.Posts()); n != 0 {
		t.Fatalf("the account's endpoint got %d POSTs, want none: every number is overridden", n)
	}

	// Setting an override again updates the same endpoint: the Graph
	// requests manage one per WABA or number.
	numRcv2 := newReceiver(t, secret)
	setNumberOverride(t, s, s.Key, first.ID, numRcv2.URL, numRcv2.Token)
	setWABAOverride(t, s, s.Key, first.WABA, wabaRcv.URL, wabaRcv.Token)
	if got := endpointsByScope(t, s, s.Key); !reflect.DeepEqual(got, eps) {
		t.Fatalf("after setting the overrides again the endpoints are %v, want %v", got, eps)
	}
	wantWebhookConfiguration(t, s, s.Key, first.ID, numRcv2.URL, wabaRcv.URL, primary.URL)

	// A callback that fails the handshake changes nothing: the override in
	// force stays, and none is created where there was none.
	bad := newReceiver(t, secret)
	third := graphAddNumber(t, s, s.Key, first.WABA)
	for _, c := range []struct {
		path string
		body any
	}{
		{"/v1/" + first.ID, map[string]any{"webhook_configuration": map[string]string{"override_callback_uri": bad.URL, "verify_token": "not-" + bad.Token}}},
		{"/v1/" + third.ID, map[string]any{"webhook_configuration": map[string]string{"override_callback_uri": bad.URL, "verify_token": "not-" + bad.Token}}},
		{"/v1/" + first.WABA + "/subscribed_apps", map[string]string{"override_callback_uri": bad.URL, "verify_token": "not-" + bad.Token}},
	} {
		r := s.Do("POST", c.path, c.body)
		wantGraphError(t, "POST "+c.path+" with the wrong verify token", r, 400, 2200, "(#2200) Callback verification failed")
		if r.Str("error.type") != "OAuthException" || r.Str("error.error_data.reason") != "token_rejected" ||
			r.Num("error.error_data.status_code") != 403 || r.Str("error.error_data.expected") == "" ||
			!strings.Contains(r.Str("error.message"), "HTTP Status Code = 403") {
			t.Fatalf("POST %s with the wrong verify token: %s, want error_data with reason token_rejected, status_code 403 and the challenge expected", c.path, r)
		}
		if strings.Contains(string(r.Body), "not-"+bad.Token) {
			t.Fatalf("POST %s: the answer shows the verify token: %s", c.path, r)
		}
	}
	if got := endpointsByScope(t, s, s.Key); !reflect.DeepEqual(got, eps) {
		t.Fatalf("after the failed handshakes the endpoints are %v, want %v", got, eps)
	}
	wantWebhookConfiguration(t, s, s.Key, first.ID, numRcv2.URL, wabaRcv.URL, primary.URL)
	wantWebhookConfiguration(t, s, s.Key, third.ID, "", wabaRcv.URL, primary.URL)

	// Clearing the number's override (an empty URI) routes its events to
	// the WABA's; clearing the WABA's (a POST without a body, Meta's
	// "subscribe as you normally would") to the account's.
	setNumberOverride(t, s, s.Key, first.ID, "", "")
	wantWebhookConfiguration(t, s, s.Key, first.ID, "", wabaRcv.URL, primary.URL)
	in3, _ := s.Inbound(s.Key, first.ID, "254711000004", "back to the WABA's")
	wabaRcv.Wait(t, "the WABA's override gets the first number's message", func() bool { return len(wabaRcv.messages) == 2 })
	setWABAOverride(t, s, s.Key, first.WABA, "", "")
	if got := wabaOverride(t, s, s.Key, first.WABA); got != "" {
		t.Fatalf("after clearing, the WABA's override_callback_uri is %q", got)
	}
	wantWebhookConfiguration(t, s, s.Key, first.ID, "", "", primary.URL)
	in4, _ := s.Inbound(s.Key, second.ID, "254711000005", "back to the account's")
	primary.Wait(t, "the account's endpoint gets the second number's message", func() bool { return len(primary.messages) == 1 })
	for _, c := range []struct {
		wamid string
		want  []string
	}{{in3, wabaID}, {in4, primaryID}} {
		if got := deliveredTo(s, s.Key, c.wamid); !slices.Equal(got, c.want) {
			t.Fatalf("%s was delivered to %v, want %v", c.wamid, got, c.want)
		}
	}
	if got := endpointsByScope(t, s, s.Key); !reflect.DeepEqual(got, map[string][]string{"primary": primaryID}) {
		t.Fatalf("after clearing both overrides the endpoints are %v, want only the primary", got)
	}
	// Clearing what is not set succeeds, as it does on Graph.
	setNumberOverride(t, s, s.Key, first.ID, "", "")
	setWABAOverride(t, s, s.Key, first.WABA, "", "")
	if got := s.Do("POST", "/v1/"+first.WABA+"/subscribed_apps", map[string]string{}); got.Status != 200 || got.Get("success") != true {
		t.Fatalf("POST /v1/%s/subscribed_apps {}: %s", first.WABA, got)
	}
}

// TestGraphOverridesTenancy checks that another account's WABA or number,
// and unknown ids, are Graph's "Object with ID … does not exist" (404),
// and that nothing is changed or called.
func TestGraphOverridesTenancy(t *testing.T) {
	t.Parallel()
	s, primary := setup(t, serveOpts{Env: map[string]string{"BAHASHA_ADMIN_KEY": testAdminKey}})
	mine := s.Phone()
	rcv := newReceiver(t, s.Secret(s.Key))
	setWABAOverride(t, s, s.Key, mine.WABA, rcv.URL, rcv.Token)
	before := endpointsByScope(t, s, s.Key)

	r := s.DoAs(testAdminKey, "POST", "/admin/v1/accounts", `{"name":"Other Ltd"}`)
	if r.Status != 201 || r.Str("api_key") == "" {
		t.Fatalf("admin create: %s", r)
	}
	other, otherAccount := r.Str("api_key"), r.Str("account.id")
	theirs := phoneOf(t, s, other)
	theirRcv := newReceiver(t, s.Secret(other))
	override := map[string]string{"override_callback_uri": theirRcv.URL, "verify_token": theirRcv.Token}
	conf := map[string]any{"webhook_configuration": override}
	for _, c := range []struct {
		name, method, path string
		body               any
		id                 string
	}{
		{"set another's WABA", "POST", "/v1/" + mine.WABA + "/subscribed_apps", override, mine.WABA},
		{"clear another's WABA", "POST", "/v1/" + mine.WABA + "/subscribed_apps", nil, mine.WABA},
		{"read another's WABA", "GET", "/v1/" + mine.WABA + "/subscribed_apps", nil, mine.WABA},
		{"set another's number", "POST", "/v1/" + mine.ID, conf, mine.ID},
		{"clear another's number", "POST", "/v1/" + mine.ID, map[string]any{"webhook_configuration": map[string]string{"override_callback_uri": ""}}, mine.ID},
		{"read another's number", "GET", "/v1/" + mine.ID + "?fields=webhook_configuration", nil, mine.ID},
		{"unknown WABA", "POST", "/v1/999999999999999/subscribed_apps", override, "999999999999999"},
		{"unknown number", "GET", "/v1/999999999999999", nil, "999999999999999"},
		{"a number is not a WABA", "POST", "/v1/" + theirs.ID + "/subscribed_apps", override, theirs.ID},
		{"a WABA is not a number", "POST", "/v1/" + theirs.WABA, conf, theirs.WABA},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.DoAs(other, c.method, c.path, c.body)
			verb := map[string]string{"GET": "get", "POST": "post"}[c.method]
			wantGraphError(t, c.method+" "+c.path, r, 404, 100, "Unsupported "+verb+" request. Object with ID '"+c.id+"' does not exist")
			if r.Num("error.error_subcode") != 33 || r.Str("error.type") != "GraphMethodException" {
				t.Fatalf("%s %s: %s, want Graph's GraphMethodException, error_subcode 33", c.method, c.path, r)
			}
			if strings.Contains(string(r.Body), rcv.URL) || strings.Contains(string(r.Body), primary.URL) {
				t.Fatalf("%s %s shows the other account's webhooks: %s", c.method, c.path, r)
			}
		})
	}
	if got := endpointsByScope(t, s, s.Key); !reflect.DeepEqual(got, before) {
		t.Fatalf("the first account's endpoints are %v, want %v", got, before)
	}
	if got := endpointsByScope(t, s, other); len(got) != 0 {
		t.Fatalf("the other account has endpoints %v, want none", got)
	}
	if got := wabaOverride(t, s, s.Key, mine.WABA); got != rcv.URL {
		t.Fatalf("the first account's WABA override is %q, want %s", got, rcv.URL)
	}
	if gets := handshakes(theirRcv); gets != 0 {
		t.Fatalf("the other account's receiver got %d handshakes for ids that are not its account's", gets)
	}
	// Its own WABA is its own: the app is Bahasha, for its account.
	if r := s.DoAs(other, "GET", "/v1/"+theirs.WABA+"/subscribed_apps", nil); r.Status != 200 ||
		r.Str("data.0.whatsapp_business_api_data.id") != otherAccount || r.Get("data.0.override_callback_uri") != nil {
		t.Fatalf("GET /v1/%s/subscribed_apps of its own WABA: %s, want the app of account %s and no override", theirs.WABA, r, otherAccount)
	}
}

// TestGraphOverridesBadRequests checks that bodies the Graph requests do
// not take are 400 in Graph's shape and change nothing, that Meta's URI
// limit is 200 characters, and that the Graph patterns leave Bahasha's own
// paths their 404s and 405s.
func TestGraphOverridesBadRequests(t *testing.T) {
	t.Parallel()
	s, primary := setup(t, serveOpts{})
	p := s.Phone()
	rcv := newReceiver(t, s.Secret(s.Key))
	long := "https://example.com/" + strings.Repeat("a", 181) // 201 characters
	wabaPath, numPath := "/v1/"+p.WABA+"/subscribed_apps", "/v1/"+p.ID
	for _, c := range []struct {
		name, path string
		body       any
		says       string
	}{
		{"WABA: not JSON", wabaPath, `{"override_callback_uri":`, "JSON"},
		{"WABA: not an object", wabaPath, `["https://example.com/"]`, "object"},
		{"WABA: unknown field", wabaPath, map[string]string{"override_callback_uri": rcv.URL, "verify_token": rcv.Token, "subscribed_fields": "messages"}, "subscribed_fields"},
		{"WABA: URI over 200 characters", wabaPath, map[string]string{"override_callback_uri": long, "verify_token": "t"}, "200"},
		{"WABA: no verify_token", wabaPath, map[string]string{"override_callback_uri": rcv.URL}, `"verify_token" is required`},
		{"WABA: URI not a string", wabaPath, `{"override_callback_uri":5,"verify_token":"t"}`, "override_callback_uri"},
		{"WABA: not UTF-8", wabaPath, "{\"override_callback_uri\":\"https://example.com/\xff\",\"verify_token\":\"t\"}", "UTF-8"},
		{"WABA: not a URL", wabaPath, map[string]string{"override_callback_uri": "ftp://example.com/webhook", "verify_token": "t"}, "https"},
		{"number: not JSON", numPath, `webhook_configuration=x`, "JSON"},
		{"number: empty body", numPath, "", "empty"},
		{"number: no webhook_configuration", numPath, `{}`, `"webhook_configuration"`},
		{"number: null webhook_configuration", numPath, `{"webhook_configuration":null}`, `"webhook_configuration"`},
		{"number: other fields", numPath, `{"pin":"123456"}`, "pin"},
		{"number: unknown field inside", numPath, map[string]any{"webhook_configuration": map[string]any{"override_callback_uri": rcv.URL, "verify_token": rcv.Token, "fields": []string{"messages"}}}, "fields"},
		{"number: URI over 200 characters", numPath, map[string]any{"webhook_configuration": map[string]string{"override_callback_uri": long, "verify_token": "t"}}, "200"},
		{"number: no verify_token", numPath, map[string]any{"webhook_configuration": map[string]string{"override_callback_uri": rcv.URL}}, `"webhook_configuration.verify_token" is required`},
		{"number: configuration not an object", numPath, `{"webhook_configuration":"https://example.com/"}`, "webhook_configuration"},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := s.Do("POST", c.path, c.body)
			wantGraphError(t, "POST "+c.path, r, 400, 100, c.says)
			if r.Str("error.message") != "(#100) Invalid parameter" {
				t.Fatalf("POST %s: %s, want Graph's \"(#100) Invalid parameter\"", c.path, r)
			}
		})
	}
	if got := endpointsByScope(t, s, s.Key); len(got) != 1 || len(got["primary"]) != 1 {
		t.Fatalf("after the bad requests the endpoints are %v, want only the primary", got)
	}
	if gets := handshakes(rcv); gets != 0 {
		t.Fatalf("the receiver got %d handshakes from bad requests", gets)
	}
	wantWebhookConfiguration(t, s, s.Key, p.ID, "", "", primary.URL)

	// Exactly 200 characters is taken.
	at200 := rcv.URL + "/" + strings.Repeat("x", 200-len(rcv.URL)-1)
	setNumberOverride(t, s, s.Key, p.ID, at200, rcv.Token)
	wantWebhookConfiguration(t, s, s.Key, p.ID, at200, "", primary.URL)
	setNumberOverride(t, s, s.Key, p.ID, "", "")

	// Bahasha's own paths keep their answers beside the Graph patterns.
	for _, c := range []struct {
		method, path string
		status       int
		allow        string
	}{
		{"POST", "/v1/webhook", 405, "GET, PUT, DELETE"},
		{"PATCH", "/v1/webhook", 405, "GET, PUT, DELETE"},
		{"GET", "/v1/events", 405, "POST"},
		{"GET", "/v1/" + p.ID + "/messages", 405, "POST"},
		{"DELETE", "/v1/" + p.ID, 405, "GET, POST"},
		{"PUT", wabaPath, 405, "GET, POST"},
		{"GET", "/v1/" + p.ID + "/nothing", 404, ""},
		{"GET", "/v1/nope", 404, ""}, // Graph's ids are digits
		{"POST", "/v1/nope", 404, ""},
		{"POST", "/v1/nope/subscribed_apps", 404, ""},
		{"DELETE", "/v1/" + p.ID + "/nothing/here", 404, ""},
	} {
		r := s.Do(c.method, c.path, nil)
		if r.Status != c.status || r.Header.Get("Allow") != c.allow || r.Str("error.code") != map[int]string{405: "method_not_allowed", 404: "not_found"}[c.status] {
			t.Errorf("%s %s: %s (Allow %q), want %d with Allow %q", c.method, c.path, r, r.Header.Get("Allow"), c.status, c.allow)
		}
	}
}
