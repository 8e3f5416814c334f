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
// The protocol is JSON text messages. The platform sends
//
//	{"type":"ready","endpoint_id":"wh_3","name":"laptop","signing_secret":"whsec_…","app_secret":"…"}
//	{"type":"post","id":17,"header":{"X-Hub-Signature-256":["sha256=…"],…},"body":"{…the envelope…}"}
//	{"type":"taken_over"}   (another listen with the same name took the session; the connection closes)
//
// and the CLI answers each post with
//
//	{"type":"result","id":17,"status":200,"body":"…first 4 KB…","duration_ms":3.1,"error":"","maybe_delivered":false}
//
// WebSocket pings go both ways every PingInterval; a connection that
// misses them is closed and its session goes offline.
package listen

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/delivery"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/sdk/webhook"
)

// PingInterval is how often each side pings the other; a connection that
// does not answer within it is lost.
const PingInterval = 10 * time.Second

// MaxNameLength caps a session's name.
const MaxNameLength = 64

// Message is one message of the protocol, either way.
type Message struct {
	Type string `json:"type"`
	// ready
	EndpointID    string `json:"endpoint_id,omitempty"`
	Name          string `json:"name,omitempty"`
	SigningSecret string `json:"signing_secret,omitempty"`
	AppSecret     string `json:"app_secret,omitempty"`
	// post and result
	ID     uint64      `json:"id,omitempty"`
	Header http.Header `json:"header,omitempty"`
	Body   string      `json:"body,omitempty"`
	// result
	Status         int     `json:"status,omitempty"`
	DurationMS     float64 `json:"duration_ms,omitempty"`
	Error          string  `json:"error,omitempty"`
	MaybeDelivered bool    `json:"maybe_delivered,omitempty"`
}

// Waker is told that a session's work may be due.
type Waker interface{ Wake() }

// Hub holds this node's sessions: it serves GET /v1/listen and forwards
// the engine's POSTs (delivery.Forwarder).
type Hub struct {
	Store store.Store
	// Node names this process; the engine claims with the same.
	Node  string
	Waker Waker
	Now   func() time.Time
	Log   *slog.Logger

	mu       sync.Mutex
	sessions map[int64]*session
}

// session is one connected CLI.
type session struct {
	conn     *websocket.Conn
	endpoint int64
	done     chan struct{} // closed when the connection ends

	mu      sync.Mutex
	next    uint64
	waiting map[uint64]chan Message
}

var _ delivery.Forwarder = (*Hub)(nil)

// ErrNotConnected: the session is not connected to this node.
var ErrNotConnected = delivery.ErrNotConnected

