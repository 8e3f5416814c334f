package cli_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// TestSandboxInbound simulates a customer reply of every type the SDK knows
// and checks each arrives at the webhook as that message, from that customer,
// with the customer's name.
func TestSandboxInbound(t *testing.T) {
	t.Parallel()
	s, rcv := setup(t, serveOpts{})
	phone := s.Phone()

	cases := []struct {
		name    string
		typ     whatsapp.MessageType
		content string // the type's object, as JSON
		check   func(m *whatsapp.Message) string
	}{
		{"text", "text", `{"body":"Thank you, I received my order!"}`, func(m *whatsapp.Message) string {
			return m.Text.Body
		}},
		{"image", "image", `{"id":"img-1","mime_type":"image/jpeg","sha256":"abc","caption":"my receipt"}`, func(m *whatsapp.Message) string {
			return m.Image.ID + "|" + m.Image.MimeType + "|" + m.Image.Caption
		}},
		{"audio", "audio", `{"id":"aud-1","mime_type":"audio/ogg","voice":true}`, func(m *whatsapp.Message) string {
			return fmt.Sprint(m.Audio.ID, "|", m.Audio.Voice)
		}},
		{"video", "video", `{"id":"vid-1","mime_type":"video/mp4","caption":"unboxing"}`, func(m *whatsapp.Message) string {
			return m.Video.ID + "|" + m.Video.Caption
		}},
		{"document", "document", `{"id":"doc-1","filename":"invoice.pdf","mime_type":"application/pdf"}`, func(m *whatsapp.Message) string {
			return m.Document.ID + "|" + m.Document.Filename
		}},
		{"sticker", "sticker", `{"id":"stk-1","animated":true}`, func(m *whatsapp.Message) string {
			return fmt.Sprint(m.Sticker.ID, "|", m.Sticker.Animated)
		}},
		{"location", "location", `{"latitude":-1.2921,"longitude":36.8219,"name":"Nairobi","address":"CBD"}`, func(m *whatsapp.Message) string {
			return m.Location.Latitude.String() + "|" + m.Location.Longitude.String() + "|" + m.Location.Name
		}},
		{"contacts", "contacts", `[{"name":{"formatted_name":"John Doe","first_name":"John"},"phones":[{"phone":"+254700111222","wa_id":"254700111222","type":"CELL"}]}]`, func(m *whatsapp.Message) string {
			return m.Contacts[0].Name.FormattedName + "|" + m.Contacts[0].Phones[0].WaID
		}},
		{"interactive_button_reply", "interactive", `{"type":"button_reply","button_reply":{"id":"yes","title":"Yes"}}`, func(m *whatsapp.Message) string {
			id, title, _ := m.Interactive.Reply()
			return m.Interactive.Type + "|" + id + "|" + title
		}},
		{"interactive_list_reply", "interactive", `{"type":"list_reply","list_reply":{"id":"row-2","title":"Express","description":"1 day"}}`, func(m *whatsapp.Message) string {
			return m.Interactive.Type + "|" + m.Interactive.ListReply.ID + "|" + m.Interactive.ListReply.Description
		}},
		{"button", "button", `{"payload":"STOP","text":"Stop promotions"}`, func(m *whatsapp.Message) string {
			return m.Button.Payload + "|" + m.Button.Text
		}},
		{"reaction", "reaction", `{"message_id":"wamid.XYZ","emoji":"❤️"}`, func(m *whatsapp.Message) string {
			return m.Reaction.MessageID + "|" + m.Reaction.Emoji
		}},
		{"order", "order", `{"catalog_id":"cat-1","text":"for Friday","product_items":[{"product_retailer_id":"sku-1","quantity":2,"item_price":1299.90,"currency":"KES"}]}`, func(m *whatsapp.Message) string {
			it := m.Order.ProductItems[0]
			return m.Order.CatalogID + "|" + it.ProductRetailerID + "|" + it.Quantity.String() + "|" + it.ItemPrice.String() + "|" + it.Currency
		}},
		{"system", "system", `{"type":"customer_changed_number","body":"Jane changed her number","wa_id":"254799999999"}`, func(m *whatsapp.Message) string {
			return m.System.Type + "|" + m.System.WaID
		}},
	}
	want := map[string]string{
		"text": "Thank you, I received my order!", "image": "img-1|image/jpeg|my receipt", "audio": "aud-1|true",
		"video": "vid-1|unboxing", "document": "doc-1|invoice.pdf", "sticker": "stk-1|true",
		"location": "-1.2921|36.8219|Nairobi", "contacts": "John Doe|254700111222",
		"interactive_button_reply": "button_reply|yes|Yes", "interactive_list_reply": "list_reply|row-2|1 day",
		"button": "STOP|Stop promotions", "reaction": "wamid.XYZ|❤️",
		"order": "cat-1|sku-1|2|1299.90|KES", "system": "customer_changed_number|254799999999",
	}
	sent := map[string]string{} // wamid → case name
	for i, tc := range cases {
		from := fmt.Sprintf("2547123400%02d", i+10)
		body := fmt.Sprintf(`{"from":"%s","name":"Customer %s","type":"%s","%s":%s}`, from, tc.name, tc.typ, tc.typ, tc.content)
		r := s.Do("POST", "/v1/"+phone.ID+"/sandbox/inbound", body)
		if r.Status != 202 || !strings.HasPrefix(r.Str("message.id"), "wamid.") || r.Str("message.type") != string(tc.typ) ||
			r.Str("message.from") != from || !strings.HasPrefix(r.Str("delivery_id"), "dlv_") {
			t.Fatalf("%s: POST sandbox/inbound: %s", tc.name, r)
		}
		sent[r.Str("message.id")] = tc.name
	}
	rcv.Wait(t, "every inbound message", func() bool { return len(rcv.messages) >= len(cases) })
	got := map[string]bool{}
	for _, e := range rcv.Messages() {
		name, ok := sent[e.Message.ID]
		if !ok {
			t.Errorf("unexpected message %s", e.Message.ID)
			continue
		}
		got[name] = true
		var tc = cases[0]
		for i := range cases {
			if cases[i].name == name {
				tc = cases[i]
			}
		}
		if e.Message.Type != tc.typ {
			t.Errorf("%s: type %q", name, e.Message.Type)
			continue
		}
		if e.Contact == nil || e.Contact.Profile.Name != "Customer "+name || e.Contact.WaID != e.Message.From {
			t.Errorf("%s: contact %+v, want name %q and wa_id %s", name, e.Contact, "Customer "+name, e.Message.From)
		}
		if e.Message.From == "" || e.Message.Timestamp.IsZero() || e.WABAID != phone.WABA || e.Metadata.PhoneNumberID != phone.ID {
			t.Errorf("%s: from %q timestamp %v WABA %q metadata %+v", name, e.Message.From, e.Message.Timestamp, e.WABAID, e.Metadata)
		}
		if c := tc.check(e.Message); c != want[name] {
			t.Errorf("%s: content %q, want %q", name, c, want[name])
		}
		if strings.Contains(string(e.Message.Raw), `"name":"Customer`) {
			t.Errorf("%s: the request's name field leaked into the message: %s", name, e.Message.Raw)
		}
	}
	if len(got) != len(cases) {
		t.Errorf("received %d distinct messages, want %d", len(got), len(cases))
	}

	t.Run("bad_input", func(t *testing.T) {
		before := len(s.Deliveries(s.Key, ""))
		for _, tc := range []struct{ name, body, msg string }{
			{"unknown_type", `{"from":"254712345678","type":"hologram","hologram":{}}`, "not a message type"},
			{"missing_type", `{"from":"254712345678","text":{"body":"hi"}}`, `"type" is required`},
			{"missing_content", `{"from":"254712345678","type":"image"}`, `"image" field`},
			{"empty_text", `{"from":"254712345678","type":"text","text":{"body":""}}`, "text.body"},
			{"bad_from", `{"from":"not-a-number","type":"text","text":{"body":"hi"}}`, `"from"`},
			{"missing_from", `{"type":"text","text":{"body":"hi"}}`, `"from"`},
			{"from_wrong_type", `{"from":254712345678,"type":"text","text":{"body":"hi"}}`, `"from"`},
			{"content_wrong_type", `{"from":"254712345678","type":"text","text":"hi"}`, `"text" must be an object`},
			{"interactive_without_reply", `{"from":"254712345678","type":"interactive","interactive":{"type":"button_reply"}}`, "button_reply"},
			{"not_an_object", `["text"]`, "object"},
			{"malformed", `{"from":`, "JSON"},
		} {
			r := s.Do("POST", "/v1/"+phone.ID+"/sandbox/inbound", tc.body)
			if r.Status != 400 || r.Str("error.code") != "invalid_request" || !strings.Contains(r.Str("error.message"), tc.msg) {
				t.Errorf("%s: %s, want 400 invalid_request mentioning %q", tc.name, r, tc.msg)
			}
		}
		if after := len(s.Deliveries(s.Key, "")); after != before {
			t.Errorf("rejected inbound messages created %d deliveries", after-before)
		}
	})
}
