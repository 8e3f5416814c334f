package delivery_test

import (
	"encoding/json"
	"testing"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/delivery"
	"github.com/bahasha/bahasha/whatsapp"
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
