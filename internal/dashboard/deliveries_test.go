package dashboard_test

import (
	"bufio"
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/dashboard"
	"github.com/bahasha/bahasha/internal/delivery"
	"github.com/bahasha/bahasha/internal/safehttp"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/sdk/webhook"
)

var rowRE = regexp.MustCompile(`<tr id="dlv_(\d+)" data-id="dlv_\d+" data-state="(\w+)"`)

// rows returns the delivery ids and states of a deliveries table.
func rows(body string) map[string]string {
	out := map[string]string{}
	for _, m := range rowRE.FindAllStringSubmatch(body, -1) {
		out["dlv_"+m[1]] = m[2]
	}
	return out
}

func TestDeliveriesTable(t *testing.T) {
	f := newFixture(t, fixtureOpts{pageSize: 4})
	token := f.signin(f.acc.APIKey)
	expect(t, f.get("/deliveries", token), http.StatusOK, "No deliveries match", `id="no-webhook-note"`)

	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/webhook")
	f.putEndpoint(f.other.Account.ID, "http://127.0.0.1:1/other")
	wamid := f.send(f.acc, "254712345678") // 3 statuses
	f.send(f.other, "254712345678")
	f.failDue()
	f.clock.Advance(2 * time.Hour)
	f.send(f.acc, "254712340000") // 2 statuses: sent, failed

	r := f.get("/deliveries", token)
	expect(t, r, http.StatusOK, `<th scope="col">Message id</th>`, `data-stream="/deliveries/stream?"`, `id="older"`)
	got := rows(r.Body)
	if len(got) != 4 {
		t.Fatalf("first page: %v, want 4 rows", got)
	}
	for _, d := range f.deliveries(f.other.Account.ID) {
		if _, ok := got["dlv_"+itoa(d.ID)]; ok {
			t.Errorf("another account's delivery is listed: dlv_%d", d.ID)
		}
	}
	// The older page: the rest, no live updates, a link back.
	older := regexp.MustCompile(`href="(/deliveries\?[^"]*)" id="older"`).FindStringSubmatch(r.Body)
	r = f.get(html.UnescapeString(older[1]), token)
	expect(t, r, http.StatusOK, `id="newest"`)
	if !strings.Contains(html.UnescapeString(r.Body), wamid) {
		t.Errorf("the older page does not show message %s", wamid)
	}
	if strings.Contains(r.Body, "data-stream=") {
		t.Error("an older page updates live")
	}
	if n := len(rows(r.Body)); n != 1 {
		t.Errorf("second page: %d rows, want 1", n)
	}

	// Filters.
	r = f.get("/deliveries?state=failed", token)
	expect(t, r, http.StatusOK, `<option value="failed" selected>`)
	if got := rows(r.Body); len(got) != 3 {
		t.Errorf("state=failed: %v", got)
	}
	for _, s := range rows(r.Body) {
		if s != "failed" {
			t.Errorf("state=failed lists a %s delivery", s)
		}
	}
	if got := rows(f.get("/deliveries?range=1h", token).Body); len(got) != 2 {
		t.Errorf("range=1h: %v, want the 2 newest", got)
	}
	now := f.clock.Now().UTC()
	custom := url.Values{"since": {now.Add(-3 * time.Hour).Format("2006-01-02T15:04")}, "until": {now.Add(-time.Hour).Format("2006-01-02T15:04")}}
	r = f.get("/deliveries?"+custom.Encode(), token)
	if got := rows(r.Body); len(got) != 3 {
		t.Errorf("custom range: %v, want the 3 older", got)
	}
	expect(t, r, http.StatusOK, `<option value="custom" selected>`)
}

func TestDeliveriesBadFilters(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	for _, q := range []struct{ query, want string }{
		{"state=lost", "not one Bahasha knows"},
		{"range=forever", "not one Bahasha knows"},
		{"range=custom&since=yesterday", `is not a date and time`},
		{"since=2025-13-45T99:00", `is not a date and time`},
		{"since=2025-01-02T10:00&until=2025-01-01T10:00", "ends before it starts"},
		{"before=dlv_x", "not a delivery id"},
		{"before=-4", "not a delivery id"},
	} {
		r := f.get("/deliveries?"+q.query, token)
		expect(t, r, http.StatusBadRequest, `id="problem"`, `id="filter-form"`)
		if !strings.Contains(html.UnescapeString(r.Body), q.want) {
			t.Errorf("?%s: no %q on the page", q.query, q.want)
		}
		if strings.HasPrefix(q.query, "before") {
			continue // a stream has no cursor: it ignores it
		}
		if r := f.get("/deliveries/stream?"+q.query, token); r.Status != http.StatusBadRequest {
			t.Errorf("stream ?%s: %d", q.query, r.Status)
		}
	}
}

