package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"
	"unicode/utf8"

	"go.uber.org/goleak"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/server"
	"github.com/bahasha/bahasha/internal/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

type nopWaker struct{}

func (nopWaker) Wake() {}

// FuzzRequestBodies sends arbitrary bodies to every route that reads one.
// Whatever the input: never a 5xx, never a panic, and every error is the
// documented JSON shape.
func FuzzRequestBodies(f *testing.F) {
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(f.TempDir(), "fuzz.db")})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	c, err := accounts.Create(context.Background(), st, accounts.Params{Name: "Fuzz", Now: time.Now()})
	if err != nil {
		f.Fatal(err)
	}
	// The handshake is never reached with a routable URL: AllowPrivate is
	// off, so any URL the fuzzer invents is refused before dialling or
	// fails to resolve.
	p, err := server.Build(st, server.Options{Waker: nopWaker{}})
	if err != nil {
		f.Fatal(err)
	}
	mux := p.API
	pn := c.PhoneNumber.ID
	routes := []struct{ method, path string }{
		{"POST", "/v1/events"},
		{"POST", "/v1/" + pn + "/messages"},
		{"POST", "/v1/" + pn + "/sandbox/inbound"},
		{"PUT", "/v1/webhook"},
		{"POST", "/v1/" + c.PhoneNumber.WABAID + "/subscribed_apps"},
		{"POST", "/v1/" + pn},
		{"POST", "/v1/api_keys"},
	}
	for _, seed := range []string{
		`{"events":[{"id":"a","phone_number_id":"` + pn + `","status":{"id":"w","status":"sent","recipient_id":"1"}}]}`,
		`{"events":[{"id":"b","phone_number_id":"` + pn + `","message":{"id":"m","from":"1","type":"text","text":{"body":"x"}},"contact":{"wa_id":"1"}}]}`,
		`{"messaging_product":"whatsapp","to":"254712345678","type":"text","text":{"body":"hi"}}`,
		`{"messaging_product":"whatsapp","to":"254712345678","type":"template","template":{"name":"x","language":{"code":"en"}}}`,
		`{"from":"254712345678","type":"order","order":{"product_items":[{"item_price":"7.99","quantity":1}]}}`,
		`{"from":"254712345678","type":"location","location":{"latitude":"north","longitude":1}}`,
		`{"url":"http://10.0.0.1/x","verify_token":"t"}`,
		`{"url":"ftp://x","verify_token":""}`,
		`[]`, `null`, `{"events":{}}`, `{"a":1} x`, "\xff", `{"events":[{"id":1}]}`,
		`{"events":[{"id":"c","phone_number_id":"` + pn + `","status":{"id":"w","status":"sent","recipient_id":"1\xff"}}]}`,
		`{"from":"254712345678","type":"text","text":{"body":"\ud800"}}`,
		`{"override_callback_uri":"http://10.0.0.1/x","verify_token":"t"}`,
		`{"override_callback_uri":"","verify_token":"t"}`,
		`{"webhook_configuration":{"override_callback_uri":"https://127.0.0.1/x","verify_token":"t"}}`,
		`{"webhook_configuration":{"override_callback_uri":""}}`,
		`{"webhook_configuration":null}`, `{"webhook_configuration":{"verify_token":5}}`, "", " \r\n",
		`{"name":"ci","scope":"send"}`, `{"name":"\u0000","scope":"full"}`, `{"name":["x"]}`,
	} {
		for i := range routes {
			f.Add(uint8(i), []byte(seed))
		}
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		r := routes[int(route)%len(routes)]
		req := httptest.NewRequest(r.method, r.path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+c.APIKey)
		ctx, cancel := context.WithTimeout(req.Context(), 5*time.Second)
		defer cancel()
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req.WithContext(ctx))
		if rec.Code >= 500 {
			t.Fatalf("%s %s with %q: %d %s", r.method, r.path, body, rec.Code, rec.Body)
		}
		// Every answer is UTF-8, and nothing that is not was taken.
		if !utf8.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s with %q: the answer is not UTF-8: %q", r.method, r.path, body, rec.Body)
		}
		if rec.Code < 300 && !utf8.Valid(body) {
			t.Fatalf("%s %s accepted a body that is not UTF-8: %q", r.method, r.path, body)
		}
		if rec.Code >= 400 {
			var e struct {
				Error map[string]any `json:"error"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error["message"] == nil || e.Error["code"] == nil {
				t.Fatalf("%s %s: error body %s is not {\"error\":{\"code\",\"message\"}}", r.method, r.path, rec.Body)
			}
		}
	})
}
