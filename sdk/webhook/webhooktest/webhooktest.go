// Package webhooktest helps a business test its own webhook receiver: it
// builds the requests Bahasha sends (the GET handshake and signed event
// POSTs) and sample notifications of every kind.
//
//	h := &webhook.Handler{AppSecret: "s3cret", OnText: ...}
//	rec := httptest.NewRecorder()
//	h.ServeHTTP(rec, webhooktest.NewRequest("/webhook", webhooktest.Text("254712345678", "hi"), "s3cret"))
package webhooktest

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/bahasha/bahasha/sdk/webhook"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// The account, phone number and customer the samples use: those of the
// Bahasha documentation's examples.
const (
	WABAID             = "WABA_ID"
	DisplayPhoneNumber = "+254700000000"
	PhoneNumberID      = "123456789"
	CustomerWaID       = "254712345678"
	CustomerName       = "Jane Smith"
	// Timestamp is the Unix time of the samples.
	Timestamp = 1700000001
)

// NewRequest returns a POST to target whose body is n as JSON, signed with
// appSecret (unsigned when appSecret is empty), as Bahasha sends it. The
// request can be passed to a handler's ServeHTTP (target may then be just a
// path) or sent with an http.Client to a running server (target is then a
// full URL). Like httptest.NewRequest, it panics on bad input.
func NewRequest(target string, n *whatsapp.Notification, appSecret string) *http.Request {
	body, err := json.Marshal(n)
	if err != nil {
		panic("webhooktest: " + err.Error())
	}
	return NewRequestBody(target, body, appSecret)
}