func TestDeliveryDetailAndRetry(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/webhook")
	f.send(f.acc, "254712345678")
	ids := f.failDue()
	id := "dlv_" + itoa(ids[0])
	d, _, err := f.st.Delivery(context.Background(), store.GetDeliveryParams{AccountID: f.acc.Account.ID, DeliveryID: ids[0]})
	if err != nil {
		t.Fatal(err)
	}
	body, err := delivery.Envelope([]bahasha.Event{d.Event})
	if err != nil {
		t.Fatal(err)
	}
	r := f.get("/deliveries/"+id, token)
	expect(t, r, http.StatusOK, `data-state="failed"`, `id="retry"`, "boom: database down", `data-status-code="500"`,
		"Content-Type: application/json", "User-Agent: "+safehttp.DefaultUserAgent,
		webhook.SignatureHeader+": "+webhook.Sign(f.acc.Account.AppSecret, body),
		delivery.HeaderDeliveryID+": "+id, delivery.HeaderIdempotencyKey+": "+id, delivery.HeaderAttempt+": 1")
	if !strings.Contains(html.UnescapeString(r.Body), `<pre class="payload" id="delivery-body">`+string(body)+`</pre>`) {
		t.Errorf("the page does not show the exact envelope %s", body)
	}
	expect(t, f.get("/deliveries/"+itoa(ids[0]), token), http.StatusOK) // a bare number works too

	wakes := f.waker.n.Load()
	r = f.post("/deliveries/"+id+"/retry", token, nil)
	if r.Status != http.StatusSeeOther || r.Header.Get("Location") != "/deliveries/"+id+"?flash=queued" {
		t.Fatalf("retry: %d %q", r.Status, r.Header.Get("Location"))
	}
	if f.waker.n.Load() == wakes {
		t.Error("retry did not wake the engine")
	}
	expect(t, f.get(r.Header.Get("Location"), token), http.StatusOK, "Queued:", `data-state="pending"`)

	// Bad ids: 404 with a message, nothing changed.
	for _, bad := range []string{"nope", "dlv_", "dlv_0", "dlv_-1", "dlv_99999"} {
		expect(t, f.get("/deliveries/"+bad, token), http.StatusNotFound, `id="problem"`)
		expect(t, f.post("/deliveries/"+bad+"/retry", token, nil), http.StatusNotFound, `id="problem"`)
	}

	// Its endpoint removed, Retry says what to do.
	f.failDue()
	if err := f.st.DeleteEndpoint(context.Background(), store.DeleteEndpointParams{AccountID: f.acc.Account.ID, Now: f.clock.Now(), Reason: "gone"}); err != nil {
		t.Fatal(err)
	}
	expect(t, f.post("/deliveries/"+id+"/retry", token, nil), http.StatusNotFound, "endpoint was removed", "Replay its time range")
}

func TestTenancy(t *testing.T) {
	f := newFixture(t)
	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/webhook")
	f.putEndpoint(f.other.Account.ID, "http://127.0.0.1:1/other")
	f.send(f.other, "254712345678")
	ids := f.failDue()
	token := f.signin(f.acc.APIKey) // the first account's owner
	id := "dlv_" + itoa(ids[0])

	expect(t, f.get("/deliveries/"+id, token), http.StatusNotFound, "no delivery "+id)
	expect(t, f.post("/deliveries/"+id+"/retry", token, nil), http.StatusNotFound)
	if d, _, _ := f.st.Delivery(context.Background(), store.GetDeliveryParams{AccountID: f.other.Account.ID, DeliveryID: ids[0]}); d.State != "failed" {
		t.Errorf("another account's delivery was retried: %s", d.State)
	}
	if len(rows(f.get("/deliveries", token).Body)) != 0 {
		t.Error("another account's deliveries are listed")
	}

	// Replays are per account too.
	otherToken := f.signin(f.other.APIKey)
	r := f.post("/replay", otherToken, url.Values{"from": {f.clock.Now().Add(-time.Hour).UTC().Format("2006-01-02T15:04")}})
	if r.Status != http.StatusSeeOther {
		t.Fatalf("replay: %d %s", r.Status, excerpt(r.Body))
	}
	loc := r.Header.Get("Location")
	expect(t, f.get(loc, otherToken), http.StatusOK)
	expect(t, f.get(loc, token), http.StatusNotFound, "no replay")
	if r := f.get(loc+"/stream", token); r.Status != http.StatusNotFound {
		t.Errorf("another account's replay stream: %d", r.Status)
	}
}

// sse reads server-sent events.
type sse struct {
	t   *testing.T
	sc  *bufio.Scanner
	res *http.Response
}

