package bench

import (
	"math"
	"slices"
	"sync/atomic"
	"time"
)

// class is how an endpoint's sink answers deliveries.
type class int

const (
	healthy class = iota
	slow
	hanging
	failing
)

func (c class) String() string {
	return [...]string{"healthy", "slow", "hanging", "failing"}[c]
}

// classes assigns each of cfg's endpoints its class: the healthy ones first,
// then slow, hanging and failing.
func classes(cfg Config) []class {
	s, h, f := cfg.classCounts()
	out := make([]class, cfg.Endpoints)
	i := cfg.Endpoints - s - h - f
	for _, n := range []struct {
		c class
		n int
	}{{slow, s}, {hanging, h}, {failing, f}} {
		for range n.n {
			out[i] = n.c
			i++
		}
	}
	return out
}

// Percentile returns the p-th percentile (0 < p <= 100) of sorted, an
// ascending slice, by the nearest-rank method: the smallest value such that
// at least p percent of the values are at most it. It returns 0 for an
// empty slice.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	rank = min(max(rank, 1), len(sorted))
	return sorted[rank-1]
}

// Ratio returns a/b, or 0 when b is not positive.
func Ratio(a, b float64) float64 {
	if b <= 0 {
		return 0
	}
	return a / b
}

// PerSecond returns n per second over d, or 0 when d is not positive.
func PerSecond(n int64, d time.Duration) float64 {
	if d <= 0 {
		return 0
	}
	return float64(n) / d.Seconds()
}

// Latency is the time from an event's acknowledgement to its receipt; an
// event received before its acknowledgement returned counts as 0.
func Latency(acked, received time.Duration) time.Duration {
	return max(received-acked, 0)
}

// tracker records, per event, when its ingest was acknowledged and when a
// sink first received it, and counts receipts. Event seq of ingest batch b
// (seq/batch) belongs to endpoint b mod endpoints, so no table maps events to
// endpoints. Times are offsets from origin plus 1ns, so that 0 means never.
type tracker struct {
	origin  time.Time
	batch   int
	classes []class

	ack   []atomic.Int64
	recv  []atomic.Int64
	count []atomic.Int32

	acked, ackedHealthy     atomic.Int64
	received, recvHealthy   atomic.Int64
	duplicates, misrouted   atomic.Int64
	unexpected              atomic.Int64
	posts, rejected         atomic.Int64
	postsHealthy, evHealthy atomic.Int64 // POSTs and events received by healthy sinks
}

func newTracker(origin time.Time, events, batch int, classes []class) *tracker {
	return &tracker{origin: origin, batch: batch, classes: classes,
		ack: make([]atomic.Int64, events), recv: make([]atomic.Int64, events), count: make([]atomic.Int32, events)}
}

// now is the current time as a tracker offset (never 0).
func (t *tracker) now() int64 { return int64(time.Since(t.origin)) + 1 }

func (t *tracker) endpointOf(seq int) int { return (seq / t.batch) % len(t.classes) }

// acknowledged records the 202 of the events [lo, hi) of endpoint ep.
func (t *tracker) acknowledged(lo, hi, ep int) {
	now := t.now()
	for seq := lo; seq < hi; seq++ {
		t.ack[seq].Store(now)
	}
	t.acked.Add(int64(hi - lo))
	if t.classes[ep] == healthy {
		t.ackedHealthy.Add(int64(hi - lo))
	}
}

// receivedBy records that endpoint ep's sink received event seq.
func (t *tracker) receivedBy(ep int, seq uint64) {
	if t.classes[ep] == healthy {
		t.evHealthy.Add(1)
	}
	if seq >= uint64(len(t.count)) {
		t.unexpected.Add(1)
		return
	}
	if t.count[seq].Add(1) > 1 {
		t.duplicates.Add(1)
		return
	}
	t.recv[seq].Store(t.now())
	t.received.Add(1)
	if t.classes[ep] == healthy {
		t.recvHealthy.Add(1)
	}
	if t.endpointOf(int(seq)) != ep {
		t.misrouted.Add(1)
	}
}

