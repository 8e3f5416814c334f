package delivery

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/metrics"
	"github.com/bahasha/bahasha/internal/retry"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/sdk/webhook"
)

// chunk is the deliveries of one POST.
type chunk struct {
	deliveries []bahasha.Delivery
	bytes      int
	// after lists earlier chunks that carry statuses of the same messages:
	// this chunk is not sent before they succeed.
	after []int
}

// envelopeOverhead approximates the bytes an event adds to an envelope
// beyond its payload (entry, change, metadata, separators).
const envelopeOverhead = 200

// plan splits a claimed lane into POSTs and applies the ordering rule: per
// WhatsApp message, statuses never go backwards at the receiver. A status
// whose message already reached, or may have reached, a later lifecycle
// stage at this endpoint (lane.DeliveredRanks: delivered or possibly
// delivered before, including what a dead worker's claim held; or earlier
// in this claim) is superseded instead of sent. Statuses of one message that fall in different chunks make the later
// chunk wait for the earlier one. Chunks hold at most maxBatch events and
// maxBytes bytes (a single larger event goes alone).
func plan(lane store.Lane, maxBatch, maxBytes int) (chunks []chunk, superseded []store.DeliveryResult) {
	furthest := make(map[string]int, len(lane.DeliveredRanks))
	for w, r := range lane.DeliveredRanks {
		furthest[w] = r
	}
	lastChunk := map[string]int{}
	// The deliveries sent, in order: the lane's own slice while nothing is
	// superseded, a copy from the first superseded one on. Each chunk is a
	// run of it (a slice of it, not a copy).
	sent := lane.Deliveries[:0:0]
	copied := false
	lastOp := false // the last chunk holds an operational event
	start := 0      // of the current chunk in sent
	for i := range lane.Deliveries {
		d := &lane.Deliveries[i]
		ev := &d.Event
		rank := 0
		if ev.Kind == bahasha.KindStatus {
			rank = bahasha.StatusRank(ev.Status)
		}
		if rank > 0 {
			if rank < furthest[ev.WAMID] {
				superseded = append(superseded, store.DeliveryResult{DeliveryID: d.ID, State: bahasha.DeliverySuperseded,
					Error: fmt.Sprintf("not sent: a later status of message %s reached (or may have reached) this endpoint first, and statuses never go backwards", ev.WAMID)})
				if !copied {
					sent = append(make([]bahasha.Delivery, 0, len(lane.Deliveries)-1), lane.Deliveries[:i]...)
					copied = true
				}
				continue
			}
			furthest[ev.WAMID] = rank
		}
		size := len(ev.Payload) + len(ev.Contact) + envelopeOverhead
		n := len(chunks)
		// An operational event goes alone: its envelope is its own.
		op := ev.Kind == bahasha.KindOperational
		if n == 0 || len(sent)-start >= maxBatch || chunks[n-1].bytes+size > maxBytes || op || lastOp {
			chunks = append(chunks, chunk{})
			n++
			start = len(sent)
		}
		c := &chunks[n-1]
		if rank > 0 {
			if prev, ok := lastChunk[ev.WAMID]; ok && prev != n-1 && (len(c.after) == 0 || c.after[len(c.after)-1] != prev) {
				c.after = append(c.after, prev)
			}
			lastChunk[ev.WAMID] = n - 1
		}
		if copied {
			sent = append(sent, *d)
		} else {
			sent = lane.Deliveries[:i+1]
		}
		c.deliveries = sent[start:len(sent):len(sent)]
		c.bytes += size
		lastOp = op
	}
	return chunks, superseded
}

// postResult is the outcome of one chunk's POST.
type postResult struct {
	results []store.DeliveryResult
	ok      bool
	// abandoned: the engine stopped waiting (shutdown). results then holds
	// the deliveries whose request went out, possibly delivered; the
	// breaker ignores the POST.
	abandoned bool
	// pauseUntil: the endpoint asked for a pause (Retry-After on a 429 or
	// 503) until then.
	pauseUntil time.Time
	// result is the attempt's class for the metrics (metrics.Results),
	// and duration how long it took.
	result   string
	duration time.Duration
	// gone: the endpoint answered 410 Gone.
	gone bool
}

