package cli_test

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bahasha/bahasha/sdk/webhook"
)

// opsEvent is an operational event as an endpoint gets it.
type opsEvent struct {
	Object    string         `json:"object"`
	ID        string         `json:"id"`
	Type      string         `json:"type"`
	CreatedAt time.Time      `json:"created_at"`
	Data      map[string]any `json:"data"`
}

// opsReceiver is an endpoint that asked for operational events only; it
// answers every POST 200 and keeps them.
func opsReceiver(t *testing.T, s *server) *receiver {
	t.Helper()
	ops := newReceiver(t, s.Secret(s.Key))
	ops.Behave(func(w http.ResponseWriter, r *http.Request, n int) bool {
		w.WriteHeader(http.StatusOK)
		return true
	})
	s.createEndpoint(s.Key, ops, map[string]any{"events": []string{"operational"}, "description": "ops"})
	return ops
}

// events are the operational events ops got, in order; each POST must be
// one, signed with the account's app secret.
func (rcv *receiver) opsEvents(t *testing.T, appSecret string) []opsEvent {
	t.Helper()
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	var out []opsEvent
	for _, p := range rcv.posts {
		var e opsEvent
		if err := json.Unmarshal(p.Body, &e); err != nil || e.Object != "bahasha" || !strings.HasPrefix(e.ID, "op_") {
			t.Fatalf("not an operational event: %s", p.Body)
		}
		if got := p.Header.Get("X-Hub-Signature-256"); got != webhook.Sign(appSecret, p.Body) {
			t.Fatalf("operational event %s signed %q", e.ID, got)
		}
		out = append(out, e)
	}
	return out
}

func opsTypes(evs []opsEvent) []string {
	var out []string
	for _, e := range evs {
		out = append(out, e.Type)
	}
	return out
}

// Each operational event is produced end to end, once per change of
// state, only to the endpoint that asked: a receiver that fails (the
// breaker opens: endpoint.failing, once however many attempts fail),
// recovers, answers 410 (endpoint.disabled), is enabled again, and fails
// a re-verification.
func TestOperationalEvents(t *testing.T) {
	t.Parallel()
	s, rcv := setup(t, serveOpts{})
	secret := s.Secret(s.Key)
	ops := opsReceiver(t, s)
	primary := s.primaryID()
	wait := func(what string, n int) []opsEvent {
		t.Helper()
		var evs []opsEvent
		eventually(t, what, func() (bool, string) {
			evs = ops.opsEvents(t, secret)
			return len(evs) >= n, strings.Join(opsTypes(evs), ", ")
		})
		return evs
	}

	rcv.Fail(true)
	w := s.Send(s.Key, s.Phone().ID, "254712345678")
	evs := wait("endpoint.failing", 1)
	if e := evs[0]; e.Type != "endpoint.failing" || e.Data["endpoint_id"] != primary || e.Data["consecutive_failures"] != 5.0 ||
		!strings.Contains(e.Data["last_error"].(string), "500") {
		t.Fatalf("the failing event: %+v", e)
	}
	// More failed probes: no second endpoint.failing.
	eventually(t, "more failed attempts", func() (bool, string) {
		r := s.Do("GET", "/v1/webhooks/"+primary, nil)
		return r.Num("consecutive_failures") >= 8, r.String()
	})
	rcv.Fail(false)
	evs = wait("endpoint.recovered", 2)
	rcv.Wait(t, "the statuses", func() bool { return len(rcv.statusesOfLocked(w)) > 0 })

	var gone atomic.Bool
	gone.Store(true)
	rcv.Behave(func(w http.ResponseWriter, r *http.Request, n int) bool {
		if gone.Load() {
			http.Error(w, "gone", http.StatusGone)
			return true
		}
		return false
	})
	s.Send(s.Key, s.Phone().ID, "254712345679")
	evs = wait("endpoint.disabled", 3)
	if e := evs[2]; e.Type != "endpoint.disabled" || !strings.Contains(e.Data["reason"].(string), "410") {
		t.Fatalf("the disabled event: %+v", e)
	}
	gone.Store(false)
	if r := s.Do("PATCH", "/v1/webhooks/"+primary, map[string]any{"disabled": false}); r.Status != 200 {
		t.Fatalf("enabling: %s", r)
	}
	evs = wait("endpoint.enabled", 4)
	if e := evs[3]; e.Type != "endpoint.enabled" || !strings.Contains(e.Data["previous_reason"].(string), "410") {
		t.Fatalf("the enabled event: %+v", e)
	}
	if r := s.Do("PATCH", "/v1/webhooks/"+primary, map[string]any{"verify_token": "not-the-receivers-token"}); r.Status != 422 {
		t.Fatalf("a wrong token: %s", r)
	}
	evs = wait("endpoint.verification_failed", 5)
	if e := evs[4]; e.Type != "endpoint.verification_failed" || e.Data["reason"] == "" || strings.Contains(mustJSON(e), "not-the-receivers-token") {
		t.Fatalf("the verification event: %+v", e)
	}
	if got, want := opsTypes(evs), []string{"endpoint.failing", "endpoint.recovered", "endpoint.disabled", "endpoint.enabled", "endpoint.verification_failed"}; !slices.Equal(got, want) {
		t.Fatalf("operational events %v, want %v", got, want)
	}
	// The primary endpoint (no filter) never got one: its SDK handler
	// would have refused the body.
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	for _, p := range rcv.posts {
		if strings.Contains(string(p.Body), `"object":"bahasha"`) {
			t.Fatalf("the primary endpoint got an operational event: %s", p.Body)
		}
	}
}

