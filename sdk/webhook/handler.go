package webhook

import (
	"bytes"
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"time"

	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// DefaultMaxBodyBytes is the largest POST body a Handler accepts unless
// MaxBodyBytes says otherwise: 3 MB, the most WhatsApp sends in one POST.
const DefaultMaxBodyBytes = 3 << 20

// Defaults of the Async mode.
const (
	DefaultQueueSize = 1024
	// DefaultRetryAfter is the Retry-After, in seconds, of the 503 a full
	// queue answers with.
	DefaultRetryAfter = 5
)

// Errors a Handler reports to OnError (wrapped in a *CallbackError) and
// returns from Close.
var (
	// ErrCallbackPanic: a callback panicked. The Handler recovered, reported
	// it and went on with the next event.
	ErrCallbackPanic = errors.New("webhook: callback panicked")
	// ErrClosed: Close was called; an Async handler answers 503 from then on.
	ErrClosed = errors.New("webhook: handler closed")
)

// Mode says when a Handler answers a POST relative to running its callbacks.
type Mode int

const (
	// AckFirst, the default, answers 200 as soon as the signature is valid
	// and the body parses, then runs the callbacks before ServeHTTP returns.
	// Bahasha sees the acknowledgement at once, whatever the callbacks do; a
	// callback's error or panic is reported to OnError and the event is not
	// redelivered. This is the seed documentation's "acknowledge
	// immediately" behaviour.
	AckFirst Mode = iota
	// AckAfter runs the callbacks first and answers 200 only when every one
	// of them succeeded. A callback error or panic makes the answer 500, so
	// Bahasha retries the delivery later: processing is at least once. Pair
	// it with Seen so that the events of a retried batch that did succeed
	// are not processed twice. Callbacks must finish well within Bahasha's
	// attempt timeout (10 s), or the attempt counts as failed.
	AckAfter
	// Async answers 200 once the notification is on a bounded in-memory
	// queue, from which Workers goroutines run the callbacks. Slow business
	// logic never delays the acknowledgement. When the queue is full the
	// Handler answers 503 with Retry-After, so Bahasha retries later and
	// nothing is dropped; but a notification still queued when the process
	// dies is lost to the receiver, so call Close on shutdown to drain the
	// queue, or use AckAfter where every event must be processed.
	Async
)

// CallbackError is what a Handler reports to OnError when a callback returns
// an error or panics.
type CallbackError struct {
	// Callback names the callback: "OnStatus", "OnText", …
	Callback string
	// Key is the SeenSet key of the event (StatusKey or MessageKey), or ""
	// for OnNotification.
	Key string
	// Err is the callback's error, or wraps ErrCallbackPanic.
	Err error
	// Stack is the goroutine's stack at a panic, else nil.
	Stack []byte
}

func (e *CallbackError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("webhook: %s: %v", e.Callback, e.Err)
	}
	return fmt.Sprintf("webhook: %s (%s): %v", e.Callback, e.Key, e.Err)
}

func (e *CallbackError) Unwrap() error { return e.Err }

// StatusFunc handles a delivery report.
type StatusFunc func(ctx context.Context, e whatsapp.StatusEvent) error

// MessageFunc handles a customer message.
type MessageFunc func(ctx context.Context, e whatsapp.MessageEvent) error

// ChangeFunc handles a change of a field other than "messages".
type ChangeFunc func(ctx context.Context, e whatsapp.ChangeEvent) error

