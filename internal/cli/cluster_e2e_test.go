package cli_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store/pgtest"
)

// TestManyNodesOnPostgres: three bahasha serve processes share one
// PostgreSQL; fifty businesses; 20,100 status events (sent, delivered, read
// of 6,700 messages) ingested through all three nodes; one node is killed
// with SIGKILL mid-run. Every acknowledged event's message reaches its
// final status at its business, no status ever goes backwards at a
// receiver, nothing stays pending, and the only events delivered twice are
// ones that had reached the receiver by the time of the crash (attempts in
// flight on the dead node).
func TestManyNodesOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("a three-node cluster test; run without -short")
	}
	t.Parallel()
	db := pgtest.URL(t)
	bin := bahashaBinary(t)
	opts := func() serveOpts {
		return serveOpts{Data: t.TempDir(), Env: map[string]string{"BAHASHA_ADMIN_KEY": testAdminKey},
			Args: []string{"--database", db, "--attempt-timeout", "1s", "--lane-lease", "8s", "--max-batch", "20"}}
	}
	nodes := []*child{startChild(t, bin, opts())} // the first node creates the default account
	nodes = append(nodes, startChild(t, bin, opts()), startChild(t, bin, opts()))

	type business struct {
		key, phone string
		rcv        *receiver
	}
	const businesses, messages = 50, 134
	var bs []business
	for i := range businesses {
		key := testAPIKey
		if i > 0 {
			r := nodes[i%3].DoAs(testAdminKey, "POST", "/admin/v1/accounts", map[string]string{"name": fmt.Sprintf("Business %d", i)})
			if r.Status != 201 {
				t.Fatalf("create account: %s", r)
			}
			key = r.Str("api_key")
		}
		rcv := newReceiver(t, nodes[0].Secret(key))
		nodes[i%3].Register(key, rcv)
		bs = append(bs, business{key: key, phone: phoneOf(t, nodes[0].server, key).ID, rcv: rcv})
	}

	// Ingest: per business, the lifecycle of each message in order, 100
	// events a request, through the nodes in turn; node 1 dies halfway.
	var batches [][]any
	var owner []int
	for b := range bs {
		var evs []any
		for _, st := range []string{"sent", "delivered", "read"} {
			for m := range messages {
				wamid := fmt.Sprintf("wamid.B%02dM%03d", b, m)
				evs = append(evs, statusEvent(wamid+":"+st, bs[b].phone, wamid, st))
			}
		}
		for len(evs) > 0 {
			n := min(100, len(evs))
			batches, owner, evs = append(batches, evs[:n]), append(owner, b), evs[n:]
		}
	}
	var snapshotMu sync.Mutex
	beforeCrash := map[string]bool{} // business/wamid/status received by the time of the kill
	killed := false
	acked := 0
	for i, batch := range batches {
		if !killed && i == len(batches)/2 {
			nodes[1].Kill()
			killed = true
			snapshotMu.Lock()
			for b, bz := range bs {
				for _, e := range bz.rcv.Statuses() {
					beforeCrash[fmt.Sprintf("%d/%s/%s", b, e.Status.ID, e.Status.Status)] = true
				}
			}
			snapshotMu.Unlock()
		}
		node := nodes[i%3]
		if killed && node == nodes[1] {
			node = nodes[0]
		}
		r := node.DoAs(bs[owner[i]].key, "POST", "/v1/events", map[string]any{"events": batch})
		if r.Status != 202 {
			t.Fatalf("batch %d: %s", i, r)
		}
		acked += len(batch)
	}
	if acked != businesses*messages*3 {
		t.Fatalf("acknowledged %d events", acked)
	}

	// Every message reaches "read" at its business (a dead node's lanes
	// come back when their lease, 8s here, expires).
	for b, bz := range bs {
		bz.rcv.Wait(t, fmt.Sprintf("business %d: every message read", b), func() bool {
			final := map[string]bool{}
			for _, e := range bz.rcv.statuses {
				if e.Status.Status == "read" {
					final[e.Status.ID] = true
				}
			}
			return len(final) == messages
		})
	}
	// No regression, and duplicates only of what had arrived before the crash.
	dups := 0
	for b, bz := range bs {
		furthest := map[string]int{}
		seen := map[string]int{}
		for _, e := range bz.rcv.Statuses() {
			id, st := e.Status.ID, string(e.Status.Status)
			if r := bahasha.StatusRank(st); r < furthest[id] {
				t.Fatalf("business %d: message %s went back to %s", b, id, st)
			} else {
				furthest[id] = r
			}
			k := fmt.Sprintf("%d/%s/%s", b, id, st)
			seen[k]++
			if seen[k] == 2 {
				dups++
				if !beforeCrash[k] {
					t.Errorf("%s was delivered twice but had not arrived before the crash", k)
				}
			}
		}
	}
	// Nothing is left pending: each delivery is delivered or superseded.
	for b, bz := range bs {
		eventually(t, fmt.Sprintf("business %d has nothing pending", b), func() (bool, string) {
			ds := nodes[0].Deliveries(bz.key, "&state=pending")
			return len(ds) == 0, fmt.Sprintf("%d pending", len(ds))
		})
	}
	t.Logf("%d events through 3 nodes (one killed halfway), %d delivered twice", acked, dups)
	for _, n := range []*child{nodes[0], nodes[2]} {
		if strings.Contains(n.Stderr.String(), "level=ERROR") {
			t.Logf("node stderr: %s", n.Stderr)
		}
	}
}
