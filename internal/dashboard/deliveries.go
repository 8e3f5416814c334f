package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/delivery"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/sdk/webhook"
)

// deliveryFilter is the deliveries page's filter form, as entered.
type deliveryFilter struct {
	State string
	// Endpoint is an endpoint's public id ("wh_12"), "" for all.
	Endpoint string
	// Range is "", "1h", "24h", "7d" or "custom" (Since/Until).
	Range        string
	Since, Until string
	Before       int64
}

var ranges = map[string]time.Duration{"1h": time.Hour, "24h": 24 * time.Hour, "7d": 7 * 24 * time.Hour}

// parseDeliveryFilter reads the filter of q and turns it into the store's
// parameters at now.
func parseDeliveryFilter(q url.Values, accountID string, limit int, now time.Time) (deliveryFilter, store.ListDeliveriesParams, error) {
	f := deliveryFilter{State: q.Get("state"), Endpoint: q.Get("endpoint"), Range: q.Get("range"), Since: q.Get("since"), Until: q.Get("until")}
	p := store.ListDeliveriesParams{AccountID: accountID, Limit: limit}
	if f.Endpoint != "" {
		id, ok := bahasha.ParseEndpointID(f.Endpoint)
		if !ok {
			return f, p, badInput("The endpoint filter %q is not an endpoint id such as wh_12; choose an endpoint from the list.", clip(f.Endpoint))
		}
		p.EndpointID = id
	}
	if f.State != "" {
		if !bahasha.ValidDeliveryState(bahasha.DeliveryState(f.State)) {
			return f, p, badInput("The state filter %q is not one Bahasha knows; choose pending, delivered, failed or superseded.", clip(f.State))
		}
		p.State = bahasha.DeliveryState(f.State)
	}
	if f.Range == "" && (f.Since != "" || f.Until != "") {
		f.Range = "custom"
	}
	switch d, ok := ranges[f.Range]; {
	case ok:
		p.Since = now.Add(-d)
	case f.Range == "":
	case f.Range == "custom":
		var err error
		if p.Since, err = parseInputTime(f.Since, "from"); err != nil {
			return f, p, err
		}
		if p.Until, err = parseInputTime(f.Until, "until"); err != nil {
			return f, p, err
		}
		if !p.Since.IsZero() && !p.Until.IsZero() && !p.Since.Before(p.Until) {
			return f, p, badInput("The time range ends before it starts; choose a \"from\" time earlier than the \"until\" time.")
		}
	default:
		return f, p, badInput("The time filter %q is not one Bahasha knows; choose the last hour, day or week, or a custom range.", clip(f.Range))
	}
	if s := q.Get("before"); s != "" {
		id, ok := parseID(s, "dlv_")
		if !ok {
			return f, p, badInput("The page cursor %q is not a delivery id such as dlv_123; go back to the newest deliveries.", clip(s))
		}
		f.Before, p.Before = id, id
	}
	return f, p, nil
}

// query is the filter as a query string, without the cursor.
func (f deliveryFilter) query() url.Values {
	v := url.Values{}
	if f.State != "" {
		v.Set("state", f.State)
	}
	if f.Endpoint != "" {
		v.Set("endpoint", f.Endpoint)
	}
	if f.Range != "" {
		v.Set("range", f.Range)
	}
	if f.Range == "custom" {
		if f.Since != "" {
			v.Set("since", f.Since)
		}
		if f.Until != "" {
			v.Set("until", f.Until)
		}
	}
	return v
}

// parseInputTime reads a datetime-local value (UTC); "" is the zero time.
func parseInputTime(s, field string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{inputLayout, "2006-01-02T15:04:05", "2006-01-02 15:04", "2006-01-02 15:04:05", time.RFC3339} {
		if t, err := time.ParseInLocation(layout, s, time.UTC); err == nil {
			if t.Year() < 2000 || t.Year() > 9999 {
				break
			}
			return t.UTC(), nil
		}
	}
	return time.Time{}, badInput("The %q time %q is not a date and time such as 2025-01-31T14:30 (UTC).", field, clip(s))
}

// parseID reads "<prefix>123" or "123".
func parseID(s, prefix string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimPrefix(s, prefix), 10, 64)
	return n, err == nil && n > 0
}

// clip shortens a user's value for a message.
func clip(s string) string {
	if len(s) > 40 {
		cut := 40
		for cut > 0 && !utf8RuneStart(s[cut]) {
			cut--
		}
		return s[:cut] + "…"
	}
	return s
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }

// deliveryRow is one delivery as the table shows it.
type deliveryRow struct {
	bahasha.Delivery
	Latency time.Duration
}

func toRows(ds []bahasha.Delivery) []deliveryRow {
	rows := make([]deliveryRow, len(ds))
	for i, d := range ds {
		rows[i] = deliveryRow{Delivery: d}
		if d.State == bahasha.DeliveryDelivered && !d.DeliveredAt.IsZero() && !d.WindowStart.IsZero() {
			rows[i].Latency = d.DeliveredAt.Sub(d.WindowStart)
		}
	}
	return rows
}

