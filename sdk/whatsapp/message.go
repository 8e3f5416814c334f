package whatsapp

import "encoding/json"

// MessageType is the type of a customer [Message]. WhatsApp adds types over
// time; a type this package does not know parses without error, its content
// stays in [Message.Raw].
type MessageType string

// The message types WhatsApp sends.
const (
	MessageText        MessageType = "text"
	MessageImage       MessageType = "image"
	MessageAudio       MessageType = "audio"
	MessageVideo       MessageType = "video"
	MessageDocument    MessageType = "document"
	MessageSticker     MessageType = "sticker"
	MessageLocation    MessageType = "location"
	MessageContacts    MessageType = "contacts"
	MessageInteractive MessageType = "interactive"
	MessageButton      MessageType = "button"
	MessageReaction    MessageType = "reaction"
	MessageOrder       MessageType = "order"
	MessageSystem      MessageType = "system"
	// MessageRequestWelcome is sent when a customer opens a chat for the
	// first time.
	MessageRequestWelcome MessageType = "request_welcome"
	// MessageUnsupported is a message WhatsApp itself does not support on
	// the Cloud API (its Errors say why).
	MessageUnsupported MessageType = "unsupported"
	// MessageUnknown is WhatsApp's older name for MessageUnsupported.
	MessageUnknown MessageType = "unknown"
)

// KnownMessageTypes lists every type this version of the package has a typed
// field for, in documentation order.
var KnownMessageTypes = []MessageType{
	MessageText, MessageImage, MessageAudio, MessageVideo, MessageDocument,
	MessageSticker, MessageLocation, MessageContacts, MessageInteractive,
	MessageButton, MessageReaction, MessageOrder, MessageSystem,
	MessageRequestWelcome, MessageUnsupported, MessageUnknown,
}

// Message is a message a customer sent to the business.
type Message struct {
	// From is the customer's WhatsApp id (phone number); it may be omitted
	// for users who adopted a username.
	From string `json:"from,omitempty"`
	// FromUserID is the customer's business-scoped user id (BSUID).
	FromUserID string `json:"from_user_id,omitempty"`
	// FromParentUserID is the customer's parent BSUID.
	FromParentUserID string `json:"from_parent_user_id,omitempty"`
	// GroupID is set for messages sent in a group.
	GroupID string `json:"group_id,omitempty"`
	// ID is the message's wamid.
	ID        string      `json:"id,omitempty"`
	Timestamp Timestamp   `json:"timestamp,omitzero"`
	Type      MessageType `json:"type,omitempty"`
	// Context is set when the message replies to or quotes another message,
	// or asks about a product.
	Context *Context `json:"context,omitempty"`
	// Referral is set when the customer came from a click-to-WhatsApp ad or
	// post.
	Referral *Referral `json:"referral,omitempty"`
	// Identity is set when identity change checks are enabled.
	Identity *Identity `json:"identity,omitempty"`
	// Errors explains an unsupported message.
	Errors []Error `json:"errors,omitempty"`

	// Exactly one of the following is set, named by Type (none for a type
	// this version does not know: see Raw).
	Text        *Text           `json:"text,omitempty"`
	Image       *Media          `json:"image,omitempty"`
	Audio       *Media          `json:"audio,omitempty"`
	Video       *Media          `json:"video,omitempty"`
	Document    *Media          `json:"document,omitempty"`
	Sticker     *Media          `json:"sticker,omitempty"`
	Location    *Location       `json:"location,omitempty"`
	Contacts    []SharedContact `json:"contacts,omitempty"`
	Interactive *Interactive    `json:"interactive,omitempty"`
	Button      *Button         `json:"button,omitempty"`
	Reaction    *Reaction       `json:"reaction,omitempty"`
	Order       *Order          `json:"order,omitempty"`
	System      *System         `json:"system,omitempty"`

	// Raw is the exact JSON this Message was parsed from (nil for a Message
	// built in code). It is how a receiver reads a type or field that this
	// version does not know: json.Unmarshal(m.Raw, &myType). MarshalJSON
	// carries over the keys of Raw that the typed fields leave out; set Raw
	// to nil to marshal only the typed fields.
	Raw json.RawMessage `json:"-"`
}

// Context links a message to an earlier one.
type Context struct {
	// From is who sent the message replied to (for a business message, the
	// business's number).
	From string `json:"from,omitempty"`
	// ID is the wamid of the message replied to.
	ID string `json:"id,omitempty"`
	// Forwarded is true when the message was forwarded.
	Forwarded bool `json:"forwarded,omitempty"`
	// FrequentlyForwarded is true when the message was forwarded more than
	// five times.
	FrequentlyForwarded bool `json:"frequently_forwarded,omitempty"`
	// ReferredProduct is set when the customer asks about a product.
	ReferredProduct *ReferredProduct `json:"referred_product,omitempty"`
}

