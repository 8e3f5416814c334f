package dashboard_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

func inputTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04") }

func TestReplay(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	now := f.clock.Now()
	r := f.get("/replay", token)
	expect(t, r, http.StatusOK, `id="replay-form"`, `value="`+inputTime(now.Add(-24*time.Hour))+`"`, `id="no-webhook-note"`, "No replays yet")

	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/webhook")
	f.send(f.acc, "254712345678")
	f.failDue()
	f.clock.Advance(2 * time.Minute)
	from := inputTime(now.Add(-time.Hour))

	// Preview: how many events, and a confirm button.
	r = f.get("/replay?"+url.Values{"preview": {"1"}, "from": {from}}.Encode(), token)
	expect(t, r, http.StatusOK, `id="replay-count">3<`, `id="replay-confirm"`)
	r = f.get("/replay?"+url.Values{"preview": {"1"}, "from": {from}, "only_failed": {"1"}}.Encode(), token)
	expect(t, r, http.StatusOK, `id="replay-count">3<`, "whose delivery failed", `name="only_failed" value="1"`)
	r = f.get("/replay?"+url.Values{"preview": {"1"}, "from": {inputTime(now.Add(-3 * time.Hour))}, "to": {inputTime(now.Add(-2 * time.Hour))}}.Encode(), token)
	expect(t, r, http.StatusOK, `id="replay-count">0<`, "Nothing to replay")
	if strings.Contains(r.Body, `id="replay-confirm"`) {
		t.Error("a confirm button for nothing")
	}

	// Bad ranges: a message, and nothing created.
	for _, bad := range []struct {
		form url.Values
		want string
	}{
		{url.Values{}, "Choose where the range starts"},
		{url.Values{"from": {"last tuesday"}}, "is not a date and time"},
		{url.Values{"from": {from}, "to": {"2025-02-30T10:00"}}, "is not a date and time"},
		{url.Values{"from": {from}, "to": {inputTime(now.Add(-2 * time.Hour))}}, "ends before it starts"},
		{url.Values{"from": {inputTime(now.Add(time.Hour))}}, "starts in the future"},
		{url.Values{"from": {"0001-01-01T00:00"}}, "is not a date and time"},
	} {
		q := url.Values{"preview": {"1"}}
		for k, v := range bad.form {
			q[k] = v
		}
		r := f.get("/replay?"+q.Encode(), token)
		expect(t, r, http.StatusBadRequest, `id="problem"`)
		if !strings.Contains(html.UnescapeString(r.Body), bad.want) {
			t.Errorf("preview %v: no %q", bad.form, bad.want)
		}
		r = f.post("/replay", token, bad.form)
		expect(t, r, http.StatusBadRequest, `id="problem"`)
	}
	if rps, _ := f.st.Replays(context.Background(), store.ListReplaysParams{AccountID: f.acc.Account.ID, Limit: 10}); len(rps) != 0 {
		t.Fatalf("bad input created replays: %v", rps)
	}

	// Confirm: the replay starts and its page shows the progress.
	wakes := f.waker.n.Load()
	r = f.post("/replay", token, url.Values{"from": {from}, "only_failed": {"1"}})
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/replay/rpl_") {
		t.Fatalf("confirm: %d %q %s", r.Status, r.Header.Get("Location"), excerpt(r.Body))
	}
	if f.waker.n.Load() == wakes {
		t.Error("the engine was not woken")
	}
	loc := r.Header.Get("Location")
	r = f.get(loc, token)
	expect(t, r, http.StatusOK, `id="replay-progress"`, `id="replay-total">3<`, `data-stream="`+loc+`/stream"`)
	for _, d := range f.deliveries(f.acc.Account.ID) {
		if d.State != bahasha.DeliveryPending {
			t.Errorf("a replayed delivery is %s, want pending", d.State)
		}
	}
	expect(t, f.get("/replay", token), http.StatusOK, `href="`+loc+`"`)

	// Its stream follows it to the end: deliver everything.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	s := f.stream(ctx, loc+"/stream", token)
	s.until("the progress", func(d string) bool { return strings.Contains(d, `data-percent="0"`) })
	deliverDue(t, f)
	s.until("100 %", func(d string) bool {
		return strings.Contains(d, `data-percent="100"`) && strings.Contains(d, `data-finished="true"`)
	})
	if ev, _ := s.next(); ev != "done" {
		t.Errorf("after 100 %%: %q, want done", ev)
	}
	r = f.get(loc, token)
	expect(t, r, http.StatusOK, `value="100"`, "Finished")
	if strings.Contains(r.Body, "data-stream=") {
		t.Error("a finished replay still updates live")
	}

	// Bad ids.
	for _, bad := range []string{"rpl_x", "0", "rpl_99999"} {
		expect(t, f.get("/replay/"+bad, token), http.StatusNotFound, `id="problem"`)
	}

	// Without a webhook there is nowhere to replay to.
	if err := f.st.DeleteEndpoint(context.Background(), store.DeleteEndpointParams{AccountID: f.acc.Account.ID, Now: f.clock.Now(), Reason: "gone"}); err != nil {
		t.Fatal(err)
	}
	expect(t, f.post("/replay", token, url.Values{"from": {from}}), http.StatusNotFound, "No webhook is registered")
}

