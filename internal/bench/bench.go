package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"runtime"
	"runtime/pprof"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// ErrLost is returned by Run, after the report is printed, when some
// acknowledged events never reached a healthy endpoint of theirs (any of
// its Fanout webhook endpoints).
var ErrLost = errors.New("events were lost")

// Result is what a run measured. Its JSON form is what --json prints.
type Result struct {
	// Figures are those of all endpoints. Lost counts the healthy ones only.
	Figures
	// CPUSPer1k is the platform processes' CPU seconds (user + system,
	// summed over the nodes) during ingest and delivery, per 1,000
	// deliveries (Delivered: delivered events when Fanout is 1);
	// CPUSPer1kEvents is the same CPU per 1,000 events delivered to every
	// endpoint of their account (EventsDelivered), ingest included.
	CPUSPer1k       float64 `json:"cpu_s_per_1k"`
	CPUSPer1kEvents float64 `json:"cpu_s_per_1k_events"`
	// PlatformCPUS is that CPU time in seconds; BenchCPUS the bench's own.
	PlatformCPUS float64 `json:"platform_cpu_s"`
	BenchCPUS    float64 `json:"bench_cpu_s"`
	// NodeCPUS is each node's share of PlatformCPUS, in seconds.
	NodeCPUS []float64 `json:"node_cpu_s"`
	// PeakRSSMB is the platform's peak resident memory (VmHWM) in MiB: the
	// largest of the nodes'.
	PeakRSSMB float64 `json:"peak_rss_mb"`
	// NodePeakRSSMB is each node's peak resident memory in MiB.
	NodePeakRSSMB []float64 `json:"node_peak_rss_mb"`
	// CeilingPostsPerS is the loopback POST ceiling measured in this run,
	// before the platform started; CeilingCPUSPer1k is the CPU the bare
	// client and server spent per 1,000 of those POSTs.
	CeilingPostsPerS float64 `json:"ceiling_posts_per_s"`
	CeilingCPUSPer1k float64 `json:"ceiling_cpu_s_per_1k"`

	// The scenario. Endpoints is the accounts, each with Fanout webhook
	// endpoints (Sinks in the figures).
	Endpoints int `json:"endpoints"`
	Fanout    int `json:"fanout"`
	// Metrics: serve ran with --metrics-addr, scraped every 5 s.
	Metrics          bool    `json:"metrics,omitempty"`
	SlowEndpoints    int     `json:"slow_endpoints"`
	HangingEndpoints int     `json:"hanging_endpoints"`
	FailingEndpoints int     `json:"failing_endpoints"`
	MaxBatch         int     `json:"max_batch"`
	Rate             float64 `json:"rate"`
	DurationS        float64 `json:"duration_s"`
	EventsLimit      int     `json:"events_limit"`
	IngestBatch      int     `json:"ingest_batch"`
	Producers        int     `json:"producers"`
	Database         string  `json:"database"`
	// Nodes is how many bahasha serve processes shared the database.
	Nodes int `json:"nodes"`
	// Hold says the sinks held every delivery until ingest ended (--hold).
	Hold bool `json:"hold"`
	// AttemptTimeoutS is the --attempt-timeout serve ran with, in seconds.
	AttemptTimeoutS float64 `json:"attempt_timeout_s"`
	// Note says what the bench could not set up as asked.
	Note string `json:"note,omitempty"`

	// IngestS is how long ingest actually ran; DrainS how long the wait for
	// delivery after it took.
	IngestS float64 `json:"ingest_s"`
	DrainS  float64 `json:"drain_s"`
	// IngestAckP50MS and IngestAckP99MS are the times of the ingest POSTs
	// (one per IngestBatch events, whatever Fanout) from sending to their
	// 202, retries included, in milliseconds.
	IngestAckP50MS float64 `json:"ingest_ack_p50_ms"`
	IngestAckP99MS float64 `json:"ingest_ack_p99_ms"`
	// BacklogPeak is the most deliveries (events × Fanout) acknowledged but
	// not yet received seen by the progress sampling (every 100 ms, and at
	// the end of ingest).
	BacklogPeak int64 `json:"backlog_peak"`
	// DrainPerS is the deliveries first received during the drain phase
	// over its duration.
	DrainPerS float64 `json:"drain_per_s"`
	// DeliveredPerCopy is, for each k < Fanout, how many acknowledged
	// events the k-th webhook endpoints of the accounts received (the
	// first is the primary, PUT /v1/webhook; the others POST /v1/webhooks).
	DeliveredPerCopy []int64 `json:"delivered_per_copy"`
	// SinkPosts counts the delivery POSTs the healthy sinks received;
	// EventsPerPost is their events (duplicates included) per POST.
	SinkPosts     int64   `json:"sink_posts"`
	EventsPerPost float64 `json:"events_per_post"`
	// Misrouted events reached another account's endpoint; Unexpected
	// receipts were not bench events; Rejected POSTs failed the SDK's
	// checks (signature, body). All must be 0.
	Misrouted  int64 `json:"misrouted"`
	Unexpected int64 `json:"unexpected"`
	Rejected   int64 `json:"rejected"`

	// The machine.
	CPUs          int    `json:"cpus"`
	LoadAvgBefore string `json:"load_avg_before"`
	LoadAvgAfter  string `json:"load_avg_after"`

	// Healthy are the figures of the healthy endpoints alone, in a mixed
	// scenario.
	Healthy *Figures `json:"healthy,omitempty"`
}

