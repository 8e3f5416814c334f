package sqlite

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// TestClaimReleasesLanesWhenTheReadFails: a claim leases its lanes on the
// writer, then reads their deliveries on the read pool; when that read
// fails, the claim fails and hands the lanes back (their lease released,
// their due time kept) instead of leaving them leased for nothing.
func TestClaimReleasesLanesWhenTheReadFails(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, Config{Path: filepath.Join(t.TempDir(), "b.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	if err := s.CreateAccount(ctx, store.CreateAccountParams{Account: bahasha.Account{ID: "a", Name: "a", AppSecret: "s", CreatedAt: t0},
		APIKeyHash: []byte("k"), PhoneNumbers: []bahasha.PhoneNumber{{ID: "p", AccountID: "a", WABAID: "w", CreatedAt: t0}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutEndpoint(ctx, store.PutEndpointParams{AccountID: "a", URL: "https://example.com/h", VerifyToken: "t", VerifiedAt: t0, Now: t0}); err != nil {
		t.Fatal(err)
	}
	ev := bahasha.Event{AccountID: "a", ProducerID: "e1", Kind: bahasha.KindStatus, WABAID: "w", PhoneNumberID: "p",
		WAMID: "wamid.1", Status: "sent", Payload: []byte(`{"id":"wamid.1","status":"sent"}`), CreatedAt: t0, AvailableAt: t0}
	if _, err := s.InsertEvents(ctx, store.InsertEventsParams{AccountID: "a", Events: []bahasha.Event{ev}, Now: t0}); err != nil {
		t.Fatal(err)
	}
	s.rdb.Close() // the read fails
	if lanes, err := s.ClaimLanes(ctx, store.ClaimParams{Now: t0, MaxLanes: 10, MaxPerLane: 10, LeaseFor: time.Minute}); err == nil {
		t.Fatalf("ClaimLanes = %d lanes, no error; want the read's error", len(lanes))
	}
	var leased, due int64
	if err := s.wdb.QueryRow(`SELECT lane_leased_until, lane_due_at FROM endpoints WHERE account_id = 'a'`).Scan(&leased, &due); err != nil {
		t.Fatal(err)
	}
	if leased != 0 || due != t0.UnixMilli() {
		t.Fatalf("after the failed claim: lane_leased_until %d, lane_due_at %d; want 0 and %d", leased, due, t0.UnixMilli())
	}
}
