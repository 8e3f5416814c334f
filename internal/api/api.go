// Package api is Bahasha's HTTP API: /v1 for businesses (phone numbers,
// webhook registration with the verification handshake, the app secret, the
// WhatsApp Cloud API compatible Messages API with its sandbox carrier, the
// producer event ingest, deliveries and retries) and /admin/v1 for operators.
//
// Every /v1 route needs "Authorization: Bearer <API key>" and sees only the
// key's account. Errors are JSON {"error":{"code":…,"message":…}} whose
// message says how to fix the problem; the Messages API answers validation
// errors in the Cloud API's own shape instead.
package api

import (
	"context"
	"crypto/subtle"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/access"
	"github.com/bahasha/bahasha/internal/listen"
	"github.com/bahasha/bahasha/internal/remoteaddr"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/graph"
	"github.com/bahasha/bahasha/internal/messaging"
	"github.com/bahasha/bahasha/internal/meta"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/registration"
	"github.com/bahasha/bahasha/internal/replay"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/tokenbox"
)

// Config configures the API. Zero fields take the documented defaults.
type Config struct {
	// AdminKey enables /admin/v1 when not empty.
	AdminKey string
	// MaxBodyBytes caps request bodies. Default 1 MiB.
	MaxBodyBytes int64
	// MaxEventsBodyBytes caps POST /v1/events bodies. Default 8 MiB.
	MaxEventsBodyBytes int64
	// MaxEventsPerBatch caps the events of one POST /v1/events. Default 1000.
	MaxEventsPerBatch int
	// TrustedProxies are the proxies whose X-Forwarded-For names the
	// client, for the audit log. Default none.
	TrustedProxies []netip.Prefix
	// PublicURL is the dashboard's address for the owner links the admin
	// API makes. Default: the request's.
	PublicURL string
}

// Waker is told that new deliveries may be due.
type Waker interface{ Wake() }

// Services are the operations the API serves.
type Services struct {
	Messaging    *messaging.Service
	Replay       *replay.Service
	Registration *registration.Service
	// Listen, when set, serves GET /v1/listen, bahasha listen's
	// WebSocket, for the authenticated account (internal/listen's
	// Hub.Serve).
	Listen func(http.ResponseWriter, *http.Request, bahasha.Account) error
	// Meta, when set, serves the admin API's unrouted changes of Meta's
	// webhooks.
	Meta *meta.Router
	// Graph, when set, sends live numbers' requests to Meta's Graph API;
	// Tokens opens their access tokens (nil without BAHASHA_TOKEN_KEY).
	Graph  *graph.Client
	Tokens *tokenbox.Box
	// Access manages API keys and records the audit log; Touches records
	// when keys were last used. Both are required.
	Access  *access.Service
	Touches *access.Touches
}

// API serves the HTTP API. Build it with New.
type API struct {
	cfg   Config
	store store.Store
	svc   Services
	waker Waker
	now   func() time.Time
	rand  io.Reader
	log   *slog.Logger
	mux   *http.ServeMux
}

// New returns the API over the store and the operations. waker is told of
// ingested events; now is the clock; rand the randomness for secrets
// (crypto/rand in production).
func New(cfg Config, s store.Store, svc Services, waker Waker, now func() time.Time, rand io.Reader, log *slog.Logger) *API {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 1 << 20
	}
	if cfg.MaxEventsBodyBytes <= 0 {
		cfg.MaxEventsBodyBytes = 8 << 20
	}
	if cfg.MaxEventsPerBatch <= 0 {
		cfg.MaxEventsPerBatch = 1000
	}
	if log == nil {
		log = slog.Default()
	}
	a := &API{cfg: cfg, store: s, svc: svc, waker: waker, now: now, rand: rand, log: log, mux: http.NewServeMux()}
	a.routes(a.mux)
	return a
}

// ServeHTTP serves /v1/ and /admin/v1/: the routes, and for any other path
// under them a JSON 404, or 405 with Allow for a known path.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) { a.mux.ServeHTTP(w, r) }

