package delivery

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

// One maintenance pass prunes everything past the retention period, batch
// after batch, however much there is: retention keeps up with any rate.
func TestMaintenanceCatchesUp(t *testing.T) {
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "m.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC)
	if err := s.CreateAccount(ctx, store.CreateAccountParams{Account: bahasha.Account{ID: "a", Name: "a", AppSecret: "s", CreatedAt: t0},
		APIKeyHash: []byte("k"), PhoneNumbers: []bahasha.PhoneNumber{{ID: "p", AccountID: "a", WABAID: "w", CreatedAt: t0}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutEndpoint(ctx, store.PutEndpointParams{AccountID: "a", URL: "https://example.com/h", VerifyToken: "t", VerifiedAt: t0, Now: t0}); err != nil {
		t.Fatal(err)
	}
	const n = 3*maintenanceBatch + 7
	evs := make([]bahasha.Event, n)
	for i := range evs {
		id := fmt.Sprint("e", i)
		payload, _ := json.Marshal(map[string]string{"id": id, "status": "sent"})
		evs[i] = bahasha.Event{AccountID: "a", ProducerID: id, Kind: bahasha.KindStatus, WABAID: "w", PhoneNumberID: "p", WAMID: id,
			Status: "sent", Payload: payload, CreatedAt: t0, AvailableAt: t0}
	}
	if _, err := s.InsertEvents(ctx, store.InsertEventsParams{AccountID: "a", Events: evs, Now: t0}); err != nil {
		t.Fatal(err)
	}
	lanes, err := s.ClaimLanes(ctx, store.ClaimParams{Now: t0, MaxLanes: 1, MaxPerLane: n, LeaseFor: time.Minute})
	if err != nil || len(lanes) != 1 {
		t.Fatal(lanes, err)
	}
	p := store.CompleteParams{EndpointID: lanes[0].Endpoint.ID, Now: t0, LeasedUntil: lanes[0].LeasedUntil}
	for _, d := range lanes[0].Deliveries {
		p.Results = append(p.Results, store.DeliveryResult{DeliveryID: d.ID, State: bahasha.DeliveryDelivered,
			Attempt: bahasha.Attempt{Number: 1, StartedAt: t0, StatusCode: 200}})
	}
	if err := s.CompleteLane(ctx, p); err != nil {
		t.Fatal(err)
	}
	e := New(Config{Retention: time.Hour}, s, nil, func() time.Time { return t0.Add(2 * time.Hour) }, nil, nil)
	e.maintainOnce(ctx)
	if ds, err := s.Deliveries(ctx, store.ListDeliveriesParams{AccountID: "a", Limit: 10}); err != nil || len(ds) != 0 {
		t.Fatalf("after one maintenance pass %d deliveries remain (%v), want 0", len(ds), err)
	}
}
