package handshake_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/handshake"
	"github.com/bahasha/bahasha/internal/safehttp"
	"github.com/bahasha/bahasha/internal/safehttp/safehttptest"
	"github.com/bahasha/bahasha/sdk/webhook"
)

// token is the verification token of the tests: distinctive, so that a
// leak into a result is easy to spot, and with characters that need
// escaping in a query string.
const token = "tok-S3cr3t/+9f1c a7"

func newClient(t *testing.T, cfg safehttp.Config) *safehttp.Client {
	t.Helper()
	c, err := safehttp.New(cfg)
	if err != nil {
		t.Fatalf("safehttp.New: %v", err)
	}
	t.Cleanup(c.CloseIdleConnections)
	return c
}

// localVerifier verifies against loopback test servers.
func localVerifier(t *testing.T) *handshake.Verifier {
	return &handshake.Verifier{Client: newClient(t, safehttp.Config{AllowPrivate: true}), AllowPrivate: true}
}

// server starts a plain-HTTP test server that does not log.
func server(t *testing.T, h http.Handler) *httptest.Server {
	ts := httptest.NewUnstartedServer(h)
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.Start()
	t.Cleanup(ts.Close)
	return ts
}

// answering returns a handler that answers 200 with body(challenge).
func answering(body func(challenge string) string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, body(r.URL.Query().Get("hub.challenge")))
	})
}

// checkNoToken fails if the token shows anywhere in res, raw or escaped.
func checkNoToken(t *testing.T, res handshake.Result) {
	t.Helper()
	for _, form := range []string{token, url.QueryEscape(token), url.PathEscape(token), "S3cr3t"} {
		for name, s := range map[string]string{
			"Request.URL": res.Request.URL, "Request.Header": fmtHeader(res.Request.Header),
			"Message": res.Message, "Got": res.Got,
		} {
			if strings.Contains(s, form) {
				t.Errorf("%s shows the token (%q): %s", name, form, s)
			}
		}
	}
}

func fmtHeader(h http.Header) string {
	var b bytes.Buffer
	h.Write(&b)
	return b.String()
}

func TestVerifyAcceptsWebhookHandler(t *testing.T) {
	h := &webhook.Handler{VerifyToken: token}
	plain := server(t, h)
	tlsServer := httptest.NewTLSServer(h)
	t.Cleanup(tlsServer.Close)
	pool := tlsServer.Client().Transport.(*http.Transport).TLSClientConfig.RootCAs

	for _, tc := range []struct {
		name string
		v    *handshake.Verifier
		url  string
	}{
		{"http", localVerifier(t), plain.URL + "/webhook"},
		{"https", &handshake.Verifier{
			Client:       newClient(t, safehttp.Config{AllowPrivate: true, RootCAs: pool, UserAgent: "Bahasha-Test/1"}),
			AllowPrivate: true,
		}, tlsServer.URL + "/webhook"},
		{"default client", &handshake.Verifier{AllowPrivate: true}, plain.URL + "/webhook"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := tc.v.Verify(t.Context(), tc.url, token)
			if !res.OK || res.Reason != "" || res.StatusCode != http.StatusOK {
				t.Fatalf("Verify = %+v, want OK", res)
			}
			if res.Got != res.Expected || !numericChallenge(res.Expected) {
				t.Errorf("Got %q, Expected %q: want the same 15-digit challenge", res.Got, res.Expected)
			}
			if res.Request.Method != http.MethodGet || !strings.HasPrefix(res.Request.URL, tc.url+"?") ||
				!strings.Contains(res.Request.URL, "hub.verify_token=***") {
				t.Errorf("Request = %+v, want a GET of %s with the token redacted", res.Request, tc.url)
			}
			if got := res.Request.Header.Get("Accept"); got != "text/plain" {
				t.Errorf("Accept = %q, want text/plain", got)
			}
			if res.Request.Header.Get("User-Agent") == "" {
				t.Error("no User-Agent in Result.Request")
			}
			checkNoToken(t, res)
		})
	}
}

