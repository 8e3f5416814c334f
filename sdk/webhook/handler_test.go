package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bahasha/bahasha/sdk/webhook"
	"github.com/bahasha/bahasha/sdk/webhook/webhooktest"
	"github.com/bahasha/bahasha/sdk/whatsapp"
)

const (
	token  = "my-verify-token"
	secret = "my-app-secret"
)

func serve(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func TestVerifyHandshake(t *testing.T) {
	tests := []struct {
		name       string
		configured string
		query      string
		wantCode   int
		wantBody   string
	}{
		{"ok", token, "hub.mode=subscribe&hub.verify_token=" + token + "&hub.challenge=1158201444", 200, "1158201444"},
		{"challenge verbatim with odd characters", token, "hub.mode=subscribe&hub.verify_token=" + token + "&hub.challenge=%3Cb%3E%20%C3%A9%22x%22", 200, "<b> é\"x\""},
		{"empty challenge", token, "hub.mode=subscribe&hub.verify_token=" + token + "&hub.challenge=", 200, ""},
		{"wrong token", token, "hub.mode=subscribe&hub.verify_token=nope&hub.challenge=1", 403, ""},
		{"token prefix", token, "hub.mode=subscribe&hub.verify_token=my-verify&hub.challenge=1", 403, ""},
		{"missing token", token, "hub.mode=subscribe&hub.challenge=1", 403, ""},
		{"wrong mode", token, "hub.mode=unsubscribe&hub.verify_token=" + token + "&hub.challenge=1", 403, ""},
		{"missing mode", token, "hub.verify_token=" + token + "&hub.challenge=1", 403, ""},
		{"no token configured", "", "hub.mode=subscribe&hub.verify_token=&hub.challenge=1", 403, ""},
		{"missing challenge", token, "hub.mode=subscribe&hub.verify_token=" + token, 400, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			called := false
			h := &webhook.Handler{VerifyToken: tt.configured, AppSecret: secret,
				OnNotification: func(context.Context, *whatsapp.Notification) error { called = true; return nil }}
			rec := serve(h, httptest.NewRequest(http.MethodGet, "/webhook?"+tt.query, nil))
			if rec.Code != tt.wantCode {
				t.Fatalf("code = %d, want %d (body %q)", rec.Code, tt.wantCode, rec.Body)
			}
			if called {
				t.Fatal("a GET ran a callback")
			}
			if tt.wantCode != 200 {
				return
			}
			if rec.Body.String() != tt.wantBody {
				t.Fatalf("body = %q, want %q", rec.Body, tt.wantBody)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Fatalf("Content-Type = %q, want text/plain", ct)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Fatal("challenge echoed without X-Content-Type-Options: nosniff")
			}
		})
	}
}

func TestVerifyRequestHelper(t *testing.T) {
	h := &webhook.Handler{VerifyToken: "tok en&=?"}
	rec := serve(h, webhooktest.NewVerifyRequest("/webhook", "tok en&=?", "abc"))
	if rec.Code != 200 || rec.Body.String() != "abc" {
		t.Fatalf("got %d %q", rec.Code, rec.Body)
	}
}

func TestOtherMethods(t *testing.T) {
	h := &webhook.Handler{VerifyToken: token}
	for _, m := range []string{http.MethodPut, http.MethodDelete, http.MethodPatch, http.MethodHead, http.MethodOptions} {
		rec := serve(h, httptest.NewRequest(m, "/webhook", nil))
		if rec.Code != http.StatusMethodNotAllowed {
			t.Errorf("%s: code %d, want 405", m, rec.Code)
		}
		if rec.Header().Get("Allow") != "GET, POST" {
			t.Errorf("%s: Allow = %q", m, rec.Header().Get("Allow"))
		}
	}
}

// recorder collects what callbacks saw.
type recorder struct {
	mu     sync.Mutex
	events []string
	errs   []error
}

func (r *recorder) add(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, fmt.Sprintf(format, args...))
}

func (r *recorder) onError(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, err)
}

func (r *recorder) snapshot() ([]string, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.events...), append([]error(nil), r.errs...)
}