// Run runs the benchmark cfg describes, prints its progress on stderr and
// its report on stdout, and returns the result. After printing a report in
// which events were lost it returns the result and ErrLost.
func Run(ctx context.Context, cfg Config, stdout, stderr io.Writer) (_ Result, err error) {
	defer func() {
		if err != nil && ctx.Err() != nil {
			err = fmt.Errorf("interrupted (%w); the platform was stopped and its data folder removed", ctx.Err())
		}
	}()
	if err := cfg.Validate(); err != nil {
		return Result{}, err
	}
	if cfg.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return Result{}, fmt.Errorf("cannot find this program to start it as the platform: %w; name it with --binary", err)
		}
		cfg.Binary = exe
	}
	env := cfg.Env
	if env == nil {
		env = os.Environ()
	}
	logf := func(format string, args ...any) { fmt.Fprintf(stderr, "bench: "+format+"\n", args...) }
	cls := classes(cfg)
	nSlow, nHanging, nFailing := cfg.classCounts()
	res := Result{Endpoints: cfg.Endpoints, Fanout: cfg.Fanout, SlowEndpoints: nSlow, HangingEndpoints: nHanging, FailingEndpoints: nFailing,
		Rate: cfg.Rate, DurationS: cfg.Duration.Seconds(), EventsLimit: cfg.Events, IngestBatch: cfg.ingestBatch(),
		Producers: cfg.Producers, Database: "sqlite", Nodes: cfg.Nodes, CPUs: runtime.NumCPU(), LoadAvgBefore: loadAverage(),
		Hold: cfg.Hold, AttemptTimeoutS: cfg.ServeAttemptTimeout().Seconds()}
	addNote := func(note string) {
		if res.Note != "" {
			res.Note += "; "
		}
		res.Note += note
		logf("note: %s", note)
	}

	flags, err := probeServe(ctx, cfg.Binary, env)
	if err != nil {
		return res, err
	}
	var serveArgs []string
	serveArgs = append(serveArgs, "--attempt-timeout", cfg.ServeAttemptTimeout().String())
	switch {
	case !flags.maxBatch:
		res.MaxBatch = 1
		addNote("serve has no --max-batch flag: this build delivers one event per POST, so max_batch is reported as 1")
	case cfg.MaxBatch > 0:
		res.MaxBatch = cfg.MaxBatch
		serveArgs = append(serveArgs, "--max-batch", strconv.Itoa(cfg.MaxBatch))
	default:
		res.MaxBatch = flags.maxBatchDefault
	}
	if cfg.Metrics {
		if !flags.metrics {
			return res, errors.New("this bahasha serve has no --metrics-addr flag, so --metrics cannot measure it")
		}
		serveArgs = append(serveArgs, "--metrics-addr", "127.0.0.1:0")
		res.Metrics = true
	}
	if cfg.Database != "" {
		if !flags.database {
			return res, errors.New("this bahasha serve has no --database flag, so it cannot run on --database; build one with PostgreSQL support or drop --database")
		}
		serveArgs = append(serveArgs, "--database", cfg.Database)
		res.Database = "url"
		if u, err := url.Parse(cfg.Database); err == nil && u.Scheme != "" {
			res.Database = u.Scheme
		}
	}

	logf("measuring the loopback POST ceiling for %s with %d connections…", cfg.Ceiling, cfg.CeilingConns)
	ceiling, err := measureCeiling(ctx, cfg.Ceiling, cfg.CeilingConns)
	if err != nil {
		return res, err
	}
	res.CeilingPostsPerS = math.Round(ceiling.PostsPerS)
	res.CeilingCPUSPer1k = round4(ceiling.CPUPer1k)
	logf("loopback ceiling: %.0f POSTs/s", ceiling.PostsPerS)

	adminKey := "bench-admin-" + randomHex(24)
	ps, err := startCluster(ctx, cfg.Binary, append(env[:len(env):len(env)], "BAHASHA_ADMIN_KEY="+adminKey), serveArgs, cfg.Nodes)
	if err != nil {
		return res, err
	}
	clients := make([]*apiClient, len(ps))
	for i, p := range ps {
		if len(ps) == 1 {
			logf("platform pid %d listening on %s", p.pid(), p.addr)
		} else {
			logf("node %d of %d: pid %d listening on %s", i+1, len(ps), p.pid(), p.addr)
		}
		clients[i] = newAPIClient(p.addr, cfg.Producers)
	}
	if cfg.Metrics {
		stopScrapes, err := scrapeMetrics(ps)
		if err != nil {
			return res, err
		}
		defer stopScrapes()
	}
	origin := time.Now()
	t := newTracker(origin, cfg.Events, res.IngestBatch, cfg.Fanout, cls)
	var holdMax time.Duration
	if cfg.Hold {
		// Answer a held POST before serve's attempt timeout ends it, should
		// ingest last that long.
		holdMax = max(cfg.ServeAttemptTimeout()-5*time.Second, cfg.ServeAttemptTimeout()*9/10)
		addNote(fmt.Sprintf("--hold: the sinks held every delivery until ingest ended (serve's --attempt-timeout %s), so the latency percentiles measure that hold, not delivery latency; see backlog_peak and drain_per_s",
			cfg.ServeAttemptTimeout()))
	}
	s := newSinks(holdMax)
	var prog *progress
	// Whatever happens: the platform dies first, so that the sinks'
	// connections close and hanging handlers return.
	defer func() {
		if prog != nil {
			prog.stop()
		}
		ps.stop()
		s.close()
		for _, c := range clients {
			c.close()
		}
	}()
	if cfg.Fanout > 1 {
		logf("creating %d accounts and registering %d webhook endpoints each…", cfg.Endpoints, cfg.Fanout)
	} else {
		logf("creating %d accounts and registering their webhooks…", cfg.Endpoints)
	}
	accounts, err := setup(ctx, clients, adminKey, cls, cfg.Fanout, s, t)
	if err != nil {
		if perr := ps.exited(); perr != nil {
			err = perr
		}
		return res, err
	}

	before, procErr := readProcs(ps.pids())
	benchBefore, _ := readProc(os.Getpid())
	prog = startProgress(stderr, t, ps.pids())

	stopProfile, err := startCPUProfile(cfg.CPUProfile)
	if err != nil {
		return res, err
	}
	defer stopProfile()

	// Ingest.
	prog.setPhase("ingest")
	ingestStart := time.Now()
	ingestOffset := int64(ingestStart.Sub(origin)) + 1
	err = produce(ctx, cfg, clients, accounts, t, ingestStart)
	res.IngestS = round3(time.Since(ingestStart).Seconds())
	if err != nil {
		prog.stop()
		if perr := ps.exited(); perr != nil {
			err = perr
		}
		return res, fmt.Errorf("ingest failed: %w", err)
	}

	// Drain: end the hold, and wait for the healthy endpoints to receive
	// every acknowledged event.
	prog.sample() // the backlog at its largest under --hold
	prog.setPhase("drain")
	drainStart := time.Now()
	recvBefore := t.received.Load()
	s.release()
	if err := drain(ctx, t, ps, cfg.Drain); err != nil {
		prog.stop()
		return res, err
	}
	drainTime := time.Since(drainStart)
	res.DrainS = round3(drainTime.Seconds())
	res.DrainPerS = math.Round(PerSecond(t.received.Load()-recvBefore, drainTime))
	stopProfile()
	after, procErr2 := readProcs(ps.pids()) // before the platform is killed
	benchAfter, _ := readProc(os.Getpid())
	prog.stop()
	ps.stop()
	s.close()
	res.BacklogPeak = prog.peak.Load()
	if n := s.heldLong.Load(); n > 0 {
		addNote(fmt.Sprintf("%d held POSTs were answered before ingest ended, so as not to outlast serve's --attempt-timeout", n))
	}

	res.Figures = t.figures(func(int) bool { return true }, ingestOffset, ceiling.PostsPerS)
	if cfg.mixed() {
		h := t.figures(func(ep int) bool { return cls[ep] == healthy }, ingestOffset, ceiling.PostsPerS)
		res.Healthy = &h
	}
	if procErr == nil && procErr2 == nil {
		var cpu time.Duration
		for i := range after {
			nodeCPU := after[i].CPU - before[i].CPU
			cpu += nodeCPU
			res.NodeCPUS = append(res.NodeCPUS, round3(nodeCPU.Seconds()))
			rss := math.Round(float64(after[i].PeakRSS)/(1<<20)*10) / 10
			res.NodePeakRSSMB = append(res.NodePeakRSSMB, rss)
			res.PeakRSSMB = max(res.PeakRSSMB, rss)
		}
		res.PlatformCPUS = round3(cpu.Seconds())
		if res.Delivered > 0 {
			res.CPUSPer1k = round4(cpu.Seconds() / float64(res.Delivered) * 1000)
		}
		if res.EventsDelivered > 0 {
			res.CPUSPer1kEvents = round4(cpu.Seconds() / float64(res.EventsDelivered) * 1000)
		}
	} else {
		logf("note: cannot read the platform's CPU and memory from /proc: %v", errors.Join(procErr, procErr2))
	}
	res.BenchCPUS = round3((benchAfter.CPU - benchBefore.CPU).Seconds())
	res.DeliveredPerCopy = t.deliveredPerCopy()
	res.IngestAckP50MS, res.IngestAckP99MS = t.ingestAckMS()
	res.SinkPosts = t.postsHealthy.Load()
	if res.SinkPosts > 0 {
		res.EventsPerPost = round3(float64(t.evHealthy.Load()) / float64(res.SinkPosts))
	}
	res.Misrouted, res.Unexpected, res.Rejected = t.misrouted.Load(), t.unexpected.Load(), t.rejected.Load()
	res.LoadAvgAfter = loadAverage()

	if err := report(stdout, cfg, res); err != nil {
		return res, err
	}
	if res.Lost > 0 {
		what := "EVENTS"
		if cfg.Fanout > 1 {
			what = fmt.Sprintf("DELIVERIES (of %d events × %d endpoints)", res.Events, cfg.Fanout)
		}
		fmt.Fprintf(stderr, "\n!!! LOST %d %s: the platform acknowledged them (202) but no healthy endpoint received them within --drain %s !!!\n\n",
			res.Lost, what, cfg.Drain)
		return res, fmt.Errorf("%w: %d deliveries of acknowledged events never reached their healthy endpoint within --drain %s", ErrLost, res.Lost, cfg.Drain)
	}
	if res.Misrouted > 0 || res.Rejected > 0 || res.Unexpected > 0 {
		return res, fmt.Errorf("the sinks saw %d misrouted events, %d rejected POSTs and %d unexpected receipts; all must be 0", res.Misrouted, res.Rejected, res.Unexpected)
	}
	return res, nil
}

