// Package sandbox is the sandbox carrier: it plays out, like WhatsApp would,
// what happens to a message sent through the Messages API, and turns a
// simulated customer reply into an incoming-message event.
//
// A sent message produces status events, each with its own due time Pace
// apart, so that they are stored at once (durably, in one transaction with
// the API's answer) and delivered in order as they become due:
//
//   - a recipient ending in 0000 is not on WhatsApp: sent, then failed with
//     error 131026 "Message undeliverable";
//   - a recipient ending in 1111 never reads: sent, then delivered;
//   - anyone else: sent, delivered, read.
package sandbox

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// Recipient suffixes with special outcomes.
const (
	FailingSuffix   = "0000"
	NeverReadSuffix = "1111"
)

// DefaultPace is the default time between two statuses of one message.
const DefaultPace = time.Second

// UndeliverableError is the error of a failed status: the recipient is not a
// WhatsApp user.
func UndeliverableError() whatsapp.Error {
	return whatsapp.Error{Code: 131026, Title: "Message undeliverable", Message: "This message is undeliverable",
		ErrorData: whatsapp.ErrorData{Details: "The recipient phone number is not a WhatsApp phone number."}}
}

// NewWAMID returns a fresh WhatsApp message id.
func NewWAMID(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	b := make([]byte, 30)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("sandbox: randomness: %w", err)
	}
	return "wamid." + base64.StdEncoding.EncodeToString(b), nil
}

// Sent describes a message the business sent through the Messages API.
type Sent struct {
	Number    bahasha.PhoneNumber
	WAMID     string
	Recipient string
	// Category is the pricing category: "marketing", "utility",
	// "authentication" for templates, "service" otherwise.
	Category string
	// BizOpaqueCallbackData is echoed in every status.
	BizOpaqueCallbackData string
	Now                   time.Time
	Pace                  time.Duration
}

// StatusEvents returns the status events of a sent message, in lifecycle
// order, each due Pace after the previous one.
func StatusEvents(s Sent) ([]bahasha.Event, error) {
	steps := []whatsapp.StatusValue{whatsapp.StatusSent, whatsapp.StatusDelivered, whatsapp.StatusRead}
	switch {
	case strings.HasSuffix(s.Recipient, FailingSuffix):
		steps = []whatsapp.StatusValue{whatsapp.StatusSent, whatsapp.StatusFailed}
	case strings.HasSuffix(s.Recipient, NeverReadSuffix):
		steps = steps[:2]
	}
	conversation := &whatsapp.Conversation{
		ID:                  conversationID(s.WAMID),
		ExpirationTimestamp: whatsapp.TimestampOf(s.Now.Add(24 * time.Hour)),
		Origin:              whatsapp.Origin{Type: s.Category},
	}
	pricing := &whatsapp.Pricing{Billable: true, PricingModel: "PMP", Category: s.Category, Type: "regular"}
	events := make([]bahasha.Event, 0, len(steps))
	for i, step := range steps {
		at := s.Now.Add(time.Duration(i) * s.Pace)
		st := whatsapp.Status{ID: s.WAMID, Status: step, Timestamp: whatsapp.TimestampOf(at), RecipientID: s.Recipient,
			RecipientType: "individual", BizOpaqueCallbackData: s.BizOpaqueCallbackData}
		if step == whatsapp.StatusFailed {
			st.Errors = []whatsapp.Error{UndeliverableError()}
		} else {
			st.Conversation, st.Pricing = conversation, pricing
		}
		payload, err := json.Marshal(st)
		if err != nil {
			return nil, err
		}
		events = append(events, bahasha.Event{
			AccountID: s.Number.AccountID, ProducerID: "sandbox:" + s.WAMID + ":" + string(step), Kind: bahasha.KindStatus,
			WABAID: s.Number.WABAID, PhoneNumberID: s.Number.ID, DisplayPhoneNumber: s.Number.DisplayPhoneNumber,
			WAMID: s.WAMID, Status: string(step), Payload: payload, CreatedAt: s.Now, AvailableAt: at,
		})
	}
	return events, nil
}

func conversationID(wamid string) string {
	id := strings.TrimPrefix(wamid, "wamid.")
	id = strings.NewReplacer("+", "", "/", "", "=", "").Replace(id)
	if len(id) > 32 {
		id = id[:32]
	}
	return strings.ToLower(id)
}

// Inbound returns the event of a customer's message m (already validated)
// sent to number, with the customer's contact.
func Inbound(number bahasha.PhoneNumber, m whatsapp.Message, contact whatsapp.Contact, now time.Time) (bahasha.Event, error) {
	m.Raw, contact.Raw = nil, nil
	payload, err := json.Marshal(m)
	if err != nil {
		return bahasha.Event{}, err
	}
	c, err := json.Marshal(contact)
	if err != nil {
		return bahasha.Event{}, err
	}
	return bahasha.Event{
		AccountID: number.AccountID, ProducerID: "sandbox:" + m.ID, Kind: bahasha.KindMessage,
		WABAID: number.WABAID, PhoneNumberID: number.ID, DisplayPhoneNumber: number.DisplayPhoneNumber,
		WAMID: m.ID, MessageType: string(m.Type), Payload: payload, Contact: c, CreatedAt: now, AvailableAt: now,
	}, nil
}
