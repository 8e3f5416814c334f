package listen

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/handshake"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// Client is the CLI's side of a listen session: it dials the platform,
// forwards each POST it gets to ForwardTo and reports the local answer.
// Set the fields, then Run.
type Client struct {
	// APIURL is the platform ("http://localhost:8080"); APIKey the
	// account's key.
	APIURL, APIKey string
	// Name names the session (the same name takes it over again).
	Name string
	// ForwardTo is the local receiver's URL.
	ForwardTo string
	// Events and PhoneNumberID narrow what the session receives.
	Events        []string
	PhoneNumberID string
	// VerifyToken, when set, runs the GET handshake against ForwardTo
	// first.
	VerifyToken string
	// JSON prints one JSON object per line instead of text.
	JSON bool
	// PrintSecret prints the account's app secret when the session is
	// ready.
	PrintSecret bool
	// Timeout bounds one local POST. It is at most, and by default, what
	// the platform's attempt timeout leaves (each post says).
	Timeout time.Duration
	// Out gets the output lines.
	Out io.Writer
	// Now is the clock (time.Now).
	Now func() time.Time
	// Ping is how often the platform is pinged (default PingInterval).
	Ping time.Duration

	outMu sync.Mutex // lines come from several goroutines
}

// println writes one whole line to Out.
func (c *Client) println(line string) {
	c.outMu.Lock()
	defer c.outMu.Unlock()
	fmt.Fprintln(c.Out, line)
}

// ErrTakenOver: another bahasha listen with the same name took the
// session over.
var ErrTakenOver = errors.New("another bahasha listen with the same name took this session over")

// ErrRemoved: the session was removed (from the API or the dashboard).
var ErrRemoved = errors.New("the session was removed (from the API or the dashboard)")

// FatalError is a refusal that reconnecting would not change (a wrong
// key, a bad name): Run returns it.
type FatalError struct{ Message string }

func (e *FatalError) Error() string { return e.Message }

// Run runs the session until ctx ends (nil), it is taken over
// (ErrTakenOver), the platform refuses it or cannot be reached at the
// first attempt (a *FatalError); a connection lost once live is
// reconnected with backoff, each loss and retry printed.
func (c *Client) Run(ctx context.Context) error {
	if c.Now == nil {
		c.Now = time.Now
	}
	// The local server is the developer's: never through a proxy.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.Proxy = nil
	local := &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	defer tr.CloseIdleConnections()
	if c.VerifyToken != "" {
		v := &handshake.Verifier{AllowPrivate: true} // its own client, without a proxy
		res := v.Verify(ctx, c.ForwardTo, c.VerifyToken)
		if !res.OK {
			return &FatalError{Message: "the local handshake failed: " + res.Message}
		}
		c.say("Your GET handler answered the handshake correctly (hub.challenge echoed).")
	}
	backoff := time.Second
	connected := false
	for {
		lived, err := c.session(ctx, local)
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, ErrTakenOver), errors.Is(err, ErrRemoved):
			return err
		}
		var fatal *FatalError
		if errors.As(err, &fatal) {
			return err
		}
		if err == errConnected {
			connected = true
			if lived >= stableAfter {
				// A session that held: reconnect at once.
				backoff = time.Second
				continue
			}
			// One that ended soon after it began waits, as a failed
			// connection does, so that a platform that drops every
			// session is not hammered.
		} else if !connected {
			// Never connected: a wrong URL or a platform that is not
			// running; say so rather than wait.
			return &FatalError{Message: err.Error()}
		} else {
			c.say(fmt.Sprintf("Not connected (%v); retrying in %v.", err, backoff))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 15*time.Second)
	}
}

// stableAfter is how long a session must have lived for its loss to be
// reconnected at once (else the backoff goes on growing).
const stableAfter = 30 * time.Second

// errConnected: a session that was live ended; reconnect at once.
var errConnected = errors.New("connected")

