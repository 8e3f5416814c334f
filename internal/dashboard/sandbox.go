package dashboard

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// replyTypes are the customer reply types the Sandbox page offers: every
// message type, with interactive split into its two kinds.
var replyTypes = []replyType{
	{"text", "Text"},
	{"image", "Image"},
	{"audio", "Audio (voice note)"},
	{"video", "Video"},
	{"document", "Document"},
	{"sticker", "Sticker"},
	{"location", "Location"},
	{"contacts", "Contact card"},
	{"button_reply", "Interactive: reply button"},
	{"list_reply", "Interactive: list row"},
	{"button", "Template quick-reply button"},
	{"reaction", "Reaction"},
	{"order", "Order"},
	{"system", "System: number changed"},
	{"request_welcome", "Request welcome (first chat)"},
	{"unsupported", "Unsupported"},
}

type replyType struct{ Value, Label string }

// sendForm is the send form, as entered.
type sendForm struct {
	Phone, To, Body string
}

// replyForm is the reply form, as entered.
type replyForm struct {
	Phone, From, Name, Type, Context                         string
	Body, Caption, MediaID, MimeType, Filename               string
	Latitude, Longitude, LocationName, Address               string
	ContactName, ContactPhone                                string
	ReplyID, ReplyTitle, ReplyDescription                    string
	Emoji, ReactTo                                           string
	ProductID, Quantity, Price, Currency, CatalogID, NewWaID string
}

type sandboxData struct {
	Numbers  []bahasha.PhoneNumber
	Endpoint bool
	Send     sendForm
	Reply    replyForm
	Types    []replyType
	// Sent and Replied describe what the last form queued.
	Sent    *sentView
	Replied *repliedView
	// Form names the form a problem belongs to: "send" or "reply".
	Form string
}

type sentView struct {
	WAMID, To, From string
	Statuses        int
	Fails, NoRead   bool
}

type repliedView struct {
	WAMID, Type, From string
	DeliveryID        int64
}

func defaultSandbox() sandboxData {
	return sandboxData{
		Send:  sendForm{To: "254712345678", Body: "Your order has shipped"},
		Reply: replyForm{From: "254712345678", Name: "Jane Smith", Type: "text", Body: "Thank you, I received my order!"},
		Types: replyTypes,
	}
}

