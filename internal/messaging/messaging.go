// Package messaging is what a business's messages do in the sandbox: send
// one through the sandbox carrier, which plays out its statuses as
// WhatsApp would, and simulate a customer's reply. The API and the
// dashboard call it with typed values (whatsapp.Message for a reply); it
// speaks no HTTP. Its errors are problem.Errors saying what to fix, or the
// store's.
package messaging

import (
	"context"
	"errors"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/sandbox"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// Waker is told that new deliveries may be due.
type Waker interface{ Wake() }

// Service sends and simulates messages. Its fields are its dependencies.
type Service struct {
	Store store.Store
	Waker Waker
	// Rand makes message ids (crypto/rand in production).
	Rand io.Reader
	Now  func() time.Time
	// Pace is the time between the sandbox carrier's statuses of one
	// message; zero makes them all due at once.
	Pace time.Duration
}

// Number returns one of the account's phone numbers, or a 404 problem
// naming it.
func (s *Service) Number(ctx context.Context, accountID, phoneNumberID string) (bahasha.PhoneNumber, error) {
	n, err := s.Store.PhoneNumber(ctx, store.GetPhoneNumberParams{AccountID: accountID, PhoneNumberID: phoneNumberID})
	if errors.Is(err, store.ErrNotFound) {
		return n, problem.NotFound("unknown_phone_number", "phone number id %q is not one of this account's numbers; list them with GET /v1/phone_numbers", phoneNumberID)
	}
	return n, err
}

// categories are the pricing categories of a sent message.
var categories = []string{"service", "utility", "marketing", "authentication"}

// SendParams are the arguments of Send.
type SendParams struct {
	AccountID     string
	PhoneNumberID string
	// To is the recipient's phone number, digits with an optional +.
	To string
	// Category is the pricing category: service (a reply within the
	// customer service window) or a template's.
	Category string
	// BizOpaqueCallbackData is echoed in the message's statuses.
	BizOpaqueCallbackData string
}

// Sent is what Send queued.
type Sent struct {
	// WAMID is the message's id; To the recipient's WhatsApp id.
	WAMID, To string
	// Statuses is how many status events the sandbox carrier queued.
	Statuses int
}

// Send sends a message from one of the account's numbers: the sandbox
// carrier queues its statuses (sent, delivered, read; or a failure for a
// recipient ending in 0000), and the engine is woken.
func (s *Service) Send(ctx context.Context, p SendParams) (Sent, error) {
	number, err := s.Number(ctx, p.AccountID, p.PhoneNumberID)
	if err != nil {
		return Sent{}, err
	}
	if !ValidPhone(p.To) {
		return Sent{}, problem.Invalid(`"to" must be the recipient's phone number in international format, digits only, e.g. 254712345678`)
	}
	category := p.Category
	if category == "" {
		category = "service"
	}
	if !slices.Contains(categories, category) {
		return Sent{}, problem.Invalid("the pricing category %q is not one of %s", category, strings.Join(categories, ", "))
	}
	to := strings.TrimPrefix(p.To, "+")
	wamid, err := sandbox.NewWAMID(s.Rand)
	if err != nil {
		return Sent{}, err
	}
	now := s.Now()
	events, err := sandbox.StatusEvents(sandbox.Sent{Number: number, WAMID: wamid, Recipient: to, Category: category,
		BizOpaqueCallbackData: p.BizOpaqueCallbackData, Now: now, Pace: s.Pace})
	if err != nil {
		return Sent{}, err
	}
	if _, err := s.Store.InsertEvents(ctx, store.InsertEventsParams{AccountID: p.AccountID, Events: events, Now: now, Source: "sandbox"}); err != nil {
		return Sent{}, err
	}
	s.Waker.Wake()
	return Sent{WAMID: wamid, To: to, Statuses: len(events)}, nil
}

// InboundParams are the arguments of Inbound.
type InboundParams struct {
	AccountID     string
	PhoneNumberID string
	// From is the customer's phone number; Name their profile name
	// (default "Sandbox Customer").
	From, Name string
	// Message is the reply: its Type and that type's content, optionally
	// Context and Referral. Its id, sender and time are set by Inbound.
	Message whatsapp.Message
}

// Received is what Inbound ingested.
type Received struct {
	WAMID, Type, From string
	EventID           int64
	// DeliveryIDs are its deliveries, one per endpoint it was routed to;
	// DeliveryID is the first, 0 when no endpoint takes it.
	DeliveryID  int64
	DeliveryIDs []int64
}

// Inbound ingests a customer's reply to one of the account's numbers as
// WhatsApp would deliver it.
func (s *Service) Inbound(ctx context.Context, p InboundParams) (Received, error) {
	number, err := s.Number(ctx, p.AccountID, p.PhoneNumberID)
	if err != nil {
		return Received{}, err
	}
	if !ValidPhone(p.From) {
		return Received{}, problem.Invalid(`"from" must be the customer's phone number, digits only, e.g. 254712345678`)
	}
	m := p.Message
	if err := checkReply(&m); err != nil {
		return Received{}, err
	}
	from := strings.TrimPrefix(p.From, "+")
	if m.ID, err = sandbox.NewWAMID(s.Rand); err != nil {
		return Received{}, err
	}
	now := s.Now()
	m.From, m.Timestamp = from, whatsapp.TimestampOf(now)
	name := p.Name
	if name == "" {
		name = "Sandbox Customer"
	}
	ev, err := sandbox.Inbound(number, m, whatsapp.Contact{Profile: whatsapp.Profile{Name: name}, WaID: from}, now)
	if err != nil {
		return Received{}, err
	}
	res, err := s.Store.InsertEvents(ctx, store.InsertEventsParams{AccountID: p.AccountID, Events: []bahasha.Event{ev}, Now: now, Source: "inbound"})
	if err != nil {
		return Received{}, err
	}
	s.Waker.Wake()
	return Received{WAMID: m.ID, Type: string(m.Type), From: from, EventID: res[0].EventID, DeliveryID: res[0].DeliveryID,
		DeliveryIDs: res[0].DeliveryIDs}, nil
}

// checkReply checks that a simulated reply has a known type and that
// type's content.
func checkReply(m *whatsapp.Message) error {
	if m.Type == "" {
		return problem.Invalid(`"type" is required: one of %s`, typeList())
	}
	if !m.Known() {
		return problem.Invalid(`"type" %q is not a message type Bahasha knows; use one of %s`, m.Type, typeList())
	}
	has := map[whatsapp.MessageType]bool{
		whatsapp.MessageText: m.Text != nil, whatsapp.MessageImage: m.Image != nil, whatsapp.MessageAudio: m.Audio != nil,
		whatsapp.MessageVideo: m.Video != nil, whatsapp.MessageDocument: m.Document != nil, whatsapp.MessageSticker: m.Sticker != nil,
		whatsapp.MessageLocation: m.Location != nil, whatsapp.MessageContacts: len(m.Contacts) > 0,
		whatsapp.MessageInteractive: m.Interactive != nil, whatsapp.MessageButton: m.Button != nil,
		whatsapp.MessageReaction: m.Reaction != nil, whatsapp.MessageOrder: m.Order != nil, whatsapp.MessageSystem: m.System != nil,
	}
	if present, needed := has[m.Type]; needed && !present {
		return problem.Invalid(`a %s message needs its content in a %q field, e.g. {"from":"254712345678","type":"text","text":{"body":"Hi"}}`, m.Type, string(m.Type))
	}
	if m.Type == whatsapp.MessageText && m.Text.Body == "" {
		return problem.Invalid(`"text.body" must not be empty`)
	}
	if m.Type == whatsapp.MessageLocation {
		if _, err := m.Location.Latitude.Float64(); err != nil {
			return problem.Invalid(`"location.latitude" must be a number of degrees, e.g. -1.2921`)
		}
		if _, err := m.Location.Longitude.Float64(); err != nil {
			return problem.Invalid(`"location.longitude" must be a number of degrees, e.g. 36.8219`)
		}
	}
	if m.Type == whatsapp.MessageOrder {
		for i, it := range m.Order.ProductItems {
			if _, err := it.ItemPrice.Float64(); err != nil && !it.ItemPrice.IsZero() {
				return problem.Invalid(`"order.product_items[%d].item_price" must be a number, e.g. 7.99`, i)
			}
			if _, err := it.Quantity.Float64(); err != nil && !it.Quantity.IsZero() {
				return problem.Invalid(`"order.product_items[%d].quantity" must be a number`, i)
			}
		}
	}
	if m.Type == whatsapp.MessageInteractive {
		if _, _, ok := m.Interactive.Reply(); !ok && m.Interactive.NFMReply == nil {
			return problem.Invalid(`an interactive reply needs "button_reply", "list_reply" or "nfm_reply"`)
		}
	}
	return nil
}

func typeList() string {
	var names []string
	for _, t := range whatsapp.KnownMessageTypes {
		names = append(names, string(t))
	}
	return strings.Join(names, ", ")
}

// ValidPhone reports whether s is a phone number in international format:
// 6 to 20 digits, with an optional leading +.
func ValidPhone(s string) bool {
	s = strings.TrimPrefix(s, "+")
	if len(s) < 6 || len(s) > 20 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}