// Deliveries given up at the end of their retry window are reported in
// one delivery.exhausted per turn, with their ids.
func TestDeliveryExhaustedEvent(t *testing.T) {
	t.Parallel()
	s, rcv := setup(t, serveOpts{Args: []string{"--retry-window", "1s", "--disable-after", "1h"}})
	ops := opsReceiver(t, s)
	rcv.Fail(true)
	s.Send(s.Key, s.Phone().ID, "254712345678")
	var ex []opsEvent
	eventually(t, "delivery.exhausted", func() (bool, string) {
		ex = ex[:0]
		for _, e := range ops.opsEvents(t, s.Secret(s.Key)) {
			if e.Type == "delivery.exhausted" {
				ex = append(ex, e)
			}
		}
		n := 0.0
		for _, e := range ex {
			n += e.Data["count"].(float64)
		}
		return n == 3, mustJSON(ex)
	})
	for _, e := range ex {
		ids := e.Data["delivery_ids"].([]any)
		if len(ids) != int(e.Data["count"].(float64)) || !strings.HasPrefix(ids[0].(string), "dlv_") {
			t.Fatalf("the exhausted event: %+v", e)
		}
		if r := s.Do("GET", "/v1/webhook/deliveries/"+ids[0].(string), nil); r.Str("state") != "failed" {
			t.Fatalf("an exhausted delivery: %s", r)
		}
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// GET /admin/v1/health gives the operator the platform-wide picture:
// backlog, lag, endpoints by health, the unhealthy ones with their
// accounts, and which node holds leases; only with the admin key.
func TestAdminHealth(t *testing.T) {
	t.Parallel()
	s, rcv := setup(t, serveOpts{Env: map[string]string{"BAHASHA_ADMIN_KEY": testAdminKey}})
	if r := s.DoAs(s.Key, "GET", "/admin/v1/health", nil); r.Status != 401 {
		t.Fatalf("with an account's key: %s", r)
	}
	r := s.DoAs(testAdminKey, "GET", "/admin/v1/health", nil)
	if r.Status != 200 || r.Num("backlog") != 0 || r.Num("endpoints.healthy") != 1 || r.Len("unhealthy_endpoints") != 0 {
		t.Fatalf("a healthy platform: %s", r)
	}
	primary := s.primaryID()
	rcv.Fail(true)
	s.Send(s.Key, s.Phone().ID, "254712345678")
	eventually(t, "the failing endpoint in the health view", func() (bool, string) {
		r = s.DoAs(testAdminKey, "GET", "/admin/v1/health", nil)
		return r.Len("unhealthy_endpoints") == 1 && r.Str("unhealthy_endpoints.0.id") == primary && r.Num("backlog") == 3 &&
			r.Str("unhealthy_endpoints.0.account_id") != "", r.String()
	})
	if h := r.Str("unhealthy_endpoints.0.health"); h != "failing" && h != "probing" {
		t.Errorf("its health: %s", r)
	}
	rcv.Fail(false)
	rcv.Wait(t, "the statuses", func() bool { return len(rcv.statuses) == 3 })
	// A node's leases show while it delivers; none is left afterwards.
	eventually(t, "no backlog", func() (bool, string) {
		r = s.DoAs(testAdminKey, "GET", "/admin/v1/health", nil)
		return r.Num("backlog") == 0 && r.Len("unhealthy_endpoints") == 0 && r.Num("lag_seconds") == 0, r.String()
	})
	s2 := startServe(t, serveOpts{})
	if r := s2.DoAs(testAdminKey, "GET", "/admin/v1/health", nil); r.Status != 404 || !strings.Contains(r.String(), "admin_disabled") {
		t.Fatalf("without BAHASHA_ADMIN_KEY: %s", r)
	}
}

// Deliveries that wait on a disabled endpoint until their retry window
// ends are given up by maintenance, unattempted; that raises
// delivery.exhausted too.
func TestExpiredWhileDisabledRaisesExhausted(t *testing.T) {
	t.Parallel()
	s, rcv := setup(t, serveOpts{Args: []string{"--retry-window", "2s", "--disable-after", "1h", "--max-batch", "1", "--max-in-flight", "1"}})
	ops := opsReceiver(t, s)
	rcv.Behave(func(w http.ResponseWriter, r *http.Request, n int) bool {
		http.Error(w, "gone", http.StatusGone)
		return true
	})
	s.Send(s.Key, s.Phone().ID, "254712345678")
	var ex []opsEvent
	eventually(t, "delivery.exhausted for the expired deliveries", func() (bool, string) {
		ex = ex[:0]
		for _, e := range ops.opsEvents(t, s.Secret(s.Key)) {
			if e.Type == "delivery.exhausted" {
				ex = append(ex, e)
			}
		}
		n := 0.0
		for _, e := range ex {
			n += e.Data["count"].(float64)
		}
		return n == 3, mustJSON(ex)
	})
	for _, e := range ex {
		if !strings.Contains(e.Data["last_error"].(string), "retry window") {
			t.Errorf("the exhausted event's last_error: %+v", e)
		}
		for _, id := range e.Data["delivery_ids"].([]any) {
			if r := s.Do("GET", "/v1/webhook/deliveries/"+id.(string), nil); r.Str("state") != "failed" {
				t.Fatalf("an exhausted delivery: %s", r)
			}
		}
	}
}
