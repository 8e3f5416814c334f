package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bahasha/bahasha/internal/access"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/messaging"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/registration"
	"github.com/bahasha/bahasha/internal/replay"
	"github.com/bahasha/bahasha/internal/safehttp"
	"github.com/bahasha/bahasha/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// ContentSecurityPolicy is sent with every dashboard response: scripts,
// styles and connections only from the dashboard's own origin, no inline
// script or style, no framing.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// CookieName is the session cookie's name.
const CookieName = "bahasha_session"

// Config configures the dashboard. Zero fields take the documented defaults.
type Config struct {
	// UserAgent is the User-Agent deliveries are sent with, shown among a
	// delivery's headers. Default safehttp.DefaultUserAgent.
	UserAgent string
	// TrustedProxies are the proxies in front of the dashboard whose
	// X-Forwarded-For names the client, for the sign-in limit. Default
	// none: the limit counts the address the request came from.
	TrustedProxies []netip.Prefix
	// SessionTTL is how long a sign-in lasts. Default 12h.
	SessionTTL time.Duration
	// StreamInterval is how often a live view (deliveries, replay progress)
	// reads the store again. Default 1s.
	StreamInterval time.Duration
	// StreamLifetime ends a live view's stream after this long; the browser
	// reconnects, and the session is checked again. Default 5m.
	StreamLifetime time.Duration
	// MaxFormBytes caps form bodies. Default 64 KiB.
	MaxFormBytes int64
	// PageSize is how many deliveries a page lists. Default 50.
	PageSize int
	// MaxFailedSignins wrong API keys from one address within
	// FailedSigninWindow make it wait until the window has passed.
	// Defaults 10 and 1m.
	MaxFailedSignins   int
	FailedSigninWindow time.Duration
	// AdminKey (BAHASHA_ADMIN_KEY) opens the operator's pages under
	// /operator; only its hash is kept. Default none: they answer 404.
	AdminKey string
	// KeySignin also lets an API key sign in (serve
	// --dashboard-key-signin, for single-person setups): a full key as an
	// owner, a read key as a viewer. Default off: members sign in.
	KeySignin bool
	// PublicURL is the dashboard's address as its users reach it
	// (https://bahasha.example.com), for the links it e-mails and shows.
	// Default: the address of the request (never used for e-mail).
	PublicURL string
}

// Waker is told that new deliveries may be due (the delivery engine).
type Waker interface{ Wake() }

// Dashboard serves the dashboard: an http.Handler (see ServeHTTP). Build it
// with New.
type Dashboard struct {
	cfg   Config
	store store.Store
	svc   Services
	waker Waker
	now   func() time.Time
	rand  io.Reader
	log   *slog.Logger

	pages  map[string]*template.Template
	assets map[string]asset
	cop    *http.CrossOriginProtection
	mux    *http.ServeMux

	closing   chan struct{}
	closeOnce sync.Once
	// signins limits failed sign-ins per client address, emailSignins per
	// email.
	signins, emailSignins *failureLimit
	// mail sends invitations and resets (nil without --smtp-url); mailing
	// counts the resets being sent after their answer.
	mail    access.Mailer
	mailing sync.WaitGroup
	// adminKeyHash is the admin key's hash, nil when there is none.
	adminKeyHash []byte
}

// asset is an embedded static file.
type asset struct {
	body        []byte
	contentType string
	version     string
}

// Services are the operations the dashboard's forms run, the same the API
// runs.
type Services struct {
	Messaging    *messaging.Service
	Replay       *replay.Service
	Registration *registration.Service
	// Access signs members in and manages members and keys (nil: only
	// API-key sign-in, for tests of the pages alone).
	Access *access.Service
	// Mail, when set, e-mails invitations and password resets.
	Mail access.Mailer
}

