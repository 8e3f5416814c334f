package delivery

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/whatsapp"
)

// Envelope builds the body of one webhook POST carrying events, exactly as
// WhatsApp does: one entry per WhatsApp Business Account, one "messages"
// change per phone number within it, statuses and messages in the order
// given, and one contact per message sender.
//
// The events' payloads were produced or checked by the whatsapp types at
// ingest and are written verbatim (so a producer's fields that this version
// does not know reach the receiver); the envelope around them is the
// whatsapp.Notification shape, which TestEnvelopeMatchesTheWhatsAppTypes
// holds to what encoding the whatsapp types gives, so sender and receiver
// cannot drift.
func Envelope(events []bahasha.Event) ([]byte, error) {
	type change struct {
		metadata whatsapp.Metadata
		statuses []json.RawMessage
		messages []json.RawMessage
		contacts []json.RawMessage
		senders  map[string]bool
	}
	type entry struct {
		waba    string
		changes []*change
		byPhone map[string]*change
	}
	var entries []*entry
	byWABA := map[string]*entry{}
	size := 128
	for _, ev := range events {
		e := byWABA[ev.WABAID]
		if e == nil {
			e = &entry{waba: ev.WABAID, byPhone: map[string]*change{}}
			byWABA[ev.WABAID] = e
			entries = append(entries, e)
		}
		c := e.byPhone[ev.PhoneNumberID]
		if c == nil {
			c = &change{metadata: whatsapp.Metadata{DisplayPhoneNumber: ev.DisplayPhoneNumber, PhoneNumberID: ev.PhoneNumberID}}
			e.byPhone[ev.PhoneNumberID] = c
			e.changes = append(e.changes, c)
		}
		if !json.Valid(ev.Payload) || len(ev.Payload) == 0 || ev.Payload[0] != '{' {
			return nil, fmt.Errorf("delivery: event %d: the stored %s is not a JSON object", ev.ID, ev.Kind)
		}
		size += len(ev.Payload) + len(ev.Contact) + 160
		switch ev.Kind {
		case bahasha.KindStatus:
			c.statuses = append(c.statuses, ev.Payload)
		case bahasha.KindMessage:
			c.messages = append(c.messages, ev.Payload)
			if len(ev.Contact) > 0 {
				if !json.Valid(ev.Contact) || ev.Contact[0] != '{' {
					return nil, fmt.Errorf("delivery: event %d: the stored contact is not a JSON object", ev.ID)
				}
				if c.senders == nil {
					c.senders = map[string]bool{}
				}
				key := string(ev.Contact)
				if !c.senders[key] {
					c.senders[key] = true
					c.contacts = append(c.contacts, ev.Contact)
				}
			}
		default:
			return nil, fmt.Errorf("delivery: event %d has unknown kind %q", ev.ID, ev.Kind)
		}
	}
	b := make([]byte, 0, size)
	b = append(b, `{"object":`...)
	b = strconv.AppendQuote(b, whatsapp.ObjectWhatsAppBusinessAccount)
	b = append(b, `,"entry":[`...)
	for i, e := range entries {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendString(b, e.waba)
		b = append(b, `,"changes":[`...)
		for j, c := range e.changes {
			if j > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"field":`...)
			b = appendString(b, whatsapp.FieldMessages)
			b = append(b, `,"value":{"messaging_product":`...)
			b = appendString(b, whatsapp.MessagingProductWhatsApp)
			b = append(b, `,"metadata":`...)
			md, err := json.Marshal(c.metadata)
			if err != nil {
				return nil, err
			}
			b = append(b, md...)
			b = appendArray(b, "contacts", c.contacts)
			b = appendArray(b, "messages", c.messages)
			b = appendArray(b, "statuses", c.statuses)
			b = append(b, "}}"...)
		}
		b = append(b, "]}"...)
	}
	b = append(b, "]}"...)
	return b, nil
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always encodes
	return append(b, q...)
}

func appendArray(b []byte, name string, items []json.RawMessage) []byte {
	if len(items) == 0 {
		return b
	}
	b = append(b, `,"`...)
	b = append(b, name...)
	b = append(b, `":[`...)
	for i, it := range items {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, it...)
	}
	return append(b, ']')
}
