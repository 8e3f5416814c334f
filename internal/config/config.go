// Package config holds the configuration of bahasha's commands: one struct
// per command, each field's default documented on it, validated once by
// Validate and passed down. Nothing here reads flags or the environment; the
// cli package fills these structs from both.
package config

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/retry"
)

// Serve configures bahasha serve.
type Serve struct {
	// Addr is the address the HTTP server listens on. Default ":8080".
	// Flag --addr, env BAHASHA_ADDR.
	Addr string
	// Data is the data folder; it holds the SQLite database bahasha.db.
	// Default "./bahasha-data". Flag --data, env BAHASHA_DATA.
	Data string
	// Database, when set, is a PostgreSQL URL (postgres://…) to use instead
	// of the embedded SQLite database. Flag --database, env
	// BAHASHA_DATABASE_URL.
	Database string
	// DBMaxConns caps the PostgreSQL connections of this node. Default 16.
	// Flag --db-max-conns, env BAHASHA_DB_MAX_CONNS.
	DBMaxConns int
	// DBStatementTimeout aborts a PostgreSQL statement running longer.
	// Default 30s. Flag --db-statement-timeout, env
	// BAHASHA_DB_STATEMENT_TIMEOUT.
	DBStatementTimeout time.Duration
	// TLSCert and TLSKey, both set, are PEM files: serve HTTPS instead of
	// HTTP (the dashboard's session cookie is then Secure). Behind a proxy
	// that terminates TLS, leave them out. Flags --tls-cert, --tls-key, env
	// BAHASHA_TLS_CERT, BAHASHA_TLS_KEY.
	TLSCert, TLSKey string
	// AllowPrivateTargets permits http:// webhook URLs and loopback or
	// private addresses. Off by default: for local development and tests
	// only. Flag --allow-private-targets, env BAHASHA_ALLOW_PRIVATE_TARGETS.
	AllowPrivateTargets bool
	// SandboxPace is the time between the sandbox carrier's statuses of a
	// message. Default 1s. Flag --sandbox-pace, env BAHASHA_SANDBOX_PACE.
	SandboxPace time.Duration
	// AttemptTimeout bounds one delivery attempt and the verification
	// handshake. Default 10s. Flag --attempt-timeout, env
	// BAHASHA_ATTEMPT_TIMEOUT.
	AttemptTimeout time.Duration
	// ShutdownGrace is how long in-flight requests and delivery attempts
	// may finish after SIGINT/SIGTERM. Default 10s. Flag --shutdown-grace,
	// env BAHASHA_SHUTDOWN_GRACE.
	ShutdownGrace time.Duration
	// BodyTimeout is how long a request's body may take to arrive once its
	// headers have (which must arrive within 10s): a client whose body
	// stalls is cut off with 408 instead of holding the connection.
	// Default 30s. Flag --body-timeout, env BAHASHA_BODY_TIMEOUT.
	BodyTimeout time.Duration
	// MetricsAddr, when set, is the address of a listener of its own
	// serving Prometheus metrics at /metrics (e.g. 127.0.0.1:9464), never
	// exposed with the public API. Default off. Flag --metrics-addr, env
	// BAHASHA_METRICS_ADDR.
	MetricsAddr string
	// TrustedProxies are the addresses of the proxies in front of serve
	// (TLS terminators, load balancers): for a request from one of them,
	// the client is the last address of X-Forwarded-For that is not a
	// trusted proxy (the dashboard's sign-in limit counts it). Default
	// none: X-Forwarded-For is ignored. Flag --trusted-proxies, env
	// BAHASHA_TRUSTED_PROXIES.
	TrustedProxies []netip.Prefix
	// BootstrapAPIKey, when set (at least 32 characters), is the first
	// account's API key instead of a generated one. Env
	// BAHASHA_BOOTSTRAP_API_KEY.
	BootstrapAPIKey string
	// AdminKey enables the admin API (/admin/v1) when set. Env
	// BAHASHA_ADMIN_KEY.
	AdminKey string
	// BootstrapOwnerEmail is the email of the first account's owner, made
	// at the first start with a one-time link to set their password.
	// Default owner@example.com. Env BAHASHA_BOOTSTRAP_OWNER_EMAIL.
	BootstrapOwnerEmail string
	// DashboardKeySignin lets an API key sign in to the dashboard too (a
	// full key as an owner, a read key as a viewer), for single-person
	// setups. Default off: members sign in with email and password. Flag
	// --dashboard-key-signin, env BAHASHA_DASHBOARD_KEY_SIGNIN.
	DashboardKeySignin bool
	// PublicURL is the address users reach serve at
	// (https://bahasha.example.com), for the links of invitations and
	// password resets. Default: the address of the request (and no
	// e-mail). Flag --public-url, env BAHASHA_PUBLIC_URL.
	PublicURL string
	// SMTPURL, when set, e-mails invitations and password resets:
	// smtp://user:password@host:587?from=bahasha@example.com (smtps:// for
	// implicit TLS). Needs PublicURL. Env BAHASHA_SMTP_URL.
	SMTPURL string
	// AuditRetention is how long audit log entries are kept. Default 365
	// days. Flag --audit-retention, env BAHASHA_AUDIT_RETENTION.
	AuditRetention time.Duration
	// MetaAppSecrets, with MetaVerifyToken, enable /meta/webhook: Meta's
	// webhooks, signed with any of these app secrets (several while one
	// is rotated). Flag --meta-app-secret, env BAHASHA_META_APP_SECRET,
	// comma-separated.
	MetaAppSecrets []string
	// MetaVerifyToken is the verify token of Meta's handshake, as set in
	// the Meta app's webhook settings. Flag --meta-verify-token, env
	// BAHASHA_META_VERIFY_TOKEN.
	MetaVerifyToken string
	// MetaGraphURL is Meta's Graph API, with its version, that live
	// numbers send through. Default https://graph.facebook.com/v26.0.
	// Flag --meta-graph-url, env BAHASHA_META_GRAPH_URL.
	MetaGraphURL string
	// MetaGraphTimeout bounds one request to the Graph API. Default 30s.
	// Flag --meta-graph-timeout, env BAHASHA_META_GRAPH_TIMEOUT.
	MetaGraphTimeout time.Duration
	// TokenKey (at least 32 characters) encrypts the live numbers' access
	// tokens at rest. Env BAHASHA_TOKEN_KEY.
	TokenKey string
	// RetrySchedule is the delays between a delivery's attempts; the last
	// repeats until RetryWindow is over. Default 5s, 30s, 2m, 10m, 30m, 1h,
	// 2h, 4h, 8h. Flag --retry-schedule, env BAHASHA_RETRY_SCHEDULE.
	RetrySchedule []time.Duration
	// RetryWindow is how long after its first attempt a delivery is
	// retried before it is marked failed. Default 7 days (WhatsApp's).
	// Flag --retry-window, env BAHASHA_RETRY_WINDOW.
	RetryWindow time.Duration
	// MaxBatch is how many events one POST carries at most; 1 turns
	// batching off. Default 100. Flag --max-batch, env BAHASHA_MAX_BATCH.
	MaxBatch int
	// MaxInFlight is how many POSTs may be in flight to one endpoint.
	// Default 4. Flag --max-in-flight, env BAHASHA_MAX_IN_FLIGHT.
	MaxInFlight int
	// Retention is how long finished deliveries, their attempts and events
	// are kept (and producer ids deduplicated). Default 7 days. Flag
	// --retention, env BAHASHA_RETENTION.
	Retention time.Duration
	// LaneLease is how long a node owns a lane (an endpoint's due work) it
	// claimed; when a node dies, the others take its lanes over after this.
	// Default 0: enough for the claim's POSTs to time out, MaxInFlight at a
	// time, but at most two rounds, plus 5s (15s with the defaults, 25s
	// with batching off). Flag --lane-lease, env BAHASHA_LANE_LEASE.
	LaneLease time.Duration
	// MaxLanes is how many endpoints are delivered to at once. Default 64.
	// Flag --max-lanes, env BAHASHA_MAX_LANES.
	MaxLanes int
	// DisableAfter disables an endpoint that has failed continuously for
	// this long. Default 0: the retry window. (An endpoint answering 410
	// Gone is disabled at once.) Flag --disable-after, env
	// BAHASHA_DISABLE_AFTER.
	DisableAfter time.Duration
	// LogFormat is "text" (logfmt-like key=value, the default) or "json"
	// (one object per line). Flag --log-format, env BAHASHA_LOG_FORMAT.
	LogFormat string
	// LogLevel is the least severe level logged: debug, info (the
	// default), warn or error. Flag --log-level, env BAHASHA_LOG_LEVEL.
	LogLevel string
}

