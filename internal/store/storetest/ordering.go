package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// resultsOf is a CompleteParams for some of a lane's deliveries, each with
// its own state, as one attempt with the given status code.
func resultsOf(l store.Lane, now time.Time, code int, maybe bool, state bahasha.DeliveryState, next time.Time, ids ...int64) store.CompleteParams {
	p := store.CompleteParams{EndpointID: l.Endpoint.ID, Now: now, LeasedUntil: l.LeasedUntil}
	want := map[int64]bool{}
	for _, id := range ids {
		want[id] = true
	}
	for _, d := range l.Deliveries {
		if !want[d.ID] {
			continue
		}
		p.Results = append(p.Results, store.DeliveryResult{DeliveryID: d.ID, State: state, NextAttemptAt: next, MaybeDelivered: maybe,
			Attempt: bahasha.Attempt{Number: d.Attempts + 1, StartedAt: now, Duration: time.Millisecond, StatusCode: code}})
	}
	return p
}

// testMaybeDelivered: a delivery recorded MaybeDelivered (its request went
// out, no answer came) counts in DeliveredRanks from then on, though it is
// still pending, and after it fails for good; one that got an answer (a
// 500) does not.
func testMaybeDelivered(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	endpoint(t, s, "a")
	res := insertEvents(t, s, "a", t0, statusEventOf("a", "1", "w1", "read", t0), statusEventOf("a", "2", "w2", "read", t0),
		statusEventOf("a", "3", "w3", "delivered", t0))
	l := claim(t, s, t0, 10, 10)[0]
	retryAt := t0.Add(time.Second)
	if err := s.CompleteLane(ctx, resultsOf(l, t0, 0, true, bahasha.DeliveryPending, retryAt, res[0].DeliveryID)); err != nil {
		t.Fatal(err)
	}
	// A timeout on w3 that exhausts the retry window: failed, but it may
	// have reached the endpoint.
	if err := s.CompleteLane(ctx, resultsOf(l, t0, 0, true, bahasha.DeliveryFailed, time.Time{}, res[2].DeliveryID)); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteLane(ctx, resultsOf(l, t0, 500, false, bahasha.DeliveryPending, retryAt, res[1].DeliveryID)); err != nil {
		t.Fatal(err)
	}
	insertEvents(t, s, "a", retryAt, statusEventOf("a", "4", "w1", "delivered", retryAt), statusEventOf("a", "5", "w2", "delivered", retryAt),
		statusEventOf("a", "6", "w3", "sent", retryAt))
	lanes := claim(t, s, retryAt, 10, 10)
	if len(lanes) != 1 || len(lanes[0].Deliveries) != 5 {
		t.Fatalf("claim after the attempts: %+v", lanes)
	}
	if got := lanes[0].DeliveredRanks; len(got) != 2 || got["w1"] != bahasha.StatusRank("read") || got["w3"] != bahasha.StatusRank("delivered") {
		t.Fatalf("DeliveredRanks = %v, want w1 read (possibly delivered, pending) and w3 delivered (possibly delivered, failed); w2's 500 is known not delivered", got)
	}
	// A delivery failed by expiry while its attempt was in flight still
	// counts when the attempt's answer did not come.
	done := lanes[0]
	if err := s.CompleteLane(ctx, store.CompleteParams{EndpointID: done.Endpoint.ID, Now: retryAt, LeasedUntil: done.LeasedUntil}); err != nil {
		t.Fatal(err)
	}
	late := retryAt.Add(time.Second)
	w4 := insertEvents(t, s, "a", late, statusEventOf("a", "7", "w4", "read", late))
	l4 := claim(t, s, late, 10, 10)[0]
	if _, err := s.ExpireDeliveries(ctx, store.ExpireParams{Now: late, Before: late.Add(time.Hour), Limit: 100, Reason: "expired"}); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteLane(ctx, resultsOf(l4, late, 0, true, bahasha.DeliveryPending, late.Add(time.Second), w4[0].DeliveryID)); err != nil {
		t.Fatal(err)
	}
	after := late.Add(2 * time.Second)
	insertEvents(t, s, "a", after, statusEventOf("a", "8", "w4", "delivered", after))
	if got := claim(t, s, after, 10, 10)[0].DeliveredRanks; got["w4"] != bahasha.StatusRank("read") {
		t.Fatalf("DeliveredRanks = %v, want w4 read: its attempt may have reached the endpoint though the delivery expired meanwhile", got)
	}
}

