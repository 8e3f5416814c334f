package cli_test

import (
	"bufio"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

// countingListener accepts and counts connections on a loopback port, so a
// test can prove that nothing dialled it.
type countingListener struct {
	ln    net.Listener
	count atomic.Int64
	wg    sync.WaitGroup
}

func newCountingListener(t *testing.T, network, addr string) *countingListener {
	t.Helper()
	ln, err := net.Listen(network, addr)
	if err != nil {
		return nil
	}
	cl := &countingListener{ln: ln}
	cl.wg.Add(1)
	go func() {
		defer cl.wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			cl.count.Add(1)
			c.Close()
		}
	}()
	t.Cleanup(func() { ln.Close(); cl.wg.Wait() })
	return cl
}

// hostsLoopbackName returns a name other than localhost that the hosts file
// maps to a loopback address (a DNS name resolving to loopback without the
// network), or "".
func hostsLoopbackName() string {
	f, err := os.Open("/etc/hosts")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(strings.SplitN(sc.Text(), "#", 2)[0])
		if len(fields) < 2 || !strings.HasPrefix(fields[0], "127.") {
			continue
		}
		for _, name := range fields[1:] {
			if n := strings.ToLower(name); n != "localhost" && !strings.HasSuffix(n, ".localhost") && !strings.Contains(n, "localhost") {
				if addrs, err := net.LookupHost(name); err == nil && len(addrs) > 0 && allLoopback(addrs) {
					return name
				}
			}
		}
	}
	return ""
}

func allLoopback(addrs []string) bool {
	for _, a := range addrs {
		if ip := net.ParseIP(a); ip == nil || !ip.IsLoopback() {
			return false
		}
	}
	return true
}

// TestSSRF registers webhook URLs that point at non-public places on a
// server without --allow-private-targets: each is refused with a clear 4xx,
// and nothing is dialled.
func TestSSRF(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveOpts{NoPrivate: true})
	v4 := newCountingListener(t, "tcp4", "127.0.0.1:0")
	port := v4.ln.Addr().(*net.TCPAddr).Port
	p := ":" + strconv.Itoa(port)
	v6 := newCountingListener(t, "tcp6", "[::1]"+p) // may be nil without IPv6

	type want struct {
		status int
		code   string
		reason string
		msg    string // substring of the message
	}
	private := func(msg string) want { return want{422, "verification_failed", "private_address", msg} }
	badURL := func(msg string) want { return want{400, "invalid_request", "invalid_url", msg} }
	cases := []struct {
		url  string
		want want
	}{
		{"https://127.0.0.1" + p + "/webhook", private("loopback")},
		{"https://10.0.0.1/webhook", private("private")},
		{"https://172.16.0.1/webhook", private("private")},
		{"https://192.168.1.1/webhook", private("private")},
		{"https://169.254.169.254/latest/meta-data", private("link-local")},
		{"https://100.64.0.1/webhook", private("carrier-grade NAT")},
		{"https://[::1]" + p + "/webhook", private("loopback")},
		{"https://[fc00::1]/webhook", private("unique local")},
		{"https://[::ffff:127.0.0.1]" + p + "/webhook", private("loopback")},
		{"https://0.0.0.0" + p + "/webhook", private("0.0.0.0")},
		{"https://224.0.0.1/webhook", private("multicast")},
		{"https://255.255.255.255/webhook", private("broadcast")},
		{"https://localhost" + p + "/webhook", private("localhost")},
		{"https://LocalHost." + p + "/webhook", private("localhost")},
		{"https://api.localhost" + p + "/webhook", private("localhost")},
		{"http://example.com/webhook", badURL("https")},
		{"https://user:pass@example.com/webhook", badURL("username or password")},
		{"https://2130706433" + p + "/webhook", badURL("non-standard")},
		{"https://0x7f.1" + p + "/webhook", badURL("non-standard")},
		{"https://127.1" + p + "/webhook", badURL("non-standard")},
		{"ftp://example.com/webhook", badURL("https")},
		{"example.com/webhook", badURL("https://")},
		{"https://example.com/webhook#frag", badURL("fragment")},
		{"https://[fe80::1%25eth0]/webhook", badURL("zone")},
	}
	if name := hostsLoopbackName(); name != "" {
		// A DNS name (from the hosts file, so no network) resolving to
		// loopback: ValidateURL lets it through; the dialer refuses it.
		cases = append(cases, struct {
			url  string
			want want
		}{"https://" + name + p + "/webhook", private("127.0.0.1")})
	} else {
		t.Log("no non-localhost loopback name in /etc/hosts: the DNS-to-loopback case is covered by internal/safehttp's resolver tests only")
	}
	for _, tc := range cases {
		t.Run(strings.NewReplacer("/", "_", ":", "_").Replace(tc.url), func(t *testing.T) {
			r := s.Do("PUT", "/v1/webhook", map[string]string{"url": tc.url, "verify_token": "tok"})
			if r.Status != tc.want.status || r.Str("error.code") != tc.want.code || r.Str("error.details.reason") != tc.want.reason {
				t.Fatalf("PUT %s: %s, want %d %s reason %s", tc.url, r, tc.want.status, tc.want.code, tc.want.reason)
			}
			if !strings.Contains(r.Str("error.message"), tc.want.msg) {
				t.Errorf("message %q does not mention %q", r.Str("error.message"), tc.want.msg)
			}
			if strings.Contains(r.Str("error.message"), "pass@") {
				t.Errorf("message echoes the URL's credentials: %q", r.Str("error.message"))
			}
		})
	}
	if n := v4.count.Load(); n != 0 {
		t.Errorf("127.0.0.1%s got %d connections; every private URL must be refused before dialling", p, n)
	}
	if v6 != nil && v6.count.Load() != 0 {
		t.Errorf("[::1]%s got %d connections", p, v6.count.Load())
	}
	if r := s.Do("GET", "/v1/webhook", nil); r.Status != 404 || r.Str("error.code") != "no_webhook" {
		t.Errorf("GET /v1/webhook after refused registrations: %s, want 404 no_webhook", r)
	}
}

