package meta

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/sdk/webhook"
)

// MaxBodyBytes caps a POST's body. Meta's notifications are far smaller
// (a batch of statuses is a few hundred KiB at most).
const MaxBodyBytes = 8 << 20

// Handler serves GET and POST /meta/webhook: Meta's verification
// handshake and its notifications.
type Handler struct {
	// AppSecrets are the Meta app secrets a POST's X-Hub-Signature-256
	// may be made with (more than one while a secret is rotated).
	AppSecrets []string
	// VerifyToken is the token of the handshake Meta runs when the
	// callback URL is set in the app's settings.
	VerifyToken string
	Router      *Router
	Log         *slog.Logger
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		h.verify(w, r)
	case http.MethodPost:
		h.notify(w, r)
	default:
		w.Header().Set("Allow", "GET, POST")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "Meta's webhooks use GET (the handshake) and POST (notifications) only")
	}
}

// verify answers Meta's handshake: hub.mode=subscribe with the configured
// hub.verify_token gets hub.challenge back.
func (h *Handler) verify(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("hub.mode") != "subscribe" {
		writeError(w, http.StatusBadRequest, "invalid_request", `hub.mode must be "subscribe": this is the URL of Meta's webhook handshake`)
		return
	}
	if subtle.ConstantTimeCompare([]byte(q.Get("hub.verify_token")), []byte(h.VerifyToken)) != 1 {
		h.Log.Warn("Meta webhook handshake refused: wrong verify token")
		writeError(w, http.StatusForbidden, "wrong_verify_token", "hub.verify_token is not the one configured with --meta-verify-token")
		return
	}
	h.Log.Info("Meta webhook handshake passed")
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, q.Get("hub.challenge"))
}

// notify stores a notification's changes and answers 200 once they are
// durable. Only a wrong signature (401), a body too large (413) or a store
// that cannot take them (503, so that Meta sends them again) get another
// answer: a body that cannot be routed is kept whole for the operator.
func (h *Handler) notify(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			writeError(w, http.StatusRequestEntityTooLarge, "body_too_large", "the body is larger than Bahasha accepts from Meta")
			return
		}
		writeError(w, http.StatusBadRequest, "unreadable_body", "the body could not be read")
		return
	}
	if err := webhook.VerifySignatureAny(h.AppSecrets, body, r.Header.Get("X-Hub-Signature-256")); err != nil {
		h.Log.Warn("Meta webhook POST refused: its signature does not match any configured app secret")
		writeError(w, http.StatusUnauthorized, "invalid_signature",
			"X-Hub-Signature-256 is not the HMAC-SHA256 of the body with a configured Meta app secret (--meta-app-secret); nothing was stored")
		return
	}
	ctx := r.Context()
	object, changes, bad, err := SplitParts(body)
	if err == nil && object != Object {
		err = errors.New(`its "object" is not "` + Object + `"`)
	}
	if err != nil {
		// Signed by Meta but not a shape Bahasha can route: kept whole,
		// and answered 200 so that Meta does not retry it for days.
		sum := sha256.Sum256(body)
		u := store.Unrouted{Digest: "meta:b:" + base64.RawURLEncoding.EncodeToString(sum[:18]), ReceivedAt: h.Router.Now(),
			Reason: "the notification could not be read: " + err.Error(), Body: keepable(body)}
		if err := h.Router.Store.AddUnrouted(ctx, []store.Unrouted{u}); err != nil {
			h.unavailable(w, err)
			return
		}
		h.Router.count(Result{Unrouted: 1})
		h.Log.Warn("Meta webhook POST kept unrouted: it could not be read", "reason", err.Error(), "bytes", len(body))
		w.WriteHeader(http.StatusOK)
		return
	}
	// An entry or change that cannot be read is kept on its own; the
	// others are routed.
	var parts []store.Unrouted
	for _, p := range bad {
		sum := sha256.Sum256(p.Raw)
		parts = append(parts, store.Unrouted{Digest: "meta:p:" + base64.RawURLEncoding.EncodeToString(sum[:18]), ReceivedAt: h.Router.Now(),
			Reason: "part of the notification could not be read: " + p.Reason, Body: p.Raw})
	}
	if len(parts) > 0 {
		if err := h.Router.Store.AddUnrouted(ctx, parts); err != nil {
			h.unavailable(w, err)
			return
		}
		h.Router.count(Result{Unrouted: len(parts)})
		h.Log.Warn("Meta webhook POST: parts kept unrouted, they could not be read", "parts", len(parts), "reason", bad[0].Reason)
	}
	res, err := h.Router.Ingest(ctx, changes)
	if err != nil {
		h.unavailable(w, err)
		return
	}
	if res.Unrouted > 0 {
		h.Log.Warn("Meta webhook changes kept unrouted: no account owns their number or WABA", "changes", res.Unrouted)
	}
	w.WriteHeader(http.StatusOK)
}

func (h *Handler) unavailable(w http.ResponseWriter, err error) {
	h.Log.Error("Meta webhook POST not stored; Meta will send it again", "err", err)
	w.Header().Set("Retry-After", "5")
	writeError(w, http.StatusServiceUnavailable, "unavailable", "Bahasha could not store the notification; send it again")
}

// keepable is body as JSON the unrouted list can hold: itself when it is
// JSON, else a JSON string of it.
func keepable(body []byte) json.RawMessage {
	if json.Valid(body) {
		return compact(body)
	}
	b, _ := json.Marshal(string(bytes.ToValidUTF8(body, []byte("\uFFFD"))))
	return b
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": code, "message": msg}})
}