// testRecoveredClaimRemembers: when a lane's lease runs out, what its claim
// held may have reached the endpoint. The next claim (Recovered) counts it
// in DeliveredRanks — all of it, though that claim takes fewer deliveries
// than the dead one did — and so does every later claim, even after the
// recovered turn's own attempt failed with an answer; what became due only
// after the dead claim is not counted.
func testRecoveredClaimRemembers(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	endpoint(t, s, "a")
	// w1's delivered failed earlier and waits for its retry; read is what
	// the dead worker sent.
	first := insertEvents(t, s, "a", t0, statusEventOf("a", "1", "w1", "delivered", t0))
	l := claim(t, s, t0, 10, 10)[0]
	retryAt := t0.Add(5 * time.Minute)
	if err := s.CompleteLane(ctx, resultsOf(l, t0, 500, false, bahasha.DeliveryPending, retryAt, first[0].DeliveryID)); err != nil {
		t.Fatal(err)
	}
	at := t0.Add(time.Second)
	insertEvents(t, s, "a", at, statusEventOf("a", "2", "w1", "read", at), statusEventOf("a", "3", "w2", "read", at))
	dead := claim(t, s, at, 10, 10)
	if len(dead) != 1 || len(dead[0].Deliveries) != 2 {
		t.Fatalf("the claim that dies: %+v", dead)
	}
	// Its worker dies. Meanwhile w3 comes, due after the dead claim.
	late := at.Add(10 * time.Second)
	insertEvents(t, s, "a", late, statusEventOf("a", "4", "w3", "read", late))
	recoverAt := at.Add(61 * time.Second) // the claims' lease is a minute
	// The node that takes over claims fewer at a time than the dead one.
	rec := claim(t, s, recoverAt, 10, 1)
	if len(rec) != 1 || !rec[0].Recovered || len(rec[0].Deliveries) != 1 {
		t.Fatalf("after the lease ran out: %+v, want the lane, Recovered, with 1 delivery", rec)
	}
	read := bahasha.StatusRank("read")
	if got := rec[0].DeliveredRanks; len(got) != 1 || got["w1"] != read {
		t.Fatalf("recovered DeliveredRanks = %v, want w1 read (the dead claim's)", got)
	}
	// The recovered turn's attempts all get a 500.
	var ids []int64
	for _, d := range rec[0].Deliveries {
		ids = append(ids, d.ID)
	}
	if err := s.CompleteLane(ctx, resultsOf(rec[0], recoverAt, 500, false, bahasha.DeliveryPending, retryAt, ids...)); err != nil {
		t.Fatal(err)
	}
	// A later, ordinary claim still knows w1's read may have reached the
	// endpoint, so its delivered (now due) must not go.
	later := claim(t, s, retryAt, 10, 10)
	if len(later) != 1 || later[0].Recovered || len(later[0].Deliveries) != 4 {
		t.Fatalf("the later claim: %+v", later)
	}
	if got := later[0].DeliveredRanks; got["w1"] != read || got["w2"] != read || got["w3"] != 0 {
		t.Fatalf("later DeliveredRanks = %v, want w1 and w2 read, w3 absent", got)
	}
}