// routes adds the API's routes to mux.
func (a *API) routes(mux *http.ServeMux) {
	// Each route names the key scopes that may use it (README: "API keys"),
	// and each change the audit log records it as.
	v1 := func(pattern string, scopes []bahasha.KeyScope, au audited, h func(http.ResponseWriter, *http.Request, bahasha.Account) error) {
		mux.Handle(pattern, a.authenticated(scopes, au, h))
	}
	none := audited{}
	if a.svc.Listen != nil {
		v1("GET /v1/listen", fullOnly, none, func(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
			// The session lives on after this check: the hub checks the
			// key again at every heartbeat, so a revoked key ends it.
			hash := accounts.HashKey(bearerKey(r))
			return a.svc.Listen(w, r.WithContext(listen.WithCredential(r.Context(), func(ctx context.Context) error {
				_, _, err := a.store.KeyByHash(ctx, hash)
				return err
			})), acc)
		})
	}
	v1("GET /v1/phone_numbers", anyScope, none, a.listPhoneNumbers)
	v1("POST /v1/phone_numbers", fullOnly, audited{"phone_number.added", ""}, a.addPhoneNumber)
	v1("GET /v1/webhooks", reading, none, a.listEndpoints)
	v1("POST /v1/webhooks", fullOnly, audited{"endpoint.created", ""}, a.createEndpoint)
	v1("GET /v1/webhooks/{id}", reading, none, a.endpointRoute(a.svc.Registration.Get, endpointView))
	v1("PATCH /v1/webhooks/{id}", fullOnly, audited{"endpoint.updated", "id"}, a.patchEndpoint)
	v1("DELETE /v1/webhooks/{id}", fullOnly, audited{"endpoint.removed", "id"}, a.deleteEndpoint)
	v1("POST /v1/webhooks/{id}/verify", fullOnly, audited{"endpoint.verified", "id"}, a.endpointRoute(a.reverify, endpointView))
	v1("GET /v1/webhooks/{id}/secret", fullOnly, audited{"endpoint.secret_revealed", "id"}, a.endpointRoute(a.svc.Registration.Get, secretView))
	v1("POST /v1/webhooks/{id}/secret/rotate", fullOnly, audited{"endpoint.secret_rotated", "id"}, a.endpointRoute(a.svc.Registration.RotateSecret, secretView))
	v1("GET /v1/webhook", reading, none, a.getWebhook)
	v1("PUT /v1/webhook", fullOnly, audited{"webhook.updated", ""}, a.putWebhook)
	v1("DELETE /v1/webhook", fullOnly, audited{"webhook.removed", ""}, a.deleteWebhook)
	v1("GET /v1/webhook/secret", fullOnly, audited{"webhook.secret_revealed", ""}, a.getSecret)
	v1("POST /v1/webhook/secret/rotate", fullOnly, audited{"webhook.secret_rotated", ""}, a.rotateSecret)
	v1("GET /v1/webhook/deliveries", reading, none, a.listDeliveries)
	v1("GET /v1/webhook/deliveries/{id}", reading, none, a.getDelivery)
	v1("POST /v1/webhook/deliveries/{id}/retry", fullOnly, audited{"delivery.retried", "id"}, a.retryDelivery)
	v1("POST /v1/webhook/replay", fullOnly, audited{"replay.created", ""}, a.replay)
	v1("GET /v1/webhook/replays", reading, none, a.listReplays)
	v1("GET /v1/webhook/replays/{id}", reading, none, a.getReplay)
	v1("GET /v1/api_keys", fullOnly, none, a.listKeys)
	v1("POST /v1/api_keys", fullOnly, none, a.createKey)        // recorded by access
	v1("DELETE /v1/api_keys/{id}", fullOnly, none, a.revokeKey) // recorded by access
	v1("GET /v1/audit_log", reading, none, a.auditLog)
	v1("POST /v1/events", fullOnly, none, a.ingestEvents)
	v1("POST /v1/{phone_number_id}/messages", sending, none, a.sendMessage)
	v1("POST /v1/{phone_number_id}/sandbox/inbound", fullOnly, none, a.sandboxInbound)
	v1("POST /v1/{phone_number_id}/media", sending, none, a.uploadMedia)
	// The Graph API's webhook overrides (graph.go). GET /v1/{waba_id}/{edge}
	// stands for GET /v1/{waba_id}/subscribed_apps, which would conflict
	// with GET /v1/webhooks/{id}.
	v1("GET /v1/{phone_number_id}", reading, none, a.graph(a.getNumberNode))
	v1("POST /v1/{phone_number_id}", fullOnly, audited{"webhook_override.set", "phone_number_id"}, a.graph(a.setNumberOverride))
	subscribedApps := a.graph(a.getSubscribedApps)
	v1("GET /v1/{waba_id}/{edge}", anyScope, none, func(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
		// GET /v1/{waba_id}/message_templates: a live WABA's templates, from
		// Meta (the pattern would conflict with /v1/webhooks/{id}).
		if r.PathValue("edge") == "message_templates" {
			return a.listTemplates(w, r, acc)
		}
		if err := allows(callerOf(r).key, reading, r); err != nil {
			return err
		}
		return subscribedApps(w, r, acc)
	})
	v1("POST /v1/{waba_id}/subscribed_apps", fullOnly, audited{"webhook_override.set", "waba_id"}, a.graph(a.setWABAOverride))
	mux.HandleFunc("/v1/", a.noRoute)
	mux.Handle("POST /admin/v1/accounts", a.admin(a.createAccount))
	if a.svc.Access != nil {
		mux.Handle("POST /admin/v1/accounts/{id}/owners", a.admin(a.addOwner))
	}
	mux.Handle("GET /admin/v1/health", a.admin(a.health))
	mux.Handle("POST /admin/v1/phone_numbers", a.admin(a.attachNumber))
	mux.Handle("PUT /admin/v1/phone_numbers/{phone_number_id}/access_token", a.admin(a.setAccessToken))
	mux.Handle("GET /admin/v1/unrouted", a.admin(a.unrouted))
	mux.Handle("POST /admin/v1/unrouted/replay", a.admin(a.replayUnrouted))
	mux.HandleFunc("/admin/v1/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, r, a.log, problem.New(http.StatusNotFound, "not_found", "no such admin route: %s %s", r.Method, r.URL.Path))
	})
}

