package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// testListDeliveriesByTime: Since and Until keep deliveries created in
// [Since, Until).
func testListDeliveriesByTime(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	endpoint(t, s, "a")
	insert(t, s, "a", t0, "early")
	insert(t, s, "a", t0.Add(time.Hour), "mid")
	insert(t, s, "a", t0.Add(2*time.Hour), "late")
	got := func(p store.ListDeliveriesParams) []string {
		t.Helper()
		p.AccountID, p.Limit = "a", 100
		ds, err := s.Deliveries(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range ds {
			ids = append(ids, d.Event.ProducerID)
		}
		return ids
	}
	if ids := got(store.ListDeliveriesParams{Since: t0.Add(time.Hour)}); !equal(ids, []string{"late", "mid"}) {
		t.Fatalf("since: %v", ids)
	}
	if ids := got(store.ListDeliveriesParams{Until: t0.Add(time.Hour)}); !equal(ids, []string{"early"}) {
		t.Fatalf("until (exclusive): %v", ids)
	}
	if ids := got(store.ListDeliveriesParams{Since: t0.Add(time.Minute), Until: t0.Add(2 * time.Hour)}); !equal(ids, []string{"mid"}) {
		t.Fatalf("since and until: %v", ids)
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// advanceAll runs AdvanceReplays until it queues nothing.
func advanceAll(t *testing.T, s store.Store, now time.Time, chunk int) int {
	t.Helper()
	total := 0
	for {
		n, err := s.AdvanceReplays(context.Background(), store.AdvanceReplaysParams{Now: now, Limit: chunk})
		if err != nil {
			t.Fatalf("AdvanceReplays: %v", err)
		}
		total += n
		if n == 0 {
			return total
		}
	}
}

// testReplay: a replay covers the range's events whose delivery is not
// pending (or failed ones only), creates deliveries for events that had
// none, queues in chunks in ingest order, and reports its progress.
func testReplay(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	account(t, s, "b")
	// Before any webhook: no deliveries.
	insert(t, s, "a", t0, "orphan1", "orphan2")
	now := t0.Add(time.Minute)
	if _, err := s.CreateReplay(ctx, store.ReplayParams{AccountID: "a", From: t0, To: now, Now: now}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("replay without an endpoint: %v, want ErrNotFound", err)
	}
	endpoint(t, s, "a")
	endpoint(t, s, "b")
	res := insert(t, s, "a", t0.Add(10*time.Second), "ok1", "fail1", "ok2", "pend")
	insert(t, s, "b", t0.Add(10*time.Second), "other")
	insert(t, s, "a", t0.Add(time.Hour), "outside")
	lanes := claim(t, s, t0.Add(20*time.Second), 10, 3)
	var lane store.Lane
	for _, l := range lanes {
		if l.Endpoint.AccountID == "a" {
			lane = l
		}
	}
	p := deliver(lane, t0.Add(20*time.Second), bahasha.DeliveryDelivered, time.Time{})
	p.Results[1].State = bahasha.DeliveryFailed
	p.Results[1].Attempt.StatusCode = 500
	if err := s.CompleteLane(ctx, p); err != nil {
		t.Fatal(err)
	}

	rng := store.ReplayParams{AccountID: "a", From: t0, To: t0.Add(30 * time.Minute), Now: t0.Add(2 * time.Hour)}
	// orphan1, orphan2 (no delivery), ok1, fail1, ok2; not pend (pending),
	// not outside (out of range), not b's.
	if n, err := s.CountReplay(ctx, rng); err != nil || n != 5 {
		t.Fatalf("CountReplay = %d, %v, want 5", n, err)
	}
	failedOnly := rng
	failedOnly.OnlyFailed = true
	if n, err := s.CountReplay(ctx, failedOnly); err != nil || n != 1 {
		t.Fatalf("CountReplay(only failed) = %d, %v, want 1", n, err)
	}
	r, err := s.CreateReplay(ctx, rng)
	if err != nil {
		t.Fatal(err)
	}
	if r.Total != 5 || r.Queued != 0 || r.QueuingDone || r.AccountID != "a" || !r.From.Equal(t0) || r.Finished() {
		t.Fatalf("new replay = %+v", r)
	}
	if _, err := s.Replay(ctx, store.GetReplayParams{AccountID: "b", ReplayID: r.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account's replay: %v", err)
	}
	replayAt := t0.Add(2 * time.Hour)
	// Chunks of 2: in ingest order.
	if n, err := s.AdvanceReplays(ctx, store.AdvanceReplaysParams{Now: replayAt, Limit: 2}); err != nil || n != 2 {
		t.Fatalf("first chunk: %d, %v", n, err)
	}
	if r, _ = s.Replay(ctx, store.GetReplayParams{AccountID: "a", ReplayID: r.ID}); r.Queued != 2 || r.Pending != 2 || r.QueuingDone {
		t.Fatalf("after one chunk: %+v", r)
	}
	if n := advanceAll(t, s, replayAt, 2); n != 3 {
		t.Fatalf("the rest queued %d, want 3", n)
	}
	r, _ = s.Replay(ctx, store.GetReplayParams{AccountID: "a", ReplayID: r.ID})
	if r.Total != 5 || r.Queued != 5 || r.Pending != 5 || !r.QueuingDone || r.Finished() || r.Done() != 0 {
		t.Fatalf("all queued: %+v", r)
	}
	// The lane now has pend and outside (due before) and the five replayed,
	// due at replayAt, in ingest order (the orphans' deliveries are newer
	// than the others, their events older).
	lanes = claim(t, s, replayAt, 10, 100)
	lane = store.Lane{}
	for _, l := range lanes {
		if l.Endpoint.AccountID == "a" {
			lane = l
		}
	}
	lanes = []store.Lane{lane}
	if ids := producerIDs(lanes[0]); !equal(ids, []string{"pend", "outside", "orphan1", "orphan2", "ok1", "fail1", "ok2"}) {
		t.Fatalf("replayed lane order: %v", ids)
	}
	for _, d := range lanes[0].Deliveries {
		if d.Event.ProducerID == "ok1" && (d.Attempts != 1 || !d.WindowStart.Equal(replayAt)) {
			t.Fatalf("replayed delivery keeps its attempts and gets a fresh window: %+v", d)
		}
	}
	if err := s.CompleteLane(ctx, deliver(lanes[0], replayAt, bahasha.DeliveryDelivered, time.Time{})); err != nil {
		t.Fatal(err)
	}
	r, _ = s.Replay(ctx, store.GetReplayParams{AccountID: "a", ReplayID: r.ID})
	if r.Pending != 0 || r.Delivered != 5 || r.Done() != 5 || !r.Finished() {
		t.Fatalf("finished replay: %+v", r)
	}
	if d, _, _ := s.Delivery(ctx, store.GetDeliveryParams{AccountID: "a", DeliveryID: res[0].DeliveryID}); d.Attempts != 2 || d.State != bahasha.DeliveryDelivered {
		t.Fatalf("ok1 after replay: %+v", d)
	}
	rs, err := s.Replays(ctx, store.ListReplaysParams{AccountID: "a", Limit: 10})
	if err != nil || len(rs) != 1 || rs[0].ID != r.ID || rs[0].Delivered != 5 {
		t.Fatalf("Replays = %+v, %v", rs, err)
	}
	if rs, _ := s.Replays(ctx, store.ListReplaysParams{AccountID: "b", Limit: 10}); len(rs) != 0 {
		t.Fatalf("b sees a's replays: %+v", rs)
	}
	// An empty range is finished at once.
	empty, err := s.CreateReplay(ctx, store.ReplayParams{AccountID: "a", From: t0.Add(-time.Hour), To: t0.Add(-time.Minute), Now: replayAt})
	if err != nil || empty.Total != 0 || !empty.Finished() {
		t.Fatalf("empty replay = %+v, %v", empty, err)
	}
	// A replay whose webhook is removed ends its queuing.
	r2, err := s.CreateReplay(ctx, rng)
	if err != nil || r2.Total != 6 { // pend was delivered too
		t.Fatalf("second replay = %+v, %v", r2, err)
	}
	if err := s.DeleteEndpoint(ctx, store.DeleteEndpointParams{AccountID: "a", Now: replayAt, Reason: "removed"}); err != nil {
		t.Fatal(err)
	}
	advanceAll(t, s, replayAt, 10)
	if r2, _ = s.Replay(ctx, store.GetReplayParams{AccountID: "a", ReplayID: r2.ID}); !r2.QueuingDone || r2.Total != 0 || !r2.Finished() {
		t.Fatalf("replay after the webhook was removed: %+v", r2)
	}
}

// testStats: CompleteLane and ExpireDeliveries add to the account's minute.
func testStats(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	account(t, s, "b")
	endpoint(t, s, "a")
	insert(t, s, "a", t0, "e1", "e2")
	lanes := claim(t, s, t0, 10, 10)
	p := deliver(lanes[0], t0.Add(10*time.Second), bahasha.DeliveryDelivered, time.Time{})
	p.AccountID = "a"
	p.Stats = bahasha.DeliveryStats{Delivered: 2, AttemptsOK: 2}
	p.Stats.Latency[bahasha.LatencyBucket(7*time.Millisecond)] = 2
	if err := s.CompleteLane(ctx, p); err != nil {
		t.Fatal(err)
	}
	// The same minute again, and the next minute.
	insert(t, s, "a", t0, "e3")
	lanes = claim(t, s, t0.Add(20*time.Second), 10, 10)
	p = deliver(lanes[0], t0.Add(30*time.Second), bahasha.DeliveryPending, t0.Add(time.Hour))
	p.AccountID, p.Stats = "a", bahasha.DeliveryStats{AttemptsFailed: 1}
	if err := s.CompleteLane(ctx, p); err != nil {
		t.Fatal(err)
	}
	if _, err := s.ExpireDeliveries(ctx, store.ExpireParams{Now: t0.Add(90 * time.Second), Before: t0.Add(time.Minute), Limit: 10, Reason: "x"}); err != nil {
		t.Fatal(err)
	}
	st, err := s.Stats(ctx, store.StatsParams{AccountID: "a", Since: t0, Until: t0.Add(time.Hour)})
	if err != nil || len(st) != 2 {
		t.Fatalf("Stats = %+v, %v", st, err)
	}
	if !st[0].Start.Equal(t0) || st[0].Delivered != 2 || st[0].AttemptsOK != 2 || st[0].AttemptsFailed != 1 || st[0].Latency[1] != 2 {
		t.Fatalf("first minute: %+v", st[0])
	}
	if !st[1].Start.Equal(t0.Add(time.Minute)) || st[1].Failed != 1 {
		t.Fatalf("second minute: %+v", st[1])
	}
	var sum bahasha.DeliveryStats
	for _, m := range st {
		sum.Add(m)
	}
	if q := sum.LatencyQuantile(0.99); q != 10*time.Millisecond {
		t.Fatalf("p99 = %v", q)
	}
	if st, _ := s.Stats(ctx, store.StatsParams{AccountID: "a", Since: t0.Add(time.Minute), Until: t0.Add(time.Hour)}); len(st) != 1 {
		t.Fatalf("since is inclusive, until exclusive: %+v", st)
	}
	if st, _ := s.Stats(ctx, store.StatsParams{AccountID: "b", Since: t0, Until: t0.Add(time.Hour)}); len(st) != 0 {
		t.Fatalf("b sees a's stats: %+v", st)
	}
	if n, err := s.Backlog(ctx, "a"); err != nil || n != 0 {
		t.Fatalf("Backlog = %d, %v", n, err)
	}
	insert(t, s, "a", t0.Add(time.Hour), "e4", "e5")
	if n, err := s.Backlog(ctx, "a"); err != nil || n != 2 {
		t.Fatalf("Backlog = %d, %v, want 2", n, err)
	}
	// Retention takes old minutes.
	if _, err := s.Prune(ctx, store.PruneParams{Before: t0.Add(time.Minute), Limit: 100}); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.Stats(ctx, store.StatsParams{AccountID: "a", Since: t0, Until: t0.Add(time.Hour)}); len(st) != 1 || !st[0].Start.Equal(t0.Add(time.Minute)) {
		t.Fatalf("after prune: %+v", st)
	}
}

// testSessions: a session finds its account until it expires or is deleted.
func testSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	se := store.Session{TokenHash: []byte("h1"), AccountID: "a", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	if a, err := s.SessionAccount(ctx, store.SessionAccountParams{TokenHash: []byte("h1"), Now: t0.Add(time.Minute)}); err != nil || a.ID != "a" || a.AppSecret != "secret-a" {
		t.Fatalf("SessionAccount = %+v, %v", a, err)
	}
	if _, err := s.SessionAccount(ctx, store.SessionAccountParams{TokenHash: []byte("h1"), Now: t0.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("expired session: %v", err)
	}
	if _, err := s.SessionAccount(ctx, store.SessionAccountParams{TokenHash: []byte("nope"), Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown session: %v", err)
	}
	if err := s.CreateSession(ctx, store.Session{TokenHash: []byte("h2"), AccountID: "a", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteSession(ctx, []byte("h2")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionAccount(ctx, store.SessionAccountParams{TokenHash: []byte("h2"), Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted session: %v", err)
	}
	if err := s.DeleteSession(ctx, []byte("h2")); err != nil {
		t.Fatalf("deleting a missing session: %v", err)
	}
	// Prune removes expired sessions.
	if _, err := s.Prune(ctx, store.PruneParams{Before: t0, Limit: 10, Now: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionAccount(ctx, store.SessionAccountParams{TokenHash: []byte("h1"), Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pruned session still valid: %v", err)
	}
}

// testOperatorSessions: an operator session is valid with the admin key it
// was opened with, until it expires, is deleted or is pruned.
func testOperatorSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	se := store.OperatorSession{TokenHash: []byte("o1"), KeyHash: []byte("k1"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	if err := s.CreateOperatorSession(ctx, se); err != nil {
		t.Fatal(err)
	}
	check := func(token, key string, at time.Time) error {
		return s.CheckOperatorSession(ctx, store.OperatorSessionParams{TokenHash: []byte(token), KeyHash: []byte(key), Now: at})
	}
	if err := check("o1", "k1", t0.Add(time.Minute)); err != nil {
		t.Fatalf("a valid operator session: %v", err)
	}
	for _, c := range []struct {
		token, key string
		at         time.Time
		what       string
	}{{"o1", "k2", t0, "another admin key"}, {"o1", "k1", t0.Add(time.Hour), "expired"}, {"o2", "k1", t0, "unknown"}} {
		if err := check(c.token, c.key, c.at); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: %v, want ErrNotFound", c.what, err)
		}
	}
	if err := s.CreateOperatorSession(ctx, store.OperatorSession{TokenHash: []byte("o2"), KeyHash: []byte("k1"), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteOperatorSession(ctx, []byte("o2")); err != nil {
		t.Fatal(err)
	}
	if err := check("o2", "k1", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("deleted: %v", err)
	}
	if err := s.DeleteOperatorSession(ctx, []byte("o2")); err != nil {
		t.Fatalf("deleting a missing session: %v", err)
	}
	if _, err := s.Prune(ctx, store.PruneParams{Before: t0, Limit: 10, Now: t0.Add(2 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	// Pruned: gone even for a clock that has not reached its expiry.
	if err := check("o1", "k1", t0); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pruned session still valid: %v", err)
	}
}

// CheckUpgraded checks a store opened on a first-release database that a
// driver's upgrade test wrote (migration 1 only): account "a" with endpoint
// 1, events 1 and 2 ingested at t, delivery 10 of event 1 delivered and
// delivery 11 of event 2 failed with last error "gave up". After the
// upgrade they are listed, replayed and claimed like new ones.
func CheckUpgraded(t *testing.T, s store.Store, at time.Time) {
	t.Helper()
	ctx := context.Background()
	ds, err := s.Deliveries(ctx, store.ListDeliveriesParams{AccountID: "a", State: bahasha.DeliveryFailed, Limit: 10})
	if err != nil || len(ds) != 1 || ds[0].ID != 11 || ds[0].LastError != "gave up" {
		t.Fatalf("failed deliveries after the upgrade: %+v, %v", ds, err)
	}
	// wamid.1's sent was delivered before the upgrade: it still counts for
	// the ordering rule. (A new status of it, ingested before the replay's
	// range.)
	before := at.Add(-time.Hour)
	ev := statusEventOf("a", "e3", "wamid.1", "delivered", before)
	ev.WABAID, ev.PhoneNumberID = "w", "p"
	insertEvents(t, s, "a", before, ev)
	lanes, err := s.ClaimLanes(ctx, store.ClaimParams{Now: at, MaxLanes: 1, MaxPerLane: 10, LeaseFor: time.Minute})
	if err != nil || len(lanes) != 1 || len(lanes[0].Deliveries) != 1 {
		t.Fatalf("claim of a new status after the upgrade: %+v, %v", lanes, err)
	}
	if got := lanes[0].DeliveredRanks; got["wamid.1"] != 1 || len(got) != 1 {
		t.Fatalf("DeliveredRanks after the upgrade = %v, want wamid.1:1", got)
	}
	done := deliver(lanes[0], at, bahasha.DeliveryDelivered, time.Time{})
	done.LeasedUntil = lanes[0].LeasedUntil
	if err := s.CompleteLane(ctx, done); err != nil {
		t.Fatal(err)
	}
	now := at.Add(time.Hour)
	r, err := s.CreateReplay(ctx, store.ReplayParams{AccountID: "a", From: at, To: now, Now: now})
	if err != nil || r.Total != 2 {
		t.Fatalf("replay over upgraded data: %+v, %v", r, err)
	}
	if n, err := s.AdvanceReplays(ctx, store.AdvanceReplaysParams{Now: now, Limit: 100}); err != nil || n != 2 {
		t.Fatalf("AdvanceReplays = %d, %v", n, err)
	}
	lanes, err = s.ClaimLanes(ctx, store.ClaimParams{Now: now, MaxLanes: 1, MaxPerLane: 10, LeaseFor: time.Minute})
	if err != nil || len(lanes) != 1 || len(lanes[0].Deliveries) != 2 || lanes[0].Deliveries[0].ID != 10 {
		t.Fatalf("claim after the upgrade: %+v, %v", lanes, err)
	}

	if b, err := s.Backlog(ctx, "a"); err != nil || b != 2 {
		t.Fatalf("Backlog = %d, %v", b, err)
	}
}

// testUnrouted: the routing table of a Meta POST spans accounts; changes
// no account owns are kept once per digest, listed oldest first in pages,
// removed when routed, and pruned with the retention.
func testUnrouted(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	account(t, s, "b")
	got, err := s.LookupNumbers(ctx, store.LookupNumbersParams{IDs: []string{"pn-a", "pn-x"}, WABAIDs: []string{"waba-b", "waba-x"}})
	if err != nil || len(got) != 2 || got[0].AccountID == got[1].AccountID {
		t.Fatalf("LookupNumbers = %+v, %v; want pn-a of a and b's number by its WABA", got, err)
	}
	if got, err := s.LookupNumbers(ctx, store.LookupNumbersParams{WABAIDs: []string{"waba-a"}}); err != nil || len(got) != 1 || got[0].ID != "pn-a" {
		t.Fatalf("LookupNumbers by WABA only = %+v, %v", got, err)
	}
	if got, err := s.LookupNumbers(ctx, store.LookupNumbersParams{}); err != nil || len(got) != 0 {
		t.Fatalf("LookupNumbers of nothing = %+v, %v", got, err)
	}
	mk := func(digest string, at time.Time) store.Unrouted {
		return store.Unrouted{Digest: digest, ReceivedAt: at, Field: "messages", EntryID: "waba-x", PhoneNumberID: "pn-x",
			Reason: "no account has phone number pn-x", Body: json.RawMessage(`{"id":"waba-x","changes":[{"field":"messages","value":{"n":1}}]}`)}
	}
	if err := s.AddUnrouted(ctx, []store.Unrouted{mk("d1", t0), mk("d2", t0.Add(time.Hour)), mk("d1", t0)}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddUnrouted(ctx, []store.Unrouted{mk("d2", t0.Add(2*time.Hour)), mk("d3", t0.Add(3*time.Hour))}); err != nil {
		t.Fatal(err)
	}
	all, err := s.ListUnrouted(ctx, store.ListUnroutedParams{Limit: 10})
	if err != nil || len(all) != 3 || all[0].Digest != "d1" || all[1].Digest != "d2" || all[2].Digest != "d3" {
		t.Fatalf("ListUnrouted = %+v, %v; want d1, d2, d3 once each", all, err)
	}
	if sn, err := s.Snapshot(ctx, t0); err != nil || sn.Unrouted != 3 {
		t.Fatalf("Snapshot counts %d unrouted (%v), want 3", sn.Unrouted, err)
	}
	if u := all[0]; u.Field != "messages" || u.EntryID != "waba-x" || u.PhoneNumberID != "pn-x" || !u.ReceivedAt.Equal(t0) ||
		string(u.Body) != `{"id":"waba-x","changes":[{"field":"messages","value":{"n":1}}]}` || u.Reason == "" {
		t.Fatalf("a kept change: %+v", u)
	}
	if page, _ := s.ListUnrouted(ctx, store.ListUnroutedParams{After: all[0].ID, Limit: 1}); len(page) != 1 || page[0].Digest != "d2" {
		t.Fatalf("the second page: %+v", page)
	}
	if err := s.RemoveUnrouted(ctx, []int64{all[1].ID, 999999}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Prune(ctx, store.PruneParams{Before: t0.Add(time.Minute), Limit: 10}); err != nil {
		t.Fatal(err)
	}
	if left, _ := s.ListUnrouted(ctx, store.ListUnroutedParams{Limit: 10}); len(left) != 1 || left[0].Digest != "d3" {
		t.Fatalf("after removing d2 and pruning d1: %+v", left)
	}
	if sn, _ := s.Snapshot(ctx, t0); sn.Unrouted != 1 {
		t.Fatalf("Snapshot counts %d unrouted, want 1", sn.Unrouted)
	}
}

// testNumberTokens: a number's sealed token is the account's only, is
// replaced by a rotation and removed when set empty.
func testNumberTokens(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	account(t, s, "b")
	get := func(acc string) ([]byte, error) {
		return s.NumberToken(ctx, store.GetPhoneNumberParams{AccountID: acc, PhoneNumberID: "pn-a"})
	}
	if _, err := get("a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no token yet: %v", err)
	}
	if err := s.SetNumberToken(ctx, store.NumberTokenParams{AccountID: "b", PhoneNumberID: "pn-a", Sealed: []byte("x")}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("setting another account's number's token: %v", err)
	}
	for _, sealed := range []string{"sealed-1", "sealed-2"} {
		if err := s.SetNumberToken(ctx, store.NumberTokenParams{AccountID: "a", PhoneNumberID: "pn-a", Sealed: []byte(sealed)}); err != nil {
			t.Fatal(err)
		}
		if got, err := get("a"); err != nil || string(got) != sealed {
			t.Fatalf("after setting %s: %q, %v", sealed, got, err)
		}
	}
	if _, err := get("b"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account read the token: %v", err)
	}
	if err := s.SetNumberToken(ctx, store.NumberTokenParams{AccountID: "a", PhoneNumberID: "pn-a"}); err != nil {
		t.Fatal(err)
	}
	if _, err := get("a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("after removing it: %v", err)
	}
}
