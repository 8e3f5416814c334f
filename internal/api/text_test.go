package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/server"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlite"
)

// textFixture is an API over a real SQLite store with one account.
type textFixture struct {
	mux   http.Handler
	store *sqlite.Store
	acc   accounts.Created
}

func newTextFixture(t *testing.T) *textFixture {
	t.Helper()
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "text.db")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	c, err := accounts.Create(context.Background(), st, accounts.Params{Name: "Text", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := server.Build(st, server.Options{Waker: nopWaker{}})
	if err != nil {
		t.Fatal(err)
	}
	mux := p.API
	return &textFixture{mux: mux, store: st, acc: c}
}

func (f *textFixture) do(t *testing.T, method, path string, body []byte) (int, map[string]any, []byte) {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+f.acc.APIKey)
	rec := httptest.NewRecorder()
	f.mux.ServeHTTP(rec, req)
	if !utf8.Valid(rec.Body.Bytes()) {
		t.Fatalf("%s %s answered with invalid UTF-8: %q", method, path, rec.Body.Bytes())
	}
	var v map[string]any
	json.Unmarshal(rec.Body.Bytes(), &v)
	return rec.Code, v, rec.Body.Bytes()
}

// stringPaths returns the path of every string value and every key in v
// (a decoded JSON value), as the API names fields: a.b[2].c; a key's path
// is its object's with "#key" appended.
func stringPaths(v any, path string, out *[]string) {
	join := func(k string) string {
		if path == "" {
			return k
		}
		return path + "." + k
	}
	switch x := v.(type) {
	case string:
		*out = append(*out, path)
	case map[string]any:
		for k, e := range x {
			*out = append(*out, join(k)+"#key")
			stringPaths(e, join(k), out)
		}
	case []any:
		for i, e := range x {
			stringPaths(e, path+"["+strconv.Itoa(i)+"]", out)
		}
	}
}

// corrupt returns the JSON of v with bad inserted into the string (or the
// key, for a "#key" path) at path. bad is raw bytes spliced into the
// encoded string.
func corrupt(t *testing.T, v any, path, bad string) []byte {
	t.Helper()
	const marker = "\u2603MARK\u2603"
	var set func(v any, parts []string) any
	set = func(v any, parts []string) any {
		p := parts[0]
		key := strings.HasSuffix(p, "#key")
		p = strings.TrimSuffix(p, "#key")
		name, idx := p, -1
		if i := strings.IndexByte(p, '['); i >= 0 {
			name = p[:i]
			idx, _ = strconv.Atoi(strings.TrimSuffix(p[i+1:], "]"))
		}
		m := v.(map[string]any)
		if key && len(parts) == 1 {
			m[name+marker] = m[name]
			delete(m, name)
			return m
		}
		child := m[name]
		if idx >= 0 {
			arr := child.([]any)
			if len(parts) == 1 {
				arr[idx] = arr[idx].(string) + marker
			} else {
				arr[idx] = set(arr[idx], parts[1:])
			}
			return m
		}
		if len(parts) == 1 {
			m[name] = child.(string) + marker
		} else {
			m[name] = set(child, parts[1:])
		}
		return m
	}
	// A deep copy through JSON.
	raw, _ := json.Marshal(v)
	var c any
	json.Unmarshal(raw, &c)
	c = set(c, strings.Split(path, "."))
	out, err := json.Marshal(c)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Replace(out, []byte(marker), []byte(bad), 1)
}

