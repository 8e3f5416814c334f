package delivery

import (
	"encoding/json"
	"fmt"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/whatsapp"
)

// Envelope builds the body of one webhook POST carrying events, exactly as
// WhatsApp does: one entry per WhatsApp Business Account, one "messages"
// change per phone number within it, statuses and messages in the order
// given, and one contact per message sender. It uses the public whatsapp
// types, so what Bahasha sends is what the SDK parses.
func Envelope(events []bahasha.Event) ([]byte, error) {
	n := whatsapp.Notification{Object: whatsapp.ObjectWhatsAppBusinessAccount}
	entryOf := map[string]int{}
	type changeKey struct{ waba, phone string }
	changeOf := map[changeKey]int{}
	for _, ev := range events {
		ei, ok := entryOf[ev.WABAID]
		if !ok {
			ei = len(n.Entry)
			entryOf[ev.WABAID] = ei
			n.Entry = append(n.Entry, whatsapp.Entry{ID: ev.WABAID})
		}
		entry := &n.Entry[ei]
		ck := changeKey{ev.WABAID, ev.PhoneNumberID}
		ci, ok := changeOf[ck]
		if !ok {
			ci = len(entry.Changes)
			changeOf[ck] = ci
			entry.Changes = append(entry.Changes, whatsapp.Change{Field: whatsapp.FieldMessages, Value: whatsapp.Value{
				MessagingProduct: whatsapp.MessagingProductWhatsApp,
				Metadata:         whatsapp.Metadata{DisplayPhoneNumber: ev.DisplayPhoneNumber, PhoneNumberID: ev.PhoneNumberID},
			}})
		}
		v := &entry.Changes[ci].Value
		switch ev.Kind {
		case bahasha.KindStatus:
			var s whatsapp.Status
			if err := json.Unmarshal(ev.Payload, &s); err != nil {
				return nil, fmt.Errorf("delivery: event %d: stored status is not valid: %w", ev.ID, err)
			}
			s.Raw = nil
			v.Statuses = append(v.Statuses, s)
		case bahasha.KindMessage:
			var m whatsapp.Message
			if err := json.Unmarshal(ev.Payload, &m); err != nil {
				return nil, fmt.Errorf("delivery: event %d: stored message is not valid: %w", ev.ID, err)
			}
			m.Raw = nil
			v.Messages = append(v.Messages, m)
			if len(ev.Contact) > 0 {
				var c whatsapp.Contact
				if err := json.Unmarshal(ev.Contact, &c); err != nil {
					return nil, fmt.Errorf("delivery: event %d: stored contact is not valid: %w", ev.ID, err)
				}
				c.Raw = nil
				if !hasContact(v.Contacts, c) {
					v.Contacts = append(v.Contacts, c)
				}
			}
		default:
			return nil, fmt.Errorf("delivery: event %d has unknown kind %q", ev.ID, ev.Kind)
		}
	}
	return json.Marshal(&n)
}

func hasContact(cs []whatsapp.Contact, c whatsapp.Contact) bool {
	for _, have := range cs {
		if have.WaID == c.WaID && have.UserID == c.UserID {
			return true
		}
	}
	return false
}