func newRecordingHandler(rec *recorder) *webhook.Handler {
	return &webhook.Handler{
		VerifyToken: token,
		AppSecret:   secret,
		OnStatus: func(_ context.Context, e whatsapp.StatusEvent) error {
			rec.add("status %s %s %s", e.Status.ID, e.Status.Status, e.Metadata.PhoneNumberID)
			return nil
		},
		OnMessage: func(_ context.Context, e whatsapp.MessageEvent) error {
			name := ""
			if e.Contact != nil {
				name = e.Contact.Profile.Name
			}
			rec.add("message %s %s from %s (%s)", e.Message.ID, e.Message.Type, e.Message.From, name)
			return nil
		},
		OnText: func(_ context.Context, e whatsapp.MessageEvent) error {
			rec.add("text %s", e.Message.Text.Body)
			return nil
		},
		OnError: rec.onError,
	}
}

func TestPostDispatchesTypedCallbacks(t *testing.T) {
	rec := &recorder{}
	h := newRecordingHandler(rec)
	n := webhooktest.Status("wamid.1", whatsapp.StatusDelivered)
	resp := serve(h, webhooktest.NewRequest("/webhook", n, secret))
	if resp.Code != 200 {
		t.Fatalf("code %d: %s", resp.Code, resp.Body)
	}
	resp = serve(h, webhooktest.NewRequest("/webhook", webhooktest.Text("254712345678", "Habari!"), secret))
	if resp.Code != 200 {
		t.Fatalf("code %d: %s", resp.Code, resp.Body)
	}
	got, errs := rec.snapshot()
	want := []string{
		"status wamid.1 delivered 123456789",
		"message wamid.sample.1 text from 254712345678 (Jane Smith)",
		"text Habari!",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) || len(errs) != 0 {
		t.Fatalf("events %q errs %v, want %q", got, errs, want)
	}
}

func TestPerTypeCallbacks(t *testing.T) {
	var mu sync.Mutex
	var calls []string
	cb := func(name string) webhook.MessageFunc {
		return func(_ context.Context, e whatsapp.MessageEvent) error {
			mu.Lock()
			defer mu.Unlock()
			calls = append(calls, name+":"+string(e.Message.Type))
			return nil
		}
	}
	h := &webhook.Handler{
		OnText: cb("OnText"), OnImage: cb("OnImage"), OnAudio: cb("OnAudio"), OnVideo: cb("OnVideo"),
		OnDocument: cb("OnDocument"), OnSticker: cb("OnSticker"), OnLocation: cb("OnLocation"),
		OnContacts: cb("OnContacts"), OnInteractive: cb("OnInteractive"), OnButton: cb("OnButton"),
		OnReaction: cb("OnReaction"), OnOrder: cb("OnOrder"), OnSystem: cb("OnSystem"),
		OnUnsupported: cb("OnUnsupported"),
	}
	types := []whatsapp.MessageType{"text", "image", "audio", "video", "document", "sticker", "location",
		"contacts", "interactive", "button", "reaction", "order", "system", "unsupported", "unknown", "hologram"}
	var msgs []whatsapp.Message
	for _, ty := range types {
		msgs = append(msgs, webhooktest.SampleMessage(ty))
	}
	if rec := serve(h, webhooktest.NewRequest("/webhook", webhooktest.Messages(msgs...), "")); rec.Code != 200 {
		t.Fatalf("code %d: %s", rec.Code, rec.Body)
	}
	want := "[OnText:text OnImage:image OnAudio:audio OnVideo:video OnDocument:document OnSticker:sticker " +
		"OnLocation:location OnContacts:contacts OnInteractive:interactive OnButton:button OnReaction:reaction " +
		"OnOrder:order OnSystem:system OnUnsupported:unsupported OnUnsupported:unknown OnUnsupported:hologram]"
	if fmt.Sprint(calls) != want {
		t.Fatalf("calls\n got %v\nwant %s", calls, want)
	}
}

func TestUnknownTypeReachesReceiverWithRaw(t *testing.T) {
	body := `{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages","value":{
		"messaging_product":"whatsapp","metadata":{"phone_number_id":"1"},
		"messages":[{"from":"2547","id":"wamid.h","timestamp":"1700000000","type":"hologram","hologram":{"frames":3}}]}}]}]}`
	var raw string
	h := &webhook.Handler{AppSecret: secret, OnUnsupported: func(_ context.Context, e whatsapp.MessageEvent) error {
		raw = string(e.Message.Raw)
		return nil
	}}
	if rec := serve(h, webhooktest.NewRequestBody("/webhook", []byte(body), secret)); rec.Code != 200 {
		t.Fatalf("code %d: %s", rec.Code, rec.Body)
	}
	if !strings.Contains(raw, `"hologram":{"frames":3}`) {
		t.Fatalf("Raw = %s", raw)
	}
}