// ReferredProduct is a catalog product a message refers to.
type ReferredProduct struct {
	CatalogID         string `json:"catalog_id,omitempty"`
	ProductRetailerID string `json:"product_retailer_id,omitempty"`
}

// Referral describes the ad or post a customer came from.
type Referral struct {
	SourceURL    string `json:"source_url,omitempty"`
	SourceID     string `json:"source_id,omitempty"`
	SourceType   string `json:"source_type,omitempty"` // "ad" or "post"
	Headline     string `json:"headline,omitempty"`
	Body         string `json:"body,omitempty"`
	MediaType    string `json:"media_type,omitempty"` // "image" or "video"
	ImageURL     string `json:"image_url,omitempty"`
	VideoURL     string `json:"video_url,omitempty"`
	ThumbnailURL string `json:"thumbnail_url,omitempty"`
	CTWAClid     string `json:"ctwa_clid,omitempty"`
}

// Identity reports a change of the customer's identity key.
type Identity struct {
	Acknowledged     bool      `json:"acknowledged,omitempty"`
	CreatedTimestamp Timestamp `json:"created_timestamp,omitzero"`
	Hash             string    `json:"hash,omitempty"`
}

// Text is the content of a text message.
type Text struct {
	Body string `json:"body"`
}

// Media is the content of an image, audio, video, document or sticker
// message. Download it with the media id.
type Media struct {
	ID       string `json:"id,omitempty"`
	MimeType string `json:"mime_type,omitempty"`
	SHA256   string `json:"sha256,omitempty"`
	// URL is a short-lived download URL, when WhatsApp includes one.
	URL string `json:"url,omitempty"`
	// Caption is set for images, videos and documents.
	Caption string `json:"caption,omitempty"`
	// Filename is set for documents.
	Filename string `json:"filename,omitempty"`
	// Voice is true for an audio message recorded as a voice note.
	Voice bool `json:"voice,omitempty"`
	// Animated is true for an animated sticker.
	Animated bool `json:"animated,omitempty"`
}

// Location is the content of a location message.
type Location struct {
	// Latitude and Longitude are decimal degrees, kept exactly as sent.
	Latitude  Number `json:"latitude,omitzero"`
	Longitude Number `json:"longitude,omitzero"`
	Name      string `json:"name,omitempty"`
	Address   string `json:"address,omitempty"`
	URL       string `json:"url,omitempty"`
}

// SharedContact is a contact card in a contacts message.
type SharedContact struct {
	Addresses []ContactAddress `json:"addresses,omitempty"`
	Birthday  string           `json:"birthday,omitempty"`
	Emails    []ContactEmail   `json:"emails,omitempty"`
	Name      ContactName      `json:"name,omitzero"`
	Org       *ContactOrg      `json:"org,omitempty"`
	Phones    []ContactPhone   `json:"phones,omitempty"`
	URLs      []ContactURL     `json:"urls,omitempty"`
	// Vcard is the raw vCard, when WhatsApp includes it.
	Vcard string `json:"vcard,omitempty"`
}

// ContactAddress is a postal address of a shared contact.
type ContactAddress struct {
	Street      string `json:"street,omitempty"`
	City        string `json:"city,omitempty"`
	State       string `json:"state,omitempty"`
	Zip         string `json:"zip,omitempty"`
	Country     string `json:"country,omitempty"`
	CountryCode string `json:"country_code,omitempty"`
	Type        string `json:"type,omitempty"`
}

// ContactEmail is an email address of a shared contact.
type ContactEmail struct {
	Email string `json:"email,omitempty"`
	Type  string `json:"type,omitempty"`
}

// ContactName is the name of a shared contact.
type ContactName struct {
	FormattedName string `json:"formatted_name,omitempty"`
	FirstName     string `json:"first_name,omitempty"`
	LastName      string `json:"last_name,omitempty"`
	MiddleName    string `json:"middle_name,omitempty"`
	Suffix        string `json:"suffix,omitempty"`
	Prefix        string `json:"prefix,omitempty"`
}

// ContactOrg is the organisation of a shared contact.
type ContactOrg struct {
	Company    string `json:"company,omitempty"`
	Department string `json:"department,omitempty"`
	Title      string `json:"title,omitempty"`
}