// testPause: a turn whose endpoint asked for a pause (BreakerUpdate.
// PauseUntil) holds the whole lane until then, new events included, and
// NextDue says when it resumes.
func testPause(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	endpoint(t, s, "a")
	insert(t, s, "a", t0, "p1", "p2")
	l := claim(t, s, t0, 10, 1)[0]
	pause := t0.Add(30 * time.Second)
	p := resultsOf(l, t0, 429, false, bahasha.DeliveryPending, pause, l.Deliveries[0].ID)
	p.Breaker = store.BreakerUpdate{Turn: store.TurnFailed, PauseUntil: pause}
	if err := s.CompleteLane(ctx, p); err != nil {
		t.Fatal(err)
	}
	insert(t, s, "a", t0.Add(time.Second), "p3")
	if got := claim(t, s, pause.Add(-time.Millisecond), 10, 10); len(got) != 0 {
		t.Fatalf("a paused lane was claimed before its pause ended: %+v", got)
	}
	next, ok, err := s.NextDue(ctx, "")
	if err != nil || !ok || !next.Equal(pause) {
		t.Fatalf("NextDue = %v %v %v, want the end of the pause %v", next, ok, err, pause)
	}
	got := claim(t, s, pause, 10, 10)
	if len(got) != 1 || len(got[0].Deliveries) != 3 || !got[0].Endpoint.PausedUntil.Equal(pause) {
		t.Fatalf("at the end of the pause: %+v, want the lane with its 3 deliveries", got)
	}
	// A longer pause extends it; a shorter one never shortens it.
	for _, until := range []time.Duration{time.Minute, 10 * time.Second} {
		p = resultsOf(got[0], pause, 503, false, bahasha.DeliveryPending, pause.Add(time.Second), got[0].Deliveries[0].ID)
		p.Breaker = store.BreakerUpdate{Turn: store.TurnFailed, PauseUntil: pause.Add(until)}
		if err := s.CompleteLane(ctx, p); err != nil {
			t.Fatal(err)
		}
		if e, err := s.Endpoint(ctx, "a"); err != nil || !e.PausedUntil.Equal(pause.Add(time.Minute)) {
			t.Fatalf("endpoint after a pause of %v more: %+v %v, want paused until %v", until, e, err, pause.Add(time.Minute))
		}
	}
	// A manual retry is sent at once: it ends the pause.
	if _, err := s.RetryDelivery(ctx, store.RetryDeliveryParams{AccountID: "a", DeliveryID: got[0].Deliveries[0].ID, Now: pause}); err != nil {
		t.Fatal(err)
	}
	if l := claim(t, s, pause, 10, 10); len(l) != 1 {
		t.Fatal("a manual retry waits for the endpoint's pause to end")
	}
}

// testRetryKeepsRank: a delivered status retried by hand is sent again, and
// still counts for the ordering rule: an earlier status of its message that
// was waiting stays superseded rather than overtaking it.
func testRetryKeepsRank(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	endpoint(t, s, "a")
	res := insertEvents(t, s, "a", t0, statusEventOf("a", "1", "w1", "read", t0))
	l := claim(t, s, t0, 10, 10)[0]
	done := deliver(l, t0, bahasha.DeliveryDelivered, time.Time{})
	done.LeasedUntil = l.LeasedUntil
	if err := s.CompleteLane(ctx, done); err != nil {
		t.Fatal(err)
	}
	insertEvents(t, s, "a", t0, statusEventOf("a", "2", "w1", "delivered", t0))
	if _, err := s.RetryDelivery(ctx, store.RetryDeliveryParams{AccountID: "a", DeliveryID: res[0].DeliveryID, Now: t0.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	lanes := claim(t, s, t0.Add(time.Second), 10, 10)
	if len(lanes) != 1 || len(lanes[0].Deliveries) != 2 || lanes[0].DeliveredRanks["w1"] != bahasha.StatusRank("read") {
		t.Fatalf("after a manual retry of read: %+v, want both deliveries and w1 at read", lanes)
	}
}
