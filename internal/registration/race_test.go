package registration_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/handshake"
	"github.com/bahasha/bahasha/internal/registration"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlite"
)

type nopWaker struct{}

func (nopWaker) Wake() {}

// meanwhile is a customer endpoint that answers the handshake, first
// running whatever the test set to happen during it (the engine disabling
// the endpoint, another edit).
type meanwhile struct {
	mu sync.Mutex
	fn func()
}

func (m *meanwhile) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.mu.Lock()
	fn := m.fn
	m.fn = nil
	m.mu.Unlock()
	if fn != nil {
		fn()
	}
	w.Write([]byte(r.URL.Query().Get("hub.challenge")))
}

func (m *meanwhile) during(fn func()) {
	m.mu.Lock()
	m.fn = fn
	m.mu.Unlock()
}

// TestChangesDuringTheHandshake: an edit, a re-verification or a second
// registration takes seconds of handshake; a disabling the engine makes
// meanwhile is never undone without a word, and registering the webhook
// again enables it with endpoint.enabled.
func TestChangesDuringTheHandshake(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "b.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	t0 := time.Now()
	if err := st.CreateAccount(ctx, store.CreateAccountParams{Account: bahasha.Account{ID: "acc", Name: "A", AppSecret: "s", CreatedAt: t0},
		APIKeyHash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	hook := &meanwhile{}
	srv := httptest.NewServer(hook)
	t.Cleanup(srv.Close)
	svc := &registration.Service{Store: st, Verifier: &handshake.Verifier{AllowPrivate: true}, Waker: nopWaker{}, Now: time.Now}
	e, res, err := svc.Register(ctx, registration.Params{AccountID: "acc", URL: srv.URL + "/a", VerifyToken: "tok"})
	if err != nil || !res.OK {
		t.Fatalf("Register: %+v, %v", res, err)
	}
	ops, res, err := svc.Create(ctx, "acc", registration.Config{URL: srv.URL + "/ops", VerifyToken: "tok", Events: []string{bahasha.FilterOperational}})
	if err != nil || !res.OK {
		t.Fatalf("Create: %+v, %v", res, err)
	}
	disable := func() {
		cur, err := st.EndpointByID(ctx, store.GetEndpointParams{AccountID: "acc", EndpointID: e.ID})
		if err != nil {
			t.Error(err)
			return
		}
		cur.Disabled, cur.DisabledReason = true, "it answered 410 Gone"
		if _, err := st.UpdateEndpoint(ctx, store.UpdateEndpointParams{Endpoint: cur, Now: time.Now()}); err != nil {
			t.Error(err)
		}
	}

	// An edit of the URL, prepared while it was enabled.
	c := registration.ConfigOf(e)
	c.URL, c.Description = srv.URL+"/b", "edited"
	hook.during(disable)
	got, res, err := svc.Update(ctx, "acc", e.ID, c)
	if err != nil || !res.OK {
		t.Fatalf("Update: %+v, %v", res, err)
	}
	if !got.Disabled || got.DisabledReason != "it answered 410 Gone" || got.Description != "edited" || got.URL != srv.URL+"/b" {
		t.Fatalf("the edit undid the disabling made during its handshake: %+v", got)
	}

	// A re-verification changes only the verification time.
	c = registration.ConfigOf(got)
	c.Disabled = false
	if got, _, err = svc.Update(ctx, "acc", e.ID, c); err != nil || got.Disabled {
		t.Fatalf("enabling: %+v, %v", got, err)
	}
	hook.during(func() {
		disable()
		cur, _ := st.EndpointByID(ctx, store.GetEndpointParams{AccountID: "acc", EndpointID: e.ID})
		cur.Description = "renamed meanwhile"
		cur.Disabled = true
		if _, err := st.UpdateEndpoint(ctx, store.UpdateEndpointParams{Endpoint: cur, Now: time.Now()}); err != nil {
			t.Error(err)
		}
	})
	got, res, err = svc.Reverify(ctx, "acc", e.ID)
	if err != nil || !res.OK {
		t.Fatalf("Reverify: %+v, %v", res, err)
	}
	if !got.Disabled || got.Description != "renamed meanwhile" {
		t.Fatalf("the re-verification wrote back the copy read before its handshake: %+v", got)
	}

	// PUT /v1/webhook again enables it, says so, and clears the reason.
	got, res, err = svc.Register(ctx, registration.Params{AccountID: "acc", URL: srv.URL + "/c", VerifyToken: "tok"})
	if err != nil || !res.OK {
		t.Fatalf("Register again: %+v, %v", res, err)
	}
	if got.Disabled || got.DisabledReason != "" || got.ID != e.ID {
		t.Fatalf("registered again: %+v", got)
	}
	ds, err := st.Deliveries(ctx, store.ListDeliveriesParams{AccountID: "acc", Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, d := range ds {
		if d.EndpointID == ops.ID {
			types = append([]string{d.Event.MessageType}, types...)
		}
	}
	want := []string{bahasha.NoticeEndpointEnabled, bahasha.NoticeEndpointEnabled}
	if len(types) != len(want) || types[0] != want[0] || types[1] != want[1] {
		t.Fatalf("operational events, oldest first: %v; want %v (one per enabling, none for the engine's test disablings)", types, want)
	}
}
