package server

import (
	"cmp"
	crand "crypto/rand"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"time"

	"github.com/bahasha/bahasha/internal/access"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/api"
	"github.com/bahasha/bahasha/internal/dashboard"
	"github.com/bahasha/bahasha/internal/delivery"
	"github.com/bahasha/bahasha/internal/graph"
	"github.com/bahasha/bahasha/internal/handshake"
	"github.com/bahasha/bahasha/internal/listen"
	"github.com/bahasha/bahasha/internal/messaging"
	"github.com/bahasha/bahasha/internal/meta"
	"github.com/bahasha/bahasha/internal/metrics"
	"github.com/bahasha/bahasha/internal/registration"
	"github.com/bahasha/bahasha/internal/replay"
	"github.com/bahasha/bahasha/internal/safehttp"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/tokenbox"
)

// Options configure Build. Zero fields take the components' documented
// defaults.
type Options struct {
	// Metrics, when set, count this node's work (the store wrapped, the
	// engine and the HTTP handler instrumented) and report the
	// store-wide gauges.
	Metrics *metrics.Metrics
	// Client configures the one HTTP client that delivers and verifies.
	Client safehttp.Config
	// Engine, API and Dashboard configure those components.
	Engine    delivery.Config
	API       api.Config
	Dashboard dashboard.Config
	// SandboxPace is the time between the sandbox carrier's statuses of
	// one message. Zero makes them all due at once (serve's default is
	// one second).
	SandboxPace time.Duration
	// BodyTimeout bounds the arrival of a request body (see Handler).
	// Default 30s.
	BodyTimeout time.Duration
	// Version is shown on the plain / page without a dashboard.
	Version string
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Rand supplies secrets (keys, tokens, challenges). Default crypto/rand.
	Rand io.Reader
	// Jitter seeds the retry jitter. Default a random seed.
	Jitter *rand.Rand
	// Waker, when set, is told of new work instead of the engine (for
	// tests that run no engine).
	Waker api.Waker
	// Log receives the components' logs. Default slog.Default().
	Log *slog.Logger
	// Meta, when its AppSecrets are set, enables /meta/webhook: Meta's
	// webhooks received, routed and stored.
	Meta MetaOptions
	// Access configures members, passwords and keys.
	Access access.Config
	// Mail, when set, e-mails invitations and password resets.
	Mail access.Mailer
}

// MetaOptions configure the receiving of Meta's webhooks.
type MetaOptions struct {
	// AppSecrets sign Meta's POSTs (several during a rotation).
	AppSecrets []string
	// VerifyToken is the token of Meta's handshake.
	VerifyToken string
	// GraphURL and GraphTimeout are the Graph API live numbers send
	// through (defaults graph.DefaultBaseURL and graph.DefaultTimeout).
	GraphURL     string
	GraphTimeout time.Duration
	// TokenKey opens the live numbers' access tokens; without it they
	// cannot be stored or used.
	TokenKey string
}

// Platform is bahasha serve assembled: run Engine, serve Handler.
type Platform struct {
	Client   *safehttp.Client
	Verifier *handshake.Verifier
	Engine   *delivery.Engine
	// The operations the API and the dashboard serve.
	Messaging    *messaging.Service
	Replay       *replay.Service
	Registration *registration.Service
	Access       *access.Service
	API          *api.API
	Dashboard    *dashboard.Dashboard
	// Listen holds this node's bahasha listen sessions (GET /v1/listen);
	// the engine forwards their POSTs through it.
	Listen *listen.Hub
	// Meta routes Meta's webhooks to the accounts (nil when they are not
	// enabled).
	Meta    *meta.Router
	Handler http.Handler
}

