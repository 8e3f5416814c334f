package bench

import (
	"flag"
	"io"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/store"
)

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*Config)
		want string // part of the error; "" for valid
	}{
		{"defaults", func(*Config) {}, ""},
		{"mixed", func(c *Config) { c.Endpoints, c.Hanging, c.Failing = 100, 0.1, 0.1 }, ""},
		{"one failing of two", func(c *Config) { c.Endpoints, c.Failing = 2, 0.5 }, ""},
		{"no endpoints", func(c *Config) { c.Endpoints = 0 }, "--endpoints"},
		{"too many endpoints", func(c *Config) { c.Endpoints = MaxEndpoints + 1 }, "--endpoints"},
		{"negative fraction", func(c *Config) { c.Slow = -0.1 }, "--slow"},
		{"fraction above 1", func(c *Config) { c.Hanging = 1.5 }, "--hanging"},
		{"NaN fraction", func(c *Config) { c.Failing = math.NaN() }, "--failing"},
		{"no healthy endpoint", func(c *Config) { c.Endpoints, c.Slow, c.Failing = 4, 0.5, 0.5 }, "no healthy endpoint"},
		{"all hanging", func(c *Config) { c.Endpoints, c.Hanging = 1, 1 }, "no healthy endpoint"},
		{"negative max batch", func(c *Config) { c.MaxBatch = -1 }, "--max-batch"},
		{"zero attempt timeout", func(c *Config) { c.AttemptTimeout = 0 }, "--attempt-timeout"},
		{"negative rate", func(c *Config) { c.Rate = -5 }, "--rate"},
		{"infinite rate", func(c *Config) { c.Rate = math.Inf(1) }, "--rate"},
		{"zero duration", func(c *Config) { c.Duration = 0 }, "--duration"},
		{"no events", func(c *Config) { c.Events = 0 }, "--events"},
		{"too many events", func(c *Config) { c.Events = MaxEvents + 1 }, "--events"},
		{"ingest batch too large", func(c *Config) { c.IngestBatch = MaxIngestBatch + 1 }, "--ingest-batch"},
		{"no producers", func(c *Config) { c.Producers = 0 }, "--producers"},
		{"zero drain", func(c *Config) { c.Drain = 0 }, "--drain"},
		{"zero ceiling", func(c *Config) { c.Ceiling = 0 }, "--ceiling"},
		{"long ceiling", func(c *Config) { c.Ceiling = 2 * time.Minute }, "--ceiling"},
		{"no ceiling conns", func(c *Config) { c.CeilingConns = 0 }, "--ceiling-conns"},
		{"hold", func(c *Config) { c.Hold = true }, ""},
		{"hold for 5m", func(c *Config) { c.Hold, c.Duration = true, 5*time.Minute }, ""},
		{"hold longer than 5m", func(c *Config) { c.Hold, c.Duration = true, 6*time.Minute }, "--duration"},
		{"hold, paced to fit", func(c *Config) { c.Hold, c.Duration, c.Rate, c.Events = true, time.Hour, 1000, 60_000 }, ""},
		{"hold, paced too long", func(c *Config) { c.Hold, c.Duration, c.Rate, c.Events = true, time.Hour, 1000, 600_000 }, "--hold"},
		{"long duration without hold", func(c *Config) { c.Duration = time.Hour }, ""},
		{"one node without database", func(c *Config) { c.Nodes = 1 }, ""},
		{"two nodes on a database", func(c *Config) { c.Nodes, c.Database = 2, "postgres://db" }, ""},
		{"two nodes without database", func(c *Config) { c.Nodes = 2 }, "--database"},
		{"no nodes", func(c *Config) { c.Nodes, c.Database = 0, "postgres://db" }, "--nodes"},
		{"too many nodes", func(c *Config) { c.Nodes, c.Database = MaxNodes+1, "postgres://db" }, "--nodes"},
		{"fanout 1", func(c *Config) { c.Fanout = 1 }, ""},
		{"fanout 3", func(c *Config) { c.Fanout = 3 }, ""},
		{"fanout at the platform's limit", func(c *Config) { c.Fanout = MaxFanout }, ""},
		{"no fanout", func(c *Config) { c.Fanout = 0 }, "--fanout must be between 1 and 50"},
		{"negative fanout", func(c *Config) { c.Fanout = -2 }, "--fanout"},
		{"fanout above the platform's limit", func(c *Config) { c.Fanout = MaxFanout + 1 }, "--fanout must be between 1 and 50"},
		{"too many sinks", func(c *Config) { c.Endpoints, c.Fanout = MaxEndpoints/10+1, 10 }, "--fanout 10 makes 10010 sinks"},
		{"sinks at the cap", func(c *Config) { c.Endpoints, c.Fanout = MaxEndpoints/10, 10 }, ""},
		{"too many deliveries", func(c *Config) { c.Events, c.Fanout = MaxEvents/2, 3 }, "--events"},
		{"deliveries at the cap", func(c *Config) { c.Events, c.Fanout = MaxEvents/50, 50 }, ""},
		{"fanout with mixed endpoints", func(c *Config) { c.Fanout, c.Endpoints, c.Slow, c.Hanging, c.Failing = 3, 10, 0.1, 0.1, 0.1 }, ""},
		{"fanout with hold", func(c *Config) { c.Fanout, c.Hold = 5, true }, ""},
		{"fanout leaves no healthy endpoint", func(c *Config) { c.Fanout, c.Endpoints, c.Failing = 3, 1, 1 }, "no healthy endpoint"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := Default()
			tt.edit(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Validate() = %v, want an error mentioning %q", err, tt.want)
			}
		})
	}
}