// serveLane sends a claimed lane's chunks (see dispatcher), then records
// every outcome and moves the breaker in one write.
func (e *Engine) serveLane(ctx context.Context, lane store.Lane) {
	if lane.Recovered {
		e.log.Warn("took over a lane whose lease ran out (a worker or node died mid-turn): its deliveries may reach the endpoint twice",
			"endpoint", lane.Endpoint.PublicID(), "account", lane.Endpoint.AccountID)
	}
	chunks, superseded := plan(lane, e.cfg.MaxBatch, e.cfg.MaxBatchBytes)
	inFlight := e.cfg.MaxInFlight
	if lane.Endpoint.Probing() || lane.Endpoint.Listening() {
		// One request at a time while probing; and a listen session's
		// POSTs reach the local server in order, one after another.
		inFlight = 1
	}
	target, urlErr := url.Parse(lane.Endpoint.URL)
	// Stop sending in time for every POST to end before the lease does:
	// after it, another node may own the lane, and two workers sending at
	// once could reorder a message's statuses.
	lastStart := lane.LeasedUntil.Add(-e.cfg.Timeout - time.Second)
	d := &dispatcher{
		chunks: chunks,
		send: func(ctx context.Context, i int, wrote chan struct{}) postResult {
			return e.post(ctx, lane, target, urlErr, chunks[i].deliveries, wrote)
		},
		// Past lastStart the rest stays pending for the next claim (the
		// first chunk always goes, so that a lane makes progress).
		mayStart: func(i int) bool { return i == 0 || lane.LeasedUntil.IsZero() || !e.now().After(lastStart) },
	}
	outcomes := d.run(ctx, inFlight)

	results := superseded
	var breaker store.BreakerUpdate
	anyOK, anyFailed, gone := false, false, false
	for _, o := range outcomes {
		gone = gone || o.gone
		results = append(results, o.results...)
		if o.pauseUntil.After(breaker.PauseUntil) {
			breaker.PauseUntil = o.pauseUntil
		}
		if o.abandoned {
			continue
		}
		switch {
		case o.ok:
			anyOK = true
		case len(o.results) > 0:
			anyFailed = true
		}
	}
	now := e.now()
	ep := lane.Endpoint
	switch {
	case anyFailed:
		breaker.Turn = store.TurnFailed
		if failures := ep.ConsecutiveFailures + 1; failures >= e.cfg.BreakerThreshold {
			breaker.ProbeAt = e.probeAt(e.policy(lane), failures, ep.FailingSince, now)
			if !ep.Probing() {
				e.log.Warn("endpoint failing: its breaker opened, one request at a time probes it", "endpoint", ep.PublicID(),
					"account", ep.AccountID, "consecutive_failures", failures, "next_probe", breaker.ProbeAt.UTC().Format(time.RFC3339))
			}
		}
	case anyOK:
		breaker.Turn = store.TurnSucceeded
		if ep.Probing() {
			e.log.Info("endpoint recovered: its breaker closed", "endpoint", ep.PublicID(), "account", ep.AccountID,
				"failing_for", now.Sub(ep.FailingSince).Round(time.Second).String())
		}
	}
	switch {
	case ep.Disabled || ep.Listening():
	case gone:
		breaker.Disable = "the endpoint answered 410 Gone"
	case anyFailed && !anyOK && !ep.FailingSince.IsZero() && now.Sub(ep.FailingSince) >= e.cfg.DisableAfter:
		breaker.Disable = fmt.Sprintf("the endpoint failed continuously for %v (since %s)", e.cfg.DisableAfter, ep.FailingSince.UTC().Format(time.RFC3339))
	}
	if breaker.Disable != "" {
		e.log.Warn("endpoint disabled: its pending deliveries wait until it is enabled again", "endpoint", ep.PublicID(), "account", ep.AccountID,
			"reason", breaker.Disable)
	}
	notices := e.notices(lane, results, breaker, anyFailed, anyOK, now)
	if exhausted := countExhausted(results); exhausted > 0 {
		e.log.Warn("deliveries given up: their retry window is over", "endpoint", ep.PublicID(), "account", ep.AccountID, "deliveries", exhausted)
	}
	if until := rateLimitUntil(lane, results); until.After(breaker.PauseUntil) {
		breaker.PauseUntil = until
	}
	// Record even while shutting down: the attempts happened.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := e.store.CompleteLane(rctx, store.CompleteParams{EndpointID: lane.Endpoint.ID, Now: now, Results: results, Breaker: breaker,
		LeasedUntil: lane.LeasedUntil, ClaimedAt: lane.ClaimedAt, AccountID: lane.Endpoint.AccountID, Stats: laneStats(lane, results),
		Notices: notices}); err != nil {
		e.log.Error("recording delivery attempts; they will be retried when the lane's lease expires", "endpoint", lane.Endpoint.ID, "err", err)
	} else {
		// Counted once recorded: a failed write is retried by the next
		// claim, and counted then.
		e.observe(lane, outcomes, results)
		if len(notices) > 0 {
			e.FlushNotices(rctx)
		}
	}
}

