// Package storetest is the conformance suite every store.Store driver must
// pass: each method, its error contract, tenancy, and its concurrency
// semantics. A driver's test calls Run with a function that opens a fresh,
// empty store.
package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// Opener opens a fresh, empty store for one test; the store is closed by
// the suite. reopen opens the same database again, as a restarted node
// would, once the test has closed the store; the suite closes what it
// returns too.
type Opener func(t *testing.T) (s store.Store, reopen func() store.Store)

// t0 is the suite's clock origin: stores never read the clock.
var t0 = time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)

// Run runs the whole suite.
func Run(t *testing.T, open Opener) {
	tests := []struct {
		name string
		fn   func(*testing.T, store.Store)
	}{
		{"Accounts", testAccounts},
		{"Tenancy", testTenancy},
		{"Endpoints", testEndpoints},
		{"InsertEvents", testInsertEvents},
		{"InsertEventsWithoutEndpoint", testInsertWithoutEndpoint},
		{"ClaimOrderAndLease", testClaimOrderAndLease},
		{"ClaimFairness", testClaimFairness},
		{"ClaimLeaseExpiry", testClaimLeaseExpiry},
		{"CompleteLane", testCompleteLane},
		{"NextDue", testNextDue},
		{"RetryDelivery", testRetryDelivery},
		{"DeleteEndpointFailsPending", testDeleteEndpoint},
		{"ListDeliveries", testListDeliveries},
		{"ConcurrentWrites", testConcurrentWrites},
		{"DeliveredRanks", testDeliveredRanks},
		{"Superseded", testSuperseded},
		{"Breaker", testBreaker},
		{"ExpireDeliveries", testExpire},
		{"Prune", testPrune},
		{"ConcurrentClaims", testConcurrentClaims},
		{"ListDeliveriesByTime", testListDeliveriesByTime},
		{"Replay", testReplay},
		{"Stats", testStats},
		{"Sessions", testSessions},
		{"OperatorSessions", testOperatorSessions},
		{"Unrouted", testUnrouted},
		{"NumberTokens", testNumberTokens},
		{"MaybeDelivered", testMaybeDelivered},
		{"RecoveredClaimRemembers", testRecoveredClaimRemembers},
		{"Pause", testPause},
		{"RetryKeepsRank", testRetryKeepsRank},
		{"References", testReferences},
		{"EndpointCRUD", testEndpointCRUD},
		{"Routing", testRouting},
		{"RateLimitedClaim", testRateLimitedClaim},
		{"ReplayToEndpoint", testReplayToEndpoint},
		{"EndpointStats", testEndpointStats},
		{"EndpointIDsNotReused", testEndpointIDsNotReused},
		{"ListenSessions", testListenSessions},
		{"Snapshot", testSnapshot},
		{"Disabling", testDisabling},
		{"Notices", testNotices},
		{"ConditionalEndpointWrites", testConditionalEndpointWrites},
		{"Users", testUsers},
		{"CreateAccountOwner", testCreateAccountOwner},
		{"UserLinks", testUserLinks},
		{"UserSessions", testUserSessions},
		{"APIKeys", testAPIKeys},
		{"AuditLog", testAuditLog},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each test has a store of its own
			s, _ := open(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s)
		})
	}
	// Tests that restart the store.
	for _, tt := range []struct {
		name string
		fn   func(*testing.T, store.Store, func() store.Store)
	}{
		{"IngestIdempotency", testIngestIdempotency},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, reopen := open(t)
			t.Cleanup(func() { s.Close() })
			tt.fn(t, s, func() store.Store {
				r := reopen()
				t.Cleanup(func() { r.Close() })
				return r
			})
		})
	}
	t.Run("Closed", func(t *testing.T) {
		t.Parallel()
		s, _ := open(t)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := s.InsertEvents(context.Background(), store.InsertEventsParams{AccountID: "x"}); !errors.Is(err, store.ErrClosed) {
			t.Fatalf("InsertEvents after Close = %v, want ErrClosed", err)
		}
		ctx := context.Background()
		if _, _, err := s.KeyByHash(ctx, []byte("k")); !errors.Is(err, store.ErrClosed) {
			t.Fatalf("KeyByHash after Close = %v, want ErrClosed", err)
		}
		if _, err := s.Endpoint(ctx, "a"); !errors.Is(err, store.ErrClosed) {
			t.Fatalf("Endpoint after Close = %v, want ErrClosed", err)
		}
		if _, err := s.Deliveries(ctx, store.ListDeliveriesParams{AccountID: "a", Limit: 1}); !errors.Is(err, store.ErrClosed) {
			t.Fatalf("Deliveries after Close = %v, want ErrClosed", err)
		}
		if _, err := s.SessionAccount(ctx, store.SessionAccountParams{TokenHash: []byte("k"), Now: t0}); !errors.Is(err, store.ErrClosed) {
			t.Fatalf("SessionAccount after Close = %v, want ErrClosed", err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close = %v", err)
		}
	})
}

// account creates an account with one phone number and returns its id.
func account(t *testing.T, s store.Store, id string) string {
	t.Helper()
	err := s.CreateAccount(context.Background(), store.CreateAccountParams{
		Account:    bahasha.Account{ID: id, Name: "Account " + id, AppSecret: "secret-" + id, CreatedAt: t0},
		APIKeyHash: []byte("hash-" + id),
		PhoneNumbers: []bahasha.PhoneNumber{{ID: "pn-" + id, AccountID: id, WABAID: "waba-" + id,
			DisplayPhoneNumber: "+254700000000", Sandbox: true, CreatedAt: t0}},
	})
	if err != nil {
		t.Fatalf("CreateAccount(%s): %v", id, err)
	}
	return id
}

func endpoint(t *testing.T, s store.Store, accountID string) bahasha.Endpoint {
	t.Helper()
	e, err := s.PutEndpoint(context.Background(), store.PutEndpointParams{AccountID: accountID, URL: "https://example.com/" + accountID,
		VerifyToken: "tok", VerifiedAt: t0, Now: t0})
	if err != nil {
		t.Fatalf("PutEndpoint: %v", err)
	}
	return e
}