type deliveriesData struct {
	Filter deliveryFilter
	Rows   []deliveryRow
	// Older is the link to the next page, "" on the last.
	Older string
	// Newest is the link back to the first page, "" on it.
	Newest string
	// Stream is the live updates' URL, "" when the page does not update
	// (an older page).
	Stream string
	States []string
	// Endpoints are the account's, for the endpoint filter.
	Endpoints []endpointOption
}

// endpointOption is an endpoint in a select: its public id, and the id
// with its URL.
type endpointOption struct{ ID, Label string }

func endpointOptions(es []bahasha.Endpoint) []endpointOption {
	out := make([]endpointOption, len(es))
	for i, e := range es {
		out[i] = endpointOption{e.PublicID(), e.PublicID() + " — " + e.URL}
		if e.Description != "" {
			out[i].Label += " (" + e.Description + ")"
		}
	}
	return out
}

// checkEndpointFilter refuses a filter naming an endpoint the account
// does not have (another account's among them).
func checkEndpointFilter(p store.ListDeliveriesParams, es []bahasha.Endpoint) error {
	if p.EndpointID == 0 || slices.ContainsFunc(es, func(e bahasha.Endpoint) bool { return e.ID == p.EndpointID }) {
		return nil
	}
	return notFound("This account has no endpoint %s%d; choose an endpoint from the list.", bahasha.EndpointPrefix, p.EndpointID)
}

func (d *Dashboard) deliveries(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	data := deliveriesData{States: []string{"pending", "delivered", "failed", "superseded"}}
	es, err := d.store.Endpoints(r.Context(), acc.ID)
	if err != nil {
		return err
	}
	data.Endpoints = endpointOptions(es)
	f, p, err := parseDeliveryFilter(r.URL.Query(), acc.ID, d.cfg.PageSize, d.now())
	data.Filter = f
	if err == nil {
		err = checkEndpointFilter(p, es)
	}
	if err != nil {
		status, msg := classify(err)
		d.render(w, r, status, "deliveries", page{Title: "Deliveries", Nav: "deliveries", Account: &acc, Data: data, Problem: msg})
		return nil
	}
	ds, err := d.store.Deliveries(r.Context(), p)
	if err != nil {
		return err
	}
	data.Rows = toRows(ds)
	q := f.query()
	if len(ds) == p.Limit {
		older := f.query()
		older.Set("before", "dlv_"+strconv.FormatInt(ds[len(ds)-1].ID, 10))
		data.Older = "/deliveries?" + older.Encode()
	}
	if f.Before != 0 {
		data.Newest = "/deliveries?" + q.Encode()
	} else {
		data.Stream = "/deliveries/stream?" + q.Encode()
	}
	d.render(w, r, http.StatusOK, "deliveries", page{Title: "Deliveries", Nav: "deliveries", Account: &acc, Data: data})
	return nil
}

// deliveriesStream sends the deliveries table's rows whenever they change.
func (d *Dashboard) deliveriesStream(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	q := r.URL.Query()
	q.Del("before")
	_, p, err := parseDeliveryFilter(q, acc.ID, d.cfg.PageSize, d.now())
	if err != nil {
		return err
	}
	if p.EndpointID != 0 {
		es, err := d.store.Endpoints(r.Context(), acc.ID)
		if err != nil {
			return err
		}
		if err := checkEndpointFilter(p, es); err != nil {
			return err
		}
	}
	d.stream(w, r, acc, func(ctx context.Context) ([]byte, bool, error) {
		_, p, err := parseDeliveryFilter(q, acc.ID, d.cfg.PageSize, d.now())
		if err != nil {
			return nil, true, err
		}
		ds, err := d.store.Deliveries(ctx, p)
		if err != nil {
			return nil, false, err
		}
		b, err := d.fragment("delivery_rows", toRows(ds))
		return b, false, err
	})
	return nil
}

type deliveryData struct {
	deliveryRow
	// AttemptLog is every attempt, oldest first.
	AttemptLog []bahasha.Attempt
	// Body is the envelope this event goes out in, exactly; Pretty the
	// same indented for reading.
	Body, Pretty string
	Headers      []headerView
	// Endpoint is where a retry goes: the delivery's own endpoint; nil
	// when it was removed (EndpointGone).
	Endpoint     *bahasha.Endpoint
	EndpointGone bool
}

func (d *Dashboard) deliveryID(r *http.Request) (int64, error) {
	id, ok := parseID(r.PathValue("id"), "dlv_")
	if !ok {
		return 0, notFound("%q is not a delivery id; delivery ids look like dlv_123.", clip(r.PathValue("id")))
	}
	return id, nil
}

var deliveryFlashes = map[string]string{
	"queued": "Queued: the delivery will be attempted again now, with a fresh retry window.",
}

