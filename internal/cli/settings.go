package cli

import (
	"flag"
	"fmt"
	"io"
	"net/netip"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/config"
)

// setting is one of a command's settings: a flag (none for serve's secrets,
// which only the environment may carry), its environment variable, its help, and
// the config field it sets. A field's value before parsing is its default.
type setting struct {
	flag string
	env  string
	help string
	binding
}

// binding ties a setting to its config field.
type binding struct {
	// bind registers the setting on fs under name, bound to its field.
	bind func(fs *flag.FlagSet, name, usage string)
	// kind names what a value must be, for an environment variable's error.
	kind string
}

func stringSetting(p *string) binding {
	return binding{func(fs *flag.FlagSet, name, usage string) { fs.StringVar(p, name, *p, usage) }, "text"}
}

func boolSetting(p *bool) binding {
	return binding{func(fs *flag.FlagSet, name, usage string) { fs.BoolVar(p, name, *p, usage) }, "true or false"}
}

func intSetting(p *int) binding {
	return binding{func(fs *flag.FlagSet, name, usage string) { fs.IntVar(p, name, *p, usage) }, "a whole number"}
}

func durationSetting(p *time.Duration) binding {
	return binding{func(fs *flag.FlagSet, name, usage string) { fs.DurationVar(p, name, *p, usage) }, "a duration such as 1s or 500ms"}
}

func durationsSetting(p *[]time.Duration) binding {
	return binding{func(fs *flag.FlagSet, name, usage string) {
		fs.Func(name, usage, func(v string) error {
			ds, err := config.ParseDurations(v)
			*p = ds
			return err
		})
	}, "a comma-separated list of durations such as 5s,30s,2m"}
}

func prefixesSetting(p *[]netip.Prefix) binding {
	return binding{func(fs *flag.FlagSet, name, usage string) {
		fs.Func(name, usage, func(v string) error {
			ps, err := config.ParsePrefixes(v)
			*p = ps
			return err
		})
	}, "a comma-separated list of addresses or CIDR ranges such as 10.0.0.0/8,192.0.2.1"}
}

func stringsSetting(p *[]string) binding {
	return binding{func(fs *flag.FlagSet, name, usage string) {
		fs.Func(name, usage, func(v string) error {
			*p = nil
			for _, s := range strings.Split(v, ",") {
				*p = append(*p, strings.TrimSpace(s))
			}
			return nil
		})
	}, "a comma-separated list"}
}

func set(flagName, env, help string, b binding) setting {
	return setting{flag: flagName, env: env, help: help, binding: b}
}

