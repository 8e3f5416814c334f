package bench

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"time"
)

// Limits of the Config fields.
const (
	// MaxEvents caps Config.Events, and Config.Events × Config.Fanout (the
	// deliveries): the bench keeps about 20 bytes of state per delivery
	// (about 200 MB at the cap).
	MaxEvents = 10_000_000
	// MaxEndpoints caps Config.Endpoints, and Config.Endpoints ×
	// Config.Fanout (the sink servers, each with its own listener).
	MaxEndpoints = 10_000
	// MaxFanout caps Config.Fanout: the most webhook endpoints the platform
	// gives one account (store.MaxEndpoints).
	MaxFanout = 50
	// MaxNodes caps Config.Nodes.
	MaxNodes = 64
	// MaxIngestBatch is the most events the platform accepts in one POST
	// /v1/events.
	MaxIngestBatch = 1000
	// SlowDelay is how long a slow sink waits before it answers.
	SlowDelay = 100 * time.Millisecond
	// MaxAttemptTimeout is the longest --attempt-timeout serve accepts.
	MaxAttemptTimeout = 5 * time.Minute
	// HoldMargin is how much longer than --duration serve's attempt timeout
	// is made under --hold, when MaxAttemptTimeout allows.
	HoldMargin = 60 * time.Second
)

// Config configures a bench run. Start from Default; Validate checks it.
type Config struct {
	// Binary is the bahasha executable started as the platform ("bahasha
	// serve"). Default: the running program (os.Executable). Flag --binary,
	// env BAHASHA_BENCH_BINARY.
	Binary string
	// Env is the platform's environment, to which Run adds
	// BAHASHA_ADMIN_KEY. Default (nil): this process's environment, so
	// BAHASHA_MAX_LANES and the like reach the platform.
	Env []string

	// Endpoints is how many accounts share the load. Each has Fanout
	// webhook endpoints, each with its own sink server; the figures'
	// "endpoints" count the accounts, their "sinks" the webhook endpoints
	// (Endpoints × Fanout). Default 10. Flag --endpoints.
	Endpoints int
	// Fanout is how many webhook endpoints each account has, every one
	// with its own sink server (its own port; the account's app secret):
	// the first registered with PUT /v1/webhook, the others with POST
	// /v1/webhooks, all of account scope without an event filter, so that
	// the platform delivers every event Fanout times, once to each. Ingest
	// is unchanged: one POST /v1/events per batch. Between 1 and MaxFanout.
	// Default 1. Flag --fanout.
	Fanout int
	// Metrics runs serve with --metrics-addr and scrapes /metrics every
	// MetricsScrape meanwhile, as Prometheus would.
	Metrics bool
	// Slow, Hanging and Failing are the fractions of Endpoints that answer
	// after SlowDelay, never answer (until the platform's attempt timeout),
	// and answer 500. Each is rounded to a whole number of endpoints, that
	// is of accounts: with Fanout > 1 all the sinks of an account answer
	// alike. At least one endpoint must stay healthy. Default 0. Flags --slow,
	// --hanging, --failing.
	Slow, Hanging, Failing float64

	// MaxBatch is passed to serve as --max-batch when it is > 0 and serve
	// has the flag. Default 0: the platform's own default. Flag --max-batch.
	MaxBatch int
	// AttemptTimeout is passed to serve as --attempt-timeout: how long a
	// hanging endpoint holds an attempt. Default 10s. Flag --attempt-timeout.
	AttemptTimeout time.Duration
	// Database, when set, is passed to serve as --database (e.g. a
	// postgres:// URL). Default "": serve's SQLite in the temporary data
	// folder. Flag --database.
	Database string
	// Nodes is how many "bahasha serve" processes share Database: the first
	// is started (it applies the migrations and creates the default account)
	// and listens before the others start; ingest requests go round-robin
	// over them. More than 1 needs Database (SQLite is one process's).
	// Default 1. Flag --nodes.
	Nodes int

	// Rate is the offered load in events per second; 0 means as fast as
	// the producers go. Default 0. Flag --rate.
	Rate float64
	// Duration bounds the ingest phase. Default 10s. Flag --duration.
	Duration time.Duration
	// Events bounds the events ingested (at most MaxEvents). Default
	// 200,000. Flag --events.
	Events int
	// IngestBatch is how many events one POST /v1/events carries (at most
	// MaxIngestBatch). Default 0, meaning 100, or Rate/200 (at least 1) when
	// Rate is set, so that a paced run sends a POST at least every 5 ms
	// instead of bursts. Flag --ingest-batch.
	IngestBatch int
	// Producers is how many goroutines POST events concurrently. Default 4.
	// Flag --producers.
	Producers int
	// Drain bounds the wait, after ingest, for the healthy endpoints to
	// receive every acknowledged event. Default 120s. Flag --drain.
	Drain time.Duration

	// Ceiling is how long the loopback POST ceiling is measured. Default
	// 2s. Flag --ceiling.
	Ceiling time.Duration
	// CeilingConns is how many keep-alive clients POST concurrently while
	// the ceiling is measured. Default 64. Flag --ceiling-conns.
	CeilingConns int

	// Hold makes every sink hold each delivery POST it receives during
	// ingest, unanswered, until ingest ends, then answer them all: the
	// events pile up as pending deliveries in the platform's store, and the
	// drain phase measures draining that backlog. Serve's attempt timeout
	// is then raised to outlast ingest (see ServeAttemptTimeout). Default
	// false. Flag --hold.
	Hold bool

	// JSON prints the result as one JSON object instead of a table. Flag
	// --json.
	JSON bool

	// CPUProfile, when set, is a file the bench writes its own CPU profile
	// to (its sinks and producers, from the start of ingest to the end of
	// the drain), for go tool pprof. The platform's profile is served on
	// BAHASHA_PPROF_ADDR. Default "". Flag --cpuprofile.
	CPUProfile string
}

