package cli_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/metatest"
)

const (
	testMetaSecret = "meta-app-secret-0123456789abcdef"
	testMetaToken  = "meta-verify-token-xyz"
)

// metaEnv enables Meta's webhooks (two app secrets: a rotation under way)
// and the admin API.
var metaEnv = map[string]string{"BAHASHA_META_APP_SECRET": "meta-old-secret-0000," + testMetaSecret,
	"BAHASHA_META_VERIFY_TOKEN": testMetaToken, "BAHASHA_ADMIN_KEY": testAdminKey}

// rawReceiver is an endpoint that answers 200 and keeps the bodies.
func rawReceiver(t *testing.T, s *server, key string, opts map[string]any) *receiver {
	t.Helper()
	rcv := newReceiver(t, s.Secret(key))
	rcv.Behave(func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.WriteHeader(http.StatusOK)
		return true
	})
	s.createEndpoint(key, rcv, opts)
	return rcv
}

// entries are the entries of the POSTs rcv got, in order.
func (rcv *receiver) entries(t *testing.T) []map[string]any {
	t.Helper()
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var out []map[string]any
	for _, p := range rcv.posts {
		var body struct {
			Object string           `json:"object"`
			Entry  []map[string]any `json:"entry"`
		}
		if err := json.Unmarshal(p.Body, &body); err != nil || body.Object != "whatsapp_business_account" {
			t.Fatalf("not a WhatsApp notification: %s", p.Body)
		}
		out = append(out, body.Entry...)
	}
	return out
}

func (rcv *receiver) bodies() string {
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var b strings.Builder
	for _, p := range rcv.posts {
		b.Write(p.Body)
		b.WriteByte('\n')
	}
	return b.String()
}

