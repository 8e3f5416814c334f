package webhook_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bahasha/bahasha/sdk/webhook"
	"github.com/bahasha/bahasha/sdk/webhook/webhooktest"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

// FuzzHandlerPOST feeds arbitrary bodies, with a valid, a wrong and no
// signature, through the full POST path. Whatever the input: no panic, no
// 5xx, and a callback runs only for a correctly signed notification.
func FuzzHandlerPOST(f *testing.F) {
	for _, n := range []*whatsapp.Notification{
		webhooktest.Status("wamid.1", whatsapp.StatusFailed),
		webhooktest.Text("254712345678", "hi"),
		webhooktest.Messages(webhooktest.SampleMessage(whatsapp.MessageOrder), webhooktest.SampleMessage(whatsapp.MessageContacts)),
	} {
		r := webhooktest.NewRequest("/", n, "")
		body := make([]byte, r.ContentLength)
		r.Body.Read(body)
		f.Add(body, uint8(0))
	}
	for _, s := range []string{"", "{", "[]", "null", `{"entry":{}}`, `{"entry":[{"changes":[{"value":{"statuses":1}}]}]}`,
		`{"entry":[{"changes":[{"field":"messages","value":{"messages":[{"type":"order","order":{"product_items":[{"item_price":{}}]}}]}}]}]}`,
		`{"a":1} trailing`, "\xff\xfe"} {
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(2))
	}
	f.Fuzz(func(t *testing.T, body []byte, sigMode uint8) {
		ran := false
		cb := func(context.Context, whatsapp.MessageEvent) error { ran = true; return nil }
		h := &webhook.Handler{
			AppSecret: secret,
			OnStatus:  func(context.Context, whatsapp.StatusEvent) error { ran = true; return nil },
			OnMessage: cb, OnText: cb, OnOrder: cb, OnUnsupported: cb,
			OnError: func(error) {},
		}
		r := httptest.NewRequest(http.MethodPost, "/webhook", strings.NewReader(string(body)))
		switch sigMode % 3 {
		case 0:
			r.Header.Set(webhook.SignatureHeader, webhook.Sign(secret, body))
		case 1:
			r.Header.Set(webhook.SignatureHeader, webhook.Sign("wrong", body))
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if rec.Code >= 500 {
			t.Fatalf("5xx for body %q: %d %s", body, rec.Code, rec.Body)
		}
		switch rec.Code {
		case 200, 400, 401, 413:
		default:
			t.Fatalf("unexpected status %d", rec.Code)
		}
		if sigMode%3 != 0 && (rec.Code != 401 || ran) {
			t.Fatalf("unsigned or wrongly signed body: %d, callbacks ran: %v", rec.Code, ran)
		}
		if ran && rec.Code != 200 {
			t.Fatalf("callbacks ran for a rejected request (%d)", rec.Code)
		}
	})
}