// Default returns the defaults.
func Default() Config {
	return Config{
		Endpoints:      10,
		Fanout:         1,
		Nodes:          1,
		AttemptTimeout: 10 * time.Second,
		Duration:       10 * time.Second,
		Events:         200_000,
		Producers:      4,
		Drain:          120 * time.Second,
		Ceiling:        2 * time.Second,
		CeilingConns:   64,
	}
}

// Flags registers c's fields as flags of fs, with c's values as defaults.
// Binary's environment variable is the caller's to read.
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Binary, "binary", c.Binary, "bahasha executable to benchmark (env BAHASHA_BENCH_BINARY; default: this program)")
	fs.IntVar(&c.Endpoints, "endpoints", c.Endpoints, "accounts, each with its own webhook endpoint and sink")
	fs.IntVar(&c.Fanout, "fanout", c.Fanout, fmt.Sprintf("webhook endpoints per account, each with its own sink: every event is delivered this many times (1 to %d)", MaxFanout))
	fs.BoolVar(&c.Metrics, "metrics", c.Metrics, "run serve with --metrics-addr and scrape its /metrics every 5s during the run (to measure what metrics cost)")
	fs.Float64Var(&c.Slow, "slow", c.Slow, "fraction of endpoints that answer after 100ms")
	fs.Float64Var(&c.Hanging, "hanging", c.Hanging, "fraction of endpoints that never answer (until --attempt-timeout)")
	fs.Float64Var(&c.Failing, "failing", c.Failing, "fraction of endpoints that answer 500")
	fs.IntVar(&c.MaxBatch, "max-batch", c.MaxBatch, "events per delivery POST, passed to serve (0: serve's default; 1: batching off)")
	fs.DurationVar(&c.AttemptTimeout, "attempt-timeout", c.AttemptTimeout, "time limit of one delivery attempt, passed to serve")
	fs.StringVar(&c.Database, "database", c.Database, "database URL passed to serve (default: SQLite in a temporary folder)")
	fs.IntVar(&c.Nodes, "nodes", c.Nodes, "bahasha serve processes sharing --database; ingest goes round-robin over them (more than 1 needs --database)")
	fs.Float64Var(&c.Rate, "rate", c.Rate, "offered events per second (0: as fast as it goes)")
	fs.DurationVar(&c.Duration, "duration", c.Duration, "time limit of the ingest phase")
	fs.IntVar(&c.Events, "events", c.Events, "most events to ingest")
	fs.IntVar(&c.IngestBatch, "ingest-batch", c.IngestBatch, "events per POST /v1/events (0: 100, or rate/200 when --rate is set)")
	fs.IntVar(&c.Producers, "producers", c.Producers, "concurrent ingest clients")
	fs.DurationVar(&c.Drain, "drain", c.Drain, "time limit of the wait for delivery after ingest")
	fs.DurationVar(&c.Ceiling, "ceiling", c.Ceiling, "time spent measuring the loopback POST ceiling")
	fs.IntVar(&c.CeilingConns, "ceiling-conns", c.CeilingConns, "concurrent clients measuring the loopback POST ceiling")
	fs.BoolVar(&c.Hold, "hold", c.Hold, "sinks hold every delivery until ingest ends, so the platform builds a backlog; the drain phase measures draining it")
	fs.BoolVar(&c.JSON, "json", c.JSON, "print one JSON object instead of a table")
	fs.StringVar(&c.CPUProfile, "cpuprofile", c.CPUProfile, "write the bench's own CPU profile (sinks and producers, ingest to drain) to this file")
}

