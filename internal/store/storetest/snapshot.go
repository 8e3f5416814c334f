package storetest

import (
	"context"
	"errors"
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
	// B's lease still holds; A's was released.
	if sn := snap(t0.Add(2 * time.Minute)); !maps.Equal(sn.Leases, map[string]int{"": 1}) {
		t.Fatalf("leases by node: %v, want B's alone", sn.Leases)
	}
	eb.Disabled = true
	if _, err := s.UpdateEndpoint(ctx, store.UpdateEndpointParams{Endpoint: eb, Now: t0}); err != nil {
		t.Fatal(err)
	}
	bad, err := s.UnhealthyEndpoints(ctx, t0.Add(5*time.Minute), 10)
	if err != nil || len(bad) != 2 || bad[0].AccountID != a || bad[1].ID != eb.ID || !bad[1].Disabled {
		t.Fatalf("unhealthy endpoints: %+v, %v; want A's failing one, then B's disabled one", bad, err)
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

// testDisabling: a lane turn can disable its endpoint with a reason; its
// pending work is not claimed; enabled again, the breaker starts afresh,
// the reason goes, and the waiting deliveries are due at once, in event
// order.
func testDisabling(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := account(t, s, "a")
	e := endpoint(t, s, a)
	insert(t, s, a, t0, "1", "2", "3")
	at := t0.Add(time.Second)
	lanes, err := s.ClaimLanes(ctx, store.ClaimParams{Now: at, MaxLanes: 10, MaxPerLane: 1, LeaseFor: time.Minute})
	if err != nil || len(lanes) != 1 || len(lanes[0].Deliveries) != 1 {
		t.Fatalf("claim: %+v, %v", lanes, err)
	}
	d := lanes[0].Deliveries[0]
	later := t0.Add(time.Hour)
	if err := s.CompleteLane(ctx, store.CompleteParams{EndpointID: e.ID, Now: at, LeasedUntil: lanes[0].LeasedUntil, ClaimedAt: lanes[0].ClaimedAt,
		Results: []store.DeliveryResult{{DeliveryID: d.ID, State: bahasha.DeliveryPending, NextAttemptAt: later,
			Attempt: bahasha.Attempt{DeliveryID: d.ID, Number: 1, StartedAt: at, StatusCode: 410}}},
		Breaker: store.BreakerUpdate{Turn: store.TurnFailed, Disable: "gone"}}); err != nil {
		t.Fatal(err)
	}
	got, err := s.EndpointByID(ctx, store.GetEndpointParams{AccountID: a, EndpointID: e.ID})
	if err != nil || !got.Disabled || got.DisabledReason != "gone" || got.ConsecutiveFailures != 1 {
		t.Fatalf("after the disabling turn: %+v, %v", got, err)
	}
	if l, _ := s.ClaimLanes(ctx, store.ClaimParams{Now: later.Add(time.Hour), MaxLanes: 10, MaxPerLane: 10, LeaseFor: time.Minute}); len(l) != 0 {
		t.Fatalf("a disabled endpoint's lane was claimed: %+v", l)
	}
	got.Disabled = false
	enabledAt := t0.Add(2 * time.Minute)
	got, err = s.UpdateEndpoint(ctx, store.UpdateEndpointParams{Endpoint: got, Now: enabledAt})
	if err != nil || got.Disabled || got.DisabledReason != "" || got.ConsecutiveFailures != 0 || !got.FailingSince.IsZero() {
		t.Fatalf("enabled again: %+v, %v", got, err)
	}
	l, err := s.ClaimLanes(ctx, store.ClaimParams{Now: enabledAt, MaxLanes: 10, MaxPerLane: 10, LeaseFor: time.Minute})
	if err != nil || len(l) != 1 || len(l[0].Deliveries) != 3 {
		t.Fatalf("claim after enabling: %+v, %v", l, err)
	}
	for i := 1; i < 3; i++ {
		if l[0].Deliveries[i].EventID < l[0].Deliveries[i-1].EventID {
			t.Fatalf("after enabling, the deliveries come out of event order: %+v", l[0].Deliveries)
		}
	}
	// Disabled from the API, it says so.
	got.Disabled = true
	if got, err = s.UpdateEndpoint(ctx, store.UpdateEndpointParams{Endpoint: got, Now: enabledAt}); err != nil || got.DisabledReason == "" {
		t.Fatalf("disabled from the API: %+v, %v", got, err)
	}
}

// testNotices: operational events recorded with a lane's turn (or on
// their own) become events on the next flush, routed only to the enabled
// endpoints whose filter names them, whatever their scope, in order; a
// flush takes each once.
func testNotices(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := account(t, s, "a")
	primary := endpoint(t, s, a) // no filter: no operational events
	mk := func(scope bahasha.Scope, disabled bool) bahasha.Endpoint {
		t.Helper()
		e, err := s.CreateEndpoint(ctx, store.CreateEndpointParams{Endpoint: bahasha.Endpoint{AccountID: a, URL: "https://ops.example/" + scope.ID,
			VerifyToken: "t", VerifiedAt: t0, Scope: scope, Events: []string{bahasha.FilterOperational}, Disabled: disabled, Secret: "whsec_b3Bz"},
			Max: store.MaxEndpoints, Now: t0})
		if err != nil {
			t.Fatal(err)
		}
		return e
	}
	ops := mk(bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: "pn-a"}, false)
	mk(bahasha.AccountScope, true) // disabled: gets nothing
	n1, _ := bahasha.NewNotice(a, bahasha.NoticeEndpointFailing, t0, map[string]any{"endpoint_id": primary.PublicID()})
	n2, _ := bahasha.NewNotice(a, bahasha.NoticeEndpointRecovered, t0.Add(time.Second), map[string]any{"endpoint_id": primary.PublicID()})
	insert(t, s, a, t0, "1")
	lanes, err := s.ClaimLanes(ctx, store.ClaimParams{Now: t0, MaxLanes: 10, MaxPerLane: 10, LeaseFor: time.Minute})
	if err != nil || len(lanes) != 1 {
		t.Fatalf("claim: %+v, %v", lanes, err)
	}
	if err := s.CompleteLane(ctx, store.CompleteParams{EndpointID: primary.ID, Now: t0, LeasedUntil: lanes[0].LeasedUntil, ClaimedAt: lanes[0].ClaimedAt,
		Notices: []bahasha.Event{n1}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddNotices(ctx, []bahasha.Event{n2}); err != nil {
		t.Fatal(err)
	}
	for pass, want := range []int{2, 0} {
		if n, err := s.FlushNotices(ctx, store.FlushNoticesParams{Limit: 10, Now: t0}); err != nil || n != want {
			t.Fatalf("flush %d = %d, %v; want %d", pass, n, err, want)
		}
	}
	ds, err := s.Deliveries(ctx, store.ListDeliveriesParams{AccountID: a, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range ds {
		if d.Event.Kind != bahasha.KindOperational {
			continue
		}
		if d.EndpointID != ops.ID {
			t.Errorf("an operational event went to endpoint %d, not %d", d.EndpointID, ops.ID)
		}
		got = append([]string{d.Event.MessageType}, got...) // newest first
		if string(d.Event.Payload) != string(n1.Payload) && string(d.Event.Payload) != string(n2.Payload) {
			t.Errorf("payload changed: %s", d.Event.Payload)
		}
	}
	if len(got) != 2 || got[0] != bahasha.NoticeEndpointFailing || got[1] != bahasha.NoticeEndpointRecovered {
		t.Fatalf("operational deliveries, oldest first: %v", got)
	}
	recent, err := s.RecentNotices(ctx, a, 10)
	if err != nil || len(recent) != 2 || recent[0].MessageType != bahasha.NoticeEndpointRecovered || string(recent[1].Payload) != string(n1.Payload) {
		t.Fatalf("recent notices, newest first: %+v, %v", recent, err)
	}
	if other, err := s.RecentNotices(ctx, account(t, s, "b"), 10); err != nil || len(other) != 0 {
		t.Fatalf("another account's recent notices: %+v, %v", other, err)
	}
}

// testConditionalEndpointWrites: an edit prepared from an older copy never
// undoes a disabling made meanwhile (IfDisabled), registering the primary
// endpoint again enables it like an edit does, and a verification changes
// only the verification time.
func testConditionalEndpointWrites(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := account(t, s, "a")
	e := endpoint(t, s, a)
	insert(t, s, a, t0, "1", "2")
	// The engine disables it (a 410 on the first delivery).
	lanes, err := s.ClaimLanes(ctx, store.ClaimParams{Now: t0, MaxLanes: 10, MaxPerLane: 1, LeaseFor: time.Minute})
	if err != nil || len(lanes) != 1 {
		t.Fatalf("claim: %+v, %v", lanes, err)
	}
	d := lanes[0].Deliveries[0]
	if err := s.CompleteLane(ctx, store.CompleteParams{EndpointID: e.ID, Now: t0, LeasedUntil: lanes[0].LeasedUntil, ClaimedAt: lanes[0].ClaimedAt,
		Results: []store.DeliveryResult{{DeliveryID: d.ID, State: bahasha.DeliveryPending, NextAttemptAt: t0.Add(time.Hour),
			Attempt: bahasha.Attempt{DeliveryID: d.ID, Number: 1, StartedAt: t0, StatusCode: 410}}},
		Breaker: store.BreakerUpdate{Turn: store.TurnFailed, Disable: "gone"}}); err != nil {
		t.Fatal(err)
	}
	// An edit made from the copy read before (enabled) is refused whole.
	stale := e
	stale.Description = "edited"
	n, _ := bahasha.NewNotice(a, bahasha.NoticeEndpointDisabled, t0, map[string]any{"endpoint_id": e.PublicID()})
	enabled := false
	if _, err := s.UpdateEndpoint(ctx, store.UpdateEndpointParams{Endpoint: stale, Now: t0, IfDisabled: &enabled, Notices: []bahasha.Event{n}}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("an edit from a stale copy = %v, want ErrConflict", err)
	}
	got, err := s.EndpointByID(ctx, store.GetEndpointParams{AccountID: a, EndpointID: e.ID})
	if err != nil || !got.Disabled || got.DisabledReason != "gone" || got.Description != "" {
		t.Fatalf("after the refused edit: %+v, %v", got, err)
	}
	if _, err := s.PutEndpoint(ctx, store.PutEndpointParams{AccountID: a, URL: e.URL, VerifyToken: "tok", VerifiedAt: t0, Now: t0, IfDisabled: &enabled}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("a registration from a stale copy = %v, want ErrConflict", err)
	}
	if k, err := s.FlushNotices(ctx, store.FlushNoticesParams{Limit: 10, Now: t0}); err != nil || k != 0 {
		t.Fatalf("a refused write recorded %d notices (%v)", k, err)
	}
	// Registered again, it is enabled: the reason goes, the breaker
	// starts afresh and both waiting deliveries are due at once.
	disabled := true
	at := t0.Add(time.Minute)
	got, err = s.PutEndpoint(ctx, store.PutEndpointParams{AccountID: a, URL: "https://example.com/new", VerifyToken: "tok2", VerifiedAt: at, Now: at, IfDisabled: &disabled})
	if err != nil || got.Disabled || got.DisabledReason != "" || got.ConsecutiveFailures != 0 || got.ID != e.ID {
		t.Fatalf("registered again: %+v, %v", got, err)
	}
	l, err := s.ClaimLanes(ctx, store.ClaimParams{Now: at, MaxLanes: 10, MaxPerLane: 10, LeaseFor: time.Minute})
	if err != nil || len(l) != 1 || len(l[0].Deliveries) != 2 || l[0].Deliveries[0].EventID > l[0].Deliveries[1].EventID {
		t.Fatalf("claim after registering again: %+v, %v", l, err)
	}
	// A verification records its time only, and only for the URL and
	// token it checked.
	got.Description = "kept"
	if got, err = s.UpdateEndpoint(ctx, store.UpdateEndpointParams{Endpoint: got, Now: at}); err != nil {
		t.Fatal(err)
	}
	vat := t0.Add(time.Hour)
	v, err := s.MarkEndpointVerified(ctx, store.MarkVerifiedParams{AccountID: a, EndpointID: e.ID, URL: "https://example.com/new", VerifyToken: "tok2", At: vat})
	if err != nil || !v.VerifiedAt.Equal(vat) || v.Description != "kept" || v.URL != "https://example.com/new" {
		t.Fatalf("MarkEndpointVerified: %+v, %v", v, err)
	}
	if _, err := s.MarkEndpointVerified(ctx, store.MarkVerifiedParams{AccountID: a, EndpointID: e.ID, URL: e.URL, VerifyToken: "tok2", At: vat}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("verifying a URL it no longer has = %v, want ErrConflict", err)
	}
	b := account(t, s, "b")
	if _, err := s.MarkEndpointVerified(ctx, store.MarkVerifiedParams{AccountID: b, EndpointID: e.ID, URL: "https://example.com/new", VerifyToken: "tok2", At: vat}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("verifying another account's endpoint = %v, want ErrNotFound", err)
	}
}
