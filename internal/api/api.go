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
	"crypto/subtle"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

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
	v1 := func(pattern string, h func(http.ResponseWriter, *http.Request, bahasha.Account) error) {
		mux.Handle(pattern, a.authenticated(h))
	}
	if a.svc.Listen != nil {
		v1("GET /v1/listen", a.svc.Listen)
	}
	v1("GET /v1/phone_numbers", a.listPhoneNumbers)
	v1("POST /v1/phone_numbers", a.addPhoneNumber)
	v1("GET /v1/webhooks", a.listEndpoints)
	v1("POST /v1/webhooks", a.createEndpoint)
	v1("GET /v1/webhooks/{id}", a.endpointRoute(a.svc.Registration.Get, endpointView))
	v1("PATCH /v1/webhooks/{id}", a.patchEndpoint)
	v1("DELETE /v1/webhooks/{id}", a.deleteEndpoint)
	v1("POST /v1/webhooks/{id}/verify", a.endpointRoute(a.reverify, endpointView))
	v1("GET /v1/webhooks/{id}/secret", a.endpointRoute(a.svc.Registration.Get, secretView))
	v1("POST /v1/webhooks/{id}/secret/rotate", a.endpointRoute(a.svc.Registration.RotateSecret, secretView))
	v1("GET /v1/webhook", a.getWebhook)
	v1("PUT /v1/webhook", a.putWebhook)
	v1("DELETE /v1/webhook", a.deleteWebhook)
	v1("GET /v1/webhook/secret", a.getSecret)
	v1("POST /v1/webhook/secret/rotate", a.rotateSecret)
	v1("GET /v1/webhook/deliveries", a.listDeliveries)
	v1("GET /v1/webhook/deliveries/{id}", a.getDelivery)
	v1("POST /v1/webhook/deliveries/{id}/retry", a.retryDelivery)
	v1("POST /v1/webhook/replay", a.replay)
	v1("GET /v1/webhook/replays", a.listReplays)
	v1("GET /v1/webhook/replays/{id}", a.getReplay)
	v1("POST /v1/events", a.ingestEvents)
	v1("POST /v1/{phone_number_id}/messages", a.sendMessage)
	v1("POST /v1/{phone_number_id}/sandbox/inbound", a.sandboxInbound)
	v1("POST /v1/{phone_number_id}/media", a.uploadMedia)
	// The Graph API's webhook overrides (graph.go). GET /v1/{waba_id}/{edge}
	// stands for GET /v1/{waba_id}/subscribed_apps, which would conflict
	// with GET /v1/webhooks/{id}.
	v1("GET /v1/{phone_number_id}", a.graph(a.getNumberNode))
	v1("POST /v1/{phone_number_id}", a.graph(a.setNumberOverride))
	subscribedApps := a.graph(a.getSubscribedApps)
	v1("GET /v1/{waba_id}/{edge}", func(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
		// GET /v1/{waba_id}/message_templates: a live WABA's templates, from
		// Meta (the pattern would conflict with /v1/webhooks/{id}).
		if r.PathValue("edge") == "message_templates" {
			return a.listTemplates(w, r, acc)
		}
		return subscribedApps(w, r, acc)
	})
	v1("POST /v1/{waba_id}/subscribed_apps", a.graph(a.setWABAOverride))
	mux.HandleFunc("/v1/", a.noRoute)
	mux.Handle("POST /admin/v1/accounts", a.admin(a.createAccount))
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

// authenticated resolves the Bearer API key to its account.
func (a *API) authenticated(h func(http.ResponseWriter, *http.Request, bahasha.Account) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := bearer(r)
		if !ok {
			w.Header().Set("WWW-Authenticate", `Bearer realm="bahasha"`)
			writeError(w, r, a.log, problem.New(http.StatusUnauthorized, "unauthorized", "send your API key in the Authorization header: Authorization: Bearer <key>"))
			return
		}
		acc, err := a.store.AccountByKeyHash(r.Context(), accounts.HashKey(key))
		if err != nil {
			if problem.Classify(err).Status == http.StatusNotFound {
				err = problem.New(http.StatusUnauthorized, "unauthorized", "the API key is not valid; use the key printed when the account was created")
			}
			w.Header().Set("WWW-Authenticate", `Bearer realm="bahasha", error="invalid_token"`)
			writeError(w, r, a.log, err)
			return
		}
		if err := h(w, r, acc); err != nil {
			writeError(w, r, a.log, err)
		}
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

func bearer(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, key, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	key = strings.TrimSpace(key)
	return key, key != ""
}