// Validate reports the first problem with c, in words that name the flag.
func (c Config) Validate() error {
	fraction := func(name string, f float64) error {
		if math.IsNaN(f) || f < 0 || f > 1 {
			return fmt.Errorf("--%s must be a fraction between 0 and 1 (it is %v)", name, f)
		}
		return nil
	}
	switch {
	case c.Endpoints < 1 || c.Endpoints > MaxEndpoints:
		return fmt.Errorf("--endpoints must be between 1 and %d (it is %d)", MaxEndpoints, c.Endpoints)
	case c.Fanout < 1 || c.Fanout > MaxFanout:
		return fmt.Errorf("--fanout must be between 1 and %d (it is %d): the platform gives an account at most %d webhook endpoints", MaxFanout, c.Fanout, MaxFanout)
	case c.Endpoints*c.Fanout > MaxEndpoints:
		return fmt.Errorf("--endpoints %d × --fanout %d makes %d sinks, more than %d; lower one of them", c.Endpoints, c.Fanout, c.Endpoints*c.Fanout, MaxEndpoints)
	case fraction("slow", c.Slow) != nil:
		return fraction("slow", c.Slow)
	case fraction("hanging", c.Hanging) != nil:
		return fraction("hanging", c.Hanging)
	case fraction("failing", c.Failing) != nil:
		return fraction("failing", c.Failing)
	case c.MaxBatch < 0:
		return errors.New("--max-batch must not be negative (0 keeps serve's default, 1 turns batching off)")
	case c.Nodes < 1 || c.Nodes > MaxNodes:
		return fmt.Errorf("--nodes must be between 1 and %d (it is %d)", MaxNodes, c.Nodes)
	case c.Nodes > 1 && c.Database == "":
		return fmt.Errorf("--nodes %d needs --database: several nodes share one PostgreSQL (SQLite belongs to one process)", c.Nodes)
	case c.AttemptTimeout <= 0 || c.AttemptTimeout > MaxAttemptTimeout:
		return errors.New("--attempt-timeout must be between 1ms and 5m")
	case math.IsNaN(c.Rate) || math.IsInf(c.Rate, 0) || c.Rate < 0:
		return errors.New("--rate must be 0 (as fast as it goes) or a positive number of events per second")
	case c.Duration <= 0 || c.Duration > 24*time.Hour:
		return errors.New("--duration must be between 1ms and 24h")
	case c.Events < 1 || c.Events > MaxEvents:
		return fmt.Errorf("--events must be between 1 and %d", MaxEvents)
	case c.Events*c.Fanout > MaxEvents:
		return fmt.Errorf("--events %d × --fanout %d makes %d deliveries to track, more than %d; lower --events", c.Events, c.Fanout, c.Events*c.Fanout, MaxEvents)
	case c.IngestBatch < 0 || c.IngestBatch > MaxIngestBatch:
		return fmt.Errorf("--ingest-batch must be between 1 and %d (0 chooses)", MaxIngestBatch)
	case c.Producers < 1 || c.Producers > 1024:
		return errors.New("--producers must be between 1 and 1024")
	case c.Drain <= 0 || c.Drain > 24*time.Hour:
		return errors.New("--drain must be between 1ms and 24h")
	case c.Ceiling <= 0 || c.Ceiling > time.Minute:
		return errors.New("--ceiling must be between 1ms and 1m")
	case c.CeilingConns < 1 || c.CeilingConns > 4096:
		return errors.New("--ceiling-conns must be between 1 and 4096")
	case c.Hold && c.ingestBound() > MaxAttemptTimeout:
		return fmt.Errorf("--hold holds deliveries for the whole ingest phase, which may last %s, longer than serve's longest --attempt-timeout (%s); lower --duration (or --events with --rate)",
			c.ingestBound(), MaxAttemptTimeout)
	}
	slow, hanging, failing := c.classCounts()
	if slow+hanging+failing >= c.Endpoints {
		return fmt.Errorf("--slow, --hanging and --failing leave no healthy endpoint among %d (%d slow, %d hanging, %d failing); at least one must be healthy",
			c.Endpoints, slow, hanging, failing)
	}
	return nil
}

// classCounts turns the fractions into numbers of endpoints.
func (c Config) classCounts() (slow, hanging, failing int) {
	n := float64(c.Endpoints)
	return int(math.Round(c.Slow * n)), int(math.Round(c.Hanging * n)), int(math.Round(c.Failing * n))
}

// mixed reports whether some endpoints are not healthy.
func (c Config) mixed() bool {
	s, h, f := c.classCounts()
	return s+h+f > 0
}

// ingestBound is the longest the ingest phase may last: Duration, or the
// time Rate takes to offer Events when that is shorter.
func (c Config) ingestBound() time.Duration {
	d := c.Duration
	if c.Rate > 0 {
		if r := time.Duration(float64(c.Events) / c.Rate * float64(time.Second)); r < d {
			d = r
		}
	}
	return d
}

// ServeAttemptTimeout is the --attempt-timeout passed to serve: AttemptTimeout,
// or under Hold max(AttemptTimeout, Duration+HoldMargin) capped at
// MaxAttemptTimeout, so that held attempts outlast ingest.
func (c Config) ServeAttemptTimeout() time.Duration {
	if !c.Hold {
		return c.AttemptTimeout
	}
	return min(max(c.AttemptTimeout, c.Duration+HoldMargin), MaxAttemptTimeout)
}

// ingestBatch is IngestBatch with its default applied.
func (c Config) ingestBatch() int {
	switch {
	case c.IngestBatch > 0:
		return c.IngestBatch
	case c.Rate > 0:
		return max(1, min(100, int(c.Rate/200)))
	}
	return 100
}
