package safehttp_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/safehttp"
)

// rawServer accepts connections and runs serve on each, so that tests can
// answer with exact bytes, misbehave, or close at chosen moments. It counts
// the connections it accepted.
type rawServer struct {
	ln    net.Listener
	conns atomic.Int32
	wg    sync.WaitGroup
}

func newRawServer(t testing.TB, serve func(conn net.Conn, br *bufio.Reader)) *rawServer {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &rawServer{ln: ln}
	var mu sync.Mutex
	var open []net.Conn
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			s.conns.Add(1)
			mu.Lock()
			open = append(open, conn)
			mu.Unlock()
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer conn.Close()
				serve(conn, bufio.NewReader(conn))
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range open {
			c.Close()
		}
		mu.Unlock()
		s.wg.Wait()
	})
	return s
}

func (s *rawServer) url() string { return "http://" + s.ln.Addr().String() + "/hook" }

// readRequest reads one request and its body, or returns nil.
func readRequest(br *bufio.Reader) (*http.Request, []byte) {
	req, err := http.ReadRequest(br)
	if err != nil {
		return nil, nil
	}
	body, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, nil
	}
	return req, body
}

// post sends a POST as the delivery engine does: with an idempotency key
// and a body that can be sent again (GetBody), so that it may be resent on
// a new connection when a kept-alive one turns out dead.
func post(t testing.TB, c *safehttp.Client, ctx context.Context, url, body string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Idempotency-Key", "dlv_1")
	return c.Do(req)
}

func readAll(t *testing.T, c *safehttp.Client, resp *http.Response) string {
	t.Helper()
	b, _, err := c.ReadBody(resp)
	if err != nil {
		t.Fatalf("ReadBody: %v", err)
	}
	return string(b)
}

