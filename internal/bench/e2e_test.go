package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/store/pgtest"
)

// buildBahasha builds cmd/bahasha into a temporary folder.
func buildBahasha(t *testing.T) string {
	t.Helper()
	root, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatal("no go.mod above the test's folder")
		}
		root = parent
	}
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	bin := filepath.Join(t.TempDir(), "bahasha")
	cmd := exec.Command(goTool, "build", "-o", bin, "./cmd/bahasha")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestEndToEnd runs a tiny bench against the real binary: 2 endpoints, one
// of them failing, 2,000 events.
func TestEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the platform")
	}
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	bin := buildBahasha(t)

	t.Run("bad flags exit 2", func(t *testing.T) {
		for _, args := range [][]string{{"bench", "--endpoints", "0"}, {"bench", "--failing", "2"}, {"bench", "--nope"}, {"bench", "--hold", "--duration", "6m"}, {"bench", "--nodes", "2"},
			{"bench", "--fanout", "0"}, {"bench", "--fanout", "51"}} {
			var stderr bytes.Buffer
			cmd := exec.Command(bin, args...)
			cmd.Stderr = &stderr
			err := cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != 2 {
				t.Errorf("%q: %v, want exit status 2", args, err)
			}
			if !strings.Contains(stderr.String(), "bahasha:") {
				t.Errorf("%q: stderr %q has no one-line error", args, stderr.String())
			}
		}
	})

	cfg := Default()
	cfg.Binary = bin
	cfg.Endpoints, cfg.Failing = 2, 0.5
	cfg.Events, cfg.Duration = 2000, 5*time.Second
	cfg.Ceiling = 500 * time.Millisecond
	cfg.Drain = 20 * time.Second
	cfg.JSON = true
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	res, err := Run(ctx, cfg, &stdout, &stderr)
	if err != nil {
		t.Fatalf("Run: %v\nstderr:\n%s", err, stderr.String())
	}

	out := stdout.String()
	t.Logf("stdout: %s", out)
	var got map[string]any
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&got); err != nil {
		t.Fatalf("stdout is not JSON: %v", err)
	}
	if dec.More() {
		t.Fatal("stdout holds more than one JSON object")
	}
	for _, key := range []string{"ingest_per_s", "delivered_per_s", "p50_ms", "p95_ms", "p99_ms", "cpu_s_per_1k", "peak_rss_mb",
		"ceiling_posts_per_s", "events", "delivered", "duplicates", "lost", "endpoints", "max_batch", "rate", "duration_s", "healthy"} {
		if _, ok := got[key]; !ok {
			t.Errorf("the JSON has no %q", key)
		}
	}
	h := res.Healthy
	if h == nil {
		t.Fatal("a mixed scenario has no healthy figures")
	}
	if res.Events != 2000 || h.Events != 1000 {
		t.Errorf("events %d (healthy %d), want 2000 (1000)", res.Events, h.Events)
	}
	if h.Delivered != h.Events || res.Delivered != h.Delivered {
		t.Errorf("delivered %d (healthy %d), want every healthy event acked (%d) and none of the failing endpoint's", res.Delivered, h.Delivered, h.Events)
	}
	if res.Lost != 0 || h.Lost != 0 {
		t.Errorf("lost %d", res.Lost)
	}
	if res.CeilingPostsPerS <= 0 {
		t.Errorf("ceiling %v", res.CeilingPostsPerS)
	}
	if h.P99MS < h.P50MS || h.P95MS < h.P50MS {
		t.Errorf("percentiles p50 %v p95 %v p99 %v", h.P50MS, h.P95MS, h.P99MS)
	}
	if res.DeliveredPerS <= 0 || res.IngestPerS <= 0 || res.PeakRSSMB <= 0 || res.CPUSPer1k <= 0 {
		t.Errorf("figures missing: %+v", res)
	}
	if res.Misrouted+res.Unexpected+res.Rejected != 0 {
		t.Errorf("misrouted %d unexpected %d rejected %d", res.Misrouted, res.Unexpected, res.Rejected)
	}
	if res.MaxBatch < 1 {
		t.Errorf("max_batch %d", res.MaxBatch)
	}
	if res.Fanout != 1 || res.EventsDelivered != res.Delivered || res.EventsPerS != res.DeliveredPerS || !slices.Equal(res.DeliveredPerCopy, []int64{h.Delivered}) {
		t.Errorf("fanout %d: events_delivered %d events_per_s %v delivered_per_copy %v, want those of delivered (%d, %v)",
			res.Fanout, res.EventsDelivered, res.EventsPerS, res.DeliveredPerCopy, res.Delivered, res.DeliveredPerS)
	}

	t.Run("fanout", func(t *testing.T) { testFanout(t, bin) })
	t.Run("fanout mixed", func(t *testing.T) { testFanoutMixed(t, bin) })
	t.Run("hold", func(t *testing.T) { testHold(t, bin) })
	t.Run("two nodes", func(t *testing.T) { testTwoNodes(t, bin) })
}

