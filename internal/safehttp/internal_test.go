package safehttp

import (
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
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
	case tr.TLSNextProto == nil || len(tr.TLSNextProto) != 0 || tr.ForceAttemptHTTP2 || len(tr.TLSClientConfig.NextProtos) != 1:
		t.Errorf("HTTP/2 is not off: TLSNextProto %v, NextProtos %v", tr.TLSNextProto, tr.TLSClientConfig.NextProtos)
	case tr.MaxResponseHeaderBytes != maxResponseHeaderBytes || !tr.DisableCompression:
		t.Errorf("response limits not configured: %+v", tr)
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
	c.transport.IdleConnTimeout = 20 * time.Millisecond
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
}