func (c *Client) wsURL() (string, error) {
	u, err := url.Parse(c.APIURL)
	if err != nil || u.Host == "" {
		return "", &FatalError{Message: fmt.Sprintf("the platform URL %q is not valid", c.APIURL)}
	}
	switch u.Scheme {
	case "http":
		u.Scheme = "ws"
	case "https":
		u.Scheme = "wss"
	default:
		return "", &FatalError{Message: fmt.Sprintf("the platform URL %q must be http:// or https://", c.APIURL)}
	}
	u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/listen"
	q := url.Values{"name": {c.Name}}
	if len(c.Events) > 0 {
		q.Set("events", strings.Join(c.Events, ","))
	}
	if c.PhoneNumberID != "" {
		q.Set("phone_number_id", c.PhoneNumberID)
	}
	if c.PrintSecret {
		q.Set("print_secret", "1")
	}
	u.RawQuery = q.Encode()
	return u.String(), nil
}

// session runs one connection; lived is how long it was live.
func (c *Client) session(ctx context.Context, local *http.Client) (lived time.Duration, err error) {
	target, err := c.wsURL()
	if err != nil {
		return 0, err
	}
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	conn, resp, err := websocket.Dial(dctx, target, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + c.APIKey}}})
	cancel()
	if err != nil {
		if resp != nil && resp.StatusCode >= 400 && resp.StatusCode < 500 {
			return 0, &FatalError{Message: "the platform refused the session: " + apiMessage(resp)}
		}
		return 0, fmt.Errorf("cannot reach the platform at %s: %w", c.APIURL, unwrapDial(err))
	}
	defer conn.CloseNow()
	conn.SetReadLimit(MaxFrameBytes)
	var ready Message
	if err := readJSON(ctx, conn, &ready); err != nil || ready.Type != TypeReady {
		return 0, fmt.Errorf("the platform did not confirm the session: %v", err)
	}
	began := c.Now()
	if c.PrintSecret && ready.AppSecret != "" {
		c.say("App secret (X-Hub-Signature-256): " + ready.AppSecret)
		c.say("Signing secret (webhook-signature): " + ready.SigningSecret)
	}
	c.sayReady(ready)
	if ready.Disabled {
		c.say("This session is disabled (Settings → Webhooks): its events wait until you enable it again.")
	}
	if attempt := time.Duration(ready.AttemptTimeoutMS) * time.Millisecond; c.Timeout > 0 && attempt > 0 && c.Timeout >= attempt {
		c.say(fmt.Sprintf("--timeout %v is not under the platform's attempt timeout (%v): each local POST is cut off a little before it.", c.Timeout, attempt))
	}

	sctx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer wg.Wait()
	defer stop()
	wg.Add(1)
	go func() { // heartbeats: a platform that stops answering is lost
		defer wg.Done()
		every := cmp.Or(c.Ping, PingInterval)
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			select {
			case <-sctx.Done():
				return
			case <-t.C:
			}
			pctx, cancel := context.WithTimeout(sctx, PongTimeout)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				conn.CloseNow()
				return
			}
		}
	}()
	for {
		typ, b, err := conn.Read(sctx)
		if err != nil {
			if ctx.Err() != nil {
				return c.Now().Sub(began), nil
			}
			c.say(fmt.Sprintf("Lost the connection to %s (%v); reconnecting…", c.APIURL, closeReason(err)))
			return c.Now().Sub(began), errConnected
		}
		if typ == websocket.MessageBinary {
			m, body, err := DecodePost(b)
			if err != nil {
				continue // a newer platform's frame
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				c.forward(sctx, conn, local, m, body)
			}()
			continue
		}
		var m Message
		if json.Unmarshal(b, &m) != nil {
			continue
		}
		switch m.Type {
		case TypeTakenOver:
			c.say("Another bahasha listen with the name " + c.Name + " took this session over; stopping.")
			return c.Now().Sub(began), ErrTakenOver
		case TypeRemoved:
			c.say("The session " + c.Name + " was removed (from the API or the dashboard); stopping.")
			return c.Now().Sub(began), ErrRemoved
		}
	}
}

// MaxFrameBytes caps a message from the platform: a post's body is at
// most the ingest limit (8 MiB) and its headers.
const MaxFrameBytes = 16 << 20