// DefaultServe returns the defaults.
func DefaultServe() Serve {
	return Serve{
		Addr:                ":8080",
		Data:                "./bahasha-data",
		SandboxPace:         time.Second,
		AttemptTimeout:      10 * time.Second,
		ShutdownGrace:       10 * time.Second,
		BodyTimeout:         30 * time.Second,
		MetaGraphURL:        "https://graph.facebook.com/v26.0",
		MetaGraphTimeout:    30 * time.Second,
		MaxLanes:            64,
		LogFormat:           "text",
		LogLevel:            "info",
		DBMaxConns:          16,
		DBStatementTimeout:  30 * time.Second,
		MaxBatch:            100,
		MaxInFlight:         4,
		Retention:           7 * 24 * time.Hour,
		AuditRetention:      365 * 24 * time.Hour,
		BootstrapOwnerEmail: "owner@example.com",
		RetrySchedule:       retry.DefaultPolicy().Steps,
		RetryWindow:         retry.DefaultPolicy().Window,
	}
}

// DatabasePath is the SQLite file in the data folder.
func (c Serve) DatabasePath() string { return filepath.Join(c.Data, "bahasha.db") }

// Validate reports the first problem with c, in words that name the flag.
func (c Serve) Validate() error {
	switch {
	case c.Addr == "":
		return errors.New("--addr must not be empty (e.g. :8080)")
	case c.Data == "" && c.Database == "":
		return errors.New("--data must name a folder (e.g. ./bahasha-data)")
	case c.Database != "" && !strings.HasPrefix(c.Database, "postgres://") && !strings.HasPrefix(c.Database, "postgresql://"):
		return errors.New("--database must be a PostgreSQL URL such as postgres://user:password@host:5432/bahasha (leave it out for the embedded SQLite database)")
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("--tls-cert and --tls-key go together: give both PEM files to serve HTTPS, or neither")
	case c.SandboxPace < 0:
		return errors.New("--sandbox-pace must not be negative")
	case c.AttemptTimeout <= 0 || c.AttemptTimeout > 5*time.Minute:
		return errors.New("--attempt-timeout must be between 1ms and 5m")
	case c.ShutdownGrace < 0:
		return errors.New("--shutdown-grace must not be negative")
	case c.BodyTimeout <= 0:
		return errors.New("--body-timeout must be positive (e.g. 30s)")
	case c.BootstrapAPIKey != "" && len(c.BootstrapAPIKey) < 32:
		return fmt.Errorf("BAHASHA_BOOTSTRAP_API_KEY must be at least 32 characters (it has %d)", len(c.BootstrapAPIKey))
	case c.AdminKey != "" && len(c.AdminKey) < 32:
		return fmt.Errorf("BAHASHA_ADMIN_KEY must be at least 32 characters (it has %d)", len(c.AdminKey))
	case (len(c.MetaAppSecrets) > 0) != (c.MetaVerifyToken != ""):
		return errors.New("--meta-app-secret and --meta-verify-token go together: give both to receive Meta's webhooks, or neither")
	case c.TokenKey != "" && len(c.TokenKey) < 32:
		return fmt.Errorf("BAHASHA_TOKEN_KEY must be at least 32 characters (it has %d)", len(c.TokenKey))
	case !strings.HasPrefix(c.MetaGraphURL, "https://") && !strings.HasPrefix(c.MetaGraphURL, "http://"):
		return fmt.Errorf("--meta-graph-url must be an http(s) URL such as https://graph.facebook.com/v26.0, not %q", oneLine(c.MetaGraphURL))
	case c.MetaGraphTimeout <= 0 || c.MetaGraphTimeout > 5*time.Minute:
		return errors.New("--meta-graph-timeout must be between 1ms and 5m")
	case slices.Contains(c.MetaAppSecrets, ""):
		return errors.New("--meta-app-secret holds an empty secret: give the Meta app secrets separated by commas, without empty ones")
	case c.DisableAfter < 0:
		return errors.New("--disable-after must not be negative (0: the retry window)")
	case c.LogFormat != "text" && c.LogFormat != "json":
		return fmt.Errorf("--log-format must be text or json, not %q", oneLine(c.LogFormat))
	case c.LogLevel != "debug" && c.LogLevel != "info" && c.LogLevel != "warn" && c.LogLevel != "error":
		return fmt.Errorf("--log-level must be debug, info, warn or error, not %q", oneLine(c.LogLevel))
	case c.MaxLanes < 1 || c.MaxLanes > 10000:
		return errors.New("--max-lanes must be between 1 and 10000")
	case c.MaxBatch < 1 || c.MaxBatch > 1000:
		return errors.New("--max-batch must be between 1 (no batching) and 1000 (WhatsApp's most per POST)")
	case c.MaxInFlight < 1 || c.MaxInFlight > 64:
		return errors.New("--max-in-flight must be between 1 and 64")
	case c.DBMaxConns < 1 || c.DBMaxConns > 1000:
		return errors.New("--db-max-conns must be between 1 and 1000")
	case c.DBStatementTimeout < time.Second:
		return errors.New("--db-statement-timeout must be at least 1s")
	case c.LaneLease < 0:
		return errors.New("--lane-lease must not be negative")
	case c.LaneLease != 0 && c.LaneLease < c.AttemptTimeout+5*time.Second:
		return fmt.Errorf("--lane-lease must be at least --attempt-timeout + 5s (%s)", c.AttemptTimeout+5*time.Second)
	case c.Retention < time.Minute:
		return errors.New("--retention must be at least 1m")
	case c.AuditRetention < time.Hour:
		return errors.New("--audit-retention must be at least 1h")
	case c.PublicURL != "" && !validPublicURL(c.PublicURL):
		return fmt.Errorf("--public-url must be the http(s) address users open, such as https://bahasha.example.com, not %q", oneLine(c.PublicURL))
	case c.SMTPURL != "" && c.PublicURL == "":
		return errors.New("BAHASHA_SMTP_URL needs --public-url: the e-mailed links must point at the address users open")
	}
	if err := c.RetryPolicy().Validate(); err != nil {
		return fmt.Errorf("--retry-schedule/--retry-window: %w", err)
	}
	return nil
}