// Build wires the platform over st: the one place that does, for serve and
// for the tests that run the whole stack.
func Build(st store.Store, o Options) (*Platform, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = crand.Reader
	}
	if o.Jitter == nil {
		o.Jitter = rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.BodyTimeout <= 0 {
		o.BodyTimeout = 30 * time.Second
	}
	if o.Metrics != nil {
		st = o.Metrics.Store(st)
		o.Metrics.WatchStore(st, 5*time.Second)
		o.Engine.Metrics = o.Metrics
	}
	client, err := safehttp.New(o.Client)
	if err != nil {
		return nil, err
	}
	p := &Platform{Client: client, Verifier: &handshake.Verifier{Client: client, AllowPrivate: o.Client.AllowPrivate}}
	if o.Engine.Timeout == 0 {
		o.Engine.Timeout = o.Client.Timeout
	}
	if o.Engine.Node == "" {
		// This process's name among the nodes sharing the store: the
		// listen sessions it holds are its to deliver.
		node, err := accounts.Token(o.Rand, 9)
		if err != nil {
			return nil, err
		}
		o.Engine.Node = "node_" + node
	}
	p.Engine = delivery.New(o.Engine, st, client, o.Now, o.Jitter, o.Log)
	var waker api.Waker = p.Engine
	if o.Waker != nil {
		waker = o.Waker
	}
	p.Listen = &listen.Hub{Store: st, Node: o.Engine.Node, Waker: waker, AttemptTimeout: cmp.Or(o.Engine.Timeout, 10*time.Second), Now: o.Now, Log: o.Log}
	p.Engine.SetForwarder(p.Listen)
	if o.Dashboard.UserAgent == "" {
		o.Dashboard.UserAgent = client.UserAgent()
	}
	msg := &messaging.Service{Store: st, Waker: waker, Rand: o.Rand, Now: o.Now, Pace: o.SandboxPace}
	rep := &replay.Service{Store: st, Waker: waker, Now: o.Now, Log: o.Log}
	reg := &registration.Service{Store: st, Verifier: p.Verifier, Waker: waker, Now: o.Now, Log: o.Log}
	p.Messaging, p.Replay, p.Registration = msg, rep, reg
	p.Access = access.New(o.Access, st, o.Now, o.Rand, o.Log)
	if len(o.API.TrustedProxies) == 0 {
		o.API.TrustedProxies = o.Dashboard.TrustedProxies
	}
	var metaHandler http.Handler
	if len(o.Meta.AppSecrets) > 0 {
		p.Meta = &meta.Router{Store: st, Waker: waker, Now: o.Now, Log: o.Log, Counted: o.Metrics.MetaChanges}
		metaHandler = &meta.Handler{AppSecrets: o.Meta.AppSecrets, VerifyToken: o.Meta.VerifyToken, Router: p.Meta, Log: o.Log}
	}
	var tokens *tokenbox.Box
	if o.Meta.TokenKey != "" {
		if tokens, err = tokenbox.New(o.Meta.TokenKey); err != nil {
			return nil, err
		}
	}
	// Its own client: the Graph API is the operator's choice, not a
	// business's URL, so safehttp's refusal of private addresses does not
	// apply (the tests run a stand-in on loopback).
	gc := &graph.Client{BaseURL: o.Meta.GraphURL, Timeout: o.Meta.GraphTimeout, Log: o.Log,
		HTTP: &http.Client{Transport: &http.Transport{Proxy: http.ProxyFromEnvironment, MaxIdleConnsPerHost: 32, ForceAttemptHTTP2: true}}}
	p.API = api.New(o.API, st, api.Services{Messaging: msg, Replay: rep, Registration: reg, Listen: p.Listen.Serve, Meta: p.Meta,
		Graph: gc, Tokens: tokens, Access: p.Access, Touches: access.NewTouches(st, time.Minute, o.Log)}, waker, o.Now, o.Rand, o.Log)
	p.Dashboard = dashboard.New(o.Dashboard, st, dashboard.Services{Messaging: msg, Replay: rep, Registration: reg, Access: p.Access, Mail: o.Mail}, waker, o.Now, o.Rand, o.Log)
	p.Handler = o.Metrics.HTTP(Handler(p.API, p.Dashboard, metaHandler, st, o.Version, o.BodyTimeout, o.Log))
	return p, nil
}
