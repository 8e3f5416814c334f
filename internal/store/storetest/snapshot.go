package storetest

import (
	"context"
	"maps"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// testSnapshot: the platform-wide picture counts every account's pending
// work, dates the oldest lane a node could claim now (not one that waits
// by design), and counts endpoints by health.
func testSnapshot(t *testing.T, s store.Store) {
	ctx := context.Background()
	snap := func(at time.Time) store.Snapshot {
		t.Helper()
		sn, err := s.Snapshot(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		return sn
	}
	if sn := snap(t0); sn.Pending != 0 || !sn.OldestDue.IsZero() || len(sn.Endpoints) != 0 {
		t.Fatalf("an empty store's snapshot: %+v", sn)
	}
	a, b := account(t, s, "a"), account(t, s, "b")
	endpoint(t, s, a)
	eb := endpoint(t, s, b)
	insert(t, s, a, t0, "1", "2")
	insert(t, s, b, t0.Add(time.Minute), "3")
	sn := snap(t0.Add(2 * time.Minute))
	if sn.Pending != 3 || !sn.OldestDue.Equal(t0) {
		t.Fatalf("snapshot: %+v; want 3 pending, oldest due at %v", sn, t0)
	}
	if want := map[string]int{"healthy": 2}; !maps.Equal(sn.Endpoints, want) {
		t.Fatalf("endpoints by health: %v, want %v", sn.Endpoints, want)
	}
	// Not yet due: no lag.
	if sn := snap(t0.Add(-time.Second)); !sn.OldestDue.IsZero() {
		t.Fatalf("before anything is due: %+v", sn)
	}
	// A's lane taken and its attempt failed, B disabled: A is failing and
	// due again later, B waits by design.
	lanes, err := s.ClaimLanes(ctx, store.ClaimParams{Now: t0.Add(2 * time.Minute), MaxLanes: 10, MaxPerLane: 10, LeaseFor: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Hour)
	for _, l := range lanes {
		if l.Endpoint.AccountID != a {
			continue
		}
		var results []store.DeliveryResult
		for _, d := range l.Deliveries {
			results = append(results, store.DeliveryResult{DeliveryID: d.ID, State: bahasha.DeliveryPending, NextAttemptAt: later,
				Attempt: bahasha.Attempt{DeliveryID: d.ID, Number: 1, StartedAt: t0.Add(2 * time.Minute), StatusCode: 500}})
		}
		if err := s.CompleteLane(ctx, store.CompleteParams{EndpointID: l.Endpoint.ID, Now: t0.Add(2 * time.Minute), Results: results,
			Breaker: store.BreakerUpdate{Turn: store.TurnFailed}, LeasedUntil: l.LeasedUntil, ClaimedAt: l.ClaimedAt}); err != nil {
			t.Fatal(err)
		}
	}
	eb.Disabled = true
	if _, err := s.UpdateEndpoint(ctx, store.UpdateEndpointParams{Endpoint: eb, Now: t0}); err != nil {
		t.Fatal(err)
	}
	// B's lane was claimed too; its lease runs out after a minute.
	sn = snap(t0.Add(5 * time.Minute))
	if sn.Pending != 3 || !sn.OldestDue.IsZero() {
		t.Fatalf("with A retrying later and B disabled: %+v; want 3 pending and nothing due", sn)
	}
	if want := map[string]int{"failing": 1, "disabled": 1}; !maps.Equal(sn.Endpoints, want) {
		t.Fatalf("endpoints by health: %v, want %v", sn.Endpoints, want)
	}
	if sn := snap(later.Add(time.Second)); !sn.OldestDue.Equal(later) {
		t.Fatalf("once A's retry is due: %+v; want due at %v", sn, later)
	}
}