// Handler is an http.Handler that serves a webhook URL as Bahasha (and
// WhatsApp's Cloud API) call it, both methods at one path:
//
//   - GET is the verification handshake: when hub.mode is "subscribe" and
//     hub.verify_token equals VerifyToken (compared in constant time), it
//     answers 200 with hub.challenge verbatim as text/plain; anything else is
//     403 (400 when hub.challenge is missing).
//   - POST is an event delivery. A body larger than MaxBodyBytes is 413. When
//     AppSecret is set, a missing or wrong X-Hub-Signature-256 is 401 and no
//     callback runs. When SigningSecret is set, so are missing, stale or
//     wrongly signed Standard Webhooks headers (see VerifyStandard); when
//     both are set, both checks must pass. A 401's text is the error. A
//     body that is not a notification is 400. Otherwise the callbacks run
//     for each event, and the answer is 200, at the moment Mode says.
//   - Any other method is 405.
//
// For each status, OnStatus runs. For each message, OnMessage runs, then the
// callback for its type (OnText, OnImage, …) if set. For each change of
// another field (template updates, account updates, echoes, …), OnChange
// runs. OnNotification, if set, runs first with the whole notification.
// Callbacks of different requests run concurrently; those of one
// notification run in order: its statuses, then its messages, then its other
// changes. A callback that returns an error or panics is reported to
// OnError as a *CallbackError and does not stop the others.
//
// Set the fields before the first request and do not change them afterwards.
// The zero Handler answers every GET with 403 (no VerifyToken) and accepts
// unsigned POSTs with no callbacks.
type Handler struct {
	// VerifyToken is the verification token entered when registering the
	// webhook (the doc's WEBHOOK_VERIFICATION_TOKEN). Empty rejects every
	// handshake.
	VerifyToken string
	// AppSecret is the app secret Bahasha signs deliveries with. When set,
	// every POST must carry a valid X-Hub-Signature-256. Leave it empty only
	// in development.
	AppSecret string
	// PreviousAppSecrets are also accepted, for a rotation: keep the old
	// secret here until Bahasha signs with the new one.
	PreviousAppSecrets []string
	// SigningSecret is the endpoint's Standard Webhooks signing secret
	// ("whsec_…"). When set (or when PreviousSigningSecrets is), every POST
	// must also carry webhook-id, webhook-timestamp and webhook-signature
	// headers that VerifyStandard accepts: a v1 signature with one of the
	// signing secrets over the id, the timestamp and the body, and a
	// timestamp within Tolerance of Now. A secret that does not decode
	// makes every POST 401 with ErrInvalidSigningSecret.
	SigningSecret string
	// PreviousSigningSecrets are also accepted, for a rotation. While one
	// lasts Bahasha sends a signature per secret, and either one passes.
	PreviousSigningSecrets []string
	// Tolerance is how far webhook-timestamp may be from Now, either way,
	// for the Standard Webhooks check; 0 means DefaultTolerance. It bounds
	// how long a captured delivery can be replayed; Seen suppresses the
	// replays within it.
	Tolerance time.Duration
	// Now returns the current time for the timestamp check; nil means
	// time.Now. Set it in tests.
	Now func() time.Time
	// MaxBodyBytes caps a POST body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64

	// Mode says when the POST is answered; see AckFirst (the default),
	// AckAfter and Async.
	Mode Mode
	// Workers is how many goroutines run callbacks in Async mode; 0 means
	// runtime.GOMAXPROCS(0).
	Workers int
	// QueueSize is how many notifications may wait in Async mode; 0 means
	// DefaultQueueSize.
	QueueSize int

	// Seen, if set, suppresses events already processed (Bahasha delivers at
	// least once). See NewMemorySeenSet.
	Seen SeenSet

	// OnNotification runs first, with the whole notification.
	OnNotification func(ctx context.Context, n *whatsapp.Notification) error
	// OnStatus runs for every delivery report (sent, delivered, read,
	// failed, …).
	OnStatus StatusFunc
	// OnMessage runs for every customer message, before its type's callback.
	OnMessage MessageFunc

	// Callbacks per message type, each run after OnMessage.
	OnText        MessageFunc
	OnImage       MessageFunc
	OnAudio       MessageFunc
	OnVideo       MessageFunc
	OnDocument    MessageFunc
	OnSticker     MessageFunc
	OnLocation    MessageFunc
	OnContacts    MessageFunc
	OnInteractive MessageFunc
	OnButton      MessageFunc
	OnReaction    MessageFunc
	OnOrder       MessageFunc
	OnSystem      MessageFunc
	// OnUnsupported runs for "unsupported"/"unknown" messages and for types
	// this version of the SDK does not know (read them from Message.Raw).
	OnUnsupported MessageFunc

	// OnChange runs for every change whose field is not "messages" — the
	// fields an endpoint subscribes to besides statuses and messages, such
	// as "message_template_status_update" or "phone_number_quality_update".
	// The change's value is in e.Value.Raw, as WhatsApp sent it.
	OnChange ChangeFunc

	// OnError receives every callback failure (a *CallbackError) and every
	// SeenSet failure. nil logs them with slog.Default().
	OnError func(err error)

	once   sync.Once
	checks *checks
	bufs   sync.Pool

	mu     sync.RWMutex // guards closed and sends on queue
	closed bool
	queue  chan *whatsapp.Notification
	wg     sync.WaitGroup
}

func (h *Handler) init() {
	h.once.Do(func() {
		h.checks = newChecks(append([]string{h.AppSecret}, h.PreviousAppSecrets...),
			append([]string{h.SigningSecret}, h.PreviousSigningSecrets...), h.Tolerance, h.Now)
		h.bufs.New = func() any { return new(bytes.Buffer) }
		if h.Mode == Async {
			size := h.QueueSize
			if size <= 0 {
				size = DefaultQueueSize
			}
			workers := h.Workers
			if workers <= 0 {
				workers = runtime.GOMAXPROCS(0)
			}
			h.queue = make(chan *whatsapp.Notification, size)
			h.wg.Add(workers)
			for range workers {
				go h.work()
			}
		}
	})
}