// TestRedirectsNotFollowed checks that neither the handshake nor a delivery
// follows a redirect.
func TestRedirectsNotFollowed(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveOpts{})
	var elsewhere atomic.Int64
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		elsewhere.Add(1)
		w.Write([]byte(r.URL.Query().Get("hub.challenge")))
	}))
	t.Cleanup(other.Close)

	t.Run("handshake_302", func(t *testing.T) {
		redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, other.URL+"/webhook?"+r.URL.RawQuery, http.StatusFound)
		}))
		t.Cleanup(redirect.Close)
		r := s.Do("PUT", "/v1/webhook", map[string]string{"url": redirect.URL + "/webhook", "verify_token": "tok"})
		if r.Status != 422 || r.Str("error.details.reason") != "wrong_status" || r.Num("error.details.status_code") != 302 {
			t.Fatalf("PUT /v1/webhook answered by a 302: %s, want 422 wrong_status 302", r)
		}
		if !strings.Contains(r.Str("error.message"), "redirect") {
			t.Errorf("message %q does not explain the redirect", r.Str("error.message"))
		}
		if strings.Contains(r.Str("error.message"), "tok&") || strings.Contains(r.Str("error.message"), "verify_token=tok") {
			t.Errorf("message shows the token: %q", r.Str("error.message"))
		}
		if n := elsewhere.Load(); n != 0 {
			t.Errorf("the redirect target got %d requests", n)
		}
	})

	t.Run("delivery_307", func(t *testing.T) {
		rcv := newReceiver(t, s.Secret(s.Key))
		s.Register(s.Key, rcv)
		rcv.Behave(func(w http.ResponseWriter, r *http.Request, _ int) bool {
			w.Header().Set("Location", other.URL+"/webhook")
			w.WriteHeader(http.StatusTemporaryRedirect)
			return true
		})
		_, id := s.Inbound(s.Key, s.Phone().ID, "254712345678", "redirected")
		r := s.WaitDelivery(s.Key, id, "a failed attempt", func(r *apiResp) bool { return r.Num("attempts") >= 1 })
		log := attempts(r)
		if r.Str("state") == "delivered" || log[0]["status_code"] != float64(307) || !strings.Contains(log[0]["error"].(string), "307") {
			t.Errorf("delivery answered 307: %s, want a failed attempt with status 307", r)
		}
		if n := elsewhere.Load(); n != 0 {
			t.Errorf("the redirect target got %d requests", n)
		}
	})
}

// TestDeliveryRefusesPrivateAfterFlagOff registers a loopback webhook with
// --allow-private-targets, restarts without it, and checks that deliveries
// are not made to the now-forbidden address.
func TestDeliveryRefusesPrivateAfterFlagOff(t *testing.T) {
	t.Parallel()
	data := t.TempDir()
	rcv := newReceiver(t, "")
	s := startServe(t, serveOpts{Data: data})
	rcv.SetSecret(s.Secret(s.Key))
	s.Register(s.Key, rcv)
	if code := s.Stop(); code != 0 {
		t.Fatalf("serve exited %d", code)
	}
	s2 := startServe(t, serveOpts{Data: data, NoPrivate: true})
	_, id := s2.Inbound(s2.Key, s2.Phone().ID, "254712345678", "to loopback")
	r := s2.WaitDelivery(s2.Key, id, "an attempt", func(r *apiResp) bool { return r.Num("attempts") >= 1 })
	if r.Str("state") == "delivered" || r.Str("last_error") == "" {
		t.Errorf("delivery to a loopback URL without the flag: %s", r)
	}
	if n := len(rcv.Posts()); n != 0 {
		t.Errorf("the loopback receiver got %d POSTs from a server without --allow-private-targets", n)
	}
}
