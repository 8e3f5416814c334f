package whatsapp

import "encoding/json"

// StatusValue is the lifecycle state a [Status] reports. WhatsApp adds values
// over time; unknown values parse and are passed through unchanged.
type StatusValue string

// The status values WhatsApp sends.
const (
	StatusSent      StatusValue = "sent"
	StatusDelivered StatusValue = "delivered"
	StatusRead      StatusValue = "read"
	StatusFailed    StatusValue = "failed"
	// StatusPlayed is sent when a voice message was played.
	StatusPlayed StatusValue = "played"
	// StatusDeleted is sent when the customer deleted a message.
	StatusDeleted StatusValue = "deleted"
	// StatusWarning reports a problem with an item of a catalog message.
	StatusWarning StatusValue = "warning"
)

// Rank places a status value in a message's lifecycle: sent (1) <
// delivered (2) < read (3) < played (4); failed and deleted (5) are final.
// It is 0 for a value outside the lifecycle (warning, or one this version
// does not know), which neither overtakes nor is overtaken. A receiver that
// keeps a message's furthest status ignores one whose rank is lower:
//
//	if st.Status.Rank() > 0 && st.Status.Rank() < furthest[st.ID].Rank() {
//		return nil // an older status arriving late
//	}
//
// Bahasha never delivers a status after a later one of the same message
// was acknowledged (see the README's delivery guarantees).
func (v StatusValue) Rank() int {
	switch v {
	case StatusSent:
		return 1
	case StatusDelivered:
		return 2
	case StatusRead:
		return 3
	case StatusPlayed:
		return 4
	case StatusFailed, StatusDeleted:
		return 5
	}
	return 0
}

// Status is a delivery report: a message the business sent changed state.
type Status struct {
	// ID is the wamid of the message the business sent.
	ID     string      `json:"id,omitempty"`
	Status StatusValue `json:"status,omitempty"`
	// Timestamp is when the state changed.
	Timestamp Timestamp `json:"timestamp,omitzero"`
	// RecipientID is the customer's WhatsApp id (phone number); it may be
	// omitted for users who adopted a username.
	RecipientID string `json:"recipient_id,omitempty"`
	// RecipientUserID is the customer's business-scoped user id (BSUID).
	RecipientUserID string `json:"recipient_user_id,omitempty"`
	// RecipientParentUserID is the customer's parent BSUID.
	RecipientParentUserID string `json:"recipient_parent_user_id,omitempty"`
	// RecipientType is "individual" or "group".
	RecipientType string `json:"recipient_type,omitempty"`
	// RecipientParticipantID is the group participant, for group messages.
	RecipientParticipantID string        `json:"recipient_participant_id,omitempty"`
	Conversation           *Conversation `json:"conversation,omitempty"`
	Pricing                *Pricing      `json:"pricing,omitempty"`
	// Errors explains a failed (or warning) status.
	Errors []Error `json:"errors,omitempty"`
	// BizOpaqueCallbackData is the string the business attached when it sent
	// the message.
	BizOpaqueCallbackData string `json:"biz_opaque_callback_data,omitempty"`

	// Raw is the JSON this Status was parsed from; see [Value.Raw].
	Raw json.RawMessage `json:"-"`
}

// Conversation is the WhatsApp conversation a message was billed in.
type Conversation struct {
	ID                  string    `json:"id,omitempty"`
	ExpirationTimestamp Timestamp `json:"expiration_timestamp,omitzero"`
	Origin              Origin    `json:"origin,omitzero"`
}

// Origin says what opened a conversation: "authentication", "marketing",
// "utility", "service", "referral_conversion", …
type Origin struct {
	Type string `json:"type,omitempty"`
}

// Pricing says how a message is billed.
type Pricing struct {
	Billable bool `json:"billable,omitempty"`
	// PricingModel is "CBP" (conversation-based) or "PMP" (per-message).
	PricingModel string `json:"pricing_model,omitempty"`
	// Category is "authentication", "marketing", "utility", "service", …
	Category string `json:"category,omitempty"`
	// Type is "regular", "free_customer_service", "free_entry_point", …
	Type string `json:"type,omitempty"`
}

// FirstError returns the first of the status's errors, or nil.
func (s *Status) FirstError() *Error {
	if len(s.Errors) == 0 {
		return nil
	}
	return &s.Errors[0]
}

// UnmarshalJSON implements json.Unmarshaler and keeps the raw JSON.
func (s *Status) UnmarshalJSON(data []byte) error {
	type plain Status
	var p plain
	if err := json.Unmarshal(data, &p); err != nil {
		return err
	}
	*s = Status(p)
	s.Raw = append(json.RawMessage(nil), data...)
	return nil
}

// MarshalJSON implements json.Marshaler; see [Value.Raw].
func (s Status) MarshalJSON() ([]byte, error) {
	type plain Status
	return marshalKeepingRaw(plain(s), s.Raw)
}