// testFanout runs a tiny bench with --fanout 3: 2 accounts with 3 webhook
// endpoints each, 3,000 events, each of which every one of its account's 3
// sinks must receive exactly once.
func testFanout(t *testing.T, bin string) {
	cfg := Default()
	cfg.Binary = bin
	cfg.Endpoints, cfg.Fanout = 2, 3
	cfg.Events, cfg.Duration = 3000, 5*time.Second
	cfg.Drain = 20 * time.Second
	res, got := runJSON(t, cfg, 60*time.Second)
	for _, key := range []string{"events_per_s", "events_delivered", "sinks", "complete_p50_ms", "complete_p99_ms",
		"delivered_per_copy", "cpu_s_per_1k_events", "ingest_ack_p50_ms", "ingest_ack_p99_ms"} {
		if _, ok := got[key]; !ok {
			t.Errorf("the JSON has no %q", key)
		}
	}
	if got["fanout"] != float64(3) || got["endpoints"] != float64(2) || got["sinks"] != float64(6) {
		t.Errorf("fanout %v endpoints %v sinks %v, want 3, 2, 6", got["fanout"], got["endpoints"], got["sinks"])
	}
	// Every event at all 3 sinks of its account, exactly once each.
	if res.Events != 3000 || res.Delivered != 3*res.Events || res.EventsDelivered != res.Events || res.Duplicates != 0 || res.Lost != 0 {
		t.Errorf("events %d delivered %d events_delivered %d duplicates %d lost %d; want 3000, 9000, 3000, 0, 0",
			res.Events, res.Delivered, res.EventsDelivered, res.Duplicates, res.Lost)
	}
	if !slices.Equal(res.DeliveredPerCopy, []int64{3000, 3000, 3000}) {
		t.Errorf("delivered_per_copy %v, want 3000 at each of the 3 endpoints", res.DeliveredPerCopy)
	}
	if res.Misrouted+res.Unexpected+res.Rejected != 0 {
		t.Errorf("misrouted %d unexpected %d rejected %d", res.Misrouted, res.Unexpected, res.Rejected)
	}
	// Deliveries and events end with the same receipt: 3 deliveries an event.
	if res.EventsPerS <= 0 || math.Abs(res.DeliveredPerS-3*res.EventsPerS) > 3 {
		t.Errorf("delivered_per_s %v, events_per_s %v; want 3 deliveries per event", res.DeliveredPerS, res.EventsPerS)
	}
	if res.CPUSPer1k <= 0 || math.Abs(res.CPUSPer1kEvents-3*res.CPUSPer1k) > 0.001 {
		t.Errorf("cpu_s_per_1k %v, cpu_s_per_1k_events %v; want 3 deliveries per event", res.CPUSPer1k, res.CPUSPer1kEvents)
	}
	if res.CompleteP50MS < res.P50MS || res.CompleteP99MS < res.P99MS || res.P99MS < res.P50MS {
		t.Errorf("copies p50 %v p99 %v, last copy p50 %v p99 %v", res.P50MS, res.P99MS, res.CompleteP50MS, res.CompleteP99MS)
	}
	if res.IngestAckP50MS <= 0 || res.IngestAckP99MS < res.IngestAckP50MS {
		t.Errorf("ingest ack p50 %v p99 %v", res.IngestAckP50MS, res.IngestAckP99MS)
	}
	if res.SinkPosts <= 0 || res.EventsPerPost <= 0 {
		t.Errorf("sink_posts %d events_per_post %v", res.SinkPosts, res.EventsPerPost)
	}
}

