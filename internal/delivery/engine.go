// Package delivery is the delivery engine: it claims due deliveries lane by
// lane (one lane per endpoint), builds WhatsApp's envelope, signs it with the
// account's app secret, POSTs it through the SSRF-safe client, and records
// each attempt: delivered on a 2xx within the timeout, otherwise retried on
// the retry schedule (honouring Retry-After on 429 and 503) until the retry
// window closes and the delivery is marked failed.
//
// A lane's deliveries go out in order, batched into POSTs, at most
// MaxInFlight POSTs at once, each only once the previous one is on the wire
// (and, for a message's later statuses, once the POST with its earlier ones
// succeeded); the first failure ends the lane's turn, so a failing endpoint
// is not hammered and later events do not overtake the failed one within
// its turn. Lanes of different endpoints run concurrently, so a slow
// endpoint never delays another.
package delivery

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/bahasha/bahasha/internal/metrics"
	"github.com/bahasha/bahasha/internal/retry"
	"github.com/bahasha/bahasha/internal/safehttp"
	"github.com/bahasha/bahasha/internal/store"
)

// Headers of every delivery besides Content-Type, User-Agent and
// X-Hub-Signature-256.
const (
	// HeaderDeliveryID lists the ids of the deliveries a POST carries
	// ("dlv_12,dlv_13"), in envelope order. A delivery's id is the same on
	// every attempt, so receivers can deduplicate on it (per event, the
	// SDK's Seen does so on message id and status).
	HeaderDeliveryID = "X-Bahasha-Delivery-Id"
	// HeaderAttempt is the attempt's number, from 1 (for a batch, the
	// highest of its deliveries).
	HeaderAttempt = "X-Bahasha-Attempt"
	// HeaderIdempotencyKey carries the same ids as HeaderDeliveryID: the
	// same on every attempt of the same deliveries.
	HeaderIdempotencyKey = "X-Idempotency-Key"
)

// Config configures an Engine. Zero fields take the documented defaults.
type Config struct {
	// Metrics, when set, count the attempts and finished deliveries.
	Metrics *metrics.Metrics
	// DisableAfter disables an endpoint that has failed continuously for
	// this long (its pending deliveries wait until it is enabled again).
	// Default: the retry window. An endpoint that answers 410 Gone is
	// disabled at once.
	DisableAfter time.Duration
	// MaxLanes is how many endpoints are served at once. Default 64.
	MaxLanes int
	// MaxPerLane is how many deliveries one claim of a lane takes.
	// Default max(MaxBatch×MaxInFlight, 400): with batching off too, a
	// lane turn is long enough that claiming and recording cost little
	// (400 rather than 100 per claim: about 15% more events/s delivered,
	// bahasha bench --endpoints 10 --max-batch 1).
	MaxPerLane int
	// MaxBatch is how many events one POST carries at most; 1 turns
	// batching off. Default 100.
	MaxBatch int
	// MaxBatchBytes caps a POST body (a single larger event still goes,
	// alone). Default 1 MiB, well under WhatsApp's 3 MB.
	MaxBatchBytes int
	// MaxInFlight is how many POSTs may be in flight to one endpoint at
	// once. Default 4.
	MaxInFlight int
	// BreakerThreshold is how many consecutive failed POSTs open an
	// endpoint's breaker: from then on one request at a time probes it, on
	// the retry schedule, until one succeeds. Default 5.
	BreakerThreshold int
	// Retention is how long delivered, failed and superseded deliveries
	// (with their attempts and events) are kept. Default 7 days; negative
	// keeps them forever.
	Retention time.Duration
	// AuditRetention is how long the accounts' audit log entries are
	// kept. Default 365 days; negative keeps them forever.
	AuditRetention time.Duration
	// MaintenanceInterval is how often expired deliveries are failed and
	// old ones pruned. Default 1s.
	MaintenanceInterval time.Duration
	// ListenRetry is the retry schedule of listen sessions' deliveries.
	// Default 1s, 2s, 5s, 10s, 30s, then every minute, for 24 h.
	ListenRetry retry.Policy
	// Node names this process among the nodes sharing the store: the
	// listen sessions whose connections it holds are its to deliver.
	// Empty delivers none (only HTTP endpoints).
	Node string
	// Timeout bounds one attempt. Default 10s.
	Timeout time.Duration
	// LeaseFor is how long a claimed lane stays reserved; a lane whose
	// worker died is claimed again after it. Default: the rounds of
	// MaxInFlight POSTs a claim needs (at most 2) × Timeout + 5s: 15s
	// with batching, 25s without.
	LeaseFor time.Duration
	// PollInterval is the longest the engine sleeps when nothing wakes it.
	// Default 1s.
	PollInterval time.Duration
	// ShutdownGrace is how long Run lets in-flight attempts finish after its
	// context ends. Default 10s.
	ShutdownGrace time.Duration
	// Retry is the retry schedule. Default retry.DefaultPolicy().
	Retry retry.Policy
}