func TestVerifyFailures(t *testing.T) {
	tests := []struct {
		name    string
		handler http.Handler
		reason  handshake.Reason
		status  int
		message []string // substrings the Message must contain
	}{
		{"wrong token", &webhook.Handler{VerifyToken: "another token"}, handshake.TokenRejected, 403,
			[]string{"403", "token", "WEBHOOK_VERIFICATION_TOKEN"}},
		{"no token configured", &webhook.Handler{}, handshake.TokenRejected, 403, []string{"token"}},
		{"401", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "login required", http.StatusUnauthorized)
		}), handshake.TokenRejected, 401, []string{"401", "token"}},
		{"500", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "boom", http.StatusInternalServerError)
		}), handshake.WrongStatus, 500, []string{"500 Internal Server Error", "logs"}},
		{"404", http.NotFoundHandler(), handshake.WrongStatus, 404, []string{"404", "path", "GET"}},
		{"POST only", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Error(w, "", http.StatusMethodNotAllowed)
		}), handshake.WrongStatus, 405, []string{"405", "GET"}},
		{"redirect", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			// Like a www redirect that keeps the query: the token must not show.
			http.Redirect(w, r, "https://www.example.com/webhook?"+r.URL.RawQuery, http.StatusMovedPermanently)
		}), handshake.WrongStatus, 301,
			[]string{"301 Moved Permanently", "redirect", "https://www.example.com/webhook", "register the final URL"}},
		{"relative redirect", http.RedirectHandler("/webhook/", http.StatusFound), handshake.WrongStatus, 302,
			[]string{"redirect", "/webhook/", "final URL"}},
		{"JSON-quoted", answering(func(c string) string { return `"` + c + `"` }), handshake.BodyMismatch, 200,
			[]string{"quotes", "res.send(challenge) not res.json(challenge)"}},
		{"trailing newline", answering(func(c string) string { return c + "\n" }), handshake.BodyMismatch, 200,
			[]string{"newline"}},
		{"spaces", answering(func(c string) string { return "  " + c }), handshake.BodyMismatch, 200,
			[]string{"whitespace"}},
		{"empty", answering(func(string) string { return "" }), handshake.BodyMismatch, 200, []string{"empty"}},
		{"HTML page", answering(func(c string) string {
			return "<!DOCTYPE html><html><body><p>" + c + "</p></body></html>"
		}), handshake.BodyMismatch, 200, []string{"HTML"}},
		{"JSON object", answering(func(c string) string { return `{"challenge":"` + c + `"}` }),
			handshake.BodyMismatch, 200, []string{"JSON"}},
		{"echoes the token", answering(func(string) string { return token }), handshake.BodyMismatch, 200,
			[]string{"verification token instead of the challenge"}},
		{"echoes the query", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			io.WriteString(w, "mode="+r.URL.Query().Get("hub.mode")+" token="+r.URL.Query().Get("hub.verify_token"))
		}), handshake.BodyMismatch, 200, []string{"contains your verification token"}},
		{"ok", answering(func(string) string { return "OK" }), handshake.BodyMismatch, 200,
			[]string{`"OK"`, "not the challenge"}},
		{"undefined", answering(func(string) string { return "undefined" }), handshake.BodyMismatch, 200,
			[]string{"did not find hub.challenge"}},
		{"204", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNoContent)
		}), handshake.WrongStatus, 204, []string{"204 No Content", "answer 200"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts := server(t, tc.handler)
			res := localVerifier(t).Verify(t.Context(), ts.URL+"/webhook", token)
			if res.OK || res.Reason != tc.reason || res.StatusCode != tc.status {
				t.Fatalf("Verify = %+v, want reason %s and status %d", res, tc.reason, tc.status)
			}
			for _, want := range tc.message {
				if !strings.Contains(res.Message, want) {
					t.Errorf("Message %q does not mention %q", res.Message, want)
				}
			}
			if res.Request.URL == "" || res.Expected == "" {
				t.Errorf("Request %+v, Expected %q: want both set once a request was sent", res.Request, res.Expected)
			}
			checkNoToken(t, res)
		})
	}
}

