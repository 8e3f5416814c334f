package bench

import (
	"encoding/json"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/bahasha/bahasha/sdk/whatsapp"
)

func durations(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond // 1ms … 100ms
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 50, 0},
		{"one value", durations(7), 50, 7 * time.Millisecond},
		{"one value p99", durations(7), 99, 7 * time.Millisecond},
		{"p50 of 1..100", hundred, 50, 50 * time.Millisecond},
		{"p95 of 1..100", hundred, 95, 95 * time.Millisecond},
		{"p99 of 1..100", hundred, 99, 99 * time.Millisecond},
		{"p100 of 1..100", hundred, 100, 100 * time.Millisecond},
		{"p50 of four is the second", durations(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p51 of four is the third", durations(1, 2, 3, 4), 51, 3 * time.Millisecond},
		{"p99 of ten is the max", durations(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"tiny p is the min", durations(3, 4, 5), 0.001, 3 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Percentile(tt.sorted, tt.p); got != tt.want {
				t.Fatalf("Percentile(%v, %v) = %v, want %v", tt.sorted, tt.p, got, tt.want)
			}
		})
	}
}

func TestRatioPerSecondLatency(t *testing.T) {
	if got := Ratio(15000, 30000); got != 0.5 {
		t.Errorf("Ratio = %v, want 0.5", got)
	}
	if got := Ratio(1, 0); got != 0 {
		t.Errorf("Ratio(1, 0) = %v, want 0", got)
	}
	if got := PerSecond(5000, 2*time.Second); got != 2500 {
		t.Errorf("PerSecond = %v, want 2500", got)
	}
	if got := PerSecond(5, 0); got != 0 {
		t.Errorf("PerSecond(5, 0) = %v, want 0", got)
	}
	if got := Latency(10*time.Millisecond, 13*time.Millisecond); got != 3*time.Millisecond {
		t.Errorf("Latency = %v, want 3ms", got)
	}
	if got := Latency(10*time.Millisecond, 9*time.Millisecond); got != 0 {
		t.Errorf("Latency of an event received before its ack = %v, want 0", got)
	}
}

// TestTrackerFigures checks the figures on a hand-made run: 2 endpoints
// (the second failing), batches of 2 events.
func TestTrackerFigures(t *testing.T) {
	tr := newTracker(time.Now(), 8, 2, 1, []class{healthy, failing})
	ms := func(n int) int64 { return int64(n)*int64(time.Millisecond) + 1 }
	// Events 0,1 and 4,5 belong to endpoint 0; 2,3 and 6,7 to endpoint 1.
	for seq, ack := range []int{10, 10, 10, 10, 20, 20, 0, 0} { // 6 and 7 were never acknowledged
		if ack > 0 {
			tr.ack[seq].Store(ms(ack))
		}
	}
	recv := map[int]int{0: 12, 1: 9, 4: 30} // 1 arrived before its ack; 5 is lost
	for seq, at := range recv {
		tr.recv[seq].Store(ms(at))
		tr.count[seq].Store(1)
	}
	tr.count[0].Store(3) // two duplicates
	f := tr.figures(func(int) bool { return true }, ms(0), 100)
	want := Figures{Events: 6, Delivered: 3, EventsDelivered: 3, Duplicates: 2, Lost: 1,
		IngestPerS: 300, DeliveredPerS: 150, EventsPerS: 150, // 6 events by 20ms; 3 from 10ms to 30ms
		P50MS: 2, P95MS: 10, P99MS: 10, MaxMS: 10, CompleteP50MS: 2, CompleteP99MS: 10, IngestRatio: 3, DeliveredRatio: 1.5,
		Endpoints: 2, Sinks: 2, DeliveredPerEndpointPerS: 75}
	if f != want {
		t.Fatalf("figures\n got %+v\nwant %+v", f, want)
	}
	h := tr.figures(func(ep int) bool { return ep == 0 }, ms(0), 100)
	if h.Events != 4 || h.Delivered != 3 || h.Lost != 1 || h.Endpoints != 1 || h.DeliveredPerEndpointPerS != h.DeliveredPerS {
		t.Fatalf("healthy figures %+v", h)
	}
	if got := tr.figures(func(int) bool { return false }, 0, 100); got != (Figures{}) {
		t.Fatalf("figures of nothing = %+v", got)
	}
}

