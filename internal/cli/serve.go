package cli

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"path/filepath"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/api"
	"github.com/bahasha/bahasha/internal/config"
	"github.com/bahasha/bahasha/internal/dashboard"
	"github.com/bahasha/bahasha/internal/delivery"
	"github.com/bahasha/bahasha/internal/handshake"
	"github.com/bahasha/bahasha/internal/safehttp"
	"github.com/bahasha/bahasha/internal/server"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/postgres"
	"github.com/bahasha/bahasha/internal/store/sqlite"
)

// gcPercent is serve's garbage collection target when GOGC is not set.
const gcPercent = 400

// serveConfig reads bahasha serve's environment, then its flags.
func serveConfig(args []string, env Env, stderr io.Writer) (config.Serve, error) {
	cfg := config.DefaultServe()
	var envErr error
	str := func(key string, dst *string) {
		if v := env(key); v != "" {
			*dst = v
		}
	}
	boolean := func(key string, dst *bool) {
		if v := env(key); v != "" {
			b, err := strconv.ParseBool(v)
			if err != nil && envErr == nil {
				envErr = usagef("%s=%q is not true or false", key, v)
			}
			*dst = b
		}
	}
	duration := func(key string, dst *time.Duration) {
		if v := env(key); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil && envErr == nil {
				envErr = usagef("%s=%q is not a duration such as 1s or 500ms", key, v)
			}
			*dst = d
		}
	}
	integer := func(key string, dst *int) {
		if v := env(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil && envErr == nil {
				envErr = usagef("%s=%q is not a whole number", key, v)
			}
			*dst = n
		}
	}
	str("BAHASHA_ADDR", &cfg.Addr)
	str("BAHASHA_DATA", &cfg.Data)
	str("BAHASHA_DATABASE_URL", &cfg.Database)
	str("BAHASHA_TLS_CERT", &cfg.TLSCert)
	str("BAHASHA_TLS_KEY", &cfg.TLSKey)
	boolean("BAHASHA_ALLOW_PRIVATE_TARGETS", &cfg.AllowPrivateTargets)
	duration("BAHASHA_SANDBOX_PACE", &cfg.SandboxPace)
	duration("BAHASHA_ATTEMPT_TIMEOUT", &cfg.AttemptTimeout)
	duration("BAHASHA_SHUTDOWN_GRACE", &cfg.ShutdownGrace)
	duration("BAHASHA_BODY_TIMEOUT", &cfg.BodyTimeout)
	integer("BAHASHA_MAX_LANES", &cfg.MaxLanes)
	integer("BAHASHA_MAX_BATCH", &cfg.MaxBatch)
	integer("BAHASHA_MAX_IN_FLIGHT", &cfg.MaxInFlight)
	duration("BAHASHA_RETENTION", &cfg.Retention)
	duration("BAHASHA_LANE_LEASE", &cfg.LaneLease)
	integer("BAHASHA_DB_MAX_CONNS", &cfg.DBMaxConns)
	duration("BAHASHA_DB_STATEMENT_TIMEOUT", &cfg.DBStatementTimeout)
	durations := func(key string, dst *[]time.Duration) {
		if v := env(key); v != "" {
			ds, err := config.ParseDurations(v)
			if err != nil && envErr == nil {
				envErr = usagef("%s: %v", key, err)
			}
			*dst = ds
		}
	}
	durations("BAHASHA_RETRY_SCHEDULE", &cfg.RetrySchedule)
	duration("BAHASHA_RETRY_WINDOW", &cfg.RetryWindow)
	cfg.BootstrapAPIKey = env("BAHASHA_BOOTSTRAP_API_KEY")
	cfg.AdminKey = env("BAHASHA_ADMIN_KEY")
	if envErr != nil {
		return cfg, envErr
	}
	fs := newFlags("serve", stderr)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "address to listen on (env BAHASHA_ADDR)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", cfg.TLSCert, "PEM certificate (chain) file: serve HTTPS, with --tls-key (env BAHASHA_TLS_CERT)")
	fs.StringVar(&cfg.TLSKey, "tls-key", cfg.TLSKey, "PEM private key file of --tls-cert (env BAHASHA_TLS_KEY)")
	fs.StringVar(&cfg.Data, "data", cfg.Data, "data folder holding the SQLite database (env BAHASHA_DATA)")
	fs.StringVar(&cfg.Database, "database", cfg.Database, "PostgreSQL URL to use instead of SQLite, e.g. postgres://user:pass@host/bahasha (env BAHASHA_DATABASE_URL)")
	fs.IntVar(&cfg.DBMaxConns, "db-max-conns", cfg.DBMaxConns, "PostgreSQL connections of this node at most (env BAHASHA_DB_MAX_CONNS)")
	fs.DurationVar(&cfg.DBStatementTimeout, "db-statement-timeout", cfg.DBStatementTimeout, "PostgreSQL statements running longer are aborted (env BAHASHA_DB_STATEMENT_TIMEOUT)")
	fs.BoolVar(&cfg.AllowPrivateTargets, "allow-private-targets", cfg.AllowPrivateTargets,
		"allow http:// and loopback/private webhook URLs: local development and tests only (env BAHASHA_ALLOW_PRIVATE_TARGETS)")
	fs.DurationVar(&cfg.SandboxPace, "sandbox-pace", cfg.SandboxPace, "time between a sandbox message's statuses (env BAHASHA_SANDBOX_PACE)")
	fs.DurationVar(&cfg.AttemptTimeout, "attempt-timeout", cfg.AttemptTimeout, "time limit of one delivery attempt (env BAHASHA_ATTEMPT_TIMEOUT)")
	fs.DurationVar(&cfg.ShutdownGrace, "shutdown-grace", cfg.ShutdownGrace, "time in-flight work may finish at shutdown (env BAHASHA_SHUTDOWN_GRACE)")
	fs.DurationVar(&cfg.BodyTimeout, "body-timeout", cfg.BodyTimeout, "time a request body may take to arrive after its headers (env BAHASHA_BODY_TIMEOUT)")
	fs.Func("retry-schedule", "comma-separated delays between attempts, the last repeating (env BAHASHA_RETRY_SCHEDULE; default 5s,30s,2m,10m,30m,1h,2h,4h,8h)", func(v string) error {
		ds, err := config.ParseDurations(v)
		cfg.RetrySchedule = ds
		return err
	})
	fs.DurationVar(&cfg.RetryWindow, "retry-window", cfg.RetryWindow, "how long a delivery is retried before it is marked failed (env BAHASHA_RETRY_WINDOW)")
	fs.IntVar(&cfg.MaxBatch, "max-batch", cfg.MaxBatch, "events per POST at most; 1 turns batching off (env BAHASHA_MAX_BATCH)")
	fs.IntVar(&cfg.MaxInFlight, "max-in-flight", cfg.MaxInFlight, "POSTs in flight to one endpoint at most (env BAHASHA_MAX_IN_FLIGHT)")
	fs.DurationVar(&cfg.Retention, "retention", cfg.Retention, "how long finished deliveries are kept (env BAHASHA_RETENTION)")
	fs.DurationVar(&cfg.LaneLease, "lane-lease", cfg.LaneLease, "how long a node owns a claimed lane; after a crash others take over after it (env BAHASHA_LANE_LEASE; default: from the attempt timeout)")
	fs.IntVar(&cfg.MaxLanes, "max-lanes", cfg.MaxLanes, "endpoints delivered to at once (env BAHASHA_MAX_LANES)")
	if err := parse(fs, args); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{err.Error()}
	}
	return cfg, nil
}

