package safehttp

import (
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestRefuseNonPublic(t *testing.T) {
	tests := []struct {
		network, address string
		wantBlocked      bool
	}{
		{"tcp4", "8.8.8.8:443", false},
		{"tcp6", "[2606:4700:4700::1111]:443", false},
		{"tcp4", "127.0.0.1:443", true},
		{"tcp4", "169.254.169.254:80", true},
		{"tcp6", "[::1]:443", true},
		{"tcp6", "[::ffff:10.0.0.1]:443", true},
		{"tcp6", "[fe80::1%eth0]:443", true},
		{"tcp6", "[64:ff9b::a9fe:a9fe]:80", true},
		{"udp4", "8.8.8.8:53", true},      // only TCP is ever dialled
		{"tcp4", "example.com:443", true}, // unresolved: fail closed
		{"tcp4", "not an address", true},
	}
	for _, tt := range tests {
		t.Run(tt.network+" "+tt.address, func(t *testing.T) {
			err := refuseNonPublic(tt.network, tt.address, nil)
			if got := errors.Is(err, ErrPrivateAddress); got != tt.wantBlocked || (err != nil) != tt.wantBlocked {
				t.Fatalf("refuseNonPublic(%q, %q) = %v, want blocked %v", tt.network, tt.address, err, tt.wantBlocked)
			}
		})
	}
}

func TestTransportSettings(t *testing.T) {
	c, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	tr := c.transport
	switch {
	case tr.Proxy != nil:
		t.Error("Proxy is set; environment proxies must never be used")
	case tr.TLSClientConfig.MinVersion != tls.VersionTLS12:
		t.Errorf("MinVersion = %x, want TLS 1.2", tr.TLSClientConfig.MinVersion)
	case tr.TLSClientConfig.InsecureSkipVerify:
		t.Error("InsecureSkipVerify is set")
	case tr.MaxIdleConnsPerHost != DefaultMaxIdleConnsPerHost || tr.IdleConnTimeout == 0 || tr.MaxIdleConns == 0:
		t.Errorf("connection pool not configured: %+v", tr)
	case c.http.Timeout != DefaultTimeout || tr.ResponseHeaderTimeout == 0 || tr.TLSHandshakeTimeout == 0:
		t.Errorf("timeouts not configured: client %v, transport %+v", c.http.Timeout, tr)
	case c.http.CheckRedirect(nil, nil) != http.ErrUseLastResponse:
		t.Error("CheckRedirect must return http.ErrUseLastResponse")
	case c.cfg.MaxResponseBytes != DefaultMaxResponseBytes || c.cfg.UserAgent != DefaultUserAgent:
		t.Errorf("defaults not applied: %+v", c.cfg)
	}
}

func TestEligible(t *testing.T) {
	mk := func(method, rawURL string, body io.Reader, edit func(*http.Request)) *http.Request {
		req, err := http.NewRequest(method, rawURL, body)
		if err != nil {
			t.Fatal(err)
		}
		if edit != nil {
			edit(req)
		}
		return req
	}
	tests := []struct {
		name string
		req  *http.Request
		want bool
	}{
		{"POST with a known body", mk("POST", "https://example.com/hook?a=1", strings.NewReader("{}"), nil), true},
		{"GET", mk("GET", "http://127.0.0.1:8080/", nil, nil), true},
		{"IPv6 literal", mk("GET", "https://[2001:db8::1]:8443/", nil, nil), true},
		{"body of unknown length", mk("POST", "https://example.com/", io.NopCloser(strings.NewReader("x")), nil), false},
		{"Unicode host", mk("GET", "https://bücher.example/", nil, nil), false},
		{"other scheme", mk("GET", "ftp://example.com/", nil, nil), false},
		{"Close", mk("GET", "https://example.com/", nil, func(r *http.Request) { r.Close = true }), false},
		{"Host override", mk("GET", "https://example.com/", nil, func(r *http.Request) { r.Host = "other.example" }), false},
		{"Expect", mk("POST", "https://example.com/", strings.NewReader("x"), func(r *http.Request) { r.Header.Set("Expect", "100-continue") }), false},
		{"Connection header", mk("GET", "https://example.com/", nil, func(r *http.Request) { r.Header.Set("Connection", "close") }), false},
		{"bad header name", mk("GET", "https://example.com/", nil, func(r *http.Request) { r.Header["Bad Name"] = []string{"x"} }), false},
		{"CRLF in a value", mk("GET", "https://example.com/", nil, func(r *http.Request) { r.Header["X-A"] = []string{"a\r\nX-B: b"} }), false},
		{"trailer", mk("POST", "https://example.com/", strings.NewReader("x"), func(r *http.Request) { r.Trailer = http.Header{"X": nil} }), false},
	}
	for _, tt := range tests {
		if got := eligible(tt.req); got != tt.want {
			t.Errorf("%s: eligible = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// An idle connection is closed when it stays idle past the idle timeout.
func TestIdleConnectionExpires(t *testing.T) {
	closed := make(chan struct{}, 1)
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed <- struct{}{}
		}
	}
	ts.Start()
	defer ts.Close()
	c, err := New(Config{AllowPrivate: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.CloseIdleConnections()
	c.h1.idleTimeout = 20 * time.Millisecond
	req, _ := http.NewRequest("GET", ts.URL, nil)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.ReadBody(resp); err != nil {
		t.Fatal(err)
	}
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("the idle connection was not closed after the idle timeout")
	}
	c.h1.mu.Lock()
	defer c.h1.mu.Unlock()
	if c.h1.nIdle != 0 || len(c.h1.idle) != 0 {
		t.Fatalf("the pool still holds %d idle connections", c.h1.nIdle)
	}
}
