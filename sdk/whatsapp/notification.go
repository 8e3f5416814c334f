package whatsapp

import "encoding/json"

// ObjectWhatsAppBusinessAccount is the value of [Notification.Object] for
// every WhatsApp webhook.
const ObjectWhatsAppBusinessAccount = "whatsapp_business_account"

// FieldMessages is the [Change.Field] of changes that carry statuses and
// messages.
const FieldMessages = "messages"

// MessagingProductWhatsApp is the value of [Value.MessagingProduct].
const MessagingProductWhatsApp = "whatsapp"

// Notification is the body of one webhook POST.
//
// A parsed notification is lossless at every level: marshalling it again
// gives back the keys its fields do not name, and values such as an empty
// entry array, as they came. The Notification's Raw restores those of the
// envelope (the notification, its entries and their changes); each Value,
// Status, Message and Contact keeps its own.
type Notification struct {
	// Object is always "whatsapp_business_account" for WhatsApp.
	Object string `json:"object,omitempty"`
	// Entry holds one element per WhatsApp Business Account.
	Entry []Entry `json:"entry,omitempty"`

	// Raw is the JSON this Notification was parsed from (nil for one built
	// in code). Marshalling carries over the keys of the envelope — this
	// object, its entries, their changes — that the typed fields lack; set
	// it to nil to marshal only the typed fields (and each Value's Raw).
	Raw json.RawMessage `json:"-"`
}

// Entry groups the changes of one WhatsApp Business Account.
type Entry struct {
	// ID is the WhatsApp Business Account (WABA) id.
	ID string `json:"id,omitempty"`
	// Time is when the change happened, as WhatsApp sends it for fields
	// other than "messages" (a JSON number of Unix seconds).
	Time Timestamp `json:"time,omitzero"`
	// Changes holds one element per business phone number and field.
	Changes []Change `json:"changes,omitempty"`
}

// Change is what happened on one business phone number.
type Change struct {
	// Field is "messages" for statuses and customer messages. Other fields
	// (template updates, account alerts, …) parse too; their content is in
	// Value.Raw.
	Field string `json:"field,omitempty"`
	Value Value  `json:"value,omitzero"`
}

// Value is the content of a change: delivery reports in Statuses, or customer
// messages in Messages with the senders' profiles in Contacts.
type Value struct {
	MessagingProduct string    `json:"messaging_product,omitempty"`
	Metadata         Metadata  `json:"metadata,omitzero"`
	Contacts         []Contact `json:"contacts,omitempty"`
	Messages         []Message `json:"messages,omitempty"`
	Statuses         []Status  `json:"statuses,omitempty"`
	// Errors are value-level errors, such as a message WhatsApp could not
	// process at all.
	Errors []Error `json:"errors,omitempty"`

	// Raw is the JSON this Value was parsed from (nil for a Value built in
	// code). Keys the typed fields do not know are carried over by
	// MarshalJSON; set Raw to nil to marshal only the typed fields.
	Raw json.RawMessage `json:"-"`
}

// Metadata identifies the business phone number a change belongs to.
type Metadata struct {
	DisplayPhoneNumber string `json:"display_phone_number,omitempty"`
	PhoneNumberID      string `json:"phone_number_id,omitempty"`
}

// Contact is the WhatsApp profile of a customer who wrote a message (and, with
// business-scoped user ids, of a status's recipient).
type Contact struct {
	Profile Profile `json:"profile,omitzero"`
	// WaID is the customer's WhatsApp id (their phone number). It is omitted
	// for users who adopted a username and whose number is not shared.
	WaID string `json:"wa_id,omitempty"`
	// UserID is the business-scoped user id (BSUID), e.g. "US.13491208655302741918".
	UserID string `json:"user_id,omitempty"`
	// ParentUserID is the parent BSUID shared across business portfolios.
	ParentUserID string `json:"parent_user_id,omitempty"`
	// Identity key hash, present when identity change checks are enabled.
	IdentityKeyHash string `json:"identity_key_hash,omitempty"`

	// Raw is the JSON this Contact was parsed from; see [Value.Raw].
	Raw json.RawMessage `json:"-"`
}

// Profile is a customer's public profile.
type Profile struct {
	Name     string `json:"name,omitempty"`
	Username string `json:"username,omitempty"`
}

// Error is a WhatsApp error, at value, status or message level.
type Error struct {
	Code      int       `json:"code,omitempty"`
	Title     string    `json:"title,omitempty"`
	Message   string    `json:"message,omitempty"`
	ErrorData ErrorData `json:"error_data,omitzero"`
	Href      string    `json:"href,omitempty"`
}

// ErrorData carries the details of an [Error].
type ErrorData struct {
	Details string `json:"details,omitempty"`
}

// UnmarshalJSON implements json.Unmarshaler and keeps the raw JSON.
func (v *Value) UnmarshalJSON(data []byte) error {
	type plain Value
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*v = Value(p)
	v.Raw = append(json.RawMessage(nil), data...)
	return nil
}

// MarshalJSON implements json.Marshaler; see [Value.Raw].
func (v Value) MarshalJSON() ([]byte, error) {
	type plain Value
	return marshalKeepingRaw(plain(v), v.Raw)
}

// UnmarshalJSON implements json.Unmarshaler and keeps the raw JSON.
func (c *Contact) UnmarshalJSON(data []byte) error {
	type plain Contact
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*c = Contact(p)
	c.Raw = append(json.RawMessage(nil), data...)
	return nil
}

// MarshalJSON implements json.Marshaler; see [Value.Raw].
func (c Contact) MarshalJSON() ([]byte, error) {
	type plain Contact
	return marshalKeepingRaw(plain(c), c.Raw)
}

// UnmarshalJSON implements json.Unmarshaler and keeps the raw JSON.
func (n *Notification) UnmarshalJSON(data []byte) error {
	type plain Notification
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*n = Notification(p)
	n.Raw = append(json.RawMessage(nil), data...)
	return nil
}

// MarshalJSON implements json.Marshaler; see [Value.Raw]. "entry" is
// always written (an empty array when there is none), so what the typed
// field holds is what is sent, even with a Raw that had entries.
func (n Notification) MarshalJSON() ([]byte, error) {
	type plain struct {
		Object string  `json:"object,omitempty"`
		Entry  []Entry `json:"entry"`
	}
	entry := n.Entry
	if entry == nil {
		entry = []Entry{}
	}
	return marshalKeepingRaw(plain{Object: n.Object, Entry: entry}, n.Raw)
}
