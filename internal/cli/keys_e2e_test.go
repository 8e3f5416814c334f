package cli_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
)

// TestAPIKeys: an account's keys are created with a name and a scope (the
// key shown once), limited to their scope on every route, listed with
// their last use, and refused the moment they are revoked; every change is
// in the audit log with the key that made it, and no secret.
func TestAPIKeys(t *testing.T) {
	t.Parallel()
	s := startServe(t, serveOpts{})
	p := s.Phone()
	rcv := newReceiver(t, s.Secret(s.Key))
	s.Register(s.Key, rcv)

	keys := map[string]string{}
	ids := map[string]string{}
	for _, scope := range []string{"full", "send", "read"} {
		r := s.Do("POST", "/v1/api_keys", map[string]string{"name": "the " + scope + " key", "scope": scope})
		if r.Status != 201 || r.Str("scope") != scope || !strings.HasPrefix(r.Str("key"), "bh_") || r.Str("id") == "" {
			t.Fatalf("POST /v1/api_keys %s: %s", scope, r)
		}
		keys[scope], ids[scope] = r.Str("key"), r.Str("id")
		if !strings.HasSuffix(r.Str("hint"), keys[scope][len(keys[scope])-4:]) {
			t.Fatalf("hint %q of key %q", r.Str("hint"), keys[scope])
		}
	}
	// Bad input: a clear 400.
	for _, body := range []any{map[string]string{"scope": "full"}, map[string]string{"name": "x", "scope": "admin"}, "not json", map[string]any{"name": "x", "extra": 1}} {
		if r := s.Do("POST", "/v1/api_keys", body); r.Status != 400 || r.Str("error.message") == "" {
			t.Fatalf("POST /v1/api_keys %v: %s", body, r)
		}
	}
	// Each scope on the routes it may and may not use.
	send := map[string]any{"messaging_product": "whatsapp", "to": "254711000001", "type": "text", "text": map[string]string{"body": "hi"}}
	for _, c := range []struct {
		scope, method, path string
		body                any
		want                int
	}{
		{"send", "POST", "/v1/" + p.ID + "/messages", send, 200},
		{"send", "GET", "/v1/phone_numbers", nil, 200},
		{"send", "GET", "/v1/webhook/deliveries", nil, 403},
		{"send", "PUT", "/v1/webhook", map[string]string{"url": rcv.URL, "verify_token": rcv.Token}, 403},
		{"send", "GET", "/v1/api_keys", nil, 403},
		{"read", "GET", "/v1/webhook/deliveries", nil, 200},
		{"read", "GET", "/v1/webhook", nil, 200},
		{"read", "GET", "/v1/webhooks", nil, 200},
		{"read", "GET", "/v1/audit_log", nil, 200},
		{"read", "GET", "/v1/webhook/secret", nil, 403},
		{"read", "POST", "/v1/webhook/secret/rotate", nil, 403},
		{"read", "POST", "/v1/" + p.ID + "/messages", send, 403},
		{"read", "POST", "/v1/api_keys", map[string]string{"name": "x"}, 403},
		{"read", "POST", "/v1/events", []any{}, 403},
		{"full", "GET", "/v1/webhook/secret", nil, 200},
		{"full", "GET", "/v1/api_keys", nil, 200},
	} {
		r := s.DoAs(keys[c.scope], c.method, c.path, c.body)
		if r.Status != c.want {
			t.Errorf("%s key: %s %s = %s, want %d", c.scope, c.method, c.path, r, c.want)
		}
		if c.want == 403 && (r.Str("error.code") != "insufficient_scope" || !strings.Contains(r.Str("error.message"), c.scope)) {
			t.Errorf("%s key: %s %s: %s", c.scope, c.method, c.path, r)
		}
	}
	// The list: newest first, with the bootstrap key, no key itself, and
	// when each was last used.
	list := s.Do("GET", "/v1/api_keys", nil)
	if list.Len("data") != 4 || list.Str("data.3.name") != "Bootstrap key" || list.Str("data.0.name") != "the read key" {
		t.Fatalf("GET /v1/api_keys: %s", list)
	}
	for _, k := range keys {
		if strings.Contains(string(list.Body), k) {
			t.Fatalf("a key in the list: %s", list)
		}
	}
	if list.Get("data.0.last_used_at") == nil || list.Get("data.3.last_used_at") == nil {
		t.Fatalf("last used not recorded: %s", list)
	}
	// Revoked: refused at once.
	if r := s.Do("DELETE", "/v1/api_keys/"+ids["send"], nil); r.Status != 200 || r.Get("revoked_at") == nil {
		t.Fatalf("DELETE /v1/api_keys: %s", r)
	}
	if r := s.DoAs(keys["send"], "POST", "/v1/"+p.ID+"/messages", send); r.Status != 401 {
		t.Fatalf("a revoked key: %s", r)
	}
	if r := s.Do("DELETE", "/v1/api_keys/"+ids["send"], nil); r.Status != 404 {
		t.Fatalf("revoking twice: %s", r)
	}
	// The audit log: the key that made each change, the changes' fields,
	// never a secret.
	full := keys["full"]
	if r := s.DoAs(full, "PATCH", "/v1/webhooks/"+primaryID(t, s), map[string]any{"description": "orders", "headers": map[string]string{"X-Api-Token": "hunter2-secret"}}); r.Status != 200 {
		t.Fatalf("PATCH: %s", r)
	}
	secret := s.DoAs(full, "POST", "/v1/webhook/secret/rotate", nil)
	if secret.Status != 200 {
		t.Fatalf("rotate: %s", secret)
	}
	audit := s.DoAs(keys["read"], "GET", "/v1/audit_log", nil)
	got := strings.Join(auditActions(audit), " ")
	want := "webhook.secret_rotated endpoint.updated api_key.revoked webhook.secret_revealed api_key.created api_key.created api_key.created webhook.updated webhook.secret_revealed"
	if got != want {
		t.Fatalf("audit actions:\n got %s\nwant %s", got, want)
	}
	if audit.Str("data.1.actor.name") != "the full key" || audit.Str("data.1.actor.type") != "key" || audit.Str("data.1.details.description") != "orders" ||
		audit.Str("data.1.details.headers.0") != "X-Api-Token" || audit.Str("data.1.address") == "" || audit.Str("data.1.target") != primaryID(t, s) {
		t.Fatalf("audit entry: %s", audit)
	}
	for _, secretValue := range []string{"hunter2-secret", secret.Str("secret"), rcv.Token, full} {
		if secretValue != "" && strings.Contains(string(audit.Body), secretValue) {
			t.Fatalf("a secret (%q) in the audit log: %s", secretValue, audit)
		}
	}
	// Filters and paging.
	if r := s.Do("GET", "/v1/audit_log?action=api_key&limit=2", nil); r.Len("data") != 2 || r.Str("data.0.action") != "api_key.revoked" || r.Get("next_before") == nil {
		t.Fatalf("filtered: %s", r)
	}
	if r := s.Do("GET", "/v1/audit_log?limit=0", nil); r.Status != 400 {
		t.Fatalf("bad limit: %s", r)
	}
	if r := s.Do("GET", "/v1/audit_log?from=yesterday", nil); r.Status != 400 {
		t.Fatalf("bad from: %s", r)
	}
}

func auditActions(r *apiResp) []string {
	var out []string
	for i := range r.Len("data") {
		out = append(out, r.Str("data."+strconv.Itoa(i)+".action"))
	}
	return out
}

// primaryID is the id of the account's primary endpoint.
func primaryID(t *testing.T, s *server) string {
	t.Helper()
	r := s.Do("GET", "/v1/webhooks", nil)
	if r.Len("data") == 0 {
		t.Fatalf("GET /v1/webhooks: %s", r)
	}
	return fmt.Sprint(r.Get("data.0.id"))
}