// rateLimitUntil is when a rate-limited endpoint may be sent to again
// after this turn: its claim took at most a second's worth of its
// deliveries (store.Lane), and the lane pauses until that second, counted
// from the claim, is over for the events attempted. The rest of its
// backlog waits in the store.
func rateLimitUntil(lane store.Lane, results []store.DeliveryResult) time.Time {
	limit := lane.Endpoint.RateLimit
	if limit <= 0 {
		return time.Time{}
	}
	sent := 0
	for _, r := range results {
		if r.Attempt.Number > 0 {
			sent++
		}
	}
	if sent == 0 {
		return time.Time{}
	}
	return lane.ClaimedAt.Add(time.Duration(sent) * time.Second / time.Duration(limit))
}

// maxNoticeIDs caps the delivery ids one delivery.exhausted lists.
const maxNoticeIDs = store.MaxExpiredIDs

// notices are the operational events of a lane's turn, one per change of
// state (never one per attempt): the breaker opened (endpoint.failing)
// or closed (endpoint.recovered), the endpoint was disabled, deliveries
// were given up (delivery.exhausted, but not for operational events
// themselves). Listen sessions raise none.
func (e *Engine) notices(lane store.Lane, results []store.DeliveryResult, b store.BreakerUpdate, anyFailed, anyOK bool, now time.Time) []bahasha.Event {
	ep := lane.Endpoint
	if ep.Listening() {
		return nil
	}
	var out []bahasha.Event
	add := func(typ string, data map[string]any) {
		out = append(out, e.notice(ep, typ, now, data)...)
	}
	var lastErr string
	var lastCode int
	for _, r := range results {
		if r.Attempt.Number > 0 && r.State != bahasha.DeliveryDelivered {
			lastErr, lastCode = r.Attempt.Error, r.Attempt.StatusCode
		}
	}
	switch {
	case anyFailed && !b.ProbeAt.IsZero() && !ep.Probing():
		since := ep.FailingSince
		if since.IsZero() {
			since = now
		}
		add(bahasha.NoticeEndpointFailing, map[string]any{"consecutive_failures": ep.ConsecutiveFailures + 1,
			"failing_since": since.UTC(), "next_probe_at": b.ProbeAt.UTC(), "last_error": lastErr, "last_status_code": lastCode})
	case anyOK && !anyFailed && ep.Probing():
		add(bahasha.NoticeEndpointRecovered, map[string]any{"failing_since": ep.FailingSince.UTC(), "recovered_at": now.UTC()})
	}
	if b.Disable != "" {
		add(bahasha.NoticeEndpointDisabled, map[string]any{"reason": b.Disable, "disabled_at": now.UTC()})
	}
	var byID map[int64]*bahasha.Delivery // built only when some delivery was given up
	var ids []string
	count := 0
	for _, r := range results {
		if r.State != bahasha.DeliveryFailed || r.Attempt.Number == 0 {
			continue
		}
		if byID == nil {
			byID = make(map[int64]*bahasha.Delivery, len(lane.Deliveries))
			for i := range lane.Deliveries {
				byID[lane.Deliveries[i].ID] = &lane.Deliveries[i]
			}
		}
		if d := byID[r.DeliveryID]; d == nil || d.Event.Kind == bahasha.KindOperational {
			continue
		}
		count++
		if len(ids) < maxNoticeIDs {
			ids = append(ids, "dlv_"+strconv.FormatInt(r.DeliveryID, 10))
		}
	}
	if count > 0 {
		add(bahasha.NoticeDeliveryExhausted, map[string]any{"count": count, "delivery_ids": ids, "last_error": lastErr})
	}
	return out
}

