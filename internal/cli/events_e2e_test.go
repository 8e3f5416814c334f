package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
)

// createAccountCLI runs "bahasha accounts create --json" against a data
// folder (also while serve uses it) and returns the new account's key and
// phone number id.
func createAccountCLI(t *testing.T, data, name string) (key, phoneID string) {
	t.Helper()
	code, out, errOut := runCLI(t, context.Background(), nil, "accounts", "create", "--name", name, "--data", data, "--json")
	if code != 0 {
		t.Fatalf("accounts create: exit %d: %s", code, errOut)
	}
	var v map[string]any
	if err := json.Unmarshal([]byte(out), &v); err != nil {
		t.Fatalf("accounts create --json printed %q: %v", out, err)
	}
	key, _ = jget(v, "api_key").(string)
	phoneID, _ = jget(v, "phone_number.id").(string)
	if key == "" || phoneID == "" || jget(v, "account.id") == nil || jget(v, "account.name") != name {
		t.Fatalf("accounts create --json printed %s", out)
	}
	return key, phoneID
}

func statusEvent(id, phoneID, wamid, status string) map[string]any {
	return map[string]any{"id": id, "phone_number_id": phoneID,
		"status": map[string]any{"id": wamid, "status": status, "timestamp": "1700000001", "recipient_id": "254712345678"}}
}

func messageEvent(id, phoneID, wamid, from, text string) map[string]any {
	return map[string]any{"id": id, "phone_number_id": phoneID,
		"message": map[string]any{"id": wamid, "from": from, "timestamp": "1700000005", "type": "text", "text": map[string]any{"body": text}},
		"contact": map[string]any{"profile": map[string]any{"name": "Jane Smith"}, "wa_id": from}}
}

