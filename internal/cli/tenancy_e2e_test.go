package cli_test

import (
	"strings"
	"testing"
)

// TestAdminAPI checks POST /admin/v1/accounts: disabled without
// BAHASHA_ADMIN_KEY, 401 with a wrong key, and a working account with it.
func TestAdminAPI(t *testing.T) {
	t.Parallel()
	t.Run("disabled", func(t *testing.T) {
		t.Parallel()
		s := startServe(t, serveOpts{})
		for _, key := range []string{"", testAdminKey, testAPIKey} {
			r := s.DoAs(key, "POST", "/admin/v1/accounts", `{"name":"B"}`)
			if r.Status != 404 || r.Str("error.code") != "admin_disabled" || !strings.Contains(r.Str("error.message"), "BAHASHA_ADMIN_KEY") {
				t.Errorf("admin API without BAHASHA_ADMIN_KEY (key %q): %s, want 404 admin_disabled", key, r)
			}
		}
	})
	t.Run("enabled", func(t *testing.T) {
		t.Parallel()
		s := startServe(t, serveOpts{Env: map[string]string{"BAHASHA_ADMIN_KEY": testAdminKey}})
		for _, key := range []string{"", "wrong-admin-key-0123456789abcdefghijkl", testAPIKey} {
			r := s.DoAs(key, "POST", "/admin/v1/accounts", `{"name":"B"}`)
			if r.Status != 401 || r.Str("error.code") != "unauthorized" {
				t.Errorf("admin API with key %q: %s, want 401 unauthorized", key, r)
			}
		}
		for _, tc := range []struct{ body, msg string }{
			{`{"name":""}`, "name"},
			{`{"name":"   "}`, "name"},
			{`{"name":"` + strings.Repeat("x", 201) + `"}`, "200"},
			{`{"name":"B","plan":"gold"}`, "unknown field"},
			{`{"name":`, "JSON"},
			{`{"name":42}`, `"name"`},
		} {
			r := s.DoAs(testAdminKey, "POST", "/admin/v1/accounts", tc.body)
			if r.Status != 400 || r.Str("error.code") != "invalid_request" || !strings.Contains(r.Str("error.message"), tc.msg) {
				t.Errorf("admin create %.40s: %s, want 400 mentioning %q", tc.body, r, tc.msg)
			}
		}
		r := s.DoAs(testAdminKey, "POST", "/admin/v1/accounts", `{"name":"Beta Ltd"}`)
		if r.Status != 201 || r.Str("account.name") != "Beta Ltd" || !strings.HasPrefix(r.Str("api_key"), "bh_") || r.Str("phone_number.id") == "" {
			t.Fatalf("admin create: %s", r)
		}
		key := r.Str("api_key")
		pr := s.DoAs(key, "GET", "/v1/phone_numbers", nil)
		if pr.Status != 200 || pr.Len("data") != 1 || pr.Str("data.0.id") != r.Str("phone_number.id") {
			t.Errorf("the new account's key lists %s, want its one number %s", pr, r.Str("phone_number.id"))
		}
	})
}

