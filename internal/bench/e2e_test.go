package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
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
		for _, args := range [][]string{{"bench", "--endpoints", "0"}, {"bench", "--failing", "2"}, {"bench", "--nope"}, {"bench", "--hold", "--duration", "6m"}, {"bench", "--nodes", "2"}} {
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

	t.Run("hold", func(t *testing.T) { testHold(t, bin) })
	t.Run("two nodes", func(t *testing.T) { testTwoNodes(t, bin) })
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
	cfg.Ceiling = 500 * time.Millisecond
	cfg.Drain = 30 * time.Second
	cfg.JSON = true
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
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
	var got map[string]any
	if err := json.Unmarshal(stdout.Bytes(), &got); err != nil {
		t.Fatalf("stdout is not JSON: %v", err)
	}
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
