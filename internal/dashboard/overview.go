package dashboard

import (
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// summary is what happened in a span of time.
type summary struct {
	Label        string
	Stats        bahasha.DeliveryStats
	Rate         float64
	HasRate      bool
	P50, P99     time.Duration
	HasLatency   bool
	Chart        chart
	Latency      latencyChart
	BucketLength string
}

func summarise(label string, buckets []bahasha.DeliveryStats, bucketLen time.Duration) summary {
	s := summary{Label: label, BucketLength: "minute"}
	if bucketLen != time.Minute {
		s.BucketLength = strconv.Itoa(int(bucketLen.Minutes())) + " minutes"
	}
	for _, b := range buckets {
		s.Stats.Add(b)
	}
	s.Rate, s.HasRate = s.Stats.SuccessRate()
	s.P50, s.P99 = s.Stats.LatencyQuantile(0.5), s.Stats.LatencyQuantile(0.99)
	s.HasLatency = s.Stats.Delivered > 0 && s.P50 > 0
	s.Chart = barChart(label, buckets, bucketLen)
	s.Latency = latencyLines(label, buckets, bucketLen)
	return s
}

// health is the endpoint's state in words.
type health struct {
	// State is "none", "healthy", "failing" or "probing".
	State        string
	Endpoint     *bahasha.Endpoint
	FailingSince time.Time
	Failures     int
	ProbeAt      time.Time
}

func endpointHealth(e *bahasha.Endpoint) health {
	switch {
	case e == nil:
		return health{State: "none"}
	case e.Probing():
		return health{State: "probing", Endpoint: e, FailingSince: e.FailingSince, Failures: e.ConsecutiveFailures, ProbeAt: e.ProbeAt}
	case e.ConsecutiveFailures > 0:
		return health{State: "failing", Endpoint: e, FailingSince: e.FailingSince, Failures: e.ConsecutiveFailures}
	}
	return health{State: "healthy", Endpoint: e}
}

type overviewData struct {
	Hour, Day summary
	Backlog   int
	Health    health
	// Endpoints are every endpoint of the account with its health and
	// pending deliveries.
	Endpoints []overviewEndpoint
	// Endpoint is the endpoint the page is narrowed to ("wh_12"), ""
	// for all; Options are the choices of its select.
	Endpoint string
	Options  []endpointOption
	// Empty: nothing happened in the last day and nothing is pending.
	Empty bool
	// Notices are the latest operational events.
	Notices []noticeView
}

// overview shows the last hour and day: deliveries, success rate,
// latency, backlog and the endpoints' health, with charts; all of the
// account's endpoints together, or with ?endpoint=wh_12 one of them.
func (d *Dashboard) overview(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	now := d.now().UTC()
	es, err := d.store.Endpoints(r.Context(), acc.ID)
	if err != nil {
		return err
	}
	var ep *bahasha.Endpoint
	if s := r.URL.Query().Get("endpoint"); s != "" {
		id, ok := bahasha.ParseEndpointID(s)
		if !ok {
			return badInput("The endpoint %q is not an endpoint id such as wh_12; choose an endpoint from the list.", clip(s))
		}
		i := slices.IndexFunc(es, func(e bahasha.Endpoint) bool { return e.ID == id })
		if i < 0 {
			return notFound("This account has no endpoint %s%d; choose an endpoint from the list.", bahasha.EndpointPrefix, id)
		}
		ep = &es[i]
	}
	// The last 60 minutes, and the last 96 quarters of an hour, each
	// including the current one.
	hourStart := now.Truncate(time.Minute).Add(-59 * time.Minute)
	dayStart := now.Truncate(15 * time.Minute).Add(-95 * 15 * time.Minute)
	until := now.Truncate(time.Minute).Add(time.Minute)
	sp := store.StatsParams{AccountID: acc.ID, Since: dayStart, Until: until}
	if ep != nil {
		sp.EndpointID = ep.ID
	}
	stats, err := d.store.Stats(r.Context(), sp)
	if err != nil {
		return err
	}
	var backlog int
	if ep != nil {
		backlog, err = d.store.EndpointBacklog(r.Context(), store.GetEndpointParams{AccountID: acc.ID, EndpointID: ep.ID})
	} else {
		backlog, err = d.store.Backlog(r.Context(), acc.ID)
	}
	if err != nil {
		return err
	}
	notices, err := d.notices(r.Context(), acc.ID)
	if err != nil {
		return err
	}
	data := overviewData{
		Notices: notices,
		Hour:    summarise("Last hour", bucket(stats, hourStart, time.Minute, 60), time.Minute),
		Day:     summarise("Last day", bucket(stats, dayStart, 15*time.Minute, 96), 15*time.Minute),
		Backlog: backlog,
		Options: endpointOptions(es),
	}
	if ep != nil {
		data.Endpoint, data.Health = ep.PublicID(), endpointHealth(ep)
	} else {
		// The primary webhook's health.
		i := slices.IndexFunc(es, func(e bahasha.Endpoint) bool { return e.Primary })
		if i >= 0 {
			data.Health = endpointHealth(&es[i])
		} else {
			data.Health = endpointHealth(nil)
		}
		data.Empty = data.Day.Stats.Empty() && backlog == 0
	}
	if data.Endpoints, err = d.overviewEndpoints(r, acc, es); err != nil {
		return err
	}
	d.render(w, r, http.StatusOK, "overview", page{Title: "Overview", Nav: "overview", Account: &acc, Data: data})
	return nil
}

// bucket adds per-minute stats up into n buckets of length size from start;
// stats outside are ignored.
func bucket(stats []bahasha.DeliveryStats, start time.Time, size time.Duration, n int) []bahasha.DeliveryStats {
	out := make([]bahasha.DeliveryStats, n)
	for i := range out {
		out[i].Start = start.Add(time.Duration(i) * size)
	}
	for _, s := range stats {
		if s.Start.Before(start) {
			continue
		}
		i := int(s.Start.Sub(start) / size)
		if i < n {
			out[i].Add(s)
		}
	}
	return out
}

// chart is a bar chart drawn as SVG by the template: per bucket, delivered
// events (up) and failed attempts stacked on them.
type chart struct {
	Label         string
	Width, Height int
	Bars          []bar
	Ticks         []tick
	Max           int
	// Top is the y of the chart area's top; Base of its baseline.
	Top, Base float64
}

type bar struct {
	X, W         float64
	OKY, OKH     float64
	FailY, FailH float64
	Title        string
}

type tick struct {
	X      float64
	Label  string
	Anchor string
}

const (
	chartWidth  = 600
	chartHeight = 140
	chartTop    = 8
	chartBase   = 118
)

func barChart(label string, buckets []bahasha.DeliveryStats, size time.Duration) chart {
	c := chart{Width: chartWidth, Height: chartHeight, Top: chartTop, Base: chartBase}
	delivered, failed := 0, 0
	for _, b := range buckets {
		c.Max = max(c.Max, b.Delivered+b.AttemptsFailed)
		delivered += b.Delivered
		failed += b.AttemptsFailed
	}
	c.Label = fmt.Sprintf("%s: %d delivered, %d failed attempts, per %s", label, delivered, failed, formatDuration(size))
	scale := 0.0
	if c.Max > 0 {
		scale = (chartBase - chartTop) / float64(c.Max)
	}
	slot := float64(chartWidth) / float64(max(len(buckets), 1))
	for i, b := range buckets {
		x := float64(i) * slot
		okH := float64(b.Delivered) * scale
		failH := float64(b.AttemptsFailed) * scale
		c.Bars = append(c.Bars, bar{X: x + slot*0.1, W: slot * 0.8, OKY: chartBase - okH, OKH: okH,
			FailY: chartBase - okH - failH, FailH: failH,
			Title: fmt.Sprintf("%s: %d delivered, %d failed attempts", b.Start.UTC().Format("2006-01-02 15:04Z"), b.Delivered, b.AttemptsFailed)})
		switch n := len(buckets); i {
		case 0:
			c.Ticks = append(c.Ticks, tick{X: x, Label: b.Start.UTC().Format("15:04"), Anchor: "start"})
		case n / 2:
			c.Ticks = append(c.Ticks, tick{X: x + slot/2, Label: b.Start.UTC().Format("15:04"), Anchor: "middle"})
		case n - 1:
			c.Ticks = append(c.Ticks, tick{X: x + slot, Label: b.Start.UTC().Add(size).Format("15:04"), Anchor: "end"})
		}
	}
	return c
}

// latencyChart draws, per bucket with deliveries, the p50 and p99 delivery
// latency (the upper bounds of their histogram buckets) as two lines over a
// logarithmic axis.
type latencyChart struct {
	Label         string
	Width, Height int
	Top, Base     float64
	// P50 and P99 are SVG polyline point lists, one per run of buckets
	// with deliveries (a gap breaks the line).
	P50, P99 []string
	// Dots mark the buckets (so a lone bucket shows), with their values.
	Dots []latencyDot
	// Grid is the horizontal lines at round latencies.
	Grid  []gridLine
	Ticks []tick
	Empty bool
}

type latencyDot struct {
	X, Y50, Y99 float64
	Title       string
}

type gridLine struct {
	Y     float64
	Label string
}

// latencyY places a latency on the chart's logarithmic axis, 1 ms at the
// bottom to a day at the top.
func latencyY(d time.Duration) float64 {
	lo, hi := math.Log(float64(time.Millisecond)), math.Log(float64(24*time.Hour))
	v := math.Log(float64(max(d, time.Millisecond)))
	return latencyBase - min(1, (v-lo)/(hi-lo))*(latencyBase-chartTop)
}

// The latency chart is taller than the bar chart: nine decades of time.
const (
	latencyHeight = 230
	latencyBase   = 208
)

func latencyLines(label string, buckets []bahasha.DeliveryStats, size time.Duration) latencyChart {
	c := latencyChart{Width: chartWidth, Height: latencyHeight, Top: chartTop, Base: latencyBase, Empty: true,
		Label: fmt.Sprintf("%s: p50 and p99 delivery latency per %s", label, formatDuration(size))}
	for _, g := range []struct {
		d     time.Duration
		label string
	}{{10 * time.Millisecond, "10 ms"}, {100 * time.Millisecond, "100 ms"}, {time.Second, "1 s"}, {10 * time.Second, "10 s"},
		{time.Minute, "1 min"}, {time.Hour, "1 h"}} {
		c.Grid = append(c.Grid, gridLine{Y: latencyY(g.d), Label: g.label})
	}
	slot := float64(chartWidth) / float64(max(len(buckets), 1))
	var p50, p99 string
	flush := func() {
		if p50 != "" {
			c.P50, c.P99 = append(c.P50, p50), append(c.P99, p99)
		}
		p50, p99 = "", ""
	}
	for i, b := range buckets {
		x := float64(i)*slot + slot/2
		if b.Delivered == 0 {
			flush()
		} else {
			q50, q99 := b.LatencyQuantile(0.5), b.LatencyQuantile(0.99)
			y50, y99 := latencyY(q50), latencyY(q99)
			p50 += fmt.Sprintf("%.1f,%.1f ", x, y50)
			p99 += fmt.Sprintf("%.1f,%.1f ", x, y99)
			c.Dots = append(c.Dots, latencyDot{X: x, Y50: y50, Y99: y99, Title: fmt.Sprintf("%s: p50 ≤ %s, p99 ≤ %s (%d delivered)",
				b.Start.UTC().Format("2006-01-02 15:04Z"), formatDuration(q50), formatDuration(q99), b.Delivered)})
			c.Empty = false
		}
		switch n := len(buckets); i {
		case 0:
			c.Ticks = append(c.Ticks, tick{X: x - slot/2, Label: b.Start.UTC().Format("15:04"), Anchor: "start"})
		case n / 2:
			c.Ticks = append(c.Ticks, tick{X: x, Label: b.Start.UTC().Format("15:04"), Anchor: "middle"})
		case n - 1:
			c.Ticks = append(c.Ticks, tick{X: x + slot/2, Label: b.Start.UTC().Add(size).Format("15:04"), Anchor: "end"})
		}
	}
	flush()
	return c
}

// overviewEndpoint is a row of the overview's endpoints table.
type overviewEndpoint struct {
	endpointView
	// Backlog counts its pending deliveries.
	Backlog int
}

func (d *Dashboard) overviewEndpoints(r *http.Request, acc bahasha.Account, es []bahasha.Endpoint) ([]overviewEndpoint, error) {
	if len(es) == 0 {
		return nil, nil
	}
	b, err := d.scopeBook(r.Context(), acc.ID)
	if err != nil {
		return nil, err
	}
	now := d.now()
	out := make([]overviewEndpoint, len(es))
	for i, e := range es {
		out[i].endpointView = b.view(e, now)
		if out[i].Backlog, err = d.store.EndpointBacklog(r.Context(), store.GetEndpointParams{AccountID: acc.ID, EndpointID: e.ID}); err != nil {
			return nil, err
		}
	}
	return out, nil
}