// Meta's webhooks, end to end: the handshake; a bad signature stores
// nothing; one POST mixing two businesses and several fields gives each
// business exactly its own changes (messages by phone number, a template
// update by WABA, a quality update by display number), as Meta sent them;
// Meta's re-sends are delivered once; a change for a number no account
// owns is kept, then routed once the number is attached.
func TestMetaWebhooks(t *testing.T) {
	t.Parallel()
	s, rcvA := setup(t, serveOpts{Env: metaEnv, Args: []string{"--metrics-addr", "127.0.0.1:0"}})
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	m := &metatest.Meta{AppSecret: testMetaSecret, URL: s.URL + "/meta/webhook"}

	// The handshake Meta runs when the callback URL is saved.
	if code, body, err := m.Handshake(ctx, "wrong", "123"); err != nil || code != http.StatusForbidden {
		t.Fatalf("handshake with a wrong token: %d %s %v", code, body, err)
	}
	if code, body, err := m.Handshake(ctx, testMetaToken, "1158201444"); err != nil || code != 200 || body != "1158201444" {
		t.Fatalf("handshake: %d %q %v", code, body, err)
	}

	b := s.DoAs(testAdminKey, "POST", "/admin/v1/accounts", map[string]string{"name": "Business B"})
	keyB := b.Str("api_key")
	rcvB := newReceiver(t, s.Secret(keyB))
	s.Register(keyB, rcvB)
	pa, pb := s.Phone(), phoneOf(t, s, keyB)
	// A's other endpoints: its templates (any scope), its number's quality.
	templates := rawReceiver(t, s, s.Key, map[string]any{"events": []string{"message_template_status_update"}})
	quality := rawReceiver(t, s, s.Key, map[string]any{"events": []string{"phone_number_quality_update"},
		"scope": map[string]string{"phone_number_id": pa.ID}})

	na := metatest.Number{PhoneNumberID: pa.ID, DisplayPhoneNumber: strings.TrimPrefix(pa.Display, "+")}
	nb := metatest.Number{PhoneNumberID: pb.ID, DisplayPhoneNumber: strings.TrimPrefix(pb.Display, "+")}
	now := time.Now().Unix()
	mixed := metatest.Notification(
		metatest.Entry{ID: pa.WABA, Changes: []metatest.Change{metatest.Messages(na,
			[]json.RawMessage{metatest.Contact("254711000001", "Amina")},
			[]json.RawMessage{metatest.Text("wamid.meta-A1", "254711000001", "Habari", now)},
			[]json.RawMessage{metatest.Status("wamid.meta-A0", "254711000001", "sent", now), metatest.Status("wamid.meta-A0", "254711000001", "delivered", now+1)})}},
		metatest.Entry{ID: pb.WABA, Changes: []metatest.Change{metatest.Messages(nb,
			[]json.RawMessage{metatest.Contact("254722000002", "Baraka")},
			[]json.RawMessage{metatest.Text("wamid.meta-B1", "254722000002", "Sasa", now)}, nil)}},
		metatest.Entry{ID: pa.WABA, Time: now, Changes: []metatest.Change{
			metatest.TemplateStatus("APPROVED", 594425479261596, "order_update", "en_US", "NONE"),
			// Meta formats the display number its own way.
			metatest.QualityUpdate("+"+pa.Display[1:4]+" "+pa.Display[4:], "FLAGGED", "TIER_1K")}},
		metatest.Entry{ID: "999000111222333", Changes: []metatest.Change{metatest.Messages(
			metatest.Number{PhoneNumberID: "109000000000001", DisplayPhoneNumber: "15550001111"}, nil,
			[]json.RawMessage{metatest.Text("wamid.meta-X1", "254733000003", "Anyone?", now)}, nil)}},
	)

	// A bad signature is refused, and stores nothing.
	if code, err := m.PostSigned(ctx, mixed, "sha256="+strings.Repeat("0", 64)); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("a bad signature: %d %v", code, err)
	}
	if code, err := m.PostSigned(ctx, mixed, ""); err != nil || code != http.StatusUnauthorized {
		t.Fatalf("no signature: %d %v", code, err)
	}
	if r := s.DoAs(testAdminKey, "GET", "/admin/v1/unrouted", nil); r.Status != 200 || r.Len("data") != 0 {
		t.Fatalf("after refused POSTs: %s", r)
	}

	if n, err := m.Deliver(ctx, mixed); err != nil || n != 1 {
		t.Fatalf("the mixed POST: %d attempts, %v", n, err)
	}
	rcvA.Wait(t, "A's message and statuses", func() bool { return len(rcvA.messages) == 1 && len(rcvA.statuses) == 2 })
	rcvB.Wait(t, "B's message", func() bool { return len(rcvB.messages) == 1 })
	templates.Wait(t, "A's template update", func() bool { return len(templates.posts) == 1 })
	quality.Wait(t, "A's quality update", func() bool { return len(quality.posts) == 1 })
	if got := rcvA.messages[0]; got.Message.ID != "wamid.meta-A1" || got.Contact == nil || got.Contact.Profile.Name != "Amina" || got.Metadata.PhoneNumberID != pa.ID {
		t.Errorf("A's message: %+v", got)
	}
	if got := []string{string(rcvA.statuses[0].Status.Status), string(rcvA.statuses[1].Status.Status)}; !slices.Equal(got, []string{"sent", "delivered"}) {
		t.Errorf("A's statuses in order: %v", got)
	}
	if rcvB.messages[0].Message.ID != "wamid.meta-B1" || len(rcvB.statuses) != 0 {
		t.Errorf("B got %+v and %d statuses", rcvB.messages[0], len(rcvB.statuses))
	}
	// The template update, exactly as Meta sent it: its entry's time, the
	// template id an integer.
	if body := templates.bodies(); !strings.Contains(body, `"time":`+jsonInt(now)) || !strings.Contains(body, `"message_template_id":594425479261596`) ||
		strings.Contains(body, "phone_number_quality_update") {
		t.Errorf("the template endpoint got:\n%s", body)
	}
	if body := quality.bodies(); !strings.Contains(body, `"event":"FLAGGED"`) || strings.Contains(body, "message_template") {
		t.Errorf("the quality endpoint got:\n%s", body)
	}

	// The unknown number's change is kept for the operator.
	un := s.DoAs(testAdminKey, "GET", "/admin/v1/unrouted", nil)
	if un.Status != 200 || un.Len("data") != 1 || un.Str("data.0.phone_number_id") != "109000000000001" || !strings.Contains(un.Str("data.0.reason"), "109000000000001") {
		t.Fatalf("unrouted: %s", un)
	}
	if h := s.DoAs(testAdminKey, "GET", "/admin/v1/health", nil); h.Num("unrouted_changes") != 1 {
		t.Fatalf("the health report: %s; want 1 unrouted change", h)
	}
	if got := scrapeMetrics(t, s.metricsURL()).value("bahasha_meta_unrouted_changes"); got != 1 {
		t.Fatalf("bahasha_meta_unrouted_changes = %v, want 1", got)
	}

	// Meta sends it all again: nothing is delivered twice. A new message
	// after it marks when the re-send has been dealt with.
	if _, err := m.Deliver(ctx, mixed); err != nil {
		t.Fatal(err)
	}
	marker := metatest.Notification(metatest.Entry{ID: pa.WABA, Changes: []metatest.Change{metatest.Messages(na, nil,
		[]json.RawMessage{metatest.Text("wamid.meta-A2", "254711000001", "Tena", now)}, nil)}})
	if _, err := m.Deliver(ctx, marker); err != nil {
		t.Fatal(err)
	}
	rcvA.Wait(t, "the marker", func() bool { return len(rcvA.messages) == 2 })
	if len(rcvA.statuses) != 2 || rcvA.messages[1].Message.ID != "wamid.meta-A2" || len(templates.entries(t)) != 1 || len(quality.entries(t)) != 1 {
		t.Fatalf("after Meta's re-send: %d statuses, %d messages, %d template and %d quality entries", len(rcvA.statuses), len(rcvA.messages),
			len(templates.entries(t)), len(quality.entries(t)))
	}
	if un := s.DoAs(testAdminKey, "GET", "/admin/v1/unrouted", nil); un.Len("data") != 1 {
		t.Fatalf("the re-sent unrouted change was kept twice: %s", un)
	}

	// The number is attached to B; replayed, its message reaches B.
	if r := s.DoAs(testAdminKey, "POST", "/admin/v1/phone_numbers", map[string]string{"account_id": b.Str("account.id"),
		"phone_number_id": "109000000000001", "waba_id": "999000111222333", "display_phone_number": "+1 555 000 1111"}); r.Status != 201 {
		t.Fatalf("attaching the number: %s", r)
	}
	if r := s.DoAs(testAdminKey, "POST", "/admin/v1/unrouted/replay", nil); r.Status != 200 || r.Num("routed") != 1 || r.Num("still_unrouted") != 0 {
		t.Fatalf("replay: %s", r)
	}
	rcvB.Wait(t, "the replayed message", func() bool { return len(rcvB.messages) == 2 })
	if got := rcvB.messages[1]; got.Message.ID != "wamid.meta-X1" || got.Metadata.PhoneNumberID != "109000000000001" {
		t.Errorf("the replayed message: %+v", got)
	}
	if un := s.DoAs(testAdminKey, "GET", "/admin/v1/unrouted", nil); un.Len("data") != 0 {
		t.Fatalf("after the replay: %s", un)
	}
	if h := s.DoAs(testAdminKey, "GET", "/admin/v1/health", nil); h.Num("unrouted_changes") != 0 {
		t.Fatalf("the health report after the replay: %s", h)
	}

	// The metrics count each change once for what became of it, and the
	// events by source.
	sc := scrapeMetrics(t, s.metricsURL())
	for result, want := range map[string]float64{"routed": 6, "duplicate": 4, "unrouted": 2} {
		if got := sc.value("bahasha_meta_changes_total", "result", result); got != want {
			t.Errorf("bahasha_meta_changes_total{result=%q} = %v, want %v", result, got, want)
		}
	}
	if got := sc.value("bahasha_events_ingested_total", "source", "meta"); got != 8 {
		t.Errorf("events ingested from Meta = %v, want 8 (3 of A, 1 of B, the 2 updates, the marker, the replayed one)", got)
	}
}

