// Package server assembles bahasha serve's HTTP surface: the API, the
// dashboard, the health probes and the middleware every request goes
// through (panic recovery, security headers).
package server

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"sync"
	"time"

	"github.com/bahasha/bahasha/internal/api"
	"github.com/bahasha/bahasha/internal/dashboard"
	"github.com/bahasha/bahasha/internal/store"
)

// HeaderTimeout is how long a request's headers may take to arrive (the
// http.Server's ReadHeaderTimeout).
const HeaderTimeout = 10 * time.Second

// Handler returns the root handler of bahasha serve: the API under /v1 and
// /admin/v1, the health probes, and the dashboard at / (which sets its own
// Content-Security-Policy). Without a dashboard, / is a text page pointing
// to the API. A request body must arrive within bodyTimeout once the
// request's headers have.
func Handler(a *api.API, d *dashboard.Dashboard, m http.Handler, s store.Store, version string, bodyTimeout time.Duration, log *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	if m != nil {
		// Meta's webhooks: signed by Meta, not by an API key.
		mux.Handle("/meta/webhook", m)
	} else {
		mux.HandleFunc("/meta/webhook", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusNotFound)
			fmt.Fprintln(w, `{"error":{"code":"meta_disabled","message":"receiving Meta's webhooks is off: start bahasha serve with --meta-app-secret and --meta-verify-token"}}`)
		})
	}
	// The API and the dashboard are handlers of their own, each answering
	// its unknown paths (the API in JSON, the dashboard with a page).
	mux.Handle("/v1/", a)
	mux.Handle("/admin/v1/", a)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if err := s.Ping(ctx); err != nil {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, "not ready: the database does not answer")
			return
		}
		fmt.Fprintln(w, "ready")
	})
	if d != nil {
		mux.Handle("/", d)
	} else {
		mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			fmt.Fprintf(w, "Bahasha webhooks %s\n\nThe API is under /v1 (Authorization: Bearer <API key>); see the README.\n", version)
		})
	}
	return recoverer(log, headers(bodyDeadline(bodyTimeout, mux)))
}

// bodyDeadline bounds how long a request's body may take to arrive: reads
// past the deadline fail (the API answers 408), so a client that stalls
// mid-body cannot hold a connection and a handler indefinitely. It bounds
// the body only: net/http lifts the deadline once the body has been read
// to its end (to watch for a client that goes away), so a handler may run
// longer. Requests without a body (GETs, the dashboard's live streams) get
// no deadline; the server sets each request's deadlines afresh.
func bodyDeadline(limit time.Duration, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body != nil && r.Body != http.NoBody {
			// A test's ResponseRecorder does not support it: there is no
			// connection to protect then.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(limit))
		}
		next.ServeHTTP(w, r)
	})
}

// Track wraps h so that its requests in progress can be waited for: wait
// returns once every request that has started has finished.
func Track(h http.Handler) (tracked http.Handler, wait func()) {
	var wg sync.WaitGroup
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		wg.Add(1)
		defer wg.Done()
		h.ServeHTTP(w, r)
	}), wg.Wait
}

func headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("X-Frame-Options", "DENY")
		next.ServeHTTP(w, r)
	})
}

// recoverer turns a handler panic into a logged 500 instead of a dropped
// connection.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if p := recover(); p != nil {
				if p == http.ErrAbortHandler {
					panic(p)
				}
				log.Error("handler panicked", "method", r.Method, "path", r.URL.Path, "panic", p, "stack", string(debug.Stack()))
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusInternalServerError)
				fmt.Fprintln(w, `{"error":{"code":"internal","message":"something went wrong on our side; retry, and contact support if it persists"}}`)
			}
		}()
		next.ServeHTTP(w, r)
	})
}
