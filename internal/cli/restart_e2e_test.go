package cli_test

import (
	"fmt"
	"testing"
)

// TestRestart stops serve while deliveries wait for a retry, and checks that
// a new serve on the same data folder delivers them.
func TestRestart(t *testing.T) {
	t.Parallel()

	t.Run("in_retry_backoff", func(t *testing.T) {
		t.Parallel()
		data := t.TempDir()
		rcv := newReceiver(t, "")
		s := startServe(t, serveOpts{Data: data, Args: []string{"--retry-schedule", "2s"}})
		rcv.SetSecret(s.Secret(s.Key))
		s.Register(s.Key, rcv)
		rcv.Fail(true)
		wamid, id := s.Inbound(s.Key, s.Phone().ID, "254712345678", "survive a restart")
		r := s.WaitDelivery(s.Key, id, "a failed first attempt", func(r *apiResp) bool { return r.Num("attempts") == 1 })
		if r.Str("state") != "pending" || r.Get("next_attempt_at") == nil {
			t.Fatalf("delivery after one failed attempt: %s, want pending with a next attempt", r)
		}
		if code := s.Stop(); code != 0 {
			t.Fatalf("serve exited %d: %s", code, s.Stderr)
		}
		rcv.Fail(false)
		s2 := startServe(t, serveOpts{Data: data, Args: []string{"--retry-schedule", "2s"}})
		rcv.Wait(t, "the delivery after the restart", func() bool { return len(rcv.messages) == 1 })
		if got := rcv.Messages()[0].Message.ID; got != wamid {
			t.Errorf("got %s, want %s", got, wamid)
		}
		r = s2.WaitDelivery(s2.Key, id, "delivered", func(r *apiResp) bool { return r.Str("state") == "delivered" })
		if r.Num("attempts") != 2 {
			t.Errorf("delivery %s, want 2 attempts", r)
		}
	})

	t.Run("acknowledged_while_receiver_down", func(t *testing.T) {
		t.Parallel()
		data := t.TempDir()
		rcv := newReceiver(t, "")
		opts := serveOpts{Data: data, Args: []string{"--retry-schedule", "1s"}}
		s := startServe(t, opts)
		rcv.SetSecret(s.Secret(s.Key))
		s.Register(s.Key, rcv)
		rcv.Fail(true)
		phone := s.Phone()
		const n = 30
		var events []any
		for i := range n {
			events = append(events, statusEvent(fmt.Sprintf("down-%d", i), phone.ID, fmt.Sprintf("wamid.DOWN-%d", i), "sent"))
		}
		r := s.Do("POST", "/v1/events", map[string]any{"events": events})
		if r.Status != 202 || r.Num("accepted") != n {
			t.Fatalf("POST /v1/events: %s", r)
		}
		rcv.Wait(t, "a failed attempt", func() bool { return len(rcv.posts) > 0 })
		if code := s.Stop(); code != 0 {
			t.Fatalf("serve exited %d: %s", code, s.Stderr)
		}
		rcv.Fail(false)
		s2 := startServe(t, opts)
		rcv.Wait(t, "every acknowledged event after the restart", func() bool {
			seen := map[string]bool{}
			for _, st := range rcv.statuses {
				seen[st.Status.ID] = true
			}
			return len(seen) == n
		})
		eventually(t, "every delivery delivered", func() (bool, string) {
			ds := s2.Deliveries(s2.Key, "&state=delivered")
			return len(ds) == n, fmt.Sprintf("%d delivered", len(ds))
		})
	})
}
