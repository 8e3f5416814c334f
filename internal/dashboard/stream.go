package dashboard

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
)

// streamAuthed runs a live view's stream for the signed-in account. Without
// a session it answers 401 (a stream cannot follow a redirect to a page),
// which also stops the browser from reconnecting.
func (d *Dashboard) streamAuthed(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acc, err := d.session(r)
		if errors.Is(err, errNoSession) {
			plain(w, http.StatusUnauthorized, "You are signed out; reload the page to sign in again.")
			return
		}
		if err == nil {
			err = h(w, r, acc)
		}
		if err != nil {
			status, msg := classify(err)
			if status >= 500 {
				d.log.Error("dashboard: stream failed", "path", r.URL.Path, "err", err)
			}
			plain(w, status, msg)
		}
	})
}

func plain(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	io.WriteString(w, msg+"\n")
}

// stream serves server-sent events: every StreamInterval it calls render
// and, when the result differs from what it sent last, sends it as an
// "update" event (the page's script puts it in place). It reads the store
// each time, so it sees work done by any node. When render reports done it
// sends the last update and a "done" event and ends; it also ends when the
// client goes, the session ends, the dashboard shuts down or the stream's
// lifetime is over (the browser then reconnects).
func (d *Dashboard) stream(w http.ResponseWriter, r *http.Request, acc bahasha.Account, render func(context.Context) ([]byte, bool, error)) {
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	// Reconnect after a second when the stream ends without "done".
	io.WriteString(w, "retry: 1000\n\n")
	if rc.Flush() != nil {
		return
	}
	ctx := r.Context()
	ticker := time.NewTicker(d.cfg.StreamInterval)
	defer ticker.Stop()
	lifetime := time.NewTimer(d.cfg.StreamLifetime)
	defer lifetime.Stop()
	var last []byte
	for first := true; ; first = false {
		if !first {
			select {
			case <-ctx.Done():
				return
			case <-d.closing:
				return
			case <-lifetime.C:
				return
			case <-ticker.C:
			}
			if _, err := d.session(r); err != nil {
				writeEvent(w, "signedout", []byte("You are signed out; reload the page to sign in again."))
				rc.Flush()
				return
			}
		}
		b, done, err := render(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			_, msg := classify(err)
			d.log.Warn("dashboard: live update failed", "path", r.URL.Path, "err", err)
			writeEvent(w, "problem", []byte(msg))
			if rc.Flush() != nil || done {
				return
			}
			continue
		}
		if !bytes.Equal(b, last) {
			last = b
			writeEvent(w, "update", b)
		}
		if done {
			writeEvent(w, "done", []byte("done"))
		}
		if rc.Flush() != nil || done {
			return
		}
	}
}

// writeEvent writes one server-sent event; every line of data becomes a
// data field, which the browser joins back with newlines.
func writeEvent(w io.Writer, event string, data []byte) {
	var buf bytes.Buffer
	buf.WriteString("event: ")
	buf.WriteString(event)
	buf.WriteByte('\n')
	data = bytes.ReplaceAll(data, []byte("\r"), nil)
	for line := range bytes.SplitSeq(data, []byte("\n")) {
		buf.WriteString("data: ")
		buf.Write(line)
		buf.WriteByte('\n')
	}
	buf.WriteByte('\n')
	w.Write(buf.Bytes())
}