func TestPostRejections(t *testing.T) {
	valid, _ := io.ReadAll(webhooktest.NewRequest("/", webhooktest.Status("wamid.1", "sent"), "").Body)
	tests := []struct {
		name   string
		req    func() *http.Request
		max    int64
		code   int
		inBody string
	}{
		{"missing signature", func() *http.Request { return webhooktest.NewRequestBody("/webhook", valid, "") }, 0, 401, "missing X-Hub-Signature-256"},
		{"wrong secret", func() *http.Request { return webhooktest.NewRequestBody("/webhook", valid, "other") }, 0, 401, "does not match"},
		{"malformed signature", func() *http.Request {
			r := webhooktest.NewRequestBody("/webhook", valid, "")
			r.Header.Set(webhook.SignatureHeader, "sha256=xyz")
			return r
		}, 0, 401, "malformed"},
		{"tampered body", func() *http.Request {
			r := webhooktest.NewRequestBody("/webhook", valid, secret)
			r.Body = io.NopCloser(bytes.NewReader(bytes.Replace(valid, []byte("sent"), []byte("read"), 1)))
			return r
		}, 0, 401, "does not match"},
		{"signed garbage", func() *http.Request { return webhooktest.NewRequestBody("/webhook", []byte("{nope"), secret) }, 0, 400, "malformed JSON"},
		{"signed array", func() *http.Request { return webhooktest.NewRequestBody("/webhook", []byte("[]"), secret) }, 0, 400, "array"},
		{"signed entry not array", func() *http.Request {
			return webhooktest.NewRequestBody("/webhook", []byte(`{"entry":{}}`), secret)
		}, 0, 400, `"entry" must be an array`},
		{"signed empty body", func() *http.Request { return webhooktest.NewRequestBody("/webhook", nil, secret) }, 0, 400, "empty"},
		{"too large by Content-Length", func() *http.Request { return webhooktest.NewRequestBody("/webhook", valid, secret) }, 100, 413, "limit is 100 bytes"},
		{"too large while streaming", func() *http.Request {
			r := webhooktest.NewRequestBody("/webhook", valid, secret)
			r.ContentLength = -1
			return r
		}, 100, 413, "limit is 100 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			h := newRecordingHandler(rec)
			h.MaxBodyBytes = tt.max
			h.OnNotification = func(context.Context, *whatsapp.Notification) error { rec.add("notification"); return nil }
			resp := serve(h, tt.req())
			if resp.Code != tt.code || !strings.Contains(resp.Body.String(), tt.inBody) {
				t.Fatalf("got %d %q, want %d containing %q", resp.Code, resp.Body, tt.code, tt.inBody)
			}
			if got, _ := rec.snapshot(); len(got) != 0 {
				t.Fatalf("callbacks ran on a rejected request: %v", got)
			}
		})
	}
}

func TestPreviousSecretAccepted(t *testing.T) {
	h := &webhook.Handler{AppSecret: "new", PreviousAppSecrets: []string{"old"}}
	for _, s := range []string{"new", "old"} {
		if rec := serve(h, webhooktest.NewRequest("/webhook", webhooktest.Status("w", "sent"), s)); rec.Code != 200 {
			t.Errorf("signed with %s: %d %s", s, rec.Code, rec.Body)
		}
	}
	if rec := serve(h, webhooktest.NewRequest("/webhook", webhooktest.Status("w", "sent"), "older")); rec.Code != 401 {
		t.Errorf("signed with a retired secret: %d", rec.Code)
	}
}

