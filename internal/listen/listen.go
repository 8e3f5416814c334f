// Package listen is the platform's side of bahasha listen: the WebSocket
// that the CLI dials out to (GET /v1/listen, authenticated with the API
// key), and the Hub through which the delivery engine sends a listen
// session's POSTs over that connection instead of over HTTP. The platform
// never dials the developer's machine.
//
// A session is an endpoint of the account (bahasha.KindListen) named by
// the CLI, so its events go through the real pipeline: routing, batching,
// signatures, lanes, ordering, retries and the deliveries API. While the
// CLI is offline its work waits in the store; the next connection with
// the same name, on any node, takes the session over and receives it in
// order.
//
// The protocol: the platform sends, as text messages,
//
//	{"type":"ready","endpoint_id":"wh_3","name":"laptop","signing_secret":"whsec_…","app_secret":"…","attempt_timeout_ms":10000}
//	{"type":"taken_over"}   (another listen with the same name took the session; the connection closes)
//	{"type":"removed"}      (the session was removed; the connection closes)
//
// and each POST as a binary message: its JSON head, a newline, and the
// body's bytes as the endpoint would get them (EncodePost),
//
//	{"type":"post","id":17,"timeout_ms":9000,"header":{"X-Hub-Signature-256":["sha256=…"],…}}\n{…the envelope…}
//
// to which the CLI answers, within timeout_ms, with a text message
//
//	{"type":"result","id":17,"status":200,"body":"…first 4 KB…","duration_ms":3.1,"error":"","maybe_delivered":false}
//
// WebSocket pings go both ways every PingInterval; a connection that
// misses them is closed and its session goes offline.
package listen

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/coder/websocket"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/delivery"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/sdk/webhook"
)

// PingInterval is how often each side pings the other; a connection that
// does not answer within PongTimeout is lost (the pong may wait behind a
// large post on a slow link).
const (
	PingInterval = 10 * time.Second
	PongTimeout  = 20 * time.Second
)

// MaxNameLength caps a session's name.
const MaxNameLength = 64

// NameRule says what ValidName takes.
var NameRule = fmt.Sprintf("1 to %d characters of UTF-8, without spaces, control characters, slashes or #", MaxNameLength)

// ValidName reports whether name may name a session (NameRule).
func ValidName(name string) bool {
	if name == "" || len(name) > MaxNameLength || !utf8.ValidString(name) {
		return false
	}
	for _, r := range name {
		if r <= ' ' || r == 0x7f || r == '/' || r == '\\' || r == '#' || unicode.IsSpace(r) || unicode.IsControl(r) {
			return false
		}
	}
	return true
}

// Waker is told that a session's work may be due.
type Waker interface{ Wake() }

// Hub holds this node's sessions: it serves GET /v1/listen (Serve) and
// forwards the engine's POSTs (delivery.Forwarder).
type Hub struct {
	Store store.Store
	// Node names this process; the engine claims with the same.
	Node  string
	Waker Waker
	// AttemptTimeout is the engine's attempt timeout, which the CLI is
	// told (default 10s).
	AttemptTimeout time.Duration
	// Ping is how often sessions are pinged (default PingInterval).
	Ping time.Duration
	Now  func() time.Time
	Log  *slog.Logger

	mu       sync.Mutex
	sessions map[int64]*session
	closed   bool
	running  sync.WaitGroup // the sessions' Serve calls
}

// writeTimeout bounds one message's write to the CLI.
const writeTimeout = 10 * time.Second

// session is one connected CLI.
type session struct {
	conn     *websocket.Conn
	endpoint int64
	done     chan struct{} // closed when the connection ends
	// out is the writer's queue (unbuffered: a message is taken only
	// while the writer runs).
	out chan outgoing
	// ready is closed once the CLI has been told the session is live.
	ready chan struct{}

	mu      sync.Mutex
	next    uint64
	waiting map[uint64]chan Message
}

// outgoing is one message for the writer.
type outgoing struct {
	// ctx is the sender's: a message whose sender gave up is not sent.
	ctx   context.Context
	typ   websocket.MessageType
	frame []byte
	wrote chan error // buffered: the writer answers every message it takes
}

// errEnded: the session's connection ended before the message was taken.
var errEnded = errors.New("the listen session's connection ended")

