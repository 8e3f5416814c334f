package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/sandbox"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// cloudError renders a Messages API validation error as the WhatsApp Cloud
// API does: {"error":{"message":"(#100) …","type":"OAuthException","code":100,
// "error_data":{"messaging_product":"whatsapp","details":"…"},"fbtrace_id":"…"}}.
type cloudError struct {
	status  int
	code    int
	message string
	details string
}

func (e *cloudError) Error() string { return e.message + ": " + e.details }

func invalidParameter(format string, args ...any) *cloudError {
	return &cloudError{status: http.StatusBadRequest, code: 100, message: "(#100) Invalid parameter", details: fmt.Sprintf(format, args...)}
}

func (a *API) writeCloudError(w http.ResponseWriter, e *cloudError) {
	trace, _ := accounts.Token(a.rand, 9)
	writeJSON(w, e.status, map[string]any{"error": map[string]any{
		"message": e.message, "type": "OAuthException", "code": e.code,
		"error_data": map[string]string{"messaging_product": "whatsapp", "details": e.details},
		"fbtrace_id": trace,
	}})
}

// sendRequest is the Cloud API's send-message body, the parts Bahasha reads.
type sendRequest struct {
	MessagingProduct      string `json:"messaging_product"`
	RecipientType         string `json:"recipient_type"`
	To                    string `json:"to"`
	Type                  string `json:"type"`
	BizOpaqueCallbackData string `json:"biz_opaque_callback_data"`
	Context               *struct {
		MessageID string `json:"message_id"`
	} `json:"context"`
	Text *struct {
		Body       string `json:"body"`
		PreviewURL bool   `json:"preview_url"`
	} `json:"text"`
	Template *struct {
		Name     string `json:"name"`
		Language *struct {
			Code string `json:"code"`
		} `json:"language"`
		Components json.RawMessage `json:"components"`
		Category   string          `json:"category"` // Bahasha extension: the pricing category, default utility
	} `json:"template"`
	Image       *mediaRequest `json:"image"`
	Document    *mediaRequest `json:"document"`
	Audio       *mediaRequest `json:"audio"`
	Video       *mediaRequest `json:"video"`
	Sticker     *mediaRequest `json:"sticker"`
	Interactive *struct {
		Type string `json:"type"`
		Body *struct {
			Text string `json:"text"`
		} `json:"body"`
		Action json.RawMessage `json:"action"`
	} `json:"interactive"`
	Reaction *struct {
		MessageID string  `json:"message_id"`
		Emoji     *string `json:"emoji"`
	} `json:"reaction"`
	Location *struct {
		Latitude  *float64 `json:"latitude"`
		Longitude *float64 `json:"longitude"`
	} `json:"location"`
	Contacts json.RawMessage `json:"contacts"`
}

type mediaRequest struct {
	ID       string `json:"id"`
	Link     string `json:"link"`
	Caption  string `json:"caption"`
	Filename string `json:"filename"`
}