// deliverDue marks every due delivery delivered, as the engine would (a
// lane whose breaker is open gives one delivery per claim).
func deliverDue(t *testing.T, f *fixture) {
	t.Helper()
	ctx := context.Background()
	for {
		lanes, err := f.st.ClaimLanes(ctx, store.ClaimParams{Now: f.clock.Now().Add(time.Hour), MaxLanes: 10, MaxPerLane: 100, LeaseFor: time.Minute})
		if err != nil {
			t.Fatal(err)
		}
		if len(lanes) == 0 {
			return
		}
		completeDelivered(t, f, lanes)
	}
}

func completeDelivered(t *testing.T, f *fixture, lanes []store.Lane) {
	t.Helper()
	ctx := context.Background()
	for _, l := range lanes {
		var results []store.DeliveryResult
		stats := bahasha.DeliveryStats{}
		for _, d := range l.Deliveries {
			results = append(results, store.DeliveryResult{DeliveryID: d.ID, State: bahasha.DeliveryDelivered,
				Attempt: bahasha.Attempt{DeliveryID: d.ID, Number: d.Attempts + 1, StartedAt: f.clock.Now(), Duration: 20 * time.Millisecond, StatusCode: 200}})
			stats.Delivered++
			stats.AttemptsOK++
			stats.Latency[bahasha.LatencyBucket(80*time.Millisecond)]++
		}
		if err := f.st.CompleteLane(ctx, store.CompleteParams{EndpointID: l.Endpoint.ID, Now: f.clock.Now(), Results: results,
			Breaker: store.BreakerUpdate{Turn: store.TurnSucceeded}, AccountID: l.Endpoint.AccountID, Stats: stats, LeasedUntil: l.LeasedUntil}); err != nil {
			t.Fatal(err)
		}
	}
}

func TestOverview(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	r := f.get("/", token)
	expect(t, r, http.StatusOK, `data-health="none"`, `id="empty-state"`, `href="/settings/webhooks"`, `href="/sandbox"`,
		`id="backlog">0<`, `<svg viewBox="0 0 600 140"`, "nothing delivered yet")

	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/webhook")
	f.send(f.acc, "254712345678")
	r = f.get("/", token)
	expect(t, r, http.StatusOK, `data-health="healthy"`, `id="backlog">3<`)
	if strings.Contains(r.Body, `id="empty-state"`) {
		t.Error("empty state with a backlog")
	}

	deliverDue(t, f)
	f.send(f.acc, "254712345678")
	f.failDue()
	r = f.get("/", token)
	expect(t, r, http.StatusOK, `data-health="probing"`, "Next probe at", `id="backlog">0<`)
	hour := section(t, r.Body, "stats-hour")
	for _, want := range []string{`<dd class="delivered">3<`, `<dd class="rate">50.0 %<`, `<dd class="p50">≤ 100 ms<`, `<dd class="p99">≤ 100 ms<`,
		`<dd class="failed-attempts">3<`, `class="bar-ok"`, `class="bar-fail"`, "3 delivered, 3 failed attempts",
		`class="line-p50"`, `class="line-p99"`, "p50 ≤ 100 ms, p99 ≤ 100 ms (3 delivered)"} {
		if !strings.Contains(hour, want) {
			t.Errorf("last hour lacks %q:\n%s", want, hour)
		}
	}
	if day := section(t, r.Body, "stats-day"); !strings.Contains(day, `<dd class="delivered">3<`) {
		t.Errorf("last day:\n%s", day)
	}
	// Two hours later the hour is empty, the day is not.
	f.clock.Advance(2 * time.Hour)
	r = f.get("/", token)
	if hour := section(t, r.Body, "stats-hour"); !strings.Contains(hour, `<dd class="delivered">0<`) || !strings.Contains(hour, `<dd class="rate">—<`) {
		t.Errorf("last hour after 2h:\n%s", hour)
	}
	if day := section(t, r.Body, "stats-day"); !strings.Contains(day, `<dd class="delivered">3<`) {
		t.Errorf("last day after 2h:\n%s", day)
	}
}