// testFanoutMixed runs a tiny mixed bench with --fanout 2: 2 accounts, one
// failing at both its endpoints; the healthy one's 2 sinks must receive
// each of its 1,000 events once.
func testFanoutMixed(t *testing.T, bin string) {
	cfg := Default()
	cfg.Binary = bin
	cfg.Endpoints, cfg.Fanout, cfg.Failing = 2, 2, 0.5
	cfg.Events, cfg.Duration = 2000, 5*time.Second
	cfg.Ceiling = 500 * time.Millisecond
	cfg.Drain = 20 * time.Second
	cfg.JSON = true
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var stdout, stderr bytes.Buffer
	res, err := Run(ctx, cfg, &stdout, &stderr)
	if err != nil {
		t.Fatalf("Run: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("stdout: %s", stdout.String())
	h := res.Healthy
	if h == nil {
		t.Fatal("a mixed scenario has no healthy figures")
	}
	if res.Events != 2000 || h.Events != 1000 || h.Delivered != 2000 || h.EventsDelivered != 1000 || h.Lost != 0 || h.Duplicates != 0 {
		t.Errorf("events %d, healthy: events %d delivered %d events_delivered %d lost %d duplicates %d; want 2000, 1000, 2000, 1000, 0, 0",
			res.Events, h.Events, h.Delivered, h.EventsDelivered, h.Lost, h.Duplicates)
	}
	if res.Delivered != h.Delivered || h.Sinks != 2 || res.Sinks != 4 || res.FailingEndpoints != 1 {
		t.Errorf("delivered %d (healthy %d), sinks %d (healthy %d), failing %d; want none of the failing account's", res.Delivered, h.Delivered, res.Sinks, h.Sinks, res.FailingEndpoints)
	}
	if res.Misrouted+res.Unexpected+res.Rejected != 0 {
		t.Errorf("misrouted %d unexpected %d rejected %d", res.Misrouted, res.Unexpected, res.Rejected)
	}
}

// testTwoNodes runs a tiny bench on two nodes sharing one PostgreSQL: 2
// endpoints, 3,000 events, none lost.
func testTwoNodes(t *testing.T, bin string) {
	dbURL := pgtest.URL(t)
	cfg := Default()
	cfg.Binary = bin
	cfg.Database, cfg.Nodes = dbURL, 2
	cfg.Endpoints = 2
	cfg.Events, cfg.Duration = 3000, 5*time.Second
	cfg.Drain = 30 * time.Second
	res, got := runJSON(t, cfg, 90*time.Second)
	if got["nodes"] != float64(2) {
		t.Errorf("nodes %v, want 2", got["nodes"])
	}
	if len(res.NodeCPUS) != 2 || res.NodeCPUS[0] <= 0 || res.NodeCPUS[1] <= 0 {
		t.Errorf("node_cpu_s %v, want two positive figures", res.NodeCPUS)
	}
	if res.Database != "postgres" {
		t.Errorf("database %q", res.Database)
	}
	if res.Events != 3000 || res.Delivered != res.Events || res.Lost != 0 {
		t.Errorf("events %d delivered %d lost %d, want 3000 delivered and none lost", res.Events, res.Delivered, res.Lost)
	}
	if res.Misrouted+res.Unexpected+res.Rejected != 0 {
		t.Errorf("misrouted %d unexpected %d rejected %d", res.Misrouted, res.Unexpected, res.Rejected)
	}
}

// testHold runs a tiny --hold bench: 2 healthy endpoints, 3,000 events
// that pile up while the sinks hold every delivery, then drain.
func testHold(t *testing.T, bin string) {
	cfg := Default()
	cfg.Binary = bin
	cfg.Endpoints, cfg.Hold = 2, true
	cfg.Events, cfg.Duration = 3000, 5*time.Second
	cfg.Drain = 20 * time.Second
	res, got := runJSON(t, cfg, 60*time.Second)
	for _, key := range []string{"hold", "backlog_peak", "drain_per_s", "peak_rss_mb", "p99_ms"} {
		if _, ok := got[key]; !ok {
			t.Errorf("the JSON has no %q", key)
		}
	}
	if !res.Hold || res.AttemptTimeoutS != cfg.ServeAttemptTimeout().Seconds() {
		t.Errorf("hold %v, attempt timeout %vs", res.Hold, res.AttemptTimeoutS)
	}
	if res.Events != 3000 || res.Delivered != res.Events || res.Lost != 0 {
		t.Errorf("events %d delivered %d lost %d, want 3000 delivered and none lost", res.Events, res.Delivered, res.Lost)
	}
	if res.BacklogPeak <= 0 || res.DrainPerS <= 0 {
		t.Errorf("backlog_peak %d drain_per_s %v, want both > 0", res.BacklogPeak, res.DrainPerS)
	}
	if !strings.Contains(res.Note, "--hold") {
		t.Errorf("note %q does not say the latencies measure the hold", res.Note)
	}
	if res.Misrouted+res.Unexpected+res.Rejected != 0 {
		t.Errorf("misrouted %d unexpected %d rejected %d", res.Misrouted, res.Unexpected, res.Rejected)
	}
}

// runJSON runs a small bench (its ceiling measured briefly) with --json
// and returns its result and the JSON it printed.
func runJSON(t *testing.T, cfg Config, limit time.Duration) (Result, map[string]any) {
	t.Helper()
	cfg.Ceiling, cfg.JSON = 500*time.Millisecond, true
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	var stdout, stderr bytes.Buffer
	res, err := Run(ctx, cfg, &stdout, &stderr)
	if err != nil {
		t.Fatalf("Run: %v\nstderr:\n%s", err, stderr.String())
	}
	t.Logf("stdout: %s", stdout.String())
	var got map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v", err)
	}
	return res, got
}