func (c Config) withDefaults() Config {
	if c.MaxLanes <= 0 {
		c.MaxLanes = 64
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 100
	}
	if c.MaxBatchBytes <= 0 {
		c.MaxBatchBytes = 1 << 20
	}
	if c.MaxInFlight <= 0 {
		c.MaxInFlight = 4
	}
	if c.MaxPerLane <= 0 {
		c.MaxPerLane = max(c.MaxBatch*c.MaxInFlight, 400)
	}
	if c.BreakerThreshold <= 0 {
		c.BreakerThreshold = 5
	}
	if c.AuditRetention == 0 {
		c.AuditRetention = 365 * 24 * time.Hour
	}
	if c.Retention == 0 {
		c.Retention = 7 * 24 * time.Hour
	}
	if c.MaintenanceInterval <= 0 {
		c.MaintenanceInterval = time.Second
	}
	if c.Timeout <= 0 {
		c.Timeout = 10 * time.Second
	}
	if c.LeaseFor <= 0 {
		// Enough for the chunks of a claim to time out, MaxInFlight at a
		// time, with room to record the outcome — but at most two rounds
		// of timeouts: it is also how long other nodes wait before they
		// take over the lanes of a node that died, and a worker stops
		// starting POSTs one timeout before its lease ends anyway (what
		// it did not send stays pending for the next claim).
		chunks := (c.MaxPerLane + c.MaxBatch - 1) / c.MaxBatch
		rounds := min((chunks+c.MaxInFlight-1)/c.MaxInFlight, 2)
		c.LeaseFor = time.Duration(rounds)*c.Timeout + 5*time.Second
	}
	if c.PollInterval <= 0 {
		c.PollInterval = time.Second
	}
	if c.ShutdownGrace <= 0 {
		c.ShutdownGrace = 10 * time.Second
	}
	if c.ListenRetry.Steps == nil {
		c.ListenRetry = ListenPolicy()
	}
	if c.Retry.Steps == nil {
		c.Retry = retry.DefaultPolicy()
	}
	if c.DisableAfter <= 0 {
		c.DisableAfter = c.Retry.Window
	}
	return c
}

// Engine delivers events. Create it with New, start it with Run.
type Engine struct {
	cfg       Config
	store     store.Store
	client    *safehttp.Client
	forwarder Forwarder
	now       func() time.Time
	log       *slog.Logger
	wake      chan struct{}

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

// ListenPolicy is the default retry schedule of listen sessions: 1s, 2s,
// 5s, 10s, 30s, then every minute, for 24 h.
func ListenPolicy() retry.Policy {
	p := retry.DefaultPolicy()
	p.Steps = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second, time.Minute}
	p.MaxDelay, p.Window = time.Minute, 24*time.Hour
	return p
}

// Forwarder sends listen sessions' POSTs over their connections to this
// node: internal/listen's Hub.
type Forwarder interface {
	// Forward hands one POST to the session of endpointID and returns
	// the local server's answer as the CLI reports it; sent is called
	// once the POST is on its way to the CLI. It returns an error when
	// the session is not connected here or its connection fails.
	Forward(ctx context.Context, endpointID int64, r ForwardRequest, sent func()) (ForwardResponse, error)
}