// section returns the <section> with id.
func section(t *testing.T, body, id string) string {
	t.Helper()
	m := regexp.MustCompile(`(?s)<section[^>]* id="` + id + `".*?</section>`).FindString(body)
	if m == "" {
		t.Fatalf("no section %s in:\n%s", id, excerpt(body))
	}
	return m
}

func TestSandboxSend(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	expect(t, f.get("/sandbox", token), http.StatusOK, `<option value="`+f.acc.PhoneNumber.ID+`" selected>`, `id="send-form"`, `id="reply-form"`, `id="no-webhook-note"`)
	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/webhook")

	r := f.post("/sandbox/send", token, url.Values{"phone_number_id": {f.acc.PhoneNumber.ID}, "to": {"254712345678"}, "body": {"Your order has shipped"}})
	expect(t, r, http.StatusOK, `id="send-result"`, "queued 3 statuses", "sent, delivered and read", `href="/deliveries"`)
	ds := f.deliveries(f.acc.Account.ID)
	if len(ds) != 3 || !strings.Contains(html.UnescapeString(r.Body), ds[0].Event.WAMID) {
		t.Fatalf("deliveries after send: %d", len(ds))
	}
	r = f.post("/sandbox/send", token, url.Values{"phone_number_id": {f.acc.PhoneNumber.ID}, "to": {"254712340000"}, "body": {"x"}})
	expect(t, r, http.StatusOK, "sent, then failed")

	for _, bad := range []struct {
		form url.Values
		want string
	}{
		{url.Values{"phone_number_id": {f.acc.PhoneNumber.ID}, "to": {"call me"}, "body": {"x"}}, "recipient's phone number"},
		{url.Values{"phone_number_id": {f.acc.PhoneNumber.ID}, "to": {"254712345678"}, "body": {"  "}}, "Enter the message text"},
		{url.Values{"phone_number_id": {f.acc.PhoneNumber.ID}, "to": {"254712345678"}, "body": {strings.Repeat("x", 4097)}}, "longer than 4096"},
		{url.Values{"phone_number_id": {f.other.PhoneNumber.ID}, "to": {"254712345678"}, "body": {"x"}}, "not one of this account's sandbox numbers"},
		{url.Values{"to": {"254712345678"}, "body": {"x"}}, "Choose the sandbox number"},
	} {
		r := f.post("/sandbox/send", token, bad.form)
		expect(t, r, http.StatusBadRequest, `id="problem"`, "The message was not sent")
		if !strings.Contains(html.UnescapeString(r.Body), bad.want) {
			t.Errorf("%v: no %q in %s", bad.form, bad.want, excerpt(r.Body))
		}
	}
	if n := len(f.deliveries(f.acc.Account.ID)); n != 5 {
		t.Errorf("bad input queued events: %d deliveries, want 5", n)
	}
	if n := len(f.deliveries(f.other.Account.ID)); n != 0 {
		t.Errorf("the other account got %d deliveries", n)
	}
}

