package sqlite_test

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlite"
)

// BenchmarkDeliveryCycle measures the store's work per event of the
// delivery path: ingest 100 events, claim them, and record each as
// delivered by its own POST (batching off: every result differs) or all by
// one POST (batching on). Reported per event, in all and per phase (the
// wall time of each call, its commit included).
func BenchmarkDeliveryCycle(b *testing.B) {
	for _, mode := range []string{"batching-off", "batching-on"} {
		b.Run(mode, func(b *testing.B) {
			ctx := context.Background()
			s, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(b.TempDir(), "b.db")})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
			if err := s.CreateAccount(ctx, store.CreateAccountParams{Account: bahasha.Account{ID: "a", Name: "a", AppSecret: "s", CreatedAt: t0},
				APIKeyHash: []byte("k"), PhoneNumbers: []bahasha.PhoneNumber{{ID: "p", AccountID: "a", WABAID: "w", CreatedAt: t0}}}); err != nil {
				b.Fatal(err)
			}
			if _, err := s.PutEndpoint(ctx, store.PutEndpointParams{AccountID: "a", URL: "https://example.com/h", VerifyToken: "t", VerifiedAt: t0, Now: t0}); err != nil {
				b.Fatal(err)
			}
			const n = 100
			var tIngest, tClaim, tComplete time.Duration
			b.ResetTimer()
			for i := range b.N {
				now := t0.Add(time.Duration(i) * time.Second)
				evs := make([]bahasha.Event, n)
				for j := range evs {
					id := fmt.Sprintf("e%d-%d", i, j)
					payload, _ := json.Marshal(map[string]string{"id": "wamid." + id, "status": "sent", "timestamp": "1", "recipient_id": "2547"})
					evs[j] = bahasha.Event{AccountID: "a", ProducerID: id, Kind: bahasha.KindStatus, WABAID: "w", PhoneNumberID: "p",
						WAMID: "wamid." + id, Status: "sent", Payload: payload, CreatedAt: now, AvailableAt: now}
				}
				t := time.Now()
				if _, err := s.InsertEvents(ctx, store.InsertEventsParams{AccountID: "a", Events: evs, Now: now}); err != nil {
					b.Fatal(err)
				}
				tIngest += time.Since(t)
				t = time.Now()
				lanes, err := s.ClaimLanes(ctx, store.ClaimParams{Now: now, MaxLanes: 1, MaxPerLane: n, LeaseFor: time.Minute})
				if err != nil || len(lanes) != 1 || len(lanes[0].Deliveries) != n {
					b.Fatalf("claim: %v", err)
				}
				tClaim += time.Since(t)
				p := store.CompleteParams{EndpointID: lanes[0].Endpoint.ID, Now: now, LeasedUntil: lanes[0].LeasedUntil, AccountID: "a",
					Breaker: store.BreakerUpdate{Turn: store.TurnSucceeded}, Stats: bahasha.DeliveryStats{Delivered: n, AttemptsOK: n}}
				for j, d := range lanes[0].Deliveries {
					started := now
					if mode == "batching-off" {
						started = now.Add(time.Duration(j) * time.Millisecond)
					}
					p.Results = append(p.Results, store.DeliveryResult{DeliveryID: d.ID, State: bahasha.DeliveryDelivered,
						Attempt: bahasha.Attempt{Number: 1, StartedAt: started, Duration: time.Duration(j) * time.Microsecond, StatusCode: 200}})
				}
				t = time.Now()
				if err := s.CompleteLane(ctx, p); err != nil {
					b.Fatal(err)
				}
				tComplete += time.Since(t)
			}
			perEvent := func(d time.Duration) float64 { return float64(d.Nanoseconds()) / 1e3 / float64(b.N*n) }
			b.ReportMetric(perEvent(b.Elapsed()), "µs/event")
			b.ReportMetric(perEvent(tIngest), "ingest-µs/event")
			b.ReportMetric(perEvent(tClaim), "claim-µs/event")
			b.ReportMetric(perEvent(tComplete), "complete-µs/event")
		})
	}
}

// BenchmarkIngestFanout measures InsertEvents of 100 events for an account
// with N account-scope endpoints: one event row and N delivery rows each.
// Reported per event and per delivery made.
func BenchmarkIngestFanout(b *testing.B) {
	for _, n := range []int{1, 5, 20} {
		b.Run(fmt.Sprintf("endpoints-%d", n), func(b *testing.B) {
			ctx := context.Background()
			s, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(b.TempDir(), "b.db")})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
			if err := s.CreateAccount(ctx, store.CreateAccountParams{Account: bahasha.Account{ID: "a", Name: "a", AppSecret: "s", CreatedAt: t0},
				APIKeyHash: []byte("k"), PhoneNumbers: []bahasha.PhoneNumber{{ID: "p", AccountID: "a", WABAID: "w", CreatedAt: t0}}}); err != nil {
				b.Fatal(err)
			}
			for i := range n {
				e := bahasha.Endpoint{AccountID: "a", URL: fmt.Sprintf("https://example.com/%d", i), VerifyToken: "t", VerifiedAt: t0, Secret: "whsec_c2VjcmV0"}
				if _, err := s.CreateEndpoint(ctx, store.CreateEndpointParams{Endpoint: e, Max: store.MaxEndpoints, Now: t0}); err != nil {
					b.Fatal(err)
				}
			}
			const batch = 100
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				now := t0.Add(time.Duration(i) * time.Second)
				evs := make([]bahasha.Event, batch)
				for j := range evs {
					id := fmt.Sprintf("e%d-%d", i, j)
					evs[j] = bahasha.Event{AccountID: "a", ProducerID: id, Kind: bahasha.KindStatus, WABAID: "w", PhoneNumberID: "p",
						WAMID: "wamid." + id, Status: "sent", Payload: []byte(`{"id":"wamid.` + id + `","status":"sent"}`), CreatedAt: now, AvailableAt: now}
				}
				res, err := s.InsertEvents(ctx, store.InsertEventsParams{AccountID: "a", Events: evs, Now: now})
				if err != nil || len(res[0].DeliveryIDs) != n {
					b.Fatalf("InsertEvents: %v", err)
				}
			}
			us := float64(b.Elapsed().Nanoseconds()) / 1e3 / float64(b.N*batch)
			b.ReportMetric(us, "µs/event")
			b.ReportMetric(us/float64(n), "µs/delivery")
		})
	}
}