func runServe(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	cfg, err := serveConfig(args, env, stderr)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	if env("GOGC") == "" {
		// The heap is small (the backlog lives in the store), so trading
		// a little memory for less garbage collection pays: see the README.
		debug.SetGCPercent(gcPercent)
	}
	if cfg.AllowPrivateTargets {
		fmt.Fprintln(stderr, "WARNING: --allow-private-targets is ON: Bahasha will call http:// and private, loopback and link-local addresses. Use it for local development and tests only, never in production.")
	}
	st, closeStore, err := openServeStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	client, err := safehttp.New(safehttp.Config{AllowPrivate: cfg.AllowPrivateTargets, Timeout: cfg.AttemptTimeout, UserAgent: safehttp.UserAgent(version())})
	if err != nil {
		return err
	}
	engine := delivery.New(delivery.Config{MaxLanes: cfg.MaxLanes, Timeout: cfg.AttemptTimeout, ShutdownGrace: cfg.ShutdownGrace,
		Retry: cfg.RetryPolicy(), MaxBatch: cfg.MaxBatch, MaxInFlight: cfg.MaxInFlight, Retention: cfg.Retention, LeaseFor: cfg.LaneLease},
		st, client, time.Now, rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64())), log)
	verifier := &handshake.Verifier{Client: client, AllowPrivate: cfg.AllowPrivateTargets}
	a := api.New(api.Config{SandboxPace: cfg.SandboxPace, AdminKey: cfg.AdminKey},
		st, verifier, engine, time.Now, crand.Reader, log)
	dash := dashboard.New(dashboard.Config{UserAgent: client.UserAgent()}, st, verifier, engine, a, time.Now, crand.Reader, log)

	var tlsConfig *tls.Config
	if cfg.TLSCert != "" {
		cert, err := tls.LoadX509KeyPair(cfg.TLSCert, cfg.TLSKey)
		if err != nil {
			return fmt.Errorf("cannot load --tls-cert %s and --tls-key %s: %w", cfg.TLSCert, cfg.TLSKey, err)
		}
		tlsConfig = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return fmt.Errorf("cannot listen on %s: %w; choose another address with --addr", cfg.Addr, err)
	}
	defer ln.Close()
	if err := bootstrap(ctx, st, cfg, ln.Addr(), stdout); err != nil {
		return err
	}
	// Handlers get a context that is cancelled when the grace period ends,
	// and are waited for before the store closes.
	handlerCtx, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()
	handler, handlersDone := server.Track(server.Handler(a, dash, st, version(), cfg.BodyTimeout, log))
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: server.HeaderTimeout,
		IdleTimeout: 2 * time.Minute, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		BaseContext: func(net.Listener) context.Context { return handlerCtx }}
	srv.RegisterOnShutdown(dash.Shutdown) // live views end at once instead of holding the shutdown
	where := cfg.Data
	if cfg.Database != "" {
		where = "PostgreSQL"
	}
	scheme := "http"
	if tlsConfig != nil {
		scheme = "https"
		ln = tls.NewListener(ln, tlsConfig)
	}
	fmt.Fprintf(stdout, "Bahasha %s listening on %s://%s (data in %s)\n", version(), scheme, ln.Addr(), where)
	if addr := env("BAHASHA_PPROF_ADDR"); addr != "" {
		stopPprof, err := servePprof(addr, log)
		if err != nil {
			return err
		}
		defer stopPprof()
	}

	engineCtx, stopEngine := context.WithCancel(context.WithoutCancel(ctx))
	defer stopEngine()
	engineDone := make(chan error, 1)
	go func() { engineDone <- engine.Run(engineCtx) }()
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	select {
	case err = <-serveErr:
		err = fmt.Errorf("the HTTP server stopped: %w", err)
	case <-ctx.Done():
	}
	fmt.Fprintln(stdout, "Shutting down: finishing in-flight requests and deliveries…")
	// The HTTP server and the engine wind down together, within one grace
	// period.
	stopEngine()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if serr := srv.Shutdown(shutdownCtx); serr != nil {
		if !errors.Is(serr, context.DeadlineExceeded) {
			log.Warn("HTTP shutdown", "err", serr)
		}
		cancelHandlers()
		srv.Close()
	}
	handlersDone()
	<-engineDone
	fmt.Fprintln(stdout, "Stopped.")
	return err
}