func TestFlags(t *testing.T) {
	c := Default()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	c.Flags(fs)
	err := fs.Parse([]string{"--endpoints", "100", "--fanout", "5", "--hanging", "0.1", "--failing=0.1", "--rate", "2000",
		"--duration", "3s", "--events", "5000", "--max-batch", "1", "--json", "--hold", "--binary", "/x/bahasha", "--database", "postgres://db"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Endpoints != 100 || c.Fanout != 5 || c.Hanging != 0.1 || c.Failing != 0.1 || c.Rate != 2000 || c.Duration != 3*time.Second ||
		c.Events != 5000 || c.MaxBatch != 1 || !c.JSON || !c.Hold || c.Binary != "/x/bahasha" || c.Database != "postgres://db" {
		t.Fatalf("parsed %+v", c)
	}
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range [][]string{{"--endpoints", "many"}, {"--duration", "10"}, {"--rate", "fast"}, {"--fanout", "all"}, {"--fanout", "1.5"}, {"--nope"}} {
		fs := flag.NewFlagSet("bench", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c := Default()
		c.Flags(fs)
		if err := fs.Parse(bad); err == nil {
			t.Errorf("Parse(%q) = nil, want an error", bad)
		}
	}
}

func TestFanoutFlag(t *testing.T) {
	parse := func(args ...string) (Config, error) {
		c := Default()
		fs := flag.NewFlagSet("bench", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.Flags(fs)
		return c, fs.Parse(args)
	}
	c, err := parse()
	if err != nil || c.Fanout != 1 {
		t.Fatalf("default: fanout %d, %v; want 1", c.Fanout, err)
	}
	for _, tt := range []struct {
		args []string
		want string // part of Validate's error; "" for valid
	}{
		{[]string{"--fanout", "20"}, ""},
		{[]string{"--fanout=50"}, ""},
		{[]string{"--fanout", "0"}, "--fanout must be between 1 and 50 (it is 0)"},
		{[]string{"--fanout", "51"}, "--fanout must be between 1 and 50 (it is 51)"},
		{[]string{"--fanout", "3", "--endpoints", "4000"}, "--endpoints 4000 × --fanout 3"},
		{[]string{"--fanout", "3", "--events", "5000000"}, "--events 5000000 × --fanout 3"},
	} {
		c, err := parse(tt.args...)
		if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		err = c.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%q: Validate() = %v, want nil", tt.args, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "\n")):
			t.Errorf("%q: Validate() = %v, want a one-line error with %q", tt.args, err, tt.want)
		}
	}
	if MaxFanout != store.MaxEndpoints {
		t.Errorf("MaxFanout %d, but the platform allows %d endpoints per account", MaxFanout, store.MaxEndpoints)
	}
}

func TestServeAttemptTimeout(t *testing.T) {
	for _, tt := range []struct {
		hold         bool
		attempt, dur time.Duration
		want         time.Duration
	}{
		{false, 10 * time.Second, time.Minute, 10 * time.Second},
		{true, 10 * time.Second, 10 * time.Second, 70 * time.Second},
		{true, 2 * time.Minute, 10 * time.Second, 2 * time.Minute},
		{true, 10 * time.Second, 300 * time.Second, MaxAttemptTimeout},
	} {
		c := Default()
		c.Hold, c.AttemptTimeout, c.Duration = tt.hold, tt.attempt, tt.dur
		if got := c.ServeAttemptTimeout(); got != tt.want {
			t.Errorf("ServeAttemptTimeout(hold %v, attempt %s, duration %s) = %s, want %s", tt.hold, tt.attempt, tt.dur, got, tt.want)
		}
	}
}

func TestClassesAndIngestBatch(t *testing.T) {
	c := Default()
	c.Endpoints, c.Slow, c.Hanging, c.Failing = 10, 0.1, 0.2, 0.3
	got := classes(c)
	want := []class{healthy, healthy, healthy, healthy, slow, hanging, hanging, failing, failing, failing}
	if len(got) != len(want) {
		t.Fatalf("classes = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("classes = %v, want %v", got, want)
		}
	}
	if !c.mixed() || Default().mixed() {
		t.Error("mixed() is wrong")
	}
	for _, tt := range []struct {
		batch int
		rate  float64
		want  int
	}{{0, 0, 100}, {0, 2000, 10}, {0, 100, 1}, {0, 1e6, 100}, {7, 2000, 7}, {500, 0, 500}} {
		c := Default()
		c.IngestBatch, c.Rate = tt.batch, tt.rate
		if got := c.ingestBatch(); got != tt.want {
			t.Errorf("ingestBatch(batch %d, rate %g) = %d, want %d", tt.batch, tt.rate, got, tt.want)
		}
	}
}

func TestNodesFlag(t *testing.T) {
	parse := func(args ...string) (Config, error) {
		c := Default()
		fs := flag.NewFlagSet("bench", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		c.Flags(fs)
		return c, fs.Parse(args)
	}
	c, err := parse()
	if err != nil || c.Nodes != 1 {
		t.Fatalf("default: nodes %d, %v; want 1", c.Nodes, err)
	}
	c, err = parse("--nodes", "3", "--database", "postgres://db")
	if err != nil || c.Nodes != 3 {
		t.Fatalf("--nodes 3: nodes %d, %v", c.Nodes, err)
	}
	if err := c.Validate(); err != nil {
		t.Fatalf("--nodes 3 --database: %v", err)
	}
	c, err = parse("--nodes", "2")
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "--nodes 2 needs --database") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("--nodes 2 without --database: %v, want a one-line error naming --database", err)
	}
	if _, err := parse("--nodes", "two"); err == nil {
		t.Fatal("--nodes two parsed")
	}
}

func TestNodeFor(t *testing.T) {
	for _, tt := range []struct{ endpoints, nodes int }{{1, 2}, {2, 2}, {10, 2}, {10, 3}, {3, 3}, {7, 1}} {
		perNode := make([]int, tt.nodes)
		seen := make(map[[2]int]bool) // endpoint, node
		rounds := 6 * tt.nodes
		for b := range tt.endpoints * rounds {
			n := nodeFor(b, tt.endpoints, tt.nodes)
			if n < 0 || n >= tt.nodes {
				t.Fatalf("nodeFor(%d, %d, %d) = %d", b, tt.endpoints, tt.nodes, n)
			}
			perNode[n]++
			seen[[2]int{b % tt.endpoints, n}] = true
		}
		for n, got := range perNode {
			if want := tt.endpoints * rounds / tt.nodes; got != want {
				t.Errorf("%d endpoints, %d nodes: node %d carries %d requests, want %d", tt.endpoints, tt.nodes, n, got, want)
			}
		}
		if len(seen) != tt.endpoints*tt.nodes {
			t.Errorf("%d endpoints, %d nodes: %d endpoint-node pairs used, want every endpoint on every node", tt.endpoints, tt.nodes, len(seen))
		}
	}
}