func jsonInt(n int64) string { b, _ := json.Marshal(n); return string(b) }

// TestMetaCrash: a Meta POST answered 200 is durable: serve is killed
// with SIGKILL before anything reached the (failing) receiver, and once
// restarted on the same data folder every change of the POST arrives.
func TestMetaCrash(t *testing.T) {
	t.Parallel()
	bin := bahashaBinary(t)
	opts := serveOpts{Data: t.TempDir(), Env: metaEnv, Args: []string{"--retry-schedule", "1s"}}
	rcv := newReceiver(t, "")
	c := startChild(t, bin, opts)
	rcv.SetSecret(c.Secret(c.Key))
	c.Register(c.Key, rcv)
	rcv.Fail(true)
	p := c.Phone()
	n := metatest.Number{PhoneNumberID: p.ID, DisplayPhoneNumber: strings.TrimPrefix(p.Display, "+")}
	var msgs []json.RawMessage
	for i := range 20 {
		msgs = append(msgs, metatest.Text("wamid.crash-"+jsonInt(int64(i)), "254711000009", "m", time.Now().Unix()))
	}
	m := &metatest.Meta{AppSecret: testMetaSecret, URL: c.URL + "/meta/webhook"}
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if code, err := m.Post(ctx, metatest.Notification(metatest.Entry{ID: p.WABA, Changes: []metatest.Change{metatest.Messages(n, nil, msgs, nil)}})); err != nil || code != 200 {
		t.Fatalf("the POST: %d %v", code, err)
	}
	c.Kill()
	rcv.Fail(false)
	startChild(t, bin, opts)
	rcv.Wait(t, "the 20 acknowledged messages after the crash", func() bool {
		seen := map[string]bool{}
		for _, e := range rcv.messages {
			seen[e.Message.ID] = true
		}
		return len(seen) == 20
	})
}

