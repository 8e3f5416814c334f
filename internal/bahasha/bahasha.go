// Package bahasha holds the platform's domain types — accounts and their
// phone numbers, webhook endpoints, events, deliveries and attempts — and
// nothing else. It uses only the standard library and the whatsapp wire
// format; every other internal package speaks in these types.
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
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bahasha/bahasha/sdk/whatsapp"
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

// Endpoint is one of an account's webhooks: the URL Bahasha POSTs events
// to, once it has passed the verification handshake, with what it receives
// (Scope and Events, see Route) and how (Headers, RateLimit). Each endpoint
// is a lane of its own: its retries, breaker and ordering are its own.
type Endpoint struct {
	ID          int64
	AccountID   string
	URL         string
	VerifyToken string
	VerifiedAt  time.Time
	CreatedAt   time.Time
	// Scope is the part of the account whose events it receives.
	Scope Scope
	// Events filters what it receives by EventFilter names; empty means
	// everything.
	Events []string
	// Headers are sent with every POST (e.g. an API gateway's key). Their
	// values are secrets: shown masked, never logged.
	Headers map[string]string
	// RateLimit caps the events per second sent to it; 0 is no cap.
	RateLimit int
	// Disabled endpoints receive no new events, and their pending
	// deliveries wait (they are not attempted) until enabled again.
	Disabled bool
	// DisabledReason says why ("" while enabled): it answered 410 Gone,
	// it failed continuously for too long, or it was disabled from the
	// API or the dashboard.
	DisabledReason string
	// Primary marks the account-scope endpoint of PUT /v1/webhook (at most
	// one per account).
	Primary bool
	// Description is the business's own label for it (a listen
	// session's name).
	Description string
	// Kind is how its lane sends: over HTTP to URL, or over a bahasha
	// listen session's connection.
	Kind EndpointKind
	// ListenNode is the node holding a listen session's connection, ""
	// while the CLI is offline (its work then waits); LastSeenAt is when
	// the session was last connected.
	ListenNode string
	LastSeenAt time.Time
	// Secret is the endpoint's Standard Webhooks signing secret
	// ("whsec_…"). During a rotation PreviousSecret signs too, until
	// PreviousSecretUntil.
	Secret              string
	PreviousSecret      string
	PreviousSecretUntil time.Time
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
	// PausedUntil is when the endpoint may be sent to again after it asked
	// for a pause (a 429 or 503 with Retry-After) or its rate limit was
	// reached; zero or past when not paused.
	PausedUntil time.Time
}

// EndpointKind is how an endpoint's lane sends.
type EndpointKind string

const (
	// KindHTTP endpoints are POSTed to over HTTPS.
	KindHTTP EndpointKind = "http"
	// KindListen endpoints are bahasha listen sessions: their POSTs go
	// over the CLI's outbound connection, which forwards them locally.
	KindListen EndpointKind = "listen"
)

// ListenURLPrefix starts a listen session's URL: "listen://" and its name.
const ListenURLPrefix = "listen://"

// Listening reports whether the endpoint is a listen session.
func (e Endpoint) Listening() bool { return e.Kind == KindListen }

// ListenName is a listen session's name (its URL without the prefix; its
// description may say something else).
func (e Endpoint) ListenName() string { return strings.TrimPrefix(e.URL, ListenURLPrefix) }

// PublicID is the endpoint's id in the API and dashboard: "wh_" and its
// number.
func (e Endpoint) PublicID() string { return EndpointPrefix + strconv.FormatInt(e.ID, 10) }

// EndpointPrefix starts every endpoint's public id.
const EndpointPrefix = "wh_"