func TestSandboxReplies(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/webhook")
	base := url.Values{"phone_number_id": {f.acc.PhoneNumber.ID}, "from": {"254712345678"}, "name": {"Jane Smith"}}
	with := func(kv ...string) url.Values {
		v := url.Values{}
		for k, vs := range base {
			v[k] = vs
		}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v
	}
	good := []struct {
		form     url.Values
		msgType  string
		inRecord string
	}{
		{with("type", "text", "body", "Thank you!"), "text", `"body":"Thank you!"`},
		{with("type", "image", "caption", "my receipt"), "image", `"caption":"my receipt"`},
		{with("type", "audio"), "audio", `"voice":true`},
		{with("type", "video", "media_id", "vid-1"), "video", `"id":"vid-1"`},
		{with("type", "document", "filename", "a.pdf"), "document", `"filename":"a.pdf"`},
		{with("type", "sticker"), "sticker", `"mime_type":"image/webp"`},
		{with("type", "location", "latitude", "-1.2921", "longitude", "36.8219", "location_name", "Nairobi"), "location", `"latitude":-1.2921`},
		{with("type", "contacts", "contact_name", "John", "contact_phone", "+254700000001"), "contacts", `"formatted_name":"John"`},
		{with("type", "button_reply", "reply_id", "yes", "reply_title", "Yes"), "interactive", `"button_reply":{"id":"yes","title":"Yes"}`},
		{with("type", "list_reply", "reply_id", "r1", "reply_title", "Row 1", "reply_description", "first"), "interactive", `"description":"first"`},
		{with("type", "button", "body", "Stop promotions"), "button", `"text":"Stop promotions"`},
		{with("type", "reaction", "react_to", "wamid.abc", "emoji", "👍"), "reaction", `"message_id":"wamid.abc"`},
		{with("type", "order", "product_id", "sku-1", "quantity", "2", "price", "7.99", "currency", "USD"), "order", `"item_price":7.99`},
		{with("type", "system", "new_wa_id", "254799999999"), "system", `"type":"customer_changed_number"`},
		{with("type", "request_welcome"), "request_welcome", `"type":"request_welcome"`},
		{with("type", "unsupported"), "unsupported", `"code":131051`},
		{with("type", "text", "body", "re", "context", "wamid.prev"), "text", `"context":{"id":"wamid.prev"}`},
	}
	for _, tc := range good {
		r := f.post("/sandbox/inbound", token, tc.form)
		expect(t, r, http.StatusOK, `id="reply-result"`, "<strong>"+tc.msgType+"</strong>", `id="reply-delivery-link"`)
		d := f.deliveries(f.acc.Account.ID)[0]
		if d.Event.MessageType != tc.msgType || !strings.Contains(string(d.Event.Payload), tc.inRecord) {
			t.Errorf("%s: stored %s %s, want %s", tc.form.Get("type"), d.Event.MessageType, d.Event.Payload, tc.inRecord)
		}
		if !strings.Contains(string(d.Event.Contact), "Jane Smith") {
			t.Errorf("%s: contact %s", tc.form.Get("type"), d.Event.Contact)
		}
	}
	n := len(f.deliveries(f.acc.Account.ID))
	for _, bad := range []struct {
		form url.Values
		want string
	}{
		{with("type", "text", "body", ""), `"text.body" must not be empty`},
		{with("type", "location", "latitude", "north", "longitude", "1"), "latitude"},
		{with("type", "contacts"), "needs the contact's name"},
		{with("type", "button_reply", "reply_id", "x"), "needs its id and title"},
		{with("type", "reaction"), "the id (wamid) of the message"},
		{with("type", "order", "product_id", "p", "price", "cheap"), "item_price"},
		{with("type", "haiku"), "not one the sandbox offers"},
		{with("type", ""), "Choose the type"},
		{with("type", "text", "body", "x", "from", "jane"), `"from" must be the customer's phone number`},
		{with("type", "text", "body", "x", "phone_number_id", f.other.PhoneNumber.ID), "not one of this account's sandbox numbers"},
	} {
		r := f.post("/sandbox/inbound", token, bad.form)
		expect(t, r, http.StatusBadRequest, `id="problem"`, "The reply was not simulated")
		if !strings.Contains(html.UnescapeString(r.Body), bad.want) {
			t.Errorf("%v: no %q in %s", bad.form, bad.want, excerpt(r.Body))
		}
		// The form keeps what was entered.
		if v := bad.form.Get("type"); v != "" && v != "haiku" && !strings.Contains(r.Body, `value="`+v+`" selected`) {
			t.Errorf("%v: the type is not kept", bad.form)
		}
	}
	if got := len(f.deliveries(f.acc.Account.ID)); got != n {
		t.Errorf("bad input queued %d events", got-n)
	}
}

func TestStoreErrorsAreFriendly(t *testing.T) {
	f := newFixture(t)
	token := f.signin(f.acc.APIKey)
	f.putEndpoint(f.acc.Account.ID, "http://127.0.0.1:1/webhook")
	f.send(f.acc, "254712345678")
	ids := f.failDue()
	f.st.Close() // every call is now store.ErrClosed
	for _, p := range []struct{ method, path string }{
		{"GET", "/"}, {"GET", "/deliveries"}, {"GET", "/deliveries/dlv_" + itoa(ids[0])}, {"GET", "/replay"},
		{"GET", "/sandbox"}, {"GET", "/settings/webhooks"}, {"POST", "/signin"}, {"POST", "/settings/webhooks/secret/rotate"},
		{"POST", "/deliveries/dlv_" + itoa(ids[0]) + "/retry"},
		{"GET", "/settings/webhooks/endpoints/wh_1"}, {"POST", "/settings/webhooks/endpoints"}, {"POST", "/settings/webhooks/endpoints/wh_1/disable"},
		{"GET", "/deliveries?endpoint=wh_1"},
	} {
		var r *resp
		if p.method == "GET" {
			r = f.get(p.path, token)
		} else {
			r = f.post(p.path, token, url.Values{"api_key": {f.acc.APIKey}})
		}
		expect(t, r, http.StatusServiceUnavailable, `id="problem"`, "Bahasha is shutting down")
		if strings.Contains(r.Body, "store:") || strings.Contains(r.Body, "closed") {
			t.Errorf("%s %s shows the internal cause:\n%s", p.method, p.path, excerpt(r.Body))
		}
	}
	if r := f.get("/deliveries/stream", token); r.Status != http.StatusServiceUnavailable {
		t.Errorf("stream with the store down: %d", r.Status)
	}
}