// RetryPolicy is the retry schedule the flags describe.
func (c Serve) RetryPolicy() retry.Policy {
	p := retry.DefaultPolicy()
	if len(c.RetrySchedule) > 0 {
		p.Steps = c.RetrySchedule
		// Keep room for jitter under short test schedules.
		p.MinDelay = min(p.MinDelay, time.Duration(float64(c.RetrySchedule[0])*(1-p.Jitter)))
		p.MaxDelay = max(c.RetrySchedule[len(c.RetrySchedule)-1], p.MinDelay)
	}
	if c.RetryWindow > 0 {
		p.Window = c.RetryWindow
	}
	return p
}

// ParsePrefixes reads a comma-separated list of IP addresses and CIDR
// ranges ("10.0.0.0/8,192.0.2.1"); an address is a range of one.
func ParsePrefixes(s string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		if p, err := netip.ParsePrefix(part); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(part)
		if err != nil {
			return nil, fmt.Errorf("%q is not an IP address or a CIDR range such as 10.0.0.0/8", part)
		}
		out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
	}
	return out, nil
}

// ParseDurations reads a comma-separated list of durations ("5s,30s,2m").
func ParseDurations(s string) ([]time.Duration, error) {
	var out []time.Duration
	for part := range strings.SplitSeq(s, ",") {
		d, err := time.ParseDuration(strings.TrimSpace(part))
		if err != nil {
			return nil, fmt.Errorf("%q is not a duration such as 5s or 2m", strings.TrimSpace(part))
		}
		out = append(out, d)
	}
	return out, nil
}

// oneLine cuts a value for an error message to one short line.
func oneLine(v string) string {
	v = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, v)
	if len(v) > 40 {
		v = v[:40] + "…"
	}
	return v
}

// Logger is the logger the settings ask for, writing to w.
func (c Serve) Logger(w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel)) // validated; info otherwise
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// validPublicURL reports whether u is an http(s) URL of a host, without a
// query or fragment.
func validPublicURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && (p.Scheme == "https" || p.Scheme == "http") && p.Host != "" && p.RawQuery == "" && p.Fragment == "" && p.User == nil
}
