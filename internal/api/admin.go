package api

import (
	"errors"
	"maps"
	"net/http"
	"slices"
	"time"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/store"
)

type createAccountRequest struct {
	Name string `json:"name"`
}

func (a *API) createAccount(w http.ResponseWriter, r *http.Request) error {
	var req createAccountRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req, true); err != nil {
		return err
	}
	c, err := accounts.Create(r.Context(), a.store, accounts.Params{Name: req.Name, Now: a.now(), Rand: a.rand})
	if errors.Is(err, accounts.ErrInvalid) {
		return problem.Invalid("%s", err.Error())
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, CreatedAccountJSON(c))
	return nil
}

// CreatedAccountJSON is how a new account is shown, by the admin API and by
// bahasha accounts create --json.
func CreatedAccountJSON(c accounts.Created) map[string]any {
	return map[string]any{
		"account":      map[string]any{"id": c.Account.ID, "name": c.Account.Name, "created_at": c.Account.CreatedAt},
		"phone_number": phoneJSON(c.PhoneNumber),
		"api_key":      c.APIKey,
	}
}

// maxUnhealthy caps the endpoints GET /admin/v1/health lists.
const maxUnhealthy = 100

// health serves GET /admin/v1/health: the platform-wide picture an
// operator needs, from the database (every node answers the same).
func (a *API) health(w http.ResponseWriter, r *http.Request) error {
	now := a.now()
	snap, err := a.store.Snapshot(r.Context(), now)
	if err != nil {
		return err
	}
	bad, err := a.store.UnhealthyEndpoints(r.Context(), now, maxUnhealthy)
	if err != nil {
		return err
	}
	lag := 0.0
	var oldest *time.Time
	if !snap.OldestDue.IsZero() {
		lag = max(now.Sub(snap.OldestDue).Seconds(), 0)
		oldest = &snap.OldestDue
	}
	endpoints := map[string]int{}
	for _, h := range store.EndpointHealths {
		endpoints[h] = snap.Endpoints[h]
	}
	type unhealthy struct {
		ID                  string     `json:"id"`
		AccountID           string     `json:"account_id"`
		Health              string     `json:"health"`
		ConsecutiveFailures int        `json:"consecutive_failures"`
		FailingSince        *time.Time `json:"failing_since"`
		DisabledReason      string     `json:"disabled_reason,omitempty"`
	}
	list := []unhealthy{}
	for _, e := range bad {
		h := e.Health(now)
		if e.Disabled {
			h = "disabled"
		}
		list = append(list, unhealthy{ID: e.PublicID(), AccountID: e.AccountID, Health: h, ConsecutiveFailures: e.ConsecutiveFailures,
			FailingSince: timePtr(e.FailingSince), DisabledReason: e.DisabledReason})
	}
	type node struct {
		Node   string `json:"node"`
		Leases int    `json:"leased_lanes"`
	}
	nodes := []node{}
	for _, n := range slices.Sorted(maps.Keys(snap.Leases)) {
		nodes = append(nodes, node{Node: n, Leases: snap.Leases[n]})
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"backlog": snap.Pending, "lag_seconds": lag, "oldest_due_at": oldest, "endpoints": endpoints,
		"unhealthy_endpoints": list, "nodes": nodes, "checked_at": now.UTC(),
	})
	return nil
}