func TestReceivedBy(t *testing.T) {
	tr := newTracker(time.Now(), 4, 1, 1, []class{healthy, slow})
	tr.receivedBy(0, 0, 0)
	tr.receivedBy(0, 0, 0) // duplicate
	tr.receivedBy(0, 0, 1) // event 1 belongs to endpoint 1: misrouted, not a receipt
	tr.receivedBy(1, 0, 3)
	tr.receivedBy(0, 0, 99) // not a bench event
	if tr.received.Load() != 2 || tr.recvHealthy.Load() != 1 || tr.duplicates.Load() != 1 ||
		tr.misrouted.Load() != 1 || tr.unexpected.Load() != 1 {
		t.Fatalf("received %d healthy %d dup %d misrouted %d unexpected %d", tr.received.Load(), tr.recvHealthy.Load(),
			tr.duplicates.Load(), tr.misrouted.Load(), tr.unexpected.Load())
	}
}

// TestTrackerFanout checks the figures of a hand-made run with fanout 3: 2
// endpoints (the second failing), batches of 1 event, so events 0 and 2
// belong to endpoint 0, 1 and 3 to endpoint 1.
func TestTrackerFanout(t *testing.T) {
	tr := newTracker(time.Now(), 4, 1, 3, []class{healthy, failing})
	ms := func(n int) int64 { return int64(n)*int64(time.Millisecond) + 1 }
	for seq := range 4 {
		tr.ack[seq].Store(ms(10))
	}
	for slot, at := range map[int]int{
		0*3 + 0: 11, 0*3 + 1: 12, 0*3 + 2: 15, // event 0 at all 3 sinks: complete at 15ms
		2*3 + 0: 20, 2*3 + 1: 30, // event 2's third copy is lost
		1*3 + 0: 14, // event 1, failing endpoint: one copy got through
	} {
		tr.recv[slot].Store(ms(at))
		tr.count[slot].Store(1)
	}
	tr.count[0*3+1].Store(2) // event 0 twice at the second sink
	f := tr.figures(func(int) bool { return true }, ms(0), 100)
	want := Figures{Events: 4, Delivered: 6, EventsDelivered: 1, Duplicates: 1, Lost: 1,
		IngestPerS: 400, DeliveredPerS: 300, EventsPerS: 200, // 4 events by 10ms; 6 copies from 10 to 30ms; 1 event from 10 to 15ms
		P50MS: 4, P95MS: 20, P99MS: 20, MaxMS: 20, // copies' latencies 1, 2, 4, 5, 10, 20 ms
		CompleteP50MS: 5, CompleteP99MS: 5, IngestRatio: 4, DeliveredRatio: 3,
		Endpoints: 2, Sinks: 6, DeliveredPerEndpointPerS: 50}
	if f != want {
		t.Fatalf("figures\n got %+v\nwant %+v", f, want)
	}
	h := tr.figures(func(ep int) bool { return ep == 0 }, ms(0), 100)
	if h.Events != 2 || h.Delivered != 5 || h.EventsDelivered != 1 || h.Lost != 1 || h.Duplicates != 1 || h.Sinks != 3 {
		t.Fatalf("healthy figures %+v", h)
	}
	if got, want := tr.deliveredPerCopy(), []int64{3, 2, 1}; !slices.Equal(got, want) {
		t.Fatalf("deliveredPerCopy = %v, want %v", got, want)
	}

	// Receipts: per copy, so the same event at two sinks of its account is
	// no duplicate.
	tr = newTracker(time.Now(), 4, 1, 3, []class{healthy, healthy})
	tr.acknowledged(0, 1, 0)
	for k := range 3 {
		tr.receivedBy(0, k, 0)
	}
	tr.receivedBy(0, 1, 0) // the second sink again: a duplicate
	tr.receivedBy(1, 0, 0) // event 0 at endpoint 1's sink: misrouted
	if tr.received.Load() != 3 || tr.recvHealthy.Load() != 3 || tr.expectHealthy.Load() != 3 || tr.pending() != 0 ||
		tr.duplicates.Load() != 1 || tr.misrouted.Load() != 1 {
		t.Fatalf("received %d healthy %d of %d, pending %d, dup %d misrouted %d", tr.received.Load(), tr.recvHealthy.Load(),
			tr.expectHealthy.Load(), tr.pending(), tr.duplicates.Load(), tr.misrouted.Load())
	}
}