// notice is the operational event typ about endpoint ep, or none when it
// cannot be made (it is logged).
func (e *Engine) notice(ep bahasha.Endpoint, typ string, now time.Time, data map[string]any) []bahasha.Event {
	data["endpoint_id"] = ep.PublicID()
	if ep.Description != "" {
		data["description"] = ep.Description
	}
	n, err := bahasha.NewNotice(ep.AccountID, typ, now, data)
	if err != nil {
		e.log.Error("making an operational event", "type", typ, "err", err)
		return nil
	}
	return []bahasha.Event{n}
}

// expiredNotice is delivery.exhausted for the deliveries of an endpoint
// that maintenance gave up on unattempted at the end of their window.
func (e *Engine) expiredNotice(now time.Time, reason string) func(store.Expired) []bahasha.Event {
	return func(x store.Expired) []bahasha.Event {
		if x.Endpoint.Listening() {
			return nil
		}
		ids := make([]string, len(x.DeliveryIDs))
		for i, id := range x.DeliveryIDs {
			ids[i] = "dlv_" + strconv.FormatInt(id, 10)
		}
		return e.notice(x.Endpoint, bahasha.NoticeDeliveryExhausted, now, map[string]any{"count": x.Count, "delivery_ids": ids, "last_error": reason})
	}
}

// FlushNotices routes the operational events recorded so far (a lane's
// turn calls it when it recorded some; maintenance catches up after a
// crash), and wakes the engine for them.
func (e *Engine) FlushNotices(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := e.store.FlushNotices(ctx, store.FlushNoticesParams{Limit: maintenanceBatch, Now: e.now()})
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("routing operational events; they wait for the next pass", "err", err)
			}
			return
		}
		if n > 0 {
			e.Wake()
		}
		if n < maintenanceBatch {
			return
		}
	}
}

// withError sets the attempts' error text.
func withError(rs []store.DeliveryResult, text string) []store.DeliveryResult {
	for i := range rs {
		if rs[i].Attempt.Error != "" && !strings.Contains(rs[i].Attempt.Error, "retry window") {
			rs[i].Attempt.Error = text
		}
	}
	return rs
}

// countExhausted counts the deliveries a turn gave up after attempts.
func countExhausted(results []store.DeliveryResult) int {
	n := 0
	for _, r := range results {
		if r.State == bahasha.DeliveryFailed && r.Attempt.Number > 0 {
			n++
		}
	}
	return n
}

// observe counts a lane turn's POSTs and finished deliveries in the
// metrics.
func (e *Engine) observe(lane store.Lane, outcomes []postResult, results []store.DeliveryResult) {
	m := e.cfg.Metrics
	if m == nil {
		return
	}
	for _, o := range outcomes {
		if len(o.results) > 0 && o.result != "" {
			m.Attempt(o.result, o.duration)
		}
	}
	var byID map[int64]*bahasha.Delivery
	for _, r := range results {
		switch r.State {
		case bahasha.DeliveryDelivered:
			if byID == nil {
				byID = make(map[int64]*bahasha.Delivery, len(lane.Deliveries))
				for i := range lane.Deliveries {
					byID[lane.Deliveries[i].ID] = &lane.Deliveries[i]
				}
			}
			m.Finished(metrics.OutcomeDelivered, 1)
			if d := byID[r.DeliveryID]; d != nil {
				m.Delivered(r.Attempt.StartedAt.Add(r.Attempt.Duration).Sub(windowOf(*d, r.Attempt.StartedAt)))
			}
		case bahasha.DeliveryFailed:
			m.Finished(metrics.OutcomeFailed, 1)
		case bahasha.DeliverySuperseded:
			m.Finished(metrics.OutcomeSuperseded, 1)
		}
	}
}

// laneStats counts a lane turn's outcomes for the account's statistics.
func laneStats(lane store.Lane, results []store.DeliveryResult) bahasha.DeliveryStats {
	var st bahasha.DeliveryStats
	byID := make(map[int64]*bahasha.Delivery, len(lane.Deliveries))
	for i := range lane.Deliveries {
		byID[lane.Deliveries[i].ID] = &lane.Deliveries[i]
	}
	for _, r := range results {
		if r.Attempt.Number == 0 {
			if r.State == bahasha.DeliverySuperseded {
				st.Superseded++
			}
			continue
		}
		switch r.State {
		case bahasha.DeliveryDelivered:
			st.AttemptsOK++
			st.Delivered++
			if d := byID[r.DeliveryID]; d != nil {
				done := r.Attempt.StartedAt.Add(r.Attempt.Duration)
				st.Latency[bahasha.LatencyBucket(done.Sub(windowOf(*d, r.Attempt.StartedAt)))]++
			}
		case bahasha.DeliveryFailed:
			st.AttemptsFailed++
			st.Failed++
		default:
			st.AttemptsFailed++
		}
	}
	return st
}