// validate checks a send request as the Cloud API would and returns the
// pricing category of the message.
func (req *sendRequest) validate() (string, *cloudError) {
	if req.MessagingProduct != "whatsapp" {
		return "", invalidParameter(`"messaging_product" must be "whatsapp"`)
	}
	if req.RecipientType != "" && req.RecipientType != "individual" {
		return "", invalidParameter(`"recipient_type" must be "individual"`)
	}
	if !validPhone(req.To) {
		return "", invalidParameter(`"to" must be the recipient's phone number in international format, digits only, e.g. 254712345678`)
	}
	if req.Type == "" {
		req.Type = "text"
	}
	if len(req.BizOpaqueCallbackData) > 512 {
		return "", invalidParameter(`"biz_opaque_callback_data" is longer than 512 characters`)
	}
	switch req.Type {
	case "text":
		if req.Text == nil || strings.TrimSpace(req.Text.Body) == "" {
			return "", invalidParameter(`a text message needs "text": {"body": "…"}`)
		}
		if utf8.RuneCountInString(req.Text.Body) > 4096 {
			return "", invalidParameter(`"text.body" is longer than 4096 characters`)
		}
	case "template":
		t := req.Template
		if t == nil || t.Name == "" {
			return "", invalidParameter(`a template message needs "template": {"name": "…", "language": {"code": "en_US"}}`)
		}
		if t.Language == nil || t.Language.Code == "" {
			return "", invalidParameter(`"template.language.code" is required, e.g. "en_US"`)
		}
		switch t.Category {
		case "":
			return "utility", nil
		case "marketing", "utility", "authentication":
			return t.Category, nil
		}
		return "", invalidParameter(`"template.category" must be marketing, utility or authentication`)
	case "image", "document", "audio", "video", "sticker":
		m := map[string]*mediaRequest{"image": req.Image, "document": req.Document, "audio": req.Audio, "video": req.Video, "sticker": req.Sticker}[req.Type]
		if m == nil || (m.ID == "" && m.Link == "") {
			return "", invalidParameter(`a %s message needs "%s": {"link": "https://…"} or {"id": "<media id>"}`, req.Type, req.Type)
		}
		if m.Link != "" {
			u, err := url.Parse(m.Link)
			if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
				return "", invalidParameter(`"%s.link" must be an http(s) URL`, req.Type)
			}
		}
	case "interactive":
		i := req.Interactive
		if i == nil || i.Type == "" {
			return "", invalidParameter(`an interactive message needs "interactive": {"type": "button" | "list" | "cta_url" | …, "body": {"text": "…"}, "action": {…}}`)
		}
		if i.Type != "location_request_message" && (i.Body == nil || i.Body.Text == "") {
			return "", invalidParameter(`"interactive.body.text" is required`)
		}
		if len(i.Action) == 0 || string(i.Action) == "null" {
			return "", invalidParameter(`"interactive.action" is required`)
		}
	case "reaction":
		if req.Reaction == nil || req.Reaction.MessageID == "" {
			return "", invalidParameter(`a reaction needs "reaction": {"message_id": "wamid.…", "emoji": "👍"}`)
		}
		if req.Reaction.Emoji == nil {
			return "", invalidParameter(`"reaction.emoji" is required (an empty string removes a reaction)`)
		}
	case "location":
		if req.Location == nil || req.Location.Latitude == nil || req.Location.Longitude == nil {
			return "", invalidParameter(`a location message needs "location": {"latitude": …, "longitude": …}`)
		}
	case "contacts":
		var cards []json.RawMessage
		if json.Unmarshal(req.Contacts, &cards) != nil || len(cards) == 0 {
			return "", invalidParameter(`a contacts message needs "contacts": [{"name": {…}, "phones": […]}]`)
		}
	default:
		return "", invalidParameter(`"type" %q is not supported; use text, template, image, document, audio, video, sticker, interactive, reaction, location or contacts`, req.Type)
	}
	return "service", nil
}

func validPhone(s string) bool {
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

func (a *API) phoneNumber(ctx context.Context, acc bahasha.Account, id string) (bahasha.PhoneNumber, error) {
	n, err := a.store.PhoneNumber(ctx, acc.ID, id)
	if errors.Is(err, store.ErrNotFound) {
		return n, errorf(http.StatusNotFound, "unknown_phone_number", "phone number id %q is not one of this account's numbers; list them with GET /v1/phone_numbers", id)
	}
	return n, err
}

func (a *API) sendMessage(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	number, err := a.phoneNumber(r.Context(), acc, r.PathValue("phone_number_id"))
	if err != nil {
		return err
	}
	var req sendRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req, false); err != nil {
		var apiErr *Error
		if errors.As(err, &apiErr) && (apiErr.Status == http.StatusBadRequest || apiErr.Code == "invalid_text") {
			a.writeCloudError(w, invalidParameter("%s", apiErr.Message))
			return nil
		}
		return err
	}
	category, cerr := req.validate()
	if cerr != nil {
		a.writeCloudError(w, cerr)
		return nil
	}
	sent, err := a.send(r.Context(), acc, number, &req, category)
	if err != nil {
		return err
	}
	to, wamid := sent.To, sent.WAMID
	type contactJSON struct {
		Input string `json:"input"`
		WaID  string `json:"wa_id"`
	}
	type messageJSON struct {
		ID            string `json:"id"`
		MessageStatus string `json:"message_status,omitempty"`
	}
	msg := messageJSON{ID: wamid}
	if req.Type == "template" {
		msg.MessageStatus = "accepted"
	}
	writeJSON(w, http.StatusOK, struct {
		MessagingProduct string        `json:"messaging_product"`
		Contacts         []contactJSON `json:"contacts"`
		Messages         []messageJSON `json:"messages"`
	}{"whatsapp", []contactJSON{{Input: req.To, WaID: to}}, []messageJSON{msg}})
	return nil
}

