package safehttp_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/safehttp"
	"github.com/bahasha/bahasha/internal/safehttp/safehttptest"
)

// testHosts is what the fake resolver knows. Every name points at loopback,
// so a guard failure would at worst reach a local test server.
var testHosts = map[string][]netip.Addr{
	"hook.test":  {netip.MustParseAddr("127.0.0.1")},
	"v6.test":    {netip.MustParseAddr("::1")},
	"mixed.test": {netip.MustParseAddr("127.0.0.1"), netip.MustParseAddr("::1")},
	// Rebinding-style: a name that looks public resolves to loopback.
	"public.example.com": {netip.MustParseAddr("127.0.0.2")},
}

func newClient(t *testing.T, cfg safehttp.Config) *safehttp.Client {
	t.Helper()
	if cfg.Resolver == nil {
		cfg.Resolver = safehttptest.Resolver(testHosts)
	}
	c, err := safehttp.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

func get(t *testing.T, c *safehttp.Client, rawURL string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatalf("NewRequest(%q): %v", rawURL, err)
	}
	resp, err := c.Do(req)
	if err == nil {
		t.Cleanup(func() { resp.Body.Close() })
	}
	return resp, err
}

// quietServer starts an unstarted server without logging TLS handshake
// errors, which several tests provoke on purpose.
func quietServer(t *testing.T, h http.Handler) *httptest.Server {
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	t.Cleanup(ts.Close)
	return ts
}

// countingServer returns an https server that counts the connections it
// accepts and answers 200 "ok".
func countingServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var conns atomic.Int32
	ts := quietServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "ok")
	}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.StartTLS()
	return ts, &conns
}

func certPool(ts *httptest.Server) *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(ts.Certificate())
	return pool
}

func TestNewRejectsInvalidConfig(t *testing.T) {
	for _, cfg := range []safehttp.Config{
		{Timeout: -1},
		{MaxResponseBytes: -1},
		{MaxIdleConnsPerHost: -1},
		{UserAgent: "bad\r\nX-Injected: 1"},
	} {
		if _, err := safehttp.New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
}

// TestDialGuardRefusesNonPublic resolves names to loopback addresses and
// checks the dialer refuses them before connecting: the server never sees a
// connection.
func TestDialGuardRefusesNonPublic(t *testing.T) {
	ts, conns := countingServer(t)
	port := ts.Listener.Addr().(*net.TCPAddr).Port
	c := newClient(t, safehttp.Config{RootCAs: certPool(ts)})

	for _, host := range []string{"hook.test", "v6.test", "mixed.test", "public.example.com"} {
		t.Run(host, func(t *testing.T) {
			_, err := get(t, c, "https://"+net.JoinHostPort(host, itoa(port))+"/")
			if !errors.Is(err, safehttp.ErrPrivateAddress) {
				t.Fatalf("Do = %v, want ErrPrivateAddress", err)
			}
			var be *safehttp.BlockedAddressError
			if !errors.As(err, &be) || !be.Addr.IsLoopback() {
				t.Fatalf("Do = %v, want a BlockedAddressError for a loopback address", err)
			}
			if got := safehttp.Classify(err); got != safehttp.ReasonPrivateAddress {
				t.Fatalf("Classify(%v) = %q, want private_address", err, got)
			}
		})
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("the server accepted %d connections; the guard must refuse before connecting", n)
	}
}

func TestDialGuardOffWhenAllowPrivate(t *testing.T) {
	ts, conns := countingServer(t)
	port := ts.Listener.Addr().(*net.TCPAddr).Port
	c := newClient(t, safehttp.Config{AllowPrivate: true, RootCAs: certPool(ts)})

	// The test certificate is valid for 127.0.0.1 and example.com, not
	// hook.test, so use a name it covers.
	resolver := safehttptest.Resolver(map[string][]netip.Addr{"example.com": {netip.MustParseAddr("127.0.0.1")}})
	c2 := newClient(t, safehttp.Config{AllowPrivate: true, RootCAs: certPool(ts), Resolver: resolver})

	for _, tc := range []struct {
		c   *safehttp.Client
		url string
	}{
		{c, ts.URL},
		{c2, "https://" + net.JoinHostPort("example.com", itoa(port)) + "/"},
	} {
		resp, err := get(t, tc.c, tc.url)
		if err != nil {
			t.Fatalf("Do(%s) = %v", tc.url, err)
		}
		body, _, err := tc.c.ReadBody(resp)
		if err != nil || string(body) != "ok" || resp.StatusCode != http.StatusOK {
			t.Fatalf("Do(%s) = %d %q, %v", tc.url, resp.StatusCode, body, err)
		}
		if resp.TLS == nil || resp.TLS.Version < tls.VersionTLS12 {
			t.Fatalf("Do(%s) TLS state %+v, want TLS 1.2 or newer", tc.url, resp.TLS)
		}
	}
	if conns.Load() == 0 {
		t.Fatal("the server saw no connection")
	}
}

func TestDoValidatesURL(t *testing.T) {
	ts, conns := countingServer(t)
	port := itoa(ts.Listener.Addr().(*net.TCPAddr).Port)
	c := newClient(t, safehttp.Config{RootCAs: certPool(ts)})

	tests := []struct {
		url     string
		private bool
	}{
		{"https://127.0.0.1:" + port + "/", true},
		{"https://[::ffff:127.0.0.1]:" + port + "/", true},
		{"https://localhost:" + port + "/", true},
		{"http://hook.test:" + port + "/", false},
		{"https://alice:s3cr3t@hook.test:" + port + "/", false},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			_, err := get(t, c, tt.url)
			if !errors.Is(err, safehttp.ErrInvalidURL) {
				t.Fatalf("Do = %v, want ErrInvalidURL", err)
			}
			want := safehttp.ReasonOther
			if tt.private {
				want = safehttp.ReasonPrivateAddress
			}
			if got := safehttp.Classify(err); got != want {
				t.Fatalf("Classify(%v) = %q, want %q", err, got, want)
			}
		})
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("the server accepted %d connections", n)
	}
}

