package storetest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// testIngestIdempotency: a producer id already stored is a duplicate
// whatever happened in between — a webhook registered, other writes on the
// connection, the store closed and opened again — and only those: a batch
// mixing stored and new ids answers Duplicate for exactly the stored ones,
// with their stored event ids, and creates deliveries for exactly the new
// ones.
func testIngestIdempotency(t *testing.T, s store.Store, reopen func() store.Store) {
	ctx := context.Background()
	account(t, s, "a")
	account(t, s, "other")

	// stored is every producer id of "a" ingested so far, with its event id.
	stored := map[string]int64{}
	deliveries := 0 // deliveries made for "a"
	hasEndpoint := false
	// ingest inserts the ids as one batch and checks every result against
	// what is stored.
	ingest := func(s store.Store, step string, ids ...string) {
		t.Helper()
		res := insert(t, s, "a", t0, ids...)
		seen := map[string]int64{}
		for i, id := range ids {
			r := res[i]
			wantDup := false
			if old, ok := stored[id]; ok {
				wantDup = true
				if r.EventID != old {
					t.Fatalf("%s: %s is event %d, was stored as %d", step, id, r.EventID, old)
				}
			} else if old, ok := seen[id]; ok {
				wantDup = true // repeated within the batch
				if r.EventID != old {
					t.Fatalf("%s: repeated %s is event %d, first was %d", step, id, r.EventID, old)
				}
			}
			if r.Duplicate != wantDup {
				t.Fatalf("%s: %s (result %d of %d) answered duplicate %v, want %v", step, id, i, len(ids), r.Duplicate, wantDup)
			}
			if r.EventID == 0 {
				t.Fatalf("%s: %s has no event id", step, id)
			}
			if wantNew := !wantDup && hasEndpoint; (r.DeliveryID != 0) != wantNew {
				t.Fatalf("%s: %s has delivery %d, want one: %v", step, id, r.DeliveryID, wantNew)
			}
			if !wantDup {
				seen[id] = r.EventID
				if r.DeliveryID != 0 {
					deliveries++
				}
			}
		}
		for id, ev := range seen {
			stored[id] = ev
		}
		ds, err := s.Deliveries(ctx, store.ListDeliveriesParams{AccountID: "a", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) != min(deliveries, 1000) {
			t.Fatalf("%s: %d deliveries stored, want %d", step, len(ds), deliveries)
		}
		for _, d := range ds {
			if stored[d.Event.ProducerID] != d.EventID {
				t.Fatalf("%s: delivery %d holds event %d (%s), stored as %d", step, d.ID, d.EventID, d.Event.ProducerID, stored[d.Event.ProducerID])
			}
		}
	}
	ids := func(prefix string, n int) []string {
		var out []string
		for i := range n {
			out = append(out, fmt.Sprintf("%s-%04d", prefix, i))
		}
		return out
	}

	// Ingested while no webhook is registered, then retried after one is.
	first := ids("first", 40)
	ingest(s, "first batch, no webhook", first...)
	ingest(s, "retried, no webhook", first...)
	endpoint(t, s, "a")
	hasEndpoint = true
	ingest(s, "retried after the webhook was registered", first...)
	// Other writes on the store's connections in between (another account's
	// events and endpoint, a session), then the retry mixed with new ids.
	endpoint(t, s, "other")
	insert(t, s, "other", t0, ids("o", 30)...)
	if err := s.CreateSession(ctx, store.Session{TokenHash: []byte("tok"), AccountID: "a", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	mixed := append([]string{"new-a"}, first[:10]...)
	mixed = append(mixed, "new-b", "new-a", first[39], "new-c")
	ingest(s, "mixed with new ids", mixed...)

	// After a restart.
	s.Close()
	s = reopen()
	ingest(s, "retried after a restart", first...)
	ingest(s, "mixed after a restart", append(append([]string{"new-d"}, mixed...), "new-e")...)
	s.Close()
	s = reopen()
	// A batch larger than a driver's chunk, mixing stored, new and repeated
	// ids in a random order (the seed is printed on failure).
	seed := uint64(time.Now().UnixNano())
	rng := rand.New(rand.NewPCG(seed, 0))
	var big []string
	big = append(big, ids("big", 700)...)
	big = append(big, first...)
	big = append(big, ids("big", 50)...) // repeated within the batch
	rng.Shuffle(len(big), func(i, j int) { big[i], big[j] = big[j], big[i] })
	t.Logf("big batch shuffled with seed %d", seed)
	ingest(s, "large mixed batch after a restart", big...)
	s.Close()
	s = reopen()
	ingest(s, "large batch retried after a restart", big...)
	// Every delivery is of a distinct event.
	ds, err := s.Deliveries(ctx, store.ListDeliveriesParams{AccountID: "a", Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	events := map[int64]bool{}
	for _, d := range ds {
		if events[d.EventID] {
			t.Fatalf("event %d (%s) has two deliveries", d.EventID, d.Event.ProducerID)
		}
		events[d.EventID] = true
		if d.State != bahasha.DeliveryPending {
			t.Fatalf("delivery %d is %s", d.ID, d.State)
		}
	}
}