func TestUnicodeRawAndEscapedBodies(t *testing.T) {
	raw := `{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"1"},"messages":[{"from":"2547","id":"m","timestamp":"1","type":"text","text":{"body":"Asante sana 🙏 مرحبا 你好"}}]}}]}]}`
	escaped := `{"object":"whatsapp_business_account","entry":[{"id":"W","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"phone_number_id":"1"},"messages":[{"from":"2547","id":"m","timestamp":"1","type":"text","text":{"body":"Asante sana \ud83d\ude4f \u0645\u0631\u062d\u0628\u0627 \u4f60\u597d"}}]}}]}]}`
	var bodies []string
	h := &webhook.Handler{AppSecret: secret, OnText: func(_ context.Context, e whatsapp.MessageEvent) error {
		bodies = append(bodies, e.Message.Text.Body)
		return nil
	}}
	for _, b := range []string{raw, escaped} {
		if rec := serve(h, webhooktest.NewRequestBody("/webhook", []byte(b), secret)); rec.Code != 200 {
			t.Fatalf("code %d: %s", rec.Code, rec.Body)
		}
	}
	if len(bodies) != 2 || bodies[0] != bodies[1] || bodies[0] != "Asante sana 🙏 مرحبا 你好" {
		t.Fatalf("bodies = %q", bodies)
	}
}

func TestCallbackErrorAndPanicInAckFirst(t *testing.T) {
	rec := &recorder{}
	boom := errors.New("database down")
	h := &webhook.Handler{
		OnStatus: func(_ context.Context, e whatsapp.StatusEvent) error {
			switch e.Status.ID {
			case "w1":
				return boom
			case "w2":
				panic("nil map")
			}
			rec.add("ok %s", e.Status.ID)
			return nil
		},
		OnError: rec.onError,
	}
	n := webhooktest.Notification(whatsapp.Value{Statuses: []whatsapp.Status{
		{ID: "w1", Status: "sent"}, {ID: "w2", Status: "sent"}, {ID: "w3", Status: "sent"}}})
	resp := serve(h, webhooktest.NewRequest("/webhook", n, ""))
	if resp.Code != 200 {
		t.Fatalf("AckFirst answered %d; it must acknowledge whatever the callbacks do", resp.Code)
	}
	got, errs := rec.snapshot()
	if fmt.Sprint(got) != "[ok w3]" {
		t.Fatalf("events after failures = %v; a failing callback must not stop the others", got)
	}
	if len(errs) != 2 {
		t.Fatalf("errors = %v, want 2", errs)
	}
	var ce *webhook.CallbackError
	if !errors.As(errs[0], &ce) || !errors.Is(errs[0], boom) || ce.Callback != "OnStatus" || ce.Key != "status:w1:sent" {
		t.Fatalf("first error = %#v", errs[0])
	}
	if !errors.As(errs[1], &ce) || !errors.Is(errs[1], webhook.ErrCallbackPanic) || !strings.Contains(ce.Error(), "nil map") || len(ce.Stack) == 0 {
		t.Fatalf("second error = %v", errs[1])
	}
}

// In AckFirst mode the receiver's 200 reaches Bahasha while the callback is
// still running.
func TestAckFirstAnswersBeforeCallbacksFinish(t *testing.T) {
	release := make(chan struct{})
	finished := make(chan struct{})
	h := &webhook.Handler{OnStatus: func(ctx context.Context, _ whatsapp.StatusEvent) error {
		<-release
		if ctx.Err() != nil {
			t.Error("callback context was cancelled after the acknowledgement")
		}
		close(finished)
		return nil
	}}
	srv := httptest.NewServer(h)
	defer srv.Close()
	body, _ := io.ReadAll(webhooktest.NewRequest("/", webhooktest.Status("w", "read"), "").Body)
	resp, err := http.Post(srv.URL, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("code %d", resp.StatusCode)
	}
	select {
	case <-finished:
		t.Fatal("the callback finished before it was released: the 200 waited for it")
	default:
	}
	close(release)
	<-finished
}

func TestAckAfterRetriesOnlyFailedEvents(t *testing.T) {
	rec := &recorder{}
	fail := true
	h := &webhook.Handler{
		Mode: webhook.AckAfter,
		Seen: webhook.NewMemorySeenSet(100),
		OnStatus: func(_ context.Context, e whatsapp.StatusEvent) error {
			if e.Status.ID == "w2" && fail {
				return errors.New("temporary")
			}
			rec.add("processed %s", e.Status.ID)
			return nil
		},
		OnError: rec.onError,
	}
	n := webhooktest.Notification(whatsapp.Value{Statuses: []whatsapp.Status{
		{ID: "w1", Status: "delivered"}, {ID: "w2", Status: "delivered"}, {ID: "w3", Status: "delivered"}}})
	if resp := serve(h, webhooktest.NewRequest("/webhook", n, "")); resp.Code != 500 {
		t.Fatalf("first delivery: %d, want 500 so that Bahasha retries", resp.Code)
	}
	fail = false
	if resp := serve(h, webhooktest.NewRequest("/webhook", n, "")); resp.Code != 200 {
		t.Fatalf("retry: %d, want 200", resp.Code)
	}
	got, errs := rec.snapshot()
	if fmt.Sprint(got) != "[processed w1 processed w3 processed w2]" || len(errs) != 1 {
		t.Fatalf("events %v errs %v: the retry must process w2 only", got, errs)
	}
}

