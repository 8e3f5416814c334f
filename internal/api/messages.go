package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/messaging"
	"github.com/bahasha/bahasha/internal/problem"
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
	if !messaging.ValidPhone(req.To) {
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

func (a *API) sendMessage(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	phone := r.PathValue("phone_number_id")
	n, err := a.svc.Messaging.Number(r.Context(), acc.ID, phone)
	if err != nil {
		return err
	}
	if !n.Sandbox {
		// A live number: Meta validates and sends; its answer is relayed.
		return a.forwardLive(w, r, acc, n, "/"+phone+"/messages")
	}
	var req sendRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req, false); err != nil {
		var apiErr *problem.Error
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
	sent, err := a.svc.Messaging.Send(r.Context(), messaging.SendParams{AccountID: acc.ID, PhoneNumberID: phone, To: req.To,
		Category: category, BizOpaqueCallbackData: req.BizOpaqueCallbackData})
	if err != nil {
		return err
	}
	type contactJSON struct {
		Input string `json:"input"`
		WaID  string `json:"wa_id"`
	}
	type messageJSON struct {
		ID            string `json:"id"`
		MessageStatus string `json:"message_status,omitempty"`
	}
	msg := messageJSON{ID: sent.WAMID}
	if req.Type == "template" {
		msg.MessageStatus = "accepted"
	}
	writeJSON(w, http.StatusOK, struct {
		MessagingProduct string        `json:"messaging_product"`
		Contacts         []contactJSON `json:"contacts"`
		Messages         []messageJSON `json:"messages"`
	}{"whatsapp", []contactJSON{{Input: req.To, WaID: sent.To}}, []messageJSON{msg}})
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
	phone := r.PathValue("phone_number_id")
	if _, err := a.svc.Messaging.Number(r.Context(), acc.ID, phone); err != nil {
		return err
	}
	var raw json.RawMessage
	if err := decode(w, r, a.cfg.MaxBodyBytes, &raw, false); err != nil {
		return err
	}
	var req inboundRequest
	if err := json.Unmarshal(raw, &req); err != nil {
		return describeJSONError(err)
	}
	var m whatsapp.Message
	if err := json.Unmarshal(raw, &m); err != nil {
		return describeJSONError(err)
	}
	in, err := a.svc.Messaging.Inbound(r.Context(), messaging.InboundParams{AccountID: acc.ID, PhoneNumberID: phone,
		From: req.From, Name: req.Name, Message: m})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"message": map[string]string{"id": in.WAMID, "type": in.Type, "from": in.From},
		"event_id": eventID(in.EventID), "delivery_id": deliveryIDOrNil(in.DeliveryID), "delivery_ids": deliveryIDs(in.DeliveryIDs)})
	return nil
}

// deliveryIDs are the public ids of deliveries, [] for none.
func deliveryIDs(ids []int64) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = deliveryID(id)
	}
	return out
}