// New returns the dashboard over the store and the operations; waker is
// told about new work; now is the clock, rand the randomness for session
// tokens and secrets (crypto/rand in production).
func New(cfg Config, s store.Store, svc Services, waker Waker, now func() time.Time, rand io.Reader, log *slog.Logger) *Dashboard {
	if cfg.UserAgent == "" {
		cfg.UserAgent = safehttp.DefaultUserAgent
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.StreamInterval <= 0 {
		cfg.StreamInterval = time.Second
	}
	if cfg.StreamLifetime <= 0 {
		cfg.StreamLifetime = 5 * time.Minute
	}
	if cfg.MaxFormBytes <= 0 {
		cfg.MaxFormBytes = 64 << 10
	}
	if cfg.PageSize <= 0 {
		cfg.PageSize = 50
	}
	if cfg.MaxFailedSignins <= 0 {
		cfg.MaxFailedSignins = 10
	}
	if cfg.FailedSigninWindow <= 0 {
		cfg.FailedSigninWindow = time.Minute
	}
	if log == nil {
		log = slog.Default()
	}
	d := &Dashboard{cfg: cfg, store: s, svc: svc, waker: waker, now: now, rand: rand, log: log,
		closing: make(chan struct{}), signins: newFailureLimit(cfg.MaxFailedSignins, cfg.FailedSigninWindow),
		emailSignins: newFailureLimit(cfg.MaxFailedSignins, cfg.FailedSigninWindow), mail: svc.Mail}
	if cfg.AdminKey != "" {
		d.adminKeyHash = accounts.HashKey(cfg.AdminKey)
		d.cfg.AdminKey = ""
	}
	d.assets = loadAssets()
	d.pages = parseTemplates(d.funcs())
	d.cop = http.NewCrossOriginProtection()
	d.mux = http.NewServeMux()
	d.routes(d.mux)
	d.cop.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		d.renderProblem(w, r, nil, problem.New(http.StatusForbidden, "cross_origin",
			"This form was sent from another site, so Bahasha refused it. Open the dashboard and submit the form from there."))
	}))
	return d
}

// ServeHTTP serves the dashboard: the pages listed in the package
// documentation, /static/ for its script and stylesheet, and its own 404
// page for any other path.
func (d *Dashboard) ServeHTTP(w http.ResponseWriter, r *http.Request) { d.mux.ServeHTTP(w, r) }

// routes adds the dashboard's routes to mux.
func (d *Dashboard) routes(mux *http.ServeMux) {
	// Every page names the least role that may use it (README: "Roles"),
	// and every change the audit log records it as (audit.go).
	page := func(pattern string, need bahasha.Role, h handlerFunc) {
		mux.Handle(pattern, d.protect(d.authed(need, d.audited(pattern, h))))
	}
	viewer, developer, owner := bahasha.RoleViewer, bahasha.RoleDeveloper, bahasha.RoleOwner
	mux.Handle("GET /signin", d.protect(http.HandlerFunc(d.signinPage)))
	mux.Handle("POST /signin", d.protect(http.HandlerFunc(d.signin)))
	mux.Handle("POST /signout", d.protect(http.HandlerFunc(d.signout)))
	mux.Handle("GET /welcome", d.protect(http.HandlerFunc(d.welcomePage)))
	mux.Handle("POST /welcome", d.protect(http.HandlerFunc(d.welcome)))
	mux.Handle("GET /signin/reset", d.protect(http.HandlerFunc(d.resetPage)))
	mux.Handle("POST /signin/reset", d.protect(http.HandlerFunc(d.requestReset)))
	page("GET /{$}", viewer, d.overview)
	page("GET /settings", viewer, func(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
		http.Redirect(w, r, "/settings/webhooks", http.StatusSeeOther)
		return nil
	})
	page("GET /settings/webhooks", viewer, d.settings)
	page("POST /settings/webhooks", developer, d.verifyAndSave)
	page("POST /settings/webhooks/secret", developer, d.revealSecret)
	page("POST /settings/webhooks/secret/rotate", developer, d.rotateSecret)
	page("POST /settings/webhooks/remove", developer, d.removeWebhook)
	page("POST /settings/webhooks/endpoints", developer, d.createEndpoint)
	page("GET /settings/webhooks/endpoints", viewer, func(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
		http.Redirect(w, r, "/settings/webhooks#endpoints", http.StatusSeeOther)
		return nil
	})
	page("GET /settings/webhooks/endpoints/{id}", viewer, d.endpointPage)
	page("POST /settings/webhooks/endpoints/{id}", developer, d.saveEndpoint)
	page("POST /settings/webhooks/endpoints/{id}/verify", developer, d.verifyEndpoint)
	page("POST /settings/webhooks/endpoints/{id}/disable", developer, d.disableEndpoint)
	page("POST /settings/webhooks/endpoints/{id}/enable", developer, d.enableEndpoint)
	page("POST /settings/webhooks/endpoints/{id}/remove", developer, d.removeEndpoint)
	page("POST /settings/webhooks/endpoints/{id}/secret", developer, d.revealEndpointSecret)
	page("POST /settings/webhooks/endpoints/{id}/secret/rotate", developer, d.rotateEndpointSecret)
	page("GET /settings/members", owner, d.membersPage)
	page("POST /settings/members", owner, d.invite)
	page("POST /settings/members/{id}/role", owner, d.setRole)
	page("POST /settings/members/{id}/link", owner, d.memberLink)
	page("POST /settings/members/{id}/remove", owner, d.removeMember)
	page("GET /settings/api-keys", owner, d.keysPage)
	page("POST /settings/api-keys", owner, d.createKey)
	page("POST /settings/api-keys/{id}/revoke", owner, d.revokeKey)
	page("GET /settings/audit-log", developer, d.auditPage)
	page("GET /settings/account", viewer, d.accountPage)
	page("POST /settings/account/password", viewer, d.changePassword)
	page("POST /settings/account/sessions/{id}/revoke", viewer, d.revokeSession)
	page("GET /deliveries", viewer, d.deliveries)
	mux.Handle("GET /deliveries/stream", d.protect(d.streamAuthed(d.deliveriesStream)))
	page("GET /deliveries/{id}", viewer, d.delivery)
	mux.Handle("GET /deliveries/{id}/stream", d.protect(d.streamAuthed(d.deliveryStream)))
	page("POST /deliveries/{id}/retry", developer, d.retry)
	page("GET /replay", viewer, d.replayPage)
	page("POST /replay", developer, d.createReplay)
	page("GET /replay/{id}", viewer, d.replay)
	mux.Handle("GET /replay/{id}/stream", d.protect(d.streamAuthed(d.replayStream)))
	page("GET /sandbox", developer, d.sandbox)
	page("POST /sandbox/send", developer, d.sandboxSend)
	page("POST /sandbox/inbound", developer, d.sandboxInbound)
	d.operatorRoutes(mux)
	mux.Handle("GET /static/{file}", d.protect(http.HandlerFunc(d.static)))
	// Any other path (the API's own catch-alls answer under /v1/ and
	// /admin/v1/) is a page that does not exist.
	mux.Handle("/", d.protect(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var acc *bahasha.Account
		if a, err := d.session(r); err == nil {
			acc = &a
		}
		d.renderProblem(w, r, acc, notFound("There is no page at %s. Use the navigation above, or start from the overview.", r.URL.Path))
	})))
}

