package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/cli"
	"github.com/bahasha/bahasha/internal/listen"
)

// lineWriter collects a listen client's output and signals each line.
type lineWriter struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newLineWriter() *lineWriter { return &lineWriter{changed: make(chan struct{})} }

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	close(w.changed)
	w.changed = make(chan struct{})
	return n, err
}

func (w *lineWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// waitFor waits until the output holds n occurrences of s.
func (w *lineWriter) waitFor(t *testing.T, s string, n int) {
	t.Helper()
	timeout := time.After(waitLimit)
	for {
		w.mu.Lock()
		ok, ch := strings.Count(w.buf.String(), s) >= n, w.changed
		w.mu.Unlock()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("timed out waiting for %d× %q in the listen output:\n%s", n, s, w.String())
		}
	}
}

// startListen runs a listen client in-process until the test ends (or
// its stop is called) and returns its output.
func startListen(t *testing.T, s *server, name, forwardTo string) (*lineWriter, func() error) {
	t.Helper()
	out := newLineWriter()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	c := &listen.Client{APIURL: s.URL, APIKey: s.Key, Name: name, ForwardTo: forwardTo, Out: out}
	go func() { done <- c.Run(ctx) }()
	stopped := false
	stop := func() error {
		if stopped {
			return nil
		}
		stopped = true
		cancel()
		return <-done
	}
	t.Cleanup(func() { stop() })
	return out, stop
}

// TestListen delivers through a listen session to a receiver on loopback,
// with serve refusing private targets: the platform never dials it.
func TestListen(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveOpts{NoPrivate: true})
	rcv := newReceiver(t, s.Secret(s.Key))
	out, stop := startListen(t, s, "laptop", rcv.URL)
	out.waitFor(t, "Ready!", 1)

	// The sandbox lifecycle arrives, signed with the app secret (the SDK
	// handler checks it), one line per POST.
	wamid := s.Send(s.Key, s.Phone().ID, "254712345678")
	rcv.Wait(t, "the three statuses through the session", func() bool { return len(rcv.statusesOfLocked(wamid)) == 3 })
	out.waitFor(t, "→ 200", 1)
	if !strings.Contains(out.String(), "status sent "+wamid) {
		t.Fatalf("the output does not name what it forwarded:\n%s", out)
	}
	list := s.Do("GET", "/v1/webhooks", nil)
	if list.Len("data") != 1 || !strings.HasPrefix(list.Str("data.0.url"), "listen://laptop") {
		t.Fatalf("the session is not an endpoint of the account: %s", list)
	}
	// It is managed by the CLI: no URL to change or verify.
	sid := list.Str("data.0.id")
	if r := s.Do("PATCH", "/v1/webhooks/"+sid, map[string]any{"url": "https://example.com/x"}); r.Status != 400 || !strings.Contains(r.Str("error.message"), "listen session") {
		t.Fatalf("PATCH of a session's URL: %s", r)
	}
	if r := s.Do("POST", "/v1/webhooks/"+sid+"/verify", nil); r.Status != 400 || !strings.Contains(r.Str("error.message"), "--verify-token") {
		t.Fatalf("verify of a session: %s", r)
	}
	if r := s.Do("PATCH", "/v1/webhooks/"+sid, map[string]any{"description": "my laptop"}); r.Status != 200 {
		t.Fatalf("PATCH of a session's description: %s", r)
	}
	eventually(t, "the deliveries recorded as delivered to the session", func() (bool, string) {
		for _, d := range s.Deliveries(s.Key, "") {
			if d["state"] != "delivered" || d["endpoint_id"] != list.Str("data.0.id") {
				return false, fmt.Sprint(d)
			}
		}
		return true, ""
	})

	// The local server fails twice, then recovers: the attempts are
	// recorded and retried on the short schedule.
	var mu sync.Mutex
	failures := 0
	rcv.Behave(func(w http.ResponseWriter, _ *http.Request, _ int) bool {
		mu.Lock()
		defer mu.Unlock()
		if failures < 2 {
			failures++
			http.Error(w, "not yet", http.StatusInternalServerError)
			return true
		}
		return false
	})
	_, id := s.Inbound(s.Key, s.Phone().ID, "254712345678", "through the session")
	got := s.WaitDelivery(s.Key, id, "the reply after two failures", func(r *apiResp) bool { return r.Str("state") == "delivered" })
	if got.Num("attempts") != 3 || got.Num("last_status_code") != 200 {
		t.Fatalf("the reply after two local failures: %s, want 3 attempts", got)
	}
	out.waitFor(t, "→ 500", 2)

	// Offline: the work waits; the next listen with the same name gets it,
	// in order.
	if err := stop(); err != nil {
		t.Fatalf("listen stopped with %v", err)
	}
	w2 := s.Send(s.Key, s.Phone().ID, "254712345679")
	out2, _ := startListen(t, s, "laptop", rcv.URL)
	out2.waitFor(t, "Ready!", 1)
	rcv.Wait(t, "the statuses sent while offline, in order", func() bool {
		got := rcv.statusesOfLocked(w2)
		return len(got) == 3 && got[0] == "sent" && got[1] == "delivered" && got[2] == "read"
	})
	if errs := rcv.Errs(); len(errs) > 0 {
		t.Fatalf("receiver errors: %v", errs)
	}
}

