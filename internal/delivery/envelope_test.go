package delivery_test

import (
	"encoding/json"
	"testing"
	"unicode/utf8"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/delivery"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

func statusEvent(waba, phone, wamid, status string) bahasha.Event {
	p, _ := json.Marshal(whatsapp.Status{ID: wamid, Status: whatsapp.StatusValue(status), Timestamp: whatsapp.UnixTimestamp(1700000001), RecipientID: "254712345678"})
	return bahasha.Event{Kind: bahasha.KindStatus, WABAID: waba, PhoneNumberID: phone, DisplayPhoneNumber: "+" + phone, WAMID: wamid, Status: status, Payload: p}
}

func messageEvent(waba, phone, wamid, from, name, body string) bahasha.Event {
	p, _ := json.Marshal(whatsapp.Message{From: from, ID: wamid, Timestamp: whatsapp.UnixTimestamp(1700000005), Type: "text", Text: &whatsapp.Text{Body: body}})
	c, _ := json.Marshal(whatsapp.Contact{Profile: whatsapp.Profile{Name: name}, WaID: from})
	return bahasha.Event{Kind: bahasha.KindMessage, WABAID: waba, PhoneNumberID: phone, DisplayPhoneNumber: "+" + phone, WAMID: wamid, MessageType: "text", Payload: p, Contact: c}
}

// The envelope is the documentation's, byte for byte in shape.
func TestEnvelopeOfOneStatusIsTheDocumentedShape(t *testing.T) {
	body, err := delivery.Envelope([]bahasha.Event{statusEvent("WABA_ID", "123456789", "wamid.X", "delivered")})
	if err != nil {
		t.Fatal(err)
	}
	want := `{"object":"whatsapp_business_account","entry":[{"id":"WABA_ID","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"+123456789","phone_number_id":"123456789"},"statuses":[{"id":"wamid.X","status":"delivered","timestamp":"1700000001","recipient_id":"254712345678"}]}}]}]}`
	if string(body) != want {
		t.Fatalf("envelope\n got %s\nwant %s", body, want)
	}
}

// Several events group as WhatsApp groups them: entries by account, changes
// by phone number, in order, with one contact per sender.
func TestEnvelopeGroupsByAccountAndNumber(t *testing.T) {
	body, err := delivery.Envelope([]bahasha.Event{
		statusEvent("W1", "p1", "a", "sent"),
		messageEvent("W1", "p1", "m1", "111", "Ann", "hi"),
		statusEvent("W2", "p3", "b", "read"),
		statusEvent("W1", "p2", "c", "delivered"),
		messageEvent("W1", "p1", "m2", "111", "Ann", "again"),
		messageEvent("W1", "p1", "m3", "222", "Bob", "yo"),
		statusEvent("W1", "p1", "a", "delivered"),
	})
	if err != nil {
		t.Fatal(err)
	}
	n, err := whatsapp.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	if len(n.Entry) != 2 || n.Entry[0].ID != "W1" || n.Entry[1].ID != "W2" {
		t.Fatalf("entries %+v", n.Entry)
	}
	w1 := n.Entry[0]
	if len(w1.Changes) != 2 || w1.Changes[0].Value.Metadata.PhoneNumberID != "p1" || w1.Changes[1].Value.Metadata.PhoneNumberID != "p2" {
		t.Fatalf("W1 changes %+v", w1.Changes)
	}
	v := w1.Changes[0].Value
	if len(v.Statuses) != 2 || v.Statuses[0].Status != "sent" || v.Statuses[1].Status != "delivered" {
		t.Fatalf("p1 statuses %+v", v.Statuses)
	}
	if len(v.Messages) != 3 || len(v.Contacts) != 2 {
		t.Fatalf("p1 has %d messages and %d contacts, want 3 and 2", len(v.Messages), len(v.Contacts))
	}
	for e := range n.Messages() {
		if e.Contact == nil || e.Contact.WaID != e.Message.From {
			t.Fatalf("message from %s paired with %+v", e.Message.From, e.Contact)
		}
	}
}

func TestEnvelopeRejectsCorruptEvents(t *testing.T) {
	for _, ev := range []bahasha.Event{
		{Kind: bahasha.KindStatus, Payload: []byte("{")},
		{Kind: bahasha.KindMessage, Payload: []byte("[]")},
		{Kind: "hologram", Payload: []byte("{}")},
	} {
		if _, err := delivery.Envelope([]bahasha.Event{ev}); err == nil {
			t.Errorf("%s %s: no error", ev.Kind, ev.Payload)
		}
	}
}

func BenchmarkEnvelope(b *testing.B) {
	ev := []bahasha.Event{statusEvent("WABA_ID", "123456789", "wamid.HBgNMjU0NzEyMzQ1Njc4FQIAERgSNDQ1", "delivered")}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := delivery.Envelope(ev); err != nil {
			b.Fatal(err)
		}
	}
}

