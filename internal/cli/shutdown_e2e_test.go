package cli_test

import (
	"net/http"
	"strings"
	"testing"
	"time"
)

// blockFirst makes the receiver's first POST wait until release is closed
// (or the request is abandoned), telling entered when it starts.
func blockFirst(rcv *receiver, entered, release chan struct{}) {
	rcv.Behave(func(w http.ResponseWriter, r *http.Request, n int) bool {
		if n != 1 {
			return false
		}
		close(entered)
		select {
		case <-release:
			return false // the SDK handler answers 200
		case <-r.Context().Done():
			return true
		case <-rcv.quit:
			return true
		}
	})
}

// TestGracefulShutdown cancels serve's context while a delivery attempt is
// in flight.
func TestGracefulShutdown(t *testing.T) {
	t.Parallel()

	t.Run("in_flight_attempt_finishes", func(t *testing.T) {
		t.Parallel()
		data := t.TempDir()
		rcv := newReceiver(t, "")
		s := startServe(t, serveOpts{Data: data, Args: []string{"--shutdown-grace", "10s"}})
		rcv.SetSecret(s.Secret(s.Key))
		s.Register(s.Key, rcv)
		entered, release := make(chan struct{}), make(chan struct{})
		blockFirst(rcv, entered, release)
		wamid, id := s.Inbound(s.Key, s.Phone().ID, "254712345678", "in flight")
		select {
		case <-entered:
		case <-time.After(waitLimit):
			t.Fatal("the delivery attempt did not start")
		}
		s.cancel()
		eventually(t, "serve to start shutting down", func() (bool, string) {
			return strings.Contains(s.Stdout.String(), "Shutting down"), s.Stdout.String()
		})
		select {
		case code := <-s.done:
			s.done <- code
			t.Fatalf("Run returned %d while a delivery attempt was in flight", code)
		default:
		}
		close(release)
		if code := s.Stop(); code != 0 {
			t.Fatalf("serve exited %d, want 0\n%s", code, s.Stderr)
		}
		rcv.Wait(t, "the in-flight message", func() bool { return len(rcv.messages) == 1 })
		if got := rcv.Messages()[0].Message.ID; got != wamid {
			t.Errorf("got %s, want %s", got, wamid)
		}
		// The attempt was recorded before Run returned: delivered, once.
		s2 := startServe(t, serveOpts{Data: data})
		r := s2.Do("GET", "/v1/webhook/deliveries/"+id, nil)
		if r.Str("state") != "delivered" || r.Num("attempts") != 1 {
			t.Errorf("after the restart the delivery is %s, want delivered after 1 attempt", r)
		}
		if n := len(rcv.Posts()); n != 1 {
			t.Errorf("the receiver got %d POSTs, want 1", n)
		}
	})

	t.Run("grace_over_attempt_abandoned_not_lost", func(t *testing.T) {
		t.Parallel()
		data := t.TempDir()
		rcv := newReceiver(t, "")
		s := startServe(t, serveOpts{Data: data, Args: []string{"--shutdown-grace", "300ms"}})
		rcv.SetSecret(s.Secret(s.Key))
		s.Register(s.Key, rcv)
		entered, release := make(chan struct{}), make(chan struct{})
		blockFirst(rcv, entered, release)
		wamid, id := s.Inbound(s.Key, s.Phone().ID, "254712345678", "abandoned")
		select {
		case <-entered:
		case <-time.After(waitLimit):
			t.Fatal("the delivery attempt did not start")
		}
		start := time.Now()
		if code := s.Stop(); code != 0 {
			t.Fatalf("serve exited %d, want 0\n%s", code, s.Stderr)
		}
		if el := time.Since(start); el > 5*time.Second {
			t.Errorf("Run took %v to return with a 300ms grace", el)
		}
		close(release)
		s2 := startServe(t, serveOpts{Data: data})
		rcv.Wait(t, "the abandoned message after the restart", func() bool { return len(rcv.messages) == 1 })
		if got := rcv.Messages()[0].Message.ID; got != wamid {
			t.Errorf("got %s, want %s", got, wamid)
		}
		s2.WaitDelivery(s2.Key, id, "delivered", func(r *apiResp) bool { return r.Str("state") == "delivered" })
	})
}
