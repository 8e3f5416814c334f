package cli_test

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// attempts returns a delivery's attempt_log entries.
func attempts(r *apiResp) []map[string]any {
	var out []map[string]any
	list, _ := r.Get("attempt_log").([]any)
	for _, a := range list {
		out = append(out, a.(map[string]any))
	}
	return out
}

func startedAt(t *testing.T, a map[string]any) time.Time {
	t.Helper()
	at, err := time.Parse(time.RFC3339Nano, a["started_at"].(string))
	if err != nil {
		t.Fatalf("started_at %v: %v", a["started_at"], err)
	}
	return at
}

// TestRetries checks that failed attempts are retried on the schedule, that
// each is visible in the delivery's attempt log, and that a delivery failed
// after its retry window can be retried by hand.
func TestRetries(t *testing.T) {
	t.Parallel()

	t.Run("500_twice_then_200", func(t *testing.T) {
		t.Parallel()
		s, rcv := setup(t, serveOpts{})
		rcv.Behave(func(w http.ResponseWriter, _ *http.Request, n int) bool {
			if n <= 2 {
				// 10 KB: the attempt log keeps the first 4 KB.
				http.Error(w, "boom "+strconv.Itoa(n)+" "+strings.Repeat("x", 10<<10), http.StatusInternalServerError)
				return true
			}
			return false
		})
		wamid, id := s.Inbound(s.Key, s.Phone().ID, "254712345678", "retry me")
		rcv.Wait(t, "the message after two 500s", func() bool { return len(rcv.messages) == 1 })
		if got := rcv.Messages()[0].Message.ID; got != wamid {
			t.Errorf("got message %s, want %s", got, wamid)
		}
		r := s.WaitDelivery(s.Key, id, "delivered after 3 attempts", func(r *apiResp) bool { return r.Str("state") == "delivered" })
		if r.Num("attempts") != 3 || r.Get("delivered_at") == nil || r.Num("last_status_code") != 200 {
			t.Errorf("delivery %s", r)
		}
		log := attempts(r)
		if len(log) != 3 {
			t.Fatalf("attempt_log has %d entries, want 3: %s", len(log), r)
		}
		for i, want := range []float64{500, 500, 200} {
			a := log[i]
			if a["number"] != float64(i+1) || a["status_code"] != want {
				t.Errorf("attempt %d: %v, want number %d status %v", i, a, i+1, want)
			}
			if i < 2 {
				if body, _ := a["response_body"].(string); !strings.HasPrefix(body, "boom "+strconv.Itoa(i+1)+" xxx") || len(body) != 4<<10 {
					t.Errorf("attempt %d response_body %.40q… (%d bytes), want the first 4 KB of the receiver's answer", i, body, len(body))
				}
				if e, _ := a["error"].(string); !strings.Contains(e, "500") {
					t.Errorf("attempt %d error %q does not name the status", i, e)
				}
			} else if a["error"] != nil && a["error"] != "" {
				t.Errorf("successful attempt has error %v", a["error"])
			}
		}
		// The delivery id header is stable across attempts.
		posts := rcv.Posts()
		if len(posts) != 3 {
			t.Fatalf("receiver got %d POSTs, want 3", len(posts))
		}
		for i, p := range posts {
			if p.Header.Get("X-Bahasha-Delivery-Id") != posts[0].Header.Get("X-Bahasha-Delivery-Id") {
				t.Errorf("POST %d has delivery id %q, POST 1 %q", i+1, p.Header.Get("X-Bahasha-Delivery-Id"), posts[0].Header.Get("X-Bahasha-Delivery-Id"))
			}
			if p.Header.Get("X-Bahasha-Attempt") != strconv.Itoa(i+1) {
				t.Errorf("POST %d has X-Bahasha-Attempt %q", i+1, p.Header.Get("X-Bahasha-Attempt"))
			}
		}
	})

	t.Run("timeout_then_200", func(t *testing.T) {
		t.Parallel()
		s, rcv := setup(t, serveOpts{Args: []string{"--attempt-timeout", "300ms"}})
		rcv.Behave(func(w http.ResponseWriter, r *http.Request, n int) bool {
			if n == 1 {
				select {
				case <-r.Context().Done(): // Bahasha gave up
				case <-rcv.quit:
				}
				return true
			}
			return false
		})
		_, id := s.Inbound(s.Key, s.Phone().ID, "254712345678", "slow")
		rcv.Wait(t, "the message after a timeout", func() bool { return len(rcv.messages) == 1 })
		r := s.WaitDelivery(s.Key, id, "delivered", func(r *apiResp) bool { return r.Str("state") == "delivered" })
		log := attempts(r)
		if len(log) != 2 || r.Num("attempts") != 2 {
			t.Fatalf("delivery %s, want 2 attempts", r)
		}
		if log[0]["status_code"] != float64(0) || !strings.Contains(log[0]["error"].(string), "did not answer within 300ms") {
			t.Errorf("first attempt %v, want a timeout without status", log[0])
		}
		if d := log[0]["duration_ms"].(float64); d < 250 || d > 5000 {
			t.Errorf("timed-out attempt took %vms, want about 300ms", d)
		}
		if log[1]["status_code"] != float64(200) {
			t.Errorf("second attempt %v", log[1])
		}
	})

	t.Run("retry_after_429", func(t *testing.T) {
		t.Parallel()
		s, rcv := setup(t, serveOpts{})
		rcv.Behave(func(w http.ResponseWriter, _ *http.Request, n int) bool {
			if n == 1 {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "slow down", http.StatusTooManyRequests)
				return true
			}
			return false
		})
		_, id := s.Inbound(s.Key, s.Phone().ID, "254712345678", "rate limited")
		rcv.Wait(t, "the message after a 429", func() bool { return len(rcv.messages) == 1 })
		r := s.WaitDelivery(s.Key, id, "delivered", func(r *apiResp) bool { return r.Str("state") == "delivered" })
		log := attempts(r)
		if len(log) != 2 {
			t.Fatalf("delivery %s, want 2 attempts", r)
		}
		if log[0]["status_code"] != float64(429) {
			t.Errorf("first attempt %v", log[0])
		}
		if gap := startedAt(t, log[1]).Sub(startedAt(t, log[0])); gap < 900*time.Millisecond {
			t.Errorf("second attempt %v after the 429 with Retry-After: 1, want at least ~1s (schedule is 50ms)", gap)
		}
		posts := rcv.Posts()
		if gap := posts[1].At.Sub(posts[0].At); gap < 900*time.Millisecond {
			t.Errorf("the receiver saw the retry %v after the 429, want at least ~1s", gap)
		}
	})

	t.Run("window_over_then_manual_retry", func(t *testing.T) {
		t.Parallel()
		s, rcv := setup(t, serveOpts{Args: []string{"--retry-window", "1s", "--disable-after", "1h"}})
		rcv.Fail(true)
		wamid, id := s.Inbound(s.Key, s.Phone().ID, "254712345678", "doomed")
		r := s.WaitDelivery(s.Key, id, "failed after the retry window", func(r *apiResp) bool { return r.Str("state") == "failed" })
		if r.Num("attempts") < 2 || r.Get("next_attempt_at") != nil || !strings.Contains(r.Str("last_error"), "retry window is over") ||
			r.Num("last_status_code") != 500 {
			t.Errorf("failed delivery %s", r)
		}
		failedAttempts := r.Num("attempts")
		found := false
		for _, d := range s.Deliveries(s.Key, "&state=failed") {
			if d["id"] == id {
				found = true
			}
			if d["state"] != "failed" {
				t.Errorf("state=failed lists %v", d["state"])
			}
		}
		if !found {
			t.Errorf("GET /v1/webhook/deliveries?state=failed does not list %s", id)
		}
		for _, d := range s.Deliveries(s.Key, "&state=pending") {
			if d["id"] == id {
				t.Errorf("state=pending lists the failed delivery")
			}
		}

		// Fix the receiver, retry by hand: delivered.
		rcv.Fail(false)
		r = s.Do("POST", "/v1/webhook/deliveries/"+id+"/retry", nil)
		if r.Status != 202 || r.Str("id") != id || r.Str("state") != "pending" {
			t.Fatalf("POST retry: %s, want 202 pending", r)
		}
		rcv.Wait(t, "the retried message", func() bool { return len(rcv.messages) == 1 })
		if got := rcv.Messages()[0].Message.ID; got != wamid {
			t.Errorf("got %s, want %s", got, wamid)
		}
		r = s.WaitDelivery(s.Key, id, "delivered after the manual retry", func(r *apiResp) bool { return r.Str("state") == "delivered" })
		if r.Num("attempts") != failedAttempts+1 {
			t.Errorf("attempts = %v after the manual retry, want %v", r.Num("attempts"), failedAttempts+1)
		}
	})
}
