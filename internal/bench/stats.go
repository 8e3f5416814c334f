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

// tracker records, per event, when its ingest was acknowledged and, per
// copy of it (one per webhook endpoint of its account: fanout of them), when
// that copy's sink first received it, and counts receipts. Event seq of
// ingest batch b (seq/batch) belongs to endpoint b mod endpoints, so no table
// maps events to endpoints; copy k of event seq is slot seq*fanout+k. Times
// are offsets from origin plus 1ns, so that 0 means never.
type tracker struct {
	origin  time.Time
	batch   int
	fanout  int
	classes []class

	ack   []atomic.Int64 // per event
	recv  []atomic.Int64 // per copy
	count []atomic.Int32 // per copy
	// ackLat is each ingest POST's time to its 202 in microseconds, per
	// batch; each is written by the one producer that sent the batch and
	// read after they all ended.
	ackLat []int32

	// acked counts events; expectHealthy the copies the healthy sinks are
	// to receive (their accounts' acknowledged events × fanout); received
	// and recvHealthy the copies first received (by any sink, by healthy
	// ones).
	acked, expectHealthy    atomic.Int64
	received, recvHealthy   atomic.Int64
	duplicates, misrouted   atomic.Int64
	unexpected              atomic.Int64
	posts, rejected         atomic.Int64
	postsHealthy, evHealthy atomic.Int64 // POSTs and events received by healthy sinks
}

func newTracker(origin time.Time, events, batch, fanout int, classes []class) *tracker {
	return &tracker{origin: origin, batch: batch, fanout: fanout, classes: classes,
		ack: make([]atomic.Int64, events), recv: make([]atomic.Int64, events*fanout), count: make([]atomic.Int32, events*fanout),
		ackLat: make([]int32, (events+batch-1)/batch)}
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
		t.expectHealthy.Add(int64(hi-lo) * int64(t.fanout))
	}
}

// ingestTook records how long the ingest POST of batch b took to its 202.
func (t *tracker) ingestTook(b int, d time.Duration) {
	t.ackLat[b] = int32(min(d.Microseconds(), math.MaxInt32))
}

// pending is the copies acknowledged but not yet received, by any sink.
func (t *tracker) pending() int64 {
	return t.acked.Load()*int64(t.fanout) - t.received.Load()
}

// receivedBy records that the sink of copy k of endpoint ep received event
// seq. An event of another endpoint (account) is misrouted: counted as such
// and not as a receipt of that endpoint's copy.
func (t *tracker) receivedBy(ep, k int, seq uint64) {
	if t.classes[ep] == healthy {
		t.evHealthy.Add(1)
	}
	if seq >= uint64(len(t.ack)) {
		t.unexpected.Add(1)
		return
	}
	if t.endpointOf(int(seq)) != ep {
		t.misrouted.Add(1)
		return
	}
	slot := int(seq)*t.fanout + k
	if t.count[slot].Add(1) > 1 {
		t.duplicates.Add(1)
		return
	}
	t.recv[slot].Store(t.now())
	t.received.Add(1)
	if t.classes[ep] == healthy {
		t.recvHealthy.Add(1)
	}
}

