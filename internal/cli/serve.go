package cli

import (
	"cmp"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"syscall"
	"time"

	"github.com/bahasha/bahasha/internal/access"
	"github.com/bahasha/bahasha/internal/mail"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/api"
	"github.com/bahasha/bahasha/internal/config"
	"github.com/bahasha/bahasha/internal/dashboard"
	"github.com/bahasha/bahasha/internal/delivery"
	"github.com/bahasha/bahasha/internal/metrics"
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
	if err := parseSettings("serve", serveSettings(&cfg), args, env, stderr); err != nil {
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
	log := cfg.Logger(stderr)
	if env("GOGC") == "" {
		// The heap is small (the backlog lives in the store), so trading
		// a little memory for less garbage collection pays: see the README.
		debug.SetGCPercent(gcPercent)
	}
	if cfg.AllowPrivateTargets {
		log.Warn("--allow-private-targets is ON: Bahasha will call http:// and private, loopback and link-local addresses. Use it for local development and tests only, never in production.")
	}
	var mailer access.Mailer
	if cfg.SMTPURL != "" {
		m, err := mail.Parse(cfg.SMTPURL)
		if err != nil {
			return usageError{strings.Replace(err.Error(), "--smtp-url", "BAHASHA_SMTP_URL", 1)}
		}
		mailer = m
	}
	st, closeStore, err := openServeStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeStore()
	var mx *metrics.Metrics
	if cfg.MetricsAddr != "" {
		mx = metrics.New(version())
	}
	platform, err := server.Build(st, server.Options{
		Metrics: mx,
		Client:  safehttp.Config{AllowPrivate: cfg.AllowPrivateTargets, Timeout: cfg.AttemptTimeout, UserAgent: safehttp.UserAgent(version())},
		Engine: delivery.Config{MaxLanes: cfg.MaxLanes, Timeout: cfg.AttemptTimeout, ShutdownGrace: cfg.ShutdownGrace,
			Retry: cfg.RetryPolicy(), MaxBatch: cfg.MaxBatch, MaxInFlight: cfg.MaxInFlight, Retention: cfg.Retention, LeaseFor: cfg.LaneLease, DisableAfter: cfg.DisableAfter,
			AuditRetention: cfg.AuditRetention},
		API:         api.Config{AdminKey: cfg.AdminKey, PublicURL: cfg.PublicURL},
		SandboxPace: cfg.SandboxPace,
		Dashboard: dashboard.Config{TrustedProxies: cfg.TrustedProxies, AdminKey: cfg.AdminKey, KeySignin: cfg.DashboardKeySignin,
			PublicURL: cfg.PublicURL},
		Mail:        mailer,
		BodyTimeout: cfg.BodyTimeout,
		Meta: server.MetaOptions{AppSecrets: cfg.MetaAppSecrets, VerifyToken: cfg.MetaVerifyToken,
			GraphURL: cfg.MetaGraphURL, GraphTimeout: cfg.MetaGraphTimeout, TokenKey: cfg.TokenKey},
		Version: version(),
		Log:     log,
	})
	if err != nil {
		return err
	}
	engine, dash := platform.Engine, platform.Dashboard

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
	handler, handlersDone := server.Track(platform.Handler)
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
	log.Info("bahasha serve started", startupSettings(cfg, scheme, ln.Addr().String(), platform.Listen.Node)...)
	if mx != nil {
		at, stopMetrics, err := serveMetrics(cfg.MetricsAddr, mx, log)
		if err != nil {
			return err
		}
		defer stopMetrics()
		fmt.Fprintf(stdout, "Metrics on http://%s/metrics\n", at)
	}
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
	<-engineDone
	// The engine is done with them: the listen sessions go offline (their
	// CLIs reconnect, here after a restart or to another node).
	platform.Listen.Close()
	handlersDone()
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
	owner, err := access.NormalizeEmail(cfg.BootstrapOwnerEmail)
	if err != nil {
		return fmt.Errorf("BAHASHA_BOOTSTRAP_OWNER_EMAIL: %w", err)
	}
	c, err := accounts.Create(ctx, st, accounts.Params{Name: "Default", APIKey: cfg.BootstrapAPIKey, OwnerEmail: owner, Now: time.Now()})
	if err != nil {
		// Another node sharing the database may have just created it.
		if n, cerr := st.CountAccounts(ctx); cerr == nil && n > 0 {
			return nil
		}
		return fmt.Errorf("cannot create the default account: %w", err)
	}
	fmt.Fprintf(stdout, "Created the default account %s with sandbox number %s (phone_number_id %s).\n",
		c.Account.ID, c.PhoneNumber.DisplayPhoneNumber, c.PhoneNumber.ID)
	port := ""
	if tcp, ok := addr.(*net.TCPAddr); ok {
		port = fmt.Sprintf(":%d", tcp.Port)
	}
	base := cmp.Or(strings.TrimRight(cfg.PublicURL, "/"), "http://localhost"+port)
	link, err := access.New(access.Config{}, st, time.Now, nil, nil).OwnerLink(ctx, c.Owner)
	if err != nil {
		return fmt.Errorf("cannot make the owner's link: %w", err)
	}
	fmt.Fprintf(stdout, "Dashboard: set the password of its owner %s at %s (works once, for 7 days).\n", c.Owner.Email, access.LinkURL(base, nil, link))
	if cfg.BootstrapAPIKey != "" {
		fmt.Fprintln(stdout, "Its API key is BAHASHA_BOOTSTRAP_API_KEY.")
		return nil
	}
	fmt.Fprintf(stdout, "API key (shown once, store it now): %s\n", c.APIKey)
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

// startupSettings are the settings serve logs when it starts: never a
// secret (keys, the database password).
func startupSettings(cfg config.Serve, scheme, addr, node string) []any {
	db := []any{"database", "sqlite", "data", cfg.Data}
	if cfg.Database != "" {
		host := "?"
		if u, err := url.Parse(cfg.Database); err == nil {
			host = u.Host + u.Path
		}
		db = []any{"database", "postgresql", "database_host", host, "db_max_conns", cfg.DBMaxConns}
	}
	return append(db, "version", version(), "listen", scheme+"://"+addr, "node", node,
		"allow_private_targets", cfg.AllowPrivateTargets, "attempt_timeout", cfg.AttemptTimeout.String(),
		"retry_window", cfg.RetryWindow.String(), "disable_after", cmp.Or(cfg.DisableAfter, cfg.RetryWindow).String(), "retention", cfg.Retention.String(), "max_lanes", cfg.MaxLanes,
		"max_batch", cfg.MaxBatch, "max_in_flight", cfg.MaxInFlight, "metrics_addr", cfg.MetricsAddr,
		"admin_api", cfg.AdminKey != "", "meta_webhooks", len(cfg.MetaAppSecrets) > 0, "log_level", cfg.LogLevel)
}

// serveMetrics serves the Prometheus metrics at /metrics on a listener of
// their own (--metrics-addr), never on the public API's.
func serveMetrics(addr string, m *metrics.Metrics, log *slog.Logger) (string, func(), error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", nil, fmt.Errorf("--metrics-addr: cannot listen on %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", m.Handler())
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "Bahasha's Prometheus metrics are at /metrics.")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Info("metrics listening", "addr", ln.Addr().String())
	return ln.Addr().String(), func() { srv.Close() }, nil
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
