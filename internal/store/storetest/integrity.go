package storetest

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// testReferences: a call that refers to a row that does not exist fails
// with ErrNotFound on every driver, and stores nothing; the store's own
// deletions (retention) remove children before their parents, so they
// work where the database enforces its foreign keys.
func testReferences(t *testing.T, s store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	missing := "no-such-account"
	if err := s.CreateSession(ctx, store.Session{TokenHash: []byte("t1"), AccountID: missing, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CreateSession for a missing account = %v, want ErrNotFound", err)
	}
	if _, err := s.SessionAccount(ctx, store.SessionAccountParams{TokenHash: []byte("t1"), Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused session was stored: %v", err)
	}
	if _, err := s.PutEndpoint(ctx, store.PutEndpointParams{AccountID: missing, URL: "https://example.com/x", VerifyToken: "t", VerifiedAt: t0, Now: t0}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("PutEndpoint for a missing account = %v, want ErrNotFound", err)
	}
	if _, err := s.Endpoint(ctx, missing); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the refused endpoint was stored: %v", err)
	}
	if err := s.SetAppSecret(ctx, store.SetAppSecretParams{AccountID: missing, Secret: "s"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("SetAppSecret of a missing account = %v, want ErrNotFound", err)
	}
	// An attempt of a delivery that does not exist.
	e := endpoint(t, s, "a")
	err := s.CompleteLane(ctx, store.CompleteParams{EndpointID: e.ID, Now: t0, Results: []store.DeliveryResult{{DeliveryID: 987654,
		State: bahasha.DeliveryPending, NextAttemptAt: t0.Add(time.Second),
		Attempt: bahasha.Attempt{Number: 1, StartedAt: t0, Duration: time.Millisecond, StatusCode: 500}}}})
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CompleteLane with an attempt of a missing delivery = %v, want ErrNotFound", err)
	}

	// Retention removes deliveries with attempts, their events, and
	// events without deliveries.
	res := insert(t, s, "a", t0, "retried", "first-time")
	l := claim(t, s, t0, 10, 10)[0]
	failed := resultsOf(l, t0, 500, false, bahasha.DeliveryPending, t0.Add(time.Second), res[0].DeliveryID)
	if err := s.CompleteLane(ctx, failed); err != nil {
		t.Fatal(err)
	}
	l = claim(t, s, t0.Add(time.Second), 10, 10)[0]
	done := deliver(l, t0.Add(time.Second), bahasha.DeliveryDelivered, time.Time{})
	done.LeasedUntil = l.LeasedUntil
	if err := s.CompleteLane(ctx, done); err != nil {
		t.Fatal(err)
	}
	if _, attempts, err := s.Delivery(ctx, store.GetDeliveryParams{AccountID: "a", DeliveryID: res[0].DeliveryID}); err != nil || len(attempts) != 2 {
		t.Fatalf("a delivery retried once: %d attempts, %v", len(attempts), err)
	}
	n, err := s.Prune(ctx, store.PruneParams{Before: t0.Add(time.Hour), Limit: 100, Now: t0.Add(time.Hour)})
	if err != nil || n != 2 {
		t.Fatalf("Prune = %d, %v; want both deliveries pruned", n, err)
	}
	if _, _, err := s.Delivery(ctx, store.GetDeliveryParams{AccountID: "a", DeliveryID: res[0].DeliveryID}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("a pruned delivery: %v", err)
	}
	if r := insert(t, s, "a", t0, "retried"); r[0].Duplicate {
		t.Fatal("a pruned delivery's event is still there")
	}
}