// TestTenancy checks that two accounts of one server never see each other's
// numbers, webhooks, events or deliveries.
func TestTenancy(t *testing.T) {
	t.Parallel()
	s, rcvA := setup(t, serveOpts{})
	phoneA := s.Phone()
	keyB, phoneBID := createAccountCLI(t, s.Data, "B") // while serve runs
	if keyB == s.Key {
		t.Fatal("account B got A's key")
	}
	secretA, secretB := s.Secret(s.Key), s.Secret(keyB)
	if secretA == secretB {
		t.Fatal("accounts A and B share an app secret")
	}
	rcvB := newReceiver(t, secretB)

	// Numbers.
	r := s.DoAs(keyB, "GET", "/v1/phone_numbers", nil)
	if r.Status != 200 || r.Len("data") != 1 || r.Str("data.0.id") != phoneBID || strings.Contains(string(r.Body), phoneA.ID) {
		t.Errorf("B's numbers: %s, want only %s", r, phoneBID)
	}
	// Webhook: B has none, A's is not shown.
	if r := s.DoAs(keyB, "GET", "/v1/webhook", nil); r.Status != 404 || r.Str("error.code") != "no_webhook" {
		t.Errorf("B's webhook before registering: %s, want 404 no_webhook", r)
	}
	s.Register(keyB, rcvB)
	if r := s.DoAs(keyB, "GET", "/v1/webhook", nil); r.Str("url") != rcvB.URL {
		t.Errorf("B's webhook: %s, want %s", r, rcvB.URL)
	}
	if r := s.Do("GET", "/v1/webhook", nil); r.Str("url") != rcvA.URL {
		t.Errorf("A's webhook after B registered: %s, want %s", r, rcvA.URL)
	}

	// A's events go to A only.
	wamidA := s.Send(s.Key, phoneA.ID, "254712345678")
	_, inboundA := s.Inbound(s.Key, phoneA.ID, "254712345678", "for A")
	rcvA.Wait(t, "A's events at A", func() bool { return len(rcvA.statusesOfLocked(wamidA)) == 3 && len(rcvA.messages) == 1 })
	wamidB := s.Send(keyB, phoneBID, "254712345678")
	rcvB.Wait(t, "B's events at B", func() bool { return len(rcvB.statusesOfLocked(wamidB)) == 3 })
	for _, e := range rcvB.Statuses() {
		if e.Status.ID == wamidA || e.Metadata.PhoneNumberID != phoneBID {
			t.Errorf("B's receiver got %s for number %s", e.Status.ID, e.Metadata.PhoneNumberID)
		}
	}
	if n := len(rcvB.Messages()); n != 0 {
		t.Errorf("B's receiver got %d messages, all A's", n)
	}
	for _, e := range rcvA.Statuses() {
		if e.Status.ID == wamidB {
			t.Errorf("A's receiver got B's status")
		}
	}

	// Deliveries: B lists only its own; A's ids are 404 for B.
	for _, d := range s.Deliveries(keyB, "") {
		if d["phone_number_id"] != phoneBID {
			t.Errorf("B lists a delivery of number %v", d["phone_number_id"])
		}
	}
	if n := len(s.Deliveries(keyB, "")); n != 3 {
		t.Errorf("B lists %d deliveries, want its 3", n)
	}
	for _, path := range []string{"/v1/webhook/deliveries/" + inboundA, "/v1/webhook/deliveries/" + strings.TrimPrefix(inboundA, "dlv_")} {
		if r := s.DoAs(keyB, "GET", path, nil); r.Status != 404 || r.Str("error.code") != "not_found" || strings.Contains(string(r.Body), "for A") {
			t.Errorf("B GET %s: %s, want 404", path, r)
		}
		if r := s.DoAs(keyB, "POST", path+"/retry", nil); r.Status != 404 || r.Str("error.code") != "not_found" {
			t.Errorf("B POST %s/retry: %s, want 404", path, r)
		}
	}
	if r := s.Do("GET", "/v1/webhook/deliveries/"+inboundA, nil); r.Status != 200 || r.Str("state") != "delivered" || r.Num("attempts") != 1 {
		t.Errorf("A's delivery after B's retry attempt: %s, want untouched (delivered, 1 attempt)", r)
	}

	// B cannot send from, simulate on, or ingest for A's number.
	r = s.DoAs(keyB, "POST", "/v1/"+phoneA.ID+"/messages", map[string]any{"messaging_product": "whatsapp", "to": "254712345678", "type": "text", "text": map[string]any{"body": "hi"}})
	if r.Status != 404 || r.Str("error.code") != "unknown_phone_number" {
		t.Errorf("B sends from A's number: %s, want 404 unknown_phone_number", r)
	}
	r = s.DoAs(keyB, "POST", "/v1/"+phoneA.ID+"/sandbox/inbound", map[string]any{"from": "254712345678", "type": "text", "text": map[string]any{"body": "hi"}})
	if r.Status != 404 || r.Str("error.code") != "unknown_phone_number" {
		t.Errorf("B simulates on A's number: %s, want 404 unknown_phone_number", r)
	}
	r = s.DoAs(keyB, "POST", "/v1/events", map[string]any{"events": []any{statusEvent("x-1", phoneA.ID, "wamid.X", "sent")}})
	if r.Status != 422 || r.Str("error.details.errors.0.field") != "phone_number_id" {
		t.Errorf("B ingests for A's number: %s, want 422 on phone_number_id", r)
	}
	// Producer ids are per account: B may use an id A used.
	ra := s.Do("POST", "/v1/events", map[string]any{"events": []any{statusEvent("shared-id", phoneA.ID, "wamid.SA", "sent")}})
	rb := s.DoAs(keyB, "POST", "/v1/events", map[string]any{"events": []any{statusEvent("shared-id", phoneBID, "wamid.SB", "sent")}})
	if ra.Num("accepted") != 1 || rb.Num("accepted") != 1 {
		t.Errorf("the same producer id in two accounts: A %s, B %s; want both accepted", ra, rb)
	}
	rcvB.Wait(t, "B's own ingested status", func() bool { return len(rcvB.statusesOfLocked("wamid.SB")) == 1 })
	rcvA.Wait(t, "A's own ingested status", func() bool { return len(rcvA.statusesOfLocked("wamid.SA")) == 1 })
	if len(rcvB.Errs()) > 0 || len(rcvA.Errs()) > 0 {
		t.Errorf("receiver errors: A %v B %v", rcvA.Errs(), rcvB.Errs())
	}

	// Rotating B's secret leaves A's alone.
	if r := s.DoAs(keyB, "POST", "/v1/webhook/secret/rotate", nil); r.Status != 200 || r.Str("secret") == secretB || r.Str("previous_secret") != secretB {
		t.Errorf("rotate B's secret: %s", r)
	}
	if got := s.Secret(s.Key); got != secretA {
		t.Errorf("A's secret changed when B rotated")
	}
	// Deleting B's webhook leaves A's in force.
	if r := s.DoAs(keyB, "DELETE", "/v1/webhook", nil); r.Status != 204 {
		t.Errorf("DELETE B's webhook: %s", r)
	}
	if r := s.Do("GET", "/v1/webhook", nil); r.Status != 200 || r.Str("url") != rcvA.URL {
		t.Errorf("A's webhook after B deleted its own: %s", r)
	}
}