// BenchmarkMetaAck measures the path Meta waits on: signed POSTs of 1 and
// of 100 changes (each a status of its own message) to /meta/webhook of a
// real serve on SQLite, 16 at a time, while the platform delivers them to
// a sink; it reports acknowledgements (200s) per second, changes per
// second and the p50/p99 time to the 200.
//
//	go test -run '^$' -bench MetaAck -benchtime 2000x ./internal/cli/
func BenchmarkMetaAck(b *testing.B) {
	s := startServe(b, serveOpts{Env: metaEnv})
	sink := newReceiver(b, "")
	sink.Behave(func(w http.ResponseWriter, r *http.Request, n int) bool { w.WriteHeader(http.StatusOK); return true })
	s.Register(s.Key, sink)
	p := s.Phone()
	n := metatest.Number{PhoneNumberID: p.ID, DisplayPhoneNumber: strings.TrimPrefix(p.Display, "+")}
	m := &metatest.Meta{AppSecret: testMetaSecret, URL: s.URL + "/meta/webhook",
		Client: &http.Client{Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 64}}}
	var seq atomic.Int64
	for _, changes := range []int{1, 100} {
		b.Run(fmt.Sprintf("changes=%d", changes), func(b *testing.B) {
			var mu sync.Mutex
			var acks []time.Duration
			b.SetParallelism(8)
			start := time.Now()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				ctx := context.Background()
				for pb.Next() {
					var cs []metatest.Change
					for range changes {
						id := seq.Add(1)
						cs = append(cs, metatest.Messages(n, nil, nil,
							[]json.RawMessage{metatest.Status(fmt.Sprintf("wamid.bench-%d", id), "254711000001", "delivered", 1700000000)}))
					}
					body := metatest.Notification(metatest.Entry{ID: p.WABA, Changes: cs})
					t0 := time.Now()
					code, err := m.Post(ctx, body)
					d := time.Since(t0)
					if err != nil || code != 200 {
						b.Errorf("POST: %d %v", code, err)
						return
					}
					mu.Lock()
					acks = append(acks, d)
					mu.Unlock()
				}
			})
			b.StopTimer()
			elapsed := time.Since(start)
			slices.Sort(acks)
			if len(acks) == 0 {
				return
			}
			b.ReportMetric(float64(len(acks))/elapsed.Seconds(), "acks/s")
			b.ReportMetric(float64(len(acks)*changes)/elapsed.Seconds(), "changes/s")
			b.ReportMetric(float64(acks[len(acks)/2].Microseconds())/1000, "ack-p50-ms")
			b.ReportMetric(float64(acks[len(acks)*99/100].Microseconds())/1000, "ack-p99-ms")
		})
	}
}

// Meta's statuses follow the ordering rules of any status: a message's
// status never goes backwards at the receiver, the earlier ones that come
// after a later one are superseded.
func TestMetaStatusOrdering(t *testing.T) {
	t.Parallel()
	s, rcv := setup(t, serveOpts{Env: metaEnv})
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	p := s.Phone()
	n := metatest.Number{PhoneNumberID: p.ID, DisplayPhoneNumber: strings.TrimPrefix(p.Display, "+")}
	m := &metatest.Meta{AppSecret: testMetaSecret, URL: s.URL + "/meta/webhook"}
	now := time.Now().Unix()
	for _, status := range []string{"read", "delivered", "sent"} {
		body := metatest.Notification(metatest.Entry{ID: p.WABA, Changes: []metatest.Change{metatest.Messages(n, nil, nil,
			[]json.RawMessage{metatest.Status("wamid.meta-ORD", "254711000001", status, now)})}})
		if _, err := m.Deliver(ctx, body); err != nil {
			t.Fatal(err)
		}
	}
	eventually(t, "read delivered, delivered and sent superseded", func() (bool, string) {
		ds := s.Deliveries(s.Key, "")
		states := map[string]int{}
		for _, d := range ds {
			states[d["state"].(string)]++
		}
		return states["delivered"] == 1 && states["superseded"] == 2, fmt.Sprint(states)
	})
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	if len(rcv.statuses) != 1 || rcv.statuses[0].Status.Status != "read" {
		t.Fatalf("the receiver got %v", rcv.statusesOfLocked("wamid.meta-ORD"))
	}
}