// Figures are the measurements of a set of endpoints.
type Figures struct {
	// Events is how many events were acknowledged by the ingest API.
	Events int64 `json:"events"`
	// Delivered is how many of them a sink received (at least once).
	Delivered int64 `json:"delivered"`
	// Duplicates counts receipts beyond an event's first.
	Duplicates int64 `json:"duplicates"`
	// Lost counts acknowledged events of healthy endpoints never received.
	Lost int64 `json:"lost"`
	// IngestPerS is Events over the ingest phase.
	IngestPerS float64 `json:"ingest_per_s"`
	// DeliveredPerS is Delivered over the time from the first
	// acknowledgement to the last receipt.
	DeliveredPerS float64 `json:"delivered_per_s"`
	// Latencies from acknowledgement to first receipt, in milliseconds.
	P50MS float64 `json:"p50_ms"`
	P95MS float64 `json:"p95_ms"`
	P99MS float64 `json:"p99_ms"`
	MaxMS float64 `json:"max_ms"`
	// IngestRatio and DeliveredRatio are IngestPerS and DeliveredPerS over
	// the loopback POST ceiling.
	IngestRatio    float64 `json:"ingest_ratio"`
	DeliveredRatio float64 `json:"delivered_ratio"`
	// Endpoints is how many endpoints these figures cover, and
	// DeliveredPerEndpointPerS is DeliveredPerS over them: the figure to
	// compare between runs whose producer spreads events over different
	// numbers of endpoints (e.g. the healthy ones of a mixed run).
	Endpoints                int     `json:"endpoints"`
	DeliveredPerEndpointPerS float64 `json:"delivered_per_endpoint_per_s"`
}

// figures measures the endpoints for which include is true. ingestStart is
// the tracker offset at which ingest began.
func (t *tracker) figures(include func(ep int) bool, ingestStart int64, ceiling float64) Figures {
	var f Figures
	for ep := range t.classes {
		if include(ep) {
			f.Endpoints++
		}
	}
	var lats []time.Duration
	var firstAck, lastAck, lastRecv int64 = math.MaxInt64, 0, 0
	for seq := range t.ack {
		if !include(t.endpointOf(seq)) {
			continue
		}
		if c := t.count[seq].Load(); c > 1 {
			f.Duplicates += int64(c - 1)
		}
		a := t.ack[seq].Load()
		if a == 0 {
			continue
		}
		f.Events++
		firstAck, lastAck = min(firstAck, a), max(lastAck, a)
		r := t.recv[seq].Load()
		if r == 0 {
			if t.classes[t.endpointOf(seq)] == healthy {
				f.Lost++
			}
			continue
		}
		f.Delivered++
		lastRecv = max(lastRecv, r)
		lats = append(lats, Latency(time.Duration(a), time.Duration(r)))
	}
	if f.Events == 0 {
		return f
	}
	f.IngestPerS = PerSecond(f.Events, time.Duration(lastAck-ingestStart))
	if f.Delivered > 0 {
		f.DeliveredPerS = PerSecond(f.Delivered, time.Duration(lastRecv-firstAck))
	}
	slices.Sort(lats)
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	f.P50MS, f.P95MS, f.P99MS = ms(Percentile(lats, 50)), ms(Percentile(lats, 95)), ms(Percentile(lats, 99))
	if len(lats) > 0 {
		f.MaxMS = ms(lats[len(lats)-1])
	}
	f.IngestRatio, f.DeliveredRatio = round3(Ratio(f.IngestPerS, ceiling)), round3(Ratio(f.DeliveredPerS, ceiling))
	if f.Endpoints > 0 {
		f.DeliveredPerEndpointPerS = math.Round(f.DeliveredPerS/float64(f.Endpoints)*10) / 10
	}
	f.IngestPerS, f.DeliveredPerS = math.Round(f.IngestPerS), math.Round(f.DeliveredPerS)
	return f
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