func TestRedirectNotFollowed(t *testing.T) {
	var targetHits atomic.Int32
	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {
		targetHits.Add(1)
	}))
	t.Cleanup(target.Close)
	origin := httptest.NewServer(http.RedirectHandler(target.URL+"/internal", http.StatusFound))
	t.Cleanup(origin.Close)

	c := newClient(t, safehttp.Config{AllowPrivate: true})
	resp, err := get(t, c, origin.URL)
	if err != nil {
		t.Fatalf("Do = %v", err)
	}
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != target.URL+"/internal" {
		t.Fatalf("Do = %d Location %q, want the 302 itself", resp.StatusCode, resp.Header.Get("Location"))
	}
	if n := targetHits.Load(); n != 0 {
		t.Fatalf("the redirect target was requested %d times", n)
	}
}

func TestEnvironmentProxyIgnored(t *testing.T) {
	var proxyHits atomic.Int32
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxyHits.Add(1)
		w.WriteHeader(http.StatusTeapot)
	}))
	t.Cleanup(proxy.Close)
	t.Setenv("HTTP_PROXY", proxy.URL)
	t.Setenv("HTTPS_PROXY", proxy.URL)
	t.Setenv("NO_PROXY", "")

	target := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(target.Close)
	port := itoa(target.Listener.Addr().(*net.TCPAddr).Port)

	c := newClient(t, safehttp.Config{AllowPrivate: true})
	resp, err := get(t, c, "http://hook.test:"+port+"/")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("Do = %v, %v; want 200 from the target", resp, err)
	}
	if n := proxyHits.Load(); n != 0 {
		t.Fatalf("the environment proxy was used %d times", n)
	}
}

func TestUserAgent(t *testing.T) {
	seen := make(chan string, 2)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.UserAgent()
	}))
	t.Cleanup(ts.Close)

	c := newClient(t, safehttp.Config{AllowPrivate: true})
	if _, err := get(t, c, ts.URL); err != nil {
		t.Fatal(err)
	}
	if got := <-seen; got != safehttp.DefaultUserAgent {
		t.Errorf("User-Agent = %q, want %q", got, safehttp.DefaultUserAgent)
	}

	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, ts.URL, nil)
	req.Header.Set("User-Agent", "custom/2")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := <-seen; got != "custom/2" {
		t.Errorf("User-Agent = %q, want the caller's custom/2", got)
	}
}

