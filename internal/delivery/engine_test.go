package delivery_test

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/delivery"
	"github.com/bahasha/bahasha/internal/retry"
	"github.com/bahasha/bahasha/internal/safehttp"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlite"
	"github.com/bahasha/bahasha/sdk/webhook"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type fixture struct {
	store  *sqlite.Store
	engine *delivery.Engine
	cancel context.CancelFunc
	done   chan error
	rec    *recordings
}

// recordings is the real store as the engine uses it, telling the tests
// each time the engine records a lane turn (CompleteLane), so that they
// wait on that instead of polling.
type recordings struct {
	store.Store
	mu      sync.Mutex
	changed chan struct{} // closed and replaced after each CompleteLane
}

func (r *recordings) CompleteLane(ctx context.Context, p store.CompleteParams) error {
	err := r.Store.CompleteLane(ctx, p)
	r.mu.Lock()
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
	return err
}

// waitRecorded waits until cond, checked after each lane turn the engine
// records, holds; it fails the test after 20s with cond's last word.
func (f *fixture) waitRecorded(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	timeout := time.After(20 * time.Second)
	for {
		f.rec.mu.Lock()
		ch := f.rec.changed
		f.rec.mu.Unlock()
		ok, last := cond()
		if ok {
			return
		}
		select {
		case <-ch:
		case <-timeout:
			t.Fatalf("timed out waiting for %s; last: %s", what, last)
		}
	}
}

func start(t *testing.T, cfg delivery.Config) *fixture {
	t.Helper()
	s, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "b.db")})
	if err != nil {
		t.Fatal(err)
	}
	client, err := safehttp.New(safehttp.Config{AllowPrivate: true, Timeout: cfg.Timeout})
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Retry.Steps == nil {
		cfg.Retry = retry.DefaultPolicy()
		cfg.Retry.Steps, cfg.Retry.MinDelay, cfg.Retry.MaxDelay = []time.Duration{20 * time.Millisecond}, 10*time.Millisecond, 20*time.Millisecond
	}
	cfg.PollInterval = 50 * time.Millisecond
	rec := &recordings{Store: s, changed: make(chan struct{})}
	e := delivery.New(cfg, rec, client, time.Now, rand.New(rand.NewPCG(1, 2)), nil)
	ctx, cancel := context.WithCancel(context.Background())
	f := &fixture{store: s, engine: e, cancel: cancel, done: make(chan error, 1), rec: rec}
	go func() { f.done <- e.Run(ctx) }()
	t.Cleanup(func() {
		f.stop()
		s.Close()
	})
	return f
}

func (f *fixture) stop() {
	if f.cancel != nil {
		f.cancel()
		<-f.done
		f.cancel = nil
	}
}