func TestVerifyCapsBody(t *testing.T) {
	ts := server(t, answering(func(c string) string { return c + strings.Repeat("x", 10<<10) }))
	res := localVerifier(t).Verify(t.Context(), ts.URL, token)
	if res.Reason != handshake.BodyMismatch || !strings.Contains(res.Message, "other text") {
		t.Fatalf("Verify = %+v, want body_mismatch about other text", res)
	}
	if len(res.Got) != handshake.MaxGotBytes || !strings.HasPrefix(res.Got, res.Expected) {
		t.Fatalf("Got is %d bytes (%q…), want the first %d", len(res.Got), res.Got[:min(len(res.Got), 40)], handshake.MaxGotBytes)
	}
}

func TestVerifyTimeout(t *testing.T) {
	release := make(chan struct{})
	ts := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	t.Cleanup(func() { close(release) }) // runs before ts.Close
	v := &handshake.Verifier{
		Client:       newClient(t, safehttp.Config{AllowPrivate: true, Timeout: 100 * time.Millisecond}),
		AllowPrivate: true,
	}
	res := v.Verify(t.Context(), ts.URL, token)
	if res.Reason != handshake.Timeout || res.StatusCode != 0 || !strings.Contains(res.Message, "did not answer within") {
		t.Fatalf("Verify = %+v, want a timeout", res)
	}
	if res.Duration < 100*time.Millisecond {
		t.Errorf("Duration = %v, want at least the 100ms timeout", res.Duration)
	}
	checkNoToken(t, res)
}

func TestVerifyTLSFailures(t *testing.T) {
	untrusted := httptest.NewUnstartedServer(&webhook.Handler{VerifyToken: token})
	untrusted.Config.ErrorLog = log.New(io.Discard, "", 0)
	untrusted.StartTLS()
	t.Cleanup(untrusted.Close)
	plain := server(t, &webhook.Handler{VerifyToken: token})

	for _, tc := range []struct {
		name, url, want string
	}{
		{"untrusted certificate", untrusted.URL, "trusted certificate authority"},
		{"no TLS on the port", strings.Replace(plain.URL, "http://", "https://", 1), "does not speak TLS"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res := localVerifier(t).Verify(t.Context(), tc.url, token)
			if res.Reason != handshake.TLS || !strings.Contains(res.Message, tc.want) {
				t.Fatalf("Verify = %+v, want tls mentioning %q", res, tc.want)
			}
			checkNoToken(t, res)
		})
	}
}

func TestVerifyConnectionRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	res := localVerifier(t).Verify(t.Context(), "http://"+addr+"/webhook", token)
	if res.Reason != handshake.Connect || !strings.Contains(res.Message, "refused") || !strings.Contains(res.Message, addr) {
		t.Fatalf("Verify = %+v, want connect, refused, naming %s", res, addr)
	}
	checkNoToken(t, res)
}

