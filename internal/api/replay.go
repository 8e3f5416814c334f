package api

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

func replayID(id int64) string { return "rpl_" + strconv.FormatInt(id, 10) }

type replayRequest struct {
	From       string `json:"from"`
	To         string `json:"to"`
	OnlyFailed bool   `json:"only_failed"`
	DryRun     bool   `json:"dry_run"`
}

type replayJSON struct {
	ID         string    `json:"id"`
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

// ReplayStatus names where a replay is: queuing, delivering or finished.
func ReplayStatus(r bahasha.Replay) string {
	switch {
	case r.Finished():
		return "finished"
	case r.QueuingDone:
		return "delivering"
	}
	return "queuing"
}

// ReplayProgress is the finished share of a replay's events, from 0 to 1.
func ReplayProgress(r bahasha.Replay) float64 {
	if r.Finished() {
		return 1
	}
	if r.Total == 0 {
		return 0
	}
	return min(1, float64(r.Done())/float64(r.Total))
}

func toReplayJSON(r bahasha.Replay) replayJSON {
	return replayJSON{ID: replayID(r.ID), From: r.From, To: r.To, OnlyFailed: r.OnlyFailed, Status: ReplayStatus(r),
		Total: r.Total, Queued: r.Queued, Done: r.Done(), Pending: r.Pending, Delivered: r.Delivered, Failed: r.Failed,
		Progress: ReplayProgress(r), CreatedAt: r.CreatedAt}
}

// parseTime reads an RFC 3339 time parameter.
func parseTime(name, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, strings.TrimSpace(s))
	if err != nil {
		return time.Time{}, badRequest(`%q must be an RFC 3339 time such as 2026-11-25T10:00:00Z, not %q`, name, s)
	}
	return t.UTC(), nil
}

// ReplayRange checks a replay's time range: from is required and before
// to; an empty to means now; a to in the future is now.
func ReplayRange(from, to time.Time, now time.Time) (time.Time, time.Time, error) {
	if to.IsZero() || to.After(now) {
		to = now
	}
	if from.IsZero() {
		return time.Time{}, time.Time{}, badRequest(`"from" is required: the start of the range of events to replay (RFC 3339)`)
	}
	if !from.Before(to) {
		return time.Time{}, time.Time{}, badRequest(`"from" (%s) must be before "to" (%s, or now when to is absent or in the future)`,
			from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	return from, to, nil
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
	now := a.now()
	if from, to, err = ReplayRange(from, to, now); err != nil {
		return err
	}
	p := store.ReplayParams{AccountID: acc.ID, From: from, To: to, OnlyFailed: req.OnlyFailed, Now: now}
	if req.DryRun {
		n, err := a.store.CountReplay(r.Context(), p)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, map[string]any{"from": from, "to": to, "only_failed": req.OnlyFailed, "events": n})
		return nil
	}
	rp, err := a.StartReplay(r.Context(), p)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/v1/webhook/replays/"+replayID(rp.ID))
	writeJSON(w, http.StatusAccepted, toReplayJSON(rp))
	return nil
}

// StartReplay creates a replay, queues its first chunk at once and wakes
// the engine (the engine's maintenance queues the rest).
func (a *API) StartReplay(ctx context.Context, p store.ReplayParams) (bahasha.Replay, error) {
	rp, err := a.store.CreateReplay(ctx, p)
	if errors.Is(err, store.ErrNotFound) {
		return bahasha.Replay{}, errNoWebhook
	}
	if err != nil {
		return bahasha.Replay{}, err
	}
	if _, err := a.store.AdvanceReplays(ctx, a.now(), store.ReplayChunk); err != nil {
		a.log.Warn("queuing the first replayed events; the engine will", "err", err)
	}
	a.waker.Wake()
	if fresh, err := a.store.Replay(ctx, p.AccountID, rp.ID); err == nil {
		rp = fresh
	}
	return rp, nil
}

func (a *API) listReplays(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	rs, err := a.store.Replays(r.Context(), acc.ID, 50)
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
		return errorf(http.StatusNotFound, "not_found", "%q is not a replay id; ids look like rpl_12", r.PathValue("id"))
	}
	rp, err := a.store.Replay(r.Context(), acc.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "not_found", "no replay %s in this account", replayID(id))
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toReplayJSON(rp))
	return nil
}
