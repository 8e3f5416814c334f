package meta_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/meta"
	"github.com/bahasha/bahasha/internal/metatest"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlite"
	"github.com/bahasha/bahasha/sdk/webhook"
)

type nopWaker struct{}

func (nopWaker) Wake() {}

const secret = "meta-test-secret"

// fixture is the handler on a real SQLite store with one account.
func fixture(t testing.TB) (*meta.Handler, store.Store, accounts.Created) {
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "m.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	acc, err := accounts.Create(context.Background(), st, accounts.Params{Name: "A", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	h := &meta.Handler{AppSecrets: []string{secret}, VerifyToken: "tok", Log: log,
		Router: &meta.Router{Store: st, Waker: nopWaker{}, Now: time.Now, Log: log}}
	return h, st, acc
}

func post(h http.Handler, body []byte, sig string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("POST", "/meta/webhook", bytes.NewReader(body))
	if sig != "" {
		req.Header.Set("X-Hub-Signature-256", sig)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// Bad input gets a clear 4xx; a signed body Bahasha cannot read is
// answered 200 (Meta would retry it for days) and kept whole.
func TestHandlerBadInput(t *testing.T) {
	h, st, _ := fixture(t)
	for _, c := range []struct {
		method, target string
		status         int
		says           string
	}{
		{"GET", "/meta/webhook?hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1", 403, "wrong_verify_token"},
		{"GET", "/meta/webhook?hub.verify_token=tok&hub.challenge=1", 400, "hub.mode"},
		{"PUT", "/meta/webhook", 405, "GET (the handshake) and POST"},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.target, nil))
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.says) {
			t.Errorf("%s %s: %d %s", c.method, c.target, rec.Code, rec.Body)
		}
	}
	big := bytes.Repeat([]byte("x"), meta.MaxBodyBytes+1)
	if rec := post(h, big, webhook.Sign(secret, big)); rec.Code != 413 {
		t.Errorf("a body too large: %d", rec.Code)
	}
	for _, body := range []string{`not json`, `{"object":"page","entry":[]}`, `{"object":"whatsapp_business_account","entry":[{"id":"1"}]}`} {
		rec := post(h, []byte(body), webhook.Sign(secret, []byte(body)))
		if rec.Code != 200 {
			t.Errorf("a signed body it cannot read, %s: %d %s", body, rec.Code, rec.Body)
		}
	}
	kept, err := st.ListUnrouted(context.Background(), store.ListUnroutedParams{Limit: 10})
	if err != nil || len(kept) != 3 {
		t.Fatalf("kept %d (%v), want the 3 unreadable bodies", len(kept), err)
	}
	if !strings.Contains(kept[0].Reason, "could not be read") || string(kept[0].Body) != `"not json"` {
		t.Errorf("the first kept: %+v", kept[0])
	}
}

// FuzzPost: whatever is POSTed, signed or not, the answer is never a 5xx
// and never a panic, and an unsigned POST is refused.
func FuzzPost(f *testing.F) {
	h, _, acc := fixture(f)
	n := metatest.Number{PhoneNumberID: acc.PhoneNumber.ID, DisplayPhoneNumber: "1555"}
	f.Add(metatest.Notification(metatest.Entry{ID: acc.PhoneNumber.WABAID, Changes: []metatest.Change{
		metatest.Messages(n, []json.RawMessage{metatest.Contact("1", "A")}, []json.RawMessage{metatest.Text("wamid.F", "1", "x", 1)},
			[]json.RawMessage{metatest.Status("wamid.G", "1", "read", 2)}),
		metatest.TemplateStatus("APPROVED", 7, "t", "en", "NONE"),
		metatest.QualityUpdate("+1555", "UPGRADE", "TIER_250"),
	}}), true)
	f.Add([]byte(`{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"messages","value":{"metadata":{"phone_number_id":"`+acc.PhoneNumber.ID+`"},"statuses":[{"id":"","status":"sent"}]}}]}]}`), true)
	f.Add([]byte(`{}`), false)
	f.Fuzz(func(t *testing.T, body []byte, sign bool) {
		sig := "sha256=00"
		if sign {
			sig = webhook.Sign(secret, body)
		}
		rec := post(h, body, sig)
		if rec.Code >= 500 {
			t.Fatalf("%q: %d %s", body, rec.Code, rec.Body)
		}
		if !sign && rec.Code != 401 {
			t.Fatalf("an unsigned POST answered %d", rec.Code)
		}
	})
}
