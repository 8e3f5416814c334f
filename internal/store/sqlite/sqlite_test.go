package sqlite_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/leakcheck"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlite"
	"github.com/bahasha/bahasha/internal/store/storetest"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

func open(t *testing.T) store.Store {
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "bahasha.db")})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

// TestReopen: data and migrations survive a close and a reopen.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bahasha.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, store.CreateAccountParams{APIKeyHash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.CountAccounts(ctx); n != 1 || err != nil {
		t.Fatalf("after reopen: %d accounts, %v", n, err)
	}
}

// TestClaimStaleLane: a lane marked due (lane_due_at) without any due
// delivery, as a database written by another version might hold, is
// claimed empty-handed once: its due time is recomputed and its lease
// released, so it is neither handed out nor left leased.
func TestClaimStaleLane(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "bahasha.db")
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	if err := s.CreateAccount(ctx, store.CreateAccountParams{Account: bahasha.Account{ID: "a", Name: "a", AppSecret: "s", CreatedAt: t0},
		APIKeyHash: []byte("k")}); err != nil {
		t.Fatal(err)
	}
	ep, err := s.PutEndpoint(ctx, store.PutEndpointParams{AccountID: "a", URL: "https://example.com/h", VerifyToken: "t", VerifiedAt: t0, Now: t0})
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`UPDATE endpoints SET lane_due_at = ? WHERE id = ?`, t0.UnixMilli(), ep.ID); err != nil {
		t.Fatal(err)
	}
	lanes, err := s.ClaimLanes(ctx, store.ClaimParams{Now: t0.Add(time.Second), MaxLanes: 10, MaxPerLane: 10, LeaseFor: time.Minute})
	if err != nil || len(lanes) != 0 {
		t.Fatalf("ClaimLanes = %d lanes, %v; want none", len(lanes), err)
	}
	var due sql.NullInt64
	var leased int64
	if err := db.QueryRow(`SELECT lane_due_at, lane_leased_until FROM endpoints WHERE id = ?`, ep.ID).Scan(&due, &leased); err != nil {
		t.Fatal(err)
	}
	if due.Valid || leased != 0 {
		t.Fatalf("after the claim: lane_due_at %v, lane_leased_until %d; want NULL and 0", due, leased)
	}
	if _, ok, err := s.NextDue(ctx); ok || err != nil {
		t.Fatalf("NextDue = %v, %v; want nothing due", ok, err)
	}
}