func TestClassifyLiveFailures(t *testing.T) {
	// A server that never answers.
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(hanging.Close)
	t.Cleanup(func() { close(release) }) // runs before hanging.Close

	// A TLS server whose certificate the client does not trust.
	untrusted := quietServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	untrusted.StartTLS()

	// A TLS server that only speaks TLS 1.1, below the client's minimum.
	oldTLS := quietServer(t, http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	oldTLS.TLS = &tls.Config{MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}
	oldTLS.StartTLS()

	// A plain HTTP server on an https URL.
	plain := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	t.Cleanup(plain.Close)

	// A port nobody listens on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedAddr := ln.Addr().String()
	ln.Close()

	// A server that accepts and immediately closes connections.
	closer, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closerDone := make(chan struct{})
	go func() {
		defer close(closerDone)
		for {
			conn, err := closer.Accept()
			if err != nil {
				return
			}
			conn.Close()
		}
	}()
	t.Cleanup(func() { closer.Close(); <-closerDone })

	trusting := func(ts *httptest.Server) *x509.CertPool { return certPool(ts) }
	tests := []struct {
		name string
		cfg  safehttp.Config
		url  string
		want safehttp.Reason
	}{
		{"hanging server", safehttp.Config{AllowPrivate: true, Timeout: 100 * time.Millisecond}, hanging.URL, safehttp.ReasonTimeout},
		{"untrusted certificate", safehttp.Config{AllowPrivate: true}, untrusted.URL, safehttp.ReasonTLS},
		{"TLS 1.1 server", safehttp.Config{AllowPrivate: true, RootCAs: trusting(oldTLS)}, oldTLS.URL, safehttp.ReasonTLS},
		{"plain HTTP on https", safehttp.Config{AllowPrivate: true}, strings.Replace(plain.URL, "http:", "https:", 1), safehttp.ReasonTLS},
		{"unresolvable name", safehttp.Config{}, "https://nonexistent.invalid/hook", safehttp.ReasonDNS},
		{"closed port", safehttp.Config{AllowPrivate: true}, "http://" + closedAddr + "/", safehttp.ReasonConnect},
		{"connection closed", safehttp.Config{AllowPrivate: true}, "http://" + closer.Addr().String() + "/", safehttp.ReasonConnect},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newClient(t, tt.cfg)
			resp, err := get(t, c, tt.url)
			if err == nil {
				t.Fatalf("Do(%s) = %d, want an error", tt.url, resp.StatusCode)
			}
			if got := safehttp.Classify(err); got != tt.want {
				t.Fatalf("Classify(%v) = %q, want %q", err, got, tt.want)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	urlErr := func(err error) error { return &url.Error{Op: "Post", URL: "https://example.com/", Err: err} }
	_, invalidURL := safehttp.ValidateURL("http://example.com/", false)
	_, privateURL := safehttp.ValidateURL("https://10.0.0.1/", false)
	tests := []struct {
		name string
		err  error
		want safehttp.Reason
	}{
		{"nil", nil, ""},
		{"blocked address", urlErr(&net.OpError{Op: "dial", Err: &safehttp.BlockedAddressError{}}), safehttp.ReasonPrivateAddress},
		{"private URL", privateURL, safehttp.ReasonPrivateAddress},
		{"invalid URL", invalidURL, safehttp.ReasonOther},
		{"DNS not found", urlErr(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "no such host", IsNotFound: true}}), safehttp.ReasonDNS},
		{"DNS timeout", urlErr(&net.OpError{Op: "dial", Err: &net.DNSError{Err: "i/o timeout", IsTimeout: true}}), safehttp.ReasonDNS},
		{"unknown authority", urlErr(&tls.CertificateVerificationError{Err: x509.UnknownAuthorityError{}}), safehttp.ReasonTLS},
		{"hostname mismatch", urlErr(x509.HostnameError{Host: "example.com", Certificate: &x509.Certificate{}}), safehttp.ReasonTLS},
		{"record header", urlErr(tls.RecordHeaderError{Msg: "first record does not look like a TLS handshake"}), safehttp.ReasonTLS},
		{"remote alert", urlErr(&net.OpError{Op: "remote error", Err: errors.New("tls: handshake failure")}), safehttp.ReasonTLS},
		{"alert error", urlErr(tls.AlertError(40)), safehttp.ReasonTLS},
		{"deadline", urlErr(context.DeadlineExceeded), safehttp.ReasonTimeout},
		{"TLS handshake timeout", urlErr(timeoutError{"net/http: TLS handshake timeout"}), safehttp.ReasonTimeout},
		{"refused", urlErr(&net.OpError{Op: "dial", Err: syscall.ECONNREFUSED}), safehttp.ReasonConnect},
		{"reset", urlErr(&net.OpError{Op: "read", Err: syscall.ECONNRESET}), safehttp.ReasonConnect},
		{"EOF", urlErr(io.EOF), safehttp.ReasonConnect},
		{"server closed idle", urlErr(errors.New("http: server closed idle connection")), safehttp.ReasonConnect},
		{"broken connection", urlErr(fmt.Errorf("net/http: HTTP/1.x transport connection broken: %w", syscall.EPIPE)), safehttp.ReasonConnect},
		{"scheme mismatch", urlErr(http.ErrSchemeMismatch), safehttp.ReasonTLS},
		{"canceled", urlErr(context.Canceled), safehttp.ReasonOther},
		{"other", errors.New("boom"), safehttp.ReasonOther},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := safehttp.Classify(tt.err); got != tt.want {
				t.Fatalf("Classify(%v) = %q, want %q", tt.err, got, tt.want)
			}
		})
	}
}

