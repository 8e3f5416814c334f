package cli_test

import (
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// primaryID is the id of the account's primary endpoint.
func (s *server) primaryID() string {
	s.t.Helper()
	r := s.Do("GET", "/v1/webhooks", nil)
	if r.Status != 200 || r.Str("data.0.id") == "" {
		s.t.Fatalf("GET /v1/webhooks: %s", r)
	}
	return r.Str("data.0.id")
}

// An endpoint that answers 410 Gone is disabled at once; its pending
// deliveries wait (events arriving meanwhile are not queued for it), and
// once enabled again they flow, in order.
func TestDisabledOn410(t *testing.T) {
	t.Parallel()
	s, rcv := setup(t, serveOpts{Args: []string{"--max-batch", "1", "--max-in-flight", "1"}})
	id := s.primaryID()
	var gone atomic.Bool
	gone.Store(true)
	rcv.Behave(func(w http.ResponseWriter, r *http.Request, n int) bool {
		if gone.Load() {
			http.Error(w, "this endpoint is gone", http.StatusGone)
			return true
		}
		return false
	})
	w1 := s.Send(s.Key, s.Phone().ID, "254712345678")
	eventually(t, "the endpoint disabled", func() (bool, string) {
		r := s.Do("GET", "/v1/webhooks/"+id, nil)
		return r.Str("status") == "disabled" && strings.Contains(r.Str("disabled_reason"), "410 Gone"), r.String()
	})
	pending := func() int { return len(s.Deliveries(s.Key, "&state=pending")) }
	// The sandbox's three statuses are all queued before the 410 turn ends
	// (pace 0), and wait.
	eventually(t, "the three statuses pending", func() (bool, string) { return pending() == 3, fmt.Sprint(pending()) })
	if !strings.Contains(s.Stderr.String(), "endpoint disabled") {
		t.Errorf("no log line for the disabling:\n%s", s.Stderr)
	}
	// While disabled, new events are not queued for it.
	gone.Store(false)
	w2 := s.Send(s.Key, s.Phone().ID, "254712345679")
	for _, d := range s.Deliveries(s.Key, "") {
		if strings.Contains(fmt.Sprint(d), w2) {
			t.Fatalf("a delivery was queued for the disabled endpoint: %v", d)
		}
	}
	// Enabled again: the waiting statuses arrive, in order.
	if r := s.Do("PATCH", "/v1/webhooks/"+id, map[string]any{"disabled": false}); r.Status != 200 || r.Str("status") != "verified" || r.Get("disabled_reason") != nil {
		t.Fatalf("enabling: %s", r)
	}
	rcv.Wait(t, "the waiting statuses", func() bool { return len(rcv.statusesOfLocked(w1)) == 3 })
	if got := rcv.statusesOfLocked(w1); !slices.Equal(got, []whatsapp.StatusValue{"sent", "delivered", "read"}) {
		t.Fatalf("after enabling, the statuses arrived as %v", got)
	}
	if r := s.Do("GET", "/v1/webhooks/"+id, nil); r.Str("health") != "healthy" {
		t.Errorf("after enabling and delivering: %s", r)
	}
}

// An endpoint that fails continuously for --disable-after is disabled.
func TestDisabledAfterFailingTooLong(t *testing.T) {
	t.Parallel()
	s, rcv := setup(t, serveOpts{Args: []string{"--disable-after", "1s"}})
	id := s.primaryID()
	rcv.Fail(true)
	s.Send(s.Key, s.Phone().ID, "254712345678")
	eventually(t, "the endpoint disabled", func() (bool, string) {
		r := s.Do("GET", "/v1/webhooks/"+id, nil)
		return r.Str("status") == "disabled" && strings.Contains(r.Str("disabled_reason"), "failed continuously for 1s"), r.String()
	})
	// Enabled again, its breaker starts afresh.
	rcv.Fail(false)
	if r := s.Do("PATCH", "/v1/webhooks/"+id, map[string]any{"disabled": false}); r.Status != 200 || r.Num("consecutive_failures") != 0 || r.Get("failing_since") != nil {
		t.Fatalf("enabling: %s", r)
	}
	rcv.Wait(t, "the statuses", func() bool { return len(rcv.statuses) == 3 })
	if r := s.Do("GET", "/v1/webhooks/"+id, nil); r.Str("status") != "verified" {
		t.Errorf("it was disabled again: %s", r)
	}
}