// BenchmarkListenLatency measures what a listen session adds to a
// delivery's latency: every event goes both to a direct HTTP endpoint and
// to a listen session forwarding to an identical local receiver, one event
// at a time; it reports the p50 and p99 of each, from the ingest request
// to the receiver's handler.
//
//	go test -run '^$' -bench ListenLatency -benchtime 300x ./internal/cli/
func BenchmarkListenLatency(b *testing.B) {
	s := startServe(b, serveOpts{})
	arrived := map[string]chan time.Time{"direct": make(chan time.Time, 1), "listen": make(chan time.Time, 1)}
	sink := func(name string) *httptest.Server {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet {
				io.WriteString(w, r.URL.Query().Get("hub.challenge"))
				return
			}
			io.Copy(io.Discard, r.Body)
			arrived[name] <- time.Now()
		}))
		b.Cleanup(srv.Close)
		return srv
	}
	direct, local := sink("direct"), sink("listen")
	if r := s.Do("PUT", "/v1/webhook", map[string]string{"url": direct.URL, "verify_token": "t"}); r.Status != 200 {
		b.Fatalf("PUT /v1/webhook: %s", r)
	}
	c := &listen.Client{APIURL: s.URL, APIKey: s.Key, Name: "bench", ForwardTo: local.URL, Out: io.Discard}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	eventually(b, "the session", func() (bool, string) {
		r := s.Do("GET", "/v1/webhooks", nil)
		return r.Len("data") == 2, r.String()
	})
	phone := s.Phone().ID
	// The session's Ready comes with its connection; wait for one event
	// through both.
	s.Inbound(s.Key, phone, "254700000001", "warm-up")
	for _, ch := range arrived {
		<-ch
	}
	var lat = map[string][]time.Duration{}
	b.ResetTimer()
	for i := range b.N {
		sent := time.Now()
		s.Inbound(s.Key, phone, "254700000001", fmt.Sprint("m", i))
		for name, ch := range arrived {
			lat[name] = append(lat[name], (<-ch).Sub(sent))
		}
	}
	b.StopTimer()
	for _, name := range []string{"direct", "listen"} {
		ds := lat[name]
		slices.Sort(ds)
		b.ReportMetric(float64(ds[len(ds)/2].Microseconds())/1000, name+"-p50-ms")
		b.ReportMetric(float64(ds[len(ds)*99/100].Microseconds())/1000, name+"-p99-ms")
	}
}