// account registers an account whose endpoint is url and ingests one status
// event per wamid.
func (f *fixture) account(t *testing.T, id, url string, wamids ...string) {
	// receiver() endpoints sign with "secret-<account>"; pass that id.
	t.Helper()
	ctx := context.Background()
	err := f.store.CreateAccount(ctx, store.CreateAccountParams{
		Account:      bahasha.Account{ID: id, Name: id, AppSecret: "secret-" + id, CreatedAt: time.Now()},
		APIKeyHash:   []byte("key-" + id),
		PhoneNumbers: []bahasha.PhoneNumber{{ID: "pn-" + id, AccountID: id, WABAID: "waba-" + id, DisplayPhoneNumber: "+1", CreatedAt: time.Now()}},
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.PutEndpoint(ctx, store.PutEndpointParams{AccountID: id, URL: url, VerifyToken: "t", VerifiedAt: time.Now(), Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	f.ingest(t, id, wamids...)
}

func (f *fixture) ingest(t *testing.T, id string, wamids ...string) {
	t.Helper()
	var evs []bahasha.Event
	for _, w := range wamids {
		ev := statusEvent("waba-"+id, "pn-"+id, w, "sent")
		ev.AccountID, ev.ProducerID = id, w
		evs = append(evs, ev)
	}
	if _, err := f.store.InsertEvents(context.Background(), store.InsertEventsParams{AccountID: id, Events: evs, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	f.engine.Wake()
}

// receiver is a customer endpoint built with the SDK; it reports each
// status id it accepts.
func receiver(t *testing.T, secret string, got chan<- string, fail func(id string) int) *httptest.Server {
	h := &webhook.Handler{AppSecret: secret, Mode: webhook.AckAfter, OnStatus: func(_ context.Context, e whatsapp.StatusEvent) error {
		got <- e.Status.ID
		return nil
	}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if fail != nil {
			body, _ := io.ReadAll(r.Body)
			n, _ := whatsapp.Parse(body)
			for e := range n.Statuses() {
				if code := fail(e.Status.ID); code != 0 {
					w.WriteHeader(code)
					return
				}
			}
			r.Body = io.NopCloser(bytesReader(body))
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func wait(t *testing.T, got <-chan string, n int) []string {
	t.Helper()
	var ids []string
	timeout := time.After(20 * time.Second)
	for len(ids) < n {
		select {
		case id := <-got:
			ids = append(ids, id)
		case <-timeout:
			t.Fatalf("received %v, want %d deliveries", ids, n)
		}
	}
	return ids
}

func TestDeliversSignedInIngestOrder(t *testing.T) {
	f := start(t, delivery.Config{Timeout: 5 * time.Second})
	got := make(chan string, 100)
	srv := receiver(t, "secret-a", got, nil)
	f.account(t, "a", srv.URL, "w1", "w2", "w3", "w4", "w5")
	ids := wait(t, got, 5)
	if want := "[w1 w2 w3 w4 w5]"; fmtList(ids) != want {
		t.Fatalf("order %v, want %s", ids, want)
	}
	// The completion is recorded just after the receiver answers.
	f.waitRecorded(t, "five deliveries recorded delivered", func() (bool, string) {
		ds, err := f.store.Deliveries(context.Background(), store.ListDeliveriesParams{AccountID: "a", State: bahasha.DeliveryDelivered})
		return len(ds) == 5, fmt.Sprint(len(ds), err)
	})
}

func TestRetriesUntilDelivered(t *testing.T) {
	f := start(t, delivery.Config{Timeout: 5 * time.Second})
	got := make(chan string, 100)
	var mu sync.Mutex
	failures := 0
	srv := receiver(t, "secret-a", got, func(string) int {
		mu.Lock()
		defer mu.Unlock()
		if failures < 2 {
			failures++
			return http.StatusInternalServerError
		}
		return 0
	})
	f.account(t, "a", srv.URL, "w1")
	wait(t, got, 1)
	f.stop()
	ds, _ := f.store.Deliveries(context.Background(), store.ListDeliveriesParams{AccountID: "a"})
	d, attempts, _ := f.store.Delivery(context.Background(), store.GetDeliveryParams{AccountID: "a", DeliveryID: ds[0].ID})
	if d.State != bahasha.DeliveryDelivered || len(attempts) != 3 || attempts[0].StatusCode != 500 || attempts[2].StatusCode != 200 {
		t.Fatalf("delivery %+v attempts %+v", d, attempts)
	}
	// The account's statistics count the three attempts and the delivery.
	stats, err := f.store.Stats(context.Background(), store.StatsParams{AccountID: "a", Since: time.Now().Add(-time.Hour), Until: time.Now().Add(time.Minute)})
	if err != nil {
		t.Fatal(err)
	}
	var sum bahasha.DeliveryStats
	for _, m := range stats {
		sum.Add(m)
	}
	if sum.AttemptsFailed != 2 || sum.AttemptsOK != 1 || sum.Delivered != 1 || sum.Failed != 0 || sum.LatencyQuantile(0.5) == 0 {
		t.Fatalf("stats %+v", sum)
	}
}

// A hanging endpoint never delays a healthy one.
func TestSlowEndpointDoesNotDelayOthers(t *testing.T) {
	f := start(t, delivery.Config{Timeout: 10 * time.Second, ShutdownGrace: 50 * time.Millisecond})
	release := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(func() { close(release); hanging.Close() })
	got := make(chan string, 100)
	healthy := receiver(t, "secret-b", got, nil)
	f.account(t, "slow", hanging.URL, "s1", "s2")
	f.account(t, "b", healthy.URL, "b1", "b2", "b3")
	if ids := wait(t, got, 3); fmtList(ids) != "[b1 b2 b3]" {
		t.Fatalf("healthy endpoint got %v", ids)
	}
}

func fmtList(ids []string) string {
	out := "["
	for i, id := range ids {
		if i > 0 {
			out += " "
		}
		out += id
	}
	return out + "]"
}

// TestBreakerIsolationAndRecovery: a failing and a hanging endpoint beside
// a healthy one. The healthy one gets everything while the others fail; the
// failing one's breaker opens (one request at a time); once it recovers its
// backlog arrives and no message's status ever goes backwards.
func TestBreakerIsolationAndRecovery(t *testing.T) {
	stopHanging := make(chan struct{})
	hanging := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-stopHanging:
		}
	}))
	t.Cleanup(hanging.Close)
	t.Cleanup(func() { close(stopHanging) })

	var mu sync.Mutex
	healthy, open := false, false
	inFlight, maxInFlightWhileOpen := 0, 0
	probed := make(chan struct{}, 1000)
	var received []whatsapp.Status
	recovered := make(chan struct{}, 1000)
	h := &webhook.Handler{AppSecret: "secret-failing", Mode: webhook.AckAfter, OnStatus: func(_ context.Context, e whatsapp.StatusEvent) error {
		mu.Lock()
		received = append(received, *e.Status)
		mu.Unlock()
		recovered <- struct{}{}
		return nil
	}}
	failing := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		inFlight++
		ok := healthy
		if open {
			maxInFlightWhileOpen = max(maxInFlightWhileOpen, inFlight)
			probed <- struct{}{}
		}
		mu.Unlock()
		defer func() { mu.Lock(); inFlight--; mu.Unlock() }()
		if !ok {
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(failing.Close)

	got := make(chan string, 1000)
	good := receiver(t, "secret-good", got, nil)

	// Started after the servers, so that it stops before they close.
	f := start(t, delivery.Config{Timeout: 300 * time.Millisecond, ShutdownGrace: 50 * time.Millisecond, BreakerThreshold: 3, MaxBatch: 2, MaxInFlight: 4})
	f.account(t, "hang", hanging.URL)
	f.account(t, "failing", failing.URL)
	f.account(t, "good", good.URL)
	var lifecycle []string
	for i := range 10 {
		lifecycle = append(lifecycle, fmt.Sprintf("m%d", i))
	}
	for _, status := range []string{"sent", "delivered", "read"} {
		for _, acc := range []string{"hang", "failing", "good"} {
			ingestStatuses(t, f, acc, status, lifecycle)
		}
	}
	// The healthy endpoint gets all 30 while the others fail.
	wait(t, got, 30)

	// The failing endpoint's breaker opens.
	ctx := context.Background()
	f.waitRecorded(t, "the failing endpoint's breaker to open", func() (bool, string) {
		e, err := f.store.Endpoint(ctx, "failing")
		return e.Probing(), fmt.Sprint(e, err)
	})
	// While open, one request at a time reaches it: three probes.
	mu.Lock()
	open = true
	mu.Unlock()
	timeout := time.After(20 * time.Second)
	for range 3 {
		select {
		case <-probed:
		case <-timeout:
			t.Fatal("the open breaker let no probe through")
		}
	}
	mu.Lock()
	if maxInFlightWhileOpen > 1 {
		mu.Unlock()
		t.Fatalf("%d requests in flight to an endpoint whose breaker is open", maxInFlightWhileOpen)
	}
	mu.Unlock()
	mu.Lock()
	healthy = true
	mu.Unlock()

	// Every message ends read at the receiver, and no status regresses.
	deadline := time.After(20 * time.Second)
	for {
		mu.Lock()
		final := map[string]int{}
		for _, s := range received {
			if r := bahasha.StatusRank(string(s.Status)); r < final[s.ID] {
				mu.Unlock()
				t.Fatalf("message %s went back to %s after a later status", s.ID, s.Status)
			} else {
				final[s.ID] = r
			}
		}
		done := len(final) == 10
		for _, r := range final {
			done = done && r == 3
		}
		mu.Unlock()
		if done {
			break
		}
		select {
		case <-recovered:
		case <-deadline:
			t.Fatalf("after recovery: %v", final)
		}
	}
	// The breaker closes, and nothing is left pending for the failing
	// endpoint: each delivery is delivered or superseded.
	f.waitRecorded(t, "the breaker closed and nothing pending", func() (bool, string) {
		e, err := f.store.Endpoint(ctx, "failing")
		ds, _ := f.store.Deliveries(ctx, store.ListDeliveriesParams{AccountID: "failing", State: bahasha.DeliveryPending})
		return err == nil && !e.Probing() && e.ConsecutiveFailures == 0 && len(ds) == 0, fmt.Sprintf("%+v, %d pending", e, len(ds))
	})
}

func ingestStatuses(t *testing.T, f *fixture, acc, status string, wamids []string) {
	t.Helper()
	var evs []bahasha.Event
	for _, w := range wamids {
		ev := statusEvent("waba-"+acc, "pn-"+acc, w, status)
		ev.AccountID, ev.ProducerID = acc, w+":"+status
		evs = append(evs, ev)
	}
	if _, err := f.store.InsertEvents(context.Background(), store.InsertEventsParams{AccountID: acc, Events: evs, Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	f.engine.Wake()
}

// TestInFlightLimit: with batching off, an endpoint has at most MaxInFlight
// POSTs open at once, and reaches that many. The receiver holds every
// request until the engine's attempt timeout ends it: a POST past the limit
// would go out, and be seen in flight, long before that.
func TestInFlightLimit(t *testing.T) {
	const limit = 3
	f := start(t, delivery.Config{Timeout: 300 * time.Millisecond, MaxBatch: 1, MaxInFlight: limit})
	var mu sync.Mutex
	cur, most := 0, 0
	left := make(chan struct{}, 1000)
	closing := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		cur++
		most = max(most, cur)
		mu.Unlock()
		// The server notices the client going away only once the body
		// was read.
		io.Copy(io.Discard, r.Body)
		select {
		case <-r.Context().Done(): // the engine gave up on it
		case <-closing:
		}
		mu.Lock()
		cur--
		mu.Unlock()
		left <- struct{}{}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(closing) }) // runs first
	var wamids []string
	for i := range 10 {
		wamids = append(wamids, fmt.Sprintf("w%02d", i))
	}
	f.account(t, "a", srv.URL, wamids...)
	timeout := time.After(20 * time.Second)
	for range limit {
		select {
		case <-left:
		case <-timeout:
			t.Fatal("the engine did not give up on its first POSTs")
		}
	}
	f.stop()
	mu.Lock()
	defer mu.Unlock()
	if most != limit {
		t.Fatalf("at most %d POSTs were in flight at once, want exactly %d", most, limit)
	}
}

// The header names are set in canonical form (the header map is built
// directly, without Header.Set).
func TestHeaderNamesAreCanonical(t *testing.T) {
	for _, name := range []string{delivery.HeaderDeliveryID, delivery.HeaderAttempt, delivery.HeaderIdempotencyKey, webhook.SignatureHeader} {
		if http.CanonicalHeaderKey(name) != name {
			t.Errorf("%q is not canonical (%q)", name, http.CanonicalHeaderKey(name))
		}
	}
}
