package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/store"
)

func eventID(id int64) string    { return "evt_" + strconv.FormatInt(id, 10) }
func deliveryID(id int64) string { return "dlv_" + strconv.FormatInt(id, 10) }

func deliveryIDOrNil(id int64) *string {
	if id == 0 {
		return nil
	}
	s := deliveryID(id)
	return &s
}

// parseDeliveryID reads "dlv_123" (or "123").
func parseDeliveryID(s string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimPrefix(s, "dlv_"), 10, 64)
	return n, err == nil && n > 0
}

type deliveryJSON struct {
	ID             string          `json:"id"`
	EventID        string          `json:"event_id"`
	EndpointID     string          `json:"endpoint_id"`
	Kind           string          `json:"kind"`
	WAMID          string          `json:"wamid"`
	Status         string          `json:"status,omitempty"`
	MessageType    string          `json:"message_type,omitempty"`
	PhoneNumberID  string          `json:"phone_number_id"`
	State          string          `json:"state"`
	Attempts       int             `json:"attempts"`
	NextAttemptAt  *time.Time      `json:"next_attempt_at"`
	LastStatusCode int             `json:"last_status_code,omitempty"`
	LastError      string          `json:"last_error,omitempty"`
	CreatedAt      time.Time       `json:"created_at"`
	DeliveredAt    *time.Time      `json:"delivered_at"`
	Payload        json.RawMessage `json:"payload"`
	Contact        json.RawMessage `json:"contact,omitempty"`
	AttemptList    []attemptJSON   `json:"attempt_log,omitempty"`
}

type attemptJSON struct {
	Number       int       `json:"number"`
	StartedAt    time.Time `json:"started_at"`
	DurationMS   float64   `json:"duration_ms"`
	StatusCode   int       `json:"status_code"`
	Error        string    `json:"error,omitempty"`
	ResponseBody string    `json:"response_body"`
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func toDeliveryJSON(d bahasha.Delivery) deliveryJSON {
	out := deliveryJSON{ID: deliveryID(d.ID), EventID: eventID(d.EventID), EndpointID: bahasha.Endpoint{ID: d.EndpointID}.PublicID(), Kind: string(d.Event.Kind), WAMID: d.Event.WAMID,
		Status: d.Event.Status, MessageType: d.Event.MessageType, PhoneNumberID: d.Event.PhoneNumberID, State: string(d.State),
		Attempts: d.Attempts, LastStatusCode: d.LastStatusCode, LastError: d.LastError, CreatedAt: d.CreatedAt,
		DeliveredAt: timePtr(d.DeliveredAt), Payload: bahasha.ValidUTF8(d.Event.Payload)}
	if len(d.Event.Contact) > 0 {
		out.Contact = bahasha.ValidUTF8(d.Event.Contact)
	}
	if d.State == bahasha.DeliveryPending {
		out.NextAttemptAt = timePtr(d.NextAttemptAt)
	}
	return out
}

func (a *API) listDeliveries(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	q := r.URL.Query()
	p := store.ListDeliveriesParams{AccountID: acc.ID, Limit: 50}
	id, err := a.endpointQuery(r, acc.ID)
	if err != nil {
		return err
	}
	p.EndpointID = id
	if s := q.Get("state"); s != "" {
		if !bahasha.ValidDeliveryState(bahasha.DeliveryState(s)) {
			return problem.Invalid(`"state" must be pending, delivered, failed or superseded`)
		}
		p.State = bahasha.DeliveryState(s)
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			return problem.Invalid(`"limit" must be a whole number from 1 to 1000`)
		}
		p.Limit = n
	}
	if s := q.Get("before"); s != "" {
		id, ok := parseDeliveryID(s)
		if !ok {
			return problem.Invalid(`"before" must be a delivery id such as dlv_123 (the next_cursor of the previous page)`)
		}
		p.Before = id
	}
	for _, f := range []struct {
		name string
		dst  *time.Time
	}{{"since", &p.Since}, {"until", &p.Until}} {
		if s := q.Get(f.name); s != "" {
			t, err := parseTime(f.name, s)
			if err != nil {
				return err
			}
			*f.dst = t
		}
	}
	ds, err := a.store.Deliveries(r.Context(), p)
	if err != nil {
		return err
	}
	out := make([]deliveryJSON, 0, len(ds))
	for _, d := range ds {
		out = append(out, toDeliveryJSON(d))
	}
	var next *string
	if len(ds) == p.Limit {
		next = deliveryIDOrNil(ds[len(ds)-1].ID)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out, "next_cursor": next})
	return nil
}

func (a *API) delivery(r *http.Request) (int64, error) {
	id, ok := parseDeliveryID(r.PathValue("id"))
	if !ok {
		return 0, problem.New(http.StatusNotFound, "not_found", "%q is not a delivery id; ids look like dlv_123", r.PathValue("id"))
	}
	return id, nil
}

func (a *API) getDelivery(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	id, err := a.delivery(r)
	if err != nil {
		return err
	}
	d, attempts, err := a.store.Delivery(r.Context(), store.GetDeliveryParams{AccountID: acc.ID, DeliveryID: id})
	if errors.Is(err, store.ErrNotFound) {
		return problem.New(http.StatusNotFound, "not_found", "no delivery %s in this account", deliveryID(id))
	}
	if err != nil {
		return err
	}
	out := toDeliveryJSON(d)
	out.AttemptList = []attemptJSON{}
	for _, at := range attempts {
		out.AttemptList = append(out.AttemptList, attemptJSON{Number: at.Number, StartedAt: at.StartedAt,
			DurationMS: float64(at.Duration.Microseconds()) / 1000, StatusCode: at.StatusCode, Error: at.Error, ResponseBody: at.ResponseBody})
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func (a *API) retryDelivery(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	id, err := a.delivery(r)
	if err != nil {
		return err
	}
	d, err := a.store.RetryDelivery(r.Context(), store.RetryDeliveryParams{AccountID: acc.ID, DeliveryID: id, Now: a.now()})
	if errors.Is(err, store.ErrNotFound) {
		if _, _, gerr := a.store.Delivery(r.Context(), store.GetDeliveryParams{AccountID: acc.ID, DeliveryID: id}); gerr == nil {
			if es, lerr := a.store.Endpoints(r.Context(), acc.ID); lerr == nil && len(es) == 0 {
				return problem.ErrNoWebhook // as before endpoints were many
			}
			return problem.NotFound("endpoint_removed", "the endpoint of delivery %s was removed, so it cannot be retried; replay its time range to another endpoint (POST /v1/webhook/replay with endpoint_id)", deliveryID(id))
		}
		return problem.New(http.StatusNotFound, "not_found", "no delivery %s in this account", deliveryID(id))
	}
	if err != nil {
		return err
	}
	a.waker.Wake()
	writeJSON(w, http.StatusAccepted, toDeliveryJSON(d))
	return nil
}
