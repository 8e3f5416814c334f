package meta_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/meta"
	"github.com/bahasha/bahasha/internal/metatest"
)

// A POST of two WABAs: each change comes out on its own, in its entry as
// Meta sent it, with what routes it.
func TestSplit(t *testing.T) {
	a := metatest.Number{PhoneNumberID: "106540352242922", DisplayPhoneNumber: "15550783881"}
	body := metatest.Notification(
		metatest.Entry{ID: "102290129340398", Changes: []metatest.Change{
			metatest.Messages(a, []json.RawMessage{metatest.Contact("16315551181", "Kerry Fisher")},
				[]json.RawMessage{metatest.Text("wamid.A", "16315551181", "Hi", 1700000000)},
				[]json.RawMessage{metatest.Status("wamid.B", "16315551181", "delivered", 1700000001)}),
		}},
		metatest.Entry{ID: "200000000000001", Time: 1674864290, Changes: []metatest.Change{
			metatest.TemplateStatus("APPROVED", 594425479261596, "order_update", "en_US", "NONE"),
			metatest.QualityUpdate("+1 555-078-3882", "FLAGGED", "TIER_10K"),
		}},
	)
	object, changes, err := meta.Split(body)
	if err != nil || object != meta.Object || len(changes) != 3 {
		t.Fatalf("Split = %q, %d changes, %v", object, len(changes), err)
	}
	if c := changes[0]; c.EntryID != "102290129340398" || c.Field != "messages" || c.PhoneNumberID != a.PhoneNumberID || c.DisplayPhoneNumber != a.DisplayPhoneNumber {
		t.Errorf("the messages change: %+v", c)
	}
	tpl := changes[1]
	if tpl.PhoneNumberID != "" || tpl.EntryID != "200000000000001" || tpl.Field != "message_template_status_update" {
		t.Errorf("the template change: %+v", tpl)
	}
	// Its entry keeps time, and the template id stays an integer.
	if want := `{"id":"200000000000001","time":1674864290,"changes":[{"value":{"event":"APPROVED","message_template_id":594425479261596,"message_template_language":"en_US","message_template_name":"order_update","reason":"NONE"},"field":"message_template_status_update"}]}`; string(tpl.Entry) != want {
		t.Errorf("the template change's entry:\n%s\nwant\n%s", tpl.Entry, want)
	}
	if q := changes[2]; q.DisplayPhoneNumber != "+1 555-078-3882" || q.PhoneNumberID != "" {
		t.Errorf("the quality update: %+v", q)
	}
}

func TestSplitRefuses(t *testing.T) {
	for _, body := range []string{``, `[]`, `{"object":"whatsapp_business_account"}`, `{"entry":{}}`, `{"entry":[1]}`,
		`{"entry":[{"id":"1"}]}`, `{"entry":[{"id":"1","changes":[2]}]}`, `{"entry":[]} x`} {
		if _, _, err := meta.Split([]byte(body)); err == nil {
			t.Errorf("Split(%s) accepted it", body)
		}
	}
}

