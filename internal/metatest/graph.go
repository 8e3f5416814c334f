package metatest

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
)

// Graph is a stand-in for Meta's Graph API as live numbers use it:
// POST /{phone_number_id}/messages, POST /{phone_number_id}/media and
// GET /{waba_id}/message_templates, answered in Meta's documented shapes.
// It records every request.
type Graph struct {
	// URL is its base URL (for serve's --meta-graph-url).
	URL string
	srv *httptest.Server

	mu       sync.Mutex
	requests []GraphRequest
	answer   func(w http.ResponseWriter, r *http.Request) bool
	seq      atomic.Int64
}

// GraphRequest is a request the stand-in received.
type GraphRequest struct {
	Method, Path, Query string
	Authorization       string
	ContentType         string
	Header              http.Header
	Body                []byte
}

// NewGraph starts the stand-in; Close stops it.
func NewGraph() *Graph {
	g := &Graph{}
	g.srv = httptest.NewServer(http.HandlerFunc(g.serve))
	g.URL = g.srv.URL + "/v26.0"
	return g
}

// Close stops the stand-in.
func (g *Graph) Close() { g.srv.Close() }

// Requests are the requests received so far.
func (g *Graph) Requests() []GraphRequest {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]GraphRequest(nil), g.requests...)
}

// Answer makes f answer the requests from now on (f returns false to let
// the stand-in answer as usual).
func (g *Graph) Answer(f func(w http.ResponseWriter, r *http.Request) bool) {
	g.mu.Lock()
	g.answer = f
	g.mu.Unlock()
}

func (g *Graph) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	g.mu.Lock()
	g.requests = append(g.requests, GraphRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Authorization: r.Header.Get("Authorization"), ContentType: r.Header.Get("Content-Type"), Header: r.Header.Clone(), Body: body})
	answer := g.answer
	g.mu.Unlock()
	if answer != nil && answer(w, r) {
		return
	}
	path := strings.TrimPrefix(r.URL.Path, "/v26.0")
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("X-Fb-Trace-Id", "GraphStandIn")
	switch {
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/messages"):
		var req struct {
			To string `json:"to"`
		}
		if json.Unmarshal(body, &req) != nil || req.To == "" {
			GraphError(w, http.StatusBadRequest, 100, "(#100) The parameter to is required.")
			return
		}
		fmt.Fprintf(w, `{"messaging_product":"whatsapp","contacts":[{"input":%q,"wa_id":%q}],"messages":[{"id":"wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI5QTNDQTVCM0Q0Q0Q2RTY3RTcA%d"}]}`,
			req.To, strings.TrimPrefix(req.To, "+"), g.seq.Add(1))
	case r.Method == http.MethodPost && strings.HasSuffix(path, "/media"):
		if !strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			GraphError(w, http.StatusBadRequest, 100, "(#100) Param file must be a file with one of the following types: …")
			return
		}
		fmt.Fprintf(w, `{"id":"%d"}`, 1037543291543636+g.seq.Add(1))
	case r.Method == http.MethodGet && strings.HasSuffix(path, "/message_templates"):
		io.WriteString(w, `{"data":[{"name":"order_update","parameter_format":"POSITIONAL","components":[{"type":"BODY","text":"Your order {{1}} has shipped."}],`+
			`"language":"en_US","status":"APPROVED","category":"UTILITY","id":"594425479261596"}],"paging":{"cursors":{"before":"MAZDZD","after":"MjQZD"}}}`)
	default:
		GraphError(w, http.StatusBadRequest, 100, "Unsupported "+strings.ToLower(r.Method)+" request.")
	}
}

// GraphError writes an error in the Graph API's shape.
func GraphError(w http.ResponseWriter, status, code int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"error":{"message":%q,"type":"OAuthException","code":%d,"fbtrace_id":"AbCdEfGhIjK"}}`, message, code)
}
