package bench

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bahasha/bahasha/sdk/webhook"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// wamidPrefix starts the wamid of every bench event; the event's sequence
// number follows it.
const wamidPrefix = "wamid.bench."

// parseWAMID returns the sequence number a bench wamid encodes.
func parseWAMID(id string) (uint64, bool) {
	rest, ok := strings.CutPrefix(id, wamidPrefix)
	if !ok {
		return 0, false
	}
	seq, err := strconv.ParseUint(rest, 10, 64)
	return seq, err == nil
}

// sinks are the loopback webhook receivers, one server per webhook endpoint
// (Config.Fanout per account), as each business has its own host.
type sinks struct {
	mu      sync.Mutex
	servers []*http.Server
	stopped chan struct{} // closed by close: hanging and slow handlers return
	wg      sync.WaitGroup
	once    sync.Once

	// Under --hold, held is closed by release; until then every delivery
	// POST waits, unanswered, for at most holdMax (so that it is answered
	// before the platform's attempt timeout ends it). heldLong counts the
	// POSTs holdMax released.
	held        chan struct{}
	holdMax     time.Duration
	releaseOnce sync.Once
	heldLong    atomic.Int64
}

// newSinks returns sinks that answer at once, or with holdMax > 0 hold
// every delivery POST until release (or holdMax).
func newSinks(holdMax time.Duration) *sinks {
	s := &sinks{stopped: make(chan struct{})}
	if holdMax > 0 {
		s.held, s.holdMax = make(chan struct{}), holdMax
	}
	return s
}

// release ends the hold: held POSTs are answered, later ones at once. It is
// safe to call more than once, and without a hold.
func (s *sinks) release() {
	if s.held != nil {
		s.releaseOnce.Do(func() { close(s.held) })
	}
}

// hold blocks a delivery POST while the hold lasts, and reports whether it
// should still be answered (false when the platform gave up on it or the
// sinks are closing).
func (s *sinks) hold(r *http.Request) bool {
	if s.held == nil {
		return true
	}
	select {
	case <-s.held:
		return true
	default:
	}
	timer := time.NewTimer(s.holdMax)
	defer timer.Stop()
	select {
	case <-s.held:
	case <-timer.C:
		s.heldLong.Add(1)
	case <-r.Context().Done():
		return false
	case <-s.stopped:
		return false
	}
	return r.Context().Err() == nil
}

// start starts the sink of endpoint ep's webhook endpoint k (0 is the
// primary one; there are Config.Fanout of them) and returns its webhook URL.
// The sink verifies the handshake with token and every delivery's signature
// with secret, through the public SDK, and records the events it receives
// as copy k's.
func (s *sinks) start(ep, k int, cls class, token, secret string, t *tracker) (string, error) {
	h := &webhook.Handler{VerifyToken: token, AppSecret: secret, Mode: webhook.AckFirst,
		OnStatus: func(_ context.Context, e whatsapp.StatusEvent) error {
			seq, ok := parseWAMID(e.Status.ID)
			if !ok {
				t.unexpected.Add(1)
				return nil
			}
			t.receivedBy(ep, k, seq)
			return nil
		},
		OnMessage: func(context.Context, whatsapp.MessageEvent) error {
			t.unexpected.Add(1)
			return nil
		},
		OnError: func(error) {},
	}
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			h.ServeHTTP(w, r) // the handshake is answered at once by every class
			return
		}
		t.posts.Add(1)
		if !s.hold(r) {
			return
		}
		switch cls {
		case healthy:
			t.postsHealthy.Add(1)
		case slow:
			timer := time.NewTimer(SlowDelay)
			defer timer.Stop()
			select {
			case <-timer.C:
			case <-r.Context().Done():
				return
			case <-s.stopped:
				return
			}
		case hanging:
			select {
			case <-r.Context().Done():
			case <-s.stopped:
			}
			return
		case failing:
			http.Error(w, "bench: this endpoint always fails", http.StatusInternalServerError)
			return
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(sw, r)
		if sw.status >= 300 {
			t.rejected.Add(1)
		}
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Lock()
	s.servers = append(s.servers, srv)
	s.mu.Unlock()
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.unexpected.Add(1)
		}
	}()
	return "http://" + ln.Addr().String() + "/webhook", nil
}

// close stops every sink: blocked handlers return, connections close. It
// is safe to call more than once.
func (s *sinks) close() {
	s.once.Do(func() {
		close(s.stopped)
		s.mu.Lock()
		defer s.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for _, srv := range s.servers {
			if srv.Shutdown(ctx) != nil {
				srv.Close()
			}
		}
		s.wg.Wait()
	})
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	w.status = code
	w.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController reach the connection (the SDK flushes
// its acknowledgement before running callbacks).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