// serveSettings is the one table of bahasha serve's settings, bound to cfg.
// The README's Configuration table documents each.
func serveSettings(cfg *config.Serve) []setting {
	return []setting{
		set("addr", "BAHASHA_ADDR", "address to listen on", stringSetting(&cfg.Addr)),
		set("tls-cert", "BAHASHA_TLS_CERT", "PEM certificate (chain) file: serve HTTPS, with --tls-key", stringSetting(&cfg.TLSCert)),
		set("tls-key", "BAHASHA_TLS_KEY", "PEM private key file of --tls-cert", stringSetting(&cfg.TLSKey)),
		set("data", "BAHASHA_DATA", "data folder holding the SQLite database", stringSetting(&cfg.Data)),
		set("database", "BAHASHA_DATABASE_URL", "PostgreSQL URL to use instead of SQLite, e.g. postgres://user:pass@host/bahasha", stringSetting(&cfg.Database)),
		set("db-max-conns", "BAHASHA_DB_MAX_CONNS", "PostgreSQL connections of this node at most", intSetting(&cfg.DBMaxConns)),
		set("db-statement-timeout", "BAHASHA_DB_STATEMENT_TIMEOUT", "PostgreSQL statements running longer are aborted", durationSetting(&cfg.DBStatementTimeout)),
		set("allow-private-targets", "BAHASHA_ALLOW_PRIVATE_TARGETS", "allow http:// and loopback/private webhook URLs: local development and tests only", boolSetting(&cfg.AllowPrivateTargets)),
		set("sandbox-pace", "BAHASHA_SANDBOX_PACE", "time between a sandbox message's statuses", durationSetting(&cfg.SandboxPace)),
		set("attempt-timeout", "BAHASHA_ATTEMPT_TIMEOUT", "time limit of one delivery attempt", durationSetting(&cfg.AttemptTimeout)),
		set("retry-schedule", "BAHASHA_RETRY_SCHEDULE", "comma-separated delays between attempts, the last repeating (default 5s,30s,2m,10m,30m,1h,2h,4h,8h)", durationsSetting(&cfg.RetrySchedule)),
		set("retry-window", "BAHASHA_RETRY_WINDOW", "how long a delivery is retried before it is marked failed", durationSetting(&cfg.RetryWindow)),
		set("disable-after", "BAHASHA_DISABLE_AFTER", "disable an endpoint that failed continuously this long (default: the retry window; 410 Gone disables at once)", durationSetting(&cfg.DisableAfter)),
		set("shutdown-grace", "BAHASHA_SHUTDOWN_GRACE", "time in-flight work may finish at shutdown", durationSetting(&cfg.ShutdownGrace)),
		set("body-timeout", "BAHASHA_BODY_TIMEOUT", "time a request body may take to arrive after its headers", durationSetting(&cfg.BodyTimeout)),
		set("trusted-proxies", "BAHASHA_TRUSTED_PROXIES", "addresses or CIDR ranges of proxies whose X-Forwarded-For names the client", prefixesSetting(&cfg.TrustedProxies)),
		set("log-format", "BAHASHA_LOG_FORMAT", "log lines as text (key=value) or json", stringSetting(&cfg.LogFormat)),
		set("log-level", "BAHASHA_LOG_LEVEL", "least severe level logged: debug, info, warn or error", stringSetting(&cfg.LogLevel)),
		set("metrics-addr", "BAHASHA_METRICS_ADDR", "address of a listener of its own serving Prometheus metrics at /metrics, e.g. 127.0.0.1:9464 (default off)", stringSetting(&cfg.MetricsAddr)),
		set("max-lanes", "BAHASHA_MAX_LANES", "endpoints delivered to at once", intSetting(&cfg.MaxLanes)),
		set("lane-lease", "BAHASHA_LANE_LEASE", "how long a node owns a claimed lane; after a crash others take over after it (default: from the attempt timeout)", durationSetting(&cfg.LaneLease)),
		set("max-batch", "BAHASHA_MAX_BATCH", "events per POST at most; 1 turns batching off", intSetting(&cfg.MaxBatch)),
		set("max-in-flight", "BAHASHA_MAX_IN_FLIGHT", "POSTs in flight to one endpoint at most", intSetting(&cfg.MaxInFlight)),
		set("retention", "BAHASHA_RETENTION", "how long finished deliveries are kept", durationSetting(&cfg.Retention)),
		set("", "BAHASHA_BOOTSTRAP_API_KEY", "the first account's API key (at least 32 characters) instead of a generated one", stringSetting(&cfg.BootstrapAPIKey)),
		set("", "BAHASHA_ADMIN_KEY", "enables the admin API (at least 32 characters)", stringSetting(&cfg.AdminKey)),
		set("", "BAHASHA_BOOTSTRAP_OWNER_EMAIL", "email of the first account's owner, made at the first start with a one-time link to set their password", stringSetting(&cfg.BootstrapOwnerEmail)),
		set("dashboard-key-signin", "BAHASHA_DASHBOARD_KEY_SIGNIN", "also let an API key sign in to the dashboard (full key: owner, read key: viewer), for single-person setups", boolSetting(&cfg.DashboardKeySignin)),
		set("public-url", "BAHASHA_PUBLIC_URL", "the address users open, e.g. https://bahasha.example.com, for the links of invitations and resets", stringSetting(&cfg.PublicURL)),
		set("", "BAHASHA_SMTP_URL", "e-mail invitations and resets: smtp://user:password@host:587?from=bahasha@example.com (needs --public-url)", stringSetting(&cfg.SMTPURL)),
		set("audit-retention", "BAHASHA_AUDIT_RETENTION", "how long audit log entries are kept", durationSetting(&cfg.AuditRetention)),
		set("meta-app-secret", "BAHASHA_META_APP_SECRET", "Meta app secrets, comma-separated, that sign Meta's webhooks (with --meta-verify-token: receive them at /meta/webhook)", stringsSetting(&cfg.MetaAppSecrets)),
		set("meta-verify-token", "BAHASHA_META_VERIFY_TOKEN", "the verify token of Meta's webhook handshake, as set in the Meta app", stringSetting(&cfg.MetaVerifyToken)),
		set("meta-graph-url", "BAHASHA_META_GRAPH_URL", "Meta's Graph API, with its version, that live numbers send through", stringSetting(&cfg.MetaGraphURL)),
		set("meta-graph-timeout", "BAHASHA_META_GRAPH_TIMEOUT", "time limit of one request to the Graph API", durationSetting(&cfg.MetaGraphTimeout)),
		set("", "BAHASHA_TOKEN_KEY", "encrypts the live numbers' access tokens at rest (at least 32 characters)", stringSetting(&cfg.TokenKey)),
	}
}

