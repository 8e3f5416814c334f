// Package meta receives the webhooks of Meta's WhatsApp Cloud API, which
// POSTs the events of every business Bahasha serves to one callback URL:
// it checks their signature, splits each POST into its changes, routes
// each change on its own to the account that owns its phone number or
// WABA, and stores the events that result, deduplicated, before Meta is
// answered. Changes no account owns are kept for the operator.
package meta

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Object is the "object" of the WhatsApp Business Account webhooks.
const Object = "whatsapp_business_account"

// Change is one change of a POST, with what routes it.
type Change struct {
	// EntryID is the entry's id: the WABA id for WhatsApp's webhooks.
	EntryID string
	// Field is the change's field ("messages",
	// "message_template_status_update", …).
	Field string
	// Time is the entry's "time" as Meta wrote it (empty without one).
	Time json.RawMessage
	// Entry is the change within its entry, as Meta sent it: the entry's
	// own keys (id, time, any other) in their order, with "changes"
	// holding this change only. Insignificant whitespace is removed;
	// nothing else changes (numbers keep their digits).
	Entry json.RawMessage
	// Change is the change object itself, and Value its value.
	Change json.RawMessage
	Value  json.RawMessage
	// PhoneNumberID and DisplayPhoneNumber are what the value names:
	// value.metadata's (messages and the other per-number fields) or
	// value.display_phone_number (quality and name updates, security).
	PhoneNumberID      string
	DisplayPhoneNumber string
}

// member is one key of a JSON object and its value.
type member struct {
	name  string
	value json.RawMessage
}

// members reads a JSON object's keys and values in their order. It fails
// for anything that is not an object.
func members(raw []byte) ([]member, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	if d, ok := t.(json.Delim); !ok || d != '{' {
		return nil, errors.New("not a JSON object")
	}
	var out []member
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := t.(string) // object keys are strings
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		out = append(out, member{name, v})
	}
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the JSON object")
	}
	return out, nil
}

func find(ms []member, name string) (json.RawMessage, bool) {
	for _, m := range ms {
		if m.name == name {
			return m.value, true
		}
	}
	return nil, false
}

// str decodes raw as a JSON string; "" for anything else.
func str(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return ""
	}
	return s
}

// compact is raw without insignificant whitespace.
func compact(raw []byte) json.RawMessage {
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return append(json.RawMessage(nil), raw...)
	}
	return b.Bytes()
}

// Split reads a POST's body into its object and its changes. A body that
// is not a JSON object with an "entry" array of objects each holding a
// "changes" array of objects is an error: it cannot be routed.
func Split(body []byte) (object string, changes []Change, err error) {
	object, changes, bad, err := SplitParts(body)
	if err == nil && len(bad) > 0 {
		err = errors.New(bad[0].Reason)
	}
	return object, changes, err
}

// Part is a piece of a POST that cannot be split into changes: an entry
// that is not an object or has no "changes" array, or a change that is not
// an object. Raw is it, compacted.
type Part struct {
	Raw    json.RawMessage
	Reason string
}

// SplitParts is Split that keeps going past a bad entry or change: those
// are returned as bad parts, and the others as changes. Only a body that is
// not an object with an "entry" array is an error.
func SplitParts(body []byte) (object string, changes []Change, bad []Part, err error) {
	top, err := members(body)
	if err != nil {
		return "", nil, nil, fmt.Errorf("the body is not a JSON object: %w", err)
	}
	objRaw, _ := find(top, "object")
	object = str(objRaw)
	entriesRaw, ok := find(top, "entry")
	if !ok {
		return object, nil, nil, errors.New(`the body has no "entry"`)
	}
	var entries []json.RawMessage
	if err := json.Unmarshal(entriesRaw, &entries); err != nil {
		return object, nil, nil, errors.New(`"entry" is not an array`)
	}
	for i, raw := range entries {
		ems, err := members(raw)
		if err != nil {
			bad = append(bad, Part{compact(raw), fmt.Sprintf("entry[%d] is not a JSON object", i)})
			continue
		}
		idRaw, _ := find(ems, "id")
		id := str(idRaw)
		if id == "" {
			// Meta's ids are strings; keep a number as its digits.
			id = string(bytes.Trim(idRaw, `"`))
		}
		timeRaw, _ := find(ems, "time")
		chRaw, ok := find(ems, "changes")
		var chs []json.RawMessage
		if !ok || json.Unmarshal(chRaw, &chs) != nil {
			bad = append(bad, Part{compact(raw), fmt.Sprintf(`entry[%d] has no "changes" array`, i)})
			continue
		}
		for j, c := range chs {
			cms, err := members(c)
			if err != nil {
				bad = append(bad, Part{compact(c), fmt.Sprintf("entry[%d].changes[%d] is not a JSON object", i, j)})
				continue
			}
			fieldRaw, _ := find(cms, "field")
			value, _ := find(cms, "value")
			ch := Change{EntryID: clean(id), Field: clean(str(fieldRaw)), Change: compact(c), Value: compact(value)}
			if len(timeRaw) > 0 {
				ch.Time = compact(timeRaw)
			}
			ch.PhoneNumberID, ch.DisplayPhoneNumber = routingKeys(value)
			ch.Entry = entryWith(ems, ch.Change)
			changes = append(changes, ch)
		}
	}
	return object, changes, bad, nil
}

// clean is s without NUL characters, which PostgreSQL's text columns
// refuse (a change naming one is routed, or kept, by the rest).
func clean(s string) string {
	if strings.IndexByte(s, 0) < 0 {
		return s
	}
	return strings.ReplaceAll(s, "\x00", "")
}

// entryWith is the entry ems with "changes" holding change only.
func entryWith(ems []member, change json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, m := range ems {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(m.name)
		b.Write(name)
		b.WriteByte(':')
		if m.name == "changes" {
			b.WriteByte('[')
			b.Write(change)
			b.WriteByte(']')
			continue
		}
		b.Write(compact(m.value))
	}
	b.WriteByte('}')
	return b.Bytes()
}

// routingKeys are the phone number id and display number a change's
// value names.
func routingKeys(value json.RawMessage) (phoneNumberID, display string) {
	vms, err := members(value)
	if err != nil {
		return "", ""
	}
	if md, ok := find(vms, "metadata"); ok {
		if mms, err := members(md); err == nil {
			p, _ := find(mms, "phone_number_id")
			d, _ := find(mms, "display_phone_number")
			phoneNumberID, display = str(p), str(d)
		}
	}
	if display == "" {
		d, _ := find(vms, "display_phone_number")
		display = str(d)
	}
	return clean(phoneNumberID), clean(display)
}
