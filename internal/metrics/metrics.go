// Package metrics is bahasha serve's Prometheus metrics
// (github.com/prometheus/client_golang), served on their own listener
// (serve --metrics-addr). Every label is bounded: never an account, an
// endpoint, a URL or a phone number.
//
// Counters and histograms count this node's own work; the gauges named
// in StoreWide come from the database, so every node of a cluster reports
// the same values for them.
package metrics

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bahasha/bahasha/internal/store"
)

// Attempt result classes (bahasha_delivery_attempts_total's result).
const (
	Result2xx     = "2xx"
	Result3xx     = "3xx"
	Result4xx     = "4xx"
	Result5xx     = "5xx"
	ResultTimeout = "timeout"
	ResultConnect = "connect"
	ResultTLS     = "tls"
	ResultDNS     = "dns"
	ResultBlocked = "blocked"
	ResultOther   = "other"
)

// Results lists the result classes.
var Results = []string{Result2xx, Result3xx, Result4xx, Result5xx, ResultTimeout, ResultConnect, ResultTLS, ResultDNS, ResultBlocked, ResultOther}

// StatusResult is the result class of an HTTP status.
func StatusResult(code int) string {
	switch {
	case code >= 200 && code < 300:
		return Result2xx
	case code >= 300 && code < 400:
		return Result3xx
	case code >= 400 && code < 500:
		return Result4xx
	case code >= 500 && code < 600:
		return Result5xx
	}
	return ResultOther
}

// Delivery outcomes (bahasha_deliveries_finished_total's outcome).
const (
	OutcomeDelivered  = "delivered"
	OutcomeFailed     = "failed"
	OutcomeSuperseded = "superseded"
	OutcomeExpired    = "expired"
)

// Outcomes lists the delivery outcomes.
var Outcomes = []string{OutcomeDelivered, OutcomeFailed, OutcomeSuperseded, OutcomeExpired}

// Event sources (bahasha_events_ingested_total's source).
const (
	SourceAPI     = "api"     // POST /v1/events, the producer ingest
	SourceSandbox = "sandbox" // the sandbox carrier's statuses of a sent message
	SourceInbound = "inbound" // a sandbox customer's message
	SourceMeta    = "meta"    // Meta's webhooks (POST /meta/webhook)
)

// MetaResults are what became of a change of Meta's webhooks
// (bahasha_meta_changes_total's result).
var MetaResults = []string{"routed", "duplicate", "unrouted"}

// LatencyBuckets are the end-to-end latency histogram's bounds, in
// seconds: 1 ms up to the 7-day retry window.
var LatencyBuckets = []float64{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600,
	4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400}

// DurationBuckets are the bounds of the attempt, store and HTTP request
// duration histograms, in seconds.
var DurationBuckets = []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30}

// StoreWide names the gauges read from the database.
var StoreWide = []string{"bahasha_backlog_deliveries", "bahasha_oldest_due_delivery_age_seconds", "bahasha_endpoints", "bahasha_meta_unrouted_changes", "bahasha_store_up"}

// Metrics are one node's metrics. The methods of a nil *Metrics do
// nothing, so that the code paths need no check.
type Metrics struct {
	reg *prometheus.Registry

	ingested        *prometheus.CounterVec
	finished        map[string]prometheus.Counter
	attempts        map[string]prometheus.Counter
	attemptDuration prometheus.Histogram
	latency         prometheus.Histogram
	lanesClaimed    prometheus.Counter
	leasesLost      prometheus.Counter
	storeOps        *prometheus.HistogramVec
	storeErrors     *prometheus.CounterVec
	requests        *prometheus.CounterVec
	requestDuration *prometheus.HistogramVec
	metaChanges     map[string]prometheus.Counter
}

