package webhook_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/bahasha/bahasha/sdk/webhook"
	"github.com/bahasha/bahasha/sdk/webhook/webhooktest"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// statusBody is a realistic notification with n delivery reports, each with
// conversation and pricing, as Bahasha batches them.
func statusBody(n int) []byte {
	v := whatsapp.Value{}
	for i := range n {
		s := webhooktest.Status(fmt.Sprintf("wamid.HBgNMjU0NzEyMzQ1Njc4FQIAERgSNDQ1%06d", i), whatsapp.StatusDelivered)
		v.Statuses = append(v.Statuses, s.Entry[0].Changes[0].Value.Statuses[0])
	}
	body, err := json.Marshal(webhooktest.Notification(v))
	if err != nil {
		panic(err)
	}
	return body
}

// discard is a ResponseWriter that keeps nothing, so that the benchmark
// measures the handler rather than a recorder.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkHandlerPOST measures the full POST path: read the body, verify
// the signature (X-Hub-Signature-256 alone, or with the Standard Webhooks
// headers too), parse, and dispatch every status to a callback.
func BenchmarkHandlerPOST(b *testing.B) {
	for _, n := range []int{1, 100} {
		for _, standard := range []bool{false, true} {
			name := fmt.Sprintf("statuses=%d", n)
			if standard {
				name += "/standard"
			}
			b.Run(name, func(b *testing.B) { benchmarkHandlerPOST(b, n, standard) })
		}
	}
}

func benchmarkHandlerPOST(b *testing.B, n int, standard bool) {
	body := statusBody(n)
	sig := webhook.Sign(secret, body)
	seen := 0
	h := &webhook.Handler{AppSecret: secret, OnStatus: func(context.Context, whatsapp.StatusEvent) error {
		seen++
		return nil
	}}
	r := httptest.NewRequest(http.MethodPost, "/webhook", nil)
	r.Header.Set(webhook.SignatureHeader, sig)
	if standard {
		now := time.Now()
		h.SigningSecret, h.Now = stdSecret, func() time.Time { return now }
		if err := webhook.SetStandardHeaders(r.Header, []string{stdSecret}, "msg_2KWPBgLlAfxdpx2AI54pPJ85f4W", now, body); err != nil {
			b.Fatal(err)
		}
	}
	r.ContentLength = int64(len(body))
	w := &discard{h: http.Header{}}
	rd := bytes.NewReader(body)
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		rd.Reset(body)
		r.Body = io.NopCloser(rd)
		clear(w.h)
		h.ServeHTTP(w, r)
	}
	if seen != b.N*n {
		b.Fatalf("dispatched %d statuses, want %d", seen, b.N*n)
	}
}