// TestListenCommand runs bahasha listen itself: bad input exits with one
// line; a second listen of the same name takes the session over and the
// first stops; a platform restart is reconnected by itself.
func TestListenCommand(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	s := startServe(t, serveOpts{NoPrivate: true, Data: data})
	rcv := newReceiver(t, s.Secret(s.Key))
	env := map[string]string{"BAHASHA_API_URL": s.URL, "BAHASHA_API_KEY": s.Key}
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		code int
		says string
	}{
		{"no forward-to", env, nil, 2, "--forward-to is required"},
		{"bad forward-to", env, []string{"--forward-to", "ftp://x"}, 2, "must be an http:// or https:// URL"},
		{"bad events", env, []string{"--forward-to", rcv.URL, "--events", "status"}, 2, "not an event filter"},
		{"unknown flag", env, []string{"--forward-to", rcv.URL, "--colour"}, 2, "colour"},
		{"no key", map[string]string{"BAHASHA_API_URL": s.URL}, []string{"--forward-to", rcv.URL}, 2, "BAHASHA_API_KEY"},
		{"wrong key", map[string]string{"BAHASHA_API_URL": s.URL, "BAHASHA_API_KEY": "bh_wrong_key_0123456789abcdefghijkl"}, []string{"--forward-to", rcv.URL}, 1, "API key is not valid"},
		{"unreachable", map[string]string{"BAHASHA_API_URL": "http://127.0.0.1:1", "BAHASHA_API_KEY": s.Key}, []string{"--forward-to", rcv.URL}, 1, "cannot reach the platform"},
		{"bad handshake", env, []string{"--forward-to", rcv.URL, "--verify-token", "wrong"}, 1, "the local handshake failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, context.Background(), c.env, append([]string{"listen"}, c.args...)...)
			if code != c.code || !strings.Contains(stderr, c.says) || len(lines(stderr)) != 1 {
				t.Fatalf("exit %d, stderr %q, stdout %q; want %d saying %q in one line", code, stderr, stdout, c.code, c.says)
			}
		})
	}

	run := func(name string) (*lineWriter, chan int, context.CancelFunc) {
		out := newLineWriter()
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan int, 1)
		go func() {
			done <- cli.Run(ctx, []string{"listen", "--forward-to", rcv.URL, "--name", name, "--verify-token", rcv.Token},
				func(k string) string { return env[k] }, out, out)
		}()
		t.Cleanup(func() { cancel(); <-done })
		return out, done, cancel
	}
	first, firstDone, _ := run("desk")
	first.waitFor(t, "Ready!", 1)
	if !strings.Contains(first.String(), "answered the handshake correctly") {
		t.Fatalf("the local handshake was not reported:\n%s", first)
	}
	second, _, _ := run("desk")
	second.waitFor(t, "Ready!", 1)
	select {
	case code := <-firstDone:
		firstDone <- code
		if code == 0 || !strings.Contains(first.String(), "took this session over") {
			t.Fatalf("the first listen exited %d:\n%s", code, first)
		}
	case <-time.After(waitLimit):
		t.Fatalf("the first listen did not stop when taken over:\n%s", first)
	}
	w := s.Send(s.Key, s.Phone().ID, "254712345678")
	rcv.Wait(t, "the statuses through the second listen", func() bool { return len(rcv.statusesOfLocked(w)) == 3 })

	// The platform restarts (on the same address): the listen says it
	// lost the connection, reconnects by itself, and is Ready again.
	addr := strings.TrimPrefix(s.URL, "http://")
	if code := s.Stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	second.waitFor(t, "Lost the connection", 1)
	s2 := startServe(t, serveOpts{NoPrivate: true, Data: data, Args: []string{"--addr", addr}})
	second.waitFor(t, "Ready!", 2)
	w2 := s2.Send(s2.Key, s2.Phone().ID, "254712345678")
	rcv.Wait(t, "the statuses after the restart", func() bool { return len(rcv.statusesOfLocked(w2)) == 3 })
}

// TestListenKilled: a bahasha listen process is killed with SIGKILL;
// what is sent meanwhile waits, and a new listen of the same name
// receives it, in order, with nothing lost.
func TestListenKilled(t *testing.T) {
	t.Parallel()
	bin := bahashaBinary(t)
	s := startServe(t, serveOpts{NoPrivate: true})
	rcv := newReceiver(t, s.Secret(s.Key))
	start := func() (*exec.Cmd, *lineWriter) {
		out := newLineWriter()
		cmd := exec.Command(bin, "listen", "--forward-to", rcv.URL, "--name", "killed")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "BAHASHA_API_URL=" + s.URL, "BAHASHA_API_KEY=" + s.Key}
		cmd.Stdout, cmd.Stderr = out, out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
		out.waitFor(t, "Ready!", 1)
		return cmd, out
	}
	first, _ := start()
	w1 := s.Send(s.Key, s.Phone().ID, "254712345678")
	rcv.Wait(t, "the first message's statuses", func() bool { return len(rcv.statusesOfLocked(w1)) == 3 })

	if err := first.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	first.Wait()
	w2 := s.Send(s.Key, s.Phone().ID, "254712345679")
	in, _ := s.Inbound(s.Key, s.Phone().ID, "254712345679", "while the CLI was dead")
	start()
	rcv.Wait(t, "what was sent while the CLI was dead, in order", func() bool {
		got := rcv.statusesOfLocked(w2)
		return len(got) == 3 && got[0] == "sent" && got[1] == "delivered" && got[2] == "read" && len(rcv.messages) == 1 && rcv.messages[0].Message.ID == in
	})
	// Nothing lost: each delivery is delivered, or superseded by a later
	// status of its message that reached the receiver. (The CLI may die
	// after forwarding a POST and before reporting it: that POST counts as
	// possibly delivered and is sent again, its earlier statuses then
	// superseded — never a status going backwards.)
	eventually(t, "every delivery recorded as delivered or superseded", func() (bool, string) {
		for _, d := range s.Deliveries(s.Key, "") {
			if d["state"] != "delivered" && d["state"] != "superseded" {
				return false, fmt.Sprint(d)
			}
		}
		return true, ""
	})
	rcv.Wait(t, "no status going backwards", func() bool {
		for _, w := range []string{w1, w2} {
			got := rcv.statusesOfLocked(w)
			for i := 1; i < len(got); i++ {
				if got[i].Rank() < got[i-1].Rank() {
					t.Errorf("%s arrived as %v", w, got)
				}
			}
		}
		return true
	})
	if errs := rcv.Errs(); len(errs) > 0 {
		t.Fatalf("receiver errors: %v", errs)
	}
}