// drain waits until the healthy sinks received every acknowledged event of
// theirs (each of an account's sinks its copy), or limit passes (the report
// then counts the missing as lost).
func drain(ctx context.Context, t *tracker, ps cluster, limit time.Duration) error {
	deadline := time.NewTimer(limit)
	defer deadline.Stop()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for t.recvHealthy.Load() < t.expectHealthy.Load() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-deadline.C:
			return nil
		case <-tick.C:
		}
		if err := ps.exited(); err != nil {
			return err
		}
	}
	return nil
}

func round4(x float64) float64 { return math.Round(x*1e4) / 1e4 }

// progress prints a status line on stderr once a second: overwritten in
// place on a terminal, one line per second otherwise.
type progress struct {
	w     io.Writer
	tty   bool
	t     *tracker
	pids  []int
	phase atomic.Value // string
	start time.Time
	peak  atomic.Int64 // the largest backlog sampled

	done     chan struct{}
	finished chan struct{}
	once     sync.Once
}

func startProgress(w io.Writer, t *tracker, pids []int) *progress {
	p := &progress{w: w, tty: isTerminal(w), t: t, pids: pids, start: time.Now(), done: make(chan struct{}), finished: make(chan struct{})}
	p.phase.Store("setup")
	go p.run()
	return p
}

