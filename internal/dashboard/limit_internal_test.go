package dashboard

import (
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

// The limiter remembers a bounded number of addresses, forgetting the
// least recently failing first, and forgets failures older than its window.
func TestFailureLimitIsBounded(t *testing.T) {
	t0 := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	l := newFailureLimit(2, time.Minute)
	l.limit = 3
	for i := range 5 {
		l.failed("10.0.0."+strconv.Itoa(i), t0.Add(time.Duration(i)*time.Second))
	}
	if len(l.fails) != 3 {
		t.Fatalf("remembers %d addresses, want 3", len(l.fails))
	}
	if _, ok := l.fails["10.0.0.0"]; ok {
		t.Fatal("the oldest address was kept")
	}
	l.failed("10.0.0.4", t0.Add(5*time.Second))
	if until, blocked := l.blocked("10.0.0.4", t0.Add(6*time.Second)); !blocked || !until.Equal(t0.Add(4*time.Second+time.Minute)) {
		t.Fatalf("blocked = %v until %v", blocked, until)
	}
	if _, blocked := l.blocked("10.0.0.4", t0.Add(65*time.Second)); blocked {
		t.Fatal("still blocked after the window")
	}
	if _, blocked := l.blocked("10.0.0.3", t0.Add(10*time.Minute)); blocked || len(l.fails) > 2 {
		t.Fatalf("old failures kept: %v", l.fails)
	}
}

// TestClientAddr: X-Forwarded-For is believed only from a trusted proxy,
// and only as far as the proxies it names are trusted too.
func TestClientAddr(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.0.2.7/32")}
	for _, c := range []struct {
		name, remote string
		xff          []string
		trusted      []netip.Prefix
		want         string
	}{
		{"no proxies trusted: the peer, whatever the header", "10.1.1.1:5000", []string{"203.0.113.9"}, nil, "10.1.1.1"},
		{"an untrusted peer's header is ignored", "198.51.100.4:5000", []string{"203.0.113.9"}, trusted, "198.51.100.4"},
		{"behind one trusted proxy", "10.1.1.1:5000", []string{"203.0.113.9"}, trusted, "203.0.113.9"},
		{"a spoofed address left of the client's is not believed", "10.1.1.1:5000", []string{"1.2.3.4, 203.0.113.9"}, trusted, "203.0.113.9"},
		{"two trusted proxies", "10.1.1.1:5000", []string{"203.0.113.9", "192.0.2.7"}, trusted, "203.0.113.9"},
		{"every hop a trusted proxy: the first of them", "10.1.1.1:5000", []string{"10.2.2.2, 10.3.3.3"}, trusted, "10.2.2.2"},
		{"garbage in the header: the last address before it", "10.1.1.1:5000", []string{"203.0.113.9, nonsense"}, trusted, "10.1.1.1"},
		{"no header from a trusted proxy: the proxy", "10.1.1.1:5000", nil, trusted, "10.1.1.1"},
		{"IPv4-mapped IPv6 peer", "[::ffff:10.1.1.1]:5000", []string{"2001:db8::5"}, trusted, "2001:db8::5"},
		{"entries with ports", "10.1.1.1:5000", []string{"203.0.113.9:61000, 192.0.2.7:443"}, trusted, "203.0.113.9"},
		{"an IPv6 entry with a port", "10.1.1.1:5000", []string{"[2001:db8::9]:443"}, trusted, "2001:db8::9"},
	} {
		r := httptest.NewRequest("POST", "/signin", nil)
		r.RemoteAddr = c.remote
		for _, v := range c.xff {
			r.Header.Add("X-Forwarded-For", v)
		}
		if got := clientAddr(r, c.trusted); got != c.want {
			t.Errorf("%s: clientAddr = %q, want %q", c.name, got, c.want)
		}
	}
}
