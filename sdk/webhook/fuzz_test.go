package webhook_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

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

// FuzzVerifyStandard feeds arbitrary Standard Webhooks headers and bodies
// to VerifyStandard. Whatever the input: no panic; an error is one of the
// sentinels; nil only when the signature header holds the v1 signature an
// independent HMAC gives; and adding that signature to well-formed, fresh
// headers makes them pass.
func FuzzVerifyStandard(f *testing.F) {
	f.Add("msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=", []byte(`{"test": 2432232314}`))
	f.Add("msg_1", "1614265330", "v1a,x v2,y v1,", []byte("{}"))
	f.Add("", "", "", []byte(nil))
	f.Add(" msg_1 ", " 1614265330 ", "  v1,,, v1 ,x ,v1", []byte("\x00"))
	f.Add("msg_1", "-1614265330", "v1,AAAA", []byte("{}"))
	f.Add("msg_1", "99999999999999999999", "v1,"+strings.Repeat("A", 43)+"=", []byte("{}"))
	now := time.Unix(1614265330, 0)
	key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(stdSecret, "whsec_"))
	f.Fuzz(func(t *testing.T, id, ts, sig string, body []byte) {
		h := http.Header{}
		h.Set(webhook.HeaderWebhookID, id)
		h.Set(webhook.HeaderWebhookTimestamp, ts)
		h.Set(webhook.HeaderWebhookSignature, sig)
		err := webhook.VerifyStandard([]string{stdSecret}, h, body, now, 0)
		known := false
		for _, e := range []error{webhook.ErrMissingStandardHeaders, webhook.ErrMalformedStandardHeader,
			webhook.ErrTimestampOutOfTolerance, webhook.ErrStandardSignatureMismatch} {
			known = known || errors.Is(err, e)
		}
		if err != nil && !known {
			t.Fatalf("unexpected error %v", err)
		}

		// The oracle: what a correct receiver accepts.
		id, ts = strings.TrimSpace(id), strings.TrimSpace(ts)
		unix, perr := strconv.ParseUint(ts, 10, 63)
		if id == "" || ts == "" || strings.TrimSpace(sig) == "" || perr != nil || strings.ContainsAny(ts, "+-") {
			if err == nil {
				t.Fatalf("accepted id %q, timestamp %q, signature %q", id, ts, sig)
			}
			return
		}
		fresh := now.Sub(time.Unix(int64(unix), 0)).Abs() <= webhook.DefaultTolerance
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%d.", id, unix)
		mac.Write(body)
		want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
		if (err == nil) != (fresh && slices.Contains(strings.Fields(sig), want)) {
			t.Fatalf("id %q, timestamp %q, signature %q: error %v, fresh %v, want signature %s", id, ts, sig, err, fresh, want)
		}
		if fresh {
			h.Set(webhook.HeaderWebhookSignature, sig+" "+want)
			if err := webhook.VerifyStandard([]string{stdSecret}, h, body, now, 0); err != nil {
				t.Fatalf("with the right signature added: %v", err)
			}
		}
	})
}