type timeoutError struct{ msg string }

func (e timeoutError) Error() string   { return e.msg }
func (e timeoutError) Timeout() bool   { return true }
func (e timeoutError) Temporary() bool { return true }

func TestReadBody(t *testing.T) {
	const limit = 1024
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, _ := atoi(r.URL.Query().Get("n"))
		w.Write(bytes.Repeat([]byte("x"), n))
	}))
	t.Cleanup(ts.Close)
	c := newClient(t, safehttp.Config{AllowPrivate: true, MaxResponseBytes: limit})

	tests := []struct {
		size      int
		wantLen   int
		truncated bool
		reused    bool // the next request reuses the connection
	}{
		{0, 0, false, true},
		{limit - 1, limit - 1, false, true},
		{limit, limit, false, true},
		{limit + 1, limit, true, true},
		{10 << 10, limit, true, true},
		{4 << 20, limit, true, false}, // beyond the bounded drain: closed
	}
	for _, tt := range tests {
		t.Run(itoa(tt.size), func(t *testing.T) {
			resp, err := get(t, c, ts.URL+"/?n="+itoa(tt.size))
			if err != nil {
				t.Fatal(err)
			}
			body, truncated, err := c.ReadBody(resp)
			if err != nil || len(body) != tt.wantLen || truncated != tt.truncated {
				t.Fatalf("ReadBody = %d bytes, truncated %v, %v; want %d, %v", len(body), truncated, err, tt.wantLen, tt.truncated)
			}

			var reused bool
			ctx := httptrace.WithClientTrace(t.Context(), &httptrace.ClientTrace{
				GotConn: func(info httptrace.GotConnInfo) { reused = info.Reused },
			})
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+"/?n=0", nil)
			resp, err = c.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if reused != tt.reused {
				t.Errorf("next request reused the connection: %v, want %v", reused, tt.reused)
			}
		})
	}
}

func TestReadBodyError(t *testing.T) {
	boom := errors.New("boom")
	body := io.NopCloser(io.MultiReader(strings.NewReader("abc"), errReader{boom}))
	data, truncated, err := safehttp.ReadBody(body, 10)
	if !errors.Is(err, boom) || string(data) != "abc" || truncated {
		t.Fatalf("ReadBody = %q, %v, %v; want abc, false, boom", data, truncated, err)
	}
	// An error after the limit only affects the discarded part.
	body = io.NopCloser(io.MultiReader(strings.NewReader("abcdef"), errReader{boom}))
	data, truncated, err = safehttp.ReadBody(body, 3)
	if err != nil || string(data) != "abc" || !truncated {
		t.Fatalf("ReadBody = %q, %v, %v; want abc, true, nil", data, truncated, err)
	}
}

type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