// New makes the metrics of a node of this version, with the Go and
// process collectors.
func New(version string) *Metrics {
	reg := prometheus.NewRegistry()
	m := &Metrics{reg: reg,
		ingested: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bahasha_events_ingested_total",
			Help: "Events accepted and stored (a duplicate of a stored event is not counted), by kind (status, message, change: a change of Meta's passed through) and source (api, sandbox, inbound, meta)."},
			[]string{"kind", "source"}),
		attemptDuration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bahasha_delivery_attempt_duration_seconds",
			Help: "Duration of delivery attempts (one per POST), from the request to the end of the answer.", Buckets: DurationBuckets}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "bahasha_delivery_latency_seconds",
			Help: "End-to-end latency of delivered deliveries: from the event's acceptance (or its replay) to the endpoint's 2xx.", Buckets: LatencyBuckets}),
		lanesClaimed: prometheus.NewCounter(prometheus.CounterOpts{Name: "bahasha_lanes_claimed_total",
			Help: "Endpoint lanes this node claimed to deliver."}),
		leasesLost: prometheus.NewCounter(prometheus.CounterOpts{Name: "bahasha_lane_leases_lost_total",
			Help: "Lanes this node claimed whose previous lease ran out instead of being released (a worker or node died mid-turn)."}),
		storeOps: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bahasha_store_operation_duration_seconds",
			Help: "Duration of store operations, by operation.", Buckets: DurationBuckets}, []string{"op"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bahasha_store_errors_total",
			Help: "Store operations that failed for a reason other than the caller's (not found, conflicts), by operation."}, []string{"op"}),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bahasha_http_requests_total",
			Help: "HTTP requests served, by route pattern and status class."}, []string{"route", "code"}),
		requestDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bahasha_http_request_duration_seconds",
			Help: "Duration of HTTP requests, by route pattern (streams and WebSockets are left out).", Buckets: DurationBuckets}, []string{"route"}),
	}
	finished := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bahasha_deliveries_finished_total",
		Help: "Deliveries that reached a final state, by outcome: delivered, failed (after attempts), superseded (a later status of the message reached the endpoint first), expired (given up unattempted at the end of the retry window, or dropped from a listen session's backlog)."},
		[]string{"outcome"})
	m.finished = map[string]prometheus.Counter{}
	for _, o := range Outcomes {
		m.finished[o] = finished.WithLabelValues(o)
	}
	attempts := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bahasha_delivery_attempts_total",
		Help: "Delivery attempts (one per POST; a batch counts once), by result: 2xx, 3xx, 4xx, 5xx, timeout, connect, tls, dns, blocked (a private address refused), other."},
		[]string{"result"})
	m.attempts = map[string]prometheus.Counter{}
	for _, r := range Results {
		m.attempts[r] = attempts.WithLabelValues(r)
	}
	metaChanges := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bahasha_meta_changes_total",
		Help: "Changes of Meta's webhooks received, by result: routed (stored for an account), duplicate (Meta sent it again), unrouted (no account owns its number or WABA; kept for the operator)."},
		[]string{"result"})
	m.metaChanges = map[string]prometheus.Counter{}
	for _, r := range MetaResults {
		m.metaChanges[r] = metaChanges.WithLabelValues(r)
	}
	build := prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bahasha_build_info", Help: "Always 1, with the version of bahasha serve."}, []string{"version"})
	build.WithLabelValues(version).Set(1)
	reg.MustRegister(m.ingested, finished, attempts, m.attemptDuration, m.latency, m.lanesClaimed, m.leasesLost, m.storeOps,
		m.storeErrors, m.requests, m.requestDuration, metaChanges, build,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus' text format (and
// OpenMetrics when asked for).
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, EnableOpenMetrics: true, Timeout: 10 * time.Second})
}

// Registry is where the metrics are registered (for tests).
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Ingested counts n new events of kind from source.
func (m *Metrics) Ingested(kind, source string, n int) {
	if m == nil || n == 0 {
		return
	}
	m.ingested.WithLabelValues(kind, source).Add(float64(n))
}

// MetaChanges counts n changes of Meta's webhooks with result (one of
// MetaResults).
func (m *Metrics) MetaChanges(result string, n int) {
	if m == nil || n == 0 {
		return
	}
	if c, ok := m.metaChanges[result]; ok {
		c.Add(float64(n))
	}
}

// Finished counts n deliveries that reached outcome.
func (m *Metrics) Finished(outcome string, n int) {
	if m == nil || n == 0 {
		return
	}
	if c := m.finished[outcome]; c != nil {
		c.Add(float64(n))
	}
}

// Attempt counts one POST of result class, which took d.
func (m *Metrics) Attempt(result string, d time.Duration) {
	if m == nil {
		return
	}
	c := m.attempts[result]
	if c == nil {
		c = m.attempts[ResultOther]
	}
	c.Inc()
	m.attemptDuration.Observe(d.Seconds())
}

// Delivered observes one delivered delivery's end-to-end latency.
func (m *Metrics) Delivered(latency time.Duration) {
	if m == nil {
		return
	}
	m.latency.Observe(max(latency, 0).Seconds())
}

// Claimed counts the lanes of one claim, lost of them recovered from a
// lease that ran out.
func (m *Metrics) Claimed(lanes, lost int) {
	if m == nil {
		return
	}
	m.lanesClaimed.Add(float64(lanes))
	m.leasesLost.Add(float64(lost))
}

// StoreOp observes one store operation that began at start; err is its
// error (the caller's own mistakes are not counted as errors).
func (m *Metrics) StoreOp(op string, start time.Time, err error) {
	if m == nil {
		return
	}
	m.storeOps.WithLabelValues(op).Observe(time.Since(start).Seconds())
	if err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) && !errors.Is(err, store.ErrTooMany) &&
		!errors.Is(err, context.Canceled) {
		m.storeErrors.WithLabelValues(op).Inc()
	}
}