// A keep-alive connection the server closed while it sat in the pool is
// detected when it is used again: the request goes out again, whole, on a
// new connection, and succeeds.
func TestStaleKeepAliveIsRetried(t *testing.T) {
	var mu sync.Mutex
	var bodies []string
	srv := newRawServer(t, func(conn net.Conn, br *bufio.Reader) {
		_, body := readRequest(br)
		if body == nil {
			return
		}
		mu.Lock()
		bodies = append(bodies, string(body))
		mu.Unlock()
		// Keep-alive by the headers, then closed: as a server whose idle
		// timeout runs out just after answering.
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	c := newClient(t, safehttp.Config{AllowPrivate: true})
	for i, body := range []string{`{"n":1}`, `{"n":2}`, `{"n":3}`} {
		resp, err := post(t, c, t.Context(), srv.url(), body)
		if err != nil {
			t.Fatalf("POST %d: %v", i, err)
		}
		if got := readAll(t, c, resp); resp.StatusCode != 200 || got != "ok" {
			t.Fatalf("POST %d = %d %q", i, resp.StatusCode, got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(bodies, " ") != `{"n":1} {"n":2} {"n":3}` {
		t.Fatalf("the server received %q, want each body once, whole", bodies)
	}
	if n := srv.conns.Load(); n != 3 {
		t.Fatalf("the server accepted %d connections, want 3", n)
	}
}

// The second try dials a new connection: the other idle ones are as dead
// as the first (here the server closed both after answering).
func TestRetryDialsWhenThePoolIsStale(t *testing.T) {
	arrived := make(chan struct{}, 2)
	both := make(chan struct{})
	var once sync.Once
	var n atomic.Int32
	srv := newRawServer(t, func(conn net.Conn, br *bufio.Reader) {
		if req, _ := readRequest(br); req == nil {
			return
		}
		if n.Add(1) <= 2 { // the first two wait for each other, so that two connections are pooled
			arrived <- struct{}{}
			if len(arrived) == 2 {
				once.Do(func() { close(both) })
			}
			<-both
		}
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
	})
	c := newClient(t, safehttp.Config{AllowPrivate: true})
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			resp, err := post(t, c, t.Context(), srv.url(), "{}")
			if err != nil {
				t.Error(err)
				return
			}
			readAll(t, c, resp)
		})
	}
	wg.Wait()
	resp, err := post(t, c, t.Context(), srv.url(), "{}")
	if err != nil {
		t.Fatalf("POST after the server closed every pooled connection: %v", err)
	}
	if got := readAll(t, c, resp); got != "ok" {
		t.Fatalf("body %q", got)
	}
	if got := srv.conns.Load(); got != 3 {
		t.Fatalf("the server accepted %d connections, want 3", got)
	}
}

// No second try when the request may have been processed: on a fresh
// connection, or once any byte of an answer arrived.
func TestNoRetryAfterAnAnswerBegan(t *testing.T) {
	var requests atomic.Int32
	srv := newRawServer(t, func(conn net.Conn, br *bufio.Reader) {
		for {
			if req, _ := readRequest(br); req == nil {
				return
			}
			switch requests.Add(1) {
			case 1:
				io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
			case 2: // on the reused connection: half an answer, then gone
				io.WriteString(conn, "HTTP/1.1 200 O")
				return
			default: // a fresh connection: nothing at all
				return
			}
		}
	})
	c := newClient(t, safehttp.Config{AllowPrivate: true})
	resp, err := post(t, c, t.Context(), srv.url(), "{}")
	if err != nil {
		t.Fatal(err)
	}
	readAll(t, c, resp)
	for i := range 2 {
		if _, err := post(t, c, t.Context(), srv.url(), "{}"); err == nil {
			t.Fatalf("POST %d succeeded, want an error", i+2)
		} else if got := safehttp.Classify(err); got != safehttp.ReasonConnect {
			t.Fatalf("POST %d: Classify(%v) = %q, want connect", i+2, err, got)
		}
	}
	if n := requests.Load(); n != 3 {
		t.Fatalf("the server saw %d requests, want 3 (no retries)", n)
	}
}

func TestResponseHeadersAreBounded(t *testing.T) {
	srv := newRawServer(t, func(conn net.Conn, br *bufio.Reader) {
		if req, _ := readRequest(br); req == nil {
			return
		}
		io.WriteString(conn, "HTTP/1.1 200 OK\r\n")
		line := "X-Padding: " + strings.Repeat("a", 1000) + "\r\n"
		for range 1000 { // about 1 MB of headers
			if _, err := io.WriteString(conn, line); err != nil {
				return
			}
		}
		io.WriteString(conn, "Content-Length: 0\r\n\r\n")
	})
	c := newClient(t, safehttp.Config{AllowPrivate: true})
	_, err := post(t, c, t.Context(), srv.url(), "{}")
	if err == nil || !strings.Contains(err.Error(), "response headers exceeded") {
		t.Fatalf("POST = %v, want an error about the headers' size", err)
	}
}

// Informational answers (100 Continue, 103 Early Hints) come before the
// real one and are skipped; chunked bodies are read and the connection is
// reused after them.
func TestInformationalAndChunked(t *testing.T) {
	srv := newRawServer(t, func(conn net.Conn, br *bufio.Reader) {
		for {
			if req, _ := readRequest(br); req == nil {
				return
			}
			io.WriteString(conn, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"+
				"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
		}
	})
	c := newClient(t, safehttp.Config{AllowPrivate: true})
	var reused []bool
	for range 2 {
		ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
			GotConn: func(info httptrace.GotConnInfo) { reused = append(reused, info.Reused) },
		})
		resp, err := post(t, c, ctx, srv.url(), "{}")
		if err != nil {
			t.Fatal(err)
		}
		if got := readAll(t, c, resp); resp.StatusCode != 202 || got != "abcde" {
			t.Fatalf("POST = %d %q, want 202 abcde", resp.StatusCode, got)
		}
	}
	if len(reused) != 2 || reused[0] || !reused[1] {
		t.Fatalf("connections reused: %v, want [false true]", reused)
	}
	if n := srv.conns.Load(); n != 1 {
		t.Fatalf("the server accepted %d connections, want 1", n)
	}
}

// A connection is not reused after "Connection: close", after a body that
// ends with its connection, or with bytes beyond the answer.
func TestConnectionNotReused(t *testing.T) {
	for _, answer := range []string{
		"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
	} {
		t.Run(strings.Fields(answer)[0]+" "+answer[17:30], func(t *testing.T) {
			srv := newRawServer(t, func(conn net.Conn, br *bufio.Reader) {
				for {
					if req, _ := readRequest(br); req == nil {
						return
					}
					io.WriteString(conn, answer)
				}
			})
			c := newClient(t, safehttp.Config{AllowPrivate: true})
			for range 2 {
				resp, err := post(t, c, t.Context(), srv.url(), "{}")
				if err != nil {
					t.Fatal(err)
				}
				if got := readAll(t, c, resp); got != "ok" {
					t.Fatalf("body %q", got)
				}
			}
			if n := srv.conns.Load(); n != 2 {
				t.Fatalf("the server accepted %d connections, want 2", n)
			}
		})
	}
}

// Cancelling the request's context ends a request that waits for its
// answer at once, with the context's error.
func TestCancelWhileWaiting(t *testing.T) {
	arrived := make(chan struct{})
	srv := newRawServer(t, func(conn net.Conn, br *bufio.Reader) {
		if req, _ := readRequest(br); req == nil {
			return
		}
		close(arrived)
		io.Copy(io.Discard, br) // until the client goes away
	})
	c := newClient(t, safehttp.Config{AllowPrivate: true, Timeout: time.Minute})
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		<-arrived
		cancel()
	}()
	_, err := post(t, c, ctx, srv.url(), "{}")
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("POST = %v, want context.Canceled", err)
	}
}