func (p *progress) setPhase(s string) { p.phase.Store(s) }

// sample records the backlog (deliveries acknowledged but not yet received)
// if it is the largest seen.
func (p *progress) sample() {
	backlog := p.t.pending()
	for {
		cur := p.peak.Load()
		if backlog <= cur || p.peak.CompareAndSwap(cur, backlog) {
			return
		}
	}
}

// sampleEvery is how often progress samples the backlog; it prints a line
// every printEvery samples.
const (
	sampleEvery = 100 * time.Millisecond
	printEvery  = 10
)

func (p *progress) run() {
	defer close(p.finished)
	tick := time.NewTicker(sampleEvery)
	defer tick.Stop()
	lastAcked, lastRecv := int64(0), int64(0)
	lastAll, _ := readProcs(p.pids)
	last := sumProcs(lastAll)
	lastAt := time.Now()
	wrote := false
	for n := 1; ; n++ {
		select {
		case <-p.done:
			if wrote && p.tty {
				fmt.Fprintln(p.w)
			}
			return
		case <-tick.C:
		}
		p.sample()
		if n%printEvery != 0 {
			continue
		}
		now := time.Now()
		dt := now.Sub(lastAt).Seconds()
		acked, recv, backlog := p.t.acked.Load(), p.t.received.Load(), p.t.pending()
		line := fmt.Sprintf("%4.0fs %-6s acked %9d (%6.0f/s)  delivered %9d (%6.0f/s)  backlog %8d  dup %d",
			now.Sub(p.start).Seconds(), p.phase.Load().(string), acked, float64(acked-lastAcked)/dt,
			recv, float64(recv-lastRecv)/dt, backlog, p.t.duplicates.Load())
		if all, err := readProcs(p.pids); err == nil {
			cur := sumProcs(all)
			line += fmt.Sprintf("  platform cpu %3.0f%% rss %4.0f MB", (cur.CPU-last.CPU).Seconds()/dt*100, float64(cur.RSS)/(1<<20))
			last = cur
		}
		lastAcked, lastRecv, lastAt = acked, recv, now
		if p.tty {
			fmt.Fprintf(p.w, "\r%s\x1b[K", line)
		} else {
			fmt.Fprintln(p.w, line)
		}
		wrote = true
	}
}