// bootstrap creates the default account on an empty store and prints its
// API key once.
func bootstrap(ctx context.Context, st store.Store, cfg config.Serve, addr net.Addr, stdout io.Writer) error {
	n, err := st.CountAccounts(ctx)
	if err != nil {
		return fmt.Errorf("cannot read the database: %w", err)
	}
	if n > 0 {
		return nil
	}
	c, err := accounts.Create(ctx, st, accounts.Params{Name: "Default", APIKey: cfg.BootstrapAPIKey, Now: time.Now()})
	if err != nil {
		// Another node sharing the database may have just created it.
		if n, cerr := st.CountAccounts(ctx); cerr == nil && n > 0 {
			return nil
		}
		return fmt.Errorf("cannot create the default account: %w", err)
	}
	fmt.Fprintf(stdout, "Created the default account %s with sandbox number %s (phone_number_id %s).\n",
		c.Account.ID, c.PhoneNumber.DisplayPhoneNumber, c.PhoneNumber.ID)
	if cfg.BootstrapAPIKey != "" {
		fmt.Fprintln(stdout, "Its API key is BAHASHA_BOOTSTRAP_API_KEY.")
		return nil
	}
	fmt.Fprintf(stdout, "API key (shown once, store it now): %s\n", c.APIKey)
	port := ""
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = fmt.Sprintf(":%d", tcp.Port)
	}
	fmt.Fprintf(stdout, "Try it: curl -H 'Authorization: Bearer %s' http://localhost%s/v1/phone_numbers\n", c.APIKey, port)
	return nil
}

