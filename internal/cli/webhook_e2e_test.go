package cli_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/bahasha/bahasha/sdk/webhook"
)

// TestWebhookLifecycle covers what happens to pending deliveries when the
// webhook is replaced, its secret rotated, or it is deleted; tokens and URLs
// with unusual characters; and paging through deliveries.
func TestWebhookLifecycle(t *testing.T) {
	t.Parallel()

	t.Run("token_and_query_kept", func(t *testing.T) {
		t.Parallel()
		s := startServe(t, serveOpts{})
		secret := s.Secret(s.Key)
		var mu sync.Mutex
		var queries []string
		h := &webhook.Handler{VerifyToken: "tok en&x=1/ü+%", AppSecret: secret}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			queries = append(queries, r.Method+" "+r.URL.Query().Get("tenant"))
			mu.Unlock()
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		url := srv.URL + "/hooks/wa?tenant=42&hub.mode=ignored"
		r := s.Do("PUT", "/v1/webhook", map[string]string{"url": url, "verify_token": "tok en&x=1/ü+%"})
		if r.Status != 200 || r.Str("url") != url {
			t.Fatalf("PUT with a token of special characters and a URL with a query: %s", r)
		}
		s.Inbound(s.Key, s.Phone().ID, "254712345678", "to a URL with a query")
		eventually(t, "a POST to the URL with its query", func() (bool, string) {
			mu.Lock()
			defer mu.Unlock()
			for _, q := range queries {
				if q == "POST 42" {
					return true, ""
				}
			}
			return false, fmt.Sprint(queries)
		})
		mu.Lock()
		defer mu.Unlock()
		if queries[0] != "GET 42" {
			t.Errorf("handshake query lost tenant=42: %v", queries)
		}
	})

	t.Run("replaced_webhook_gets_pending", func(t *testing.T) {
		t.Parallel()
		s, old := setup(t, serveOpts{Args: []string{"--retry-schedule", "300ms"}})
		old.Fail(true)
		wamid, id := s.Inbound(s.Key, s.Phone().ID, "254712345678", "moved")
		s.WaitDelivery(s.Key, id, "a failed attempt at the old URL", func(r *apiResp) bool { return r.Num("attempts") >= 1 })
		replacement := newReceiver(t, s.Secret(s.Key))
		s.Register(s.Key, replacement)
		replacement.Wait(t, "the pending delivery at the new URL", func() bool { return len(replacement.messages) == 1 })
		if got := replacement.Messages()[0].Message.ID; got != wamid {
			t.Errorf("got %s, want %s", got, wamid)
		}
	})

	t.Run("rotated_secret_signs_next_deliveries", func(t *testing.T) {
		t.Parallel()
		s, rcv := setup(t, serveOpts{})
		old := s.Secret(s.Key)
		r := s.Do("POST", "/v1/webhook/secret/rotate", nil)
		if r.Status != 200 || r.Str("previous_secret") != old || r.Str("secret") == old || len(r.Str("secret")) < 32 {
			t.Fatalf("rotate: %s", r)
		}
		if got := s.Secret(s.Key); got != r.Str("secret") {
			t.Errorf("GET secret after rotation = %q, want the new one", got)
		}
		rcv.SetSecret(r.Str("secret")) // the SDK handler rejects the old secret's signatures
		wamid, _ := s.Inbound(s.Key, s.Phone().ID, "254712345678", "new secret")
		rcv.Wait(t, "a delivery signed with the new secret", func() bool { return len(rcv.messages) == 1 })
		if got := rcv.Messages()[0].Message.ID; got != wamid {
			t.Errorf("got %s", got)
		}
	})

	t.Run("deleted_webhook_fails_pending", func(t *testing.T) {
		t.Parallel()
		s, rcv := setup(t, serveOpts{Args: []string{"--retry-schedule", "1m"}})
		rcv.Fail(true)
		_, id := s.Inbound(s.Key, s.Phone().ID, "254712345678", "orphaned")
		s.WaitDelivery(s.Key, id, "a failed attempt", func(r *apiResp) bool { return r.Num("attempts") >= 1 })
		if r := s.Do("DELETE", "/v1/webhook", nil); r.Status != 204 {
			t.Fatalf("DELETE /v1/webhook: %s", r)
		}
		if r := s.Do("DELETE", "/v1/webhook", nil); r.Status != 404 || r.Str("error.code") != "no_webhook" {
			t.Errorf("second DELETE: %s, want 404 no_webhook", r)
		}
		r := s.Do("GET", "/v1/webhook/deliveries/"+id, nil)
		if r.Str("state") != "failed" || !strings.Contains(r.Str("last_error"), "removed") {
			t.Errorf("pending delivery after DELETE: %s, want failed saying the webhook was removed", r)
		}
		if r := s.Do("POST", "/v1/webhook/deliveries/"+id+"/retry", nil); r.Status != 404 || r.Str("error.code") != "no_webhook" {
			t.Errorf("retry without a webhook: %s, want 404 no_webhook", r)
		}
		// Events without a webhook are accepted but create no delivery.
		ev := s.Do("POST", "/v1/events", map[string]any{"events": []any{statusEvent("nw-1", s.Phone().ID, "wamid.NW", "sent")}})
		if ev.Status != 202 || ev.Get("results.0.delivery_id") != nil {
			t.Errorf("ingest without a webhook: %s", ev)
		}
	})

	t.Run("paging", func(t *testing.T) {
		t.Parallel()
		s, rcv := setup(t, serveOpts{})
		var events []any
		for i := range 7 {
			events = append(events, statusEvent(fmt.Sprintf("pg-%d", i), s.Phone().ID, fmt.Sprintf("wamid.PG%d", i), "sent"))
		}
		if r := s.Do("POST", "/v1/events", map[string]any{"events": events}); r.Status != 202 {
			t.Fatalf("ingest: %s", r)
		}
		rcv.Wait(t, "7 statuses", func() bool { return len(rcv.statuses) == 7 })
		seen := map[string]bool{}
		cursor, pages := "", 0
		for {
			q := "/v1/webhook/deliveries?limit=3"
			if cursor != "" {
				q += "&before=" + cursor
			}
			r := s.Do("GET", q, nil)
			if r.Status != 200 {
				t.Fatalf("GET %s: %s", q, r)
			}
			pages++
			for i := range r.Len("data") {
				id := r.Str(fmt.Sprintf("data.%d.id", i))
				if seen[id] {
					t.Errorf("delivery %s on two pages", id)
				}
				seen[id] = true
			}
			cursor = r.Str("next_cursor")
			if cursor == "" || pages > 10 {
				break
			}
		}
		if len(seen) != 7 {
			t.Errorf("paging saw %d deliveries, want 7", len(seen))
		}
	})
}