// A response body is bounded by the attempt's time limit too.
func TestTimeoutWhileReadingBody(t *testing.T) {
	srv := newRawServer(t, func(conn net.Conn, br *bufio.Reader) {
		if req, _ := readRequest(br); req == nil {
			return
		}
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
		io.Copy(io.Discard, br)
	})
	c := newClient(t, safehttp.Config{AllowPrivate: true, Timeout: 200 * time.Millisecond})
	resp, err := post(t, c, t.Context(), srv.url(), "{}")
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = c.ReadBody(resp)
	if got := safehttp.Classify(err); got != safehttp.ReasonTimeout {
		t.Fatalf("ReadBody error %v classified %q, want timeout", err, got)
	}
}

// Over TLS, only HTTP/1.1 is offered, even to a server that speaks HTTP/2.
func TestTLSUsesHTTP11(t *testing.T) {
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, r.Proto)
	}))
	ts.EnableHTTP2 = true
	ts.StartTLS()
	t.Cleanup(ts.Close)
	c := newClient(t, safehttp.Config{AllowPrivate: true, RootCAs: certPool(ts)})
	resp, err := post(t, c, t.Context(), ts.URL, "{}")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(ts.TLS.NextProtos, "h2") {
		t.Fatalf("the test server offers %q; it should offer h2", ts.TLS.NextProtos)
	}
	if got := readAll(t, c, resp); got != "HTTP/1.1" || resp.TLS == nil || resp.TLS.NegotiatedProtocol == "h2" {
		t.Fatalf("server saw %q, TLS %+v; want HTTP/1.1", got, resp.TLS)
	}
}

// Many goroutines share the client and its connections (run with -race).
func TestConcurrentRequests(t *testing.T) {
	var n atomic.Int32
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		n.Add(1)
		w.Write(b)
	}))
	t.Cleanup(ts.Close)
	c := newClient(t, safehttp.Config{AllowPrivate: true})
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for g := range 16 {
		wg.Go(func() {
			for i := range 50 {
				body := strings.Repeat(string(rune('a'+g)), i+1)
				resp, err := post(t, c, t.Context(), ts.URL, body)
				if err != nil {
					errs <- err
					return
				}
				got, _, err := c.ReadBody(resp)
				if err != nil || string(got) != body {
					errs <- errors.New("wrong echo: " + string(got))
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n.Load() != 16*50 {
		t.Fatalf("the server saw %d requests, want %d", n.Load(), 16*50)
	}
}

// FuzzResponse answers a POST with arbitrary bytes, then closes the
// connection. Whatever they are: Do returns a response or an error within
// the time limit, never panics, sends the request at most twice (one retry
// on a kept-alive connection that answered nothing), a response's body
// reads to its end or fails, and the client still works for the next
// request.
func FuzzResponse(f *testing.F) {
	for _, seed := range []string{
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
		"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n",
		"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n",
		"HTTP/1.0 500 Internal Server Error\r\n\r\nboom",
		"HTTP/1.1 301 Moved\r\nLocation: http://169.254.169.254/\r\nContent-Length: 0\r\n\r\n",
		"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
		"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n\r\n",
		"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
		"HTTP/1.1 2000 OK\r\n\r\n",
		"garbage\r\n\r\n",
		"",
	} {
		f.Add([]byte(seed))
	}
	var answer atomic.Value // []byte
	var requests atomic.Int32
	srv := newRawServer(f, func(conn net.Conn, br *bufio.Reader) {
		if req, _ := readRequest(br); req == nil {
			return
		}
		requests.Add(1)
		conn.Write(answer.Load().([]byte))
	})
	okSrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "fine") }))
	f.Cleanup(okSrv.Close)
	c, err := safehttp.New(safehttp.Config{AllowPrivate: true, Timeout: 2 * time.Second})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(c.CloseIdleConnections)
	f.Fuzz(func(t *testing.T, resp []byte) {
		answer.Store(resp)
		requests.Store(0)
		r, err := post(t, c, context.Background(), srv.url(), `{"n":1}`)
		if err == nil {
			if _, _, err := c.ReadBody(r); err != nil && safehttp.Classify(err) == "" {
				t.Fatalf("ReadBody error %v has no reason", err)
			}
		} else if safehttp.Classify(err) == "" {
			t.Fatalf("Do error %v has no reason", err)
		}
		if n := requests.Load(); n > 2 {
			t.Fatalf("the request was sent %d times", n)
		}
		r, err = post(t, c, context.Background(), okSrv.URL, "{}")
		if err != nil {
			t.Fatalf("the next request failed: %v", err)
		}
		if body, _, err := c.ReadBody(r); err != nil || string(body) != "fine" {
			t.Fatalf("the next request read %q, %v", body, err)
		}
	})
}

