// Package whatsapp is the wire format of WhatsApp Cloud API webhooks, the
// format in which Bahasha delivers events to a business's webhook URL.
//
// A delivery is one [Notification]: an object of "whatsapp_business_account"
// whose entries (one per WhatsApp Business Account) carry changes (one per
// business phone number), each with a [Value] that holds delivery reports
// ([Status]) or customer replies ([Message]) and the [Contact] profiles of the
// people who wrote them:
//
//	Notification → Entry → Change → Value → Statuses / Messages + Contacts / Errors
//
// [Parse] reads a request body with encoding/json. It is lenient where
// WhatsApp's wire varies (timestamps and prices arrive as JSON strings or
// numbers, see [Timestamp] and [Number]; message types and fields that this
// version does not know parse without error) and strict where a receiver must
// not guess: malformed JSON, trailing bytes after the object, a top-level value
// that is not an object, an array field that is not an array, an "object"
// other than "whatsapp_business_account", a missing or null "entry", an empty
// or null entry, a change without a "value", or a null among a value's
// messages, statuses or contacts is an error wrapping [ErrInvalidNotification]
// that says what was wrong and where.
//
// Nothing is lost: the [Notification] keeps the JSON it was decoded from in
// its Raw field, which restores the envelope's keys that the types do not
// name, and every [Value], [Message], [Status] and [Contact] keeps its own, so
// a receiver can handle a message type that WhatsApp adds tomorrow with
// today's SDK, and marshalling a parsed notification gives back the same JSON
// value (key order aside). Raw restores keys the typed output lacks: to drop
// data from a parsed value, clear its Raw (or the Notification's) too.
//
// [Notification.Statuses] and [Notification.Messages] iterate over every
// status and message of a notification together with the WhatsApp Business
// Account and phone number they belong to, and, for messages, the sender's
// contact profile, so nobody writes the triple loop of the documentation.
//
// The package uses only the standard library. Bahasha's server builds the
// payloads it delivers with these same types, so sender and receiver cannot
// drift apart.
package whatsapp