func (f *fixture) stream(ctx context.Context, path, session string) *sse {
	f.t.Helper()
	req, _ := http.NewRequestWithContext(ctx, "GET", f.srv.URL+path, nil)
	req.AddCookie(&http.Cookie{Name: dashboard.CookieName, Value: session})
	res, err := f.client.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	f.t.Cleanup(func() { res.Body.Close() })
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		f.t.Fatalf("stream %s: %d %s", path, res.StatusCode, res.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	return &sse{t: f.t, sc: sc, res: res}
}

// next returns the next event's name and data; "" at the end.
func (s *sse) next() (string, string) {
	s.t.Helper()
	var event string
	var data []string
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "" && event != "":
			return event, strings.Join(data, "\n")
		case strings.HasPrefix(line, "event: "):
			event = strings.TrimPrefix(line, "event: ")
		case strings.HasPrefix(line, "data: "):
			data = append(data, strings.TrimPrefix(line, "data: "))
		}
	}
	return "", ""
}

// until reads updates until one satisfies ok, and returns it.
func (s *sse) until(what string, ok func(data string) bool) string {
	s.t.Helper()
	for {
		ev, data := s.next()
		switch ev {
		case "":
			s.t.Fatalf("the stream ended before %s", what)
		case "update":
			if ok(data) {
				return data
			}
		}
	}
}

func TestDeliveriesStream(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/webhook")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	s := f.stream(ctx, "/deliveries/stream?state=pending", token)
	first := s.until("the first rows", func(string) bool { return true })
	if !strings.Contains(first, "No deliveries match") {
		t.Fatalf("first update: %s", first)
	}
	wamid := f.send(f.acc, "254712345678")
	data := s.until("the new deliveries", func(d string) bool { return len(rows(d)) == 3 })
	if !strings.Contains(html.UnescapeString(data), wamid) {
		t.Errorf("rows without the message id: %s", data)
	}
	// A failure leaves the pending filter: the rows go.
	f.failDue()
	s.until("the rows to leave", func(d string) bool { return len(rows(d)) == 0 })

	// Signing out ends the stream.
	f.post("/signout", token, nil)
	for {
		ev, _ := s.next()
		if ev == "signedout" {
			break
		}
		if ev == "" {
			t.Fatal("the stream ended without saying signed out")
		}
	}
	if ev, _ := s.next(); ev != "" {
		t.Errorf("the stream went on after sign-out: %s", ev)
	}
}

func TestShutdownEndsStreams(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := f.stream(ctx, "/deliveries/stream", token)
	s.until("the first rows", func(string) bool { return true })
	f.dash.Shutdown()
	for {
		if ev, _ := s.next(); ev == "" {
			break
		}
	}
	if ctx.Err() != nil {
		t.Fatal("the stream did not end at shutdown")
	}
}

// A delivery's page follows it live: a failed attempt appears with its
// response, a retry's success ends the stream; another account's delivery
// and bad ids have no stream.
func TestDeliveryStream(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/webhook")
	f.send(f.acc, "254712345678")
	ds, err := f.st.Deliveries(context.Background(), store.ListDeliveriesParams{AccountID: f.acc.Account.ID, Limit: 10})
	if err != nil || len(ds) == 0 {
		t.Fatal(ds, err)
	}
	path := "/deliveries/dlv_" + itoa(ds[len(ds)-1].ID)
	expect(t, f.get(path, token), http.StatusOK, `data-stream="`+path+`/stream"`, `id="delivery-live"`)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := f.stream(ctx, path+"/stream", token)
	s.until("the pending delivery", func(d string) bool { return strings.Contains(d, `id="delivery-state">pending<`) })
	f.failDue()
	s.until("the failed attempt", func(d string) bool {
		return strings.Contains(d, `data-status-code="500"`) && strings.Contains(d, "boom: database down")
	})
	if r := f.post(path+"/retry", token, nil); r.Status != http.StatusSeeOther {
		t.Fatalf("retry: %d", r.Status)
	}
	deliverDue(t, f)
	s.until("delivered", func(d string) bool { return strings.Contains(d, `id="delivery-state">delivered<`) })
	if ev, _ := s.next(); ev != "done" {
		t.Errorf("after delivered: %q, want done", ev)
	}
	for _, bad := range []string{"/deliveries/dlv_x/stream", "/deliveries/dlv_99999/stream"} {
		if r := f.get(bad, token); r.Status != http.StatusNotFound {
			t.Errorf("GET %s: %d, want 404", bad, r.Status)
		}
	}
	other := f.signin(f.other.APIKey)
	if r := f.get(path+"/stream", other); r.Status != http.StatusNotFound {
		t.Errorf("another account's delivery stream: %d, want 404", r.Status)
	}
}
