package cli_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/store/pgtest"
)

// TestReplay exercises POST /v1/webhook/replay: a dry run counts the range's
// events, a replay re-sends delivered ones and sends those that came while
// no webhook was registered, in ingest order, and its progress reaches
// finished; bad requests are refused with a clear message.
func TestReplay(t *testing.T) {
	t.Parallel()
	testReplay(t, startServe(t, serveOpts{}))
}

// TestReplayOnPostgres: the same on PostgreSQL.
func TestReplayOnPostgres(t *testing.T) {
	t.Parallel()
	testReplay(t, startServe(t, serveOpts{Args: []string{"--database", pgtest.URL(t)}}))
}

func testReplay(t *testing.T, s *server) {
	phone := s.Phone()
	start := time.Now().UTC().Add(-time.Minute).Format(time.RFC3339)

	// Three events before any webhook: nothing to deliver them to.
	r := s.Do("POST", "/v1/events", map[string]any{"events": []any{
		statusEvent("before-1", phone.ID, "wamid.RP1", "sent"),
		statusEvent("before-2", phone.ID, "wamid.RP1", "delivered"),
		messageEvent("before-3", phone.ID, "wamid.RP-IN", "254712345678", "hello"),
	}})
	if r.Status != 202 || r.Get("results.0.delivery_id") != nil {
		t.Fatalf("ingest without a webhook: %s", r)
	}
	if r := s.Do("POST", "/v1/webhook/replay", map[string]any{"from": start}); r.Status != 404 || r.Str("error.code") != "no_webhook" {
		t.Fatalf("replay without a webhook: %s, want 404 no_webhook", r)
	}
	rcv := newReceiver(t, s.Secret(s.Key))
	s.Register(s.Key, rcv)
	r = s.Do("POST", "/v1/events", map[string]any{"events": []any{statusEvent("after-1", phone.ID, "wamid.RP1", "read")}})
	if r.Status != 202 {
		t.Fatalf("ingest: %s", r)
	}
	s.WaitDelivery(s.Key, r.Str("results.0.delivery_id"), "the read status delivered", func(d *apiResp) bool { return d.Str("state") == "delivered" })

	dry := s.Do("POST", "/v1/webhook/replay", map[string]any{"from": start, "dry_run": true})
	if dry.Status != 200 || dry.Num("events") != 4 {
		t.Fatalf("dry run: %s, want 4 events", dry)
	}
	if r := s.Do("POST", "/v1/webhook/replay", map[string]any{"from": start, "only_failed": true, "dry_run": true}); r.Status != 200 || r.Num("events") != 0 {
		t.Fatalf("dry run of failed ones: %s, want 0", r)
	}
	r = s.Do("POST", "/v1/webhook/replay", map[string]any{"from": start})
	if r.Status != 202 || r.Num("total") != 4 || r.Header.Get("Location") != "/v1/webhook/replays/"+r.Str("id") {
		t.Fatalf("replay: %s (Location %q)", r, r.Header.Get("Location"))
	}
	id := r.Str("id")
	var done *apiResp
	eventually(t, "the replay to finish", func() (bool, string) {
		done = s.Do("GET", "/v1/webhook/replays/"+id, nil)
		return done.Str("status") == "finished", done.String()
	})
	if done.Num("progress") != 1 || done.Num("delivered") != 4 || done.Num("done") != 4 || done.Num("pending") != 0 {
		t.Fatalf("finished replay: %s", done)
	}
	// The receiver saw sent, delivered, read again, in order, and the
	// message it had never seen.
	rcv.Wait(t, "the replayed events", func() bool { return len(rcv.statusesOfLocked("wamid.RP1")) == 4 && len(rcv.messages) == 1 })
	var got []string
	for _, st := range rcv.statusesOfLocked("wamid.RP1") {
		got = append(got, string(st))
	}
	if want := []string{"read", "sent", "delivered", "read"}; !slices.Equal(got, want) {
		t.Fatalf("statuses at the receiver: %v, want %v", got, want)
	}
	if l := s.Do("GET", "/v1/webhook/replays", nil); l.Status != 200 || l.Len("data") != 1 || l.Str("data.0.id") != id {
		t.Fatalf("list of replays: %s", l)
	}

	// Deliveries filtered by time.
	if d := s.Deliveries(s.Key, "&since="+url.QueryEscape(start)); len(d) != 4 {
		t.Fatalf("deliveries since the start: %d, want 4", len(d))
	}
	if d := s.Deliveries(s.Key, "&until="+url.QueryEscape(start)); len(d) != 0 {
		t.Fatalf("deliveries until the start: %d, want 0", len(d))
	}

	// Bad requests.
	for _, tc := range []struct {
		body any
		want string
	}{
		{map[string]any{}, `"from" is required`},
		{map[string]any{"from": "yesterday"}, `"from" must be an RFC 3339 time`},
		{map[string]any{"from": start, "to": "2020-01-01T00:00:00Z"}, `must be before "to"`},
		{map[string]any{"from": start, "until": start}, `unknown field`},
	} {
		r := s.Do("POST", "/v1/webhook/replay", tc.body)
		if r.Status != 400 || !strings.Contains(r.Str("error.message"), tc.want) {
			t.Errorf("POST /v1/webhook/replay %v: %s, want 400 saying %q", tc.body, r, tc.want)
		}
	}
	for _, path := range []string{"/v1/webhook/replays/rpl_999", "/v1/webhook/replays/nope"} {
		if r := s.Do("GET", path, nil); r.Status != 404 {
			t.Errorf("GET %s: %s, want 404", path, r)
		}
	}
	if r := s.Do("GET", "/v1/webhook/deliveries?since=soon", nil); r.Status != 400 || !strings.Contains(r.Str("error.message"), "RFC 3339") {
		t.Errorf("deliveries?since=soon: %s, want 400", r)
	}
}