// inboundRequest is a simulated customer message: who sends it and the
// message as WhatsApp would deliver it (type and the type's object, plus
// optional context or referral).
type inboundRequest struct {
	From string `json:"from"`
	Name string `json:"name"`
}

func (a *API) sandboxInbound(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	number, err := a.phoneNumber(r.Context(), acc, r.PathValue("phone_number_id"))
	if err != nil {
		return err
	}
	var raw json.RawMessage
	if err := decode(w, r, a.cfg.MaxBodyBytes, &raw, false); err != nil {
		return err
	}
	in, err := a.inbound(r.Context(), acc, number, raw)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"message": map[string]string{"id": in.WAMID, "type": in.Type, "from": in.From},
		"event_id": eventID(in.EventID), "delivery_id": deliveryIDOrNil(in.DeliveryID)})
	return nil
}

// inbound checks a simulated customer message (the JSON body of the
// sandbox inbound route) and ingests it as an event of number.
func (a *API) inbound(ctx context.Context, acc bahasha.Account, number bahasha.PhoneNumber, raw json.RawMessage) (InboundMessage, error) {
	var req inboundRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return InboundMessage{}, describeJSONError(err)
	}
	if !validPhone(req.From) {
		return InboundMessage{}, badRequest(`"from" must be the customer's phone number, digits only, e.g. 254712345678`)
	}
	from := strings.TrimPrefix(req.From, "+")
	var m whatsapp.Message
	if err := json.Unmarshal(raw, &m); err != nil {
		return InboundMessage{}, describeJSONError(err)
	}
	if err := checkInbound(&m); err != nil {
		return InboundMessage{}, err
	}
	var err error
	if m.ID, err = sandbox.NewWAMID(a.rand); err != nil {
		return InboundMessage{}, err
	}
	m.From, m.Timestamp = from, whatsapp.TimestampOf(a.now())
	name := req.Name
	if name == "" {
		name = "Sandbox Customer"
	}
	ev, err := sandbox.Inbound(number, m, whatsapp.Contact{Profile: whatsapp.Profile{Name: name}, WaID: from}, a.now())
	if err != nil {
		return InboundMessage{}, err
	}
	res, err := a.store.InsertEvents(ctx, store.InsertEventsParams{AccountID: acc.ID, Events: []bahasha.Event{ev}, Now: a.now()})
	if err != nil {
		return InboundMessage{}, err
	}
	a.waker.Wake()
	return InboundMessage{WAMID: m.ID, Type: string(m.Type), From: from, EventID: res[0].EventID, DeliveryID: res[0].DeliveryID}, nil
}

// send queues the sandbox carrier's statuses of a checked send request.
func (a *API) send(ctx context.Context, acc bahasha.Account, number bahasha.PhoneNumber, req *sendRequest, category string) (SentMessage, error) {
	to := strings.TrimPrefix(req.To, "+")
	wamid, err := sandbox.NewWAMID(a.rand)
	if err != nil {
		return SentMessage{}, err
	}
	events, err := sandbox.StatusEvents(sandbox.Sent{Number: number, WAMID: wamid, Recipient: to, Category: category,
		BizOpaqueCallbackData: req.BizOpaqueCallbackData, Now: a.now(), Pace: a.cfg.SandboxPace})
	if err != nil {
		return SentMessage{}, err
	}
	if _, err := a.store.InsertEvents(ctx, store.InsertEventsParams{AccountID: acc.ID, Events: events, Now: a.now()}); err != nil {
		return SentMessage{}, err
	}
	a.waker.Wake()
	return SentMessage{WAMID: wamid, To: to, Statuses: len(events)}, nil
}

// SentMessage is what SendMessage queued.
type SentMessage struct {
	// WAMID is the message's id; To the recipient's WhatsApp id.
	WAMID, To string
	// Statuses is how many status events the sandbox carrier queued.
	Statuses int
}

