package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/replay"
	"github.com/bahasha/bahasha/internal/store"
)

// replayForm is the replay form, as entered.
type replayForm struct {
	From, To   string
	OnlyFailed bool
	// Endpoint is the public id of the endpoint to replay to; "" is the
	// primary webhook.
	Endpoint string
}

// replayTarget is an endpoint the form offers.
type replayTarget struct {
	ID, URL string
	Primary bool
}

// replayView is a replay with its progress, as the page shows it.
type replayView struct {
	bahasha.Replay
	Done    int
	Percent int
	// Finished: every event queued, none pending.
	Finished bool
}

func toReplayView(rp bahasha.Replay) replayView {
	v := replayView{Replay: rp, Done: max(rp.Done(), 0), Finished: rp.Finished()}
	switch {
	case v.Finished:
		v.Percent = 100
	case rp.Total > 0:
		v.Percent = min(v.Done*100/rp.Total, 99)
	}
	return v
}

type replaysData struct {
	Form replayForm
	// Preview is set after "Preview": how many events the range covers.
	Preview  bool
	Count    int
	Endpoint bool
	// Targets are the account's endpoints, for the form's select.
	Targets []replayTarget
	Replays []replayView
}

// parseReplayForm reads the form's range.
func parseReplayForm(v url.Values, now time.Time) (replayForm, replay.Params, error) {
	f := replayForm{From: v.Get("from"), To: v.Get("to"), OnlyFailed: v.Get("only_failed") != "", Endpoint: v.Get("endpoint")}
	p := replay.Params{OnlyFailed: f.OnlyFailed}
	var err error
	if f.Endpoint != "" {
		id, ok := bahasha.ParseEndpointID(f.Endpoint)
		if !ok {
			return f, p, badInput("Choose one of the listed endpoints to replay to.")
		}
		p.EndpointID = id
	}
	if f.From == "" {
		return f, p, badInput("Choose where the range starts (\"from\").")
	}
	if p.From, err = parseInputTime(f.From, "from"); err != nil {
		return f, p, err
	}
	if f.To == "" {
		p.To = now
	} else if p.To, err = parseInputTime(f.To, "to"); err != nil {
		return f, p, err
	}
	if !p.From.Before(now) {
		return f, p, badInput("The range starts in the future; there is nothing to replay yet.")
	}
	if !p.From.Before(p.To) {
		return f, p, badInput("The range ends before it starts; choose a \"from\" time earlier than the \"to\" time.")
	}
	p.To = minTime(p.To, now)
	return f, p, nil
}

func (d *Dashboard) replaysPage(ctx context.Context, acc bahasha.Account, data *replaysData) error {
	es, err := d.store.Endpoints(ctx, acc.ID)
	if err != nil {
		return err
	}
	for _, e := range es {
		data.Targets = append(data.Targets, replayTarget{ID: e.PublicID(), URL: e.URL, Primary: e.Primary})
	}
	data.Endpoint = len(es) > 0
	rps, err := d.store.Replays(ctx, store.ListReplaysParams{AccountID: acc.ID, Limit: 20})
	if err != nil {
		return err
	}
	for _, rp := range rps {
		data.Replays = append(data.Replays, toReplayView(rp))
	}
	return nil
}

// replayPage shows the form, the preview of a range (?preview=1) and the
// recent replays.
func (d *Dashboard) replayPage(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	now := d.now().UTC()
	// The last day by default; an empty "to" is now, whenever the replay
	// is confirmed.
	data := replaysData{Form: replayForm{From: now.Add(-24 * time.Hour).Format(inputLayout)}}
	q := r.URL.Query()
	status, prob := http.StatusOK, ""
	if q.Get("preview") != "" {
		f, p, err := parseReplayForm(q, d.now())
		data.Form = f
		if err == nil {
			p.AccountID = acc.ID
			data.Count, _, _, err = d.svc.Replay.Count(r.Context(), p)
			data.Preview = err == nil
		}
		if err != nil {
			status, prob = classify(err)
			if status >= 500 {
				return err
			}
		}
	}
	if err := d.replaysPage(r.Context(), acc, &data); err != nil {
		return err
	}
	d.render(w, r, status, "replays", page{Title: "Replay", Nav: "replay", Account: &acc, Data: data, Problem: prob})
	return nil
}

// createReplay starts a replay of the confirmed range and shows its
// progress.
func (d *Dashboard) createReplay(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	if err := parseForm(r); err != nil {
		return formError(err)
	}
	f, p, err := parseReplayForm(r.PostForm, d.now())
	if err == nil {
		p.AccountID = acc.ID
		var rp bahasha.Replay
		rp, err = d.svc.Replay.Start(r.Context(), p)
		if errors.Is(err, problem.ErrNoWebhook) {
			err = noWebhook("No webhook is registered, so there is nowhere to replay to. Register one in Settings → Webhooks first.")
		}
		if err == nil {
			http.Redirect(w, r, "/replay/"+replayName(rp.ID), http.StatusSeeOther)
			return nil
		}
	}
	status, prob := classify(err)
	if status >= 500 {
		return err
	}
	data := replaysData{Form: f}
	if err := d.replaysPage(r.Context(), acc, &data); err != nil {
		return err
	}
	d.render(w, r, status, "replays", page{Title: "Replay", Nav: "replay", Account: &acc, Data: data, Problem: prob})
	return nil
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// replayName is a replay's id as the API shows it.
func replayName(id int64) string { return "rpl_" + strconv.FormatInt(id, 10) }

func (d *Dashboard) replayID(r *http.Request) (int64, error) {
	id, ok := parseID(r.PathValue("id"), "rpl_")
	if !ok {
		return 0, notFound("%q is not a replay id; replay ids look like rpl_12. Open a replay from the list on the Replay page.", clip(r.PathValue("id")))
	}
	return id, nil
}

func (d *Dashboard) loadReplay(ctx context.Context, acc bahasha.Account, id int64) (replayView, error) {
	rp, err := d.store.Replay(ctx, store.GetReplayParams{AccountID: acc.ID, ReplayID: id})
	if errors.Is(err, store.ErrNotFound) {
		return replayView{}, notFound("There is no replay %s in this account.", replayName(id))
	}
	return toReplayView(rp), err
}

type replayData struct {
	replayView
	Stream string
}

// replay shows one replay's progress, updated live until it is finished.
func (d *Dashboard) replay(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	id, err := d.replayID(r)
	if err != nil {
		return err
	}
	v, err := d.loadReplay(r.Context(), acc, id)
	if err != nil {
		return err
	}
	data := replayData{replayView: v}
	if !v.Finished {
		data.Stream = "/replay/" + replayName(id) + "/stream"
	}
	d.render(w, r, http.StatusOK, "replay", page{Title: "Replay " + replayName(id), Nav: "replay", Account: &acc, Data: data})
	return nil
}

func (d *Dashboard) replayStream(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	id, err := d.replayID(r)
	if err != nil {
		return err
	}
	if _, err := d.loadReplay(r.Context(), acc, id); err != nil {
		return err
	}
	d.stream(w, r, acc, func(ctx context.Context) ([]byte, bool, error) {
		v, err := d.loadReplay(ctx, acc, id)
		if err != nil {
			var p *problem.Error
			return nil, errors.As(err, &p), err
		}
		b, err := d.fragment("replay_progress", v)
		return b, v.Finished, err
	})
	return nil
}
