package listen_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/access"

	"github.com/coder/websocket"
	"go.uber.org/goleak"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/delivery"
	"github.com/bahasha/bahasha/internal/listen"
	"github.com/bahasha/bahasha/internal/safehttp"
	"github.com/bahasha/bahasha/internal/server"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// platform is the whole stack (server.Build) on a real SQLite file behind
// a real HTTP server, without private targets, with its engine running.
type platform struct {
	t   *testing.T
	st  store.Store
	hub *listen.Hub
	srv *httptest.Server
	acc accounts.Created
	// access makes and revokes keys.
	access *access.Service
}

func newPlatform(t *testing.T) *platform {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "d.db")})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := accounts.Create(ctx, st, accounts.Params{Name: "Acme", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := server.Build(st, server.Options{Client: safehttp.Config{}, Engine: delivery.Config{Timeout: 5 * time.Second}})
	if err != nil {
		t.Fatal(err)
	}
	p.Listen.Ping = 50 * time.Millisecond
	srv := httptest.NewServer(p.Handler)
	done := make(chan struct{})
	go func() {
		defer close(done)
		p.Engine.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		p.Listen.Close()
		srv.Close()
		st.Close()
	})
	return &platform{t: t, st: st, hub: p.Listen, srv: srv, acc: acc, access: p.Access}
}

// lines collects a Client's output and tells who waits for a line.
type lines struct {
	mu   sync.Mutex
	buf  bytes.Buffer
	seen chan struct{}
}

func newLines() *lines { return &lines{seen: make(chan struct{}, 1000)} }

func (l *lines) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.buf.Write(p)
	select {
	case l.seen <- struct{}{}:
	default:
	}
	return len(p), nil
}

// wait returns the output once it holds want, or fails after 10s.
func (l *lines) wait(t *testing.T, want string) string {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		l.mu.Lock()
		out := l.buf.String()
		l.mu.Unlock()
		if strings.Contains(out, want) {
			return out
		}
		select {
		case <-l.seen:
		case <-deadline:
			t.Fatalf("no %q in the output:\n%s", want, out)
		}
	}
}

// run is a Client's Run: done closes when it returns err.
type run struct {
	done chan struct{}
	err  error
}

// listen runs a real Client forwarding to forwardTo until the test ends,
// and returns its output and its run.
func (p *platform) listen(name, forwardTo string) (*lines, *run) {
	return p.listenWith(p.acc.APIKey, name, forwardTo)
}

// listenWith is listen with another API key.
func (p *platform) listenWith(key, name, forwardTo string) (*lines, *run) {
	out := newLines()
	c := &listen.Client{APIURL: p.srv.URL, APIKey: key, Name: name, ForwardTo: forwardTo, JSON: true, Out: out}
	ctx, cancel := context.WithCancel(context.Background())
	r := &run{done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = c.Run(ctx)
	}()
	p.t.Cleanup(func() {
		cancel()
		<-r.done
	})
	out.wait(p.t, `"ready":true`)
	return out, r
}

// session is the endpoint of the listen session name.
func (p *platform) session(name string) bahasha.Endpoint {
	p.t.Helper()
	eps, err := p.st.Endpoints(context.Background(), p.acc.Account.ID)
	if err != nil {
		p.t.Fatal(err)
	}
	for _, e := range eps {
		if e.Listening() && e.ListenName() == name {
			return e
		}
	}
	p.t.Fatalf("no listen session %q among %+v", name, eps)
	return bahasha.Endpoint{}
}

