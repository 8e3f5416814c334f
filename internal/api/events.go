package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// ingestRequest is the body of POST /v1/events: a batch of statuses and
// messages from Bahasha's messaging core. Events are decoded one by one, so
// that a mistake in one is reported with its index.
type ingestRequest struct {
	Events []json.RawMessage `json:"events"`
}

// ingestEvent is one event: a status or a message (with the sender's
// contact) for one of the account's phone numbers, identified by the
// producer's own id so that a retried batch is not ingested twice.
type ingestEvent struct {
	ID            string            `json:"id"`
	PhoneNumberID string            `json:"phone_number_id"`
	Status        *whatsapp.Status  `json:"status"`
	Message       *whatsapp.Message `json:"message"`
	Contact       *whatsapp.Contact `json:"contact"`
}

type itemError struct {
	Index   int    `json:"index"`
	ID      string `json:"id,omitempty"`
	Field   string `json:"field"`
	Message string `json:"message"`
}

// MaxProducerIDLength caps an event's producer id.
const MaxProducerIDLength = 200

// bodies holds the buffers ingest bodies are read into.
var bodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledBody is the largest buffer put back into bodies.
const maxPooledBody = 1 << 20

// decodeEvents reads a POST /v1/events body. A body whose events all decode
// cleanly is decoded in one pass; any other goes through decodeEach, which
// reports each bad event with its index.
func (a *API) decodeEvents(w http.ResponseWriter, r *http.Request) ([]ingestEvent, []itemError, error) {
	buf := bodies.Get().(*bytes.Buffer)
	buf.Reset()
	defer func() {
		if buf.Cap() <= maxPooledBody {
			bodies.Put(buf)
		}
	}()
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, a.cfg.MaxEventsBodyBytes)); err != nil {
		return nil, nil, describeJSONError(err) // too large (413), or the client went away
	}
	if te := checkText(buf.Bytes()); te != nil {
		index, field, ok := te.eventField()
		if !ok {
			return nil, nil, te.apiError()
		}
		events, errs, err := a.decodeEach(buf.Bytes())
		if err != nil {
			return nil, nil, err
		}
		if index >= len(events) {
			return nil, nil, te.apiError()
		}
		// The text error is the cause of any other error of that event (an
		// unknown field whose name is not UTF-8, say).
		errs = slices.DeleteFunc(errs, func(e itemError) bool { return e.Index == index })
		item := itemError{Index: index, Field: field, Message: textMessage(field)}
		if field == "" {
			item.Field = "event" // a field name of the event itself
		}
		errs = append(errs, item)
		return events, errs, nil
	}
	var all struct {
		Events []ingestEvent `json:"events"`
	}
	if decodeFrom(bytes.NewReader(buf.Bytes()), &all, true) == nil {
		if err := a.checkBatch(len(all.Events)); err != nil {
			return nil, nil, err
		}
		return all.Events, nil, nil
	}
	return a.decodeEach(buf.Bytes())
}

// checkBatch checks a batch's size.
func (a *API) checkBatch(n int) error {
	if n == 0 {
		return problem.Invalid(`"events" must hold at least one event: {"events":[{"id":"…","phone_number_id":"…","status":{…}}]}`)
	}
	if n > a.cfg.MaxEventsPerBatch {
		return problem.Invalid(`a batch holds at most %d events; split it`, a.cfg.MaxEventsPerBatch)
	}
	return nil
}

// decodeEach decodes a body event by event: the events that decode, and an
// item error for each that does not (its index in the batch, with the zero
// event in its place).
func (a *API) decodeEach(body []byte) ([]ingestEvent, []itemError, error) {
	var req ingestRequest
	if err := decodeFrom(bytes.NewReader(body), &req, true); err != nil {
		return nil, nil, err
	}
	if err := a.checkBatch(len(req.Events)); err != nil {
		return nil, nil, err
	}
	events := make([]ingestEvent, len(req.Events))
	var errs []itemError
	for i, raw := range req.Events {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&events[i]); err != nil {
			msg := err.Error()
			var apiErr *problem.Error
			if errors.As(describeJSONError(err), &apiErr) {
				msg = apiErr.Message
			}
			errs = append(errs, itemError{Index: i, Field: "event", Message: msg})
		}
	}
	return events, errs, nil
}