// stop ends the progress line; it is safe to call more than once.
func (p *progress) stop() {
	p.once.Do(func() { close(p.done) })
	<-p.finished
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// startCPUProfile starts profiling this process into path (nothing when path
// is empty) and returns the function that ends it; calling that more than
// once is harmless.
func startCPUProfile(path string) (func(), error) {
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			pprof.StopCPUProfile()
			f.Close()
		})
	}, nil
}

// metricsRE finds the metrics URL serve prints.
var metricsRE = regexp.MustCompile(`Metrics on (http://\S+/metrics)`)

// MetricsScrape is how often --metrics scrapes each node.
const MetricsScrape = 5 * time.Second

// scrapeMetrics scrapes every node's /metrics every MetricsScrape until
// stopped, reading each answer to its end as Prometheus would.
func scrapeMetrics(ps cluster) (stop func(), err error) {
	var urls []string
	for _, p := range ps {
		var url string
		for deadline := time.Now().Add(startTimeout); url == "" && time.Now().Before(deadline); {
			if url = p.stdout.find(metricsRE); url == "" {
				time.Sleep(20 * time.Millisecond)
			}
		}
		if url == "" {
			return nil, errors.New("serve did not print its metrics URL")
		}
		urls = append(urls, url)
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 10 * time.Second}
	for _, url := range urls {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(MetricsScrape)
			defer t.Stop()
			for {
				if resp, err := client.Get(url); err == nil {
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
				select {
				case <-done:
					return
				case <-t.C:
				}
			}
		}()
	}
	return func() {
		close(done)
		wg.Wait()
	}, nil
}