func (p *platform) get(path string, header http.Header) (int, string) {
	p.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, p.srv.URL+path, nil)
	req.Header = header
	req.Header.Set("Authorization", "Bearer "+p.acc.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// A GET that is not a WebSocket handshake is refused before anything
// changes: it neither opens a session nor takes a live one over.
func TestPlainGETChangesNothing(t *testing.T) {
	p := newPlatform(t)
	got := make(chan []byte, 10)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	defer recv.Close()
	p.listen("live", recv.URL)
	for _, h := range []http.Header{{}, {"Connection": {"Upgrade"}, "Upgrade": {"websocket"}}} {
		status, body := p.get("/v1/listen?name=live", h)
		if status != http.StatusUpgradeRequired || !strings.Contains(body, "upgrade_required") {
			t.Fatalf("plain GET: %d %s", status, body)
		}
		if status, body := p.get("/v1/listen?name=other", h); status != http.StatusUpgradeRequired {
			t.Fatalf("plain GET of a new name: %d %s", status, body)
		}
	}
	status, body := p.get("/v1/listen?name=live", http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"},
		"Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}, "Origin": {"https://evil.example"}})
	if status != http.StatusForbidden || !strings.Contains(body, "cross_origin") {
		t.Fatalf("a cross-origin handshake: %d %s", status, body)
	}
	eps, _ := p.st.Endpoints(context.Background(), p.acc.Account.ID)
	for _, e := range eps {
		if e.Listening() && e.ListenName() != "live" {
			t.Fatalf("a refused GET made a session: %+v", e)
		}
	}
	if e := p.session("live"); e.ListenNode == "" {
		t.Fatalf("the live session went offline: %+v", e)
	}
	// And it still delivers.
	resp, err := p.hub.Forward(context.Background(), p.session("live").ID, delivery.ForwardRequest{Body: []byte(`{"hello":1}`)}, func() {})
	if err != nil || resp.Status != 200 || string(<-got) != `{"hello":1}` {
		t.Fatalf("forwarding after the refused GETs: %+v, %v", resp, err)
	}
}

// A body of any content and up to the ingest limit arrives byte for byte.
func TestLargeBodyArrivesIntact(t *testing.T) {
	p := newPlatform(t)
	got := make(chan []byte, 1)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		got <- b
	}))
	defer recv.Close()
	p.listen("big", recv.URL)
	// Quotes and control characters would grow 2 to 6 times as a JSON
	// string.
	body := bytes.Repeat([]byte("\"\x01\n"), (8<<20)/3)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := p.hub.Forward(ctx, p.session("big").ID, delivery.ForwardRequest{Header: http.Header{"X-Test": {"1"}}, Body: body}, func() {})
	if err != nil || resp.Status != 200 {
		t.Fatalf("Forward = %+v, %v", resp, err)
	}
	if b := <-got; !bytes.Equal(b, body) {
		t.Fatalf("the local server got %d bytes, want %d", len(b), len(body))
	}
}

// rawCLI dials /v1/listen as a CLI would, to control what it answers and
// when.
func rawCLI(t *testing.T, p *platform, name string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(p.srv.URL, "http")+"/v1/listen?name="+name,
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + p.acc.APIKey}}})
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadLimit(listen.MaxFrameBytes)
	t.Cleanup(func() { conn.CloseNow() })
	_, b, err := conn.Read(ctx)
	var ready listen.Message
	if err != nil || json.Unmarshal(b, &ready) != nil || ready.Type != listen.TypeReady || ready.AttemptTimeoutMS != 5000 {
		t.Fatalf("ready: %s, %v", b, err)
	}
	return conn
}

// readPost reads the next post, answering pings meanwhile (Read does).
func readPost(t *testing.T, conn *websocket.Conn) listen.Message {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	typ, b, err := conn.Read(ctx)
	if err != nil || typ != websocket.MessageBinary {
		t.Fatalf("reading a post: %v, %v", typ, err)
	}
	m, _, err := listen.DecodePost(b)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// An attempt that ends before the CLI answers does not cost the
// connection, the post says how long the CLI has, and a late answer is
// not taken for the next post's.
func TestLateAnswerKeepsTheConnection(t *testing.T) {
	p := newPlatform(t)
	conn := rawCLI(t, p, "slow")
	id := p.session("slow").ID

	type result struct {
		resp delivery.ForwardResponse
		err  error
	}
	forward := func(timeout time.Duration) chan result {
		ch := make(chan result, 1)
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), timeout)
			defer cancel()
			r, err := p.hub.Forward(ctx, id, delivery.ForwardRequest{Body: []byte("{}")}, func() {})
			ch <- result{r, err}
		}()
		return ch
	}
	first := forward(300 * time.Millisecond)
	m := readPost(t, conn)
	if m.TimeoutMS <= 0 || m.TimeoutMS >= 300 {
		t.Fatalf("the post allows %d ms of a 300 ms attempt; want less, and more than 0", m.TimeoutMS)
	}
	if r := <-first; !errors.Is(r.err, context.DeadlineExceeded) {
		t.Fatalf("the unanswered attempt: %+v", r)
	}
	write := func(m listen.Message) {
		b, _ := json.Marshal(m)
		if err := conn.Write(context.Background(), websocket.MessageText, b); err != nil {
			t.Fatal(err)
		}
	}
	write(listen.Message{Type: listen.TypeResult, ID: m.ID, Status: 500}) // too late
	second := forward(5 * time.Second)
	m2 := readPost(t, conn)
	if m2.ID == m.ID {
		t.Fatalf("the second post reused id %d", m.ID)
	}
	write(listen.Message{Type: listen.TypeResult, ID: m2.ID, Status: 204})
	if r := <-second; r.err != nil || r.resp.Status != 204 {
		t.Fatalf("the second attempt: %+v", r)
	}
}