// Shutdown ends the live views' streams, so that a server shutting down
// does not wait for them. Pages keep working.
func (d *Dashboard) Shutdown() {
	d.closeOnce.Do(func() { close(d.closing) })
	d.mailing.Wait()
}

// handlerFunc is a page of a signed-in account. A returned error is shown
// through classify.
type handlerFunc func(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error

// protect adds the security headers of every dashboard response and
// rejects cross-origin state-changing requests.
func (d *Dashboard) protect(h http.Handler) http.Handler {
	h = d.cop.Handler(h)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", ContentSecurityPolicy)
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		if r.Body != nil {
			r.Body = http.MaxBytesReader(w, r.Body, d.cfg.MaxFormBytes)
		}
		h.ServeHTTP(w, r)
	})
}

// badInput is the problem of a form or query value that is not valid.
func badInput(format string, args ...any) *problem.Error { return problem.Invalid(format, args...) }

func notFound(format string, args ...any) *problem.Error {
	return problem.NotFound("not_found", format, args...)
}

// noWebhook is problem.ErrNoWebhook, worded for the page.
func noWebhook(msg string) *problem.Error {
	return &problem.Error{Status: problem.ErrNoWebhook.Status, Code: problem.ErrNoWebhook.Code, Message: msg}
}

// classify maps any error to the status and message shown, through
// problem.Classify, the one table of the API and the dashboard. Internal
// causes are logged by the caller, never shown.
func classify(err error) (int, string) {
	e := problem.Classify(err)
	return e.Status, e.Message
}

// page is what every template gets.
type page struct {
	Title   string
	Nav     string
	Account *bahasha.Account
	// Operator: the operator's pages, with their own navigation.
	Operator bool
	Flash    string
	Problem  string
	CSS, JS  string
	Icon     string
	Data     any
	Now      time.Time
	Template string
	// Who is signed in (set by render): the navigation shows what their
	// role may use.
	Who principal
}