// TestEventsIngest exercises POST /v1/events: a batch is acknowledged with
// per-item results, a retried batch is all duplicates and nothing is
// delivered twice, and a batch with invalid items is refused whole.
func TestEventsIngest(t *testing.T) {
	t.Parallel()
	s, rcv := setup(t, serveOpts{})
	phone := s.Phone()

	batch := map[string]any{"events": []any{
		statusEvent("p-1", phone.ID, "wamid.ING1", "sent"),
		statusEvent("p-2", phone.ID, "wamid.ING1", "delivered"),
		messageEvent("p-3", phone.ID, "wamid.IN-A", "254712345678", "first reply"),
		statusEvent("p-4", phone.ID, "wamid.ING1", "read"),
		messageEvent("p-5", phone.ID, "wamid.IN-B", "254712345679", "second reply"),
	}}
	r := s.Do("POST", "/v1/events", batch)
	if r.Status != 202 || r.Num("accepted") != 5 || r.Num("duplicates") != 0 || r.Len("results") != 5 {
		t.Fatalf("POST /v1/events: %s, want 202 with 5 accepted", r)
	}
	for i := range 5 {
		p := fmt.Sprintf("results.%d.", i)
		if r.Str(p+"id") != fmt.Sprintf("p-%d", i+1) || !strings.HasPrefix(r.Str(p+"event_id"), "evt_") ||
			!strings.HasPrefix(r.Str(p+"delivery_id"), "dlv_") || r.Get(p+"duplicate") != false {
			t.Errorf("result %d: %v", i, r.Get(fmt.Sprintf("results.%d", i)))
		}
	}
	rcv.Wait(t, "the batch's 3 statuses and 2 messages", func() bool {
		return len(rcv.statusesOfLocked("wamid.ING1")) == 3 && len(rcv.messages) == 2
	})
	for _, e := range rcv.Messages() {
		if e.Contact == nil || e.Contact.Profile.Name != "Jane Smith" || e.Contact.WaID != e.Message.From {
			t.Errorf("message %s arrived with contact %+v", e.Message.ID, e.Contact)
		}
	}

	// The same batch again: all duplicates, no new delivery.
	r = s.Do("POST", "/v1/events", batch)
	if r.Status != 202 || r.Num("accepted") != 0 || r.Num("duplicates") != 5 {
		t.Fatalf("retried batch: %s, want 202 with 5 duplicates", r)
	}
	for i := range 5 {
		if r.Get(fmt.Sprintf("results.%d.duplicate", i)) != true || r.Get(fmt.Sprintf("results.%d.delivery_id", i)) != nil {
			t.Errorf("retried result %d: %v", i, r.Get(fmt.Sprintf("results.%d", i)))
		}
	}
	if n := len(s.Deliveries(s.Key, "")); n != 5 {
		t.Errorf("%d deliveries after the retried batch, want 5: nothing may be delivered twice", n)
	}

	t.Run("invalid_items_ingest_nothing", func(t *testing.T) {
		before := len(s.Deliveries(s.Key, ""))
		bad := map[string]any{"events": []any{
			statusEvent("v-ok", phone.ID, "wamid.V1", "sent"),                                                                                             // 0 valid
			statusEvent("", phone.ID, "wamid.V1", "sent"),                                                                                                 // 1 id
			statusEvent("v-2", "999999999", "wamid.V1", "sent"),                                                                                           // 2 phone_number_id
			map[string]any{"id": "v-3", "phone_number_id": phone.ID, "status": map[string]any{"id": "wamid.V1"}},                                          // 3 status.status
			statusEvent("v-ok", phone.ID, "wamid.V1", "delivered"),                                                                                        // 4 id repeated
			map[string]any{"id": "v-5", "phone_number_id": phone.ID},                                                                                      // 5 neither
			map[string]any{"id": "v-6", "phone_number_id": phone.ID, "status": map[string]any{"id": "wamid.V1", "status": "failed", "recipient_id": "1"}}, // 6 errors
			map[string]any{"id": "v-7", "phone_number_id": phone.ID, "message": map[string]any{"id": "wamid.M", "type": "text"}},                          // 7 from
		}}
		r := s.Do("POST", "/v1/events", bad)
		if r.Status != 422 || r.Str("error.code") != "invalid_events" {
			t.Fatalf("POST /v1/events with invalid items: %s, want 422 invalid_events", r)
		}
		want := map[int]string{1: "id", 2: "phone_number_id", 3: "status.status", 4: "id", 5: "status", 6: "status.errors", 7: "message.from"}
		got := map[int]string{}
		for i := range r.Len("error.details.errors") {
			e := fmt.Sprintf("error.details.errors.%d.", i)
			got[int(r.Num(e+"index"))] = r.Str(e + "field")
			if r.Str(e+"message") == "" {
				t.Errorf("item error %d has no message", i)
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("item errors (index → field) = %v, want %v", got, want)
		}
		if !strings.Contains(r.Str("error.message"), "none was ingested") {
			t.Errorf("message %q does not say nothing was ingested", r.Str("error.message"))
		}
		if after := len(s.Deliveries(s.Key, "")); after != before {
			t.Errorf("a refused batch created %d deliveries", after-before)
		}
		// The valid item was not ingested: sent alone it is new, not a duplicate.
		r = s.Do("POST", "/v1/events", map[string]any{"events": []any{statusEvent("v-ok", phone.ID, "wamid.V1", "sent")}})
		if r.Status != 202 || r.Num("accepted") != 1 || r.Num("duplicates") != 0 {
			t.Errorf("the valid item of the refused batch, sent alone: %s, want accepted 1", r)
		}
	})

	t.Run("unknown_phone_number", func(t *testing.T) {
		_, otherPhone := createAccountCLI(t, s.Data, "Other Ltd")
		before := len(s.Deliveries(s.Key, ""))
		for _, id := range []string{"123456789", otherPhone, ""} {
			r := s.Do("POST", "/v1/events", map[string]any{"events": []any{statusEvent("u-"+id, id, "wamid.U", "sent")}})
			if r.Status != 422 || r.Str("error.code") != "invalid_events" || r.Str("error.details.errors.0.field") != "phone_number_id" {
				t.Errorf("phone_number_id %q: %s, want 422 invalid_events on phone_number_id", id, r)
			}
		}
		if after := len(s.Deliveries(s.Key, "")); after != before {
			t.Errorf("events for unknown numbers created %d deliveries", after-before)
		}
	})

	t.Run("batch_limits", func(t *testing.T) {
		for _, body := range []string{`{"events":[]}`, `{}`, `{"events":null}`} {
			r := s.Do("POST", "/v1/events", body)
			if r.Status != 400 || r.Str("error.code") != "invalid_request" || !strings.Contains(r.Str("error.message"), "at least one event") {
				t.Errorf("%s: %s, want 400 asking for at least one event", body, r)
			}
		}
		var many []any
		for i := range 1001 {
			many = append(many, statusEvent(fmt.Sprintf("m-%d", i), phone.ID, "wamid.M", "sent"))
		}
		r := s.Do("POST", "/v1/events", map[string]any{"events": many})
		if r.Status != 400 || !strings.Contains(r.Str("error.message"), "at most 1000") {
			t.Errorf("1001 events: %s, want 400 naming the limit", r)
		}
	})
}