// A messages change is one event per status and message, each with its
// deduplication key; anything else is one event passed through whole.
func TestEvents(t *testing.T) {
	a := metatest.Number{PhoneNumberID: "pn1", DisplayPhoneNumber: "15550783881"}
	n := bahasha.PhoneNumber{ID: "pn1", AccountID: "acc", WABAID: "waba1", DisplayPhoneNumber: "+15550783881"}
	body := metatest.Notification(metatest.Entry{ID: "waba1", Changes: []metatest.Change{
		metatest.Messages(a, []json.RawMessage{metatest.Contact("111", "Ann"), metatest.Contact("222", "Bo")},
			[]json.RawMessage{metatest.Text("wamid.M1", "222", "hello", 1), metatest.Text("wamid.M2", "111", "hi", 2)},
			[]json.RawMessage{metatest.Status("wamid.S", "111", "read", 3)}),
		{Field: "messages", Value: json.RawMessage(`{"messaging_product":"whatsapp","metadata":{"phone_number_id":"pn1"},"errors":[{"code":131000}]}`)},
		{Field: "history", Value: json.RawMessage(`{"messaging_product":"whatsapp","metadata":{"phone_number_id":"pn1"},"history":[{"n":1}]}`)},
	}})
	_, changes, err := meta.Split(body)
	if err != nil {
		t.Fatal(err)
	}
	evs := meta.Events(changes[0], n)
	if len(evs) != 3 {
		t.Fatalf("%d events from the messages change", len(evs))
	}
	s, m1, m2 := evs[0], evs[1], evs[2]
	if s.Kind != bahasha.KindStatus || s.WAMID != "wamid.S" || s.Status != "read" || s.ProducerID != "meta:s:wamid.S:read" || !strings.Contains(string(s.Payload), `"pricing"`) {
		t.Errorf("the status: %+v", s)
	}
	if m1.Kind != bahasha.KindMessage || m1.ProducerID != "meta:m:wamid.M1" || m1.MessageType != "text" || !strings.Contains(string(m1.Contact), `"Bo"`) {
		t.Errorf("the first message, from 222: %+v (contact %s)", m1, m1.Contact)
	}
	if !strings.Contains(string(m2.Contact), `"Ann"`) {
		t.Errorf("the second message's contact: %s", m2.Contact)
	}
	for _, ev := range evs {
		if ev.AccountID != "acc" || ev.PhoneNumberID != "pn1" || ev.WABAID != "waba1" || ev.DisplayPhoneNumber != "15550783881" {
			t.Errorf("placed as %+v", ev)
		}
	}
	// Value-level errors: passed through whole, as a messages change.
	whole := meta.Events(changes[1], n)
	if len(whole) != 1 || whole[0].Kind != bahasha.KindChange || whole[0].Filter() != bahasha.FilterMessages || !strings.Contains(string(whole[0].Payload), `"errors"`) {
		t.Errorf("a messages change with errors: %+v", whole)
	}
	h := meta.Events(changes[2], n)
	if len(h) != 1 || h[0].Kind != bahasha.KindChange || h[0].Filter() != "history" || h[0].ProducerID != "meta:c:"+changes[2].Digest() {
		t.Errorf("a history change: %+v", h)
	}
	// The same change sent again has the same key; another value not.
	_, again, _ := meta.Split(body)
	if again[2].Digest() != changes[2].Digest() || changes[1].Digest() == changes[2].Digest() {
		t.Error("digests are not stable, or not distinct")
	}
}

// FuzzSplit: whatever Meta (or anyone with its secret) POSTs, Split and
// Events neither panic nor make an event that is not a JSON object.
func FuzzSplit(f *testing.F) {
	a := metatest.Number{PhoneNumberID: "pn1", DisplayPhoneNumber: "1555"}
	f.Add(metatest.Notification(metatest.Entry{ID: "w", Changes: []metatest.Change{
		metatest.Messages(a, []json.RawMessage{metatest.Contact("1", "A")}, []json.RawMessage{metatest.Text("wamid.1", "1", "x", 1)},
			[]json.RawMessage{metatest.Status("wamid.2", "1", "failed", 2)}),
		metatest.TemplateStatus("REJECTED", 1, "t", "en", "INVALID_FORMAT"),
	}}))
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"id":1,"changes":[{"field":"messages","value":{"statuses":[{}]}}]}]}`))
	f.Add([]byte(`{"entry":[{"id":"x","changes":[{"field":7,"value":[]}]}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_, changes, err := meta.Split(body)
		if err != nil {
			return
		}
		for _, c := range changes {
			if !json.Valid(c.Entry) {
				t.Fatalf("an entry that is not JSON: %q", c.Entry)
			}
			for _, ev := range meta.Events(c, bahasha.PhoneNumber{ID: "pn1", AccountID: "acc"}) {
				if !json.Valid(ev.Payload) || len(ev.Payload) == 0 || ev.Payload[0] != '{' {
					t.Fatalf("an event whose payload is not a JSON object: %+v", ev)
				}
				if ev.ProducerID == "" {
					t.Fatalf("an event without a deduplication key: %+v", ev)
				}
			}
		}
	})
}