// TestVerifyPublicOnly runs a production verifier (AllowPrivate false)
// against a local server: it must refuse before connecting, whether the URL
// names the address or a host name resolving to it.
func TestVerifyPublicOnly(t *testing.T) {
	var conns atomic.Int32
	ts := httptest.NewUnstartedServer(&webhook.Handler{VerifyToken: token})
	ts.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	ts.Config.ErrorLog = log.New(io.Discard, "", 0)
	ts.StartTLS()
	t.Cleanup(ts.Close)
	port := strconv.Itoa(ts.Listener.Addr().(*net.TCPAddr).Port)

	resolver := safehttptest.Resolver(map[string][]netip.Addr{
		"hook.test":          {netip.MustParseAddr("127.0.0.1")},
		"public.example.com": {netip.MustParseAddr("10.1.2.3")},
	})
	v := &handshake.Verifier{Client: newClient(t, safehttp.Config{Resolver: resolver})}

	tests := []struct {
		url     string
		reason  handshake.Reason
		message string
		sent    bool
	}{
		{"https://127.0.0.1:" + port + "/webhook", handshake.PrivateAddress, "localhost or private networks", false},
		{"https://[::1]:" + port + "/webhook", handshake.PrivateAddress, "localhost or private networks", false},
		{"https://localhost:" + port + "/webhook", handshake.PrivateAddress, "localhost", false},
		{"https://hook.test:" + port + "/webhook", handshake.PrivateAddress, "hook.test resolves to 127.0.0.1", true},
		{"https://public.example.com/webhook", handshake.PrivateAddress, "private", true},
		{"https://nowhere.test/webhook", handshake.DNS, "nowhere.test does not resolve", true},
		{"http://hook.test:" + port + "/webhook", handshake.InvalidURL, "https", false},
	}
	for _, tc := range tests {
		t.Run(tc.url, func(t *testing.T) {
			res := v.Verify(t.Context(), tc.url, token)
			if res.OK || res.Reason != tc.reason || !strings.Contains(res.Message, tc.message) {
				t.Fatalf("Verify = %+v, want %s mentioning %q", res, tc.reason, tc.message)
			}
			if sent := res.Request.URL != ""; sent != tc.sent {
				t.Errorf("Request = %+v; want a request recorded: %v", res.Request, tc.sent)
			}
			checkNoToken(t, res)
		})
	}
	if n := conns.Load(); n != 0 {
		t.Fatalf("the server accepted %d connections; a production verifier must refuse before connecting", n)
	}
}

// TestVerifyClientIsStricter: a verifier that allows private URLs with a
// production client is held to the client's rules.
func TestVerifyClientIsStricter(t *testing.T) {
	v := &handshake.Verifier{Client: newClient(t, safehttp.Config{}), AllowPrivate: true}
	res := v.Verify(t.Context(), "http://127.0.0.1:1/webhook", token)
	if res.Reason != handshake.InvalidURL || !strings.Contains(res.Message, "https") {
		t.Fatalf("Verify = %+v, want invalid_url asking for https", res)
	}
}

func TestVerifyInvalidURL(t *testing.T) {
	v := &handshake.Verifier{} // the default production client; nothing here may be sent
	for _, raw := range []string{
		"",
		"   ",
		"webhook",
		"example.com/webhook",
		"http://example.com/webhook",
		"https://user:pa55word@example.com/webhook",
		"https:///webhook",
		"https://",
		"ftp://example.com/webhook",
		"https://example.com/webhook#section",
		"https://example.com:99999/webhook",
		"https://exa mple.com/",
		"https://example.com/%zz",
		"https://2130706433/webhook",
	} {
		t.Run(raw, func(t *testing.T) {
			res := v.Verify(t.Context(), raw, token)
			if res.OK || res.Reason != handshake.InvalidURL || res.Message == "" {
				t.Fatalf("Verify(%q) = %+v, want invalid_url with a message", raw, res)
			}
			if res.Request.URL != "" || res.Expected != "" || res.StatusCode != 0 {
				t.Errorf("Verify(%q) = %+v, want nothing sent", raw, res)
			}
			if strings.Contains(res.Message, "pa55word") {
				t.Errorf("Message %q repeats the URL's password", res.Message)
			}
			checkNoToken(t, res)
		})
	}
}

func TestVerifyEmptyToken(t *testing.T) {
	res := (&handshake.Verifier{}).Verify(t.Context(), "https://example.com/webhook", "")
	if res.Reason != handshake.InvalidToken || res.Request.URL != "" {
		t.Fatalf("Verify = %+v, want invalid_token with nothing sent", res)
	}
}

