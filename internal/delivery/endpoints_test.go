package delivery_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/delivery"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/sdk/webhook"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// posted is what an endpoint received in one POST.
type posted struct {
	header http.Header
	body   []byte
	at     time.Time
	events int
}

func recorder(t *testing.T, got chan<- posted) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n, err := whatsapp.Parse(body)
		count := 0
		if err == nil {
			for range n.Statuses() {
				count++
			}
		}
		got <- posted{header: r.Header.Clone(), body: body, at: time.Now(), events: count}
	}))
	t.Cleanup(srv.Close)
	return srv
}

// extra adds an endpoint to the account f.account made.
func (f *fixture) extra(t *testing.T, e bahasha.Endpoint) bahasha.Endpoint {
	t.Helper()
	e.VerifyToken, e.VerifiedAt = "t", time.Now()
	got, err := f.store.CreateEndpoint(context.Background(), store.CreateEndpointParams{Endpoint: e, Max: store.MaxEndpoints, Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return got
}

func TestCustomHeadersAndStandardSignatures(t *testing.T) {
	f := start(t, delivery.Config{Timeout: 5 * time.Second})
	got := make(chan posted, 10)
	srv := recorder(t, got)
	f.account(t, "a", "https://example.invalid/primary-unused")
	// The primary moves aside: only the new endpoint receives.
	if err := f.store.DeleteEndpoint(context.Background(), store.DeleteEndpointParams{AccountID: "a", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	old, err := webhook.NewSigningSecret(nil)
	if err != nil {
		t.Fatal(err)
	}
	ep := f.extra(t, bahasha.Endpoint{AccountID: "a", URL: srv.URL, Secret: old, Headers: map[string]string{"X-Api-Key": "gw-key", "Authorization": "Bearer abc"}})
	f.ingest(t, "a", "w1")
	p := <-got
	if p.header.Get("X-Api-Key") != "gw-key" || p.header.Get("Authorization") != "Bearer abc" {
		t.Fatalf("custom headers: %v", p.header)
	}
	if p.header.Get("Content-Type") != "application/json" {
		t.Fatalf("Content-Type %q", p.header.Get("Content-Type"))
	}
	if err := webhook.VerifySignature("secret-a", p.body, p.header.Get(webhook.SignatureHeader)); err != nil {
		t.Fatalf("X-Hub-Signature-256: %v", err)
	}
	if err := webhook.VerifyStandard([]string{old}, p.header, p.body, time.Now(), 0); err != nil {
		t.Fatalf("Standard Webhooks headers with the endpoint's secret: %v", err)
	}
	if id := p.header.Get(webhook.HeaderWebhookID); id != p.header.Get("X-Bahasha-Delivery-Id") {
		t.Fatalf("webhook-id %q, want the delivery's id %q", id, p.header.Get("X-Bahasha-Delivery-Id"))
	}
	other, _ := webhook.NewSigningSecret(nil)
	if err := webhook.VerifyStandard([]string{other}, p.header, p.body, time.Now(), 0); !errors.Is(err, webhook.ErrStandardSignatureMismatch) {
		t.Fatalf("with another secret: %v, want ErrStandardSignatureMismatch", err)
	}
	if err := webhook.VerifyStandard([]string{old}, p.header, p.body, time.Now().Add(6*time.Minute), 0); !errors.Is(err, webhook.ErrTimestampOutOfTolerance) {
		t.Fatalf("replayed 6 minutes later: %v, want ErrTimestampOutOfTolerance", err)
	}

	// A rotation: both secrets sign during the overlap.
	fresh, _ := webhook.NewSigningSecret(nil)
	if _, err := f.store.RotateEndpointSecret(context.Background(), store.RotateSecretParams{AccountID: "a", EndpointID: ep.ID, Secret: fresh,
		PreviousUntil: time.Now().Add(24 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	f.ingest(t, "a", "w2")
	p = <-got
	for _, s := range []string{old, fresh} {
		if err := webhook.VerifyStandard([]string{s}, p.header, p.body, time.Now(), 0); err != nil {
			t.Fatalf("during the rotation, with one of the secrets: %v (%s)", err, p.header.Get(webhook.HeaderWebhookSignature))
		}
	}
}

func TestRateLimitPausesTheLane(t *testing.T) {
	f := start(t, delivery.Config{Timeout: 5 * time.Second})
	got := make(chan posted, 100)
	srv := recorder(t, got)
	f.account(t, "a", "https://example.invalid/primary-unused")
	if err := f.store.DeleteEndpoint(context.Background(), store.DeleteEndpointParams{AccountID: "a", Now: time.Now()}); err != nil {
		t.Fatal(err)
	}
	f.extra(t, bahasha.Endpoint{AccountID: "a", URL: srv.URL, RateLimit: 4})
	began := time.Now()
	f.ingest(t, "a", "w1", "w2", "w3", "w4", "w5", "w6", "w7", "w8", "w9")
	// 9 events at 4/s: the first 4 at once, the next 4 a second later at
	// the earliest, the last after two seconds.
	var seen int
	var fifth, ninth time.Time
	for seen < 9 {
		p := <-got
		if seen < 5 && seen+p.events >= 5 {
			fifth = p.at
		}
		seen += p.events
		if seen >= 9 {
			ninth = p.at
		}
	}
	if d := fifth.Sub(began); d < time.Second {
		t.Fatalf("the 5th event arrived %v after ingest; at 4 events/s it is due after 1s", d)
	}
	if d := ninth.Sub(began); d < 2*time.Second {
		t.Fatalf("the 9th event arrived %v after ingest; at 4 events/s it is due after 2s", d)
	}
}
