package safehttp

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// Config configures a [Client]. The zero value is a production client:
// public https destinations only, with the defaults documented on each
// field.
type Config struct {
	// AllowPrivate permits http:// URLs and loopback, private and other
	// non-public destinations. For local development and tests only; never
	// set it in production.
	AllowPrivate bool

	// Timeout bounds one attempt end to end: connecting, the TLS handshake,
	// sending the request, and reading the response headers and body.
	//
	// Default (0): 10s.
	Timeout time.Duration

	// MaxResponseBytes is how much of a response body [Client.ReadBody]
	// keeps; the rest is discarded.
	//
	// Default (0): 64 KiB.
	MaxResponseBytes int64

	// UserAgent is sent on requests that carry no User-Agent header: every
	// delivery and handshake. Build it with [UserAgent].
	//
	// Default (""): [DefaultUserAgent].
	UserAgent string

	// MaxIdleConnsPerHost is how many idle keep-alive connections are kept
	// for each destination host, for reuse by later deliveries.
	//
	// Default (0): 8.
	MaxIdleConnsPerHost int

	// Resolver looks up host names. Tests inject one that answers without
	// the network; whatever it returns, the dialer still checks each address.
	//
	// Default (nil): net.DefaultResolver.
	Resolver *net.Resolver

	// RootCAs are the certificate authorities trusted for https. Tests set
	// it to trust an httptest server's certificate.
	//
	// Default (nil): the system roots.
	RootCAs *x509.CertPool
}

// Defaults of the Config fields.
const (
	DefaultTimeout             = 10 * time.Second
	DefaultMaxResponseBytes    = 64 << 10
	DefaultUserAgent           = userAgentPrefix + "dev"
	DefaultMaxIdleConnsPerHost = 8
)

const (
	// drainLimit is how much of a response body beyond MaxResponseBytes is
	// read and discarded so the connection can be reused; a longer body
	// closes the connection instead.
	drainLimit = 256 << 10
	// maxIdleConns bounds idle connections across all hosts.
	maxIdleConns = 4096
	// maxResponseHeaderBytes bounds response headers (net/http's default is 1 MiB).
	maxResponseHeaderBytes = 64 << 10
)

const userAgentPrefix = "Bahasha-Webhooks/"

// UserAgent is the User-Agent of Bahasha's requests at version: the one
// spelling of it.
func UserAgent(version string) string { return userAgentPrefix + version }

// UserAgent returns the User-Agent the client sends.
func (c *Client) UserAgent() string { return c.cfg.UserAgent }

// Validate reports a problem with c: negative limits, or a User-Agent that
// is not a valid header value.
func (c Config) Validate() error {
	switch {
	case c.Timeout < 0:
		return fmt.Errorf("safehttp: Timeout is %v; it must not be negative (0 means %v)", c.Timeout, DefaultTimeout)
	case c.MaxResponseBytes < 0:
		return fmt.Errorf("safehttp: MaxResponseBytes is %d; it must not be negative (0 means %d)",
			c.MaxResponseBytes, DefaultMaxResponseBytes)
	case c.MaxIdleConnsPerHost < 0:
		return fmt.Errorf("safehttp: MaxIdleConnsPerHost is %d; it must not be negative (0 means %d)",
			c.MaxIdleConnsPerHost, DefaultMaxIdleConnsPerHost)
	case strings.ContainsFunc(c.UserAgent, func(r rune) bool { return r < ' ' || r == 0x7f }):
		return fmt.Errorf("safehttp: UserAgent contains control characters")
	}
	return nil
}

// withDefaults returns c with zero fields set to their defaults.
func (c Config) withDefaults() Config {
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.MaxResponseBytes == 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.UserAgent == "" {
		c.UserAgent = DefaultUserAgent
	}
	if c.MaxIdleConnsPerHost == 0 {
		c.MaxIdleConnsPerHost = DefaultMaxIdleConnsPerHost
	}
	return c
}

// Client sends requests under the rules in the package documentation. It is
// safe for concurrent use; create one per process and reuse it so
// connections are pooled.
type Client struct {
	cfg       Config
	transport *http.Transport
	http      *http.Client
}

// idleConnTimeout is how long an idle kept-alive connection is kept.
const idleConnTimeout = 90 * time.Second