// TestEnvelopeMatchesTheWhatsAppTypes holds the hand-built envelope to the
// encoding the public whatsapp types give for the same events: sender and
// receiver cannot drift.
func TestEnvelopeMatchesTheWhatsAppTypes(t *testing.T) {
	events := []bahasha.Event{
		statusEvent("W1", "p1", "a", "sent"),
		messageEvent("W1", "p1", "m1", "111", "Ann <&>", "hi \u2028 \"quoted\""),
		statusEvent("W2", "p3", "b", "read"),
		statusEvent("W1", "p2", "c", "delivered"),
		messageEvent("W1", "p1", "m2", "111", "Ann <&>", "again"),
		messageEvent("W1", "p1", "m3", "222", "Bob", "yo"),
	}
	got, err := delivery.Envelope(events)
	if err != nil {
		t.Fatal(err)
	}
	// The same notification built with the types.
	n := whatsapp.Notification{Object: whatsapp.ObjectWhatsAppBusinessAccount}
	value := func(phone string) whatsapp.Value {
		return whatsapp.Value{MessagingProduct: "whatsapp", Metadata: whatsapp.Metadata{DisplayPhoneNumber: "+" + phone, PhoneNumberID: phone}}
	}
	var s []whatsapp.Status
	var m []whatsapp.Message
	var c []whatsapp.Contact
	for _, ev := range events {
		if ev.Kind == bahasha.KindStatus {
			var x whatsapp.Status
			json.Unmarshal(ev.Payload, &x)
			x.Raw = nil
			s = append(s, x)
		} else {
			var x whatsapp.Message
			json.Unmarshal(ev.Payload, &x)
			x.Raw = nil
			m = append(m, x)
			var y whatsapp.Contact
			json.Unmarshal(ev.Contact, &y)
			y.Raw = nil
			c = append(c, y)
		}
	}
	p1 := value("p1")
	p1.Statuses, p1.Messages, p1.Contacts = []whatsapp.Status{s[0]}, m, []whatsapp.Contact{c[0], c[2]}
	p2 := value("p2")
	p2.Statuses = []whatsapp.Status{s[2]}
	p3 := value("p3")
	p3.Statuses = []whatsapp.Status{s[1]}
	n.Entry = []whatsapp.Entry{
		{ID: "W1", Changes: []whatsapp.Change{{Field: "messages", Value: p1}, {Field: "messages", Value: p2}}},
		{ID: "W2", Changes: []whatsapp.Change{{Field: "messages", Value: p3}}},
	}
	want, err := json.Marshal(n)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != string(want) {
		t.Fatalf("envelope\n got %s\nwant %s", got, want)
	}
}

// A producer's fields unknown to this version reach the receiver.
func TestEnvelopeKeepsUnknownFields(t *testing.T) {
	ev := statusEvent("W", "p", "a", "sent")
	ev.Payload = []byte(`{"id":"a","status":"sent","future_field":{"x":[1,2]}}`)
	body, err := delivery.Envelope([]bahasha.Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	n, err := whatsapp.Parse(body)
	if err != nil || !json.Valid(body) {
		t.Fatal(err)
	}
	if raw := string(n.Entry[0].Changes[0].Value.Statuses[0].Raw); raw != string(ev.Payload) {
		t.Fatalf("status arrived as %s", raw)
	}
}

// The metadata is encoded as encoding/json encodes whatsapp.Metadata: empty
// fields omitted, special characters escaped.
func TestEnvelopeMetadataEncoding(t *testing.T) {
	for _, md := range []whatsapp.Metadata{
		{DisplayPhoneNumber: "+254700000000", PhoneNumberID: "106540352242922"},
		{PhoneNumberID: "106540352242922"},
		{DisplayPhoneNumber: "+254700000000"},
		{},
		{DisplayPhoneNumber: "<+1 & \"2\">\u2028é\x01", PhoneNumberID: `a\b`},
	} {
		ev := statusEvent("W", md.PhoneNumberID, "a", "sent")
		ev.DisplayPhoneNumber = md.DisplayPhoneNumber
		got, err := delivery.Envelope([]bahasha.Event{ev})
		if err != nil {
			t.Fatal(err)
		}
		var n struct {
			Entry []struct {
				Changes []struct {
					Value struct {
						Metadata json.RawMessage `json:"metadata"`
					} `json:"value"`
				} `json:"changes"`
			} `json:"entry"`
		}
		if err := json.Unmarshal(got, &n); err != nil {
			t.Fatalf("%+v: %v in %s", md, err, got)
		}
		want, _ := json.Marshal(md)
		if g := string(n.Entry[0].Changes[0].Value.Metadata); g != string(want) {
			t.Errorf("metadata %+v encoded as %s, want %s", md, g, want)
		}
	}
}

// A payload stored with bytes that are not UTF-8 (by a version that did not
// refuse them) goes out as valid UTF-8 JSON, each run of bad bytes as one U+FFFD.
func TestEnvelopeIsValidUTF8(t *testing.T) {
	ev := messageEvent("waba", "pn", "wamid.1", "254712345678", "Jane", "ok")
	ev.Payload = []byte("{\"from\":\"254712345678\",\"id\":\"wamid.1\",\"type\":\"text\",\"text\":{\"body\":\"a\xff\xfeb\"}}")
	ev.Contact = []byte("{\"profile\":{\"name\":\"J\xffane\"},\"wa_id\":\"254712345678\"}")
	body, err := delivery.Envelope([]bahasha.Event{ev})
	if err != nil {
		t.Fatal(err)
	}
	if !utf8.Valid(body) {
		t.Fatalf("the envelope is not UTF-8: %q", body)
	}
	n, err := whatsapp.Parse(body)
	if err != nil {
		t.Fatal(err)
	}
	for m := range n.Messages() {
		if m.Message.Text.Body != "a\uFFFDb" || m.Contact.Profile.Name != "J\uFFFDane" {
			t.Fatalf("decoded %q from %q", m.Message.Text.Body, m.Contact.Profile.Name)
		}
	}
}
