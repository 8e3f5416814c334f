package cli_test

// The end-to-end harness: it runs the real program through cli.Run on
// 127.0.0.1:0 with a temporary data folder, talks to its API, and receives its
// deliveries with httptest servers built on the public webhook SDK (so every
// signature is really verified). Waiting is always on channels fed by the
// program's output or the receiver's callbacks, or a short poll of the API,
// each bounded by a generous failure timeout; never a fixed sleep.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/cli"
	"github.com/bahasha/bahasha/internal/store/pgtest"
	"github.com/bahasha/bahasha/sdk/webhook"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

const (
	// testAPIKey is the bootstrap API key of every test server's default account.
	testAPIKey = "bh_test_key_0123456789abcdefghijklmnopqrstuv"
	// testAdminKey enables the admin API where a test sets it.
	testAdminKey = "admin_test_key_0123456789abcdefghijklmnop"
	// waitLimit bounds every wait: a failure bound only, never a pace.
	waitLimit = 20 * time.Second
	// pollEvery is how often eventually polls the API.
	pollEvery = 20 * time.Millisecond
)

// listenRE matches the line serve prints once it accepts connections.
var listenRE = regexp.MustCompile(`Bahasha \S+ listening on (https?://\S+) \(data in `)

// watchedOutput is an io.Writer safe for concurrent use that also tells, once,
// the address from serve's "listening on" line.
type watchedOutput struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	addr  chan string
	found bool
}

func newWatchedOutput() *watchedOutput { return &watchedOutput{addr: make(chan string, 1)} }

func (w *watchedOutput) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if !w.found {
		if m := listenRE.FindStringSubmatch(w.buf.String()); m != nil {
			w.found = true
			w.addr <- m[1]
		}
	}
	return n, err
}

func (w *watchedOutput) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// serveOpts configures startServe. The zero value is the usual test server:
// --allow-private-targets, --sandbox-pace 0, --retry-schedule 50ms,100ms,
// the bootstrap key testAPIKey, a fresh data folder.
type serveOpts struct {
	Args      []string          // extra flags, after (so overriding) the defaults
	Env       map[string]string // extra environment
	NoPrivate bool              // leave --allow-private-targets off
	NoKey     bool              // no BAHASHA_BOOTSTRAP_API_KEY
	Data      string            // data folder; default a new t.TempDir()
	// LogsErrors: the scenario makes serve log errors (a database outage).
	LogsErrors bool
	// TLSRoots, with --tls-cert and --tls-key in Args, are the roots the
	// test's client trusts.
	TLSRoots *x509.CertPool
}

// server is a running bahasha serve.
type server struct {
	t      testing.TB
	URL    string // http://127.0.0.1:port
	Key    string
	Data   string
	Stdout *watchedOutput
	Stderr *watchedOutput

	cancel context.CancelFunc
	done   chan int
	tr     *http.Transport
	client *http.Client

	stopOnce sync.Once
	code     int
}

func serveArgs(o serveOpts) ([]string, map[string]string) {
	args := []string{"serve", "--addr", "127.0.0.1:0", "--data", o.Data, "--sandbox-pace", "0",
		"--retry-schedule", "50ms,100ms", "--shutdown-grace", "5s"}
	if !o.NoPrivate {
		args = append(args, "--allow-private-targets")
	}
	args = append(args, o.Args...)
	env := map[string]string{}
	if !o.NoKey {
		env["BAHASHA_BOOTSTRAP_API_KEY"] = testAPIKey
	}
	for k, v := range o.Env {
		env[k] = v
	}
	return args, env
}

