package meta

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"slices"

	"github.com/bahasha/bahasha/internal/bahasha"
)

// Producer id prefixes: the deduplication keys of the events Meta's
// webhooks become. A change Meta sends again gets the same keys, so the
// store ingests it once (for as long as it keeps producer ids: the
// retention).
const (
	statusPrefix  = "meta:s:" // + wamid + ":" + status
	messagePrefix = "meta:m:" // + wamid
	changePrefix  = "meta:c:" // + Digest
)

// Digest is a change's deduplication key: the same field and value in an
// entry of the same id and time give the same digest (Meta's re-sends are
// the same bytes; the same value at another time — a template approved
// again — is another change).
func (c Change) Digest() string {
	h := sha256.New()
	for _, s := range [][]byte{[]byte(c.EntryID), []byte(c.Field), c.Value, c.Time} {
		var n [8]byte
		for i, l := 0, len(s); i < 8; i++ {
			n[i] = byte(l >> (8 * i))
		}
		h.Write(n[:])
		h.Write(s)
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:18])
}

// messagesKeys are the keys of a messages value that Bahasha splits into
// one event per status and message; a value with any other (Meta's
// value-level "errors", say) is passed through whole.
var messagesKeys = []string{"messaging_product", "metadata", "contacts", "messages", "statuses"}

// Events are the events of a change routed to number (of its account; for
// a change routed by WABA only, number.ID is ""). A messages change becomes
// one event per status and per message, so that per-message ordering and
// superseding apply as to any status; every other change is one event
// passed through as Meta sent it.
func Events(c Change, number bahasha.PhoneNumber) []bahasha.Event {
	base := bahasha.Event{AccountID: number.AccountID, WABAID: c.EntryID, PhoneNumberID: number.ID,
		DisplayPhoneNumber: c.DisplayPhoneNumber}
	if base.DisplayPhoneNumber == "" {
		base.DisplayPhoneNumber = number.DisplayPhoneNumber
	}
	if c.Field == "messages" {
		if evs, ok := split(c, base); ok {
			return evs
		}
	}
	ev := base
	ev.Kind, ev.MessageType, ev.ProducerID, ev.Payload = bahasha.KindChange, c.Field, changePrefix+c.Digest(), c.Entry
	return []bahasha.Event{ev}
}

// split is a messages change as one event per status and message, or false
// when it holds anything else.
func split(c Change, base bahasha.Event) ([]bahasha.Event, bool) {
	vms, err := members(c.Value)
	if err != nil {
		return nil, false
	}
	var statuses, messages, contacts []json.RawMessage
	for _, m := range vms {
		if !slices.Contains(messagesKeys, m.name) {
			return nil, false
		}
		var list *[]json.RawMessage
		switch m.name {
		case "statuses":
			list = &statuses
		case "messages":
			list = &messages
		case "contacts":
			list = &contacts
		default:
			continue
		}
		if json.Unmarshal(m.value, list) != nil {
			return nil, false
		}
	}
	if len(statuses)+len(messages) == 0 {
		return nil, false
	}
	var out []bahasha.Event
	for _, raw := range statuses {
		var s struct {
			ID     string `json:"id"`
			Status string `json:"status"`
		}
		if json.Unmarshal(raw, &s) != nil || s.ID == "" || s.Status == "" || len(raw) == 0 || raw[0] != '{' {
			return nil, false
		}
		ev := base
		s.ID, s.Status = clean(s.ID), clean(s.Status)
		ev.Kind, ev.WAMID, ev.Status, ev.Payload = bahasha.KindStatus, s.ID, s.Status, compact(raw)
		ev.ProducerID = statusPrefix + s.ID + ":" + s.Status
		out = append(out, ev)
	}
	for _, raw := range messages {
		var m struct {
			ID   string `json:"id"`
			From string `json:"from"`
			Type string `json:"type"`
		}
		if json.Unmarshal(raw, &m) != nil || m.ID == "" || len(raw) == 0 || raw[0] != '{' {
			return nil, false
		}
		ev := base
		m.ID, m.Type, m.From = clean(m.ID), clean(m.Type), clean(m.From)
		ev.Kind, ev.WAMID, ev.MessageType, ev.Payload = bahasha.KindMessage, m.ID, m.Type, compact(raw)
		ev.ProducerID = messagePrefix + m.ID
		ev.Contact = contactOf(contacts, m.From)
		out = append(out, ev)
	}
	return out, true
}

// contactOf is the contact whose wa_id is from, or the only one.
func contactOf(contacts []json.RawMessage, from string) json.RawMessage {
	for _, raw := range contacts {
		var c struct {
			WAID string `json:"wa_id"`
		}
		if json.Unmarshal(raw, &c) == nil && c.WAID == from && len(raw) > 0 && raw[0] == '{' {
			return compact(raw)
		}
	}
	if len(contacts) == 1 && len(contacts[0]) > 0 && contacts[0][0] == '{' {
		return compact(contacts[0])
	}
	return nil
}
