package dashboard_test

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/dashboard"
	"github.com/bahasha/bahasha/internal/messaging"
	"github.com/bahasha/bahasha/internal/safehttp"
	"github.com/bahasha/bahasha/internal/server"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlite"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// clock is a settable clock, safe for concurrent use.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// waker counts wake-ups.
type waker struct{ n atomic.Int64 }

func (w *waker) Wake() { w.n.Add(1) }

// syncBuffer is a bytes.Buffer safe for concurrent use: the log.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// fixture is a dashboard on a real SQLite store behind a real HTTP server
// (server.Handler, as bahasha serve mounts it), with two accounts.
type fixture struct {
	t      *testing.T
	st     *sqlite.Store
	srv    *httptest.Server
	client *http.Client
	clock  *clock
	waker  *waker
	log    *syncBuffer
	dash   *dashboard.Dashboard
	msg    *messaging.Service
	acc    accounts.Created
	other  accounts.Created
}

type fixtureOpts struct {
	tls      bool
	pageSize int
	// strict refuses private webhook addresses, as production does.
	strict bool
	// trustedProxies is the dashboard's TrustedProxies.
	trustedProxies []netip.Prefix
	// adminKey opens the operator's pages.
	adminKey string
	// noKeySignin refuses API-key sign-in (serve's default).
	noKeySignin bool
}