// send has the session's writer write one message, and returns once it
// is written (or not). The write is bounded by writeTimeout, not by ctx:
// a write cut off midway would end the connection.
func (s *session) send(ctx context.Context, typ websocket.MessageType, frame []byte) error {
	o := outgoing{ctx: ctx, typ: typ, frame: frame, wrote: make(chan error, 1)}
	select {
	case s.out <- o:
	case <-s.done:
		return errEnded
	case <-ctx.Done():
		return ctx.Err()
	}
	return <-o.wrote
}

// writer writes the session's messages, one at a time, until ctx ends or
// a write fails (which closes the connection).
func (s *session) writer(ctx context.Context) {
	for {
		var o outgoing
		select {
		case <-ctx.Done():
			return
		case o = <-s.out:
		}
		if err := o.ctx.Err(); err != nil {
			o.wrote <- err
			continue
		}
		wctx, cancel := context.WithTimeout(ctx, writeTimeout)
		err := s.conn.Write(wctx, o.typ, o.frame)
		cancel()
		o.wrote <- err
		if err != nil {
			return
		}
	}
}

// tell sends a control message and closes the connection with code.
func (s *session) tell(typ string, code websocket.StatusCode, reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	b, _ := json.Marshal(Message{Type: typ})
	s.send(ctx, websocket.MessageText, b)
	cancel()
	s.conn.Close(code, reason)
}

var _ delivery.Forwarder = (*Hub)(nil)

// ErrNotConnected: the session is not connected to this node.
var ErrNotConnected = delivery.ErrNotConnected

// Forward implements delivery.Forwarder. The post tells the CLI how long
// it has (what is left of ctx's deadline, less a margin for the way
// back), so that a local answer comes back while the attempt still waits
// for it.
func (h *Hub) Forward(ctx context.Context, endpointID int64, r delivery.ForwardRequest, sent func()) (delivery.ForwardResponse, error) {
	h.mu.Lock()
	s := h.sessions[endpointID]
	h.mu.Unlock()
	if s == nil {
		return delivery.ForwardResponse{}, ErrNotConnected
	}
	select { // nothing is sent until the session is live
	case <-s.ready:
	case <-s.done:
		return delivery.ForwardResponse{}, ErrNotConnected
	case <-ctx.Done():
		return delivery.ForwardResponse{}, ErrNotConnected
	}
	ch := make(chan Message, 1)
	s.mu.Lock()
	s.next++
	id := s.next
	s.waiting[id] = ch
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		delete(s.waiting, id)
		s.mu.Unlock()
	}()
	m := Message{ID: id, Header: r.Header}
	if dl, ok := ctx.Deadline(); ok {
		left := time.Until(dl)
		m.TimeoutMS = max(1, (left - min(max(left/10, 100*time.Millisecond), 2*time.Second)).Milliseconds())
	}
	frame, err := EncodePost(m, r.Body)
	if err != nil {
		return delivery.ForwardResponse{}, err
	}
	switch err := s.send(ctx, websocket.MessageBinary, frame); {
	case errors.Is(err, errEnded):
		return delivery.ForwardResponse{}, ErrNotConnected // nothing was sent
	case err != nil:
		return delivery.ForwardResponse{}, fmt.Errorf("sending to the CLI: %w", err)
	}
	sent()
	select {
	case m := <-ch:
		return delivery.ForwardResponse{Status: m.Status, Body: m.Body, Error: m.Error, MaybeDelivered: m.MaybeDelivered}, nil
	case <-s.done:
		return delivery.ForwardResponse{}, errors.New("the CLI disconnected before it reported the local server's answer")
	case <-ctx.Done():
		return delivery.ForwardResponse{}, ctx.Err()
	}
}