// A POST without an idempotency key is never sent twice, not even when a
// kept-alive connection turns out dead: whether it was processed cannot be
// known.
func TestPostWithoutKeyIsSentOnce(t *testing.T) {
	var requests atomic.Int32
	srv := newRawServer(t, func(conn net.Conn, br *bufio.Reader) {
		if req, _ := readRequest(br); req == nil {
			return
		}
		requests.Add(1)
		io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok") // then closed while idle
	})
	c := newClient(t, safehttp.Config{AllowPrivate: true})
	send := func() error {
		req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.url(), strings.NewReader("{}"))
		if err != nil {
			t.Fatal(err)
		}
		resp, err := c.Do(req)
		if err == nil {
			readAll(t, c, resp)
		}
		return err
	}
	if err := send(); err != nil {
		t.Fatal(err)
	}
	// The pooled connection is dead: the next POST fails, sent once (or
	// succeeds on a fresh connection if the close was noticed first).
	before := requests.Load()
	send()
	if got := requests.Load() - before; got > 1 {
		t.Fatalf("a POST without an idempotency key was sent %d times", got)
	}
}

// BenchmarkPost is the client's POST path as the delivery engine uses it:
// a signed-size JSON body to a kept-alive local server that answers 200.
// It reports the client's and server's CPU per POST together (they share
// the machine).
func BenchmarkPost(b *testing.B) {
	for _, size := range []int{300, 30000} {
		b.Run(strconv.Itoa(size)+"B", func(b *testing.B) {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				io.Copy(io.Discard, r.Body)
				w.WriteHeader(http.StatusOK)
			}))
			defer ts.Close()
			c, err := safehttp.New(safehttp.Config{AllowPrivate: true})
			if err != nil {
				b.Fatal(err)
			}
			defer c.CloseIdleConnections()
			body := bytes.Repeat([]byte("x"), size)
			b.ReportAllocs()
			b.SetBytes(int64(size))
			b.ResetTimer()
			for b.Loop() {
				req, _ := http.NewRequest(http.MethodPost, ts.URL+"/hook", bytes.NewReader(body))
				req.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Idempotency-Key", "dlv_1")
				resp, err := c.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				if _, _, err := c.ReadBody(resp); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// A kept-alive connection that the receiver drops when the next request
// arrives on it, answering nothing (it had timed the connection out just
// then): a POST with an idempotency key is sent again, whole, on a new
// connection, and succeeds; one without a key fails, sent once.
func TestDeadKeepAliveIsResentWithKey(t *testing.T) {
	for _, withKey := range []bool{true, false} {
		t.Run(fmt.Sprintf("key=%v", withKey), func(t *testing.T) {
			var mu sync.Mutex
			var bodies []string
			srv := newRawServer(t, func(conn net.Conn, br *bufio.Reader) {
				for i := 0; ; i++ {
					_, body := readRequest(br)
					if body == nil {
						return
					}
					mu.Lock()
					bodies = append(bodies, string(body))
					mu.Unlock()
					if i == 1 {
						return // the second request on a connection: dropped unanswered
					}
					io.WriteString(conn, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
				}
			})
			c := newClient(t, safehttp.Config{AllowPrivate: true})
			send := func(body string) (*http.Response, error) {
				req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, srv.url(), strings.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if withKey {
					req.Header.Set("X-Idempotency-Key", "dlv_"+body)
				}
				return c.Do(req)
			}
			resp, err := send("1")
			if err != nil {
				t.Fatal(err)
			}
			readAll(t, c, resp)
			resp, err = send("2")
			mu.Lock()
			defer mu.Unlock()
			if withKey {
				if err != nil {
					t.Fatalf("POST with a key on a dead kept-alive connection: %v, want it resent", err)
				}
				readAll(t, c, resp)
				if strings.Join(bodies, " ") != "1 2 2" || srv.conns.Load() != 2 {
					t.Fatalf("the server received %q on %d connections, want 1 2 2 on 2", bodies, srv.conns.Load())
				}
				return
			}
			if err == nil {
				t.Fatal("POST without a key on a dead connection succeeded")
			}
			if strings.Join(bodies, " ") != "1 2" {
				t.Fatalf("the server received %q, want the POST once", bodies)
			}
		})
	}
}
