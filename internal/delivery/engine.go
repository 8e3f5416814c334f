// Package delivery is the delivery engine: it claims due deliveries lane by
// lane (one lane per endpoint), builds WhatsApp's envelope, signs it with the
// account's app secret, POSTs it through the SSRF-safe client, and records
// each attempt: delivered on a 2xx within the timeout, otherwise retried on
// the retry schedule (honouring Retry-After on 429 and 503) until the retry
// window closes and the delivery is marked failed.
//
// A lane's deliveries go out one at a time, in order; the first failure ends
// the lane's turn, so a failing endpoint is not hammered and later events do
// not overtake the failed one within its turn. Lanes of different endpoints
// run concurrently, so a slow endpoint never delays another.
package delivery

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/retry"
	"github.com/bahasha/bahasha/internal/safehttp"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/webhook"
)

// Headers of every delivery besides Content-Type, User-Agent and
// X-Hub-Signature-256.
const (
	// HeaderDeliveryID is the delivery's stable id: the same on every
	// attempt, so receivers can deduplicate on it.
	HeaderDeliveryID = "X-Bahasha-Delivery-Id"
	// HeaderAttempt is the attempt's number, from 1.
	HeaderAttempt = "X-Bahasha-Attempt"
)

// Config configures an Engine. Zero fields take the documented defaults.
type Config struct {
	// MaxLanes is how many endpoints are served at once. Default 64.
	MaxLanes int
	// MaxPerLane is how many deliveries one claim of a lane takes. Default 10.
	MaxPerLane int
	// Timeout bounds one attempt. Default 10s.
	Timeout time.Duration
	// LeaseFor is how long a claimed lane stays reserved; a lane whose
	// worker died is claimed again after it. Default MaxPerLane×Timeout+30s.
	LeaseFor time.Duration
	// PollInterval is the longest the engine sleeps when nothing wakes it.
	// Default 1s.
	PollInterval time.Duration
	// ShutdownGrace is how long Run lets in-flight attempts finish after its
	// context ends. Default 10s.
	ShutdownGrace time.Duration
	// Retry is the retry schedule. Default retry.DefaultPolicy().
	Retry retry.Policy
	// UserAgent names Bahasha and its version.
	UserAgent string
}