// TestVerifyQuery checks the request Bahasha sends: the URL's own query
// kept verbatim, stale hub.* parameters replaced, and Result.Request equal
// to what the server saw except for the token.
func TestVerifyQuery(t *testing.T) {
	var (
		mu   sync.Mutex
		seen *http.Request
	)
	ts := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = r.Clone(context.Background())
		mu.Unlock()
		(&webhook.Handler{VerifyToken: token}).ServeHTTP(w, r)
	}))
	res := localVerifier(t).Verify(t.Context(), ts.URL+"/hooks/acme?tenant=42&name=a%20b&hub.challenge=stale&flag", token)
	if !res.OK {
		t.Fatalf("Verify = %+v, want OK", res)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen.Method != http.MethodGet || seen.URL.Path != "/hooks/acme" {
		t.Fatalf("server saw %s %s", seen.Method, seen.URL.Path)
	}
	if !strings.HasPrefix(seen.URL.RawQuery, "tenant=42&name=a%20b&flag&") {
		t.Errorf("server saw query %q, want the URL's own parameters first, verbatim", seen.URL.RawQuery)
	}
	q := seen.URL.Query()
	if q.Get("tenant") != "42" || q.Get("name") != "a b" || !q.Has("flag") {
		t.Errorf("server saw query %v, want tenant, name and flag kept", q)
	}
	if len(q["hub.challenge"]) != 1 || q.Get("hub.challenge") != res.Expected {
		t.Errorf("server saw hub.challenge %q, want only %q", q["hub.challenge"], res.Expected)
	}
	if q.Get("hub.mode") != "subscribe" || q.Get("hub.verify_token") != token {
		t.Errorf("server saw hub.mode %q, hub.verify_token %q", q.Get("hub.mode"), q.Get("hub.verify_token"))
	}
	if seen.Header.Get("Accept") != "text/plain" || seen.Header.Get("User-Agent") != safehttp.DefaultUserAgent {
		t.Errorf("server saw headers %v", seen.Header)
	}
	want := ts.URL + strings.Replace(seen.URL.RequestURI(), url.QueryEscape(token), "***", 1)
	if res.Request.URL != want {
		t.Errorf("Request.URL = %q, want what the server saw with the token redacted: %q", res.Request.URL, want)
	}
	checkNoToken(t, res)
}

func TestVerifyChallenge(t *testing.T) {
	var hits atomic.Int32
	ts := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		(&webhook.Handler{VerifyToken: token}).ServeHTTP(w, r)
	}))

	t.Run("fresh each call", func(t *testing.T) {
		v := localVerifier(t)
		a, b := v.Verify(t.Context(), ts.URL, token), v.Verify(t.Context(), ts.URL, token)
		if !a.OK || !b.OK || a.Expected == b.Expected {
			t.Fatalf("two handshakes: %+v and %+v, want both OK with different challenges", a, b)
		}
		for _, c := range []string{a.Expected, b.Expected} {
			if !numericChallenge(c) {
				t.Errorf("challenge %q: want 15 decimal digits, numeric like WhatsApp's", c)
			}
		}
	})
	t.Run("from Rand", func(t *testing.T) {
		v := localVerifier(t)
		seed := bytes.Repeat([]byte{0xfb}, 64)
		v.Rand = bytes.NewReader(seed)
		res := v.Verify(t.Context(), ts.URL, token)
		want := strconv.FormatUint(100_000_000_000_000+binary.BigEndian.Uint64(seed[:8])%900_000_000_000_000, 10)
		if !res.OK || res.Expected != want {
			t.Fatalf("Verify = %+v, want OK with challenge %q from Rand", res, want)
		}
	})
	t.Run("Rand fails", func(t *testing.T) {
		before := hits.Load()
		v := localVerifier(t)
		v.Rand = bytes.NewReader(nil)
		res := v.Verify(t.Context(), ts.URL, token)
		if res.OK || res.Reason != handshake.Other || hits.Load() != before {
			t.Fatalf("Verify = %+v (server hit %d times), want other with nothing sent", res, hits.Load()-before)
		}
	})
}

func TestVerifyDurationUsesNow(t *testing.T) {
	ts := server(t, &webhook.Handler{VerifyToken: token})
	start := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	calls := 0
	v := localVerifier(t)
	v.Now = func() time.Time {
		calls++
		return start.Add(time.Duration(calls-1) * 1500 * time.Millisecond)
	}
	res := v.Verify(t.Context(), ts.URL, token)
	if !res.OK || res.Duration != 1500*time.Millisecond {
		t.Fatalf("Verify = %+v, want OK with Duration 1.5s from Now", res)
	}
}

