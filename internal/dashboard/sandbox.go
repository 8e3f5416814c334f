package dashboard

import (
	"net/http"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/messaging"
	"github.com/bahasha/bahasha/sdk/whatsapp"
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
	// Any endpoint: a number's own receives its events without a
	// primary webhook.
	es, err := d.store.Endpoints(r.Context(), acc.ID)
	if err != nil {
		return err
	}
	data.Endpoint = len(es) > 0
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
	if utf8.RuneCountInString(f.Body) > 4096 {
		return fail(badInput("The message text is longer than 4096 characters, WhatsApp's limit."))
	}
	sent, err := d.svc.Messaging.Send(r.Context(), messaging.SendParams{AccountID: acc.ID, PhoneNumberID: f.Phone, To: f.To, Category: "service"})
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
	in, err := d.svc.Messaging.Inbound(r.Context(), messaging.InboundParams{AccountID: acc.ID, PhoneNumberID: f.Phone,
		From: f.From, Name: f.Name, Message: msg})
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

// number reads a form's number, or says that what (the JSON field name)
// is not one.
func number(what, name, s string) (whatsapp.Number, error) {
	n, err := whatsapp.NumberOf(s)
	if err != nil {
		return n, badInput("%s (%s) must be a number, e.g. 36.8219; %q is not one.", what, name, clip(s))
	}
	return n, nil
}

// defaultMIME is the MIME type a media reply gets when none is entered.
var defaultMIME = map[string]string{"image": "image/jpeg", "audio": "audio/ogg; codecs=opus", "video": "video/mp4",
	"document": "application/pdf", "sticker": "image/webp"}

// replyMessage builds the simulated reply from the form's simple fields
// (its sender and profile name travel beside it).
func replyMessage(f replyForm) (whatsapp.Message, error) {
	var m whatsapp.Message
	if f.Context != "" {
		m.Context = &whatsapp.Context{ID: f.Context}
	}
	orDefault := func(s, def string) string {
		if s == "" {
			return def
		}
		return s
	}
	switch f.Type {
	case "text":
		m.Type, m.Text = whatsapp.MessageText, &whatsapp.Text{Body: f.Body}
	case "image", "audio", "video", "document", "sticker":
		media := &whatsapp.Media{ID: orDefault(f.MediaID, "sandbox-media-1"), MimeType: orDefault(f.MimeType, defaultMIME[f.Type])}
		if f.Type == "image" || f.Type == "video" || f.Type == "document" {
			media.Caption = f.Caption
		}
		m.Type = whatsapp.MessageType(f.Type)
		switch f.Type {
		case "image":
			m.Image = media
		case "audio":
			media.Voice = true
			m.Audio = media
		case "video":
			m.Video = media
		case "document":
			media.Filename = orDefault(f.Filename, "invoice.pdf")
			m.Document = media
		case "sticker":
			m.Sticker = media
		}
	case "location":
		lat, err := number("The latitude", "latitude", f.Latitude)
		if err != nil {
			return m, err
		}
		long, err := number("The longitude", "longitude", f.Longitude)
		if err != nil {
			return m, err
		}
		m.Type, m.Location = whatsapp.MessageLocation, &whatsapp.Location{Latitude: lat, Longitude: long, Name: f.LocationName, Address: f.Address}
	case "contacts":
		if f.ContactName == "" {
			return m, badInput("A contact card needs the contact's name.")
		}
		card := whatsapp.SharedContact{Name: whatsapp.ContactName{FormattedName: f.ContactName, FirstName: f.ContactName}}
		if f.ContactPhone != "" {
			card.Phones = []whatsapp.ContactPhone{{Phone: f.ContactPhone, Type: "CELL"}}
		}
		m.Type, m.Contacts = whatsapp.MessageContacts, []whatsapp.SharedContact{card}
	case "button_reply":
		if f.ReplyID == "" || f.ReplyTitle == "" {
			return m, badInput("A reply button needs its id and title, as in the interactive message you sent.")
		}
		m.Type = whatsapp.MessageInteractive
		m.Interactive = &whatsapp.Interactive{Type: "button_reply", ButtonReply: &whatsapp.ButtonReply{ID: f.ReplyID, Title: f.ReplyTitle}}
	case "list_reply":
		if f.ReplyID == "" || f.ReplyTitle == "" {
			return m, badInput("A list row needs its id and title, as in the list message you sent.")
		}
		m.Type = whatsapp.MessageInteractive
		m.Interactive = &whatsapp.Interactive{Type: "list_reply",
			ListReply: &whatsapp.ListReply{ID: f.ReplyID, Title: f.ReplyTitle, Description: f.ReplyDescription}}
	case "button":
		if f.Body == "" {
			return m, badInput("A quick-reply button needs its text (enter it as the message text).")
		}
		m.Type, m.Button = whatsapp.MessageButton, &whatsapp.Button{Text: f.Body, Payload: orDefault(f.ReplyID, f.Body)}
	case "reaction":
		if f.ReactTo == "" {
			return m, badInput("A reaction needs the id (wamid) of the message it reacts to.")
		}
		m.Type, m.Reaction = whatsapp.MessageReaction, &whatsapp.Reaction{MessageID: f.ReactTo, Emoji: f.Emoji}
	case "order":
		if f.ProductID == "" {
			return m, badInput("An order needs a product id (product_retailer_id).")
		}
		qty, err := number("The quantity", "quantity", orDefault(f.Quantity, "1"))
		if err != nil {
			return m, err
		}
		price, err := number("The price", "item_price", orDefault(f.Price, "0"))
		if err != nil {
			return m, err
		}
		m.Type = whatsapp.MessageOrder
		m.Order = &whatsapp.Order{CatalogID: orDefault(f.CatalogID, "sandbox-catalog"), Text: f.Body,
			ProductItems: []whatsapp.ProductItem{{ProductRetailerID: f.ProductID, Quantity: qty, ItemPrice: price, Currency: orDefault(f.Currency, "KES")}}}
	case "system":
		newID := orDefault(f.NewWaID, f.From)
		m.Type = whatsapp.MessageSystem
		m.System = &whatsapp.System{Type: "customer_changed_number", WaID: newID, NewWaID: newID,
			Body: orDefault(f.Body, "User "+f.From+" changed from "+f.From+" to "+newID)}
	case "request_welcome":
		m.Type = whatsapp.MessageRequestWelcome
	case "unsupported":
		m.Type = whatsapp.MessageUnsupported
		m.Errors = []whatsapp.Error{{Code: 131051, Title: "Message type unknown", Message: "Message type unknown",
			ErrorData: whatsapp.ErrorData{Details: "Message type is currently not supported."}}}
	case "":
		return m, badInput("Choose the type of the reply.")
	default:
		return m, badInput("The reply type %q is not one the sandbox offers; choose one from the list.", clip(f.Type))
	}
	return m, nil
}