// Figures are the measurements of a set of endpoints. With fanout 1 a
// delivery is an event; with fanout N each event makes N deliveries (one
// copy to each webhook endpoint of its account), and the counts, rates and
// latencies below without "events" in their name are of deliveries.
type Figures struct {
	// Events is how many events were acknowledged by the ingest API.
	Events int64 `json:"events"`
	// Delivered is how many deliveries (event copies) a sink received, at
	// least once: at most Events × fanout.
	Delivered int64 `json:"delivered"`
	// EventsDelivered is how many events all the webhook endpoints of
	// their account received (Delivered when fanout is 1).
	EventsDelivered int64 `json:"events_delivered"`
	// Duplicates counts receipts beyond a copy's first by its sink.
	Duplicates int64 `json:"duplicates"`
	// Lost counts deliveries of acknowledged events to healthy sinks that
	// were never received.
	Lost int64 `json:"lost"`
	// IngestPerS is Events over the ingest phase.
	IngestPerS float64 `json:"ingest_per_s"`
	// DeliveredPerS is Delivered over the time from the first
	// acknowledgement to the last receipt: deliveries per second.
	DeliveredPerS float64 `json:"delivered_per_s"`
	// EventsPerS is EventsDelivered over the time from the first
	// acknowledgement to the last receipt that completed an event: events
	// delivered to every endpoint of their account per second
	// (DeliveredPerS when fanout is 1).
	EventsPerS float64 `json:"events_per_s"`
	// Latencies from an event's acknowledgement to the first receipt of
	// each copy, over every copy, in milliseconds.
	P50MS float64 `json:"p50_ms"`
	P95MS float64 `json:"p95_ms"`
	P99MS float64 `json:"p99_ms"`
	MaxMS float64 `json:"max_ms"`
	// CompleteP50MS and CompleteP99MS are latencies from an event's
	// acknowledgement to the receipt of its last copy, over the events
	// EventsDelivered counts (P50MS and P99MS when fanout is 1).
	CompleteP50MS float64 `json:"complete_p50_ms"`
	CompleteP99MS float64 `json:"complete_p99_ms"`
	// IngestRatio and DeliveredRatio are IngestPerS and DeliveredPerS over
	// the loopback POST ceiling.
	IngestRatio    float64 `json:"ingest_ratio"`
	DeliveredRatio float64 `json:"delivered_ratio"`
	// Endpoints is how many endpoints (accounts) these figures cover, and
	// Sinks how many webhook endpoints: Endpoints × fanout.
	// DeliveredPerEndpointPerS is DeliveredPerS over Sinks, what one
	// webhook endpoint received per second: the figure to compare between
	// runs whose producer spreads events over different numbers of
	// endpoints (e.g. the healthy ones of a mixed run).
	Endpoints                int     `json:"endpoints"`
	Sinks                    int     `json:"sinks"`
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
	f.Sinks = f.Endpoints * t.fanout
	var lats, complete []time.Duration
	var firstAck, lastAck, lastRecv, lastComplete int64 = math.MaxInt64, 0, 0, 0
	for seq := range t.ack {
		ep := t.endpointOf(seq)
		if !include(ep) {
			continue
		}
		copies := seq * t.fanout
		for k := range t.fanout {
			if c := t.count[copies+k].Load(); c > 1 {
				f.Duplicates += int64(c - 1)
			}
		}
		a := t.ack[seq].Load()
		if a == 0 {
			continue
		}
		f.Events++
		firstAck, lastAck = min(firstAck, a), max(lastAck, a)
		whole, last := true, int64(0) // every copy received; the last receipt
		for k := range t.fanout {
			r := t.recv[copies+k].Load()
			if r == 0 {
				if t.classes[ep] == healthy {
					f.Lost++
				}
				whole = false
				continue
			}
			f.Delivered++
			lastRecv = max(lastRecv, r)
			lats = append(lats, Latency(time.Duration(a), time.Duration(r)))
			last = max(last, r)
		}
		if whole {
			f.EventsDelivered++
			lastComplete = max(lastComplete, last)
			if t.fanout > 1 {
				complete = append(complete, Latency(time.Duration(a), time.Duration(last)))
			}
		}
	}
	if f.Events == 0 {
		return f
	}
	f.IngestPerS = PerSecond(f.Events, time.Duration(lastAck-ingestStart))
	if f.Delivered > 0 {
		f.DeliveredPerS = PerSecond(f.Delivered, time.Duration(lastRecv-firstAck))
	}
	if f.EventsDelivered > 0 {
		f.EventsPerS = PerSecond(f.EventsDelivered, time.Duration(lastComplete-firstAck))
	}
	slices.Sort(lats)
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	f.P50MS, f.P95MS, f.P99MS = ms(Percentile(lats, 50)), ms(Percentile(lats, 95)), ms(Percentile(lats, 99))
	if len(lats) > 0 {
		f.MaxMS = ms(lats[len(lats)-1])
	}
	if t.fanout > 1 {
		slices.Sort(complete)
		f.CompleteP50MS, f.CompleteP99MS = ms(Percentile(complete, 50)), ms(Percentile(complete, 99))
	} else {
		f.CompleteP50MS, f.CompleteP99MS = f.P50MS, f.P99MS
	}
	f.IngestRatio, f.DeliveredRatio = round3(Ratio(f.IngestPerS, ceiling)), round3(Ratio(f.DeliveredPerS, ceiling))
	if f.Sinks > 0 {
		f.DeliveredPerEndpointPerS = math.Round(f.DeliveredPerS/float64(f.Sinks)*10) / 10
	}
	f.IngestPerS, f.DeliveredPerS, f.EventsPerS = math.Round(f.IngestPerS), math.Round(f.DeliveredPerS), math.Round(f.EventsPerS)
	return f
}

// deliveredPerCopy counts, for each copy k (the k-th webhook endpoint of
// every account: 0 is the primary), the acknowledged events its sinks
// received.
func (t *tracker) deliveredPerCopy() []int64 {
	out := make([]int64, t.fanout)
	for seq := range t.ack {
		if t.ack[seq].Load() == 0 {
			continue
		}
		for k := range t.fanout {
			if t.recv[seq*t.fanout+k].Load() != 0 {
				out[k]++
			}
		}
	}
	return out
}

// ingestAckMS is the p50 and p99 of the ingest POSTs' times to their 202,
// in milliseconds, over the batches acknowledged.
func (t *tracker) ingestAckMS() (p50, p99 float64) {
	var lats []time.Duration
	for b, us := range t.ackLat {
		if t.ack[b*t.batch].Load() != 0 {
			lats = append(lats, time.Duration(us)*time.Microsecond)
		}
	}
	slices.Sort(lats)
	ms := func(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }
	return ms(Percentile(lats, 50)), ms(Percentile(lats, 99))
}

func round3(x float64) float64 { return math.Round(x*1000) / 1000 }