// startServe runs bahasha serve in-process and waits until it listens. The
// server is stopped (and must exit 0) when the test ends.
func startServe(t testing.TB, o serveOpts) *server {
	t.Helper()
	if o.Data == "" {
		o.Data = t.TempDir()
	}
	args, env := serveArgs(o)
	ctx, cancel := context.WithCancel(context.Background())
	tr := &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16}
	if o.TLSRoots != nil {
		tr.TLSClientConfig = &tls.Config{RootCAs: o.TLSRoots}
	}
	s := &server{t: t, Key: testAPIKey, Data: o.Data, Stdout: newWatchedOutput(), Stderr: newWatchedOutput(),
		cancel: cancel, done: make(chan int, 1), tr: tr, client: &http.Client{Transport: tr, Timeout: 30 * time.Second}}
	go func() { s.done <- cli.Run(ctx, args, func(k string) string { return env[k] }, s.Stdout, s.Stderr) }()
	select {
	case addr := <-s.Stdout.addr:
		s.URL = addr
	case code := <-s.done:
		cancel()
		t.Fatalf("serve exited %d before listening\nstdout: %s\nstderr: %s", code, s.Stdout, s.Stderr)
	case <-time.After(waitLimit):
		cancel()
		t.Fatalf("serve did not print its listening line within %v\nstdout: %s\nstderr: %s", waitLimit, s.Stdout, s.Stderr)
	}
	t.Cleanup(func() {
		if code := s.Stop(); code != 0 {
			t.Errorf("serve exited %d, want 0\nstderr: %s", code, s.Stderr)
		}
		// serve logs no error in any scenario of these tests, and never a key.
		for _, l := range lines(s.Stderr.String()) {
			if (strings.Contains(l, "level=ERROR") && !o.LogsErrors) || strings.Contains(l, testAPIKey) || strings.Contains(l, testAdminKey) {
				t.Errorf("serve logged: %s", l)
			}
		}
	})
	return s
}

// Stop cancels serve's context and waits for Run to return; it returns the
// exit code. Calling it again returns the same code.
func (s *server) Stop() int {
	s.stopOnce.Do(func() {
		s.cancel()
		select {
		case s.code = <-s.done:
		case <-time.After(60 * time.Second):
			s.t.Errorf("serve did not return within 60s of its context ending\nstderr: %s", s.Stderr)
			s.code = -1
		}
		s.tr.CloseIdleConnections()
	})
	return s.code
}

// apiResp is an answer of the API.
type apiResp struct {
	Status int
	Header http.Header
	Body   []byte
	JSON   any // the decoded body, nil if it is not JSON
}

func (r *apiResp) String() string { return fmt.Sprintf("%d %s", r.Status, bytes.TrimSpace(r.Body)) }

// Get returns the value at a dotted path ("error.details.reason",
// "data.0.id"), or nil.
func (r *apiResp) Get(path string) any { return jget(r.JSON, path) }

// Str returns the value at path as a string ("" if absent or not a string).
func (r *apiResp) Str(path string) string {
	s, _ := r.Get(path).(string)
	return s
}

// Num returns the number at path (-1 if absent).
func (r *apiResp) Num(path string) float64 {
	f, ok := r.Get(path).(float64)
	if !ok {
		return -1
	}
	return f
}

// Len returns the length of the array at path (-1 if it is not an array).
func (r *apiResp) Len(path string) int {
	a, ok := r.Get(path).([]any)
	if !ok {
		return -1
	}
	return len(a)
}

func jget(v any, path string) any {
	if path == "" {
		return v
	}
	for part := range strings.SplitSeq(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			v = x[part]
		case []any:
			i, err := strconv.Atoi(part)
			if err != nil || i < 0 || i >= len(x) {
				return nil
			}
			v = x[i]
		default:
			return nil
		}
	}
	return v
}