func (h *Handler) work() {
	defer h.wg.Done()
	for n := range h.queue {
		h.Process(context.Background(), n)
	}
}

// Close stops an Async handler: from then on POSTs are answered 503, and
// Close waits until the queued notifications have been processed or ctx is
// done (then it returns ctx's error; the workers finish in the background).
// For the other modes it only makes POSTs answer 503. It is safe to call more
// than once.
func (h *Handler) Close(ctx context.Context) error {
	h.init()
	h.mu.Lock()
	if !h.closed {
		h.closed = true
		if h.queue != nil {
			close(h.queue)
		}
	}
	h.mu.Unlock()
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.init()
	switch r.Method {
	case http.MethodGet:
		h.serveVerify(w, r)
	case http.MethodPost:
		h.serveEvent(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed: use GET for verification and POST for events", http.StatusMethodNotAllowed)
	}
}

func (h *Handler) serveVerify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("hub.mode") != "subscribe" || h.VerifyToken == "" ||
		subtle.ConstantTimeCompare([]byte(q.Get("hub.verify_token")), []byte(h.VerifyToken)) != 1 {
		http.Error(w, "forbidden: hub.mode must be subscribe and hub.verify_token must match", http.StatusForbidden)
		return
	}
	if !q.Has("hub.challenge") {
		http.Error(w, "bad request: hub.challenge is missing", http.StatusBadRequest)
		return
	}
	challenge := q.Get("hub.challenge")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Content-Length", strconv.Itoa(len(challenge)))
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, challenge)
}

func (h *Handler) maxBody() int64 {
	if h.MaxBodyBytes > 0 {
		return h.MaxBodyBytes
	}
	return DefaultMaxBodyBytes
}

