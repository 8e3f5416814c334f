package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"slices"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// numbers gives account a two more phone numbers: pn2-a in the same WABA
// as pn-a, pn3-a in a WABA of its own (waba3-a).
func numbers(t *testing.T, s store.Store, a string) {
	t.Helper()
	for _, n := range []bahasha.PhoneNumber{
		{ID: "pn2-" + a, AccountID: a, WABAID: "waba-" + a, DisplayPhoneNumber: "+254700000002", Sandbox: true, CreatedAt: t0},
		{ID: "pn3-" + a, AccountID: a, WABAID: "waba3-" + a, DisplayPhoneNumber: "+254700000003", Sandbox: true, CreatedAt: t0},
	} {
		if err := s.AddPhoneNumber(context.Background(), n); err != nil {
			t.Fatalf("AddPhoneNumber(%s): %v", n.ID, err)
		}
	}
}

func create(t *testing.T, s store.Store, e bahasha.Endpoint) bahasha.Endpoint {
	t.Helper()
	if e.URL == "" {
		e.URL = "https://example.com/" + e.Scope.String()
	}
	e.VerifyToken, e.VerifiedAt, e.Secret = "tok", t0, "whsec_c2VjcmV0"
	got, err := s.CreateEndpoint(context.Background(), store.CreateEndpointParams{Endpoint: e, Max: store.MaxEndpoints, Now: t0})
	if err != nil {
		t.Fatalf("CreateEndpoint(%+v): %v", e, err)
	}
	return got
}

// routed is an event of the account's phone number pn (of waba), of kind.
func routed(a, producerID, pn, waba string, kind bahasha.EventKind) bahasha.Event {
	e := event(a, producerID, t0)
	e.PhoneNumberID, e.WABAID, e.Kind = pn, waba, kind
	if kind == bahasha.KindMessage {
		e.Status, e.MessageType = "", "text"
		e.Payload, _ = json.Marshal(map[string]string{"id": "wamid." + producerID, "type": "text"})
	}
	return e
}