// noRoute answers a /v1/ request no route serves: 405 with Allow when the
// path has routes for other methods, else 404.
func (a *API) noRoute(w http.ResponseWriter, r *http.Request) {
	if allowed := allowedMethods(a.mux, r); len(allowed) > 0 {
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		writeError(w, r, a.log, problem.New(http.StatusMethodNotAllowed, "method_not_allowed", "%s is not allowed on %s; use %s", r.Method, r.URL.Path, strings.Join(allowed, " or ")))
		return
	}
	writeError(w, r, a.log, problem.New(http.StatusNotFound, "not_found", "no such API route: %s %s; see the README for the routes", r.Method, r.URL.Path))
}

// allowedMethods lists the methods for which mux has a route at r's path
// other than the catch-all (and other than a Graph route whose pattern
// matches the path but does not serve it, see serves), so that a wrong
// method gets 405, not 404.
func allowedMethods(mux *http.ServeMux, r *http.Request) []string {
	var allowed []string
	for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete} {
		if m == r.Method {
			continue
		}
		probe := r.Clone(r.Context())
		probe.Method = m
		if _, pattern := mux.Handler(probe); pattern != "" && pattern != "/v1/" && serves(pattern, probe) {
			allowed = append(allowed, m)
		}
	}
	return allowed
}

// authenticated resolves the Bearer API key to its account (a revoked key
// is refused at once: keys are not cached), checks the key's scope against
// the route's, and records an audited route's change.
func (a *API) authenticated(scopes []bahasha.KeyScope, au audited, h func(http.ResponseWriter, *http.Request, bahasha.Account) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bahasha"`)
			writeError(w, r, a.log, problem.New(http.StatusUnauthorized, "unauthorized", "send your API key in the Authorization header: Authorization: Bearer <key>"))
			return
		}
		k, acc, err := a.store.KeyByHash(r.Context(), accounts.HashKey(key))
		if err != nil {
			if problem.Classify(err).Status == http.StatusNotFound {
				err = problem.New(http.StatusUnauthorized, "unauthorized", "the API key is not valid or was revoked; use a key from Settings → API keys (or the one printed when the account was created)")
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="bahasha", error="invalid_token"`)
			writeError(w, r, a.log, err)
			return
		}
		if a.svc.Touches != nil {
			a.svc.Touches.Used(r.Context(), k.ID, a.now())
		}
		if err := allows(k, scopes, r); err != nil {
			writeError(w, r, a.log, err)
			return
		}
		r = r.WithContext(context.WithValue(r.Context(), callerKey{}, caller{key: k, addr: remoteaddr.Client(r, a.cfg.TrustedProxies)}))
		if au.action == "" {
			if err := h(w, r, acc); err != nil {
				writeError(w, r, a.log, err)
			}
			return
		}
		tee := &teeBody{ReadCloser: r.Body}
		r.Body = tee
		c := &auditCapture{ResponseWriter: w}
		if err := h(c, r, acc); err != nil {
			writeError(c, r, a.log, err)
		}
		a.record(r, acc, au, tee.kept.Bytes(), c)
	})
}

// admin checks the operator's admin key, in constant time.
func (a *API) admin(h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.AdminKey == "" {
			writeError(w, r, a.log, problem.New(http.StatusNotFound, "admin_disabled", "the admin API is disabled; start bahasha serve with BAHASHA_ADMIN_KEY set to enable it"))
			return
		}
		key, ok := bearer(r)
		if !ok || subtle.ConstantTimeCompare([]byte(key), []byte(a.cfg.AdminKey)) != 1 {
			writeError(w, r, a.log, problem.New(http.StatusUnauthorized, "unauthorized", "send the admin key (BAHASHA_ADMIN_KEY) as Authorization: Bearer <key>"))
			return
		}
		if err := h(w, r); err != nil {
			writeError(w, r, a.log, err)
		}
	})
}

func bearerKey(r *http.Request) string {
	k, _ := bearer(r)
	return k
}

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, key, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	key = strings.TrimSpace(key)
	return key, key != ""
}