// probeAt is when an endpoint with this many consecutive failures is probed
// next: the retry schedule's step for the probes made since the breaker
// opened, within a retry window counted from when the failures began; past
// that window, every MaxDelay.
func (e *Engine) probeAt(pol *retry.Policy, failures int, failingSince, now time.Time) time.Time {
	if failingSince.IsZero() {
		failingSince = now
	}
	e.randMu.Lock()
	defer e.randMu.Unlock()
	next, ok := pol.Next(failures-e.cfg.BreakerThreshold+1, failingSince, now, e.rand)
	if !ok {
		next = now.Add(pol.MaxDelay)
	}
	return next
}

// post sends one chunk to target (the endpoint's URL, or urlErr when it
// does not parse) and returns the outcome of each of its deliveries. wrote
// is closed once the request is on the wire (or failed before).
func (e *Engine) post(ctx context.Context, lane store.Lane, target *url.URL, urlErr error, ds []bahasha.Delivery, wrote chan struct{}) postResult {
	var once sync.Once
	signal := func() { once.Do(func() { close(wrote) }) }
	defer signal()
	// written: the request went out in full at least once, so without an
	// answer the events may have reached the endpoint (MaybeDelivered).
	var written atomic.Bool
	started := e.now()
	events := make([]bahasha.Event, len(ds))
	ids := make([]string, len(ds))
	attempt := 0
	for i, d := range ds {
		events[i] = d.Event
		ids[i] = "dlv_" + strconv.FormatInt(d.ID, 10)
		attempt = max(attempt, d.Attempts+1)
	}
	maybe := false
	pol := e.policy(lane)
	class := metrics.ResultOther // without an HTTP status
	outcome := func(state bahasha.DeliveryState, code int, body, errText string, retryAfter time.Duration) postResult {
		r := postResult{ok: state == bahasha.DeliveryDelivered, result: class}
		if code != 0 {
			r.result = metrics.StatusResult(code)
		}
		duration := e.now().Sub(started)
		r.duration = duration
		var next time.Time
		if state == bahasha.DeliveryPending {
			next = e.chunkRetry(pol, ds, started, retryAfter)
		}
		for _, d := range ds {
			res := store.DeliveryResult{DeliveryID: d.ID, State: state, MaybeDelivered: maybe, Attempt: bahasha.Attempt{DeliveryID: d.ID, Number: d.Attempts + 1,
				StartedAt: started, Duration: duration, StatusCode: code, Error: errText, ResponseBody: body}}
			if state == bahasha.DeliveryPending {
				deadline := pol.Deadline(windowOf(d, started))
				switch {
				case next.IsZero() || !next.Before(deadline) && deadline.Sub(e.now()) < pol.MinDelay:
					res.State = bahasha.DeliveryFailed
					res.Attempt.Error = errText + "; the retry window is over, so the delivery is marked failed"
				default:
					res.NextAttemptAt = minTime(next, deadline)
				}
			}
			r.results = append(r.results, res)
		}
		return r
	}
	var body []byte
	var err error
	if len(events) == 1 && events[0].Kind == bahasha.KindOperational {
		body = events[0].Payload // its own envelope, as stored
	} else {
		body, err = Envelope(events)
	}
	if err != nil {
		// A stored event that cannot be rendered never will be.
		return outcome(bahasha.DeliveryFailed, 0, "", err.Error(), 0)
	}
	actx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	actx = httptrace.WithClientTrace(actx, &httptrace.ClientTrace{WroteRequest: func(info httptrace.WroteRequestInfo) {
		if info.Err == nil {
			written.Store(true)
		}
		signal()
	}})
	// shutDown is the outcome of a POST the engine stopped waiting for:
	// nothing if its request never went out, possibly delivered otherwise.
	shutDown := func() postResult {
		if !written.Load() {
			return postResult{abandoned: true}
		}
		maybe = true
		r := outcome(bahasha.DeliveryPending, 0, "", "Bahasha shut down before the endpoint answered; the events may have reached it and are sent again", 0)
		r.abandoned = true
		return r
	}
	if urlErr != nil {
		return outcome(bahasha.DeliveryFailed, 0, "", "the webhook URL is not valid: "+urlErr.Error(), 0)
	}
	idList := strings.Join(ids, ",")
	header := make(http.Header, 8+len(lane.Endpoint.Headers))
	// The endpoint's own headers first: Bahasha's below cannot be
	// overridden (registration refuses their names anyway).
	for k, v := range lane.Endpoint.Headers {
		header.Set(k, v)
	}
	header["Content-Type"] = []string{"application/json"}
	header[webhook.SignatureHeader] = []string{webhook.Sign(lane.AppSecret, body)}
	header[HeaderDeliveryID] = []string{idList}
	// With GetBody, it lets net/http send the POST again on a new
	// connection when a kept-alive one the endpoint had closed answers
	// nothing.
	header[HeaderIdempotencyKey] = []string{idList}
	header[HeaderAttempt] = []string{strconv.Itoa(attempt)}
	if lane.Endpoint.Secret != "" {
		if err := webhook.SetStandardHeaders(header, lane.Endpoint.SigningSecrets(started), messageID(ids, idList), started, body); err != nil {
			return outcome(bahasha.DeliveryFailed, 0, "", "the endpoint's signing secret is not valid ("+err.Error()+"); rotate it", 0)
		}
	}
	if lane.Endpoint.Listening() {
		return e.forward(actx, ctx, lane, header, body, signal, &written, &maybe, outcome, shutDown)
	}
	req := (&http.Request{
		Method: http.MethodPost, URL: target, Host: target.Host,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        header,
		Body:          io.NopCloser(bytes.NewReader(body)),
		GetBody:       func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil },
		ContentLength: int64(len(body)),
	}).WithContext(actx)
	resp, err := e.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return shutDown()
		}
		maybe = written.Load()
		class = resultOf(err, actx.Err() != nil)
		return outcome(bahasha.DeliveryPending, 0, "", describe(err, actx.Err() != nil, e.cfg.Timeout), 0)
	}
	excerpt, _, rerr := e.client.ReadBody(resp)
	text := truncateUTF8(excerpt, bahasha.MaxResponseExcerpt)
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var retryAfter time.Duration
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			retryAfter, _ = retry.ParseRetryAfter(resp.Header.Get("Retry-After"), e.now())
		}
		msg := fmt.Sprintf("the endpoint answered %d %s; only a 2xx status acknowledges a delivery", resp.StatusCode, http.StatusText(resp.StatusCode))
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			msg += " (redirects are not followed: register the final URL)"
		}
		r := outcome(bahasha.DeliveryPending, resp.StatusCode, text, msg, retryAfter)
		r.gone = resp.StatusCode == http.StatusGone
		if r.gone {
			r.results = withError(r.results, msg+" (410 Gone: the endpoint is disabled; enable it again from the API or the dashboard)")
		}
		if retryAfter > 0 && e.cfg.Retry.MaxRetryAfter > 0 {
			// The endpoint asked for a pause: the whole lane waits, not
			// only these deliveries.
			r.pauseUntil = e.now().Add(min(retryAfter, e.cfg.Retry.MaxRetryAfter))
		}
		return r
	}
	if rerr != nil && actx.Err() != nil {
		// A 2xx whose body did not arrive in time: the endpoint took the
		// events, but the attempt is not complete; they are sent again.
		if ctx.Err() != nil {
			return shutDown()
		}
		maybe = true
		r := outcome(bahasha.DeliveryPending, resp.StatusCode, text, describe(rerr, true, e.cfg.Timeout), 0)
		r.result = metrics.ResultTimeout
		return r
	}
	return outcome(bahasha.DeliveryDelivered, resp.StatusCode, text, "", 0)
}