func (d *Dashboard) delivery(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	id, err := d.deliveryID(r)
	if err != nil {
		return err
	}
	data, err := d.deliveryPage(r.Context(), acc, id)
	if err != nil {
		return err
	}
	d.render(w, r, http.StatusOK, "delivery", page{Title: "Delivery dlv_" + strconv.FormatInt(id, 10), Nav: "deliveries",
		Account: &acc, Data: data, Flash: deliveryFlashes[r.URL.Query().Get("flash")]})
	return nil
}

// deliveryStream keeps a delivery's page live: its summary and attempts
// are sent again whenever they change, until it is delivered or superseded.
func (d *Dashboard) deliveryStream(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	id, err := d.deliveryID(r)
	if err != nil {
		return err
	}
	if _, err := d.deliveryPage(r.Context(), acc, id); err != nil {
		return err
	}
	d.stream(w, r, acc, func(ctx context.Context) ([]byte, bool, error) {
		data, err := d.deliveryPage(ctx, acc, id)
		if err != nil {
			var p *problem.Error
			return nil, errors.As(err, &p), err
		}
		b, err := d.fragment("delivery_live", data)
		final := data.State == bahasha.DeliveryDelivered || data.State == bahasha.DeliverySuperseded
		return b, final, err
	})
	return nil
}

func (d *Dashboard) deliveryPage(ctx context.Context, acc bahasha.Account, id int64) (deliveryData, error) {
	dl, attempts, err := d.store.Delivery(ctx, store.GetDeliveryParams{AccountID: acc.ID, DeliveryID: id})
	if errors.Is(err, store.ErrNotFound) {
		return deliveryData{}, notFound("There is no delivery dlv_%d in this account.", id)
	}
	if err != nil {
		return deliveryData{}, err
	}
	data := deliveryData{deliveryRow: toRows([]bahasha.Delivery{dl})[0], AttemptLog: attempts}
	e, gone, err := d.retryTarget(ctx, acc, dl)
	if err != nil {
		return data, err
	}
	data.Endpoint, data.EndpointGone = e, gone
	body, err := delivery.Envelope([]bahasha.Event{dl.Event})
	if err != nil {
		// A stored event that cannot be rendered is shown as stored.
		data.Body = string(dl.Event.Payload)
	} else {
		data.Body = string(body)
		var pretty bytes.Buffer
		if json.Indent(&pretty, body, "", "  ") == nil {
			data.Pretty = pretty.String()
		}
	}
	data.Headers = []headerView{
		{"Content-Type", "application/json"},
		{"User-Agent", d.cfg.UserAgent},
		{webhook.SignatureHeader, webhook.Sign(acc.AppSecret, []byte(data.Body))},
		{delivery.HeaderDeliveryID, "dlv_" + strconv.FormatInt(dl.ID, 10)},
		{delivery.HeaderIdempotencyKey, "dlv_" + strconv.FormatInt(dl.ID, 10)},
		{delivery.HeaderAttempt, strconv.Itoa(max(dl.Attempts, 1))},
	}
	if e != nil && !gone {
		// Its endpoint's custom headers, masked: their values are secrets.
		data.Headers = append(data.Headers, maskedHeaders(e.Headers)...)
	}
	return data, nil
}

// retryTarget is the endpoint a retry of dl goes to: its own; nil and
// gone when it was removed (a replay then re-sends the event to another).
func (d *Dashboard) retryTarget(ctx context.Context, acc bahasha.Account, dl bahasha.Delivery) (e *bahasha.Endpoint, gone bool, err error) {
	own, err := d.store.EndpointByID(ctx, store.GetEndpointParams{AccountID: acc.ID, EndpointID: dl.EndpointID})
	switch {
	case err == nil:
		return &own, false, nil
	case errors.Is(err, store.ErrNotFound):
		return nil, true, nil
	}
	return nil, false, err
}

// retry makes a delivery due now and goes back to it.
func (d *Dashboard) retry(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	id, err := d.deliveryID(r)
	if err != nil {
		return err
	}
	dl, _, err := d.store.Delivery(r.Context(), store.GetDeliveryParams{AccountID: acc.ID, DeliveryID: id})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("There is no delivery dlv_%d in this account.", id)
	} else if err != nil {
		return err
	}
	if e, _, err := d.retryTarget(r.Context(), acc, dl); err != nil {
		return err
	} else if e == nil {
		return noWebhook("This delivery's endpoint was removed, so it cannot be retried. Replay its time range to another endpoint instead.")
	}
	_, err = d.store.RetryDelivery(r.Context(), store.RetryDeliveryParams{AccountID: acc.ID, DeliveryID: id, Now: d.now()})
	if errors.Is(err, store.ErrNotFound) {
		return notFound("There is no delivery dlv_%d in this account.", id)
	}
	if err != nil {
		return err
	}
	d.waker.Wake()
	http.Redirect(w, r, "/deliveries/dlv_"+strconv.FormatInt(id, 10)+"?flash=queued", http.StatusSeeOther)
	return nil
}
