// Package bahasha holds the platform's domain types — accounts and their
// phone numbers, webhook endpoints, events, deliveries and attempts — and
// nothing else. It uses only the standard library; every other internal
// package speaks in these types.
//
// The life of an event: a producer (the Messages API's sandbox carrier, the
// sandbox inbound route, or Bahasha's messaging core through POST /v1/events)
// ingests an Event for one of an account's phone numbers. In the same
// transaction, when the account has a verified Endpoint, a Delivery of that
// event to that endpoint is created. The delivery engine claims due
// deliveries, POSTs them (one Attempt each), and marks them delivered, or
// schedules the next attempt, or after the retry window marks them failed.
package bahasha

import (
	"encoding/json"
	"time"
)

// Account is a business using Bahasha: it owns phone numbers, one webhook
// endpoint, and the app secret that signs its deliveries.
type Account struct {
	ID        string
	Name      string
	AppSecret string
	CreatedAt time.Time
}

// PhoneNumber is a WhatsApp business phone number of an account.
type PhoneNumber struct {
	// ID is the phone_number_id of WhatsApp's API and webhooks.
	ID        string
	AccountID string
	// WABAID is the WhatsApp Business Account the number belongs to.
	WABAID string
	// DisplayPhoneNumber is the number as shown to customers, e.g. "+254700000000".
	DisplayPhoneNumber string
	// Sandbox is true for numbers served by the sandbox carrier.
	Sandbox   bool
	CreatedAt time.Time
}

// Endpoint is an account's webhook: the URL Bahasha POSTs events to, once
// it has passed the verification handshake.
type Endpoint struct {
	ID          int64
	AccountID   string
	URL         string
	VerifyToken string
	VerifiedAt  time.Time
	CreatedAt   time.Time
	// ConsecutiveFailures counts the POSTs that failed since the last
	// success. At the breaker's threshold the endpoint is probed: one
	// request at a time, at ProbeAt.
	ConsecutiveFailures int
	// ProbeAt is when the next probe may go, zero while the endpoint is
	// healthy.
	ProbeAt time.Time
	// FailingSince is when the current run of failures began (zero while
	// healthy).
	FailingSince time.Time
}

// Probing reports whether the endpoint's breaker is open.
func (e Endpoint) Probing() bool { return !e.ProbeAt.IsZero() }

// EventKind says what an event reports.
type EventKind string

const (
	// KindStatus is a delivery report of a message the business sent.
	KindStatus EventKind = "status"
	// KindMessage is a message a customer sent to the business.
	KindMessage EventKind = "message"
)

// Event is one webhook event of an account: a status or a customer message,
// stored as the JSON of its whatsapp type so that it goes out exactly as it
// came in.
type Event struct {
	ID        int64
	AccountID string
	// ProducerID is the producer's idempotency key: an event with the same
	// account and producer id is ingested once.
	ProducerID string
	Kind       EventKind
	// WABAID, PhoneNumberID and DisplayPhoneNumber place the event in the
	// envelope (entry id and change metadata).
	WABAID             string
	PhoneNumberID      string
	DisplayPhoneNumber string
	// WAMID is the WhatsApp message id the event is about.
	WAMID string
	// Status is the status value ("sent", "delivered", …) of a status event.
	Status string
	// MessageType is the type ("text", "image", …) of a message event.
	MessageType string
	// Payload is the JSON of a whatsapp.Status or whatsapp.Message.
	Payload json.RawMessage
	// Contact is the JSON of the sender's whatsapp.Contact (messages only).
	Contact json.RawMessage
	// CreatedAt is when the event was ingested; AvailableAt is when it may
	// first be delivered (later than CreatedAt for the sandbox carrier's
	// paced statuses).
	CreatedAt   time.Time
	AvailableAt time.Time
}

// DeliveryState is where a delivery is in its life.
type DeliveryState string

const (
	// DeliveryPending: waiting for its first or next attempt.
	DeliveryPending DeliveryState = "pending"
	// DeliveryDelivered: an attempt got a 2xx answer.
	DeliveryDelivered DeliveryState = "delivered"
	// DeliveryFailed: every attempt in the retry window failed.
	DeliveryFailed DeliveryState = "failed"
	// DeliverySuperseded: a status of the same message later in its
	// lifecycle reached the endpoint first, so this one is not delivered:
	// the receiver never sees a message's status go backwards.
	DeliverySuperseded DeliveryState = "superseded"
)

// ValidDeliveryState reports whether s is a known state.
func ValidDeliveryState(s DeliveryState) bool {
	switch s {
	case DeliveryPending, DeliveryDelivered, DeliveryFailed, DeliverySuperseded:
		return true
	}
	return false
}

// StatusRank places a WhatsApp status value in a message's lifecycle:
// sent (1) < delivered (2) < read (3) < played (4); failed and deleted (5)
// are final. 0 is a value outside the lifecycle (e.g. "warning"), which
// neither supersedes nor is superseded.
func StatusRank(status string) int {
	switch status {
	case "sent":
		return 1
	case "delivered":
		return 2
	case "read":
		return 3
	case "played":
		return 4
	case "failed", "deleted":
		return 5
	}
	return 0
}

// Delivery is the delivery of one event to one endpoint.
type Delivery struct {
	ID         int64
	AccountID  string
	EndpointID int64
	EventID    int64
	State      DeliveryState
	// Attempts is how many attempts were made.
	Attempts int
	// WindowStart is when the current retry window began: when the event
	// first became due, or the latest manual retry.
	WindowStart time.Time
	// NextAttemptAt is when the next attempt is due (pending only).
	NextAttemptAt time.Time
	// LastStatusCode, LastError, LastAttemptAt, LastDuration and
	// LastResponse describe the latest attempt. (A delivery that succeeds
	// on its first attempt has no separate Attempt record: this is it.)
	LastStatusCode int
	LastError      string
	LastAttemptAt  time.Time
	LastDuration   time.Duration
	LastResponse   string
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// DeliveredAt is set once delivered.
	DeliveredAt time.Time
	// Event is the event delivered.
	Event Event
}

// Attempt is one HTTP request of a delivery.
type Attempt struct {
	DeliveryID int64
	// Number counts from 1.
	Number    int
	StartedAt time.Time
	Duration  time.Duration
	// StatusCode is the HTTP status, 0 when no response arrived.
	StatusCode int
	// Error says why the attempt failed ("" on success), in words a
	// business can act on.
	Error string
	// ResponseBody is the start (at most 4 KiB) of the response body.
	ResponseBody string
}

// MaxResponseExcerpt is how much of a response body an Attempt keeps.
const MaxResponseExcerpt = 4 << 10