func TestAckAfterPanicIs500(t *testing.T) {
	h := &webhook.Handler{Mode: webhook.AckAfter, OnError: func(error) {},
		OnText: func(context.Context, whatsapp.MessageEvent) error { panic("bug") }}
	if resp := serve(h, webhooktest.NewRequest("/webhook", webhooktest.Text("1", "x"), "")); resp.Code != 500 {
		t.Fatalf("code %d, want 500", resp.Code)
	}
}

func TestDuplicateSuppression(t *testing.T) {
	rec := &recorder{}
	h := newRecordingHandler(rec)
	h.Seen = webhook.NewMemorySeenSet(10)
	n := webhooktest.Notification(whatsapp.Value{Statuses: []whatsapp.Status{
		{ID: "w1", Status: "sent"}, {ID: "w1", Status: "delivered"}}})
	for range 3 {
		if resp := serve(h, webhooktest.NewRequest("/webhook", n, secret)); resp.Code != 200 {
			t.Fatal(resp.Code)
		}
	}
	serve(h, webhooktest.NewRequest("/webhook", webhooktest.Text("2547", "hi"), secret))
	serve(h, webhooktest.NewRequest("/webhook", webhooktest.Text("2547", "hi"), secret))
	got, _ := rec.snapshot()
	want := "[status w1 sent 123456789 status w1 delivered 123456789 message wamid.sample.1 text from 2547 (Customer 2547) text hi]"
	if fmt.Sprint(got) != want {
		t.Fatalf("got %v\nwant %s", got, want)
	}
}

type failingSeen struct{}

func (failingSeen) Add(context.Context, string) (bool, error) { return false, errors.New("redis down") }
func (failingSeen) Remove(context.Context, string) error      { return errors.New("redis down") }

func TestSeenSetFailureStillProcesses(t *testing.T) {
	rec := &recorder{}
	h := newRecordingHandler(rec)
	h.Seen = failingSeen{}
	serve(h, webhooktest.NewRequest("/webhook", webhooktest.Status("w", "read"), secret))
	got, errs := rec.snapshot()
	if len(got) != 1 || len(errs) != 1 || !strings.Contains(errs[0].Error(), "redis down") {
		t.Fatalf("events %v errs %v", got, errs)
	}
}

// The Key of a CallbackError and the key a SeenSet failure names are the
// event's StatusKey or MessageKey, with a SeenSet or without one, and "" for
// OnNotification.
func TestCallbackErrorKeys(t *testing.T) {
	fail := func(context.Context, whatsapp.MessageEvent) error { return errors.New("no") }
	n := webhooktest.Notification(whatsapp.Value{
		Statuses: []whatsapp.Status{{ID: "w1", Status: "sent"}},
		Messages: []whatsapp.Message{{ID: "m1", Type: whatsapp.MessageText, Text: &whatsapp.Text{Body: "x"}}},
	})
	for _, seen := range []webhook.SeenSet{nil, webhook.NewMemorySeenSet(10), failingSeen{}} {
		rec := &recorder{}
		h := &webhook.Handler{
			Mode:           webhook.AckAfter,
			Seen:           seen,
			OnNotification: func(context.Context, *whatsapp.Notification) error { return errors.New("no") },
			OnStatus:       func(context.Context, whatsapp.StatusEvent) error { return errors.New("no") },
			OnMessage:      fail,
			OnText:         fail,
			OnError:        rec.onError,
		}
		if err := h.Process(context.Background(), n); err == nil {
			t.Fatal("Process: no error")
		}
		_, errs := rec.snapshot()
		var keys []string
		for _, err := range errs {
			var ce *webhook.CallbackError
			if errors.As(err, &ce) {
				keys = append(keys, ce.Callback+"="+ce.Key)
			} else {
				keys = append(keys, err.Error())
			}
		}
		want := "[OnNotification= OnStatus=status:w1:sent OnMessage=message:m1 OnText=message:m1]"
		if _, failing := seen.(failingSeen); failing {
			want = "[OnNotification= " +
				"webhook: seen set: redis down (processing status:w1:sent anyway) OnStatus=status:w1:sent webhook: seen set: redis down " +
				"webhook: seen set: redis down (processing message:m1 anyway) OnMessage=message:m1 OnText=message:m1 webhook: seen set: redis down]"
		}
		if got := fmt.Sprint(keys); got != want {
			t.Errorf("Seen %T: reported\n%s\nwant\n%s", seen, got, want)
		}
	}
}