func (a *API) ingestEvents(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	batch, errs, err := a.decodeEvents(w, r)
	if err != nil {
		return err
	}
	numbers, err := a.store.PhoneNumbers(r.Context(), acc.ID)
	if err != nil {
		return err
	}
	byID := make(map[string]bahasha.PhoneNumber, len(numbers))
	for _, n := range numbers {
		byID[n.ID] = n
	}
	now := a.now()
	events := make([]bahasha.Event, 0, len(batch))
	seen := make(map[string]int, len(batch))
	undecoded := make([]bool, len(batch))
	for _, e := range errs {
		undecoded[e.Index] = true
	}
	for i, in := range batch {
		if undecoded[i] {
			continue
		}
		ev, ierr := a.eventFrom(in, byID, now)
		if ierr == nil {
			if first, dup := seen[in.ID]; dup {
				ierr = &itemError{Field: "id", Message: fmt.Sprintf("the same id as event %d of this batch; every event needs its own id", first)}
			}
			seen[in.ID] = i
		}
		if ierr != nil {
			ierr.Index, ierr.ID = i, in.ID
			errs = append(errs, *ierr)
			continue
		}
		ev.AccountID = acc.ID
		events = append(events, ev)
	}
	if len(errs) > 0 {
		slices.SortStableFunc(errs, func(a, b itemError) int { return a.Index - b.Index })
		return &problem.Error{Status: http.StatusUnprocessableEntity, Code: "invalid_events",
			Message: fmt.Sprintf("%d of %d events are not valid (the first, events[%d]: %s), so none was ingested; fix them and send the batch again (ids already ingested are skipped)",
				len(errs), len(batch), errs[0].Index, errs[0].Message),
			Details: map[string]any{"errors": errs}}
	}
	results, err := a.store.InsertEvents(r.Context(), store.InsertEventsParams{AccountID: acc.ID, Events: events, Now: now, Source: "api"})
	if err != nil {
		return err
	}
	a.waker.Wake()
	type resultJSON struct {
		ID         string  `json:"id"`
		EventID    string  `json:"event_id"`
		Duplicate  bool    `json:"duplicate"`
		DeliveryID *string `json:"delivery_id"`
		// DeliveryIDs lists one delivery per endpoint the event was
		// routed to (DeliveryID is the first).
		DeliveryIDs []string `json:"delivery_ids"`
	}
	out := make([]resultJSON, len(results))
	dups := 0
	for i, res := range results {
		out[i] = resultJSON{ID: events[i].ProducerID, EventID: eventID(res.EventID), Duplicate: res.Duplicate, DeliveryID: deliveryIDOrNil(res.DeliveryID),
			DeliveryIDs: deliveryIDs(res.DeliveryIDs)}
		if res.Duplicate {
			dups++
		}
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"accepted": len(results) - dups, "duplicates": dups, "results": out})
	return nil
}

func (a *API) eventFrom(in ingestEvent, numbers map[string]bahasha.PhoneNumber, now time.Time) (bahasha.Event, *itemError) {
	fail := func(field, format string, args ...any) (bahasha.Event, *itemError) {
		return bahasha.Event{}, &itemError{Field: field, Message: fmt.Sprintf(format, args...)}
	}
	if strings.TrimSpace(in.ID) == "" {
		return fail("id", "each event needs an id, unique per event, so that a retried batch is not ingested twice")
	}
	if len(in.ID) > MaxProducerIDLength {
		return fail("id", "the id is longer than %d characters", MaxProducerIDLength)
	}
	number, ok := numbers[in.PhoneNumberID]
	if !ok {
		if in.PhoneNumberID == "" {
			return fail("phone_number_id", "phone_number_id is required")
		}
		return fail("phone_number_id", "%q is not one of this account's phone numbers (GET /v1/phone_numbers)", in.PhoneNumberID)
	}
	ev := bahasha.Event{ProducerID: in.ID, WABAID: number.WABAID, PhoneNumberID: number.ID, DisplayPhoneNumber: number.DisplayPhoneNumber,
		CreatedAt: now, AvailableAt: now}
	switch {
	case in.Status != nil && in.Message != nil:
		return fail("status", "an event is a status or a message, not both; send two events")
	case in.Status != nil:
		s := in.Status
		if s.ID == "" {
			return fail("status.id", "the status needs the wamid of the message it reports on")
		}
		if s.Status == "" {
			return fail("status.status", "the status needs a value: sent, delivered, read, failed, …")
		}
		if s.RecipientID == "" && s.RecipientUserID == "" {
			return fail("status.recipient_id", "the status needs recipient_id (or recipient_user_id)")
		}
		if s.Status == whatsapp.StatusFailed && len(s.Errors) == 0 {
			return fail("status.errors", "a failed status needs errors[] saying why")
		}
		payload := []byte(s.Raw) // exactly what the producer sent, unknown fields included
		if s.Timestamp.IsZero() || len(payload) == 0 {
			if s.Timestamp.IsZero() {
				s.Timestamp = whatsapp.TimestampOf(now)
			}
			var err error
			if payload, err = json.Marshal(s); err != nil {
				return fail("status", "the status cannot be encoded: %v", err)
			}
		}
		ev.Kind, ev.WAMID, ev.Status, ev.Payload = bahasha.KindStatus, s.ID, string(s.Status), payload
	case in.Message != nil:
		m := in.Message
		if m.ID == "" {
			return fail("message.id", "the message needs its wamid")
		}
		if m.Type == "" {
			return fail("message.type", "the message needs a type: text, image, …")
		}
		if m.From == "" && m.FromUserID == "" {
			return fail("message.from", "the message needs from (or from_user_id)")
		}
		payload := []byte(m.Raw)
		if m.Timestamp.IsZero() || len(payload) == 0 {
			if m.Timestamp.IsZero() {
				m.Timestamp = whatsapp.TimestampOf(now)
			}
			var err error
			if payload, err = json.Marshal(m); err != nil {
				return fail("message", "the message cannot be encoded: %v", err)
			}
		}
		ev.Kind, ev.WAMID, ev.MessageType, ev.Payload = bahasha.KindMessage, m.ID, string(m.Type), payload
		if in.Contact != nil {
			c, err := []byte(in.Contact.Raw), error(nil)
			if len(c) == 0 {
				c, err = json.Marshal(in.Contact)
			}
			if err != nil {
				return fail("contact", "the contact cannot be encoded: %v", err)
			}
			ev.Contact = c
		}
	default:
		return fail("status", `an event needs a "status" or a "message"`)
	}
	return ev, nil
}
