// Package graph sends the Cloud API requests of live numbers (numbers of
// Meta's, not the sandbox's) to Meta's Graph API with the number's access
// token, and relays Meta's answers verbatim: status, content type and
// body. When Meta cannot be reached it answers 502, or 504 when Meta took
// too long, in the Graph API's error shape.
package graph

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// DefaultBaseURL is Meta's Graph API at its current version (v26.0,
// released on 29 July 2026).
const DefaultBaseURL = "https://graph.facebook.com/v26.0"

// DefaultTimeout bounds one request to Meta.
const DefaultTimeout = 30 * time.Second

// MaxBodyBytes caps what is forwarded (Meta's own media limit is 100 MB).
const MaxBodyBytes = 100 << 20

// Client forwards requests to the Graph API.
type Client struct {
	// BaseURL is the Graph API's base, with its version. Default
	// DefaultBaseURL.
	BaseURL string
	// Timeout bounds one request. Default DefaultTimeout.
	Timeout time.Duration
	// HTTP sends the requests. Default a client of its own (honouring
	// HTTPS_PROXY).
	HTTP *http.Client
	Log  *slog.Logger
}

// Forward sends r's method, body and query to path (e.g.
// "/106540352242922/messages") of the Graph API with token, and writes
// Meta's answer to w. Only Content-Type (and Accept) of r's headers go to
// Meta; the API key never does.
func (c *Client) Forward(w http.ResponseWriter, r *http.Request, path, token string) {
	base := strings.TrimSuffix(c.BaseURL, "/")
	if base == "" {
		base = DefaultBaseURL
	}
	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	ctx, cancel := context.WithTimeout(r.Context(), timeout)
	defer cancel()
	target := base + path
	if r.URL.RawQuery != "" {
		target += "?" + r.URL.RawQuery
	}
	var body io.Reader
	if r.Body != nil && r.Body != http.NoBody {
		body = http.MaxBytesReader(w, r.Body, MaxBodyBytes)
	}
	req, err := http.NewRequestWithContext(ctx, r.Method, target, body)
	if err != nil {
		writeError(w, http.StatusBadGateway, "Bahasha could not build the request to Meta's Graph API: "+err.Error())
		return
	}
	req.ContentLength = r.ContentLength
	for _, h := range []string{"Content-Type", "Accept"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	req.Header.Set("Authorization", "Bearer "+token)
	start := time.Now()
	res, err := hc.Do(req)
	if err != nil {
		var tooLarge *http.MaxBytesError
		switch {
		case errors.As(err, &tooLarge):
			writeError(w, http.StatusRequestEntityTooLarge, "the request body is larger than Bahasha forwards to Meta (100 MB)")
		case errors.Is(ctx.Err(), context.DeadlineExceeded):
			c.log().Warn("Meta's Graph API did not answer in time", "path", redact(path), "timeout", timeout.String())
			writeError(w, http.StatusGatewayTimeout, "Meta's Graph API did not answer within "+timeout.String()+"; the request may or may not have been carried out, so check before retrying a send")
		case r.Context().Err() != nil:
			// The client went away: nobody to answer.
		default:
			c.log().Warn("Meta's Graph API could not be reached", "path", redact(path), "err", err.Error())
			writeError(w, http.StatusBadGateway, "Bahasha could not reach Meta's Graph API; retry in a moment")
		}
		return
	}
	defer res.Body.Close()
	for _, h := range []string{"Content-Type", "Www-Authenticate", "X-Fb-Trace-Id", "X-Business-Use-Case-Usage", "X-App-Usage", "Retry-After"} {
		if v := res.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(res.StatusCode)
	if _, err := io.Copy(w, res.Body); err != nil {
		c.log().Warn("relaying Meta's Graph API answer was cut short", "path", redact(path), "err", err.Error())
	}
	c.log().Debug("Graph API request relayed", "method", r.Method, "path", redact(path), "status", res.StatusCode,
		"duration", time.Since(start).Round(time.Millisecond).String())
}

func (c *Client) log() *slog.Logger {
	if c.Log == nil {
		return slog.Default()
	}
	return c.Log
}

// redact is path without its query (never logged: it may carry ids a
// business passed).
func redact(path string) string {
	if u, err := url.Parse(path); err == nil {
		return u.Path
	}
	return "?"
}

// writeError answers in the Graph API's error shape: code 2 is Graph's
// "temporary, retry" service error.
func writeError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "OAuthException", "code": 2,
		"is_transient": true, "error_data": map[string]any{"details": msg, "source": "bahasha"}}})
}