func TestMemorySeenSetIsBounded(t *testing.T) {
	s := webhook.NewMemorySeenSet(3)
	ctx := context.Background()
	for _, k := range []string{"a", "b", "c", "d"} {
		if added, _ := s.Add(ctx, k); !added {
			t.Fatalf("%s not added", k)
		}
	}
	if s.Len() != 3 {
		t.Fatalf("Len = %d, want 3", s.Len())
	}
	if added, _ := s.Add(ctx, "a"); !added {
		t.Fatal("the oldest key was not evicted")
	}
	if added, _ := s.Add(ctx, "d"); added {
		t.Fatal("a recent key was forgotten")
	}
	s.Remove(ctx, "d")
	if added, _ := s.Add(ctx, "d"); !added {
		t.Fatal("Remove did not forget")
	}
}

func TestAsyncQueue(t *testing.T) {
	release := make(chan struct{})
	started := make(chan string, 10)
	var mu sync.Mutex
	var done []string
	h := &webhook.Handler{
		Mode: webhook.Async, Workers: 1, QueueSize: 1,
		OnStatus: func(_ context.Context, e whatsapp.StatusEvent) error {
			started <- e.Status.ID
			<-release
			mu.Lock()
			done = append(done, e.Status.ID)
			mu.Unlock()
			return nil
		},
	}
	post := func(id string) *httptest.ResponseRecorder {
		return serve(h, webhooktest.NewRequest("/webhook", webhooktest.Status(id, "sent"), ""))
	}
	if rec := post("w1"); rec.Code != 200 {
		t.Fatalf("w1: %d", rec.Code)
	}
	if id := <-started; id != "w1" { // the worker holds w1; the queue is empty
		t.Fatalf("started %s", id)
	}
	if rec := post("w2"); rec.Code != 200 { // fills the queue
		t.Fatalf("w2: %d", rec.Code)
	}
	rec := post("w3")
	if rec.Code != http.StatusServiceUnavailable || rec.Header().Get("Retry-After") == "" {
		t.Fatalf("full queue answered %d (Retry-After %q), want 503 with Retry-After", rec.Code, rec.Header().Get("Retry-After"))
	}
	close(release)
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	if fmt.Sprint(done) != "[w1 w2]" {
		t.Fatalf("processed %v, want [w1 w2]: Close must drain the queue", done)
	}
	mu.Unlock()
	if rec := post("w4"); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("after Close: %d, want 503", rec.Code)
	}
	if err := h.Close(context.Background()); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestCloseTimesOut(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	h := &webhook.Handler{Mode: webhook.Async, Workers: 1,
		OnStatus: func(context.Context, whatsapp.StatusEvent) error { close(started); <-release; return nil }}
	serve(h, webhooktest.NewRequest("/webhook", webhooktest.Status("w", "sent"), ""))
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := h.Close(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Close = %v, want context.Canceled", err)
	}
}

func TestProcessReplaysStoredNotification(t *testing.T) {
	rec := &recorder{}
	h := newRecordingHandler(rec)
	if err := h.Process(context.Background(), webhooktest.Status("w9", whatsapp.StatusRead)); err != nil {
		t.Fatal(err)
	}
	if got, _ := rec.snapshot(); fmt.Sprint(got) != "[status w9 read 123456789]" {
		t.Fatalf("got %v", got)
	}
}

