package dashboard

import (
	"sync"
	"time"

	"github.com/bahasha/bahasha/internal/remoteaddr"
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

// clientAddr is the address a request came from (remoteaddr.Client).
var clientAddr = remoteaddr.Client

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
