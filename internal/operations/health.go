// Package operations is the platform-wide picture an operator reads: the
// backlog, the lag, endpoints by health and the unhealthy ones with their
// accounts, and which node holds leases. The admin API serves it as JSON
// and the operator's dashboard page renders it; both read it from the
// database, so every node answers the same.
package operations

import (
	"context"
	"maps"
	"slices"
	"time"

	"github.com/bahasha/bahasha/internal/store"
)

// MaxUnhealthy caps the endpoints a Report lists.
const MaxUnhealthy = 100

// Report is the platform's health at CheckedAt.
type Report struct {
	// Backlog is how many deliveries are pending.
	Backlog int `json:"backlog"`
	// LagSeconds is how long the oldest lane a node could claim now has
	// been due (0 when none is).
	LagSeconds  float64    `json:"lag_seconds"`
	OldestDueAt *time.Time `json:"oldest_due_at"`
	// Endpoints counts endpoints by health (store.EndpointHealths).
	Endpoints map[string]int `json:"endpoints"`
	// Unhealthy lists up to MaxUnhealthy failing, probing or disabled
	// endpoints, with their accounts.
	Unhealthy []Unhealthy `json:"unhealthy_endpoints"`
	Nodes     []Node      `json:"nodes"`
	// Unrouted counts the changes of Meta's webhooks that no account owned
	// (GET /admin/v1/unrouted lists them).
	Unrouted  int       `json:"unrouted_changes"`
	CheckedAt time.Time `json:"checked_at"`
}

// Unhealthy is an endpoint that is failing, probing or disabled.
type Unhealthy struct {
	ID                  string     `json:"id"`
	AccountID           string     `json:"account_id"`
	Health              string     `json:"health"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	FailingSince        *time.Time `json:"failing_since"`
	DisabledReason      string     `json:"disabled_reason,omitempty"`
}

// Node is a node that holds lane leases.
type Node struct {
	Node   string `json:"node"`
	Leases int    `json:"leased_lanes"`
}

// Health reads the Report from st.
func Health(ctx context.Context, st store.Store, now time.Time) (Report, error) {
	snap, err := st.Snapshot(ctx, now)
	if err != nil {
		return Report{}, err
	}
	bad, err := st.UnhealthyEndpoints(ctx, now, MaxUnhealthy)
	if err != nil {
		return Report{}, err
	}
	r := Report{Backlog: snap.Pending, Endpoints: map[string]int{}, Unhealthy: []Unhealthy{}, Nodes: []Node{}, Unrouted: snap.Unrouted, CheckedAt: now.UTC()}
	if !snap.OldestDue.IsZero() {
		r.LagSeconds = max(now.Sub(snap.OldestDue).Seconds(), 0)
		oldest := snap.OldestDue.UTC()
		r.OldestDueAt = &oldest
	}
	for _, h := range store.EndpointHealths {
		r.Endpoints[h] = snap.Endpoints[h]
	}
	for _, e := range bad {
		h := e.Health(now)
		if e.Disabled {
			h = "disabled"
		}
		u := Unhealthy{ID: e.PublicID(), AccountID: e.AccountID, Health: h, ConsecutiveFailures: e.ConsecutiveFailures,
			DisabledReason: e.DisabledReason}
		if !e.FailingSince.IsZero() {
			since := e.FailingSince.UTC()
			u.FailingSince = &since
		}
		r.Unhealthy = append(r.Unhealthy, u)
	}
	for _, n := range slices.Sorted(maps.Keys(snap.Leases)) {
		r.Nodes = append(r.Nodes, Node{Node: n, Leases: snap.Leases[n]})
	}
	return r, nil
}
