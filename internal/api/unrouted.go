package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"

	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/store"
)

// metaOff is the answer of the unrouted routes while Meta's webhooks are
// not received.
var metaOff = problem.New(http.StatusNotFound, "meta_disabled",
	"receiving Meta's webhooks is off: start bahasha serve with --meta-app-secret and --meta-verify-token")

// unrouted serves GET /admin/v1/unrouted: the changes of Meta's webhooks
// no account owned, oldest first, paged with ?after= (the last id seen)
// and ?limit= (default 100, at most 1000).
func (a *API) unrouted(w http.ResponseWriter, r *http.Request) error {
	if a.svc.Meta == nil {
		return metaOff
	}
	q := r.URL.Query()
	after, limit := int64(0), 100
	if v := q.Get("after"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 0 {
			return problem.Invalid("after must be the id of the last unrouted change you read (a whole number), not %q", v)
		}
		after = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 1000 {
			return problem.Invalid("limit must be a whole number from 1 to 1000, not %q", v)
		}
		limit = n
	}
	list, err := a.store.ListUnrouted(r.Context(), store.ListUnroutedParams{After: after, Limit: limit})
	if err != nil {
		return err
	}
	type item struct {
		ID                 int64           `json:"id"`
		ReceivedAt         time.Time       `json:"received_at"`
		Field              string          `json:"field"`
		EntryID            string          `json:"entry_id"`
		PhoneNumberID      string          `json:"phone_number_id,omitempty"`
		DisplayPhoneNumber string          `json:"display_phone_number,omitempty"`
		Reason             string          `json:"reason"`
		Body               json.RawMessage `json:"body"`
	}
	out := struct {
		Data []item `json:"data"`
		// NextAfter is the after= of the next page; absent on the last.
		NextAfter *int64 `json:"next_after,omitempty"`
	}{Data: []item{}}
	for _, u := range list {
		out.Data = append(out.Data, item{ID: u.ID, ReceivedAt: u.ReceivedAt.UTC(), Field: u.Field, EntryID: u.EntryID,
			PhoneNumberID: u.PhoneNumberID, DisplayPhoneNumber: u.DisplayPhoneNumber, Reason: u.Reason, Body: u.Body})
	}
	if len(list) == limit {
		last := list[len(list)-1].ID
		out.NextAfter = &last
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// replayUnrouted serves POST /admin/v1/unrouted/replay: the unrouted
// changes routed again (up to ?limit=, default 10000); those an account
// owns now are delivered to it.
func (a *API) replayUnrouted(w http.ResponseWriter, r *http.Request) error {
	if a.svc.Meta == nil {
		return metaOff
	}
	limit := 10000
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 100000 {
			return problem.Invalid("limit must be a whole number from 1 to 100000, not %q", v)
		}
		limit = n
	}
	res, err := a.svc.Meta.Reroute(r.Context(), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"routed": res.Routed, "still_unrouted": res.Left})
	return nil
}