// lockDataFolder makes sure one bahasha serve at a time uses a data folder.
func lockDataFolder(dir string) (func(), error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("cannot create the data folder %s: %w", dir, err)
	}
	f, err := os.OpenFile(filepath.Join(dir, "serve.lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the lock file in %s: %w", dir, err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		return nil, fmt.Errorf("another bahasha serve is already using the data folder %s; stop it or choose another --data", dir)
	}
	return func() { f.Close() }, nil
}

// servePprof serves Go's profiler on its own listener (BAHASHA_PPROF_ADDR,
// e.g. 127.0.0.1:6060), never on the public API's.
func servePprof(addr string, log *slog.Logger) (func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("BAHASHA_PPROF_ADDR: cannot listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Info("profiler listening", "addr", ln.Addr().String())
	return func() { srv.Close() }, nil
}

// openServeStore opens the store serve runs on: PostgreSQL when --database
// is set (any number of nodes may share it; crashed nodes' lanes are
// re-claimed when their leases expire), else SQLite in the data folder, which
// one serve owns (a lock says so) so that leases left by a crash are dropped
// at once.
func openServeStore(ctx context.Context, cfg config.Serve) (store.Store, func(), error) {
	if cfg.Database != "" {
		st, err := postgres.Open(ctx, postgres.Config{URL: cfg.Database, MaxConns: int32(cfg.DBMaxConns), StatementTimeout: cfg.DBStatementTimeout})
		if err != nil {
			return nil, nil, fmt.Errorf("cannot use the PostgreSQL database: %w", err)
		}
		return st, func() { st.Close() }, nil
	}
	unlock, err := lockDataFolder(cfg.Data)
	if err != nil {
		return nil, nil, err
	}
	st, err := sqlite.Open(ctx, sqlite.Config{Path: cfg.DatabasePath()})
	if err != nil {
		unlock()
		return nil, nil, fmt.Errorf("cannot open the database in %s: %w", cfg.Data, err)
	}
	if err := st.ReleaseAllLanes(ctx); err != nil {
		st.Close()
		unlock()
		return nil, nil, fmt.Errorf("cannot recover the delivery queue: %w", err)
	}
	return st, func() { st.Close(); unlock() }, nil
}
