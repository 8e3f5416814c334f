package whatsapp

import "iter"

// StatusEvent is one delivery report with where it belongs.
type StatusEvent struct {
	// WABAID is the WhatsApp Business Account id (Entry.ID).
	WABAID string
	// Metadata names the business phone number.
	Metadata Metadata
	Status   *Status
	// Contact is the recipient's profile when the change carries one
	// (WhatsApp adds them to statuses for business-scoped user ids), or nil.
	Contact *Contact
}

// MessageEvent is one customer message with where it belongs and who sent it.
type MessageEvent struct {
	// WABAID is the WhatsApp Business Account id (Entry.ID).
	WABAID string
	// Metadata names the business phone number the customer wrote to.
	Metadata Metadata
	Message  *Message
	// Contact is the sender's profile, or nil when the change carries none
	// for this sender.
	Contact *Contact
}

// ChangeEvent is one change of a field other than "messages" — a template
// status or quality update, an account update, a quality rating of a
// number, message echoes, … — with its account. Its content is the
// change's Value; read it from Value.Raw, exactly as WhatsApp sent it.
type ChangeEvent struct {
	// WABAID is the WhatsApp Business Account id (Entry.ID).
	WABAID string
	// Time is the entry's time, when WhatsApp sends one.
	Time Timestamp
	// Field names the webhook field, e.g. "message_template_status_update".
	Field string
	// Value is the change's value; Value.Raw holds it verbatim.
	Value *Value
}

// Changes iterates over every change whose field is not "messages", in
// order, with its account. Statuses and Messages cover the "messages" field.
func (n *Notification) Changes() iter.Seq[ChangeEvent] {
	return func(yield func(ChangeEvent) bool) {
		if n == nil {
			return
		}
		for i := range n.Entry {
			e := &n.Entry[i]
			for j := range e.Changes {
				c := &e.Changes[j]
				if c.Field == FieldMessages {
					continue
				}
				if !yield(ChangeEvent{WABAID: e.ID, Time: e.Time, Field: c.Field, Value: &c.Value}) {
					return
				}
			}
		}
	}
}

// Statuses iterates over every status of every change whose field is
// "messages", in order, with its account and phone number.
func (n *Notification) Statuses() iter.Seq[StatusEvent] {
	return func(yield func(StatusEvent) bool) {
		for e, v := range n.messageValues() {
			for k := range v.Statuses {
				s := &v.Statuses[k]
				ev := StatusEvent{WABAID: e.ID, Metadata: v.Metadata, Status: s,
					Contact: v.contactFor(s.RecipientID, s.RecipientUserID, s.RecipientParentUserID)}
				if !yield(ev) {
					return
				}
			}
		}
	}
}

// Messages iterates over every message of every change whose field is
// "messages", in order, with its account, phone number and the sender's
// contact. In a batch that carries several contacts, each message is paired
// with the contact whose wa_id (or business-scoped user id) is its sender's,
// never simply with the first.
func (n *Notification) Messages() iter.Seq[MessageEvent] {
	return func(yield func(MessageEvent) bool) {
		for e, v := range n.messageValues() {
			for k := range v.Messages {
				m := &v.Messages[k]
				ev := MessageEvent{WABAID: e.ID, Metadata: v.Metadata, Message: m,
					Contact: v.contactFor(m.From, m.FromUserID, m.FromParentUserID)}
				if !yield(ev) {
					return
				}
			}
		}
	}
}

// messageValues iterates over the values of the "messages" changes, with
// their entries.
func (n *Notification) messageValues() iter.Seq2[*Entry, *Value] {
	return func(yield func(*Entry, *Value) bool) {
		if n == nil {
			return
		}
		for i := range n.Entry {
			e := &n.Entry[i]
			for j := range e.Changes {
				if c := &e.Changes[j]; c.Field == FieldMessages && !yield(e, &c.Value) {
					return
				}
			}
		}
	}
}

// contactFor finds the contact of the user with WhatsApp id waID,
// business-scoped user id userID or parent BSUID parentID. With a single
// contact and a sender that carries no id, it is that contact.
func (v *Value) contactFor(waID, userID, parentID string) *Contact {
	for i := range v.Contacts {
		c := &v.Contacts[i]
		if (waID != "" && c.WaID == waID) ||
			(userID != "" && (c.UserID == userID || c.ParentUserID == userID)) ||
			(parentID != "" && c.ParentUserID == parentID) {
			return c
		}
	}
	if waID == "" && userID == "" && parentID == "" && len(v.Contacts) == 1 {
		return &v.Contacts[0]
	}
	return nil
}