func event(accountID, producerID string, at time.Time) bahasha.Event {
	payload, _ := json.Marshal(map[string]string{"id": "wamid." + producerID, "status": "sent"})
	return bahasha.Event{AccountID: accountID, ProducerID: producerID, Kind: bahasha.KindStatus, WABAID: "waba-" + accountID,
		PhoneNumberID: "pn-" + accountID, DisplayPhoneNumber: "+254700000000", WAMID: "wamid." + producerID, Status: "sent",
		Payload: payload, CreatedAt: at, AvailableAt: at}
}

func insert(t *testing.T, s store.Store, accountID string, at time.Time, producerIDs ...string) []store.InsertResult {
	t.Helper()
	var evs []bahasha.Event
	for _, id := range producerIDs {
		evs = append(evs, event(accountID, id, at))
	}
	res, err := s.InsertEvents(context.Background(), store.InsertEventsParams{AccountID: accountID, Events: evs, Now: at})
	if err != nil {
		t.Fatalf("InsertEvents: %v", err)
	}
	return res
}

func claim(t *testing.T, s store.Store, now time.Time, lanes, perLane int) []store.Lane {
	t.Helper()
	got, err := s.ClaimLanes(context.Background(), store.ClaimParams{Now: now, MaxLanes: lanes, MaxPerLane: perLane, LeaseFor: time.Minute})
	if err != nil {
		t.Fatalf("ClaimLanes: %v", err)
	}
	return got
}

func producerIDs(l store.Lane) []string {
	var ids []string
	for _, d := range l.Deliveries {
		ids = append(ids, d.Event.ProducerID)
	}
	return ids
}

func deliver(l store.Lane, now time.Time, state bahasha.DeliveryState, next time.Time) store.CompleteParams {
	p := store.CompleteParams{EndpointID: l.Endpoint.ID, Now: now}
	for _, d := range l.Deliveries {
		p.Results = append(p.Results, store.DeliveryResult{DeliveryID: d.ID, State: state, NextAttemptAt: next,
			Attempt: bahasha.Attempt{Number: d.Attempts + 1, StartedAt: now, Duration: 3 * time.Millisecond, StatusCode: 200}})
	}
	return p
}