// Serve serves GET /v1/listen for the account whose API key the request
// carries (the API authenticates it): ?name= (required),
// ?events=statuses,messages, ?phone_number_id=, ?print_secret=1. What is
// wrong with the request is an API error, answered before the upgrade and
// before anything changes.
func (h *Hub) Serve(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	if err := checkUpgrade(r); err != nil {
		w.Header().Set("Upgrade", "websocket")
		return err
	}
	q := r.URL.Query()
	name := strings.TrimSpace(q.Get("name"))
	var events []string
	if s := q.Get("events"); s != "" {
		events = strings.Split(s, ",")
	}
	scope := bahasha.AccountScope
	if pn := q.Get("phone_number_id"); pn != "" {
		scope = bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: pn}
	}
	switch {
	case !ValidName(name):
		return problem.Invalid("the session needs a name (?name=): %s", NameRule)
	case bahasha.ValidateEvents(events) != nil:
		return problem.Invalid("events: %v", bahasha.ValidateEvents(events))
	}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return problem.New(http.StatusServiceUnavailable, "shutting_down", "this node of the platform is shutting down; bahasha listen reconnects by itself")
	}
	h.running.Add(1)
	h.mu.Unlock()
	defer h.running.Done()
	secret, err := webhook.NewSigningSecret(nil)
	if err != nil {
		return err
	}
	ep, err := h.Store.OpenListenSession(r.Context(), store.OpenListenParams{AccountID: acc.ID, Name: name, Node: h.Node, Scope: scope,
		Events: events, Secret: secret, Max: store.MaxEndpoints, Now: h.Now()})
	switch {
	case errors.Is(err, store.ErrNotFound) && scope.Kind == bahasha.ScopePhoneNumber:
		return problem.NotFound("not_found", "this account has no phone number %q; GET /v1/phone_numbers lists yours", scope.ID)
	case errors.Is(err, store.ErrTooMany):
		return problem.New(http.StatusConflict, "too_many_endpoints", "this account has %d endpoints, the most it may have; remove one (DELETE /v1/webhooks/{id}) to listen", store.MaxEndpoints)
	case err != nil:
		return err
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		// Accept answered the client already. The session goes offline,
		// unless another connection of this node holds it.
		h.close(ep.ID, nil)
		return nil
	}
	conn.SetReadLimit(MaxResultBytes)
	s := &session{conn: conn, endpoint: ep.ID, done: make(chan struct{}), out: make(chan outgoing), ready: make(chan struct{}),
		waiting: map[uint64]chan Message{}}
	h.serve(r.Context(), acc, ep, s, q.Get("print_secret") != "")
	return nil
}

// checkUpgrade refuses, before anything changes, a request that is not a
// WebSocket handshake Accept would take.
func checkUpgrade(r *http.Request) error {
	if !headerHas(r.Header, "Connection", "upgrade") || !headerHas(r.Header, "Upgrade", "websocket") ||
		r.Header.Get("Sec-WebSocket-Version") != "13" || r.Header.Get("Sec-WebSocket-Key") == "" {
		return problem.New(http.StatusUpgradeRequired, "upgrade_required",
			"GET /v1/listen is the WebSocket of bahasha listen: run bahasha listen --forward-to <your local URL>")
	}
	if origin := r.Header.Get("Origin"); origin != "" {
		u, err := url.Parse(origin)
		if err != nil || !strings.EqualFold(u.Host, r.Host) {
			return problem.New(http.StatusForbidden, "cross_origin", "GET /v1/listen does not take connections from another origin (%q)", origin)
		}
	}
	return nil
}

// headerHas reports whether header name lists token (case-insensitive).
func headerHas(h http.Header, name, token string) bool {
	for _, v := range h.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// serve runs a connected session until it ends: says ready, registers it
// (a session of the same name on this node is told it was taken over),
// reads the CLI's results, pings, and checks that the session is still
// this node's. Every goroutine it starts has ended when it returns.
func (h *Hub) serve(ctx context.Context, acc bahasha.Account, ep bahasha.Endpoint, s *session, printSecret bool) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer h.close(ep.ID, s)
	defer wg.Wait()
	defer cancel()
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel() // a failed write has closed the connection
		s.writer(ctx)
	}()
	// Registered first, so that once the CLI knows it is live a POST
	// finds it; but no POST goes out before ready does (Forward waits
	// for s.ready).
	h.mu.Lock()
	if h.closed { // Close has begun, without this one
		h.mu.Unlock()
		s.conn.Close(websocket.StatusGoingAway, "the platform is shutting down; reconnect")
		return
	}
	if h.sessions == nil {
		h.sessions = map[int64]*session{}
	}
	old := h.sessions[ep.ID]
	h.sessions[ep.ID] = s
	h.mu.Unlock()
	if old != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			old.tell(TypeTakenOver, websocket.StatusPolicyViolation, "another bahasha listen with the same name took this session over")
		}()
	}
	timeout := cmp.Or(h.AttemptTimeout, 10*time.Second)
	ready := Message{Type: TypeReady, EndpointID: ep.PublicID(), Name: ep.ListenName(), SigningSecret: ep.Secret,
		AttemptTimeoutMS: timeout.Milliseconds(), Disabled: ep.Disabled}
	if printSecret {
		ready.AppSecret = acc.AppSecret
	}
	b, _ := json.Marshal(ready)
	if err := s.send(ctx, websocket.MessageText, b); err != nil {
		return
	}
	close(s.ready)
	h.Log.Info("listen session connected", "endpoint", ep.PublicID(), "name", ep.ListenName())
	h.Waker.Wake() // its waiting work is this node's now

	wg.Add(1)
	go func() {
		defer wg.Done()
		defer cancel()
		h.heartbeat(ctx, ep, s)
	}()
	for {
		typ, b, err := s.conn.Read(ctx)
		if err != nil {
			return
		}
		if typ != websocket.MessageText {
			continue
		}
		m, ok, err := DecodeResult(b)
		if err != nil {
			h.Log.Debug("a listen session sent a message the platform cannot read", "endpoint", ep.PublicID(), "err", err)
		}
		if !ok {
			continue // not ours to answer; a newer CLI's message
		}
		s.mu.Lock()
		ch := s.waiting[m.ID]
		s.mu.Unlock()
		if ch != nil {
			select {
			case ch <- m:
			default:
			}
		}
	}
}

