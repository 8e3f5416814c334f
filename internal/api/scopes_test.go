package api_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/access"
	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/server"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlite"
)

// scopeOf maps api.go's scope sets to the scopes they accept.
var scopeOf = map[string][]bahasha.KeyScope{
	"anyScope": {bahasha.ScopeFull, bahasha.ScopeSend, bahasha.ScopeRead},
	"reading":  {bahasha.ScopeFull, bahasha.ScopeRead},
	"sending":  {bahasha.ScopeFull, bahasha.ScopeSend},
	"fullOnly": {bahasha.ScopeFull},
}

// routeScopes is the README's table of which key scope may use which
// route; TestScopes fails when api.go declares a route otherwise.
var routeScopes = map[string]string{
	"GET /v1/listen":                             "fullOnly",
	"GET /v1/phone_numbers":                      "anyScope",
	"POST /v1/phone_numbers":                     "fullOnly",
	"GET /v1/webhooks":                           "reading",
	"POST /v1/webhooks":                          "fullOnly",
	"GET /v1/webhooks/{id}":                      "reading",
	"PATCH /v1/webhooks/{id}":                    "fullOnly",
	"DELETE /v1/webhooks/{id}":                   "fullOnly",
	"POST /v1/webhooks/{id}/verify":              "fullOnly",
	"GET /v1/webhooks/{id}/secret":               "fullOnly",
	"POST /v1/webhooks/{id}/secret/rotate":       "fullOnly",
	"GET /v1/webhook":                            "reading",
	"PUT /v1/webhook":                            "fullOnly",
	"DELETE /v1/webhook":                         "fullOnly",
	"GET /v1/webhook/secret":                     "fullOnly",
	"POST /v1/webhook/secret/rotate":             "fullOnly",
	"GET /v1/webhook/deliveries":                 "reading",
	"GET /v1/webhook/deliveries/{id}":            "reading",
	"POST /v1/webhook/deliveries/{id}/retry":     "fullOnly",
	"POST /v1/webhook/replay":                    "fullOnly",
	"GET /v1/webhook/replays":                    "reading",
	"GET /v1/webhook/replays/{id}":               "reading",
	"GET /v1/api_keys":                           "fullOnly",
	"POST /v1/api_keys":                          "fullOnly",
	"DELETE /v1/api_keys/{id}":                   "fullOnly",
	"GET /v1/audit_log":                          "reading",
	"POST /v1/events":                            "fullOnly",
	"POST /v1/{phone_number_id}/messages":        "sending",
	"POST /v1/{phone_number_id}/sandbox/inbound": "fullOnly",
	"POST /v1/{phone_number_id}/media":           "sending",
	"GET /v1/{phone_number_id}":                  "reading",
	"POST /v1/{phone_number_id}":                 "fullOnly",
	"GET /v1/{waba_id}/{edge}":                   "anyScope",
	"POST /v1/{waba_id}/subscribed_apps":         "fullOnly",
}

// TestScopes calls every /v1 route with a key of each scope: exactly the
// scopes the table allows get past the scope check (403
// insufficient_scope otherwise), and a refused call records nothing.
func TestScopes(t *testing.T) {
	src, err := os.ReadFile("api.go")
	if err != nil {
		t.Fatal(err)
	}
	declared := regexp.MustCompile(`v1\("([A-Z]+ [^"]+)", (\w+),`).FindAllStringSubmatch(string(src), -1)
	if len(declared) != len(routeScopes) {
		t.Errorf("api.go declares %d routes, the table has %d", len(declared), len(routeScopes))
	}
	for _, d := range declared {
		if routeScopes[d[1]] != d[2] {
			t.Errorf("%s is declared %s, the table says %q", d[1], d[2], routeScopes[d[1]])
		}
	}
	ctx := context.Background()
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(t.TempDir(), "s.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	c, err := accounts.Create(ctx, st, accounts.Params{Name: "S", Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	p, err := server.Build(st, server.Options{Waker: nopWaker{}})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[bahasha.KeyScope]string{}
	for _, sc := range bahasha.KeyScopes {
		_, key, err := p.Access.CreateKey(ctx, access.Operator, access.CreateKeyParams{AccountID: c.Account.ID, Name: string(sc), Scope: sc})
		if err != nil {
			t.Fatal(err)
		}
		keys[sc] = key
	}
	entries := func() int {
		es, _ := st.AuditLog(ctx, store.AuditLogParams{AccountID: c.Account.ID, Limit: 1000})
		return len(es)
	}
	for route, set := range routeScopes {
		method, path, _ := strings.Cut(route, " ")
		path = strings.NewReplacer("{id}", "1", "{phone_number_id}", c.PhoneNumber.ID, "{waba_id}", c.PhoneNumber.WABAID,
			"{edge}", "message_templates").Replace(path)
		for _, sc := range bahasha.KeyScopes {
			before := entries()
			req := httptest.NewRequest(method, path, strings.NewReader("{}"))
			req.Header.Set("Authorization", "Bearer "+keys[sc])
			rec := httptest.NewRecorder()
			p.API.ServeHTTP(rec, req)
			refused := rec.Code == http.StatusForbidden && strings.Contains(rec.Body.String(), "insufficient_scope")
			allowed := false
			for _, a := range scopeOf[set] {
				allowed = allowed || a == sc
			}
			if refused == allowed {
				t.Errorf("%s with a %s key: %d %s", route, sc, rec.Code, rec.Body)
			}
			if refused && entries() != before {
				t.Errorf("%s with a %s key was refused but recorded a change", route, sc)
			}
		}
	}
	// GET /v1/{waba_id}/subscribed_apps, behind the same pattern, is
	// webhook settings: not for a send key.
	req := httptest.NewRequest("GET", "/v1/"+c.PhoneNumber.WABAID+"/subscribed_apps", nil)
	req.Header.Set("Authorization", "Bearer "+keys[bahasha.ScopeSend])
	rec := httptest.NewRecorder()
	p.API.ServeHTTP(rec, req)
	if rec.Code != http.StatusForbidden {
		t.Errorf("subscribed_apps with a send key: %d", rec.Code)
	}
}
