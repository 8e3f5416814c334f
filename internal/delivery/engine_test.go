package delivery_test

import (
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/delivery"
	"github.com/bahasha/bahasha/internal/leakcheck"
	"github.com/bahasha/bahasha/internal/retry"
	"github.com/bahasha/bahasha/internal/safehttp"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlite"
	"github.com/bahasha/bahasha/webhook"
	"github.com/bahasha/bahasha/whatsapp"
)

func TestMain(m *testing.M) { leakcheck.Main(m) }

type fixture struct {
	store  *sqlite.Store
	engine *delivery.Engine
	cancel context.CancelFunc
	done   chan error
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
	e := delivery.New(cfg, s, client, time.Now, rand.New(rand.NewPCG(1, 2)), nil)
	ctx, cancel := context.WithCancel(context.Background())
	f := &fixture{store: s, engine: e, cancel: cancel, done: make(chan error, 1)}
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
	ds, _ := f.store.Deliveries(context.Background(), store.ListDeliveriesParams{AccountID: "a", State: bahasha.DeliveryDelivered})
	for len(ds) < 5 { // the completion is recorded just after the receiver answers
		time.Sleep(5 * time.Millisecond)
		ds, _ = f.store.Deliveries(context.Background(), store.ListDeliveriesParams{AccountID: "a", State: bahasha.DeliveryDelivered})
	}
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
	d, attempts, _ := f.store.Delivery(context.Background(), "a", ds[0].ID)
	if d.State != bahasha.DeliveryDelivered || len(attempts) != 3 || attempts[0].StatusCode != 500 || attempts[2].StatusCode != 200 {
		t.Fatalf("delivery %+v attempts %+v", d, attempts)
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