// ParseEndpointID reads a public endpoint id ("wh_12"); false when it is
// not one.
func ParseEndpointID(s string) (int64, bool) {
	rest, ok := strings.CutPrefix(s, EndpointPrefix)
	if !ok || rest == "" || len(rest) > 18 {
		return 0, false
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != rest {
		return 0, false
	}
	return id, true
}

// SigningSecrets are the secrets that sign a POST at now: the current one,
// and the previous one while its rotation overlap lasts.
func (e Endpoint) SigningSecrets(now time.Time) []string {
	if e.PreviousSecret != "" && now.Before(e.PreviousSecretUntil) {
		return []string{e.Secret, e.PreviousSecret}
	}
	return []string{e.Secret}
}

// Health names the endpoint's delivery health at now: "probing" (its
// breaker is open: one request at a time), "paused" (it asked to wait with
// Retry-After, or its rate limit holds it), "failing" (its last POSTs
// failed) or "healthy".
func (e Endpoint) Health(now time.Time) string {
	switch {
	case e.Probing():
		return "probing"
	case e.PausedUntil.After(now):
		return "paused"
	case e.ConsecutiveFailures > 0:
		return "failing"
	}
	return "healthy"
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
	// KindOperational is an operational event about the account's own
	// endpoints (notice.go): its Payload is the whole body POSTed.
	KindOperational EventKind = "operational"
	// KindChange is one change of Meta's webhooks passed through as Meta
	// sent it (a template status update, a quality update, a message
	// echo, …): its Payload is the change within its entry,
	// {"id":…,"time":…,"changes":[{"field":…,"value":…}]}, and its
	// MessageType the change's field.
	KindChange EventKind = "change"
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
// whatsapp.StatusValue.Rank — sent (1) < delivered (2) < read (3) <
// played (4); failed and deleted (5) are final; 0 is outside the lifecycle
// (e.g. "warning") and neither supersedes nor is superseded.
func StatusRank(status string) int { return whatsapp.StatusValue(status).Rank() }

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

// Replay re-sends an account's events of a time range to its endpoint, in
// ingest order: each event's delivery is made pending again with a fresh
// retry window (an event that never had a delivery — it came while no
// webhook was registered — gets one). Deliveries already pending are left
// as they are.
type Replay struct {
	ID        int64
	AccountID string
	// EndpointID is the endpoint it re-sends to.
	EndpointID int64
	// From and To bound the events' ingest time: From ≤ created_at < To.
	From, To time.Time
	// OnlyFailed limits the replay to events whose delivery failed.
	OnlyFailed bool
	// Total is how many events the replay covers: counted when it was
	// created, then, once every event is queued, how many were.
	Total int
	// Queued is how many events have been made pending so far.
	Queued int
	// Pending, Delivered and Failed count the replay's queued deliveries
	// by their state now (a delivery taken over by a later replay counts
	// for that one).
	Pending, Delivered, Failed int
	// QueuingDone is true once every covered event was queued.
	QueuingDone bool
	CreatedAt   time.Time
}

// Done is how many of the replay's events are finished (delivered, failed
// or superseded).
func (r Replay) Done() int { return r.Queued - r.Pending }

// Finished reports whether every event of the replay is queued and none is
// still pending.
func (r Replay) Finished() bool { return r.QueuingDone && r.Pending == 0 }

// LatencyBounds are the upper bounds of the delivery latency histogram's
// buckets; a last bucket counts everything slower. Delivery latency is the
// time from a delivery's window start (when its event first became due, or
// its latest manual retry or replay) to its success.
var LatencyBounds = []time.Duration{
	5 * time.Millisecond, 10 * time.Millisecond, 25 * time.Millisecond, 50 * time.Millisecond,
	100 * time.Millisecond, 250 * time.Millisecond, 500 * time.Millisecond, time.Second,
	2500 * time.Millisecond, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute,
	5 * time.Minute, 15 * time.Minute, time.Hour, 6 * time.Hour, 24 * time.Hour,
}

// NumLatencyBuckets is len(LatencyBounds)+1.
const NumLatencyBuckets = 19

// LatencyBucket is the histogram bucket of a latency.
func LatencyBucket(d time.Duration) int {
	for i, b := range LatencyBounds {
		if d <= b {
			return i
		}
	}
	return len(LatencyBounds)
}

// DeliveryStats counts what happened to an account's deliveries in a span
// of time (one minute as stored; any span when added up).
type DeliveryStats struct {
	// Start is the start of the span.
	Start time.Time
	// Delivered, Failed and Superseded count deliveries that reached those
	// states.
	Delivered, Failed, Superseded int
	// AttemptsOK and AttemptsFailed count delivery attempts (one per
	// delivery per POST).
	AttemptsOK, AttemptsFailed int
	// Latency is the histogram of the delivered deliveries' latency over
	// LatencyBounds.
	Latency [NumLatencyBuckets]int
}

// Add adds o's counts to s.
func (s *DeliveryStats) Add(o DeliveryStats) {
	s.Delivered += o.Delivered
	s.Failed += o.Failed
	s.Superseded += o.Superseded
	s.AttemptsOK += o.AttemptsOK
	s.AttemptsFailed += o.AttemptsFailed
	for i := range s.Latency {
		s.Latency[i] += o.Latency[i]
	}
}

// Empty reports whether nothing was counted.
func (s DeliveryStats) Empty() bool {
	return s.Delivered == 0 && s.Failed == 0 && s.Superseded == 0 && s.AttemptsOK == 0 && s.AttemptsFailed == 0
}

// LatencyQuantile estimates the q-quantile (0 < q ≤ 1) of the delivered
// deliveries' latency from the histogram: the upper bound of the bucket it
// falls in (for the last, open bucket, its lower bound). It is 0 when
// nothing was delivered.
func (s DeliveryStats) LatencyQuantile(q float64) time.Duration {
	total := 0
	for _, n := range s.Latency {
		total += n
	}
	if total == 0 {
		return 0
	}
	rank := int(q*float64(total) + 0.999999)
	rank = max(1, min(rank, total))
	seen := 0
	for i, n := range s.Latency {
		seen += n
		if seen >= rank {
			if i < len(LatencyBounds) {
				return LatencyBounds[i]
			}
			return LatencyBounds[len(LatencyBounds)-1]
		}
	}
	return LatencyBounds[len(LatencyBounds)-1]
}

// SuccessRate is the share of attempts that succeeded, and false when
// there were none.
func (s DeliveryStats) SuccessRate() (float64, bool) {
	n := s.AttemptsOK + s.AttemptsFailed
	if n == 0 {
		return 0, false
	}
	return float64(s.AttemptsOK) / float64(n), true
}

// ValidUTF8 returns b, or when b is not valid UTF-8 a copy with each run
// of invalid bytes replaced by one U+FFFD. Ingest refuses text that is not
// UTF-8; this keeps what a database written before that check holds from
// going out as JSON that strict parsers reject.
func ValidUTF8(b []byte) []byte {
	if utf8.Valid(b) {
		return b
	}
	return bytes.ToValidUTF8(b, []byte("\uFFFD"))
}
