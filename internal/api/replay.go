package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/replay"
	"github.com/bahasha/bahasha/internal/store"
)

func replayID(id int64) string { return "rpl_" + strconv.FormatInt(id, 10) }

type replayRequest struct {
	// EndpointID is the endpoint to re-send to ("wh_12"); absent, the
	// primary one.
	EndpointID string `json:"endpoint_id"`
	From       string `json:"from"`
	To         string `json:"to"`
	OnlyFailed bool   `json:"only_failed"`
	DryRun     bool   `json:"dry_run"`
}

type replayJSON struct {
	ID         string    `json:"id"`
	EndpointID string    `json:"endpoint_id"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	OnlyFailed bool      `json:"only_failed"`
	// Status is queuing (events are still being queued), delivering (all
	// queued, some still pending) or finished.
	Status    string    `json:"status"`
	Total     int       `json:"total"`
	Queued    int       `json:"queued"`
	Done      int       `json:"done"`
	Pending   int       `json:"pending"`
	Delivered int       `json:"delivered"`
	Failed    int       `json:"failed"`
	Progress  float64   `json:"progress"`
	CreatedAt time.Time `json:"created_at"`
}

func toReplayJSON(r bahasha.Replay) replayJSON {
	return replayJSON{ID: replayID(r.ID), EndpointID: bahasha.Endpoint{ID: r.EndpointID}.PublicID(), From: r.From, To: r.To, OnlyFailed: r.OnlyFailed, Status: replay.Status(r),
		Total: r.Total, Queued: r.Queued, Done: r.Done(), Pending: r.Pending, Delivered: r.Delivered, Failed: r.Failed,
		Progress: replay.Progress(r), CreatedAt: r.CreatedAt}
}

// parseTime reads an RFC 3339 time parameter.
func parseTime(name, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, problem.Invalid(`%q must be an RFC 3339 time such as 2026-11-25T10:00:00Z, not %q`, name, s)
	}
	return t.UTC(), nil
}

func (a *API) replay(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	var req replayRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req, true); err != nil {
		return err
	}
	var from, to time.Time
	var err error
	if req.From != "" {
		if from, err = parseTime("from", req.From); err != nil {
			return err
		}
	}
	if req.To != "" {
		if to, err = parseTime("to", req.To); err != nil {
			return err
		}
	}
	p := replay.Params{AccountID: acc.ID, From: from, To: to, OnlyFailed: req.OnlyFailed}
	if req.EndpointID != "" {
		id, ok := bahasha.ParseEndpointID(req.EndpointID)
		if !ok {
			return problem.Invalid(`"endpoint_id" must be an endpoint id such as wh_12 (GET /v1/webhooks lists them)`)
		}
		p.EndpointID = id
	}
	if req.DryRun {
		n, from, to, err := a.svc.Replay.Count(r.Context(), p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "only_failed": req.OnlyFailed, "events": n})
		return nil
	}
	rp, err := a.svc.Replay.Start(r.Context(), p)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/webhook/replays/"+replayID(rp.ID))
	writeJSON(w, http.StatusAccepted, toReplayJSON(rp))
	return nil
}

func (a *API) listReplays(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	p := store.ListReplaysParams{AccountID: acc.ID, Limit: 50}
	id, err := a.endpointQuery(r, acc.ID)
	if err != nil {
		return err
	}
	p.EndpointID = id
	rs, err := a.store.Replays(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]replayJSON, 0, len(rs))
	for _, rp := range rs {
		out = append(out, toReplayJSON(rp))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
	return nil
}

func (a *API) getReplay(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	id, err := strconv.ParseInt(strings.TrimPrefix(r.PathValue("id"), "rpl_"), 10, 64)
	if err != nil || id <= 0 {
		return problem.New(http.StatusNotFound, "not_found", "%q is not a replay id; ids look like rpl_12", r.PathValue("id"))
	}
	rp, err := a.store.Replay(r.Context(), store.GetReplayParams{AccountID: acc.ID, ReplayID: id})
	if errors.Is(err, store.ErrNotFound) {
		return problem.New(http.StatusNotFound, "not_found", "no replay %s in this account", replayID(id))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toReplayJSON(rp))
	return nil
}