// Forward implements delivery.Forwarder.
func (h *Hub) Forward(ctx context.Context, endpointID int64, r delivery.ForwardRequest, sent func()) (delivery.ForwardResponse, error) {
	h.mu.Lock()
	s := h.sessions[endpointID]
	h.mu.Unlock()
	if s == nil {
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
	if err := writeJSON(ctx, s.conn, Message{Type: "post", ID: id, Header: r.Header, Body: string(r.Body)}); err != nil {
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

func writeJSON(ctx context.Context, c *websocket.Conn, m Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return c.Write(ctx, websocket.MessageText, b)
}

// ServeHTTP serves GET /v1/listen: ?name= (required), ?events=statuses,messages,
// ?phone_number_id=, ?print_secret=1; "Authorization: Bearer <API key>".
// Errors before the upgrade are the API's JSON errors.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	acc, err := h.authenticate(r)
	if err != nil {
		writeProblem(w, problem.Classify(err))
		return
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
	case name == "" || len(name) > MaxNameLength || strings.ContainsAny(name, "/\\ \t\r\n"):
		writeProblem(w, problem.Invalid("the session needs a name (?name=), at most %d characters, without spaces or slashes", MaxNameLength))
		return
	case bahasha.ValidateEvents(events) != nil:
		writeProblem(w, problem.Invalid("events: %v", bahasha.ValidateEvents(events)))
		return
	}
	secret, err := webhook.NewSigningSecret(nil)
	if err != nil {
		writeProblem(w, problem.Classify(err))
		return
	}
	ep, err := h.Store.OpenListenSession(r.Context(), store.OpenListenParams{AccountID: acc.ID, Name: name, Node: h.Node, Scope: scope,
		Events: events, Secret: secret, Max: store.MaxEndpoints, Now: h.Now()})
	switch {
	case errors.Is(err, store.ErrNotFound) && scope.Kind == bahasha.ScopePhoneNumber:
		writeProblem(w, problem.NotFound("not_found", "this account has no phone number %q; GET /v1/phone_numbers lists yours", scope.ID))
		return
	case err != nil:
		writeProblem(w, problem.Classify(err))
		return
	}
	conn, err := websocket.Accept(w, r, nil)
	if err != nil {
		// Accept answered the client already.
		h.close(ep.ID, nil)
		return
	}
	conn.SetReadLimit(1 << 20)
	s := &session{conn: conn, endpoint: ep.ID, done: make(chan struct{}), waiting: map[uint64]chan Message{}}
	h.serve(r.Context(), acc, ep, s, q.Get("print_secret") != "")
}

func (h *Hub) authenticate(r *http.Request) (bahasha.Account, error) {
	auth := r.Header.Get("Authorization")
	const prefix = "Bearer "
	if len(auth) <= len(prefix) || subtle.ConstantTimeCompare([]byte(strings.ToLower(auth[:len(prefix)])), []byte("bearer ")) != 1 {
		return bahasha.Account{}, problem.New(http.StatusUnauthorized, "unauthorized", "send your API key as Authorization: Bearer <key>")
	}
	acc, err := h.Store.AccountByKeyHash(r.Context(), accounts.HashKey(auth[len(prefix):]))
	if errors.Is(err, store.ErrNotFound) {
		return acc, problem.New(http.StatusUnauthorized, "unauthorized", "the API key is not valid; check BAHASHA_API_KEY")
	}
	return acc, err
}

func writeProblem(w http.ResponseWriter, p *problem.Error) {
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": p.Code, "message": p.Message}})
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(p.Status)
	w.Write(b)
}

// serve runs a connected session until it ends: registers it (a session of
// the same name on this node is told it was taken over), says ready,
// reads the CLI's results and pings, and checks that the session is still
// this node's.
func (h *Hub) serve(ctx context.Context, acc bahasha.Account, ep bahasha.Endpoint, s *session, printSecret bool) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Ready first: the session is published (and POSTs may go to it) only
	// once the CLI knows it is live.
	ready := Message{Type: "ready", EndpointID: ep.PublicID(), Name: ep.Description, SigningSecret: ep.Secret}
	if printSecret {
		ready.AppSecret = acc.AppSecret
	}
	if err := writeJSON(ctx, s.conn, ready); err != nil {
		h.close(ep.ID, nil)
		s.conn.CloseNow()
		return
	}
	h.mu.Lock()
	if h.sessions == nil {
		h.sessions = map[int64]*session{}
	}
	old := h.sessions[ep.ID]
	h.sessions[ep.ID] = s
	h.mu.Unlock()
	if old != nil {
		go takenOver(ctx, old)
	}
	defer h.close(ep.ID, s)
	h.Log.Info("listen session connected", "endpoint", ep.PublicID(), "name", ep.Description)
	h.Waker.Wake() // its waiting work is this node's now

	go func() {
		defer cancel()
		t := time.NewTicker(PingInterval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			pctx, pcancel := context.WithTimeout(ctx, PingInterval)
			err := s.conn.Ping(pctx)
			pcancel()
			if err != nil {
				return
			}
			held, err := h.Store.TouchListenSession(ctx, store.ListenSessionParams{EndpointID: ep.ID, Node: h.Node, Now: h.Now()})
			if err == nil && !held {
				takenOver(ctx, s)
				return
			}
		}
	}()
	for {
		_, b, err := s.conn.Read(ctx)
		if err != nil {
			return
		}
		var m Message
		if json.Unmarshal(b, &m) != nil || m.Type != "result" {
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

// Close ends every session of this node (at shutdown): they go offline
// until their CLIs reconnect.
func (h *Hub) Close() {
	h.mu.Lock()
	var all []*session
	for _, s := range h.sessions {
		all = append(all, s)
	}
	h.mu.Unlock()
	for _, s := range all {
		s.conn.Close(websocket.StatusGoingAway, "the platform is shutting down; reconnect")
	}
}

// takenOver tells a session that another listen took it, and closes it.
func takenOver(ctx context.Context, s *session) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	writeJSON(wctx, s.conn, Message{Type: "taken_over"})
	s.conn.Close(websocket.StatusPolicyViolation, "another bahasha listen with the same name took this session over")
}

// close ends a session on this node: it goes offline unless another
// connection holds it now.
func (h *Hub) close(endpointID int64, s *session) {
	h.mu.Lock()
	current := h.sessions[endpointID] == s
	if current && s != nil {
		delete(h.sessions, endpointID)
	}
	h.mu.Unlock()
	if s != nil {
		close(s.done)
		s.conn.CloseNow()
	}
	if s == nil || current {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := h.Store.CloseListenSession(ctx, store.ListenSessionParams{EndpointID: endpointID, Node: h.Node, Now: h.Now()}); err != nil {
			h.Log.Warn("marking a listen session offline", "endpoint", endpointID, "err", err)
		}
	}
}