func (c Config) withDefaults() Config {
	if c.MaxLanes <= 0 {
		c.MaxLanes = 64
	}
	if c.MaxPerLane <= 0 {
		c.MaxPerLane = 10
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.LeaseFor <= 0 {
		c.LeaseFor = time.Duration(c.MaxPerLane)*c.Timeout + 30*time.Second
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 10 * time.Second
	}
	if c.Retry.Steps == nil {
		c.Retry = retry.DefaultPolicy()
	}
	if c.UserAgent == "" {
		c.UserAgent = "Bahasha-Webhooks/dev"
	}
	return c
}

// Engine delivers events. Create it with New, start it with Run.
type Engine struct {
	cfg    Config
	store  store.Store
	client *safehttp.Client
	now    func() time.Time
	log    *slog.Logger
	wake   chan struct{}

	randMu sync.Mutex
	rand   *rand.Rand
}

// New returns an engine. now is the clock (time.Now in production); rnd
// seeds the retry jitter.
func New(cfg Config, s store.Store, client *safehttp.Client, now func() time.Time, rnd *rand.Rand, log *slog.Logger) *Engine {
	if log == nil {
		log = slog.Default()
	}
	return &Engine{cfg: cfg.withDefaults(), store: s, client: client, now: now, rand: rnd, log: log, wake: make(chan struct{}, 1)}
}

// Wake tells the engine that new work may be due (after an ingest), so that
// it claims at once instead of at its next poll. It never blocks.
func (e *Engine) Wake() {
	select {
	case e.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends, then stops claiming, lets in-flight attempts
// finish for up to ShutdownGrace (then abandons them: their deliveries stay
// pending and are attempted again after a restart), and returns.
func (e *Engine) Run(ctx context.Context) error {
	// Attempts get their own context, cancelled only when the grace period
	// after shutdown runs out.
	attemptCtx, abandon := context.WithCancel(context.WithoutCancel(ctx))
	defer abandon()
	var wg sync.WaitGroup
	done := make(chan struct{}, e.cfg.MaxLanes)
	inFlight := 0
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	drain := func() {
		for {
			select {
			case <-done:
				inFlight--
			default:
				return
			}
		}
	}
	for ctx.Err() == nil {
		drain()
		free := e.cfg.MaxLanes - inFlight
		claimed := 0
		if free > 0 {
			lanes, err := e.store.ClaimLanes(ctx, store.ClaimParams{Now: e.now(), MaxLanes: free, MaxPerLane: e.cfg.MaxPerLane, LeaseFor: e.cfg.LeaseFor})
			if err != nil && ctx.Err() == nil {
				e.log.Error("claiming deliveries", "err", err)
			}
			claimed = len(lanes)
			for _, lane := range lanes {
				inFlight++
				wg.Add(1)
				go func() {
					defer wg.Done()
					e.serveLane(attemptCtx, lane)
					done <- struct{}{}
				}()
			}
		}
		if claimed > 0 && claimed == free {
			continue // there may be more due work than we could take
		}
		wait := e.cfg.PollInterval
		if free > 0 {
			if next, ok, err := e.store.NextDue(ctx); err == nil && ok {
				wait = min(wait, max(next.Sub(e.now()), time.Millisecond))
			}
		}
		timer.Reset(wait)
		select {
		case <-ctx.Done():
		case <-e.wake:
		case <-done:
			inFlight--
		case <-timer.C:
		}
	}
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(e.cfg.ShutdownGrace):
		abandon()
		<-finished
	}
	e.client.CloseIdleConnections()
	return nil
}

// serveLane attempts a lane's deliveries in order until one fails, then
// records the outcomes and releases the lane.
func (e *Engine) serveLane(ctx context.Context, lane store.Lane) {
	results := make([]store.DeliveryResult, 0, len(lane.Deliveries))
	for _, d := range lane.Deliveries {
		if ctx.Err() != nil {
			break
		}
		res, abandoned := e.attempt(ctx, lane, d)
		if abandoned {
			break
		}
		results = append(results, res)
		if res.State != bahasha.DeliveryDelivered {
			break
		}
	}
	// Record even while shutting down: the attempts happened.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := e.store.CompleteLane(rctx, store.CompleteParams{EndpointID: lane.Endpoint.ID, Now: e.now(), Results: results}); err != nil {
		e.log.Error("recording delivery attempts; they will be retried when the lane's lease expires", "endpoint", lane.Endpoint.ID, "err", err)
	}
}

// attempt makes one attempt of d. abandoned is true when the engine is
// shutting down and the attempt was cut short: it is then not recorded.
func (e *Engine) attempt(ctx context.Context, lane store.Lane, d bahasha.Delivery) (res store.DeliveryResult, abandoned bool) {
	number := d.Attempts + 1
	started := e.now()
	res = store.DeliveryResult{DeliveryID: d.ID, Attempt: bahasha.Attempt{DeliveryID: d.ID, Number: number, StartedAt: started}}
	body, err := Envelope([]bahasha.Event{d.Event})
	if err != nil {
		// A stored event that cannot be rendered never will be: fail it.
		res.State, res.Attempt.Error = bahasha.DeliveryFailed, err.Error()
		return res, false
	}
	actx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(actx, http.MethodPost, lane.Endpoint.URL, bytes.NewReader(body))
	if err != nil {
		res.State, res.Attempt.Error = bahasha.DeliveryFailed, "the webhook URL is not valid: "+err.Error()
		return res, false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", e.cfg.UserAgent)
	req.Header.Set(webhook.SignatureHeader, webhook.Sign([]byte(lane.AppSecret), body))
	req.Header.Set(HeaderDeliveryID, strconv.FormatInt(d.ID, 10))
	req.Header.Set(HeaderAttempt, strconv.Itoa(number))
	resp, err := e.client.Do(req)
	var retryAfter time.Duration
	if err == nil {
		excerpt, _, rerr := e.client.ReadBody(resp)
		res.Attempt.StatusCode = resp.StatusCode
		res.Attempt.ResponseBody = truncateUTF8(excerpt, bahasha.MaxResponseExcerpt)
		if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
			retryAfter, _ = retry.ParseRetryAfter(resp.Header.Get("Retry-After"), e.now())
		}
		switch {
		case resp.StatusCode < 200 || resp.StatusCode > 299:
			res.Attempt.Error = fmt.Sprintf("the endpoint answered %d %s; only a 2xx status acknowledges a delivery", resp.StatusCode, http.StatusText(resp.StatusCode))
		case rerr != nil && actx.Err() != nil:
			err = rerr
		}
	}
	res.Attempt.Duration = e.now().Sub(started)
	if err != nil {
		if ctx.Err() != nil {
			return res, true
		}
		res.Attempt.Error = describe(err, e.cfg.Timeout)
	}
	if res.Attempt.Error == "" {
		res.State = bahasha.DeliveryDelivered
		return res, false
	}
	window := d.WindowStart
	if window.IsZero() {
		window = started
	}
	e.randMu.Lock()
	next, ok := e.cfg.Retry.Next(number, window, e.now(), e.rand)
	e.randMu.Unlock()
	if !ok {
		res.State = bahasha.DeliveryFailed
		res.Attempt.Error += "; the retry window is over, so the delivery is marked failed"
		return res, false
	}
	if retryAfter > 0 {
		next = e.cfg.Retry.WithRetryAfter(next, window, e.now(), retryAfter)
	}
	res.State, res.NextAttemptAt = bahasha.DeliveryPending, next
	return res, false
}

// describe turns a transport error into words a business can act on.
func describe(err error, timeout time.Duration) string {
	switch safehttp.Classify(err) {
	case safehttp.ReasonTimeout:
		return fmt.Sprintf("the endpoint did not answer within %s; answer 200 first and process afterwards", timeout)
	case safehttp.ReasonTLS:
		return "TLS failed: " + lastPart(err) + "; the endpoint needs a valid certificate for its host name"
	case safehttp.ReasonDNS:
		return "the host name does not resolve: " + lastPart(err)
	case safehttp.ReasonConnect:
		return "could not connect: " + lastPart(err)
	case safehttp.ReasonPrivateAddress:
		return "refused: the URL resolves to a private or loopback address, which Bahasha does not call"
	}
	return lastPart(err)
}

// lastPart drops net/http's "Post \"url\": " prefix.
func lastPart(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

func truncateUTF8(b []byte, n int) string {
	if len(b) <= n {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return strings.ToValidUTF8(string(b[:n]), "")
}