// ContactPhone is a phone number of a shared contact.
type ContactPhone struct {
	Phone string `json:"phone,omitempty"`
	WaID  string `json:"wa_id,omitempty"`
	Type  string `json:"type,omitempty"`
}

// ContactURL is a web address of a shared contact.
type ContactURL struct {
	URL  string `json:"url,omitempty"`
	Type string `json:"type,omitempty"`
}

// Interactive is a customer's answer to an interactive message: a reply
// button, a list row, or a WhatsApp Flow ("nfm_reply").
type Interactive struct {
	// Type is "button_reply", "list_reply" or "nfm_reply".
	Type        string       `json:"type,omitempty"`
	ButtonReply *ButtonReply `json:"button_reply,omitempty"`
	ListReply   *ListReply   `json:"list_reply,omitempty"`
	NFMReply    *NFMReply    `json:"nfm_reply,omitempty"`
}

// ButtonReply is the reply button a customer tapped.
type ButtonReply struct {
	ID    string `json:"id,omitempty"`
	Title string `json:"title,omitempty"`
}

// ListReply is the list row a customer chose.
type ListReply struct {
	ID          string `json:"id,omitempty"`
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
}

// NFMReply is a customer's response to a WhatsApp Flow.
type NFMReply struct {
	Name string `json:"name,omitempty"`
	Body string `json:"body,omitempty"`
	// ResponseJSON is the Flow's response, itself a JSON document in a string.
	ResponseJSON string `json:"response_json,omitempty"`
}

// Reply returns the id and title of the button or list row the customer
// chose, and false for a Flow reply or an empty Interactive.
func (i *Interactive) Reply() (id, title string, ok bool) {
	switch {
	case i == nil:
	case i.ButtonReply != nil:
		return i.ButtonReply.ID, i.ButtonReply.Title, true
	case i.ListReply != nil:
		return i.ListReply.ID, i.ListReply.Title, true
	}
	return "", "", false
}

// Button is a customer's tap on a quick-reply button of a template message.
type Button struct {
	Payload string `json:"payload,omitempty"`
	Text    string `json:"text,omitempty"`
}

// Reaction is an emoji reaction to a business message.
type Reaction struct {
	// MessageID is the wamid of the message reacted to.
	MessageID string `json:"message_id,omitempty"`
	// Emoji is the reaction; empty when the customer removed it.
	Emoji string `json:"emoji,omitempty"`
}

// Removed reports whether the customer removed their reaction (an empty or
// absent emoji). A nil Reaction reports false.
func (r *Reaction) Removed() bool { return r != nil && r.Emoji == "" }

// Order is a cart a customer sent from a catalog.
type Order struct {
	CatalogID    string        `json:"catalog_id,omitempty"`
	Text         string        `json:"text,omitempty"`
	ProductItems []ProductItem `json:"product_items,omitempty"`
}

// ProductItem is one line of an [Order]. Prices and quantities are kept as
// exact decimals.
type ProductItem struct {
	ProductRetailerID string `json:"product_retailer_id,omitempty"`
	Quantity          Number `json:"quantity,omitzero"`
	ItemPrice         Number `json:"item_price,omitzero"`
	Currency          string `json:"currency,omitempty"`
}

// System is a system message: the customer changed their number or their
// identity.
type System struct {
	// Type is "customer_changed_number", "customer_identity_changed", …
	Type     string `json:"type,omitempty"`
	Body     string `json:"body,omitempty"`
	Identity string `json:"identity,omitempty"`
	// WaID is the customer's new WhatsApp id after a number change.
	WaID string `json:"wa_id,omitempty"`
	// NewWaID is the same, as older versions of the API name it.
	NewWaID  string `json:"new_wa_id,omitempty"`
	Customer string `json:"customer,omitempty"`
	// UserID is the customer's business-scoped user id after the change.
	UserID string `json:"user_id,omitempty"`
}

// Known reports whether this version of the package has a typed field for
// the message's type. For other types, read Raw.
func (m *Message) Known() bool {
	for _, t := range KnownMessageTypes {
		if m.Type == t {
			return true
		}
	}
	return false
}

// UnmarshalJSON implements json.Unmarshaler and keeps the raw JSON.
func (m *Message) UnmarshalJSON(data []byte) error {
	type plain Message
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*m = Message(p)
	m.Raw = append(json.RawMessage(nil), data...)
	return nil
}

// MarshalJSON implements json.Marshaler; see [Message.Raw].
func (m Message) MarshalJSON() ([]byte, error) {
	type plain Message
	return marshalKeepingRaw(plain(m), m.Raw)
}