func (h *Handler) serveEvent(w http.ResponseWriter, r *http.Request) {
	limit := h.maxBody()
	if r.ContentLength > limit {
		http.Error(w, fmt.Sprintf("request body too large: the limit is %d bytes", limit), http.StatusRequestEntityTooLarge)
		return
	}
	buf := h.bufs.Get().(*bytes.Buffer)
	buf.Reset()
	defer h.bufs.Put(buf)
	if r.ContentLength > 0 {
		// ReadFrom wants bytes.MinRead free bytes before every read, the
		// one that finds the end included: without them a fresh buffer
		// would be reallocated and copied once the body is in.
		buf.Grow(int(r.ContentLength) + bytes.MinRead)
	}
	if _, err := buf.ReadFrom(http.MaxBytesReader(w, r.Body, limit)); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			http.Error(w, fmt.Sprintf("request body too large: the limit is %d bytes", limit), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "could not read the request body", http.StatusBadRequest)
		return
	}
	if err := h.checks.verify(r.Header, buf.Bytes(), false); err != nil {
		http.Error(w, "unauthorized: "+err.Error(), http.StatusUnauthorized)
		return
	}
	n, err := whatsapp.Parse(buf.Bytes())
	if err != nil {
		http.Error(w, "bad request: "+err.Error(), http.StatusBadRequest)
		return
	}
	switch h.Mode {
	case AckAfter:
		if err := h.Process(r.Context(), n); err != nil {
			http.Error(w, "a callback failed; the delivery will be retried", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	case Async:
		h.mu.RLock()
		queued := false
		if !h.closed {
			select {
			case h.queue <- n:
				queued = true
			default:
			}
		}
		h.mu.RUnlock()
		if !queued {
			w.Header().Set("Retry-After", strconv.Itoa(DefaultRetryAfter))
			http.Error(w, "busy: the processing queue is full, retry later", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	default:
		w.Header().Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
		_ = http.NewResponseController(w).Flush()
		h.Process(context.WithoutCancel(r.Context()), n)
	}
}

// Process runs the callbacks for a notification exactly as ServeHTTP does
// after verifying and parsing a POST, and returns nil or the errors of the
// callbacks that failed (joined). It lets a receiver replay notifications it
// stored itself.
func (h *Handler) Process(ctx context.Context, n *whatsapp.Notification) error {
	h.init()
	var errs []error
	if h.OnNotification != nil {
		if err := h.call(ctx, "OnNotification", nil, func() error { return h.OnNotification(ctx, n) }); err != nil {
			errs = append(errs, err)
		}
	}
	for ev := range n.Statuses() {
		if h.OnStatus == nil {
			continue
		}
		key := &eventKey{status: ev.Status}
		if !h.first(ctx, key) {
			continue
		}
		if err := h.call(ctx, "OnStatus", key, func() error { return h.OnStatus(ctx, ev) }); err != nil {
			errs = append(errs, err)
			h.forget(ctx, key)
		}
	}
	for ev := range n.Messages() {
		name, typed := h.messageFunc(ev.Message.Type)
		if h.OnMessage == nil && typed == nil {
			continue
		}
		key := &eventKey{message: ev.Message}
		if !h.first(ctx, key) {
			continue
		}
		var failed bool
		if h.OnMessage != nil {
			if err := h.call(ctx, "OnMessage", key, func() error { return h.OnMessage(ctx, ev) }); err != nil {
				errs = append(errs, err)
				failed = true
			}
		}
		if typed != nil {
			if err := h.call(ctx, name, key, func() error { return typed(ctx, ev) }); err != nil {
				errs = append(errs, err)
				failed = true
			}
		}
		if failed {
			h.forget(ctx, key)
		}
	}
	if h.OnChange != nil {
		for ev := range n.Changes() {
			key := &eventKey{change: ev.Value, field: ev.Field, time: ev.Time}
			if !h.first(ctx, key) {
				continue
			}
			if err := h.call(ctx, "OnChange", key, func() error { return h.OnChange(ctx, ev) }); err != nil {
				errs = append(errs, err)
				h.forget(ctx, key)
			}
		}
	}
	return errors.Join(errs...)
}

func (h *Handler) messageFunc(t whatsapp.MessageType) (string, MessageFunc) {
	switch t {
	case whatsapp.MessageText:
		return "OnText", h.OnText
	case whatsapp.MessageImage:
		return "OnImage", h.OnImage
	case whatsapp.MessageAudio:
		return "OnAudio", h.OnAudio
	case whatsapp.MessageVideo:
		return "OnVideo", h.OnVideo
	case whatsapp.MessageDocument:
		return "OnDocument", h.OnDocument
	case whatsapp.MessageSticker:
		return "OnSticker", h.OnSticker
	case whatsapp.MessageLocation:
		return "OnLocation", h.OnLocation
	case whatsapp.MessageContacts:
		return "OnContacts", h.OnContacts
	case whatsapp.MessageInteractive:
		return "OnInteractive", h.OnInteractive
	case whatsapp.MessageButton:
		return "OnButton", h.OnButton
	case whatsapp.MessageReaction:
		return "OnReaction", h.OnReaction
	case whatsapp.MessageOrder:
		return "OnOrder", h.OnOrder
	case whatsapp.MessageSystem:
		return "OnSystem", h.OnSystem
	case whatsapp.MessageRequestWelcome:
		return "", nil
	}
	return "OnUnsupported", h.OnUnsupported
}

// eventKey is the SeenSet key of one event (StatusKey or MessageKey), made
// when first asked for: with no SeenSet, only when a callback fails, so that
// dispatching an event costs no allocation. A nil *eventKey is the key "".
type eventKey struct {
	status  *whatsapp.Status
	message *whatsapp.Message
	change  *whatsapp.Value
	field   string
	time    whatsapp.Timestamp
	key     string
}

func (k *eventKey) String() string {
	switch {
	case k == nil:
		return ""
	case k.key != "":
	case k.status != nil:
		k.key = StatusKey(k.status)
	case k.message != nil:
		k.key = MessageKey(k.message)
	case k.change != nil:
		k.key = ChangeKey(whatsapp.ChangeEvent{Field: k.field, Time: k.time, Value: k.change})
	}
	return k.key
}

// first reports whether the event with this key should be processed.
func (h *Handler) first(ctx context.Context, key *eventKey) bool {
	if h.Seen == nil {
		return true
	}
	added, err := h.Seen.Add(ctx, key.String())
	if err != nil {
		h.report(fmt.Errorf("webhook: seen set: %w (processing %s anyway)", err, key.String()))
		return true
	}
	return added
}

// forget removes a failed event from the seen set in AckAfter mode, so that
// Bahasha's retry processes it again.
func (h *Handler) forget(ctx context.Context, key *eventKey) {
	if h.Seen == nil || h.Mode != AckAfter {
		return
	}
	if err := h.Seen.Remove(ctx, key.String()); err != nil {
		h.report(fmt.Errorf("webhook: seen set: %w", err))
	}
}

// call runs fn, turning an error or a panic into a reported *CallbackError.
func (h *Handler) call(_ context.Context, name string, key *eventKey, fn func() error) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = &CallbackError{Callback: name, Key: key.String(), Err: fmt.Errorf("%w: %v", ErrCallbackPanic, p), Stack: debug.Stack()}
		}
		if err != nil {
			h.report(err)
		}
	}()
	if e := fn(); e != nil {
		return &CallbackError{Callback: name, Key: key.String(), Err: e}
	}
	return nil
}

func (h *Handler) report(err error) {
	if h.OnError != nil {
		h.OnError(err)
		return
	}
	slog.Default().Error("webhook receiver", "err", err)
}