// forward POSTs one delivery to the local server and reports its answer
// within the time the post allows.
func (c *Client) forward(ctx context.Context, conn *websocket.Conn, local *http.Client, m Message, body []byte) {
	started := c.Now()
	res := Message{Type: TypeResult, ID: m.ID}
	timeout := c.Timeout
	if allowed := time.Duration(m.TimeoutMS) * time.Millisecond; allowed > 0 && (timeout <= 0 || allowed < timeout) {
		timeout = allowed
	}
	if timeout <= 0 {
		timeout = 8 * time.Second
	}
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, c.ForwardTo, bytes.NewReader(body))
	if err != nil {
		res.Error = "the --forward-to URL is not valid: " + err.Error()
	} else {
		for k, vs := range m.Header {
			req.Header[k] = vs
		}
		resp, err := local.Do(req)
		if err != nil {
			res.Error, res.MaybeDelivered = describeLocal(err, c.ForwardTo, timeout)
		} else {
			excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, bahasha.MaxResponseExcerpt))
			resp.Body.Close()
			res.Status, res.Body = resp.StatusCode, string(bahasha.ValidUTF8(excerpt))
		}
	}
	d := c.Now().Sub(started)
	res.DurationMS = float64(d.Microseconds()) / 1000
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	b, _ := json.Marshal(res)
	conn.Write(wctx, websocket.MessageText, b)
	c.report(m, body, res, d)
}

func describeLocal(err error, target string, timeout time.Duration) (string, bool) {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Timeout() {
		return fmt.Sprintf("the local server did not answer within %v", timeout.Round(time.Millisecond)), true
	}
	if strings.Contains(err.Error(), "connection refused") {
		return "nothing is listening at " + target + " (connection refused): start your server", false
	}
	return "the local request failed: " + err.Error(), true
}

func readJSON(ctx context.Context, conn *websocket.Conn, m *Message) error {
	_, b, err := conn.Read(ctx)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, m)
}

func apiMessage(resp *http.Response) string {
	var e struct {
		Error struct{ Message string } `json:"error"`
	}
	if resp.Body != nil {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		if json.Unmarshal(b, &e) == nil && e.Error.Message != "" {
			return e.Error.Message
		}
	}
	return resp.Status
}

func unwrapDial(err error) error {
	var op *url.Error
	if errors.As(err, &op) {
		return op.Err
	}
	return err
}

func closeReason(err error) string {
	if st := websocket.CloseStatus(err); st != -1 {
		var ce websocket.CloseError
		if errors.As(err, &ce) && ce.Reason != "" {
			return ce.Reason
		}
		return st.String()
	}
	return err.Error()
}

func (c *Client) say(line string) {
	if c.JSON {
		b, _ := json.Marshal(map[string]any{"time": c.Now().UTC().Format(time.RFC3339), "message": line})
		c.println(string(b))
		return
	}
	c.println(line)
}

func (c *Client) sayReady(m Message) {
	if c.JSON {
		b, _ := json.Marshal(map[string]any{"time": c.Now().UTC().Format(time.RFC3339), "ready": true, "endpoint_id": m.EndpointID, "name": m.Name})
		c.println(string(b))
		return
	}
	c.println(fmt.Sprintf("Ready! Forwarding %s's events to %s (session %q, endpoint %s). Ctrl-C to stop.", c.APIURL, c.ForwardTo, m.Name, m.EndpointID))
}

// report prints one line per POST: what it carried, the local answer.
func (c *Client) report(m Message, body []byte, res Message, d time.Duration) {
	what := describe(body)
	ids := m.Header.Get("X-Bahasha-Delivery-Id")
	if c.JSON {
		b, _ := json.Marshal(map[string]any{"time": c.Now().UTC().Format(time.RFC3339Nano), "events": what, "delivery_ids": strings.Split(ids, ","),
			"status": res.Status, "error": res.Error, "duration_ms": res.DurationMS})
		c.println(string(b))
		return
	}
	answer := fmt.Sprintf("%d", res.Status)
	if res.Status == 0 {
		answer = res.Error
	}
	c.println(fmt.Sprintf("%s  %s  → %s (%v)", c.Now().UTC().Format("15:04:05"), strings.Join(what, "; "), answer, d.Round(time.Millisecond)))
}

// describe names what an envelope carries: "status delivered wamid.…",
// "message text from 2547…".
func describe(body []byte) []string {
	n, err := whatsapp.Parse(body)
	if err != nil {
		return []string{"an envelope Bahasha could not read back"}
	}
	var out []string
	for s := range n.Statuses() {
		out = append(out, fmt.Sprintf("status %s %s", s.Status.Status, s.Status.ID))
	}
	for m := range n.Messages() {
		out = append(out, fmt.Sprintf("message %s from %s", m.Message.Type, m.Message.From))
	}
	return out
}