func newFixture(t *testing.T, opts ...fixtureOpts) *fixture {
	t.Helper()
	var o fixtureOpts
	if len(opts) > 0 {
		o = opts[0]
	}
	st, err := sqlite.Open(context.Background(), sqlite.Config{Path: filepath.Join(t.TempDir(), "d.db")})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, st: st, clock: &clock{t: time.Now().UTC().Truncate(time.Millisecond)}, waker: &waker{}, log: &syncBuffer{}}
	t.Cleanup(func() { st.Close() })
	for _, c := range []*accounts.Created{&f.acc, &f.other} {
		*c, err = accounts.Create(context.Background(), st, accounts.Params{Name: "Acme " + c2s(c == &f.other), Now: f.clock.Now()})
		if err != nil {
			t.Fatal(err)
		}
	}
	log := slog.New(slog.NewTextHandler(f.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p, err := server.Build(st, server.Options{
		Client: safehttp.Config{AllowPrivate: !o.strict},
		Dashboard: dashboard.Config{StreamInterval: 10 * time.Millisecond, PageSize: o.pageSize, TrustedProxies: o.trustedProxies,
			AdminKey: o.adminKey, KeySignin: !o.noKeySignin},
		Now:   f.clock.Now,
		Waker: f.waker,
		Log:   log,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.msg, f.dash = p.Messaging, p.Dashboard
	h := p.Handler
	if o.tls {
		f.srv = httptest.NewTLSServer(h)
		f.client = f.srv.Client()
	} else {
		f.srv = httptest.NewServer(h)
		f.client = &http.Client{}
	}
	f.client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	f.client.Timeout = 30 * time.Second
	t.Cleanup(func() {
		f.dash.Shutdown()
		f.srv.Close()
	})
	return f
}

func c2s(other bool) string {
	if other {
		return "Other"
	}
	return "Ltd"
}

// resp is an answer read in full.
type resp struct {
	Status int
	Header http.Header
	Body   string
	Cookie []*http.Cookie
}

// request sends a request with the session cookie (if any) and, for a
// form, the form body. headers are name, value pairs.
func (f *fixture) request(method, path, session string, form url.Values, headers ...string) *resp {
	f.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequest(method, f.srv.URL+path, body)
	if err != nil {
		f.t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if session != "" {
		req.AddCookie(&http.Cookie{Name: dashboard.CookieName, Value: session})
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	res, err := f.client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		f.t.Fatal(err)
	}
	return &resp{Status: res.StatusCode, Header: res.Header, Body: string(b), Cookie: res.Cookies()}
}

func (f *fixture) get(path, session string) *resp { return f.request("GET", path, session, nil) }

func (f *fixture) post(path, session string, form url.Values, headers ...string) *resp {
	if form == nil {
		form = url.Values{}
	}
	return f.request("POST", path, session, form, headers...)
}

// signin signs in with key and returns the session token.
func (f *fixture) signin(key string) string {
	f.t.Helper()
	r := f.post("/signin", "", url.Values{"api_key": {key}})
	if r.Status != http.StatusSeeOther {
		f.t.Fatalf("sign in: %d %s", r.Status, r.Body)
	}
	for _, c := range r.Cookie {
		if c.Name == dashboard.CookieName {
			return c.Value
		}
	}
	f.t.Fatalf("sign in set no %s cookie", dashboard.CookieName)
	return ""
}

// expect checks a response's status and that its body contains each of
// want.
func expect(t *testing.T, r *resp, status int, want ...string) {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body:\n%s", r.Status, status, excerpt(r.Body))
	}
	for _, w := range want {
		if !strings.Contains(r.Body, w) {
			t.Fatalf("body does not contain %q:\n%s", w, excerpt(r.Body))
		}
	}
}

func excerpt(s string) string {
	if i := strings.Index(s, `<main id="main">`); i >= 0 {
		s = s[i:]
	}
	if len(s) > 6000 {
		s = s[:6000] + "…"
	}
	return s
}

// endpoint returns the account's webhook, or false.
func (f *fixture) endpoint(accountID string) (bahasha.Endpoint, bool) {
	f.t.Helper()
	e, err := f.st.Endpoint(context.Background(), accountID)
	if err == store.ErrNotFound {
		return e, false
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return e, true
}

// putEndpoint registers a webhook without a handshake.
func (f *fixture) putEndpoint(accountID, u string) {
	f.t.Helper()
	if _, err := f.st.PutEndpoint(context.Background(), store.PutEndpointParams{AccountID: accountID, URL: u, VerifyToken: "tok",
		VerifiedAt: f.clock.Now(), Now: f.clock.Now()}); err != nil {
		f.t.Fatal(err)
	}
}

// deliveries lists an account's deliveries, newest first.
func (f *fixture) deliveries(accountID string) []bahasha.Delivery {
	f.t.Helper()
	ds, err := f.st.Deliveries(context.Background(), store.ListDeliveriesParams{AccountID: accountID, Limit: 1000})
	if err != nil {
		f.t.Fatal(err)
	}
	return ds
}

// send sends a sandbox message, as the API and the Sandbox page do, and
// returns its wamid.
func (f *fixture) send(acc accounts.Created, to string) string {
	f.t.Helper()
	sent, err := f.msg.Send(context.Background(), messaging.SendParams{AccountID: acc.Account.ID, PhoneNumberID: acc.PhoneNumber.ID, To: to})
	if err != nil {
		f.t.Fatal(err)
	}
	return sent.WAMID
}

// fail records a failed attempt (500, "boom") for every due delivery, as
// the engine would, and returns the deliveries' ids.
func (f *fixture) failDue() []int64 {
	f.t.Helper()
	ctx := context.Background()
	lanes, err := f.st.ClaimLanes(ctx, store.ClaimParams{Now: f.clock.Now().Add(time.Hour), MaxLanes: 10, MaxPerLane: 100, LeaseFor: time.Minute})
	if err != nil {
		f.t.Fatal(err)
	}
	var ids []int64
	for _, l := range lanes {
		var results []store.DeliveryResult
		for _, d := range l.Deliveries {
			ids = append(ids, d.ID)
			results = append(results, store.DeliveryResult{DeliveryID: d.ID, State: bahasha.DeliveryFailed,
				Attempt: bahasha.Attempt{DeliveryID: d.ID, Number: d.Attempts + 1, StartedAt: f.clock.Now(), Duration: 12 * time.Millisecond,
					StatusCode: 500, Error: "the endpoint answered 500 Internal Server Error", ResponseBody: "boom: database down"}})
		}
		if err := f.st.CompleteLane(ctx, store.CompleteParams{EndpointID: l.Endpoint.ID, Now: f.clock.Now(), Results: results,
			Breaker: store.BreakerUpdate{Turn: store.TurnFailed, ProbeAt: f.clock.Now().Add(time.Minute)}, AccountID: l.Endpoint.AccountID,
			Stats: bahasha.DeliveryStats{Failed: len(results), AttemptsFailed: len(results)}, LeasedUntil: l.LeasedUntil}); err != nil {
			f.t.Fatal(err)
		}
	}
	return ids
}