type credentialKey struct{}

// WithCredential returns ctx carrying check, which tells whether what
// authenticated a session still does: the hub runs it at every heartbeat,
// and a check that fails with store.ErrNotFound (a revoked API key) ends
// the session. The API sets it for GET /v1/listen.
func WithCredential(ctx context.Context, check func(context.Context) error) context.Context {
	return context.WithValue(ctx, credentialKey{}, check)
}

// heartbeat pings the CLI every PingInterval and records that this node
// still holds the session; when another node took it over or it was
// removed, the CLI is told and the connection closed; when the API key
// that opened it was revoked, the connection is closed (the CLI's
// reconnection is then refused with 401).
func (h *Hub) heartbeat(ctx context.Context, ep bahasha.Endpoint, s *session) {
	check, _ := ctx.Value(credentialKey{}).(func(context.Context) error)
	every := cmp.Or(h.Ping, PingInterval)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		pctx, pcancel := context.WithTimeout(ctx, PongTimeout)
		err := s.conn.Ping(pctx)
		pcancel()
		if err != nil {
			return
		}
		if check != nil {
			if err := check(ctx); errors.Is(err, store.ErrNotFound) {
				h.Log.Info("listen session ended: its API key was revoked", "endpoint", ep.PublicID())
				s.conn.Close(websocket.StatusPolicyViolation, "the API key was revoked")
				return
			}
		}
		switch hold, err := h.Store.TouchListenSession(ctx, store.ListenSessionParams{EndpointID: ep.ID, Node: h.Node, Now: h.Now()}); {
		case err != nil:
			if ctx.Err() == nil {
				h.Log.Warn("recording a listen session's heartbeat", "endpoint", ep.PublicID(), "err", err)
			}
		case hold == store.ListenTakenOver:
			s.tell(TypeTakenOver, websocket.StatusPolicyViolation, "another bahasha listen with the same name took this session over")
			return
		case hold == store.ListenRemoved:
			s.tell(TypeRemoved, websocket.StatusPolicyViolation, "the session was removed (from the API or the dashboard)")
			return
		}
	}
}

// Close ends every session of this node (at shutdown), all at once, and
// returns when they have ended: they go offline until their CLIs
// reconnect. New sessions are refused from then on.
func (h *Hub) Close() {
	h.mu.Lock()
	h.closed = true
	var all []*session
	for _, s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()
	var wg sync.WaitGroup
	for _, s := range all {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.conn.Close(websocket.StatusGoingAway, "the platform is shutting down; reconnect")
		}()
	}
	wg.Wait()
	h.running.Wait()
}

// close ends a session on this node: it goes offline unless another
// connection of this node holds it now (CloseListenSession changes
// nothing when another node does).
func (h *Hub) close(endpointID int64, s *session) {
	h.mu.Lock()
	// Offline unless another connection of this node holds it (one that
	// never got registered, as at shutdown, goes offline too).
	holder := h.sessions[endpointID]
	offline := holder == nil || holder == s
	if holder == s && s != nil {
		delete(h.sessions, endpointID)
	}
	h.mu.Unlock()
	if s != nil {
		close(s.done)
		s.conn.CloseNow()
	}
	if offline {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Store.CloseListenSession(ctx, store.ListenSessionParams{EndpointID: endpointID, Node: h.Node, Now: h.Now()}); err != nil {
			h.Log.Warn("marking a listen session offline", "endpoint", endpointID, "err", err)
		}
	}
}