// render writes the page template name with status. The page is executed
// into a buffer first, so a template failure never sends half a page.
func (d *Dashboard) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	t, ok := d.pages[name]
	if !ok {
		panic("dashboard: no page template " + name)
	}
	p.CSS, p.JS, p.Icon = d.assetURL("dashboard.css"), d.assetURL("dashboard.js"), d.assetURL("favicon.svg")
	p.Now = d.now().UTC()
	p.Template = name
	p.Who = principalOf(r)
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", p); err != nil {
		d.log.Error("dashboard: rendering a page", "page", name, "path", r.URL.Path, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		io.WriteString(w, "Something went wrong on our side while showing this page; try again.\n")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fragment renders a named partial template (for live updates).
func (d *Dashboard) fragment(name string, data any) ([]byte, error) {
	var buf bytes.Buffer
	err := d.pages["partials"].ExecuteTemplate(&buf, name, data)
	return buf.Bytes(), err
}

// renderProblem shows err on the error page, with its status, in the
// account's layout when signed in.
func (d *Dashboard) renderProblem(w http.ResponseWriter, r *http.Request, acc *bahasha.Account, err error) {
	status, msg := classify(err)
	if status >= 500 {
		d.log.Error("dashboard: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	}
	d.render(w, r, status, "error", page{Title: http.StatusText(status), Account: acc, Problem: msg})
}

func (d *Dashboard) static(w http.ResponseWriter, r *http.Request) {
	a, ok := d.assets[r.PathValue("file")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", `"`+a.version+`"`)
	if r.URL.Query().Get("v") == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	if match := r.Header.Get("If-None-Match"); match == `"`+a.version+`"` {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(a.body)
}

func (d *Dashboard) assetURL(name string) string {
	return "/static/" + name + "?v=" + d.assets[name].version
}

func loadAssets() map[string]asset {
	out := map[string]asset{}
	entries, err := fs.ReadDir(staticFS, "static")
	if err != nil {
		panic(err)
	}
	for _, e := range entries {
		b, err := fs.ReadFile(staticFS, "static/"+e.Name())
		if err != nil {
			panic(err)
		}
		sum := sha256.Sum256(b)
		ct := "application/octet-stream"
		switch {
		case strings.HasSuffix(e.Name(), ".css"):
			ct = "text/css; charset=utf-8"
		case strings.HasSuffix(e.Name(), ".js"):
			ct = "text/javascript; charset=utf-8"
		case strings.HasSuffix(e.Name(), ".svg"):
			ct = "image/svg+xml"
		}
		out[e.Name()] = asset{body: b, contentType: ct, version: hex.EncodeToString(sum[:6])}
	}
	return out
}

// pageNames are the page templates; each is parsed with the layout and the
// partials.
var pageNames = []string{"signin", "operator_signin", "operator", "error", "overview", "settings", "endpoint", "deliveries", "delivery", "replays", "replay", "sandbox",
	"welcome", "reset", "members", "keys", "audit", "account"}

func parseTemplates(funcs template.FuncMap) map[string]*template.Template {
	base := template.Must(template.New("").Funcs(funcs).ParseFS(templateFS, "templates/layout.html", "templates/partials.html"))
	out := map[string]*template.Template{"partials": base}
	for _, name := range pageNames {
		out[name] = template.Must(template.Must(base.Clone()).ParseFS(templateFS, "templates/"+name+".html"))
	}
	return out
}

// timeLayout is how the dashboard shows times: UTC, ISO-like.
const timeLayout = "2006-01-02 15:04:05Z"

// inputLayout is the value format of a datetime-local input.
const inputLayout = "2006-01-02T15:04"

func (d *Dashboard) funcs() template.FuncMap {
	return template.FuncMap{
		"utc": func(t time.Time) string {
			if t.IsZero() {
				return "—"
			}
			return t.UTC().Format(timeLayout)
		},
		"iso":  func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
		"dur":  formatDuration,
		"dlv":  func(id int64) string { return "dlv_" + strconv.FormatInt(id, 10) },
		"rpl":  replayName,
		"pct":  func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + " %" },
		"f1":   func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
		"list": func(v ...any) []any { return v },
		"wh":   func(id int64) string { return bahasha.EndpointPrefix + strconv.FormatInt(id, 10) },
		"has":  func(list []string, s string) bool { return slices.Contains(list, s) },
		"deref": func(t *time.Time) time.Time {
			if t == nil {
				return time.Time{}
			}
			return *t
		},
	}
}

// formatDuration shows d in the unit that reads best.
func formatDuration(d time.Duration) string {
	switch {
	case d <= 0:
		return "—"
	case d < time.Millisecond:
		return strconv.FormatInt(d.Microseconds(), 10) + " µs"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	case d < time.Hour:
		return strconv.FormatFloat(d.Minutes(), 'f', 1, 64) + " min"
	}
	return strconv.FormatFloat(d.Hours(), 'f', 1, 64) + " h"
}
