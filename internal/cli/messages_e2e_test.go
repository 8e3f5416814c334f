package cli_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// statusPost is one status as it arrived: the whole decoded body of its POST,
// the status object, and the POST.
type statusPost struct {
	body   map[string]any
	status map[string]any
	post   post
}

// postsFor returns every status of the wamid the receiver got, with the body
// and POST that carried it (a POST may carry several events).
func postsFor(rcv *receiver, wamid string) []statusPost {
	var out []statusPost
	for _, p := range rcv.Posts() {
		var v map[string]any
		if json.Unmarshal(p.Body, &v) != nil {
			continue
		}
		sts, _ := jget(v, "entry.0.changes.0.value.statuses").([]any)
		for _, st := range sts {
			if m, _ := st.(map[string]any); m["id"] == wamid {
				out = append(out, statusPost{body: v, status: m, post: p})
			}
		}
	}
	return out
}

func sortedKeys(v any) []string {
	ks := keysOf(v)
	sort.Strings(ks)
	return ks
}

// TestMessagesAPI sends messages through the Cloud API compatible Messages
// API and checks what the sandbox carrier reports back to the webhook.
func TestMessagesAPI(t *testing.T) {
	t.Parallel()
	s, rcv := setup(t, serveOpts{})
	phone := s.Phone()

	t.Run("text_sent_delivered_read", func(t *testing.T) {
		r := s.Do("POST", "/v1/"+phone.ID+"/messages", map[string]any{
			"messaging_product": "whatsapp", "recipient_type": "individual", "to": "+254712345678",
			"type": "text", "text": map[string]any{"body": "Your order has shipped"}})
		if r.Status != 200 {
			t.Fatalf("POST messages: %s", r)
		}
		wamid := r.Str("messages.0.id")
		if r.Str("messaging_product") != "whatsapp" || r.Str("contacts.0.input") != "+254712345678" ||
			r.Str("contacts.0.wa_id") != "254712345678" || !strings.HasPrefix(wamid, "wamid.") {
			t.Errorf("response %s is not the Cloud API's shape", r)
		}
		if ks := sortedKeys(r.JSON); !slices.Equal(ks, []string{"contacts", "messages", "messaging_product"}) {
			t.Errorf("response keys %v", ks)
		}
		rcv.Wait(t, "sent, delivered, read", func() bool { return len(rcv.statusesOfLocked(wamid)) == 3 })
		statuses := rcv.Statuses()
		var got []whatsapp.StatusValue
		for _, e := range statuses {
			if e.Status.ID == wamid {
				got = append(got, e.Status.Status)
				if e.WABAID != phone.WABA || e.Metadata.PhoneNumberID != phone.ID || e.Metadata.DisplayPhoneNumber != phone.Display {
					t.Errorf("status event placed at %q/%+v, want WABA %q and number %+v", e.WABAID, e.Metadata, phone.WABA, phone)
				}
			}
		}
		if want := []whatsapp.StatusValue{"sent", "delivered", "read"}; !slices.Equal(got, want) {
			t.Errorf("statuses arrived as %v, want %v", got, want)
		}

		sps := postsFor(rcv, wamid)
		if len(sps) != 3 {
			t.Fatalf("%d statuses of the message in the POSTs, want 3", len(sps))
		}
		ids := map[string]bool{}
		for _, sp := range sps {
			b, h := sp.body, sp.post.Header
			if ct := h.Get("Content-Type"); ct != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if ua := h.Get("User-Agent"); !strings.HasPrefix(ua, "Bahasha-Webhooks/") {
				t.Errorf("User-Agent = %q, want Bahasha-Webhooks/…", ua)
			}
			if h.Get("X-Bahasha-Delivery-Id") == "" {
				t.Errorf("no X-Bahasha-Delivery-Id header")
			}
			for id := range strings.SplitSeq(h.Get("X-Bahasha-Delivery-Id"), ",") {
				ids[strings.TrimSpace(id)] = true
			}
			if !strings.HasPrefix(h.Get("X-Hub-Signature-256"), "sha256=") {
				t.Errorf("X-Hub-Signature-256 = %q", h.Get("X-Hub-Signature-256"))
			}
			// The doc's envelope, exactly.
			if ks := sortedKeys(b); !slices.Equal(ks, []string{"entry", "object"}) || b["object"] != "whatsapp_business_account" {
				t.Errorf("top level %v object %v", ks, b["object"])
			}
			if n := len(jget(b, "entry").([]any)); n != 1 {
				t.Errorf("%d entries", n)
			}
			if ks := sortedKeys(jget(b, "entry.0")); !slices.Equal(ks, []string{"changes", "id"}) || jget(b, "entry.0.id") != phone.WABA {
				t.Errorf("entry keys %v id %v, want the WABA id %s", ks, jget(b, "entry.0.id"), phone.WABA)
			}
			if ks := sortedKeys(jget(b, "entry.0.changes.0")); !slices.Equal(ks, []string{"field", "value"}) || jget(b, "entry.0.changes.0.field") != "messages" {
				t.Errorf("change keys %v field %v", ks, jget(b, "entry.0.changes.0.field"))
			}
			v := jget(b, "entry.0.changes.0.value")
			if ks := sortedKeys(v); !slices.Equal(ks, []string{"messaging_product", "metadata", "statuses"}) {
				t.Errorf("value keys %v", ks)
			}
			if jget(v, "messaging_product") != "whatsapp" || jget(v, "metadata.display_phone_number") != phone.Display ||
				jget(v, "metadata.phone_number_id") != phone.ID {
				t.Errorf("value metadata %v", v)
			}
			st := sp.status
			ts, _ := jget(st, "timestamp").(string)
			if len(ts) < 10 || strings.Trim(ts, "0123456789") != "" {
				t.Errorf("timestamp %q is not Unix seconds as a string", ts)
			}
			if jget(st, "recipient_id") != "254712345678" || jget(st, "conversation.id") == nil ||
				jget(st, "conversation.origin.type") != "service" || jget(st, "pricing.category") != "service" ||
				jget(st, "pricing.billable") != true || jget(st, "pricing.pricing_model") == nil {
				t.Errorf("status %v lacks recipient_id, conversation or pricing", st)
			}
		}
		// Each delivery is visible through the API with its wamid.
		n := 0
		for _, d := range s.Deliveries(s.Key, "") {
			if d["wamid"] == wamid {
				n++
				if !ids[strings.TrimPrefix(d["id"].(string), "dlv_")] && !ids[d["id"].(string)] {
					t.Errorf("delivery %v is not one of the X-Bahasha-Delivery-Id headers %v", d["id"], ids)
				}
			}
		}
		if n != 3 {
			t.Errorf("%d deliveries for the wamid, want 3", n)
		}
	})

	t.Run("recipient_0000_fails", func(t *testing.T) {
		wamid := s.Send(s.Key, phone.ID, "254712340000")
		rcv.Wait(t, "sent then failed", func() bool { return len(rcv.statusesOfLocked(wamid)) == 2 })
		var got []whatsapp.StatusValue
		var failed *whatsapp.Status
		for _, e := range rcv.Statuses() {
			if e.Status.ID == wamid {
				got = append(got, e.Status.Status)
				if e.Status.Status == whatsapp.StatusFailed {
					failed = e.Status
				}
			}
		}
		if !slices.Equal(got, []whatsapp.StatusValue{"sent", "failed"}) || failed == nil {
			t.Fatalf("statuses %v, want sent, failed", got)
		}
		// The errors array, byte for byte in meaning.
		var errs []any
		for _, sp := range postsFor(rcv, wamid) {
			if sp.status["status"] == "failed" {
				errs, _ = sp.status["errors"].([]any)
			}
		}
		var want []any
		json.Unmarshal([]byte(`[{"code":131026,"title":"Message undeliverable","message":"This message is undeliverable","error_data":{"details":"The recipient phone number is not a WhatsApp phone number."}}]`), &want)
		if !reflect.DeepEqual(errs, want) {
			t.Errorf("failed status errors = %v, want %v", errs, want)
		}
	})

	t.Run("recipient_1111_never_read", func(t *testing.T) {
		wamid := s.Send(s.Key, phone.ID, "254712341111")
		rcv.Wait(t, "sent then delivered", func() bool { return len(rcv.statusesOfLocked(wamid)) == 2 })
		n := 0
		for _, d := range s.Deliveries(s.Key, "") {
			if d["wamid"] == wamid {
				n++
				if d["status"] == "read" {
					t.Errorf("a read status exists for a 1111 recipient: %v", d)
				}
			}
		}
		if n != 2 {
			t.Errorf("%d deliveries for the 1111 recipient, want exactly 2 (sent, delivered)", n)
		}
		rcv.mu.Lock()
		got := rcv.statusesOfLocked(wamid)
		rcv.mu.Unlock()
		if !slices.Equal(got, []whatsapp.StatusValue{"sent", "delivered"}) {
			t.Errorf("statuses %v, want sent, delivered", got)
		}
	})

	t.Run("other_types", func(t *testing.T) {
		for name, body := range map[string]string{
			"template":    `{"messaging_product":"whatsapp","to":"254712345678","type":"template","template":{"name":"order_update","language":{"code":"en_US"},"components":[{"type":"body","parameters":[{"type":"text","text":"42"}]}]}}`,
			"image":       `{"messaging_product":"whatsapp","to":"254712345678","type":"image","image":{"link":"https://example.com/a.jpg","caption":"receipt"}}`,
			"document":    `{"messaging_product":"whatsapp","to":"254712345678","type":"document","document":{"link":"https://example.com/a.pdf","filename":"invoice.pdf"}}`,
			"audio":       `{"messaging_product":"whatsapp","to":"254712345678","type":"audio","audio":{"link":"https://example.com/a.ogg"}}`,
			"video":       `{"messaging_product":"whatsapp","to":"254712345678","type":"video","video":{"link":"https://example.com/a.mp4"}}`,
			"interactive": `{"messaging_product":"whatsapp","to":"254712345678","type":"interactive","interactive":{"type":"button","body":{"text":"Confirm?"},"action":{"buttons":[{"type":"reply","reply":{"id":"yes","title":"Yes"}}]}}}`,
			"reaction":    `{"messaging_product":"whatsapp","to":"254712345678","type":"reaction","reaction":{"message_id":"wamid.ABC","emoji":"👍"}}`,
		} {
			r := s.Do("POST", "/v1/"+phone.ID+"/messages", body)
			if r.Status != 200 || !strings.HasPrefix(r.Str("messages.0.id"), "wamid.") || r.Str("contacts.0.wa_id") != "254712345678" {
				t.Errorf("%s: %s", name, r)
				continue
			}
			if name == "template" && r.Str("messages.0.message_status") != "accepted" {
				t.Errorf("template: message_status = %q, want accepted", r.Str("messages.0.message_status"))
			}
		}
	})

	t.Run("validation_errors", func(t *testing.T) {
		before := len(s.Deliveries(s.Key, ""))
		for _, tc := range []struct{ name, body, details string }{
			{"missing_messaging_product", `{"to":"254712345678","type":"text","text":{"body":"hi"}}`, "messaging_product"},
			{"bad_to", `{"messaging_product":"whatsapp","to":"call me","type":"text","text":{"body":"hi"}}`, `"to"`},
			{"unknown_type", `{"messaging_product":"whatsapp","to":"254712345678","type":"hologram"}`, `"type"`},
			{"text_without_body", `{"messaging_product":"whatsapp","to":"254712345678","type":"text","text":{}}`, "text"},
			{"template_without_language", `{"messaging_product":"whatsapp","to":"254712345678","type":"template","template":{"name":"x"}}`, "language"},
			{"malformed_json", `{"messaging_product":`, "JSON"},
			{"wrong_type", `{"messaging_product":"whatsapp","to":254712345678,"type":"text","text":{"body":"hi"}}`, `"to"`},
		} {
			r := s.Do("POST", "/v1/"+phone.ID+"/messages", tc.body)
			if r.Status != 400 || r.Num("error.code") != 100 || r.Str("error.type") != "OAuthException" ||
				!strings.Contains(r.Str("error.error_data.details"), tc.details) || r.Str("error.message") == "" ||
				r.Str("error.error_data.messaging_product") != "whatsapp" {
				t.Errorf("%s: %s, want 400 Cloud API error code 100 OAuthException with details naming %s", tc.name, r, tc.details)
			}
		}
		if after := len(s.Deliveries(s.Key, "")); after != before {
			t.Errorf("rejected messages created %d deliveries", after-before)
		}
	})
}