// WatchStore registers the store-wide gauges, read from st's Snapshot
// when scraped (at most every minInterval; the reading takes at most 5s).
func (m *Metrics) WatchStore(st store.Store, minInterval time.Duration) {
	if m == nil {
		return
	}
	m.reg.MustRegister(&storeCollector{st: st, every: minInterval,
		backlog: prometheus.NewDesc("bahasha_backlog_deliveries", "Pending deliveries of every endpoint (store-wide).", nil, nil),
		lag: prometheus.NewDesc("bahasha_oldest_due_delivery_age_seconds",
			"How long the oldest lane that a node could deliver now has been due (store-wide; 0 when none is): the delivery lag. Disabled endpoints, open breakers before their probe, pauses and offline listen sessions wait by design and are left out.", nil, nil),
		endpoints: prometheus.NewDesc("bahasha_endpoints", "Endpoints by health: healthy, failing, probing, paused, disabled (store-wide).", []string{"health"}, nil),
		unrouted: prometheus.NewDesc("bahasha_meta_unrouted_changes",
			"Changes of Meta's webhooks kept because no account owns their number or WABA, waiting for the operator (store-wide; GET /admin/v1/unrouted).", nil, nil),
		up: prometheus.NewDesc("bahasha_store_up", "1 when the database answered this scrape's reading of the store-wide gauges, else 0.", nil, nil),
	})
}

// storeCollector reports the store-wide gauges.
type storeCollector struct {
	st    store.Store
	every time.Duration

	mu   sync.Mutex
	at   time.Time
	snap store.Snapshot
	ok   bool

	backlog, lag, endpoints, unrouted, up *prometheus.Desc
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.backlog
	ch <- c.lag
	ch <- c.endpoints
	ch <- c.unrouted
	ch <- c.up
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := time.Now()
	if c.at.IsZero() || now.Sub(c.at) >= c.every {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		snap, err := c.st.Snapshot(ctx, now)
		cancel()
		c.at, c.ok = now, err == nil
		if err == nil {
			c.snap = snap
		}
	}
	up := 0.0
	if c.ok {
		up = 1
	}
	ch <- prometheus.MustNewConstMetric(c.up, prometheus.GaugeValue, up)
	if !c.ok {
		return // no stale figures
	}
	ch <- prometheus.MustNewConstMetric(c.backlog, prometheus.GaugeValue, float64(c.snap.Pending))
	lag := 0.0
	if !c.snap.OldestDue.IsZero() {
		lag = max(c.at.Sub(c.snap.OldestDue).Seconds(), 0)
	}
	ch <- prometheus.MustNewConstMetric(c.lag, prometheus.GaugeValue, lag)
	for _, h := range store.EndpointHealths {
		ch <- prometheus.MustNewConstMetric(c.endpoints, prometheus.GaugeValue, float64(c.snap.Endpoints[h]), h)
	}
	ch <- prometheus.MustNewConstMetric(c.unrouted, prometheus.GaugeValue, float64(c.snap.Unrouted))
}

// HTTP counts next's requests by route pattern and status class. The
// pattern is the one the innermost ServeMux matched ("GET
// /v1/webhooks/{id}"), "unmatched" when none did.
func (m *Metrics) HTTP(next http.Handler) http.Handler {
	if m == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		route := r.Pattern
		if route == "" {
			route = "unmatched"
		}
		code := "2xx" // nothing written: net/http answers 200
		switch {
		case rec.hijacked:
			code = "1xx" // 101 Switching Protocols: a WebSocket
		case rec.status != 0:
			code = strconv.Itoa(rec.status/100) + "xx"
		}
		m.requests.WithLabelValues(route, code).Inc()
		if !rec.hijacked && !rec.flushed {
			m.requestDuration.WithLabelValues(route).Observe(time.Since(start).Seconds())
		}
	})
}

// statusRecorder notes a response's status, keeping the writer's
// optional interfaces reachable through Unwrap (http.ResponseController).
type statusRecorder struct {
	http.ResponseWriter
	status   int
	hijacked bool
	flushed  bool
}

func (r *statusRecorder) WriteHeader(code int) {
	if r.status == 0 && code >= 200 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.ResponseWriter.Write(b)
}

// Flush marks a stream (its duration is not a request's).
func (r *statusRecorder) Flush() {
	r.flushed = true
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Hijack marks a WebSocket (or any taken-over connection).
func (r *statusRecorder) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	h, ok := r.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("the connection cannot be taken over")
	}
	r.hijacked = true
	return h.Hijack()
}

func (r *statusRecorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
