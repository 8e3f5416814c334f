package delivery_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/delivery"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/sdk/webhook"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// deliveryOf returns the account's delivery of the event with producerID.
func deliveryOf(t *testing.T, s store.Store, account, producerID string) (bahasha.Delivery, []bahasha.Attempt) {
	t.Helper()
	ds, err := s.Deliveries(context.Background(), store.ListDeliveriesParams{AccountID: account, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range ds {
		if d.Event.ProducerID == producerID {
			d, attempts, err := s.Delivery(context.Background(), store.GetDeliveryParams{AccountID: account, DeliveryID: d.ID})
			if err != nil {
				t.Fatal(err)
			}
			return d, attempts
		}
	}
	t.Fatalf("no delivery of %s", producerID)
	return bahasha.Delivery{}, nil
}

// TestTrickledAnswerIsATimeoutAndMaybeDelivered: an endpoint that takes a
// POST and trickles its answer until the attempt's timeout. The attempt is
// described as a timeout (not as a malformed answer), and since the request
// went out, its status counts as possibly delivered: the message's earlier
// status, due afterwards, is superseded rather than sent after it.
func TestTrickledAnswerIsATimeoutAndMaybeDelivered(t *testing.T) {
	var mu sync.Mutex
	var got []string
	trickled := false
	h := &webhook.Handler{AppSecret: "secret-a", Mode: webhook.AckAfter, OnStatus: func(_ context.Context, e whatsapp.StatusEvent) error {
		mu.Lock()
		got = append(got, e.Status.ID+":"+string(e.Status.Status))
		mu.Unlock()
		return nil
	}}
	quit := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		first := !trickled
		trickled = true
		mu.Unlock()
		if !first {
			h.ServeHTTP(w, r)
			return
		}
		io.Copy(io.Discard, r.Body)
		conn, buf, err := http.NewResponseController(w).Hijack()
		if err != nil {
			t.Error(err)
			return
		}
		defer conn.Close()
		answer := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Padding: " + strings.Repeat("a", 1000)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for i := range len(answer) {
			select {
			case <-quit:
				return
			case <-tick.C:
			}
			buf.WriteByte(answer[i])
			if buf.Flush() != nil {
				return
			}
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(quit) })
	f := start(t, delivery.Config{Timeout: 200 * time.Millisecond, MaxBatch: 1})
	f.account(t, "a", srv.URL)
	ingestStatuses(t, f, "a", "read", []string{"w1"})
	f.waitRecorded(t, "the trickled attempt to be recorded", func() (bool, string) {
		d, _ := deliveryOf(t, f.store, "a", "w1:read")
		return d.Attempts >= 1, d.LastError
	})
	_, attempts := deliveryOf(t, f.store, "a", "w1:read")
	if !strings.Contains(attempts[0].Error, "did not answer within 200ms") {
		t.Fatalf("the trickled attempt is described as %q, want a timeout", attempts[0].Error)
	}
	// delivered comes after read may have reached the endpoint.
	ingestStatuses(t, f, "a", "delivered", []string{"w1"})
	f.waitRecorded(t, "read to be delivered and delivered to be superseded", func() (bool, string) {
		r, _ := deliveryOf(t, f.store, "a", "w1:read")
		d, _ := deliveryOf(t, f.store, "a", "w1:delivered")
		return r.State == bahasha.DeliveryDelivered && d.State == bahasha.DeliverySuperseded, string(r.State) + " " + string(d.State)
	})
	f.stop()
	mu.Lock()
	defer mu.Unlock()
	if len(got) != 1 || got[0] != "w1:read" {
		t.Fatalf("the receiver processed %v, want only w1:read", got)
	}
}

// TestShutdownRecordsWhatWentOut: a POST in flight when the shutdown grace
// runs out is recorded as an attempt that may have reached the endpoint
// (not forgotten), and stays pending.
func TestShutdownRecordsWhatWentOut(t *testing.T) {
	arrived := make(chan struct{}, 1)
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		arrived <- struct{}{}
		<-release
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	f := start(t, delivery.Config{Timeout: 10 * time.Second, ShutdownGrace: 50 * time.Millisecond})
	f.account(t, "a", srv.URL)
	ingestStatuses(t, f, "a", "read", []string{"w1"})
	select {
	case <-arrived:
	case <-time.After(20 * time.Second):
		t.Fatal("the POST never arrived")
	}
	f.stop()
	d, attempts := deliveryOf(t, f.store, "a", "w1:read")
	if d.State != bahasha.DeliveryPending || len(attempts) != 1 || !strings.Contains(attempts[0].Error, "shut down before the endpoint answered") {
		t.Fatalf("after the shutdown: %+v %+v, want a recorded attempt, pending", d, attempts)
	}
	// It counts as possibly delivered for the next claim.
	ingestStatuses(t, f, "a", "delivered", []string{"w1"})
	lanes, err := f.store.ClaimLanes(context.Background(), store.ClaimParams{Now: d.NextAttemptAt, MaxLanes: 1, MaxPerLane: 10, LeaseFor: time.Minute})
	if err != nil || len(lanes) != 1 {
		t.Fatalf("claim: %v %v", lanes, err)
	}
	if r := lanes[0].DeliveredRanks["w1"]; r != bahasha.StatusRank("read") {
		t.Fatalf("DeliveredRanks = %v, want w1 read (possibly delivered)", lanes[0].DeliveredRanks)
	}
}

// TestRetryAfterPausesTheLane: a 429 with Retry-After pauses the endpoint
// as a whole: none of its other deliveries arrives before the pause ends.
func TestRetryAfterPausesTheLane(t *testing.T) {
	var mu sync.Mutex
	var pausedAt time.Time
	var arrivals []time.Time
	got := make(chan string, 10)
	h := &webhook.Handler{AppSecret: "secret-a", Mode: webhook.AckAfter, OnStatus: func(_ context.Context, e whatsapp.StatusEvent) error {
		got <- e.Status.ID
		return nil
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		first := pausedAt.IsZero()
		if first {
			pausedAt = time.Now()
		} else {
			arrivals = append(arrivals, time.Now())
		}
		mu.Unlock()
		if first {
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f := start(t, delivery.Config{Timeout: 5 * time.Second, MaxBatch: 1, MaxInFlight: 1})
	f.account(t, "a", srv.URL, "w1", "w2", "w3")
	ids := wait(t, got, 3)
	f.stop()
	mu.Lock()
	defer mu.Unlock()
	for i, at := range arrivals {
		if at.Sub(pausedAt) < time.Second {
			t.Fatalf("POST %d arrived %v after the 429 with Retry-After: 1, want no POST within the pause (received %v)", i+2, at.Sub(pausedAt), ids)
		}
	}
	e, err := f.store.Endpoint(context.Background(), "a")
	if err != nil || e.PausedUntil.IsZero() {
		t.Fatalf("endpoint %+v %v, want PausedUntil set", e, err)
	}
}