func keysOf(v any) []string {
	m, _ := v.(map[string]any)
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// Do calls the API with the server's key.
func (s *server) Do(method, path string, body any, headers ...string) *apiResp {
	s.t.Helper()
	return s.DoAs(s.Key, method, path, body, headers...)
}

// DoAs calls the API with key ("" sends no Authorization) and extra headers
// given as name, value pairs.
func (s *server) DoAs(key, method, path string, body any, headers ...string) *apiResp {
	s.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	case io.Reader:
		rd = b
	default:
		j, err := json.Marshal(b)
		if err != nil {
			s.t.Fatalf("encoding the request body: %v", err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, s.URL+path, rd)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] == "" {
			req.Header.Del(headers[i])
			continue
		}
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := s.client.Do(req)
	if err != nil {
		s.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatalf("%s %s: reading the answer: %v", method, path, err)
	}
	r := &apiResp{Status: resp.StatusCode, Header: resp.Header, Body: data}
	var v any
	if json.Unmarshal(data, &v) == nil {
		r.JSON = v
	}
	return r
}

// phoneNumber is one of an account's numbers as GET /v1/phone_numbers shows it.
type phoneNumber struct {
	ID, Display, WABA string
}

// Phone returns the first phone number of the server's key's account.
func (s *server) Phone() phoneNumber {
	s.t.Helper()
	return phoneOf(s.t, s, s.Key)
}

func phoneOf(t testing.TB, s *server, key string) phoneNumber {
	t.Helper()
	r := s.DoAs(key, "GET", "/v1/phone_numbers", nil)
	if r.Status != 200 || r.Len("data") < 1 {
		t.Fatalf("GET /v1/phone_numbers: %s", r)
	}
	return phoneNumber{ID: r.Str("data.0.id"), Display: r.Str("data.0.display_phone_number"), WABA: r.Str("data.0.waba_id")}
}

// Secret returns the app secret of key's account.
func (s *server) Secret(key string) string {
	s.t.Helper()
	r := s.DoAs(key, "GET", "/v1/webhook/secret", nil)
	if r.Status != 200 || r.Str("secret") == "" {
		s.t.Fatalf("GET /v1/webhook/secret: %s", r)
	}
	return r.Str("secret")
}

// Register registers rcv as key's account's webhook and expects success.
func (s *server) Register(key string, rcv *receiver) {
	s.t.Helper()
	r := s.DoAs(key, "PUT", "/v1/webhook", map[string]string{"url": rcv.URL, "verify_token": rcv.Token})
	if r.Status != 200 || r.Str("status") != "verified" {
		s.t.Fatalf("PUT /v1/webhook %s: %s", rcv.URL, r)
	}
}

// Send sends a text message to "to" from the account's first number and
// returns its wamid.
func (s *server) Send(key, phoneID, to string) string {
	s.t.Helper()
	r := s.DoAs(key, "POST", "/v1/"+phoneID+"/messages", map[string]any{
		"messaging_product": "whatsapp", "to": to, "type": "text", "text": map[string]any{"body": "hello"}})
	if r.Status != 200 || r.Str("messages.0.id") == "" {
		s.t.Fatalf("POST /v1/%s/messages: %s", phoneID, r)
	}
	return r.Str("messages.0.id")
}

// Inbound simulates a customer text message and returns its delivery id.
func (s *server) Inbound(key, phoneID, from, body string) (wamid, deliveryID string) {
	s.t.Helper()
	r := s.DoAs(key, "POST", "/v1/"+phoneID+"/sandbox/inbound", map[string]any{
		"from": from, "name": "Jane Smith", "type": "text", "text": map[string]any{"body": body}})
	if r.Status != 202 {
		s.t.Fatalf("POST /v1/%s/sandbox/inbound: %s", phoneID, r)
	}
	return r.Str("message.id"), r.Str("delivery_id")
}

// Deliveries lists every delivery of key's account (newest first).
func (s *server) Deliveries(key, query string) []map[string]any {
	s.t.Helper()
	r := s.DoAs(key, "GET", "/v1/webhook/deliveries?limit=1000"+query, nil)
	if r.Status != 200 {
		s.t.Fatalf("GET /v1/webhook/deliveries: %s", r)
	}
	var out []map[string]any
	for _, d := range r.Get("data").([]any) {
		out = append(out, d.(map[string]any))
	}
	return out
}

// eventually polls check until it reports done, failing the test after
// waitLimit with check's last description.
func eventually(t testing.TB, what string, check func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for {
		ok, state := check()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s; last: %s", waitLimit, what, state)
		}
		<-tick.C
	}
}

// WaitDelivery polls GET /v1/webhook/deliveries/{id} until cond holds and
// returns the last answer.
func (s *server) WaitDelivery(key, id, what string, cond func(*apiResp) bool) *apiResp {
	s.t.Helper()
	var last *apiResp
	eventually(s.t, what, func() (bool, string) {
		last = s.DoAs(key, "GET", "/v1/webhook/deliveries/"+id, nil)
		return last.Status == 200 && cond(last), last.String()
	})
	return last
}

// post is one POST a receiver got.
type post struct {
	Header http.Header
	Body   []byte
	Code   int // what the receiver answered
	At     time.Time
}