func TestVerifyCanceled(t *testing.T) {
	ts := server(t, &webhook.Handler{VerifyToken: token})
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	res := localVerifier(t).Verify(ctx, ts.URL, token)
	if res.OK || res.Reason != handshake.Other || !strings.Contains(res.Message, "cancelled") {
		t.Fatalf("Verify = %+v, want other: cancelled", res)
	}
	checkNoToken(t, res)
}

// numericChallenge: WhatsApp's challenges are numbers, and so are ours (15
// digits, exact in a JavaScript number), so receivers that parse them work.
func numericChallenge(c string) bool {
	n, err := strconv.ParseUint(c, 10, 64)
	return err == nil && len(c) == 15 && n < 1<<53
}

// TestVerifyTrickle: an endpoint that trickles its answer a byte at a time
// until the attempt's timeout is diagnosed as a timeout, wherever in the
// answer it is cut off (status line, headers, body).
func TestVerifyTrickle(t *testing.T) {
	for _, c := range []struct {
		name   string
		prefix string // sent at once
	}{
		{"status line", ""},
		{"headers", "HTTP/1.1 200 OK\r\n"},
		{"body", "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"},
	} {
		t.Run(c.name, func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			quit := make(chan struct{})
			var wg sync.WaitGroup
			t.Cleanup(func() { close(quit); ln.Close(); wg.Wait() })
			wg.Go(func() {
				conn, err := ln.Accept()
				if err != nil {
					return
				}
				defer conn.Close()
				buf := make([]byte, 4096)
				conn.Read(buf) // the request
				conn.Write([]byte(c.prefix))
				rest := "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Padding: " + strings.Repeat("a", 1000)
				switch c.prefix {
				case "":
				case "HTTP/1.1 200 OK\r\n":
					rest = rest[len(c.prefix):]
				default:
					rest = strings.Repeat("1", 100)
				}
				tick := time.NewTicker(5 * time.Millisecond)
				defer tick.Stop()
				for i := 0; i < len(rest); i++ {
					select {
					case <-quit:
						return
					case <-tick.C:
					}
					if _, err := conn.Write([]byte{rest[i]}); err != nil {
						return
					}
				}
			})
			v := &handshake.Verifier{
				Client:       newClient(t, safehttp.Config{AllowPrivate: true, Timeout: 150 * time.Millisecond}),
				AllowPrivate: true,
			}
			res := v.Verify(t.Context(), "http://"+ln.Addr().String()+"/webhook", token)
			if res.Reason != handshake.Timeout || !strings.Contains(res.Message, "did not answer within") {
				t.Fatalf("Verify = %+v, want a timeout", res)
			}
			checkNoToken(t, res)
		})
	}
}

// An endpoint's custom headers go with the GET (a gateway in front of the
// receiver may want its key), and the Result shows them redacted.
func TestVerifyWithHeaders(t *testing.T) {
	var mu sync.Mutex
	var got http.Header
	srv := server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = r.Header.Clone()
		mu.Unlock()
		if r.Header.Get("X-Api-Key") != "gw-secret" {
			w.WriteHeader(http.StatusForbidden)
			return
		}
		io.WriteString(w, r.URL.Query().Get("hub.challenge"))
	}))
	v := localVerifier(t)
	if res := v.VerifyWith(context.Background(), srv.URL, "tok", map[string]string{"X-Api-Key": "gw-secret"}); !res.OK {
		t.Fatalf("with the gateway's header: %+v", res)
	}
	mu.Lock()
	key := got.Get("X-Api-Key")
	mu.Unlock()
	if key != "gw-secret" {
		t.Fatalf("the GET's X-Api-Key: %q", key)
	}
	res := v.VerifyWith(context.Background(), srv.URL, "tok", map[string]string{"X-Api-Key": "wrong-secret"})
	if res.OK || res.StatusCode != http.StatusForbidden || res.Request.Header.Get("X-Api-Key") != handshake.Redacted {
		t.Fatalf("with a wrong header: %+v", res)
	}
	if res := v.Verify(context.Background(), srv.URL, "tok"); res.OK {
		t.Fatal("without the header the gateway let it through")
	}
}