func TestIngestAck(t *testing.T) {
	tr := newTracker(time.Now(), 10, 2, 1, []class{healthy})
	for b, d := range []time.Duration{3 * time.Millisecond, time.Millisecond, 2 * time.Millisecond, 40 * time.Millisecond} {
		tr.ingestTook(b, d)
		tr.acknowledged(2*b, 2*b+2, 0)
	}
	tr.ingestTook(4, time.Hour) // never acknowledged: not counted
	if p50, p99 := tr.ingestAckMS(); p50 != 2 || p99 != 40 {
		t.Fatalf("ingestAckMS = %v, %v; want 2, 40", p50, p99)
	}
}

func TestAppendBatch(t *testing.T) {
	body := appendBatch(nil, 41, 44, []byte(`"106540352242922"`), 1750263773)
	var req struct {
		Events []struct {
			ID            string          `json:"id"`
			PhoneNumberID string          `json:"phone_number_id"`
			Status        whatsapp.Status `json:"status"`
		} `json:"events"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	if len(req.Events) != 3 {
		t.Fatalf("%d events, want 3", len(req.Events))
	}
	for i, ev := range req.Events {
		seq, ok := parseWAMID(ev.Status.ID)
		if !ok || seq != uint64(41+i) || ev.PhoneNumberID != "106540352242922" || ev.Status.Status != whatsapp.StatusDelivered ||
			ev.Status.RecipientID == "" || ev.Status.Timestamp.IsZero() {
			t.Errorf("event %d = %+v", i, ev)
		}
	}
	if _, ok := parseWAMID("wamid.HBgLMTY1"); ok {
		t.Error("parseWAMID accepted a foreign wamid")
	}
}

func TestServeHelp(t *testing.T) {
	help := `Usage of bahasha serve:
  -addr string
    	address to listen on (env BAHASHA_ADDR) (default ":8080")
  -max-batch int
    	most events per delivery POST; 1 turns batching off
    	(env BAHASHA_MAX_BATCH) (default 100)
  -max-lanes int
    	endpoints delivered to at once (default 64)
`
	if !hasFlag(help, "max-batch") || !hasFlag(help, "addr") || hasFlag(help, "database") || hasFlag(help, "max") {
		t.Error("hasFlag is wrong")
	}
	if got := flagDefault(help, "max-batch"); got != 100 {
		t.Errorf("flagDefault(max-batch) = %d, want 100", got)
	}
	if got := flagDefault(help, "addr"); got != 0 {
		t.Errorf("flagDefault(addr) = %d, want 0", got)
	}
}

func TestOutputTail(t *testing.T) {
	o := newOutputTail(listenRE)
	for _, part := range []string{"Created the default account…\nBahasha v1 listen", "ing on http://127.0.0.1:4242 (data in /tmp/x)\n", "later\n"} {
		o.Write([]byte(part))
	}
	select {
	case addr := <-o.found:
		if addr != "127.0.0.1:4242" {
			t.Fatalf("addr %q", addr)
		}
	default:
		t.Fatal("the listening line was not found")
	}
	if got := o.lastLine(); got != "later" {
		t.Fatalf("lastLine = %q", got)
	}
}

func TestThousands(t *testing.T) {
	for in, want := range map[float64]string{0: "0", 999: "999", 1000: "1,000", 1234567.4: "1,234,567", -30000: "-30,000"} {
		if got := thousands(in); got != want {
			t.Errorf("thousands(%v) = %q, want %q", in, got, want)
		}
	}
	if math.Abs(round3(1.23456)-1.235) > 1e-9 {
		t.Error("round3")
	}
}