func testAccounts(t *testing.T, s store.Store) {
	ctx := context.Background()
	if n, err := s.CountAccounts(ctx); err != nil || n != 0 {
		t.Fatalf("CountAccounts on an empty store = %d, %v", n, err)
	}
	account(t, s, "a1")
	k, a, err := s.KeyByHash(ctx, []byte("hash-a1"))
	if err != nil || a.ID != "a1" || a.AppSecret != "secret-a1" || !a.CreatedAt.Equal(t0) || k.AccountID != "a1" || k.Scope != bahasha.ScopeFull {
		t.Fatalf("KeyByHash = %+v %+v, %v", k, a, err)
	}
	if _, _, err := s.KeyByHash(ctx, []byte("nope")); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown key hash: %v, want ErrNotFound", err)
	}
	if _, err := s.Account(ctx, "zz"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown account: %v", err)
	}
	err = s.CreateAccount(ctx, store.CreateAccountParams{Account: bahasha.Account{ID: "a2", Name: "x", AppSecret: "s", CreatedAt: t0},
		APIKeyHash: []byte("hash-a1")})
	if !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate key hash: %v, want ErrConflict", err)
	}
	if _, err := s.Account(ctx, "a2"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a failed CreateAccount left an account behind: %v", err)
	}
	if err := s.SetAppSecret(ctx, store.SetAppSecretParams{AccountID: "a1", Secret: "rotated"}); err != nil {
		t.Fatal(err)
	}
	if a, _ := s.Account(ctx, "a1"); a.AppSecret != "rotated" {
		t.Fatalf("secret = %q", a.AppSecret)
	}
	if err := s.SetAppSecret(ctx, store.SetAppSecretParams{AccountID: "zz", Secret: "x"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("SetAppSecret unknown: %v", err)
	}
	if n, _ := s.CountAccounts(ctx); n != 1 {
		t.Fatalf("CountAccounts = %d", n)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func testTenancy(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	account(t, s, "b")
	endpoint(t, s, "a")
	endpoint(t, s, "b")
	res := insert(t, s, "a", t0, "e1")
	if _, err := s.PhoneNumber(ctx, store.GetPhoneNumberParams{AccountID: "b", PhoneNumberID: "pn-a"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b sees a's phone number: %v", err)
	}
	if nums, _ := s.PhoneNumbers(ctx, "b"); len(nums) != 1 || nums[0].ID != "pn-b" {
		t.Fatalf("b's numbers = %+v", nums)
	}
	if _, _, err := s.Delivery(ctx, store.GetDeliveryParams{AccountID: "b", DeliveryID: res[0].DeliveryID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b sees a's delivery: %v", err)
	}
	if _, err := s.RetryDelivery(ctx, store.RetryDeliveryParams{AccountID: "b", DeliveryID: res[0].DeliveryID, Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("b retried a's delivery: %v", err)
	}
	if ds, _ := s.Deliveries(ctx, store.ListDeliveriesParams{AccountID: "b"}); len(ds) != 0 {
		t.Fatalf("b lists %d deliveries of a", len(ds))
	}
	// The same producer id in two accounts is two events.
	if r := insert(t, s, "b", t0, "e1"); r[0].Duplicate {
		t.Fatal("a producer id of account a deduplicated an event of account b")
	}
	if e, _ := s.Endpoint(ctx, "b"); e.URL != "https://example.com/b" {
		t.Fatalf("b's endpoint = %+v", e)
	}
}

func testEndpoints(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	if _, err := s.Endpoint(ctx, "a"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("no endpoint yet: %v", err)
	}
	e1 := endpoint(t, s, "a")
	e2, err := s.PutEndpoint(ctx, store.PutEndpointParams{AccountID: "a", URL: "https://new.example.com/hook", VerifyToken: "t2",
		VerifiedAt: t0.Add(time.Hour), Now: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	if e2.ID != e1.ID || e2.URL != "https://new.example.com/hook" || e2.VerifyToken != "t2" || !e2.VerifiedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("replaced endpoint = %+v (was %+v)", e2, e1)
	}
	if err := s.DeleteEndpoint(ctx, store.DeleteEndpointParams{AccountID: "a", Now: t0, Reason: "removed"}); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteEndpoint(ctx, store.DeleteEndpointParams{AccountID: "a", Now: t0, Reason: "removed"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("second delete: %v", err)
	}
}

func testInsertEvents(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	endpoint(t, s, "a")
	res := insert(t, s, "a", t0, "p1", "p2", "p3")
	for i, r := range res {
		if r.EventID == 0 || r.DeliveryID == 0 || r.Duplicate {
			t.Fatalf("result %d = %+v", i, r)
		}
	}
	again := insert(t, s, "a", t0.Add(time.Second), "p2", "p4")
	if !again[0].Duplicate || again[0].EventID != res[1].EventID || again[0].DeliveryID != 0 {
		t.Fatalf("retried producer id: %+v, want duplicate of %+v", again[0], res[1])
	}
	if again[1].Duplicate {
		t.Fatal("a new producer id was deduplicated")
	}
	d, attempts, err := s.Delivery(ctx, store.GetDeliveryParams{AccountID: "a", DeliveryID: res[0].DeliveryID})
	if err != nil || len(attempts) != 0 {
		t.Fatal(err, attempts)
	}
	if d.State != bahasha.DeliveryPending || !d.NextAttemptAt.Equal(t0) || d.Event.ProducerID != "p1" ||
		string(d.Event.Payload) != `{"id":"wamid.p1","status":"sent"}` || d.Event.WAMID != "wamid.p1" || d.Event.Kind != bahasha.KindStatus {
		t.Fatalf("delivery = %+v", d)
	}
	// A producer id repeated within one batch is one event.
	rep := insert(t, s, "a", t0, "r1", "r2", "r1")
	if rep[0].Duplicate || !rep[2].Duplicate || rep[2].EventID != rep[0].EventID || rep[2].DeliveryID != 0 {
		t.Fatalf("repeated producer id in a batch: %+v", rep)
	}
	// Several repeated, each after its first.
	reps := insert(t, s, "a", t0, "q1", "q1", "q2", "q2", "q3")
	if reps[1].EventID != reps[0].EventID || reps[3].EventID != reps[2].EventID || !reps[1].Duplicate || !reps[3].Duplicate ||
		reps[2].Duplicate || reps[4].Duplicate || reps[2].EventID == reps[0].EventID || reps[4].EventID == 0 {
		t.Fatalf("repeated producer ids in a batch: %+v", reps)
	}
	// Large batches keep their order and get one delivery each.
	var ids []string
	for i := range 1200 {
		ids = append(ids, fmt.Sprintf("big-%04d", i))
	}
	big := insert(t, s, "a", t0, ids...)
	for i := 1; i < len(big); i++ {
		if big[i].Duplicate || big[i].DeliveryID <= big[i-1].DeliveryID || big[i].EventID <= big[i-1].EventID {
			t.Fatalf("big batch result %d: %+v after %+v", i, big[i], big[i-1])
		}
	}
	// Every id returned is the row of that very event, in a batch of new
	// events and in one mixing stored, new and repeated producer ids.
	mixed := insert(t, s, "a", t0, "p3", "m1", "m1", "m2", "r2")
	wantDup := []bool{true, false, true, false, true}
	for i, r := range mixed {
		if r.Duplicate != wantDup[i] || (r.DeliveryID != 0) == r.Duplicate {
			t.Fatalf("mixed batch result %d = %+v, want duplicate %v (with a delivery only when new)", i, r, wantDup[i])
		}
	}
	if mixed[0].EventID != res[2].EventID || mixed[2].EventID != mixed[1].EventID || mixed[4].EventID != rep[1].EventID {
		t.Fatalf("mixed batch: duplicates %+v do not carry the stored event ids", mixed)
	}
	for _, c := range []struct {
		r        store.InsertResult
		producer string
	}{{res[0], "p1"}, {res[2], "p3"}, {mixed[1], "m1"}, {mixed[3], "m2"}, {big[0], "big-0000"}, {big[777], "big-0777"}, {big[1199], "big-1199"}} {
		d, _, err := s.Delivery(ctx, store.GetDeliveryParams{AccountID: "a", DeliveryID: c.r.DeliveryID})
		if err != nil || d.Event.ProducerID != c.producer || d.EventID != c.r.EventID {
			t.Fatalf("delivery %d of result %+v holds event %d (%q), %v; want %d (%q)", c.r.DeliveryID, c.r, d.EventID, d.Event.ProducerID, err, c.r.EventID, c.producer)
		}
	}
	// A batch with an event of another account is refused whole.
	bad := []bahasha.Event{event("a", "p9", t0), event("b", "p10", t0)}
	if _, err := s.InsertEvents(ctx, store.InsertEventsParams{AccountID: "a", Events: bad, Now: t0}); err == nil {
		t.Fatal("a batch mixing accounts was accepted")
	}
	if r := insert(t, s, "a", t0, "p9"); r[0].Duplicate {
		t.Fatal("a refused batch left its first event behind")
	}
}

func testInsertWithoutEndpoint(t *testing.T, s store.Store) {
	account(t, s, "a")
	res := insert(t, s, "a", t0, "p1")
	if res[0].EventID == 0 || res[0].DeliveryID != 0 {
		t.Fatalf("without an endpoint: %+v, want an event and no delivery", res[0])
	}
	if lanes := claim(t, s, t0.Add(time.Hour), 10, 10); len(lanes) != 0 {
		t.Fatalf("claimed %d lanes without an endpoint", len(lanes))
	}
}

func testClaimOrderAndLease(t *testing.T, s store.Store) {
	account(t, s, "a")
	endpoint(t, s, "a")
	insert(t, s, "a", t0, "p1", "p2")
	insert(t, s, "a", t0.Add(-time.Second), "p0") // due earlier, ingested later
	insert(t, s, "a", t0.Add(time.Hour), "later")
	lanes := claim(t, s, t0, 10, 10)
	if len(lanes) != 1 {
		t.Fatalf("lanes = %d", len(lanes))
	}
	if got := fmt.Sprint(producerIDs(lanes[0])); got != "[p0 p1 p2]" {
		t.Fatalf("claimed %s, want [p0 p1 p2]: due order, then ingest order, nothing from the future", got)
	}
	if lanes[0].AppSecret != "secret-a" || lanes[0].Endpoint.URL != "https://example.com/a" || lanes[0].Recovered {
		t.Fatalf("lane = %+v", lanes[0].Endpoint)
	}
	if again := claim(t, s, t0, 10, 10); len(again) != 0 {
		t.Fatalf("a leased lane was claimed again: %v", producerIDs(again[0]))
	}
	// MaxPerLane caps a claim.
	if err := s.CompleteLane(context.Background(), store.CompleteParams{EndpointID: lanes[0].Endpoint.ID, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if l := claim(t, s, t0, 10, 2); len(l) != 1 || fmt.Sprint(producerIDs(l[0])) != "[p0 p1]" {
		t.Fatalf("capped claim = %v", l)
	}
}

func testClaimFairness(t *testing.T, s store.Store) {
	ctx := context.Background()
	for _, id := range []string{"a", "b", "c"} {
		account(t, s, id)
		endpoint(t, s, id)
		insert(t, s, id, t0, id+"1", id+"2", id+"3")
	}
	var order []string
	now := t0
	for range 6 {
		lanes := claim(t, s, now, 1, 1)
		if len(lanes) != 1 {
			t.Fatalf("claimed %d lanes", len(lanes))
		}
		order = append(order, lanes[0].Deliveries[0].Event.ProducerID)
		if err := s.CompleteLane(ctx, deliver(lanes[0], now, bahasha.DeliveryDelivered, time.Time{})); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Millisecond)
	}
	if got := fmt.Sprint(order); got != "[a1 b1 c1 a2 b2 c2]" {
		t.Fatalf("service order %s: the least recently served lane must go first", got)
	}
}

func testClaimLeaseExpiry(t *testing.T, s store.Store) {
	account(t, s, "a")
	endpoint(t, s, "a")
	insert(t, s, "a", t0, "p1")
	if l := claim(t, s, t0, 10, 10); len(l) != 1 {
		t.Fatal("no lane")
	}
	if l := claim(t, s, t0.Add(59*time.Second), 10, 10); len(l) != 0 {
		t.Fatal("claimed before the lease expired")
	}
	l := claim(t, s, t0.Add(61*time.Second), 10, 10)
	if len(l) != 1 || fmt.Sprint(producerIDs(l[0])) != "[p1]" {
		t.Fatalf("after the lease expired: %v; a crashed node's work must be claimed again", l)
	}
	if !l[0].Recovered {
		t.Fatal("a lane claimed after its lease ran out is not marked Recovered")
	}
	// The first worker, which outlived its lease, completes late: the new
	// claim's lease stays.
	if l[0].LeasedUntil.IsZero() {
		t.Fatal("a claim has no LeasedUntil")
	}
	stale := deliver(l[0], t0.Add(61*time.Second), bahasha.DeliveryPending, t0.Add(61*time.Second))
	stale.Results, stale.LeasedUntil = nil, t0.Add(time.Minute)
	if err := s.CompleteLane(context.Background(), stale); err != nil {
		t.Fatal(err)
	}
	if again := claim(t, s, t0.Add(62*time.Second), 10, 10); len(again) != 0 {
		t.Fatal("a stale completion released a lease another claim holds")
	}
	// ReleaseAllLanes frees leased lanes at once.
	if err := s.ReleaseAllLanes(context.Background()); err != nil {
		t.Fatal(err)
	}
	if l := claim(t, s, t0.Add(62*time.Second), 10, 10); len(l) != 1 || !l[0].Recovered {
		t.Fatalf("after ReleaseAllLanes: %+v, want the lane, Recovered", l)
	}
}

func testCompleteLane(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	endpoint(t, s, "a")
	res := insert(t, s, "a", t0, "ok", "retry", "dead", "untouched")
	lanes := claim(t, s, t0, 10, 10)
	l := lanes[0]
	p := store.CompleteParams{EndpointID: l.Endpoint.ID, Now: t0.Add(time.Second), Results: []store.DeliveryResult{
		{DeliveryID: res[0].DeliveryID, State: bahasha.DeliveryDelivered,
			Attempt: bahasha.Attempt{Number: 1, StartedAt: t0, Duration: 1500 * time.Microsecond, StatusCode: 200, ResponseBody: "ok"}},
		{DeliveryID: res[1].DeliveryID, State: bahasha.DeliveryPending, NextAttemptAt: t0.Add(5 * time.Second),
			Attempt: bahasha.Attempt{Number: 1, StartedAt: t0, Duration: time.Millisecond, StatusCode: 500, Error: "answered 500", ResponseBody: "boom"}},
		{DeliveryID: res[2].DeliveryID, State: bahasha.DeliveryFailed,
			Attempt: bahasha.Attempt{Number: 1, StartedAt: t0, Duration: time.Second, Error: "timeout"}},
	}}
	if err := s.CompleteLane(ctx, p); err != nil {
		t.Fatal(err)
	}
	d, attempts, _ := s.Delivery(ctx, store.GetDeliveryParams{AccountID: "a", DeliveryID: res[0].DeliveryID})
	if d.State != bahasha.DeliveryDelivered || d.Attempts != 1 || !d.DeliveredAt.Equal(t0.Add(time.Second)) || d.LastStatusCode != 200 ||
		!d.WindowStart.Equal(t0) || len(attempts) != 1 || attempts[0].Duration != 1500*time.Microsecond || attempts[0].ResponseBody != "ok" {
		t.Fatalf("delivered: %+v %+v", d, attempts)
	}
	d, attempts, _ = s.Delivery(ctx, store.GetDeliveryParams{AccountID: "a", DeliveryID: res[1].DeliveryID})
	if d.State != bahasha.DeliveryPending || !d.NextAttemptAt.Equal(t0.Add(5*time.Second)) || d.LastError != "answered 500" ||
		len(attempts) != 1 || attempts[0].StatusCode != 500 {
		t.Fatalf("retrying: %+v %+v", d, attempts)
	}
	d, _, _ = s.Delivery(ctx, store.GetDeliveryParams{AccountID: "a", DeliveryID: res[2].DeliveryID})
	if d.State != bahasha.DeliveryFailed || d.LastError != "timeout" {
		t.Fatalf("failed: %+v", d)
	}
	// The lane is released: the untouched delivery is claimable now, the
	// retry later.
	lanes = claim(t, s, t0.Add(time.Second), 10, 10)
	if len(lanes) != 1 || fmt.Sprint(producerIDs(lanes[0])) != "[untouched]" {
		t.Fatalf("after completion: %v", lanes)
	}
	s.CompleteLane(ctx, deliver(lanes[0], t0.Add(time.Second), bahasha.DeliveryDelivered, time.Time{}))
	lanes = claim(t, s, t0.Add(5*time.Second), 10, 10)
	if len(lanes) != 1 || fmt.Sprint(producerIDs(lanes[0])) != "[retry]" || lanes[0].Deliveries[0].Attempts != 1 ||
		!lanes[0].Deliveries[0].WindowStart.Equal(t0) {
		t.Fatalf("retry claim: %+v", lanes)
	}
}

func testNextDue(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	endpoint(t, s, "a")
	if _, ok, err := s.NextDue(ctx, ""); ok || err != nil {
		t.Fatalf("empty store: ok=%v err=%v", ok, err)
	}
	insert(t, s, "a", t0.Add(time.Minute), "p1")
	insert(t, s, "a", t0.Add(30*time.Second), "p2")
	if next, ok, _ := s.NextDue(ctx, ""); !ok || !next.Equal(t0.Add(30*time.Second)) {
		t.Fatalf("NextDue = %v %v", next, ok)
	}
	lanes := claim(t, s, t0.Add(30*time.Second), 10, 10) // leased for a minute
	if next, ok, _ := s.NextDue(ctx, ""); !ok || !next.Equal(t0.Add(90*time.Second)) {
		t.Fatalf("NextDue while leased = %v %v, want the lease's end", next, ok)
	}
	s.CompleteLane(ctx, deliver(lanes[0], t0.Add(31*time.Second), bahasha.DeliveryDelivered, time.Time{}))
	if next, ok, _ := s.NextDue(ctx, ""); !ok || !next.Equal(t0.Add(time.Minute)) {
		t.Fatalf("NextDue after completion = %v %v", next, ok)
	}
}

func testRetryDelivery(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	endpoint(t, s, "a")
	res := insert(t, s, "a", t0, "p1")
	lanes := claim(t, s, t0, 10, 10)
	s.CompleteLane(ctx, deliver(lanes[0], t0, bahasha.DeliveryFailed, time.Time{}))
	d, err := s.RetryDelivery(ctx, store.RetryDeliveryParams{AccountID: "a", DeliveryID: res[0].DeliveryID, Now: t0.Add(time.Hour)})
	if err != nil || d.State != bahasha.DeliveryPending || !d.NextAttemptAt.Equal(t0.Add(time.Hour)) || !d.WindowStart.Equal(t0.Add(time.Hour)) || d.Attempts != 1 {
		t.Fatalf("RetryDelivery = %+v, %v", d, err)
	}
	if l := claim(t, s, t0.Add(time.Hour), 10, 10); len(l) != 1 {
		t.Fatal("a retried delivery is not claimable")
	}
	if _, err := s.RetryDelivery(ctx, store.RetryDeliveryParams{AccountID: "a", DeliveryID: 987654, Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("unknown delivery: %v", err)
	}
}

func testDeleteEndpoint(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	endpoint(t, s, "a")
	res := insert(t, s, "a", t0, "p1")
	if err := s.DeleteEndpoint(ctx, store.DeleteEndpointParams{AccountID: "a", Now: t0, Reason: "webhook removed"}); err != nil {
		t.Fatal(err)
	}
	d, _, _ := s.Delivery(ctx, store.GetDeliveryParams{AccountID: "a", DeliveryID: res[0].DeliveryID})
	if d.State != bahasha.DeliveryFailed || d.LastError != "webhook removed" {
		t.Fatalf("pending delivery after removal: %+v", d)
	}
	if l := claim(t, s, t0.Add(time.Hour), 10, 10); len(l) != 0 {
		t.Fatal("a removed endpoint's lane was claimed")
	}
	if _, err := s.RetryDelivery(ctx, store.RetryDeliveryParams{AccountID: "a", DeliveryID: res[0].DeliveryID, Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("retry without an endpoint: %v", err)
	}
	// A new endpoint is not the removed one: a retry does not move the
	// delivery to it (it could hold that event already); a replay sends
	// the event to it.
	endpoint(t, s, "a")
	if _, err := s.RetryDelivery(ctx, store.RetryDeliveryParams{AccountID: "a", DeliveryID: res[0].DeliveryID, Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("retry after re-registering: %v, want ErrNotFound", err)
	}
	now := t0.Add(time.Minute)
	if _, err := s.CreateReplay(ctx, store.ReplayParams{AccountID: "a", From: t0, To: now, Now: now}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdvanceReplays(ctx, store.AdvanceReplaysParams{Now: now, Limit: store.ReplayChunk}); err != nil {
		t.Fatal(err)
	}
	if l := claim(t, s, now, 10, 10); len(l) != 1 || !slices.Equal(producerIDs(l[0]), []string{"p1"}) {
		t.Fatalf("the replay did not send the event to the new endpoint: %+v", l)
	}
}

func testListDeliveries(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	endpoint(t, s, "a")
	res := insert(t, s, "a", t0, "p1", "p2", "p3", "p4", "p5")
	lanes := claim(t, s, t0, 10, 2)
	s.CompleteLane(ctx, deliver(lanes[0], t0, bahasha.DeliveryDelivered, time.Time{}))
	all, err := s.Deliveries(ctx, store.ListDeliveriesParams{AccountID: "a", Limit: 2})
	if err != nil || len(all) != 2 || all[0].ID != res[4].DeliveryID || all[1].ID != res[3].DeliveryID {
		t.Fatalf("first page = %v, %v", all, err)
	}
	next, _ := s.Deliveries(ctx, store.ListDeliveriesParams{AccountID: "a", Limit: 2, Before: all[1].ID})
	if len(next) != 2 || next[0].ID != res[2].DeliveryID {
		t.Fatalf("second page = %v", next)
	}
	delivered, _ := s.Deliveries(ctx, store.ListDeliveriesParams{AccountID: "a", State: bahasha.DeliveryDelivered})
	if len(delivered) != 2 || delivered[0].Event.ProducerID != "p2" {
		t.Fatalf("delivered = %v", delivered)
	}
}

// testConcurrentWrites: many concurrent InsertEvents (group commit) all
// land, each exactly once.
func testConcurrentWrites(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	endpoint(t, s, "a")
	const writers, each = 16, 25
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				id := fmt.Sprintf("w%d-%d", w, i)
				if _, err := s.InsertEvents(ctx, store.InsertEventsParams{AccountID: "a", Events: []bahasha.Event{event("a", id, t0)}, Now: t0}); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	ds, err := s.Deliveries(ctx, store.ListDeliveriesParams{AccountID: "a", Limit: 1000})
	if err != nil || len(ds) != writers*each {
		t.Fatalf("%d deliveries, want %d (%v)", len(ds), writers*each, err)
	}
}

// testConcurrentClaims: concurrent claimers never get the same lane.
func testConcurrentClaims(t *testing.T, s store.Store) {
	ctx := context.Background()
	for i := range 20 {
		id := fmt.Sprintf("a%02d", i)
		account(t, s, id)
		endpoint(t, s, id)
		insert(t, s, id, t0, id+"-1", id+"-2")
	}
	var mu sync.Mutex
	seen := map[int64]int{}
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			lanes, err := s.ClaimLanes(ctx, store.ClaimParams{Now: t0, MaxLanes: 5, MaxPerLane: 10, LeaseFor: time.Minute})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, l := range lanes {
				seen[l.Endpoint.ID]++
			}
		}()
	}
	wg.Wait()
	if len(seen) != 20 {
		t.Fatalf("claimed %d distinct lanes, want all 20", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("lane %d claimed %d times", id, n)
		}
	}
}

func statusEventOf(accountID, producerID, wamid, status string, at time.Time) bahasha.Event {
	ev := event(accountID, producerID, at)
	ev.WAMID, ev.Status = wamid, status
	ev.Payload, _ = json.Marshal(map[string]string{"id": wamid, "status": status})
	return ev
}

func insertEvents(t *testing.T, s store.Store, accountID string, at time.Time, evs ...bahasha.Event) []store.InsertResult {
	t.Helper()
	res, err := s.InsertEvents(context.Background(), store.InsertEventsParams{AccountID: accountID, Events: evs, Now: at})
	if err != nil {
		t.Fatal(err)
	}
	return res
}

// testDeliveredRanks: a claim reports, per message, the furthest status
// already delivered to the endpoint.
func testDeliveredRanks(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	endpoint(t, s, "a")
	insertEvents(t, s, "a", t0, statusEventOf("a", "1", "w1", "read", t0), statusEventOf("a", "2", "w2", "sent", t0))
	lanes := claim(t, s, t0, 10, 10)
	if len(lanes[0].DeliveredRanks) != 0 {
		t.Fatalf("ranks before any delivery: %v", lanes[0].DeliveredRanks)
	}
	s.CompleteLane(ctx, deliver(lanes[0], t0, bahasha.DeliveryDelivered, time.Time{}))
	insertEvents(t, s, "a", t0, statusEventOf("a", "3", "w1", "delivered", t0), statusEventOf("a", "4", "w2", "delivered", t0),
		statusEventOf("a", "5", "w3", "sent", t0))
	lanes = claim(t, s, t0, 10, 10)
	if got := lanes[0].DeliveredRanks; len(got) != 2 || got["w1"] != 3 || got["w2"] != 1 {
		t.Fatalf("DeliveredRanks = %v, want w1:3 w2:1", got)
	}
}

// testSuperseded: a superseded result records no attempt and is listed as such.
func testSuperseded(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	endpoint(t, s, "a")
	res := insertEvents(t, s, "a", t0, statusEventOf("a", "1", "w1", "sent", t0))
	lanes := claim(t, s, t0, 10, 10)
	err := s.CompleteLane(ctx, store.CompleteParams{EndpointID: lanes[0].Endpoint.ID, Now: t0, Results: []store.DeliveryResult{
		{DeliveryID: res[0].DeliveryID, State: bahasha.DeliverySuperseded, Error: "read was delivered first"}}})
	if err != nil {
		t.Fatal(err)
	}
	d, attempts, _ := s.Delivery(ctx, store.GetDeliveryParams{AccountID: "a", DeliveryID: res[0].DeliveryID})
	if d.State != bahasha.DeliverySuperseded || d.Attempts != 0 || len(attempts) != 0 || d.LastError != "read was delivered first" {
		t.Fatalf("superseded delivery: %+v %v", d, attempts)
	}
	if ds, _ := s.Deliveries(ctx, store.ListDeliveriesParams{AccountID: "a", State: bahasha.DeliverySuperseded}); len(ds) != 1 {
		t.Fatalf("listed %d superseded", len(ds))
	}
}

// testBreaker: an open breaker holds the lane until ProbeAt, then lets one
// delivery through; a success closes it.
func testBreaker(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	endpoint(t, s, "a")
	insert(t, s, "a", t0, "p1", "p2", "p3")
	lanes := claim(t, s, t0, 10, 10)
	first := lanes[0].Deliveries[0]
	probeAt := t0.Add(time.Minute)
	err := s.CompleteLane(ctx, store.CompleteParams{EndpointID: lanes[0].Endpoint.ID, Now: t0,
		Results: []store.DeliveryResult{{DeliveryID: first.ID, State: bahasha.DeliveryPending, NextAttemptAt: t0.Add(5 * time.Second),
			Attempt: bahasha.Attempt{Number: 1, StartedAt: t0, StatusCode: 500, Error: "answered 500"}}},
		Breaker: store.BreakerUpdate{Turn: store.TurnFailed, ProbeAt: probeAt}})
	if err != nil {
		t.Fatal(err)
	}
	e, _ := s.Endpoint(ctx, "a")
	if e.ConsecutiveFailures != 1 || !e.ProbeAt.Equal(probeAt) || !e.FailingSince.Equal(t0) || !e.Probing() {
		t.Fatalf("endpoint after failure: %+v", e)
	}
	if l := claim(t, s, t0.Add(30*time.Second), 10, 10); len(l) != 0 {
		t.Fatal("an open breaker's lane was claimed before its probe time")
	}
	if next, ok, _ := s.NextDue(ctx, ""); !ok || !next.Equal(probeAt) {
		t.Fatalf("NextDue = %v, want the probe time", next)
	}
	l := claim(t, s, probeAt, 10, 10)
	if len(l) != 1 || len(l[0].Deliveries) != 1 {
		t.Fatalf("probe claim: %+v, want one lane with one delivery", l)
	}
	if err := s.CompleteLane(ctx, store.CompleteParams{EndpointID: l[0].Endpoint.ID, Now: probeAt,
		Results: []store.DeliveryResult{{DeliveryID: l[0].Deliveries[0].ID, State: bahasha.DeliveryDelivered,
			Attempt: bahasha.Attempt{Number: 1, StartedAt: probeAt, StatusCode: 200}}},
		Breaker: store.BreakerUpdate{Turn: store.TurnSucceeded}}); err != nil {
		t.Fatal(err)
	}
	e, _ = s.Endpoint(ctx, "a")
	if e.ConsecutiveFailures != 0 || e.Probing() || !e.FailingSince.IsZero() {
		t.Fatalf("endpoint after a successful probe: %+v", e)
	}
	if l := claim(t, s, probeAt, 10, 10); len(l) != 1 || len(l[0].Deliveries) != 2 {
		t.Fatalf("after the breaker closed: %+v, want the rest at full speed", l)
	}
	// A manual retry probes an open breaker at once.
	s.CompleteLane(ctx, deliver(l[0], probeAt, bahasha.DeliveryDelivered, time.Time{}))
	insert(t, s, "a", probeAt, "p4")
	lanes = claim(t, s, probeAt, 10, 10)
	s.CompleteLane(ctx, store.CompleteParams{EndpointID: lanes[0].Endpoint.ID, Now: probeAt,
		Results: []store.DeliveryResult{{DeliveryID: lanes[0].Deliveries[0].ID, State: bahasha.DeliveryFailed,
			Attempt: bahasha.Attempt{Number: 1, StartedAt: probeAt, StatusCode: 500}}},
		Breaker: store.BreakerUpdate{Turn: store.TurnFailed, ProbeAt: probeAt.Add(time.Hour)}})
	if _, err := s.RetryDelivery(ctx, store.RetryDeliveryParams{AccountID: "a", DeliveryID: lanes[0].Deliveries[0].ID, Now: probeAt.Add(time.Minute)}); err != nil {
		t.Fatal(err)
	}
	m := probeAt.Add(time.Minute)
	l = claim(t, s, m, 10, 10)
	if len(l) != 1 || len(l[0].Deliveries) != 1 || !l[0].ClaimedAt.Equal(m) {
		t.Fatalf("a manual retry waited for the breaker: %+v", l)
	}
	// A manual retry made while that turn is in flight is not overridden
	// by the turn's failure keeping the breaker open.
	if _, err := s.RetryDelivery(ctx, store.RetryDeliveryParams{AccountID: "a", DeliveryID: l[0].Deliveries[0].ID, Now: m.Add(time.Second)}); err != nil {
		t.Fatal(err)
	}
	if err := s.CompleteLane(ctx, store.CompleteParams{EndpointID: l[0].Endpoint.ID, Now: m.Add(2 * time.Second), ClaimedAt: l[0].ClaimedAt,
		LeasedUntil: l[0].LeasedUntil, Results: []store.DeliveryResult{{DeliveryID: l[0].Deliveries[0].ID, State: bahasha.DeliveryPending,
			NextAttemptAt: m.Add(time.Hour), Attempt: bahasha.Attempt{Number: 2, StartedAt: m, StatusCode: 500}}},
		Breaker: store.BreakerUpdate{Turn: store.TurnFailed, ProbeAt: m.Add(time.Hour)}}); err != nil {
		t.Fatal(err)
	}
	if e, _ := s.Endpoint(ctx, "a"); !e.ProbeAt.Equal(m.Add(time.Second)) {
		t.Fatalf("the turn's failure pushed the manual retry's probe to %v", e.ProbeAt)
	}
	// Without a retry during the turn, a failure schedules the next probe.
	l = claim(t, s, m.Add(2*time.Second), 10, 10)
	if len(l) != 1 {
		t.Fatalf("the manual probe: %+v", l)
	}
	s.CompleteLane(ctx, store.CompleteParams{EndpointID: l[0].Endpoint.ID, Now: m.Add(3 * time.Second), ClaimedAt: l[0].ClaimedAt,
		LeasedUntil: l[0].LeasedUntil, Results: []store.DeliveryResult{{DeliveryID: l[0].Deliveries[0].ID, State: bahasha.DeliveryPending,
			NextAttemptAt: m.Add(time.Hour), Attempt: bahasha.Attempt{Number: 3, StartedAt: m, StatusCode: 500}}},
		Breaker: store.BreakerUpdate{Turn: store.TurnFailed, ProbeAt: m.Add(time.Hour)}})
	if e, _ := s.Endpoint(ctx, "a"); !e.ProbeAt.Equal(m.Add(time.Hour)) {
		t.Fatalf("a failed probe without a manual retry: next probe %v, want %v", e.ProbeAt, m.Add(time.Hour))
	}
	// Re-registering the webhook closes the breaker too.
	s.PutEndpoint(ctx, store.PutEndpointParams{AccountID: "a", URL: "https://example.com/x", VerifyToken: "t", VerifiedAt: t0, Now: t0})
	if e, _ := s.Endpoint(ctx, "a"); e.Probing() {
		t.Fatal("re-registering kept the breaker open")
	}
}

// testExpire: deliveries waiting past their window fail; their lane moves on.
func testExpire(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	endpoint(t, s, "a")
	old := insert(t, s, "a", t0, "old1", "old2")
	insert(t, s, "a", t0.Add(time.Hour), "new")
	n, err := s.ExpireDeliveries(ctx, store.ExpireParams{Now: t0.Add(2 * time.Hour), Before: t0.Add(time.Minute), Limit: 1, Reason: "too old"})
	if err != nil || n != 1 {
		t.Fatalf("first expiry: %d, %v (limit 1)", n, err)
	}
	// The second says what it gave up, by endpoint, for a notice
	// recorded in the same write.
	ops, err := s.CreateEndpoint(ctx, store.CreateEndpointParams{Endpoint: bahasha.Endpoint{AccountID: "a", URL: "https://ops.example/",
		VerifyToken: "t", VerifiedAt: t0, Events: []string{bahasha.FilterOperational}, Description: "ops", Secret: "whsec_b3Bz"}, Max: store.MaxEndpoints, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	var got []store.Expired
	exhausted := func(x store.Expired) []bahasha.Event {
		got = append(got, x)
		nt, _ := bahasha.NewNotice("a", bahasha.NoticeDeliveryExhausted, t0, map[string]any{"count": x.Count})
		return []bahasha.Event{nt}
	}
	n, _ = s.ExpireDeliveries(ctx, store.ExpireParams{Now: t0.Add(2 * time.Hour), Before: t0.Add(time.Minute), Limit: 10, Reason: "too old", Exhausted: exhausted})
	if n != 1 {
		t.Fatalf("second expiry: %d", n)
	}
	if len(got) != 1 || got[0].Count != 1 || len(got[0].DeliveryIDs) != 1 || got[0].DeliveryIDs[0] != old[1].DeliveryID || got[0].Endpoint.URL != "https://example.com/a" {
		t.Fatalf("what the second expiry gave up: %+v", got)
	}
	if next, ok, _ := s.NextDue(ctx, ""); !ok || !next.Equal(t0.Add(time.Hour)) {
		t.Fatalf("NextDue after expiry = %v %v", next, ok)
	}
	if k, err := s.FlushNotices(ctx, store.FlushNoticesParams{Limit: 10, Now: t0.Add(2 * time.Hour)}); err != nil || k != 1 {
		t.Fatalf("the expiry's notice: flushed %d, %v", k, err)
	}
	// The notice's own delivery expiring raises nothing.
	got = nil
	if n, _ = s.ExpireDeliveries(ctx, store.ExpireParams{Now: t0.Add(30 * time.Hour), Before: t0.Add(3 * time.Hour), Limit: 10, Reason: "too old", Exhausted: exhausted}); n != 2 || len(got) != 1 || got[0].Endpoint.ID == ops.ID {
		t.Fatalf("expiring the notice's delivery and the new one: %d, %+v", n, got)
	}
	for _, r := range old {
		if d, _, _ := s.Delivery(ctx, store.GetDeliveryParams{AccountID: "a", DeliveryID: r.DeliveryID}); d.State != bahasha.DeliveryFailed || d.LastError != "too old" {
			t.Fatalf("expired delivery: %+v", d)
		}
	}
}

// testPrune: finished deliveries go with their attempts and events; pending
// ones stay.
func testPrune(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	endpoint(t, s, "a")
	res := insert(t, s, "a", t0, "done1", "done2", "pending")
	lanes := claim(t, s, t0, 10, 2)
	s.CompleteLane(ctx, deliver(lanes[0], t0, bahasha.DeliveryDelivered, time.Time{}))
	n, err := s.Prune(ctx, store.PruneParams{Before: t0.Add(time.Hour), Limit: 1})
	if err != nil || n != 1 {
		t.Fatalf("Prune = %d, %v (limit 1)", n, err)
	}
	n, _ = s.Prune(ctx, store.PruneParams{Before: t0.Add(time.Hour), Limit: 100})
	if n != 1 {
		t.Fatalf("second Prune = %d", n)
	}
	if _, _, err := s.Delivery(ctx, store.GetDeliveryParams{AccountID: "a", DeliveryID: res[0].DeliveryID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pruned delivery still there: %v", err)
	}
	if d, _, err := s.Delivery(ctx, store.GetDeliveryParams{AccountID: "a", DeliveryID: res[2].DeliveryID}); err != nil || d.State != bahasha.DeliveryPending {
		t.Fatalf("pending delivery: %+v %v", d, err)
	}
	// The event is gone too: ingesting its producer id again is new.
	if r := insert(t, s, "a", t0, "done1"); r[0].Duplicate {
		t.Fatal("a pruned event still deduplicates")
	}
	if n, _ := s.Prune(ctx, store.PruneParams{Before: t0.Add(time.Hour), Limit: 100}); n != 0 {
		t.Fatalf("pruned pending work: %d", n)
	}
	// Events that never had a delivery go too, once old enough.
	account(t, s, "b")
	insert(t, s, "b", t0, "orphan-old")
	insert(t, s, "b", t0.Add(2*time.Hour), "orphan-new")
	if _, err := s.Prune(ctx, store.PruneParams{Before: t0.Add(time.Hour), Limit: 100}); err != nil {
		t.Fatal(err)
	}
	if r := insert(t, s, "b", t0, "orphan-old", "orphan-new"); r[0].Duplicate || !r[1].Duplicate {
		t.Fatalf("after pruning, the old orphan event is gone and the new one stays: %+v", r)
	}
	if d, _, err := s.Delivery(ctx, store.GetDeliveryParams{AccountID: "a", DeliveryID: res[2].DeliveryID}); err != nil || d.State != bahasha.DeliveryPending {
		t.Fatalf("pending delivery after pruning orphans: %+v %v", d, err)
	}
}
