package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/config"
)

// apiTimeout bounds one request of the client commands to the platform.
const apiTimeout = 30 * time.Second

// maxAnswer caps the body of an API answer the client reads.
const maxAnswer = 8 << 20

// apiClient is a client of a platform's public HTTP API, for the commands
// that run on a developer's machine against a bahasha serve that may be
// elsewhere (trigger, listen). It speaks JSON and turns every failure into
// one sentence: the API's own error message, or why the platform could not
// be reached.
type apiClient struct {
	base string // the platform's URL without a trailing slash
	key  string
	ua   string
	tr   *http.Transport
	hc   *http.Client
}

// newAPIClient returns a client for cfg, which must be valid. Call close
// when done with it.
func newAPIClient(cfg config.Client) *apiClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	// The environment is what Run is given, not the process's: no proxy
	// from HTTP_PROXY.
	tr.Proxy = nil
	return &apiClient{base: cfg.BaseURL(), key: cfg.APIKey, ua: "bahasha-cli/" + version(), tr: tr,
		hc: &http.Client{Transport: tr, Timeout: apiTimeout}}
}

// close closes the client's idle connections.
func (c *apiClient) close() { c.tr.CloseIdleConnections() }

// apiError is an error answer of the API: its HTTP status, its code and its
// message (with the Messages API's details).
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Message }

// errorAnswer is the API's error body, {"error":{"code","message"}}, or the
// Messages API's Cloud-API-shaped one with a numeric code and
// error_data.details.
type errorAnswer struct {
	Error *struct {
		Code      json.RawMessage `json:"code"`
		Message   string          `json:"message"`
		ErrorData struct {
			Details string `json:"details"`
		} `json:"error_data"`
	} `json:"error"`
}

// do sends method path (such as "/v1/phone_numbers") with body encoded as
// JSON (none when nil), and decodes a 2xx answer into out (unless nil). It
// returns the answer's body as received. A non-2xx answer is an *apiError
// with the API's message; a connection failure says the platform cannot be
// reached at its URL.
func (c *apiClient) do(ctx context.Context, method, path string, body, out any) ([]byte, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, fmt.Errorf("cannot encode the request to %s: %w", path, err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return nil, fmt.Errorf("cannot make the request %s %s: %w", method, c.base+path, err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.ua)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, c.unreachable(ctx, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return nil, c.unreachable(ctx, err)
	}
	if len(data) > maxAnswer {
		return nil, fmt.Errorf("the platform at %s answered %s %s with more than %d MiB", c.base, method, path, maxAnswer>>20)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return data, c.errorOf(resp, method, path, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return data, fmt.Errorf("the platform at %s answered %s %s with %s that is not the API's JSON (%v); check --api (BAHASHA_API_URL)",
				c.base, method, path, resp.Status, err)
		}
	}
	return data, nil
}

// errorOf is the error of a non-2xx answer.
func (c *apiClient) errorOf(resp *http.Response, method, path string, data []byte) error {
	var ans errorAnswer
	if json.Unmarshal(data, &ans) != nil || ans.Error == nil || ans.Error.Message == "" {
		return &apiError{Status: resp.StatusCode, Message: fmt.Sprintf("the platform at %s answered %s %s with %s and no Bahasha error; check --api (BAHASHA_API_URL)",
			c.base, method, path, resp.Status)}
	}
	e := &apiError{Status: resp.StatusCode, Code: strings.Trim(string(ans.Error.Code), `"`), Message: ans.Error.Message}
	if d := ans.Error.ErrorData.Details; d != "" && !strings.Contains(e.Message, d) {
		e.Message += ": " + d
	}
	if resp.StatusCode == http.StatusUnauthorized {
		e.Message += "; check BAHASHA_API_KEY (or --api-key)"
	}
	return e
}

// unreachable explains a request that got no answer.
func (c *apiClient) unreachable(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return fmt.Errorf("interrupted before the platform at %s answered: %w", c.base, context.Cause(ctx))
	}
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		return fmt.Errorf("the platform at %s did not answer within %v; check --api (BAHASHA_API_URL) and that bahasha serve runs there", c.base, apiTimeout)
	}
	return fmt.Errorf("cannot reach the platform at %s: %v; check --api (BAHASHA_API_URL) and that bahasha serve runs there", c.base, err)
}