// ForwardRequest is a POST for a listen session: exactly the headers and
// body an HTTP endpoint would get.
type ForwardRequest struct {
	Header http.Header
	Body   []byte
}

// ForwardResponse is the local server's answer: its status (0 when none
// came: Error says why, and MaybeDelivered whether the request went out)
// and the start of its body. (The attempt's duration is the engine's own
// measure, the round trip through the session included.)
type ForwardResponse struct {
	Status         int
	Body           string
	Error          string
	MaybeDelivered bool
}

// ErrNotConnected is a Forwarder's answer when the session is not
// connected to this node: nothing was sent.
var ErrNotConnected = errors.New("the listen session is not connected to this node; its deliveries wait for the CLI to reconnect")

// SetForwarder makes the engine deliver the listen sessions connected to
// this node through f. Call it before Run.
func (e *Engine) SetForwarder(f Forwarder) { e.forwarder = f }

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
	var maint sync.WaitGroup
	maint.Add(1)
	go func() {
		defer maint.Done()
		e.maintain(ctx)
	}()
	defer maint.Wait()
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
	var storeDownSince time.Time // since when claims fail
	for ctx.Err() == nil {
		drain()
		free := e.cfg.MaxLanes - inFlight
		claimed := 0
		if free > 0 {
			lanes, err := e.store.ClaimLanes(ctx, store.ClaimParams{Node: e.cfg.Node, Now: e.now(), MaxLanes: free, MaxPerLane: e.cfg.MaxPerLane, LeaseFor: e.cfg.LeaseFor})
			switch {
			case err != nil && ctx.Err() == nil:
				// Once per outage, not once per poll.
				if storeDownSince.IsZero() {
					storeDownSince = e.now()
					e.log.Error("the database is unavailable: nothing is delivered until it answers (accepted events are kept)", "err", err)
				} else {
					e.log.Debug("claiming deliveries", "err", err)
				}
			case err == nil && !storeDownSince.IsZero():
				e.log.Info("the database answers again: delivery resumes", "down_for", e.now().Sub(storeDownSince).Round(time.Millisecond).String())
				storeDownSince = time.Time{}
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
			switch next, ok, err := e.store.NextDue(ctx, e.cfg.Node); {
			case err != nil && ctx.Err() == nil && storeDownSince.IsZero():
				e.log.Error("finding the next due delivery; polling meanwhile", "err", err)
			case err == nil && ok:
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

// maintain runs maintainOnce every MaintenanceInterval until ctx ends.
func (e *Engine) maintain(ctx context.Context) {
	tick := time.NewTicker(e.cfg.MaintenanceInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		e.maintainOnce(ctx)
	}
}

// maintenanceBatch is how many rows one maintenance write touches at most.
const maintenanceBatch = 500

// maintainOnce fails deliveries whose retry window is over (those waiting
// behind an open breaker never get an attempt that would notice), queues
// replayed events, and prunes what is past the retention period — each
// until caught up, in small writes so that delivery never stalls behind
// it (one batch a tick would fall behind any rate above a batch a second).
func (e *Engine) maintainOnce(ctx context.Context) {
	now := e.now()
	// Operational events a crash left recorded but not routed.
	e.FlushNotices(ctx)
	// Listen sessions left offline past their window go, with their work.
	if n, err := e.store.RemoveStaleListenSessions(ctx, store.StaleSessionsParams{Before: now.Add(-e.cfg.ListenRetry.Window), Limit: maintenanceBatch, Now: now,
		Reason: "the bahasha listen session was offline for more than " + e.cfg.ListenRetry.Window.String() + ", so it was removed"}); err != nil && ctx.Err() == nil {
		e.log.Error("removing listen sessions left offline", "err", err)
	} else if n > 0 {
		e.log.Info("removed listen sessions left offline past their window, failing their pending deliveries", "sessions", n)
	}
	if n, err := e.store.TrimListenBacklogs(ctx, store.TrimBacklogsParams{Max: store.MaxListenBacklog, Limit: maintenanceBatch, Now: now,
		Reason: fmt.Sprintf("the bahasha listen session held more than %d pending deliveries, so the oldest were dropped", store.MaxListenBacklog)}); err != nil && ctx.Err() == nil {
		e.log.Error("trimming listen sessions' backlogs", "err", err)
	} else if n > 0 {
		e.log.Warn("dropped the oldest deliveries of listen sessions over their bound", "deliveries", n, "bound", store.MaxListenBacklog)
	}
	for ctx.Err() == nil {
		reason := "not delivered within the retry window (" + e.cfg.Retry.Window.String() + "); the endpoint kept failing"
		n, err := e.store.ExpireDeliveries(ctx, store.ExpireParams{Now: now, Before: now.Add(-e.cfg.Retry.Window), Limit: maintenanceBatch,
			Reason: reason, Exhausted: e.expiredNotice(now, reason)})
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("expiring deliveries", "err", err)
			}
			break
		}
		if n > 0 {
			e.log.Warn("deliveries given up unattempted: their retry window is over (their endpoints kept failing, or were disabled)", "deliveries", n)
			e.FlushNotices(ctx)
			e.Wake()
		}
		if n < maintenanceBatch {
			break
		}
	}
	e.advanceReplays(ctx)
	p := store.PruneParams{Limit: maintenanceBatch, Now: now}
	if e.cfg.Retention > 0 {
		p.Before = now.Add(-e.cfg.Retention)
	}
	if e.cfg.AuditRetention > 0 {
		p.AuditBefore = now.Add(-e.cfg.AuditRetention)
	}
	for (e.cfg.Retention > 0 || e.cfg.AuditRetention > 0) && ctx.Err() == nil {
		n, err := e.store.Prune(ctx, p)
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("pruning old deliveries", "err", err)
			}
			break
		}
		if n < maintenanceBatch {
			break
		}
	}
}