// TestAsyncCloseEndsWorkers: an Async handler's workers end with Close,
// so a receiver that closes its handler leaves no goroutine behind. (The
// SDK's module depends on nothing, so its tests look for the workers in
// the runtime's goroutine dump rather than use a leak-checking library.)
func TestAsyncCloseEndsWorkers(t *testing.T) {
	h := &webhook.Handler{Mode: webhook.Async, Workers: 8}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, webhooktest.NewRequest("/webhook", webhooktest.Status("wamid.1", whatsapp.StatusSent), ""))
	if rec.Code != http.StatusOK {
		t.Fatalf("POST answered %d", rec.Code)
	}
	// Other tests' handlers may still be winding down, so count only the
	// workers of this handler. ServeHTTP started them; a goroutine that
	// has not run yet has no frame to find, hence the wait.
	awaitWorkers(t, h, func(n int) bool { return n == 8 }, "want 8 running")
	if err := h.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
	awaitWorkers(t, h, func(n int) bool { return n == 0 }, "left after Close")
}

func awaitWorkers(t *testing.T, h *webhook.Handler, ok func(int) bool, what string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second) // a failure bound, not a pause
	for n := workers(h); !ok(n); n = workers(h) {
		if time.Now().After(deadline) {
			t.Fatalf("%d workers: %s", n, what)
		}
		runtime.Gosched()
	}
}

// workers counts the goroutines running h's worker loop, found by the
// handler's address in the receiver argument of each work frame.
func workers(h *webhook.Handler) int {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	frame := fmt.Sprintf("webhook.(*Handler).work(%p", h)
	return strings.Count(string(buf), frame)
}

// A template status update reaches OnChange with its value verbatim, once
// per distinct change with a SeenSet; "messages" changes never do.
func TestOnChange(t *testing.T) {
	body := []byte(`{"object":"whatsapp_business_account","entry":[
	 {"id":"102290129340398","time":1751247548,"changes":[
	  {"value":{"event":"APPROVED","message_template_id":1689556908129832,"message_template_name":"order_confirmation","message_template_language":"en-US","reason":"NONE"},"field":"message_template_status_update"},
	  {"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},"statuses":[{"id":"wamid.1","status":"sent","timestamp":"1","recipient_id":"1"}]},"field":"messages"}]},
	 {"id":"102290129340398","time":1751247549,"changes":[
	  {"value":{"display_phone_number":"15550783881","event":"FLAGGED","current_limit":"TIER_10K"},"field":"phone_number_quality_update"}]}]}`)
	var got []string
	var mu sync.Mutex
	h := &webhook.Handler{AppSecret: secret, Mode: webhook.AckAfter, Seen: webhook.NewMemorySeenSet(10),
		OnChange: func(_ context.Context, e whatsapp.ChangeEvent) error {
			mu.Lock()
			defer mu.Unlock()
			sec, _ := e.Time.Unix()
			got = append(got, fmt.Sprintf("%s %s %d %s", e.WABAID, e.Field, sec, e.Value.Raw))
			return nil
		}}
	post := func(b []byte) {
		t.Helper()
		r := httptest.NewRequest("POST", "/webhook", bytes.NewReader(b))
		r.Header.Set("X-Hub-Signature-256", webhook.Sign(secret, b))
		if resp := serve(h, r); resp.Code != 200 {
			t.Fatalf("code %d: %s", resp.Code, resp.Body)
		}
	}
	post(body)
	post(body) // Meta's re-send: suppressed by the SeenSet
	want := []string{
		`102290129340398 message_template_status_update 1751247548 {"event":"APPROVED","message_template_id":1689556908129832,"message_template_name":"order_confirmation","message_template_language":"en-US","reason":"NONE"}`,
		`102290129340398 phone_number_quality_update 1751247549 {"display_phone_number":"15550783881","event":"FLAGGED","current_limit":"TIER_10K"}`,
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
	// A different value of the same field is a new change.
	post(bytes.Replace(body, []byte("APPROVED"), []byte("REJECTED"), 1))
	if len(got) != 3 || !strings.Contains(got[2], "REJECTED") {
		t.Fatalf("got %q", got)
	}
	// The same value at another time is a new change too (approved again,
	// a day later).
	post(bytes.Replace(body, []byte(`"time":1751247548`), []byte(`"time":1751333948`), 1))
	if len(got) != 4 || !strings.Contains(got[3], "1751333948") || !strings.Contains(got[3], "APPROVED") {
		t.Fatalf("got %q", got)
	}
}