// messageID is a POST's webhook-id: the same on every attempt of the same
// deliveries, as Standard Webhooks asks. One delivery's is its id
// ("dlv_12"); a batch's, a digest of its ids' list.
func messageID(ids []string, idList string) string {
	if len(ids) == 1 {
		return ids[0]
	}
	sum := sha256.Sum256([]byte(idList))
	return "msg_" + hex.EncodeToString(sum[:16])
}

// policy is the retry schedule of a lane's deliveries: ListenRetry for a
// listen session (the developer is at the keyboard), Retry otherwise.
func (e *Engine) policy(lane store.Lane) *retry.Policy {
	if lane.Endpoint.Listening() {
		return &e.cfg.ListenRetry
	}
	return &e.cfg.Retry
}

// chunkRetry is when a failed POST's deliveries are next due: one time for
// the whole chunk (one jitter draw), so that they are retried together, in
// one POST again. It is zero when the retry window of the chunk's oldest
// delivery is over.
func (e *Engine) chunkRetry(pol *retry.Policy, ds []bahasha.Delivery, started time.Time, retryAfter time.Duration) time.Time {
	attempts, window := 0, time.Time{}
	for _, d := range ds {
		attempts = max(attempts, d.Attempts+1)
		if w := windowOf(d, started); window.IsZero() || w.Before(window) {
			window = w
		}
	}
	now := e.now()
	e.randMu.Lock()
	next, ok := pol.Next(attempts, window, now, e.rand)
	e.randMu.Unlock()
	if !ok {
		// The oldest is out of time; the others retry at the schedule's
		// pace from their own windows.
		for _, d := range ds {
			if n, ok := pol.Next(d.Attempts+1, windowOf(d, started), now, nil); ok && (next.IsZero() || n.Before(next)) {
				next = n
			}
		}
		if next.IsZero() {
			return time.Time{}
		}
	}
	if retryAfter > 0 {
		next = pol.WithRetryAfter(next, window, now, retryAfter)
	}
	return next
}