// advanceReplays queues the events of pending replays, a chunk per write,
// until none is left, waking the delivery loop after each chunk so that
// replayed events go out while the rest is being queued.
func (e *Engine) advanceReplays(ctx context.Context) {
	for ctx.Err() == nil {
		n, err := e.store.AdvanceReplays(ctx, store.AdvanceReplaysParams{Now: e.now(), Limit: store.ReplayChunk})
		if err != nil {
			if ctx.Err() == nil {
				e.log.Error("queuing replayed events", "err", err)
			}
			return
		}
		if n == 0 {
			return
		}
		e.Wake()
	}
}

// describe turns a transport error into words a business can act on.
// timedOut says the attempt's deadline had passed: whatever the error's
// text (a connection cut mid-answer reads as a malformed response), the
// endpoint did not answer in time.
func describe(err error, timedOut bool, timeout time.Duration) string {
	reason := safehttp.Classify(err)
	if timedOut {
		reason = safehttp.ReasonTimeout
	}
	switch reason {
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

// resultOf is a transport error's class for the metrics.
func resultOf(err error, timedOut bool) string {
	if timedOut {
		return metrics.ResultTimeout
	}
	switch safehttp.Classify(err) {
	case safehttp.ReasonTimeout:
		return metrics.ResultTimeout
	case safehttp.ReasonTLS:
		return metrics.ResultTLS
	case safehttp.ReasonDNS:
		return metrics.ResultDNS
	case safehttp.ReasonConnect:
		return metrics.ResultConnect
	case safehttp.ReasonPrivateAddress:
		return metrics.ResultBlocked
	}
	return metrics.ResultOther
}

// lastPart drops net/http's "Post \"url\": " prefix. The text may quote
// bytes of the endpoint's answer: it is made valid UTF-8 (it is stored and
// shown as text).
func lastPart(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return strings.ToValidUTF8(err.Error(), "\uFFFD")
}

func truncateUTF8(b []byte, n int) string {
	if len(b) <= n {
		return strings.ToValidUTF8(string(b), "\uFFFD")
	}
	return strings.ToValidUTF8(string(b[:n]), "")
}