// NewRequestBody is NewRequest for a body given as raw bytes.
func NewRequestBody(target string, body []byte, appSecret string) *http.Request {
	r, err := http.NewRequest(http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		panic("webhooktest: " + err.Error())
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("User-Agent", "Bahasha-Webhooks-Test")
	if appSecret != "" {
		r.Header.Set(webhook.SignatureHeader, webhook.Sign(appSecret, body))
	}
	return r
}

// SignStandard adds to r the Standard Webhooks headers Bahasha sends
// (webhook-id msgID, webhook-timestamp the Unix seconds of timestamp, and
// webhook-signature, with one v1 signature per signing secret, joined by
// spaces for a rotation) and returns r. It signs the body of r, which must
// be re-readable, as that of NewRequest and NewRequestBody is. Like them, it
// panics on bad input: an invalid secret or msgID, or no secret.
//
//	r := webhooktest.SignStandard(webhooktest.NewRequest("/webhook", n, "app-secret"), "msg_1", time.Now(), "whsec_…")
func SignStandard(r *http.Request, msgID string, timestamp time.Time, signingSecrets ...string) *http.Request {
	if r.GetBody == nil {
		panic("webhooktest: SignStandard needs a request whose body can be read again (GetBody)")
	}
	rc, err := r.GetBody()
	if err != nil {
		panic("webhooktest: " + err.Error())
	}
	body, err := io.ReadAll(rc)
	rc.Close()
	if err != nil {
		panic("webhooktest: " + err.Error())
	}
	if err := webhook.SetStandardHeaders(r.Header, signingSecrets, msgID, timestamp, body); err != nil {
		panic("webhooktest: " + err.Error())
	}
	return r
}

// NewVerifyRequest returns the GET handshake Bahasha sends when a webhook is
// registered, with hub.mode=subscribe. Like NewRequest, it suits both a
// handler's ServeHTTP and an http.Client.
func NewVerifyRequest(target, verifyToken, challenge string) *http.Request {
	u, err := url.Parse(target)
	if err != nil {
		panic("webhooktest: " + err.Error())
	}
	q := u.Query()
	q.Set("hub.mode", "subscribe")
	q.Set("hub.verify_token", verifyToken)
	q.Set("hub.challenge", challenge)
	u.RawQuery = q.Encode()
	r, err := http.NewRequest(http.MethodGet, u.String(), nil)
	if err != nil {
		panic("webhooktest: " + err.Error())
	}
	r.Header.Set("User-Agent", "Bahasha-Webhooks-Test")
	return r
}

// Notification wraps values in the envelope Bahasha delivers: one entry for
// the sample account, one "messages" change per value. A value without
// metadata gets the sample phone number's.
func Notification(values ...whatsapp.Value) *whatsapp.Notification {
	n := &whatsapp.Notification{Object: whatsapp.ObjectWhatsAppBusinessAccount, Entry: []whatsapp.Entry{{ID: WABAID}}}
	for _, v := range values {
		if v.MessagingProduct == "" {
			v.MessagingProduct = whatsapp.MessagingProductWhatsApp
		}
		if v.Metadata == (whatsapp.Metadata{}) {
			v.Metadata = whatsapp.Metadata{DisplayPhoneNumber: DisplayPhoneNumber, PhoneNumberID: PhoneNumberID}
		}
		n.Entry[0].Changes = append(n.Entry[0].Changes, whatsapp.Change{Field: whatsapp.FieldMessages, Value: v})
	}
	return n
}

// Status returns a notification with one delivery report for the message
// wamid. A failed status carries the documentation's 131026 error.
func Status(wamid string, status whatsapp.StatusValue) *whatsapp.Notification {
	s := whatsapp.Status{
		ID:          wamid,
		Status:      status,
		Timestamp:   whatsapp.UnixTimestamp(Timestamp),
		RecipientID: CustomerWaID,
	}
	if status == whatsapp.StatusFailed {
		s.Errors = []whatsapp.Error{UndeliverableError()}
	} else {
		s.Conversation = &whatsapp.Conversation{ID: "CONVERSATION_ID", Origin: whatsapp.Origin{Type: "service"}}
		s.Pricing = &whatsapp.Pricing{Billable: true, PricingModel: "PMP", Category: "service", Type: "regular"}
	}
	return Notification(whatsapp.Value{Statuses: []whatsapp.Status{s}})
}

// UndeliverableError is the error of a failed status in the documentation:
// code 131026, "Message undeliverable".
func UndeliverableError() whatsapp.Error {
	return whatsapp.Error{
		Code:      131026,
		Title:     "Message undeliverable",
		Message:   "This message is undeliverable",
		ErrorData: whatsapp.ErrorData{Details: "The recipient phone number is not a WhatsApp phone number."},
	}
}

// Messages returns a notification with messages from the sample customer
// (or whoever each message's From names), with a contact for each sender.
func Messages(msgs ...whatsapp.Message) *whatsapp.Notification {
	v := whatsapp.Value{}
	seen := map[string]bool{}
	for i, m := range msgs {
		if m.From == "" {
			m.From = CustomerWaID
		}
		if m.ID == "" {
			m.ID = "wamid.sample." + strconv.Itoa(i+1)
		}
		if m.Timestamp.IsZero() {
			m.Timestamp = whatsapp.UnixTimestamp(Timestamp + int64(i))
		}
		if !seen[m.From] {
			seen[m.From] = true
			name := CustomerName
			if m.From != CustomerWaID {
				name = "Customer " + m.From
			}
			v.Contacts = append(v.Contacts, whatsapp.Contact{Profile: whatsapp.Profile{Name: name}, WaID: m.From})
		}
		v.Messages = append(v.Messages, m)
	}
	return Notification(v)
}

// Text returns a notification with one text message from the customer from.
func Text(from, body string) *whatsapp.Notification {
	return Messages(whatsapp.Message{From: from, Type: whatsapp.MessageText, Text: &whatsapp.Text{Body: body}})
}

// SampleMessage returns a message of type t with plausible content, for
// every type in whatsapp.KnownMessageTypes; for any other type, a message of
// that type with no content.
func SampleMessage(t whatsapp.MessageType) whatsapp.Message {
	m := whatsapp.Message{Type: t}
	media := &whatsapp.Media{ID: "MEDIA_ID", MimeType: "image/jpeg", SHA256: "SHA256_HASH"}
	switch t {
	case whatsapp.MessageText:
		m.Text = &whatsapp.Text{Body: "Thank you, I received my order!"}
	case whatsapp.MessageImage:
		media.Caption = "My receipt"
		m.Image = media
	case whatsapp.MessageAudio:
		media.MimeType, media.Voice = "audio/ogg; codecs=opus", true
		m.Audio = media
	case whatsapp.MessageVideo:
		media.MimeType, media.Caption = "video/mp4", "Unboxing"
		m.Video = media
	case whatsapp.MessageDocument:
		media.MimeType, media.Filename, media.Caption = "application/pdf", "invoice.pdf", "Invoice"
		m.Document = media
	case whatsapp.MessageSticker:
		media.MimeType, media.Animated = "image/webp", true
		m.Sticker = media
	case whatsapp.MessageLocation:
		lat, _ := whatsapp.NumberOf("-1.2921")
		lng, _ := whatsapp.NumberOf("36.8219")
		m.Location = &whatsapp.Location{Latitude: lat, Longitude: lng, Name: "Nairobi", Address: "Kenyatta Ave"}
	case whatsapp.MessageContacts:
		m.Contacts = []whatsapp.SharedContact{{
			Name:   whatsapp.ContactName{FormattedName: "John Doe", FirstName: "John", LastName: "Doe"},
			Phones: []whatsapp.ContactPhone{{Phone: "+254 711 000000", WaID: "254711000000", Type: "CELL"}},
		}}
	case whatsapp.MessageInteractive:
		m.Interactive = &whatsapp.Interactive{Type: "button_reply", ButtonReply: &whatsapp.ButtonReply{ID: "track", Title: "Track order"}}
	case whatsapp.MessageButton:
		m.Button = &whatsapp.Button{Payload: "STOP_PROMOS", Text: "Stop promotions"}
		m.Context = &whatsapp.Context{From: "254700000000", ID: "wamid.template"}
	case whatsapp.MessageReaction:
		m.Reaction = &whatsapp.Reaction{MessageID: "wamid.sent", Emoji: "\U0001F44D"}
	case whatsapp.MessageOrder:
		price, _ := whatsapp.NumberOf("7.99")
		m.Order = &whatsapp.Order{CatalogID: "CATALOG_ID", ProductItems: []whatsapp.ProductItem{{
			ProductRetailerID: "SKU-1", Quantity: whatsapp.IntNumber(2), ItemPrice: price, Currency: "USD"}}}
	case whatsapp.MessageSystem:
		m.System = &whatsapp.System{Type: "customer_changed_number", Body: "Jane changed from 254712345678 to 254712345679", WaID: "254712345679"}
	case whatsapp.MessageUnsupported, whatsapp.MessageUnknown:
		m.Errors = []whatsapp.Error{{Code: 131051, Title: "Message type unknown", Message: "Message type unknown",
			ErrorData: whatsapp.ErrorData{Details: "Message type is currently not supported."}}}
	}
	return m
}