func parse(t *testing.T, s string) map[string]any {
	t.Helper()
	var v map[string]any
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestInvalidUTF8IsRefused: every string field and field name of an
// ingested status or message, of a sent message and of a simulated reply,
// with bytes that are not UTF-8 or a \u escape of half a surrogate pair in
// it, is refused with a 422 that names the field; nothing is stored; every
// answer is valid UTF-8. The same bodies without the corruption are
// accepted (so the refusal is the corruption's).
func TestInvalidUTF8IsRefused(t *testing.T) {
	f := newTextFixture(t)
	pn := f.acc.PhoneNumber.ID
	status := parse(t, `{"events":[{"id":"s1","phone_number_id":"`+pn+`","status":{"id":"wamid.S","status":"failed","timestamp":"1700000010",
		"recipient_id":"254712345678","errors":[{"code":131026,"title":"Message undeliverable","message":"undeliverable",
		"error_data":{"details":"not a WhatsApp number"}}],"conversation":{"id":"c1","origin":{"type":"service"}},
		"pricing":{"billable":false,"pricing_model":"CBP","category":"service"}}}]}`)
	message := parse(t, `{"events":[{"id":"m1","phone_number_id":"`+pn+`","message":{"from":"254712345678","id":"wamid.M",
		"timestamp":"1700000005","type":"text","text":{"body":"Thank you, I received my order!"},
		"context":{"from":"254700000000","id":"wamid.C"}},"contact":{"profile":{"name":"Jane Smith"},"wa_id":"254712345678"}}]}`)
	send := parse(t, `{"messaging_product":"whatsapp","recipient_type":"individual","to":"254712345678","type":"text",
		"text":{"preview_url":false,"body":"hello"}}`)
	inbound := parse(t, `{"from":"254712345678","name":"Jane Smith","type":"text","text":{"body":"hi there"}}`)
	routes := []struct {
		name, path string
		body       map[string]any
		events     bool // field paths are reported per event
	}{
		{"status", "/v1/events", status, true},
		{"message", "/v1/events", message, true},
		{"send", "/v1/" + pn + "/messages", send, false},
		{"inbound", "/v1/" + pn + "/sandbox/inbound", inbound, false},
	}
	for _, bad := range []struct{ name, bytes string }{
		{"0xff 0xfe", "\xff\xfe"},
		{"a truncated sequence", "\xe2\x82"},
		{"a lone surrogate escape", `\ud800`},
		{"a reversed surrogate pair", `\udc00\ud800`},
	} {
		for _, r := range routes {
			var paths []string
			stringPaths(r.body, "", &paths)
			for _, path := range paths {
				body := corrupt(t, r.body, path, bad.bytes)
				code, v, raw := f.do(t, "POST", r.path, body)
				want := strings.TrimSuffix(path, "#key")
				if strings.HasSuffix(path, "#key") {
					// A corrupt key is reported against its object.
					if i := strings.LastIndexAny(want, ".["); i >= 0 {
						want = want[:i]
					} else {
						want = ""
					}
				}
				var field string
				switch {
				case r.events && code == http.StatusUnprocessableEntity:
					errs, _ := v["error"].(map[string]any)["details"].(map[string]any)["errors"].([]any)
					if len(errs) == 1 {
						e := errs[0].(map[string]any)
						field = "events[" + strconv.Itoa(int(e["index"].(float64))) + "]"
						if e["field"] != "event" { // "event": a field name of the event itself
							field += "." + e["field"].(string)
						}
					}
				case r.name == "send":
					// The Cloud API's error shape.
					if code == http.StatusBadRequest {
						msg, _ := v["error"].(map[string]any)["error_data"].(map[string]any)["details"].(string)
						if strings.Contains(msg, "field "+strconv.Quote(want)+" is not valid UTF-8") ||
							want == "" && strings.Contains(msg, "a field name is not valid UTF-8") {
							field = want
						}
					}
				case code == http.StatusUnprocessableEntity:
					field, _ = v["error"].(map[string]any)["details"].(map[string]any)["field"].(string)
				}
				if field != want || !bytes.Contains(raw, []byte("not valid UTF-8")) {
					t.Errorf("%s in %s %s: %d %s; want a refusal naming %q", bad.name, r.name, path, code, raw, want)
				}
			}
		}
	}
	// A duplicate field name ahead of the bad text does not hide it.
	for _, c := range []struct{ path, body, field string }{
		{"/v1/events", `{"events":[{"id":"d1","id":"d1","phone_number_id":"` + pn + `","status":{"id":"w","status":"sent","recipient_id":"25471` + "\xff" + `2345678"}}]}`, "status.recipient_id"},
		{"/v1/" + pn + "/sandbox/inbound", `{"from":"254712345678","from":"254712345678","type":"text","text":{"body":"a` + "\xff" + `"}}`, "text.body"},
	} {
		code, _, raw := f.do(t, "POST", c.path, []byte(c.body))
		if code != http.StatusUnprocessableEntity || !bytes.Contains(raw, []byte(c.field)) {
			t.Errorf("%s with a duplicate name before bad text: %d %s, want 422 naming %s", c.path, code, raw, c.field)
		}
	}
	// Nothing was stored.
	if ds, err := f.store.Deliveries(context.Background(), store.ListDeliveriesParams{AccountID: f.acc.Account.ID, Limit: 10}); err != nil || len(ds) != 0 {
		t.Fatalf("deliveries after the refusals: %d, %v", len(ds), err)
	}
	// The clean bodies, and text that is UTF-8 written as escapes (a
	// surrogate pair included), are accepted.
	for _, r := range routes {
		code, _, raw := f.do(t, "POST", r.path, mustJSON(t, r.body))
		if code >= 300 {
			t.Fatalf("clean %s: %d %s", r.name, code, raw)
		}
	}
	escaped := bytes.Replace(mustJSON(t, inbound), []byte("hi there"), []byte(`hi \u00e9 \ud83d\ude00 \u2603`), 1)
	if code, _, raw := f.do(t, "POST", "/v1/"+pn+"/sandbox/inbound", escaped); code != http.StatusAccepted {
		t.Fatalf("escaped UTF-8: %d %s", code, raw)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
