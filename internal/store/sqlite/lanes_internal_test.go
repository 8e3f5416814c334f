package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

var laneT0 = time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)

// laneStore opens a store with account "a", its phone number "p" and an
// endpoint, whose id it returns.
func laneStore(t *testing.T) (*Store, int64) {
	t.Helper()
	ctx := context.Background()
	s, err := Open(ctx, Config{Path: filepath.Join(t.TempDir(), "b.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.CreateAccount(ctx, store.CreateAccountParams{Account: bahasha.Account{ID: "a", Name: "a", AppSecret: "s", CreatedAt: laneT0},
		APIKeyHash: []byte("k"), PhoneNumbers: []bahasha.PhoneNumber{{ID: "p", AccountID: "a", WABAID: "w", CreatedAt: laneT0}}}); err != nil {
		t.Fatal(err)
	}
	ep, err := s.PutEndpoint(ctx, store.PutEndpointParams{AccountID: "a", URL: "https://example.com/h", VerifyToken: "t", VerifiedAt: laneT0, Now: laneT0})
	if err != nil {
		t.Fatal(err)
	}
	return s, ep.ID
}

// laneState reads an endpoint's lane columns.
func laneState(t *testing.T, s *Store, endpointID int64) (due sql.NullInt64, leased int64) {
	t.Helper()
	if err := s.wdb.QueryRow(`SELECT lane_due_at, lane_leased_until FROM endpoints WHERE id = ?`, endpointID).Scan(&due, &leased); err != nil {
		t.Fatal(err)
	}
	return due, leased
}

// TestClaimStaleLane: a lane marked due (lane_due_at) without any due
// delivery, as a database written by another version might hold, is
// claimed empty-handed once: its due time is recomputed and its lease
// released, so it is neither handed out nor left leased.
func TestClaimStaleLane(t *testing.T) {
	ctx := context.Background()
	s, ep := laneStore(t)
	if _, err := s.wdb.Exec(`UPDATE endpoints SET lane_due_at = ? WHERE id = ?`, laneT0.UnixMilli(), ep); err != nil {
		t.Fatal(err)
	}
	lanes, err := s.ClaimLanes(ctx, store.ClaimParams{Now: laneT0.Add(time.Second), MaxLanes: 10, MaxPerLane: 10, LeaseFor: time.Minute})
	if err != nil || len(lanes) != 0 {
		t.Fatalf("ClaimLanes = %d lanes, %v; want none", len(lanes), err)
	}
	if due, leased := laneState(t, s, ep); due.Valid || leased != 0 {
		t.Fatalf("after the claim: lane_due_at %v, lane_leased_until %d; want NULL and 0", due, leased)
	}
	if _, ok, err := s.NextDue(ctx, ""); ok || err != nil {
		t.Fatalf("NextDue = %v, %v; want nothing due", ok, err)
	}
}

// TestClaimReleasesLanesWhenTheReadFails: a claim leases its lanes on the
// writer, then reads their deliveries on the read pool; when that read
// fails, the claim fails and hands the lanes back (their lease released,
// their due time kept) instead of leaving them leased for nothing.
func TestClaimReleasesLanesWhenTheReadFails(t *testing.T) {
	ctx := context.Background()
	s, ep := laneStore(t)
	ev := bahasha.Event{AccountID: "a", ProducerID: "e1", Kind: bahasha.KindStatus, WABAID: "w", PhoneNumberID: "p",
		WAMID: "wamid.1", Status: "sent", Payload: []byte(`{"id":"wamid.1","status":"sent"}`), CreatedAt: laneT0, AvailableAt: laneT0}
	if _, err := s.InsertEvents(ctx, store.InsertEventsParams{AccountID: "a", Events: []bahasha.Event{ev}, Now: laneT0}); err != nil {
		t.Fatal(err)
	}
	s.rdb.Close() // the read fails
	if lanes, err := s.ClaimLanes(ctx, store.ClaimParams{Now: laneT0, MaxLanes: 10, MaxPerLane: 10, LeaseFor: time.Minute}); err == nil {
		t.Fatalf("ClaimLanes = %d lanes, no error; want the read's error", len(lanes))
	}
	if due, leased := laneState(t, s, ep); leased != 0 || due.Int64 != laneT0.UnixMilli() {
		t.Fatalf("after the failed claim: lane_leased_until %d, lane_due_at %v; want 0 and %d", leased, due, laneT0.UnixMilli())
	}
}