// Removed from the API while connected, the session's CLI is told (not
// that it was taken over) and stops.
func TestRemovedSessionStopsTheCLI(t *testing.T) {
	p := newPlatform(t)
	out, res := p.listen("gone", "http://127.0.0.1:1/")
	e := p.session("gone")
	req, _ := http.NewRequest(http.MethodDelete, p.srv.URL+"/v1/webhooks/"+e.PublicID(), nil)
	req.Header.Set("Authorization", "Bearer "+p.acc.APIKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != http.StatusNoContent && resp.StatusCode != http.StatusOK {
		t.Fatalf("DELETE: %v, %v", resp, err)
	}
	resp.Body.Close()
	select {
	case <-res.done:
		if !errors.Is(res.err, listen.ErrRemoved) {
			t.Fatalf("Run = %v, want ErrRemoved", res.err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the CLI did not stop")
	}
	if text := out.wait(t, "was removed"); strings.Contains(text, "took this session over") {
		t.Fatalf("a removal announced as a takeover:\n%s", text)
	}
}

// Revoking the API key a session was opened with ends it at its next
// heartbeat; the CLI's reconnection is refused and it stops.
func TestRevokedKeyEndsTheSession(t *testing.T) {
	p := newPlatform(t)
	k, key, err := p.access.CreateKey(context.Background(), access.Operator, access.CreateKeyParams{AccountID: p.acc.Account.ID, Name: "laptop"})
	if err != nil {
		t.Fatal(err)
	}
	out, res := p.listenWith(key, "laptop", "http://127.0.0.1:1/")
	if _, err := p.access.RevokeKey(context.Background(), access.Operator, p.acc.Account.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	select {
	case <-res.done:
		var fatal *listen.FatalError
		if !errors.As(res.err, &fatal) || !strings.Contains(fatal.Message, "revoked") {
			t.Fatalf("Run = %v, want the platform's refusal of the revoked key", res.err)
		}
	case <-time.After(10 * time.Second):
		out.mu.Lock()
		defer out.mu.Unlock()
		t.Fatalf("the CLI of a revoked key is still running:\n%s", out.buf.String())
	}
}

// A disabled session stays disabled when its CLI reconnects, and the CLI
// says so.
func TestDisabledSessionStaysDisabled(t *testing.T) {
	p := newPlatform(t)
	conn := rawCLI(t, p, "off")
	conn.Close(websocket.StatusNormalClosure, "")
	e := p.session("off")
	e.Disabled = true
	if _, err := p.st.UpdateEndpoint(context.Background(), store.UpdateEndpointParams{Endpoint: e, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	out, _ := p.listen("off", "http://127.0.0.1:1/")
	out.wait(t, "is disabled")
	if e := p.session("off"); !e.Disabled {
		t.Fatalf("reconnecting enabled it: %+v", e)
	}
}

// Close ends every session at once and returns when they have ended;
// the CLIs see the loss, and new sessions are refused meanwhile.
func TestCloseEndsEverySession(t *testing.T) {
	p := newPlatform(t)
	var outs []*lines
	for _, name := range []string{"a", "b", "c"} {
		out, _ := p.listen(name, "http://127.0.0.1:1/")
		outs = append(outs, out)
	}
	p.hub.Close()
	for _, out := range outs {
		out.wait(t, "Lost the connection")
	}
	for _, name := range []string{"a", "b", "c"} {
		if e := p.session(name); e.ListenNode != "" {
			t.Fatalf("session %s is still held after Close: %+v", name, e)
		}
	}
	status, body := p.get("/v1/listen?name=d", http.Header{"Connection": {"Upgrade"}, "Upgrade": {"websocket"},
		"Sec-Websocket-Version": {"13"}, "Sec-Websocket-Key": {"dGhlIHNhbXBsZSBub25jZQ=="}})
	if status != http.StatusServiceUnavailable || !strings.Contains(body, "shutting_down") {
		t.Fatalf("a session after Close: %d %s", status, body)
	}
}