// clientSettings is the one table of the settings of the commands that
// are clients of a platform's API (bahasha trigger, bahasha listen), bound
// to cfg. The README's Configuration table documents each.
func clientSettings(cfg *config.Client) []setting {
	return []setting{
		set("api", "BAHASHA_API_URL", "URL of the Bahasha platform (a bahasha serve)", stringSetting(&cfg.APIURL)),
		set("api-key", "BAHASHA_API_KEY", "the account's API key; prefer the environment variable, a flag shows in the process list", stringSetting(&cfg.APIKey)),
	}
}

// parseSettings applies the environment, then the flags in args, to the
// settings' fields. A value that does not parse is a usage error naming
// the variable or flag.
func parseSettings(name string, settings []setting, args []string, env Env, stderr io.Writer) error {
	fs := newFlags(name, stderr)
	if err := bindSettings(fs, settings, env); err != nil {
		return err
	}
	return parse(fs, args)
}

// bindSettings registers settings on fs (those without a flag on a hidden
// set of their own) and applies the environment to their fields, for a
// command that adds flags of its own before parsing. A value that does not
// parse is a usage error naming the variable.
func bindSettings(fs *flags, settings []setting, env Env) error {
	envOnly := flag.NewFlagSet("environment", flag.ContinueOnError)
	envOnly.SetOutput(io.Discard)
	for _, s := range settings {
		target, key := fs.FlagSet, s.flag
		if key == "" {
			target, key = envOnly, s.env
		}
		s.bind(target, key, s.help+" (env "+s.env+")")
		if v := env(s.env); v != "" {
			if err := target.Lookup(key).Value.Set(v); err != nil {
				return usagef("%s=%q is not %s", s.env, oneLineValue(v), s.kind)
			}
		}
	}
	return nil
}

// oneLineValue shows at most a line of a value in an error.
func oneLineValue(v string) string {
	v, _, _ = strings.Cut(v, "\n")
	if len(v) > 80 {
		v = v[:80] + "…"
	}
	return v
}

// settingNames lists the flags and environment variables of settings, for
// the documentation test.
func settingNames(settings []setting) []string {
	var out []string
	for _, s := range settings {
		if s.flag != "" {
			out = append(out, fmt.Sprintf("--%s", s.flag))
		}
		out = append(out, s.env)
	}
	return out
}