// byEndpoint lists the producer ids of each endpoint's deliveries, oldest
// first.
func byEndpoint(t *testing.T, s store.Store, a string) map[int64][]string {
	t.Helper()
	ds, err := s.Deliveries(context.Background(), store.ListDeliveriesParams{AccountID: a, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	out := map[int64][]string{}
	for _, d := range slices.Backward(ds) {
		out[d.EndpointID] = append(out[d.EndpointID], d.Event.ProducerID)
	}
	return out
}

func testEndpointCRUD(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := account(t, s, "a"), account(t, s, "b")
	numbers(t, s, a)
	primary := endpoint(t, s, a)
	if !primary.Primary || primary.Scope.Kind != bahasha.ScopeAccount {
		t.Fatalf("PutEndpoint made %+v, want the primary endpoint at account scope", primary)
	}
	num := create(t, s, bahasha.Endpoint{AccountID: a, Scope: bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: "pn2-a"},
		Events: []string{"messages"}, Headers: map[string]string{"X-Api-Key": "k1"}, RateLimit: 5, Description: "bot"})
	if num.Primary || num.Scope.ID != "pn2-a" || !slices.Equal(num.Events, []string{"messages"}) || num.Headers["X-Api-Key"] != "k1" ||
		num.RateLimit != 5 || num.Description != "bot" || num.Secret != "whsec_c2VjcmV0" || num.Disabled {
		t.Fatalf("CreateEndpoint = %+v", num)
	}
	waba := create(t, s, bahasha.Endpoint{AccountID: a, Scope: bahasha.Scope{Kind: bahasha.ScopeWABA, ID: "waba3-a"}})
	if got, err := s.EndpointByID(ctx, store.GetEndpointParams{AccountID: a, EndpointID: num.ID}); err != nil || got.URL != num.URL ||
		!maps.Equal(got.Headers, num.Headers) {
		t.Fatalf("EndpointByID = %+v, %v", got, err)
	}
	list, err := s.Endpoints(ctx, a)
	if err != nil || len(list) != 3 || list[0].ID != primary.ID || list[1].ID != num.ID || list[2].ID != waba.ID {
		t.Fatalf("Endpoints = %+v, %v", list, err)
	}
	if e, err := s.Endpoint(ctx, a); err != nil || e.ID != primary.ID {
		t.Fatalf("Endpoint (the primary) = %+v, %v", e, err)
	}
	// PUT again replaces the primary only, and enables it.
	off := primary
	off.Disabled = true
	if _, err := s.UpdateEndpoint(ctx, store.UpdateEndpointParams{Endpoint: off, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if e := endpoint(t, s, a); e.ID != primary.ID || e.Disabled {
		t.Fatalf("PutEndpoint again made endpoint %+v, want %d enabled", e, primary.ID)
	}

	// Tenancy and scopes.
	if _, err := s.EndpointByID(ctx, store.GetEndpointParams{AccountID: b, EndpointID: num.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("another account's endpoint: %v, want ErrNotFound", err)
	}
	for _, sc := range []bahasha.Scope{{Kind: bahasha.ScopePhoneNumber, ID: "pn-b"}, {Kind: bahasha.ScopeWABA, ID: "waba-b"},
		{Kind: bahasha.ScopePhoneNumber, ID: "nope"}, {Kind: "planet", ID: "x"}} {
		e := bahasha.Endpoint{AccountID: a, URL: "https://example.com/x", Scope: sc}
		if _, err := s.CreateEndpoint(ctx, store.CreateEndpointParams{Endpoint: e, Max: store.MaxEndpoints, Now: t0}); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("CreateEndpoint with scope %v: %v, want ErrNotFound", sc, err)
		}
	}
	if _, err := s.CreateEndpoint(ctx, store.CreateEndpointParams{Endpoint: bahasha.Endpoint{AccountID: "nobody", URL: "https://x"}, Max: 5, Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateEndpoint for no account: %v, want ErrNotFound", err)
	}
	if _, err := s.CreateEndpoint(ctx, store.CreateEndpointParams{Endpoint: bahasha.Endpoint{AccountID: a, URL: "https://x"}, Max: 3, Now: t0}); !errors.Is(err, store.ErrTooMany) {
		t.Fatalf("a fourth endpoint with Max 3: %v, want ErrTooMany", err)
	}
	if err := s.RemoveEndpoint(ctx, store.RemoveEndpointParams{AccountID: b, EndpointID: num.ID, Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RemoveEndpoint of another account's: %v, want ErrNotFound", err)
	}
	other := num
	other.AccountID = b
	if _, err := s.UpdateEndpoint(ctx, store.UpdateEndpointParams{Endpoint: other, Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("UpdateEndpoint of another account's: %v, want ErrNotFound", err)
	}
	// Phone numbers: another account's WABA is not to be taken.
	if err := s.AddPhoneNumber(ctx, bahasha.PhoneNumber{ID: "pn9", AccountID: b, WABAID: "waba-a", DisplayPhoneNumber: "+1", CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("AddPhoneNumber in another account's WABA: %v, want ErrConflict", err)
	}
	if err := s.AddPhoneNumber(ctx, bahasha.PhoneNumber{ID: "pn2-a", AccountID: b, WABAID: "waba9", DisplayPhoneNumber: "+1", CreatedAt: t0}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("AddPhoneNumber with an existing id: %v, want ErrConflict", err)
	}

	// Update: a new URL resets the breaker; the configuration round-trips.
	res := insert(t, s, a, t0, "m1") // pn-a: the primary's
	l := claim(t, s, t0, 10, 10)
	if len(l) != 1 || l[0].Endpoint.ID != primary.ID {
		t.Fatalf("claim = %+v", l)
	}
	fail := deliver(l[0], t0, bahasha.DeliveryPending, t0.Add(time.Minute))
	fail.Breaker = store.BreakerUpdate{Turn: store.TurnFailed, ProbeAt: t0.Add(time.Minute)}
	if err := s.CompleteLane(ctx, fail); err != nil {
		t.Fatal(err)
	}
	upd := num
	upd.URL, upd.Events, upd.Headers, upd.RateLimit, upd.Disabled = "https://example.com/new", nil, nil, 0, true
	upd.Scope = bahasha.AccountScope
	upd.Secret = "whsec_aWdub3JlZA" // not written: secrets change by rotation only
	got, err := s.UpdateEndpoint(ctx, store.UpdateEndpointParams{Endpoint: upd, Now: t0})
	if err != nil || got.URL != upd.URL || got.Events != nil || got.Headers != nil || !got.Disabled || got.Scope != bahasha.AccountScope ||
		got.Secret != num.Secret {
		t.Fatalf("UpdateEndpoint = %+v, %v", got, err)
	}
	until := t0.Add(24 * time.Hour)
	got, err = s.RotateEndpointSecret(ctx, store.RotateSecretParams{AccountID: a, EndpointID: num.ID, Secret: "whsec_bmV3", PreviousUntil: until})
	if err != nil || got.Secret != "whsec_bmV3" || got.PreviousSecret != num.Secret || !got.PreviousSecretUntil.Equal(until) || !got.Disabled {
		t.Fatalf("RotateEndpointSecret = %+v, %v", got, err)
	}
	if s := got.SigningSecrets(t0); len(s) != 2 {
		t.Fatalf("SigningSecrets during the overlap = %v", s)
	}
	if _, err := s.RotateEndpointSecret(ctx, store.RotateSecretParams{AccountID: b, EndpointID: num.ID, Secret: "whsec_eA", PreviousUntil: until}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("RotateEndpointSecret of another account's: %v, want ErrNotFound", err)
	}
	p, _ := s.Endpoint(ctx, a)
	if !p.Probing() {
		t.Fatalf("the primary's breaker: %+v, want open", p)
	}
	p.URL = "https://example.com/moved"
	if p, err = s.UpdateEndpoint(ctx, store.UpdateEndpointParams{Endpoint: p, Now: t0}); err != nil || p.Probing() || p.ConsecutiveFailures != 0 {
		t.Fatalf("after moving the primary: %+v, %v; want the breaker reset", p, err)
	}
	// Remove fails the endpoint's pending deliveries.
	if err := s.RemoveEndpoint(ctx, store.RemoveEndpointParams{AccountID: a, EndpointID: primary.ID, Reason: "removed", Now: t0}); err != nil {
		t.Fatal(err)
	}
	if d, _, err := s.Delivery(ctx, store.GetDeliveryParams{AccountID: a, DeliveryID: res[0].DeliveryID}); err != nil || d.State != bahasha.DeliveryFailed || d.LastError != "removed" {
		t.Fatalf("after RemoveEndpoint: %+v, %v", d, err)
	}
	if _, err := s.Endpoint(ctx, a); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Endpoint after removing the primary: %v, want ErrNotFound", err)
	}
}

func testRouting(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := account(t, s, "a")
	numbers(t, s, a)
	acct := endpoint(t, s, a)
	statuses := create(t, s, bahasha.Endpoint{AccountID: a, URL: "https://example.com/analytics", Events: []string{"statuses"}})
	pn2 := create(t, s, bahasha.Endpoint{AccountID: a, Scope: bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: "pn2-a"}})
	pn2bot := create(t, s, bahasha.Endpoint{AccountID: a, URL: "https://example.com/bot", Scope: bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: "pn2-a"},
		Events: []string{"messages"}})
	waba3 := create(t, s, bahasha.Endpoint{AccountID: a, Scope: bahasha.Scope{Kind: bahasha.ScopeWABA, ID: "waba3-a"}, Events: []string{"messages"}})

	evs := []bahasha.Event{
		routed(a, "s1", "pn-a", "waba-a", bahasha.KindStatus),    // account: acct + statuses
		routed(a, "m1", "pn-a", "waba-a", bahasha.KindMessage),   // account: acct
		routed(a, "s2", "pn2-a", "waba-a", bahasha.KindStatus),   // number: pn2
		routed(a, "m2", "pn2-a", "waba-a", bahasha.KindMessage),  // number: pn2 + pn2bot
		routed(a, "s3", "pn3-a", "waba3-a", bahasha.KindStatus),  // waba3 takes messages only: account
		routed(a, "m3", "pn3-a", "waba3-a", bahasha.KindMessage), // waba: waba3
	}
	res, err := s.InsertEvents(ctx, store.InsertEventsParams{AccountID: a, Events: evs, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	wantFan := []int{2, 1, 1, 2, 2, 1}
	for i, r := range res {
		if len(r.DeliveryIDs) != wantFan[i] || r.DeliveryID != r.DeliveryIDs[0] {
			t.Fatalf("event %s: deliveries %v (first %d), want %d", evs[i].ProducerID, r.DeliveryIDs, r.DeliveryID, wantFan[i])
		}
	}
	want := map[int64][]string{
		acct.ID:     {"s1", "m1", "s3"},
		statuses.ID: {"s1", "s3"},
		pn2.ID:      {"s2", "m2"},
		pn2bot.ID:   {"m2"},
		waba3.ID:    {"m3"},
	}
	if got := byEndpoint(t, s, a); !maps.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("deliveries by endpoint = %v, want %v", got, want)
	}
	// Narrowed to one endpoint.
	ds, err := s.Deliveries(ctx, store.ListDeliveriesParams{AccountID: a, EndpointID: pn2.ID, Limit: 10})
	if err != nil || len(ds) != 2 || ds[0].Event.ProducerID != "m2" {
		t.Fatalf("Deliveries of pn2 = %+v, %v", ds, err)
	}
	// Each endpoint is a lane of its own.
	lanes := claim(t, s, t0, 10, 10)
	got := map[int64][]string{}
	for _, l := range lanes {
		got[l.Endpoint.ID] = producerIDs(l)
		if l.AppSecret != "secret-a" || l.Endpoint.Secret == "" && l.Endpoint.ID != acct.ID {
			t.Fatalf("lane %d: app secret %q, signing secret %q", l.Endpoint.ID, l.AppSecret, l.Endpoint.Secret)
		}
		if err := s.CompleteLane(ctx, deliver(l, t0, bahasha.DeliveryDelivered, time.Time{})); err != nil {
			t.Fatal(err)
		}
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("claimed lanes = %v, want %v", got, want)
	}

	// A disabled endpoint gets no new events (its scope falls back), and
	// its pending deliveries wait until it is enabled again.
	insert(t, s, a, t0, "x1") // pn-a status: acct + statuses
	statuses.Disabled = true
	if _, err := s.UpdateEndpoint(ctx, store.UpdateEndpointParams{Endpoint: statuses, Now: t0}); err != nil {
		t.Fatal(err)
	}
	pn2.Disabled = true
	if _, err := s.UpdateEndpoint(ctx, store.UpdateEndpointParams{Endpoint: pn2, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if r := insertOne(t, s, routed(a, "s4", "pn2-a", "waba-a", bahasha.KindStatus)); len(r.DeliveryIDs) != 1 {
		t.Fatalf("a status of pn2 with its endpoint disabled: %d deliveries, want 1 (to the account's)", len(r.DeliveryIDs))
	}
	got = map[int64][]string{}
	for _, l := range claim(t, s, t0, 10, 10) {
		got[l.Endpoint.ID] = producerIDs(l)
		if err := s.CompleteLane(ctx, deliver(l, t0, bahasha.DeliveryDelivered, time.Time{})); err != nil {
			t.Fatal(err)
		}
	}
	if want := map[int64][]string{acct.ID: {"x1", "s4"}}; !maps.EqualFunc(got, want, slices.Equal) {
		t.Fatalf("claimed with two endpoints disabled = %v, want %v", got, want)
	}
	if next, ok, err := s.NextDue(ctx, ""); err != nil || ok {
		t.Fatalf("NextDue with only a disabled lane pending = %v, %v, %v; want none", next, ok, err)
	}
	statuses.Disabled = false
	if _, err := s.UpdateEndpoint(ctx, store.UpdateEndpointParams{Endpoint: statuses, Now: t0}); err != nil {
		t.Fatal(err)
	}
	lanes = claim(t, s, t0, 10, 10)
	if len(lanes) != 1 || lanes[0].Endpoint.ID != statuses.ID || !slices.Equal(producerIDs(lanes[0]), []string{"x1"}) {
		t.Fatalf("claim after enabling = %+v", lanes)
	}
}

// insertOne inserts one event.
func insertOne(t *testing.T, s store.Store, e bahasha.Event) store.InsertResult {
	t.Helper()
	res, err := s.InsertEvents(context.Background(), store.InsertEventsParams{AccountID: e.AccountID, Events: []bahasha.Event{e}, Now: t0})
	if err != nil {
		t.Fatalf("InsertEvents: %v", err)
	}
	return res[0]
}

func testRateLimitedClaim(t *testing.T, s store.Store) {
	a := account(t, s, "a")
	slow := create(t, s, bahasha.Endpoint{AccountID: a, RateLimit: 3})
	insert(t, s, a, t0, "1", "2", "3", "4", "5")
	lanes := claim(t, s, t0, 10, 100)
	if len(lanes) != 1 || lanes[0].Endpoint.ID != slow.ID || len(lanes[0].Deliveries) != 3 {
		t.Fatalf("claim of a lane limited to 3/s = %+v", lanes)
	}
}

func testReplayToEndpoint(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := account(t, s, "a")
	numbers(t, s, a)
	acct := endpoint(t, s, a)
	pn2 := create(t, s, bahasha.Endpoint{AccountID: a, Scope: bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: "pn2-a"}})
	// Before bot existed: events of pn-a and pn2-a.
	if _, err := s.InsertEvents(ctx, store.InsertEventsParams{AccountID: a, Now: t0, Events: []bahasha.Event{
		routed(a, "s1", "pn-a", "waba-a", bahasha.KindStatus), routed(a, "s2", "pn2-a", "waba-a", bahasha.KindStatus),
		routed(a, "m1", "pn-a", "waba-a", bahasha.KindMessage)}}); err != nil {
		t.Fatal(err)
	}
	for _, l := range claim(t, s, t0, 10, 10) {
		if err := s.CompleteLane(ctx, deliver(l, t0, bahasha.DeliveryDelivered, time.Time{})); err != nil {
			t.Fatal(err)
		}
	}
	// A new account-scope endpoint for messages: a replay to it sends it
	// what it would have received (m1), not pn2's events (routed to pn2)
	// nor statuses.
	bot := create(t, s, bahasha.Endpoint{AccountID: a, URL: "https://example.com/bot", Events: []string{"messages"}})
	now := t0.Add(time.Minute)
	r, err := s.CreateReplay(ctx, store.ReplayParams{AccountID: a, EndpointID: bot.ID, From: t0, To: now, Now: now})
	if err != nil || r.EndpointID != bot.ID {
		t.Fatalf("CreateReplay to bot = %+v, %v", r, err)
	}
	if _, err := s.AdvanceReplays(ctx, store.AdvanceReplaysParams{Now: now, Limit: store.ReplayChunk}); err != nil {
		t.Fatal(err)
	}
	lanes := claim(t, s, now, 10, 10)
	if len(lanes) != 1 || lanes[0].Endpoint.ID != bot.ID || !slices.Equal(producerIDs(lanes[0]), []string{"m1"}) {
		t.Fatalf("after the replay to bot: %+v", lanes)
	}
	if err := s.CompleteLane(ctx, deliver(lanes[0], now, bahasha.DeliveryDelivered, time.Time{})); err != nil {
		t.Fatal(err)
	}
	// A replay to pn2 re-sends its own delivery only.
	r, err = s.CreateReplay(ctx, store.ReplayParams{AccountID: a, EndpointID: pn2.ID, From: t0, To: now, Now: now})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.AdvanceReplays(ctx, store.AdvanceReplaysParams{Now: now, Limit: store.ReplayChunk}); err != nil {
		t.Fatal(err)
	}
	lanes = claim(t, s, now, 10, 10)
	if len(lanes) != 1 || lanes[0].Endpoint.ID != pn2.ID || !slices.Equal(producerIDs(lanes[0]), []string{"s2"}) {
		t.Fatalf("after the replay to pn2: %+v", lanes)
	}
	// No endpoint id: the primary, as before endpoints were many.
	r, err = s.CreateReplay(ctx, store.ReplayParams{AccountID: a, From: t0, To: now, Now: now})
	if err != nil || r.EndpointID != acct.ID {
		t.Fatalf("CreateReplay without an endpoint = %+v, %v; want the primary", r, err)
	}
	if rs, err := s.Replays(ctx, store.ListReplaysParams{AccountID: a, EndpointID: pn2.ID, Limit: 10}); err != nil || len(rs) != 1 || rs[0].EndpointID != pn2.ID {
		t.Fatalf("Replays of pn2 = %+v, %v", rs, err)
	}
	if rs, err := s.Replays(ctx, store.ListReplaysParams{AccountID: a, Limit: 10}); err != nil || len(rs) != 3 {
		t.Fatalf("Replays = %+v, %v", rs, err)
	}
	if _, err := s.CountReplay(ctx, store.ReplayParams{AccountID: "nobody", EndpointID: pn2.ID, From: t0, To: now, Now: now}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CountReplay to another account's endpoint: %v, want ErrNotFound", err)
	}
	if _, err := s.CreateReplay(ctx, store.ReplayParams{AccountID: "nobody", EndpointID: pn2.ID, From: t0, To: now, Now: now}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("CreateReplay to another account's endpoint: %v, want ErrNotFound", err)
	}
}

// CheckEndpointsUpgraded checks a store opened over a database written
// before endpoints were many, holding account "a" (phone number "p" in
// WABA "w"), its one endpoint 1, and a pending delivery 12 of event 3
// (wamid.3) due at at: the endpoint is now the account's primary one, at
// account scope, with a signing secret of its own; the pending delivery is
// claimed from it; and a second endpoint for the number takes the
// number's new events while the primary keeps its old work.
func CheckEndpointsUpgraded(t *testing.T, s store.Store, at time.Time) {
	t.Helper()
	ctx := context.Background()
	e, err := s.Endpoint(ctx, "a")
	if err != nil || e.ID != 1 || !e.Primary || e.Scope.OrAccount() != bahasha.AccountScope || e.Disabled ||
		len(e.Secret) < len("whsec_")+16 || e.Secret[:6] != "whsec_" {
		t.Fatalf("the endpoint after the upgrade: %+v, %v", e, err)
	}
	if es, err := s.Endpoints(ctx, "a"); err != nil || len(es) != 1 {
		t.Fatalf("Endpoints after the upgrade: %+v, %v", es, err)
	}
	lanes, err := s.ClaimLanes(ctx, store.ClaimParams{Now: at, MaxLanes: 10, MaxPerLane: 10, LeaseFor: time.Minute})
	if err != nil || len(lanes) != 1 || lanes[0].Endpoint.ID != 1 || len(lanes[0].Deliveries) != 1 || lanes[0].Deliveries[0].ID != 12 ||
		lanes[0].Endpoint.Secret != e.Secret {
		t.Fatalf("claim of the pending work after the upgrade: %+v, %v", lanes, err)
	}
	if err := s.CompleteLane(ctx, deliver(lanes[0], at, bahasha.DeliveryDelivered, time.Time{})); err != nil {
		t.Fatal(err)
	}
	n := e
	n.Scope, n.URL, n.Secret = bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: "p"}, "https://example.com/number", "whsec_bnVtYmVy"
	n, err = s.CreateEndpoint(ctx, store.CreateEndpointParams{Endpoint: n, Max: store.MaxEndpoints, Now: at})
	if err != nil {
		t.Fatal(err)
	}
	ev := statusEventOf("a", "e4", "wamid.4", "sent", at)
	ev.WABAID, ev.PhoneNumberID = "w", "p"
	res := insertEvents(t, s, "a", at, ev)
	if len(res[0].DeliveryIDs) != 1 {
		t.Fatalf("a new event after the upgrade: deliveries %v, want one (to the number's endpoint)", res[0].DeliveryIDs)
	}
	d, _, err := s.Delivery(ctx, store.GetDeliveryParams{AccountID: "a", DeliveryID: res[0].DeliveryID})
	if err != nil || d.EndpointID != n.ID {
		t.Fatalf("the new event's delivery: %+v, %v; want it to endpoint %d", d, err, n.ID)
	}
}

// testEndpointStats: statistics and backlog per endpoint, beside the
// account's.
func testEndpointStats(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := account(t, s, "a")
	b := account(t, s, "b")
	one := endpoint(t, s, a)
	two := create(t, s, bahasha.Endpoint{AccountID: a, URL: "https://example.com/two"})
	insert(t, s, a, t0, "1", "2", "3") // to both
	if n, err := s.Backlog(ctx, a); err != nil || n != 6 {
		t.Fatalf("Backlog with two endpoints = %d, %v; want 6", n, err)
	}
	lanes := claim(t, s, t0, 10, 10)
	for _, l := range lanes {
		p := deliver(l, t0, bahasha.DeliveryDelivered, time.Time{})
		p.AccountID = a
		p.Stats = bahasha.DeliveryStats{Delivered: len(l.Deliveries), AttemptsOK: len(l.Deliveries)}
		if l.Endpoint.ID == two.ID {
			// two fails its last one and stays with it pending.
			p.Results[2].State, p.Results[2].NextAttemptAt = bahasha.DeliveryPending, t0.Add(time.Hour)
			p.Stats = bahasha.DeliveryStats{Delivered: 2, AttemptsOK: 2, AttemptsFailed: 1}
		}
		if err := s.CompleteLane(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		endpoint                  int64
		backlog, delivered, fails int
	}{{one.ID, 0, 3, 0}, {two.ID, 1, 2, 1}} {
		if n, err := s.EndpointBacklog(ctx, store.GetEndpointParams{AccountID: a, EndpointID: c.endpoint}); err != nil || n != c.backlog {
			t.Fatalf("EndpointBacklog(%d) = %d, %v; want %d", c.endpoint, n, err, c.backlog)
		}
		st, err := s.Stats(ctx, store.StatsParams{AccountID: a, EndpointID: c.endpoint, Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)})
		if err != nil || len(st) != 1 || st[0].Delivered != c.delivered || st[0].AttemptsFailed != c.fails {
			t.Fatalf("Stats of endpoint %d = %+v, %v", c.endpoint, st, err)
		}
		if st, err := s.Stats(ctx, store.StatsParams{AccountID: b, EndpointID: c.endpoint, Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)}); err != nil || len(st) != 0 {
			t.Fatalf("another account's view of endpoint %d's stats = %+v, %v", c.endpoint, st, err)
		}
		if n, err := s.EndpointBacklog(ctx, store.GetEndpointParams{AccountID: b, EndpointID: c.endpoint}); err != nil || n != 0 {
			t.Fatalf("another account's EndpointBacklog(%d) = %d, %v", c.endpoint, n, err)
		}
	}
	st, err := s.Stats(ctx, store.StatsParams{AccountID: a, Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)})
	if err != nil || len(st) != 1 || st[0].Delivered != 5 {
		t.Fatalf("the account's Stats = %+v, %v; want 5 delivered", st, err)
	}
	// Expiry counts per endpoint too.
	if n, err := s.ExpireDeliveries(ctx, store.ExpireParams{Now: t0, Before: t0.Add(time.Second), Limit: 10, Reason: "too old"}); err != nil || n != 1 {
		t.Fatalf("ExpireDeliveries = %d, %v", n, err)
	}
	st, err = s.Stats(ctx, store.StatsParams{AccountID: a, EndpointID: two.ID, Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)})
	if err != nil || len(st) != 1 || st[0].Failed != 1 {
		t.Fatalf("Stats of endpoint two after expiry = %+v, %v; want 1 failed", st, err)
	}
	// Pruned with the account's.
	if _, err := s.Prune(ctx, store.PruneParams{Before: t0.Add(2 * time.Hour), Limit: 100}); err != nil {
		t.Fatal(err)
	}
	if st, err := s.Stats(ctx, store.StatsParams{AccountID: a, EndpointID: one.ID, Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)}); err != nil || len(st) != 0 {
		t.Fatalf("endpoint stats after Prune = %+v, %v", st, err)
	}
}

// testEndpointIDsNotReused: a removed endpoint's id is never another's, so
// nothing of it (deliveries, statistics, ordering) passes to a new one,
// nor a retry of its deliveries to another account's.
func testEndpointIDsNotReused(t *testing.T, s store.Store) {
	ctx := context.Background()
	a, b := account(t, s, "a"), account(t, s, "b")
	endpoint(t, s, a)
	gone := create(t, s, bahasha.Endpoint{AccountID: a, URL: "https://example.com/gone"})
	res := insert(t, s, a, t0, "x")
	if err := s.RemoveEndpoint(ctx, store.RemoveEndpointParams{AccountID: a, EndpointID: gone.ID, Reason: "removed", Now: t0}); err != nil {
		t.Fatal(err)
	}
	fresh := create(t, s, bahasha.Endpoint{AccountID: b, URL: "https://example.com/b"})
	if fresh.ID == gone.ID {
		t.Fatalf("a new endpoint of another account took the removed endpoint's id %d", gone.ID)
	}
	var onGone int64
	for _, id := range res[0].DeliveryIDs {
		if d, _, _ := s.Delivery(ctx, store.GetDeliveryParams{AccountID: a, DeliveryID: id}); d.EndpointID == gone.ID {
			onGone = id
		}
	}
	if _, err := s.RetryDelivery(ctx, store.RetryDeliveryParams{AccountID: a, DeliveryID: onGone, Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("retry of a removed endpoint's delivery: %v, want ErrNotFound", err)
	}
	if ds, err := s.Deliveries(ctx, store.ListDeliveriesParams{AccountID: b, Limit: 10}); err != nil || len(ds) != 0 {
		t.Fatalf("account b's deliveries: %+v, %v", ds, err)
	}
}

// testListenSessions: a listen session is an endpoint whose lane only the
// node holding its connection claims; offline, its work waits; another
// node takes it over by opening it again.
func testListenSessions(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := account(t, s, "a")
	open := func(node string) bahasha.Endpoint {
		t.Helper()
		e, err := s.OpenListenSession(ctx, store.OpenListenParams{AccountID: a, Name: "laptop", Node: node, Secret: "whsec_bGlzdGVu",
			Events: []string{"statuses"}, Max: store.MaxEndpoints, Now: t0})
		if err != nil {
			t.Fatalf("OpenListenSession(%s): %v", node, err)
		}
		return e
	}
	claimAt := func(node string) []store.Lane {
		t.Helper()
		l, err := s.ClaimLanes(ctx, store.ClaimParams{Node: node, Now: t0, MaxLanes: 10, MaxPerLane: 10, LeaseFor: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	e := open("n1")
	if !e.Listening() || e.URL != "listen://laptop" || e.Description != "laptop" || e.ListenNode != "n1" || !slices.Equal(e.Events, []string{"statuses"}) {
		t.Fatalf("the session: %+v", e)
	}
	if again := open("n1"); again.ID != e.ID {
		t.Fatalf("opening it again made endpoint %d, want %d", again.ID, e.ID)
	}
	insert(t, s, a, t0, "1", "2")
	if l := claimAt("n2"); len(l) != 0 {
		t.Fatalf("another node claimed the session's lane: %+v", l)
	}
	if _, ok, _ := s.NextDue(ctx, "n2"); ok {
		t.Fatal("NextDue on another node sees the session's work")
	}
	if next, ok, _ := s.NextDue(ctx, "n1"); !ok || !next.Equal(t0) {
		t.Fatalf("NextDue on the session's node = %v, %v", next, ok)
	}
	// Offline: the work waits, claimed by nobody.
	if err := s.CloseListenSession(ctx, store.ListenSessionParams{EndpointID: e.ID, Node: "n1", Now: t0}); err != nil {
		t.Fatal(err)
	}
	for _, node := range []string{"n1", "n2", ""} {
		if l := claimAt(node); len(l) != 0 {
			t.Fatalf("node %q claimed an offline session's lane", node)
		}
	}
	// Reconnected on another node: it gets them, in order.
	open("n2")
	if hold, err := s.TouchListenSession(ctx, store.ListenSessionParams{EndpointID: e.ID, Node: "n1", Now: t0}); err != nil || hold != store.ListenTakenOver {
		t.Fatalf("Touch by the node that lost it = %v, %v; want taken over", hold, err)
	}
	if hold, err := s.TouchListenSession(ctx, store.ListenSessionParams{EndpointID: e.ID, Node: "n2", Now: t0}); err != nil || hold != store.ListenHeld {
		t.Fatalf("Touch by the node holding it = %v, %v", hold, err)
	}
	l := claimAt("n2")
	if len(l) != 1 || l[0].Endpoint.ID != e.ID || !slices.Equal(producerIDs(l[0]), []string{"1", "2"}) {
		t.Fatalf("claim after reconnecting: %+v", l)
	}
	// Closing by a node that no longer holds it changes nothing.
	if err := s.CloseListenSession(ctx, store.ListenSessionParams{EndpointID: e.ID, Node: "n1", Now: t0}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.EndpointByID(ctx, store.GetEndpointParams{AccountID: a, EndpointID: e.ID}); got.ListenNode != "n2" {
		t.Fatalf("after a stale close: %+v", got)
	}
	// Left unseen past its window (offline, or held by a node that
	// died), it is removed, its work failed; a connected one, touched by
	// its node, stays.
	stale, err := s.OpenListenSession(ctx, store.OpenListenParams{AccountID: a, Name: "old", Node: "n1", Secret: "whsec_b2xk", Max: store.MaxEndpoints, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	res := insert(t, s, a, t0, "3")
	if err := s.CloseListenSession(ctx, store.ListenSessionParams{EndpointID: stale.ID, Node: "n1", Now: t0}); err != nil {
		t.Fatal(err)
	}
	if n, err := s.RemoveStaleListenSessions(ctx, store.StaleSessionsParams{Before: t0, Limit: 10, Reason: "offline", Now: t0}); err != nil || n != 0 {
		t.Fatalf("RemoveStaleListenSessions before its time = %d, %v", n, err)
	}
	// The connected one is touched by its node meanwhile.
	if hold, err := s.TouchListenSession(ctx, store.ListenSessionParams{EndpointID: e.ID, Node: "n2", Now: t0.Add(90 * time.Minute)}); err != nil || hold != store.ListenHeld {
		t.Fatalf("Touch = %v, %v", hold, err)
	}
	if n, err := s.RemoveStaleListenSessions(ctx, store.StaleSessionsParams{Before: t0.Add(time.Hour), Limit: 10, Reason: "offline", Now: t0}); err != nil || n != 1 {
		t.Fatalf("RemoveStaleListenSessions = %d, %v; want the offline one only", n, err)
	}
	if _, err := s.EndpointByID(ctx, store.GetEndpointParams{AccountID: a, EndpointID: stale.ID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("the stale session is still there: %v", err)
	}
	if hold, err := s.TouchListenSession(ctx, store.ListenSessionParams{EndpointID: stale.ID, Node: "n1", Now: t0}); err != nil || hold != store.ListenRemoved {
		t.Fatalf("Touch of a removed session = %v, %v; want removed", hold, err)
	}
	for _, id := range res[0].DeliveryIDs {
		if d, _, _ := s.Delivery(ctx, store.GetDeliveryParams{AccountID: a, DeliveryID: id}); d.EndpointID == stale.ID && (d.State != bahasha.DeliveryFailed || d.LastError != "offline") {
			t.Fatalf("its pending delivery: %+v", d)
		}
	}
	// A session narrowed to a number takes copies: the account's other
	// endpoints keep getting that number's events.
	primary := endpoint(t, s, a)
	narrow, err := s.OpenListenSession(ctx, store.OpenListenParams{AccountID: a, Name: "narrow", Node: "n1", Secret: "whsec_bmFycm93",
		Scope: bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: "pn-a"}, Max: store.MaxEndpoints, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	r := insertOne(t, s, routed(a, "n1", "pn-a", "waba-a", bahasha.KindMessage))
	var to []int64
	for _, id := range r.DeliveryIDs {
		d, _, _ := s.Delivery(ctx, store.GetDeliveryParams{AccountID: a, DeliveryID: id})
		to = append(to, d.EndpointID)
	}
	if !slices.Contains(to, primary.ID) || !slices.Contains(to, narrow.ID) {
		t.Fatalf("a message of pn-a went to %v; want the primary %d and the session %d", to, primary.ID, narrow.ID)
	}

	// A backlog beyond the bound loses its oldest events, counted as
	// failed; a second pass (another node's) trims nothing more.
	ids := []string{"b1", "b2", "b3", "b4"}
	insert(t, s, a, t0, ids...) // to the laptop session (statuses)
	statsBefore := endpointFailed(t, s, a, e.ID)
	before, _ := s.EndpointBacklog(ctx, store.GetEndpointParams{AccountID: a, EndpointID: e.ID})
	for pass, want := range []int{2, 0} {
		if n, err := s.TrimListenBacklogs(ctx, store.TrimBacklogsParams{Max: before - 2, Limit: 100, Reason: "too many", Now: t0}); err != nil || n != want {
			t.Fatalf("TrimListenBacklogs pass %d = %d, %v; want %d", pass, n, err, want)
		}
	}
	if after, _ := s.EndpointBacklog(ctx, store.GetEndpointParams{AccountID: a, EndpointID: e.ID}); after != before-2 {
		t.Fatalf("backlog %d after trimming, want %d", after, before-2)
	}
	failed, err := s.Deliveries(ctx, store.ListDeliveriesParams{AccountID: a, EndpointID: e.ID, State: bahasha.DeliveryFailed, Limit: 10})
	if err != nil || len(failed) != 2 || failed[0].LastError != "too many" {
		t.Fatalf("the trimmed deliveries: %+v, %v", failed, err)
	}
	pending, err := s.Deliveries(ctx, store.ListDeliveriesParams{AccountID: a, EndpointID: e.ID, State: bahasha.DeliveryPending, Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	oldestKept := pending[len(pending)-1].EventID // newest first
	for _, d := range failed {
		if d.EventID >= oldestKept {
			t.Fatalf("trimmed event %d while keeping the older %d", d.EventID, oldestKept)
		}
	}
	if got := endpointFailed(t, s, a, e.ID); got != statsBefore+2 {
		t.Fatalf("the endpoint's failed count went %d → %d; want +2", statsBefore, got)
	}
	// Disabled, a session stays disabled when its CLI reconnects.
	cur, _ := s.EndpointByID(ctx, store.GetEndpointParams{AccountID: a, EndpointID: e.ID})
	cur.Disabled = true
	if _, err := s.UpdateEndpoint(ctx, store.UpdateEndpointParams{Endpoint: cur, Now: t0}); err != nil {
		t.Fatal(err)
	}
	if again := open("n1"); !again.Disabled {
		t.Fatalf("reconnecting enabled a disabled session: %+v", again)
	}
	if _, err := s.OpenListenSession(ctx, store.OpenListenParams{AccountID: a, Name: "x", Node: "n1", Scope: bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: "nope"},
		Max: store.MaxEndpoints, Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a session for a number the account does not have: %v", err)
	}
}

// endpointFailed sums an endpoint's failed deliveries in its statistics.
func endpointFailed(t *testing.T, s store.Store, account string, endpoint int64) int {
	t.Helper()
	st, err := s.Stats(context.Background(), store.StatsParams{AccountID: account, EndpointID: endpoint, Since: t0.Add(-time.Hour), Until: t0.Add(time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range st {
		n += m.Failed
	}
	return n
}
