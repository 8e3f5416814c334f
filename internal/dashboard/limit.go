package dashboard

import (
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// failureLimit slows down guessing: a client address with MaxFailures failed
// sign-ins within Window is refused until the oldest of them is Window old.
// It is per process, bounded in memory (the least recently failing
// addresses are forgotten first), and only counts failures, so a business
// signing in correctly is never held up.
type failureLimit struct {
	max    int
	window time.Duration
	limit  int // addresses remembered at most

	mu    sync.Mutex
	fails map[string][]time.Time
}

func newFailureLimit(max int, window time.Duration) *failureLimit {
	return &failureLimit{max: max, window: window, limit: 10000, fails: map[string][]time.Time{}}
}

// clientAddr is the address a request came from. When it came from a
// trusted proxy, the client is the last address of X-Forwarded-For that is
// not one (proxies append the address they got the request from, so the
// addresses left of it are the client's word and not believed); without
// trusted proxies the header is ignored and a proxy counts as one client,
// the safe side.
func clientAddr(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer, trusted) {
		return host
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := hopAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			break // not an address: what is left of it cannot be trusted
		}
		if !isTrusted(a, trusted) {
			return a.Unmap().String()
		}
		peer = a
	}
	return peer.Unmap().String()
}

// hopAddr reads an X-Forwarded-For entry: an address, or one with a port
// as some load balancers write it (1.2.3.4:5678, [2001:db8::1]:443).
func hopAddr(s string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(s); err == nil {
		return a, nil
	}
	ap, err := netip.ParseAddrPort(s)
	return ap.Addr(), err
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// blocked reports whether addr may not try now, and until when.
func (l *failureLimit) blocked(addr string, now time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fs := l.recent(addr, now)
	if len(fs) < l.max {
		return time.Time{}, false
	}
	return fs[0].Add(l.window), true
}

// failed records a failed attempt of addr.
func (l *failureLimit) failed(addr string, now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	fs := append(l.recent(addr, now), now)
	if len(fs) > l.max {
		fs = fs[len(fs)-l.max:]
	}
	if _, known := l.fails[addr]; !known && len(l.fails) >= l.limit {
		l.forgetOldest()
	}
	l.fails[addr] = fs
}

// recent drops addr's failures older than the window; l.mu is held.
func (l *failureLimit) recent(addr string, now time.Time) []time.Time {
	fs := l.fails[addr]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= l.window {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(l.fails, addr)
		return nil
	}
	l.fails[addr] = fs
	return fs
}

// forgetOldest drops the address whose latest failure is the oldest; l.mu
// is held.
func (l *failureLimit) forgetOldest() {
	var oldest string
	var at time.Time
	for addr, fs := range l.fails {
		if last := fs[len(fs)-1]; oldest == "" || last.Before(at) {
			oldest, at = addr, last
		}
	}
	delete(l.fails, oldest)
}
