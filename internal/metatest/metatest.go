// Package metatest is a stand-in for Meta's WhatsApp Cloud API webhooks, for
// tests: it builds notifications in Meta's published shapes (the envelope
// of object, entry[{id, time?, changes[{field, value}]}], with the values of
// Meta's webhook reference), signs them with an app secret as Meta does
// (X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the body>) and POSTs
// them to a callback URL, retrying until it is answered 200, as Meta does.
// No test reaches Meta; this package is built strictly from its documented
// payloads.
package metatest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/bahasha/bahasha/sdk/webhook"
)

// Meta POSTs notifications to a callback URL.
type Meta struct {
	// AppSecret signs the POSTs.
	AppSecret string
	// URL is the callback URL (a bahasha serve's /meta/webhook).
	URL    string
	Client *http.Client
	// RetryDelay is the first wait between attempts of Deliver, doubling
	// up to a second. Default 10ms (Meta waits far longer; tests do not).
	RetryDelay time.Duration
}

// Post sends body once, signed, and returns the answer's status.
func (m *Meta) Post(ctx context.Context, body []byte) (int, error) {
	return m.PostSigned(ctx, body, webhook.Sign(m.AppSecret, body))
}

// PostSigned sends body once with signature as its X-Hub-Signature-256.
func (m *Meta) PostSigned(ctx context.Context, body []byte, signature string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, m.URL, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	if signature != "" {
		req.Header.Set("X-Hub-Signature-256", signature)
	}
	c := m.Client
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	io.Copy(io.Discard, res.Body)
	return res.StatusCode, nil
}

// Deliver sends body until it is answered 200 (a connection error or
// another status is retried, as Meta retries), and returns the number of
// attempts. It gives up when ctx ends.
func (m *Meta) Deliver(ctx context.Context, body []byte) (int, error) {
	wait := m.RetryDelay
	if wait <= 0 {
		wait = 10 * time.Millisecond
	}
	for attempt := 1; ; attempt++ {
		status, err := m.Post(ctx, body)
		if err == nil && status == http.StatusOK {
			return attempt, nil
		}
		select {
		case <-ctx.Done():
			return attempt, fmt.Errorf("metatest: not delivered after %d attempts (last: %d, %v): %w", attempt, status, err, ctx.Err())
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Second)
	}
}

// Handshake runs Meta's verification GET against the callback URL with
// token and returns the answer's status and body.
func (m *Meta) Handshake(ctx context.Context, token, challenge string) (int, string, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, m.URL, nil)
	if err != nil {
		return 0, "", err
	}
	q := req.URL.Query()
	q.Set("hub.mode", "subscribe")
	q.Set("hub.verify_token", token)
	q.Set("hub.challenge", challenge)
	req.URL.RawQuery = q.Encode()
	c := m.Client
	if c == nil {
		c = http.DefaultClient
	}
	res, err := c.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res.StatusCode, string(b), err
}

// Entry is one entry of a notification: a WABA's changes.
type Entry struct {
	// ID is the WABA id.
	ID string
	// Time, when not 0, is the entry's time (Meta sends it with the
	// account-level fields).
	Time    int64
	Changes []Change
}

// Change is one change: a field and its value.
type Change struct {
	Field string
	Value json.RawMessage
}

// Notification is the body of one POST holding entries.
func Notification(entries ...Entry) []byte {
	type change struct {
		Value json.RawMessage `json:"value"`
		Field string          `json:"field"`
	}
	type entry struct {
		ID      string   `json:"id"`
		Time    int64    `json:"time,omitempty"`
		Changes []change `json:"changes"`
	}
	body := struct {
		Object string  `json:"object"`
		Entry  []entry `json:"entry"`
	}{Object: "whatsapp_business_account"}
	for _, e := range entries {
		x := entry{ID: e.ID, Time: e.Time}
		for _, c := range e.Changes {
			x.Changes = append(x.Changes, change{Value: c.Value, Field: c.Field})
		}
		body.Entry = append(body.Entry, x)
	}
	b, err := json.Marshal(body)
	if err != nil {
		panic(err) // raw values are JSON by construction
	}
	return b
}

// Number is a business phone number as the messages field's metadata
// names it.
type Number struct {
	PhoneNumberID      string
	DisplayPhoneNumber string
}

// Messages is the value of a messages change for number: its contacts,
// messages and statuses (any may be empty).
func Messages(n Number, contacts, messages, statuses []json.RawMessage) Change {
	v := map[string]any{
		"messaging_product": "whatsapp",
		"metadata":          map[string]string{"display_phone_number": n.DisplayPhoneNumber, "phone_number_id": n.PhoneNumberID},
	}
	if len(contacts) > 0 {
		v["contacts"] = contacts
	}
	if len(messages) > 0 {
		v["messages"] = messages
	}
	if len(statuses) > 0 {
		v["statuses"] = statuses
	}
	return Change{Field: "messages", Value: raw(v)}
}

// Contact is a contacts entry: the customer's profile name and WhatsApp id.
func Contact(waID, name string) json.RawMessage {
	return raw(map[string]any{"profile": map[string]string{"name": name}, "wa_id": waID})
}

// Text is a text message from a customer.
func Text(wamid, from, body string, ts int64) json.RawMessage {
	return raw(map[string]any{"from": from, "id": wamid, "timestamp": fmt.Sprint(ts), "type": "text", "text": map[string]string{"body": body}})
}

// Status is a delivery report of a message the business sent, with the
// conversation and pricing objects Meta adds to sent, delivered and read
// statuses of a billable conversation.
func Status(wamid, recipient, status string, ts int64) json.RawMessage {
	v := map[string]any{"id": wamid, "status": status, "timestamp": fmt.Sprint(ts), "recipient_id": recipient}
	if status != "failed" {
		v["conversation"] = map[string]any{"id": "CONVERSATION_ID_" + recipient, "expiration_timestamp": fmt.Sprint(ts + 86400),
			"origin": map[string]string{"type": "service"}}
		v["pricing"] = map[string]any{"billable": true, "pricing_model": "PMP", "category": "service", "type": "regular"}
	} else {
		v["errors"] = []any{map[string]any{"code": 131047, "title": "Re-engagement message",
			"message": "Re-engagement message", "error_data": map[string]string{
				"details": "Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
			"href": "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/"}}
	}
	return raw(v)
}

// TemplateStatus is a message_template_status_update change.
func TemplateStatus(event string, templateID int64, name, language, reason string) Change {
	return Change{Field: "message_template_status_update", Value: raw(map[string]any{"event": event, "message_template_id": templateID,
		"message_template_name": name, "message_template_language": language, "reason": reason})}
}

// QualityUpdate is a phone_number_quality_update change: Meta names the
// number by its display number only.
func QualityUpdate(display, event, limit string) Change {
	return Change{Field: "phone_number_quality_update", Value: raw(map[string]any{"display_phone_number": display, "event": event,
		"current_limit": limit})}
}

func raw(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}
