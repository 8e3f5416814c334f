package delivery

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// Envelope builds the body of one webhook POST carrying events, exactly as
// WhatsApp does: one entry per WhatsApp Business Account, one "messages"
// change per phone number within it, statuses and messages in the order
// given, and one contact per message sender. A change of Meta's passed
// through (bahasha.KindChange) is an entry of its own, as Meta sent it, in
// its place among the others.
//
// The events' payloads were produced or checked by the whatsapp types at
// ingest and are written verbatim (so a producer's fields that this version
// does not know reach the receiver); the envelope around them is the
// whatsapp.Notification shape, which TestEnvelopeMatchesTheWhatsAppTypes
// holds to what encoding the whatsapp types gives, so sender and receiver
// cannot drift.
func Envelope(events []bahasha.Event) ([]byte, error) {
	// A batch has few WhatsApp Business Accounts and phone numbers (usually
	// one of each), so they are found by a linear search: cheaper than maps
	// for the common envelope of one event.
	type change struct {
		phoneID, display string
		statuses         []json.RawMessage
		messages         []json.RawMessage
		contacts         []json.RawMessage
	}
	type entry struct {
		waba    string
		changes []*change
		// raw is a change of Meta's passed through in its own entry.
		raw json.RawMessage
	}
	var entries []*entry
	size := 128
	for _, ev := range events {
		if ev.Kind == bahasha.KindChange {
			if !json.Valid(ev.Payload) || len(ev.Payload) == 0 || ev.Payload[0] != '{' {
				return nil, fmt.Errorf("delivery: event %d: the stored change is not a JSON object", ev.ID)
			}
			entries = append(entries, &entry{raw: bahasha.ValidUTF8(ev.Payload)})
			size += len(ev.Payload) + 1
			continue
		}
		var e *entry
		for _, x := range entries {
			if x.raw == nil && x.waba == ev.WABAID {
				e = x
				break
			}
		}
		if e == nil {
			e = &entry{waba: ev.WABAID}
			entries = append(entries, e)
		}
		var c *change
		for _, x := range e.changes {
			if x.phoneID == ev.PhoneNumberID {
				c = x
				break
			}
		}
		if c == nil {
			c = &change{phoneID: ev.PhoneNumberID, display: ev.DisplayPhoneNumber}
			e.changes = append(e.changes, c)
		}
		if !json.Valid(ev.Payload) || len(ev.Payload) == 0 || ev.Payload[0] != '{' {
			return nil, fmt.Errorf("delivery: event %d: the stored %s is not a JSON object", ev.ID, ev.Kind)
		}
		size += len(ev.Payload) + len(ev.Contact) + 160
		switch ev.Kind {
		case bahasha.KindStatus:
			c.statuses = append(c.statuses, bahasha.ValidUTF8(ev.Payload))
		case bahasha.KindMessage:
			c.messages = append(c.messages, bahasha.ValidUTF8(ev.Payload))
			if len(ev.Contact) > 0 {
				if !json.Valid(ev.Contact) || ev.Contact[0] != '{' {
					return nil, fmt.Errorf("delivery: event %d: the stored contact is not a JSON object", ev.ID)
				}
				contact := bahasha.ValidUTF8(ev.Contact)
				known := false
				for _, x := range c.contacts {
					if bytes.Equal(x, contact) {
						known = true
						break
					}
				}
				if !known {
					c.contacts = append(c.contacts, contact)
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
		if e.raw != nil {
			b = append(b, e.raw...)
			continue
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
			// whatsapp.Metadata, both fields omitempty.
			b = append(b, `,"metadata":{`...)
			if c.display != "" {
				b = append(b, `"display_phone_number":`...)
				b = appendString(b, c.display)
			}
			if c.phoneID != "" {
				if c.display != "" {
					b = append(b, ',')
				}
				b = append(b, `"phone_number_id":`...)
				b = appendString(b, c.phoneID)
			}
			b = append(b, '}')
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

// appendString appends s as encoding/json encodes it.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
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
