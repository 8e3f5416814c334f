package bahasha

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Operational events (KindOperational): what Bahasha tells a business
// about its own endpoints, delivered only to the endpoints whose filter
// names FilterOperational, each alone in its POST, in their own envelope
// (Notice).
const (
	NoticeEndpointFailing            = "endpoint.failing"
	NoticeEndpointRecovered          = "endpoint.recovered"
	NoticeEndpointDisabled           = "endpoint.disabled"
	NoticeEndpointEnabled            = "endpoint.enabled"
	NoticeDeliveryExhausted          = "delivery.exhausted"
	NoticeEndpointVerificationFailed = "endpoint.verification_failed"
)

// NoticeTypes lists the operational event types.
var NoticeTypes = []string{NoticeEndpointFailing, NoticeEndpointRecovered, NoticeEndpointDisabled, NoticeEndpointEnabled,
	NoticeDeliveryExhausted, NoticeEndpointVerificationFailed}

// Notice is an operational event's envelope, exactly as it is POSTed.
type Notice struct {
	// Object is always "bahasha".
	Object string `json:"object"`
	// ID identifies the event: the same on every attempt.
	ID        string          `json:"id"`
	Type      string          `json:"type"`
	CreatedAt time.Time       `json:"created_at"`
	Data      json.RawMessage `json:"data"`
}

// NewNotice is the operational event of type typ for an account at now,
// with data (marshalled to JSON).
func NewNotice(accountID, typ string, now time.Time, data any) (Event, error) {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Event{}, err
	}
	id := "op_" + hex.EncodeToString(b[:])
	d, err := json.Marshal(data)
	if err != nil {
		return Event{}, err
	}
	payload, err := json.Marshal(Notice{Object: "bahasha", ID: id, Type: typ, CreatedAt: now.UTC(), Data: d})
	if err != nil {
		return Event{}, err
	}
	return Event{AccountID: accountID, ProducerID: id, Kind: KindOperational, MessageType: typ, Payload: payload, CreatedAt: now}, nil
}