func windowOf(d bahasha.Delivery, started time.Time) time.Time {
	if d.WindowStart.IsZero() {
		return started
	}
	return d.WindowStart
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

// forward sends a listen session's POST over its connection (see
// Forwarder) and turns the local server's answer, which the CLI reports,
// into the attempt's outcome, as post does for an HTTP answer.
func (e *Engine) forward(actx, ctx context.Context, lane store.Lane, header http.Header, body []byte, signal func(),
	written *atomic.Bool, maybe *bool, outcome func(bahasha.DeliveryState, int, string, string, time.Duration) postResult,
	shutDown func() postResult) postResult {
	if e.forwarder == nil {
		signal()
		return outcome(bahasha.DeliveryPending, 0, "", "this node does not serve listen sessions", 0)
	}
	resp, err := e.forwarder.Forward(actx, lane.Endpoint.ID, ForwardRequest{Header: header, Body: body}, func() {
		written.Store(true)
		signal()
	})
	signal()
	switch {
	case errors.Is(err, ErrNotConnected):
		// Nothing was sent: no attempt, no breaker turn; the work waits
		// for the session's next connection.
		return postResult{abandoned: true}
	case err != nil:
		if ctx.Err() != nil {
			return shutDown()
		}
		*maybe = written.Load()
		if errors.Is(err, context.DeadlineExceeded) {
			r := outcome(bahasha.DeliveryPending, 0, "", fmt.Sprintf("the listen session did not report the local server's answer within %v", e.cfg.Timeout), 0)
			r.result = metrics.ResultTimeout
			return r
		}
		r := outcome(bahasha.DeliveryPending, 0, "", "the listen session's connection: "+err.Error(), 0)
		r.result = metrics.ResultConnect
		return r
	case resp.Status == 0 || resp.Status < 100 || resp.Status > 599:
		*maybe = resp.MaybeDelivered
		r := outcome(bahasha.DeliveryPending, 0, "", "the local server: "+truncateUTF8([]byte(resp.Error), 1024), 0)
		r.result = metrics.ResultConnect
		if resp.MaybeDelivered {
			r.result = metrics.ResultTimeout
		}
		return r
	case resp.Status < 200 || resp.Status > 299:
		return outcome(bahasha.DeliveryPending, resp.Status, truncateUTF8([]byte(resp.Body), bahasha.MaxResponseExcerpt),
			fmt.Sprintf("the local server answered %d %s; only a 2xx status acknowledges a delivery", resp.Status, http.StatusText(resp.Status)), 0)
	}
	return outcome(bahasha.DeliveryDelivered, resp.Status, truncateUTF8([]byte(resp.Body), bahasha.MaxResponseExcerpt), "", 0)
}
