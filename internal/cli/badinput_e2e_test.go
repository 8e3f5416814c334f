package cli_test

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
)

// snapshot is the account state that bad requests must leave unchanged.
type snapshot struct {
	webhook, secret string
	deliveries      int
	numbers         string
}

func takeSnapshot(t *testing.T, s *server) snapshot {
	t.Helper()
	wh := s.Do("GET", "/v1/webhook", nil)
	nums := s.Do("GET", "/v1/phone_numbers", nil)
	return snapshot{webhook: string(wh.Body), secret: s.Secret(s.Key), deliveries: len(s.Deliveries(s.Key, "")), numbers: string(nums.Body)}
}

// TestBadInput sends malformed, mistyped, oversized and unauthenticated
// requests to every route: each gets a clear 4xx JSON error, never a 5xx, and
// nothing changes.
func TestBadInput(t *testing.T) {
	t.Parallel()
	s, _ := setup(t, serveOpts{Env: map[string]string{"BAHASHA_ADMIN_KEY": testAdminKey}})
	phone := s.Phone()
	_, dlv := s.Inbound(s.Key, phone.ID, "254712345678", "one delivery")
	eventually(t, "the first delivery", func() (bool, string) {
		r := s.Do("GET", "/v1/webhook/deliveries/"+dlv, nil)
		return r.Str("state") == "delivered", r.String()
	})
	before := takeSnapshot(t, s)

	msgs := "/v1/" + phone.ID + "/messages"
	inbound := "/v1/" + phone.ID + "/sandbox/inbound"
	routes := []struct{ method, path string }{
		{"GET", "/v1/phone_numbers"}, {"GET", "/v1/webhook"}, {"PUT", "/v1/webhook"}, {"DELETE", "/v1/webhook"},
		{"GET", "/v1/webhook/secret"}, {"POST", "/v1/webhook/secret/rotate"}, {"GET", "/v1/webhook/deliveries"},
		{"GET", "/v1/webhook/deliveries/" + dlv}, {"POST", "/v1/webhook/deliveries/" + dlv + "/retry"},
		{"POST", "/v1/events"}, {"POST", msgs}, {"POST", inbound},
	}

	t.Run("authorization", func(t *testing.T) {
		for _, auth := range []string{"", "Bearer", "Bearer    ", "Basic dXNlcjpwYXNz", "Token " + testAPIKey,
			"Bearer wrong-key-0123456789abcdefghijklmnopqrstu", "Bearer " + testAPIKey + " extra", testAPIKey, "Bearer " + testAdminKey} {
			for _, rt := range routes {
				r := s.DoAs("", rt.method, rt.path, `{}`, "Authorization", auth)
				if r.Status != 401 || r.Str("error.code") != "unauthorized" || !strings.Contains(r.Str("error.message"), "key") {
					t.Errorf("%s %s with Authorization %q: %s, want 401 unauthorized", rt.method, rt.path, auth, r)
				}
				if !strings.HasPrefix(r.Header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("%s %s with Authorization %q: WWW-Authenticate %q", rt.method, rt.path, auth, r.Header.Get("WWW-Authenticate"))
				}
			}
		}
	})

	big := func(n int) string { return `{"url":"` + strings.Repeat("a", n) + `","verify_token":"x"}` }
	bigEvents := func(n int) string {
		return `{"events":[{"id":"big","phone_number_id":"` + phone.ID + `","status":{"id":"w","status":"sent","recipient_id":"1","x":"` + strings.Repeat("a", n) + `"}}]}`
	}
	cases := []struct {
		name, method, path, body string
		status                   int
		code, msg                string
	}{
		// PUT /v1/webhook
		{"webhook_malformed", "PUT", "/v1/webhook", `{"url":`, 400, "invalid_request", "JSON"},
		{"webhook_syntax", "PUT", "/v1/webhook", `{"url" "x"}`, 400, "invalid_request", "not valid JSON"},
		{"webhook_empty", "PUT", "/v1/webhook", ``, 400, "invalid_request", "empty"},
		{"webhook_array", "PUT", "/v1/webhook", `["https://example.com"]`, 400, "invalid_request", "object"},
		{"webhook_wrong_type", "PUT", "/v1/webhook", `{"url":42,"verify_token":"x"}`, 400, "invalid_request", `"url" must be a string`},
		{"webhook_trailing", "PUT", "/v1/webhook", `{"url":"https://example.com/w","verify_token":"x"} garbage`, 400, "invalid_request", "after the JSON"},
		{"webhook_two_objects", "PUT", "/v1/webhook", `{"url":"https://example.com/w","verify_token":"x"}{}`, 400, "invalid_request", "after the JSON"},
		{"webhook_unknown_field", "PUT", "/v1/webhook", `{"url":"https://example.com/w","verify_token":"x","secret":"s"}`, 400, "invalid_request", "unknown field"},
		{"webhook_no_url", "PUT", "/v1/webhook", `{"verify_token":"x"}`, 400, "invalid_request", `"url" is required`},
		{"webhook_no_token", "PUT", "/v1/webhook", `{"url":"https://example.com/w"}`, 400, "invalid_request", `"verify_token" is required`},
		{"webhook_long_token", "PUT", "/v1/webhook", `{"url":"https://example.com/w","verify_token":"` + strings.Repeat("t", 513) + `"}`, 400, "invalid_request", "verify_token"},
		{"webhook_oversized", "PUT", "/v1/webhook", big(1<<20 + 10), 413, "body_too_large", "larger than"},
		// POST /v1/events
		{"events_malformed", "POST", "/v1/events", `{"events":[`, 400, "invalid_request", "JSON"},
		{"events_wrong_type", "POST", "/v1/events", `{"events":{}}`, 400, "invalid_request", `"events" must be an array`},
		{"events_item_wrong_type", "POST", "/v1/events", `{"events":[{"id":7}]}`, 422, "invalid_events", "must be a string"},
		{"events_timestamp_object", "POST", "/v1/events", `{"events":[{"id":"t","phone_number_id":"` + phone.ID + `","status":{"id":"w","status":"sent","recipient_id":"1","timestamp":{}}}]}`, 422, "invalid_events", "timestamp"},
		{"events_trailing", "POST", "/v1/events", `{"events":[]} x`, 400, "invalid_request", "after the JSON"},
		{"events_unknown_field", "POST", "/v1/events", `{"events":[],"batch":1}`, 400, "invalid_request", "unknown field"},
		{"events_oversized", "POST", "/v1/events", bigEvents(8<<20 + 10), 413, "body_too_large", "larger than"},
		// POST /v1/{id}/sandbox/inbound
		{"inbound_malformed", "POST", inbound, `{"from":"254712345678",`, 400, "invalid_request", "JSON"},
		{"inbound_trailing", "POST", inbound, `{"from":"254712345678","type":"text","text":{"body":"x"}}]`, 400, "invalid_request", "JSON"},
		{"inbound_oversized", "POST", inbound, `{"from":"254712345678","type":"text","text":{"body":"` + strings.Repeat("a", 1<<20) + `"}}`, 413, "body_too_large", "larger than"},
		{"inbound_unknown_number", "POST", "/v1/123456789/sandbox/inbound", `{"from":"254712345678","type":"text","text":{"body":"x"}}`, 404, "unknown_phone_number", "GET /v1/phone_numbers"},
		{"inbound_garbage_number", "POST", "/v1/..%2f..%2fetc/sandbox/inbound", `{"from":"254712345678","type":"text","text":{"body":"x"}}`, 404, "", ""},
		// POST /v1/{id}/messages
		{"messages_unknown_number", "POST", "/v1/123456789/messages", `{"messaging_product":"whatsapp","to":"254712345678","text":{"body":"x"}}`, 404, "unknown_phone_number", "GET /v1/phone_numbers"},
		{"messages_oversized", "POST", msgs, `{"messaging_product":"whatsapp","to":"254712345678","text":{"body":"` + strings.Repeat("a", 1<<20) + `"}}`, 413, "body_too_large", "larger than"},
		// Deliveries
		{"delivery_id_letters", "GET", "/v1/webhook/deliveries/dlv_abc", "", 404, "not_found", "dlv_"},
		{"delivery_id_zero", "GET", "/v1/webhook/deliveries/dlv_0", "", 404, "not_found", ""},
		{"delivery_id_negative", "GET", "/v1/webhook/deliveries/dlv_-1", "", 404, "not_found", ""},
		{"delivery_id_overflow", "GET", "/v1/webhook/deliveries/dlv_99999999999999999999", "", 404, "not_found", ""},
		{"delivery_id_unknown", "GET", "/v1/webhook/deliveries/dlv_424242", "", 404, "not_found", "dlv_424242"},
		{"retry_id_letters", "POST", "/v1/webhook/deliveries/xyz/retry", "", 404, "not_found", ""},
		{"retry_id_unknown", "POST", "/v1/webhook/deliveries/dlv_424242/retry", "", 404, "not_found", ""},
		{"list_state_bogus", "GET", "/v1/webhook/deliveries?state=bogus", "", 400, "invalid_request", `"state"`},
		{"list_limit_zero", "GET", "/v1/webhook/deliveries?limit=0", "", 400, "invalid_request", `"limit"`},
		{"list_limit_big", "GET", "/v1/webhook/deliveries?limit=1001", "", 400, "invalid_request", `"limit"`},
		{"list_limit_text", "GET", "/v1/webhook/deliveries?limit=ten", "", 400, "invalid_request", `"limit"`},
		{"list_before_bogus", "GET", "/v1/webhook/deliveries?before=yesterday", "", 400, "invalid_request", `"before"`},
		{"list_before_zero", "GET", "/v1/webhook/deliveries?before=dlv_0", "", 400, "invalid_request", `"before"`},
		// Unknown routes and methods
		{"unknown_route", "GET", "/v1/nope", "", 404, "not_found", "/v1/nope"},
		{"wrong_method", "PATCH", "/v1/webhook", `{}`, 405, "method_not_allowed", "use GET or PUT or DELETE"},
		{"wrong_method_numbers", "DELETE", "/v1/phone_numbers", "", 405, "method_not_allowed", "use GET"},
		// Admin
		{"admin_malformed", "POST", "/admin/v1/accounts", `{"name"`, 401, "unauthorized", ""}, // the key is checked first
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := s.Do(tc.method, tc.path, tc.body)
			if len(r.Body) > 300 {
				r.Body = append(r.Body[:300:300], "…"...)
			}
			if r.Status >= 500 {
				t.Fatalf("%s %s: %s — a 5xx for bad input", tc.method, tc.path, r)
			}
			if r.Status != tc.status {
				t.Errorf("%s %s: %s, want %d", tc.method, tc.path, r, tc.status)
			}
			if r.JSON == nil || r.Str("error.message") == "" || r.Str("error.code") == "" {
				t.Errorf("%s %s: body %s is not {\"error\":{\"code\",\"message\"}}", tc.method, tc.path, r.Body)
			}
			if tc.code != "" && r.Str("error.code") != tc.code {
				t.Errorf("%s %s: code %q, want %q", tc.method, tc.path, r.Str("error.code"), tc.code)
			}
			if !strings.Contains(r.Str("error.message"), tc.msg) {
				t.Errorf("%s %s: message %q does not contain %q", tc.method, tc.path, r.Str("error.message"), tc.msg)
			}
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("%s %s: Content-Type %q", tc.method, tc.path, ct)
			}
		})
	}

	t.Run("events_body_between_1_and_8_MiB_is_read", func(t *testing.T) {
		// A 2 MiB batch is not refused as too large: its cap is 8 MiB.
		var b bytes.Buffer
		b.WriteString(`{"events":[`)
		for i := range 400 {
			if i > 0 {
				b.WriteByte(',')
			}
			fmt.Fprintf(&b, `{"id":"size-%d","phone_number_id":"%s","status":{"id":"wamid.SIZE","status":"sent","recipient_id":"1","biz_opaque_callback_data":"%s"}}`,
				i, "999", strings.Repeat("p", 5000))
		}
		b.WriteString(`]}`)
		r := s.Do("POST", "/v1/events", b.Bytes())
		if r.Status != 422 || r.Str("error.code") != "invalid_events" {
			t.Errorf("a 2 MiB batch for an unknown number: %d %.200s, want 422 invalid_events (read, not 413)", r.Status, r.Body)
		}
	})

	if after := takeSnapshot(t, s); after != before {
		t.Errorf("bad requests changed the account:\nbefore %+v\nafter  %+v", before, after)
	}
}