// sandboxPage loads the account's sandbox numbers and whether it has a
// webhook.
func (d *Dashboard) sandboxPage(r *http.Request, acc bahasha.Account, data *sandboxData) error {
	nums, err := d.store.PhoneNumbers(r.Context(), acc.ID)
	if err != nil {
		return err
	}
	for _, n := range nums {
		if n.Sandbox {
			data.Numbers = append(data.Numbers, n)
		}
	}
	if len(data.Numbers) > 0 {
		data.Send.Phone, data.Reply.Phone = data.Numbers[0].ID, data.Numbers[0].ID
	}
	if _, err := d.store.Endpoint(r.Context(), acc.ID); err == nil {
		data.Endpoint = true
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	return nil
}

func (d *Dashboard) showSandbox(w http.ResponseWriter, r *http.Request, acc bahasha.Account, status int, data sandboxData, prob string) {
	d.render(w, r, status, "sandbox", page{Title: "Sandbox", Nav: "sandbox", Account: &acc, Data: data, Problem: prob})
}

func (d *Dashboard) sandbox(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	data := defaultSandbox()
	if err := d.sandboxPage(r, acc, &data); err != nil {
		return err
	}
	d.showSandbox(w, r, acc, http.StatusOK, data, "")
	return nil
}

// sandboxNumber checks that the chosen number is one of the account's
// sandbox numbers.
func sandboxNumber(data sandboxData, id string) error {
	if id == "" {
		return badInput("Choose the sandbox number to use.")
	}
	for _, n := range data.Numbers {
		if n.ID == id {
			return nil
		}
	}
	return badInput("The number %q is not one of this account's sandbox numbers; choose one from the list.", clip(id))
}

// sandboxSend sends a test text message as the Messages API does.
func (d *Dashboard) sandboxSend(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	if err := parseForm(r); err != nil {
		return formError(err)
	}
	data := defaultSandbox()
	if err := d.sandboxPage(r, acc, &data); err != nil {
		return err
	}
	f := sendForm{Phone: r.PostForm.Get("phone_number_id"), To: strings.TrimSpace(r.PostForm.Get("to")), Body: r.PostForm.Get("body")}
	data.Send, data.Form = f, "send"
	fail := func(err error) error {
		status, msg := classify(err)
		if status >= 500 {
			return err
		}
		d.showSandbox(w, r, acc, status, data, "The message was not sent: "+msg)
		return nil
	}
	if err := sandboxNumber(data, f.Phone); err != nil {
		return fail(err)
	}
	if strings.TrimSpace(f.Body) == "" {
		return fail(badInput("Enter the message text."))
	}
	body, err := json.Marshal(map[string]any{"messaging_product": "whatsapp", "to": f.To, "type": "text", "text": map[string]string{"body": f.Body}})
	if err != nil {
		return err
	}
	sent, err := d.api.SendMessage(r.Context(), acc, f.Phone, body)
	if err != nil {
		return fail(err)
	}
	data.Sent = &sentView{WAMID: sent.WAMID, To: sent.To, From: f.Phone, Statuses: sent.Statuses,
		Fails: strings.HasSuffix(sent.To, "0000"), NoRead: strings.HasSuffix(sent.To, "1111")}
	d.showSandbox(w, r, acc, http.StatusOK, data, "")
	return nil
}

// sandboxInbound simulates a customer's reply as the sandbox inbound route
// does, from the form's simple fields.
func (d *Dashboard) sandboxInbound(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	if err := parseForm(r); err != nil {
		return formError(err)
	}
	data := defaultSandbox()
	if err := d.sandboxPage(r, acc, &data); err != nil {
		return err
	}
	f := readReplyForm(r.PostForm)
	data.Reply, data.Form = f, "reply"
	fail := func(err error) error {
		status, msg := classify(err)
		if status >= 500 {
			return err
		}
		d.showSandbox(w, r, acc, status, data, "The reply was not simulated: "+msg)
		return nil
	}
	if err := sandboxNumber(data, f.Phone); err != nil {
		return fail(err)
	}
	msg, err := replyMessage(f)
	if err != nil {
		return fail(err)
	}
	body, err := json.Marshal(msg)
	if err != nil {
		return err
	}
	in, err := d.api.SimulateInbound(r.Context(), acc, f.Phone, body)
	if err != nil {
		return fail(err)
	}
	data.Replied = &repliedView{WAMID: in.WAMID, Type: in.Type, From: in.From, DeliveryID: in.DeliveryID}
	d.showSandbox(w, r, acc, http.StatusOK, data, "")
	return nil
}

func readReplyForm(v url.Values) replyForm {
	g := func(k string) string { return strings.TrimSpace(v.Get(k)) }
	return replyForm{
		Phone: g("phone_number_id"), From: g("from"), Name: g("name"), Type: g("type"), Context: g("context"),
		Body: v.Get("body"), Caption: g("caption"), MediaID: g("media_id"), MimeType: g("mime_type"), Filename: g("filename"),
		Latitude: g("latitude"), Longitude: g("longitude"), LocationName: g("location_name"), Address: g("address"),
		ContactName: g("contact_name"), ContactPhone: g("contact_phone"),
		ReplyID: g("reply_id"), ReplyTitle: g("reply_title"), ReplyDescription: g("reply_description"),
		Emoji: g("emoji"), ReactTo: g("react_to"),
		ProductID: g("product_id"), Quantity: g("quantity"), Price: g("price"), Currency: g("currency"), CatalogID: g("catalog_id"),
		NewWaID: g("new_wa_id"),
	}
}

// number is s as a JSON number when it is one, else as a string (which
// the API's checks then reject with a message naming the field).
func number(s string) any {
	var f float64
	if s != "" && (s[0] == '-' || s[0] >= '0' && s[0] <= '9') && json.Unmarshal([]byte(s), &f) == nil {
		return json.Number(s)
	}
	return s
}

// defaultMIME is the MIME type a media reply gets when none is entered.
var defaultMIME = map[string]string{"image": "image/jpeg", "audio": "audio/ogg; codecs=opus", "video": "video/mp4",
	"document": "application/pdf", "sticker": "image/webp"}

// replyMessage builds the body of the sandbox inbound route from the form:
// the checks of the message's content are the API's.
func replyMessage(f replyForm) (map[string]any, error) {
	m := map[string]any{"from": f.From, "name": f.Name}
	if f.Context != "" {
		m["context"] = map[string]string{"id": f.Context}
	}
	orDefault := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}
	switch f.Type {
	case "text":
		m["type"], m["text"] = "text", map[string]string{"body": f.Body}
	case "image", "audio", "video", "document", "sticker":
		media := map[string]any{"id": orDefault(f.MediaID, "sandbox-media-1"), "mime_type": orDefault(f.MimeType, defaultMIME[f.Type])}
		if f.Caption != "" && (f.Type == "image" || f.Type == "video" || f.Type == "document") {
			media["caption"] = f.Caption
		}
		if f.Type == "document" {
			media["filename"] = orDefault(f.Filename, "invoice.pdf")
		}
		if f.Type == "audio" {
			media["voice"] = true
		}
		m["type"], m[f.Type] = f.Type, media
	case "location":
		loc := map[string]any{"latitude": number(f.Latitude), "longitude": number(f.Longitude)}
		if f.LocationName != "" {
			loc["name"] = f.LocationName
		}
		if f.Address != "" {
			loc["address"] = f.Address
		}
		m["type"], m["location"] = "location", loc
	case "contacts":
		if f.ContactName == "" {
			return nil, badInput("A contact card needs the contact's name.")
		}
		card := map[string]any{"name": map[string]string{"formatted_name": f.ContactName, "first_name": f.ContactName}}
		if f.ContactPhone != "" {
			card["phones"] = []map[string]string{{"phone": f.ContactPhone, "type": "CELL"}}
		}
		m["type"], m["contacts"] = "contacts", []any{card}
	case "button_reply":
		if f.ReplyID == "" || f.ReplyTitle == "" {
			return nil, badInput("A reply button needs its id and title, as in the interactive message you sent.")
		}
		m["type"] = "interactive"
		m["interactive"] = map[string]any{"type": "button_reply", "button_reply": map[string]string{"id": f.ReplyID, "title": f.ReplyTitle}}
	case "list_reply":
		if f.ReplyID == "" || f.ReplyTitle == "" {
			return nil, badInput("A list row needs its id and title, as in the list message you sent.")
		}
		row := map[string]string{"id": f.ReplyID, "title": f.ReplyTitle}
		if f.ReplyDescription != "" {
			row["description"] = f.ReplyDescription
		}
		m["type"], m["interactive"] = "interactive", map[string]any{"type": "list_reply", "list_reply": row}
	case "button":
		if f.Body == "" {
			return nil, badInput("A quick-reply button needs its text (enter it as the message text).")
		}
		m["type"], m["button"] = "button", map[string]string{"text": f.Body, "payload": orDefault(f.ReplyID, f.Body)}
	case "reaction":
		if f.ReactTo == "" {
			return nil, badInput("A reaction needs the id (wamid) of the message it reacts to.")
		}
		m["type"], m["reaction"] = "reaction", map[string]string{"message_id": f.ReactTo, "emoji": f.Emoji}
	case "order":
		if f.ProductID == "" {
			return nil, badInput("An order needs a product id (product_retailer_id).")
		}
		item := map[string]any{"product_retailer_id": f.ProductID, "quantity": number(orDefault(f.Quantity, "1")),
			"item_price": number(orDefault(f.Price, "0")), "currency": orDefault(f.Currency, "KES")}
		order := map[string]any{"catalog_id": orDefault(f.CatalogID, "sandbox-catalog"), "product_items": []any{item}}
		if f.Body != "" {
			order["text"] = f.Body
		}
		m["type"], m["order"] = "order", order
	case "system":
		newID := orDefault(f.NewWaID, f.From)
		m["type"] = "system"
		m["system"] = map[string]string{"type": "customer_changed_number", "wa_id": newID, "new_wa_id": newID,
			"body": orDefault(f.Body, "User "+f.From+" changed from "+f.From+" to "+newID)}
	case "request_welcome":
		m["type"] = "request_welcome"
	case "unsupported":
		m["type"] = "unsupported"
		m["errors"] = []any{map[string]any{"code": 131051, "title": "Message type unknown",
			"message": "Message type unknown", "error_data": map[string]string{"details": "Message type is currently not supported."}}}
	case "":
		return nil, badInput("Choose the type of the reply.")
	default:
		return nil, badInput("The reply type %q is not one the sandbox offers; choose one from the list.", clip(f.Type))
	}
	return m, nil
}