// receiver is a business's webhook endpoint: an httptest server whose GET and
// POST are served by the SDK's webhook.Handler with the verify token and the
// account's app secret, recording everything it gets.
type receiver struct {
	URL   string
	Token string
	srv   *httptest.Server
	quit  chan struct{} // closed when the test ends: blocking behaviours return

	mu       sync.Mutex
	changed  chan struct{} // closed and replaced on every change
	handler  *webhook.Handler
	gets     int
	posts    []post
	statuses []whatsapp.StatusEvent
	messages []whatsapp.MessageEvent
	errs     []string // signature failures and callback errors
	behave   func(w http.ResponseWriter, r *http.Request, n int) bool
}

// newReceiver starts a receiver for an account with the given app secret.
// Deliveries go through the SDK handler (so a bad signature is a 401 and a
// test failure) unless a behaviour set with Behave answers first.
func newReceiver(t testing.TB, secret string) *receiver {
	t.Helper()
	rcv := &receiver{Token: "verify-" + strconv.FormatInt(time.Now().UnixNano(), 36), quit: make(chan struct{}),
		changed: make(chan struct{})}
	rcv.handler = rcv.newHandler(secret)
	rcv.srv = httptest.NewServer(http.HandlerFunc(rcv.serve))
	rcv.URL = rcv.srv.URL + "/webhook"
	t.Cleanup(rcv.Close)
	return rcv
}

func (rcv *receiver) newHandler(secret string) *webhook.Handler {
	return &webhook.Handler{
		VerifyToken: rcv.Token,
		AppSecret:   secret,
		// The tests check the order in which a receiver processes statuses;
		// only AckAfter ties it to the order Bahasha delivers them (with
		// AckFirst, two POSTs' callbacks run after their 200s and may
		// interleave).
		Mode: webhook.AckAfter,
		OnStatus: func(_ context.Context, e whatsapp.StatusEvent) error {
			rcv.mu.Lock()
			rcv.statuses = append(rcv.statuses, e)
			rcv.mu.Unlock()
			return nil
		},
		OnMessage: func(_ context.Context, e whatsapp.MessageEvent) error {
			rcv.mu.Lock()
			rcv.messages = append(rcv.messages, e)
			rcv.mu.Unlock()
			return nil
		},
		OnError: func(err error) {
			rcv.mu.Lock()
			rcv.errs = append(rcv.errs, err.Error())
			rcv.mu.Unlock()
		},
	}
}

// SetSecret makes the receiver verify signatures with secret from now on.
func (rcv *receiver) SetSecret(secret string) {
	h := rcv.newHandler(secret)
	rcv.mu.Lock()
	rcv.handler = h
	rcv.mu.Unlock()
}

// Close stops the receiver; blocking behaviours return first.
func (rcv *receiver) Close() {
	rcv.mu.Lock()
	select {
	case <-rcv.quit:
		rcv.mu.Unlock()
		return
	default:
	}
	close(rcv.quit)
	rcv.mu.Unlock()
	rcv.srv.Close()
}

// Behave sets how POSTs are answered before the SDK handler sees them: f
// gets the request and its 1-based POST number, and returns true when it
// answered. nil restores the SDK handler for every POST.
func (rcv *receiver) Behave(f func(w http.ResponseWriter, r *http.Request, n int) bool) {
	rcv.mu.Lock()
	rcv.behave = f
	rcv.mu.Unlock()
}

// Fail makes every POST answer 500 (true) or go to the SDK handler (false).
func (rcv *receiver) Fail(fail bool) {
	if !fail {
		rcv.Behave(nil)
		return
	}
	rcv.Behave(func(w http.ResponseWriter, _ *http.Request, n int) bool {
		http.Error(w, "receiver down (post "+strconv.Itoa(n)+")", http.StatusInternalServerError)
		return true
	})
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = 200
	}
	return s.ResponseWriter.Write(p)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (rcv *receiver) serve(w http.ResponseWriter, r *http.Request) {
	if r.Method == http.MethodGet {
		rcv.mu.Lock()
		rcv.gets++
		h := rcv.handler
		rcv.mu.Unlock()
		h.ServeHTTP(w, r)
		rcv.signal()
		return
	}
	body, _ := io.ReadAll(r.Body)
	r.Body = io.NopCloser(bytes.NewReader(body))
	rcv.mu.Lock()
	n := len(rcv.posts) + 1
	rcv.posts = append(rcv.posts, post{Header: r.Header.Clone(), Body: body, At: time.Now()})
	behave, h := rcv.behave, rcv.handler
	rcv.mu.Unlock()
	rec := &statusRecorder{ResponseWriter: w}
	if behave == nil || !behave(rec, r, n) {
		h.ServeHTTP(rec, r)
	}
	rcv.mu.Lock()
	rcv.posts[n-1].Code = rec.code
	if rec.code == http.StatusUnauthorized || (behave == nil && rec.code != http.StatusOK) {
		rcv.errs = append(rcv.errs, fmt.Sprintf("POST %d answered %d by the SDK handler (signature or body rejected): %.300s", n, rec.code, body))
	}
	rcv.mu.Unlock()
	rcv.signal()
}