// SendMessage sends a message from one of acc's phone numbers exactly as
// POST /v1/{phone_number_id}/messages does with body as its JSON: the
// sandbox carrier queues the message's statuses. An unknown number or a
// body that is not valid is an *Error with a 4xx Status and a Message that
// says what to fix; other errors are the store's.
func (a *API) SendMessage(ctx context.Context, acc bahasha.Account, phoneNumberID string, body []byte) (SentMessage, error) {
	number, err := a.phoneNumber(ctx, acc, phoneNumberID)
	if err != nil {
		return SentMessage{}, err
	}
	var req sendRequest
	if err := json.Unmarshal(body, &req); err != nil {
		return SentMessage{}, describeJSONError(err)
	}
	category, cerr := req.validate()
	if cerr != nil {
		return SentMessage{}, &Error{Status: cerr.status, Code: "invalid_parameter", Message: cerr.details}
	}
	return a.send(ctx, acc, number, &req, category)
}

// InboundMessage is what SimulateInbound ingested.
type InboundMessage struct {
	WAMID, Type, From string
	EventID           int64
	// DeliveryID is 0 when the account has no webhook.
	DeliveryID int64
}

// SimulateInbound ingests a customer's reply to one of acc's phone numbers
// exactly as POST /v1/{phone_number_id}/sandbox/inbound does with body as
// its JSON. An unknown number or a body that is not valid is an *Error with
// a 4xx Status and a Message that says what to fix; other errors are the
// store's.
func (a *API) SimulateInbound(ctx context.Context, acc bahasha.Account, phoneNumberID string, body []byte) (InboundMessage, error) {
	number, err := a.phoneNumber(ctx, acc, phoneNumberID)
	if err != nil {
		return InboundMessage{}, err
	}
	return a.inbound(ctx, acc, number, body)
}

// checkInbound checks that a simulated message has a known type and that
// type's content.
func checkInbound(m *whatsapp.Message) error {
	if m.Type == "" {
		return badRequest(`"type" is required: one of %s`, typeList())
	}
	if !m.Known() {
		return badRequest(`"type" %q is not a message type Bahasha knows; use one of %s`, m.Type, typeList())
	}
	has := map[whatsapp.MessageType]bool{
		whatsapp.MessageText: m.Text != nil, whatsapp.MessageImage: m.Image != nil, whatsapp.MessageAudio: m.Audio != nil,
		whatsapp.MessageVideo: m.Video != nil, whatsapp.MessageDocument: m.Document != nil, whatsapp.MessageSticker: m.Sticker != nil,
		whatsapp.MessageLocation: m.Location != nil, whatsapp.MessageContacts: len(m.Contacts) > 0,
		whatsapp.MessageInteractive: m.Interactive != nil, whatsapp.MessageButton: m.Button != nil,
		whatsapp.MessageReaction: m.Reaction != nil, whatsapp.MessageOrder: m.Order != nil, whatsapp.MessageSystem: m.System != nil,
	}
	if present, needed := has[m.Type]; needed && !present {
		return badRequest(`a %s message needs its content in a %q field, e.g. {"from":"254712345678","type":"text","text":{"body":"Hi"}}`, m.Type, string(m.Type))
	}
	if m.Type == whatsapp.MessageText && m.Text.Body == "" {
		return badRequest(`"text.body" must not be empty`)
	}
	if m.Type == whatsapp.MessageLocation {
		if _, err := m.Location.Latitude.Float64(); err != nil {
			return badRequest(`"location.latitude" must be a number of degrees, e.g. -1.2921`)
		}
		if _, err := m.Location.Longitude.Float64(); err != nil {
			return badRequest(`"location.longitude" must be a number of degrees, e.g. 36.8219`)
		}
	}
	if m.Type == whatsapp.MessageOrder {
		for i, it := range m.Order.ProductItems {
			if _, err := it.ItemPrice.Float64(); err != nil && !it.ItemPrice.IsZero() {
				return badRequest(`"order.product_items[%d].item_price" must be a number, e.g. 7.99`, i)
			}
			if _, err := it.Quantity.Float64(); err != nil && !it.Quantity.IsZero() {
				return badRequest(`"order.product_items[%d].quantity" must be a number`, i)
			}
		}
	}
	if m.Type == whatsapp.MessageInteractive {
		if _, _, ok := m.Interactive.Reply(); !ok && m.Interactive.NFMReply == nil {
			return badRequest(`an interactive reply needs "button_reply", "list_reply" or "nfm_reply"`)
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