// New returns a Client configured by cfg, or the error from
// [Config.Validate].
func New(cfg Config) (*Client, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	dialer := &net.Dialer{
		Timeout:   cfg.Timeout,
		KeepAlive: 30 * time.Second,
		Resolver:  cfg.Resolver,
	}
	if !cfg.AllowPrivate {
		dialer.Control = refuseNonPublic
	}
	transport := &http.Transport{
		Proxy:       nil, // never HTTP(S)_PROXY from the environment
		DialContext: dialer.DialContext,
		TLSClientConfig: &tls.Config{
			MinVersion: tls.VersionTLS12,
			RootCAs:    cfg.RootCAs,
			NextProtos: []string{"http/1.1"},
		},
		// HTTP/1.1 only, as documented: no HTTP/2 upgrade over TLS.
		TLSNextProto:           map[string]func(string, *tls.Conn) http.RoundTripper{},
		TLSHandshakeTimeout:    cfg.Timeout,
		ResponseHeaderTimeout:  cfg.Timeout,
		ExpectContinueTimeout:  time.Second,
		IdleConnTimeout:        idleConnTimeout,
		MaxIdleConns:           maxIdleConns,
		MaxIdleConnsPerHost:    cfg.MaxIdleConnsPerHost,
		MaxResponseHeaderBytes: maxResponseHeaderBytes,
		DisableCompression:     true, // bodies are capped and mostly ignored; don't inflate them
	}
	return &Client{
		cfg:       cfg,
		transport: transport,
		http: &http.Client{
			Transport: transport,
			Timeout:   cfg.Timeout,
			CheckRedirect: func(*http.Request, []*http.Request) error {
				return http.ErrUseLastResponse // a 3xx is the answer, never followed
			},
		},
	}, nil
}

// Do sends req and returns the response, which the caller must close (see
// [Client.ReadBody]). Redirects are not followed: a 3xx is returned as the
// response. Do sets the configured User-Agent on req if it has none.
//
// A request that may be sent again (net/http's rule: a GET, or a request
// with an Idempotency-Key or X-Idempotency-Key header and a body it can
// replay through GetBody) is sent again on another connection (net/http
// goes on while the failures are on reused ones, then dials) when
// a kept-alive connection the server had closed while idle answers
// nothing; any other is sent once.
//
// Do first applies the checks of [ValidateURL] to req.URL and returns such
// an error (wrapping [ErrInvalidURL]) without sending anything. Other errors
// come from net/http, wrapped in *url.Error; a refused destination wraps
// [ErrPrivateAddress]. Use [Classify] to turn any of them into a [Reason].
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	if req.URL == nil {
		return nil, invalid("webhook URL is empty; enter a full URL such as %s", example)
	}
	if err := validate(req.URL, c.cfg.AllowPrivate); err != nil {
		return nil, err
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	if _, ok := req.Header["User-Agent"]; !ok {
		req.Header.Set("User-Agent", c.cfg.UserAgent)
	}
	return c.http.Do(req)
}

// ReadBody reads at most [Config.MaxResponseBytes] of resp's body and closes
// it; see the package-level [ReadBody].
func (c *Client) ReadBody(resp *http.Response) (body []byte, truncated bool, err error) {
	return ReadBody(resp.Body, c.cfg.MaxResponseBytes)
}

// CloseIdleConnections closes pooled connections that are not in use.
func (c *Client) CloseIdleConnections() {
	c.transport.CloseIdleConnections()
}

// ReadBody reads at most limit bytes of body, then closes it. truncated
// reports that the body was longer. Up to 256 KiB past the limit is read and
// discarded so the connection can be reused; a longer body is cut off by
// closing. err is a read error within the first limit bytes; errors while
// discarding the rest are ignored.
func ReadBody(body io.ReadCloser, limit int64) (data []byte, truncated bool, err error) {
	defer body.Close()
	data, err = io.ReadAll(io.LimitReader(body, max(limit, 0)))
	if err != nil {
		return data, false, err
	}
	n, _ := io.CopyN(io.Discard, body, drainLimit)
	return data, n > 0, nil
}

// refuseNonPublic is the dialer's Control hook: it runs after the name is
// resolved and before connect(2), with the exact address being dialled.
func refuseNonPublic(network, address string, _ syscall.RawConn) error {
	if network != "tcp4" && network != "tcp6" {
		return fmt.Errorf("safehttp: refusing to dial %s network %q: %w", network, address, ErrPrivateAddress)
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("safehttp: cannot check dial address %q: %w", address, ErrPrivateAddress)
	}
	return CheckAddr(ap.Addr())
}