func (rcv *receiver) signal() {
	rcv.mu.Lock()
	close(rcv.changed)
	rcv.changed = make(chan struct{})
	rcv.mu.Unlock()
}

// Wait waits until cond, called with the receiver locked, holds; it fails
// the test after waitLimit or as soon as the receiver saw a bad signature.
func (rcv *receiver) Wait(t testing.TB, what string, cond func() bool) {
	t.Helper()
	timer := time.NewTimer(waitLimit)
	defer timer.Stop()
	for {
		rcv.mu.Lock()
		ok, errs, ch := cond(), append([]string(nil), rcv.errs...), rcv.changed
		summary := rcv.summaryLocked()
		rcv.mu.Unlock()
		if len(errs) > 0 {
			t.Fatalf("receiver errors while waiting for %s: %s", what, strings.Join(errs, "; "))
		}
		if ok {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			t.Fatalf("timed out after %v waiting for %s; receiver got %s", waitLimit, what, summary)
		}
	}
}

// Errs returns the receiver's signature failures and callback errors.
func (rcv *receiver) Errs() []string {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]string(nil), rcv.errs...)
}

func (rcv *receiver) summaryLocked() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d GETs, %d POSTs, statuses [", rcv.gets, len(rcv.posts))
	for _, s := range rcv.statuses {
		fmt.Fprintf(&b, " %s:%s", shortID(s.Status.ID), s.Status.Status)
	}
	b.WriteString(" ], messages [")
	for _, m := range rcv.messages {
		fmt.Fprintf(&b, " %s:%s", m.Message.Type, shortID(m.Message.ID))
	}
	b.WriteString(" ]")
	return b.String()
}

func shortID(s string) string {
	if len(s) > 16 {
		return s[:16] + "…"
	}
	return s
}

// StatusesOf returns the statuses received for a wamid, in arrival order.
// Call it with the receiver locked (inside Wait's cond) or via Snapshot.
func (rcv *receiver) statusesOfLocked(wamid string) []whatsapp.StatusValue {
	var out []whatsapp.StatusValue
	for _, s := range rcv.statuses {
		if s.Status.ID == wamid {
			out = append(out, s.Status.Status)
		}
	}
	return out
}

// Posts returns a copy of the POSTs received so far.
func (rcv *receiver) Posts() []post {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]post(nil), rcv.posts...)
}

// Statuses returns a copy of the statuses received so far.
func (rcv *receiver) Statuses() []whatsapp.StatusEvent {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]whatsapp.StatusEvent(nil), rcv.statuses...)
}

// Messages returns a copy of the messages received so far.
func (rcv *receiver) Messages() []whatsapp.MessageEvent {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	return append([]whatsapp.MessageEvent(nil), rcv.messages...)
}

// setup starts a server and a receiver registered as its default account's
// webhook.
func setup(t testing.TB, o serveOpts) (*server, *receiver) {
	t.Helper()
	s := startServe(t, o)
	rcv := newReceiver(t, s.Secret(s.Key))
	s.Register(s.Key, rcv)
	return s, rcv
}

// runCLI runs a short-lived command in-process and returns its exit code and
// output.
func runCLI(t testing.TB, ctx context.Context, env map[string]string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Run(ctx, args, func(k string) string { return env[k] }, &out, &errb)
	return code, out.String(), errb.String()
}

// lines returns the non-empty lines of s.
func lines(s string) []string {
	var out []string
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		if strings.TrimSpace(sc.Text()) != "" {
			out = append(out, sc.Text())
		}
	}
	return out
}

// moduleRoot walks up from the working directory to the folder holding go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}
