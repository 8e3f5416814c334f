package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/bahasha/bahasha/internal/access"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/problem"
)

// The scopes a route accepts.
var (
	// anyScope: the Messages API's reads (templates).
	anyScope = []bahasha.KeyScope{bahasha.ScopeFull, bahasha.ScopeSend, bahasha.ScopeRead}
	// reading: deliveries, settings without secrets.
	reading = []bahasha.KeyScope{bahasha.ScopeFull, bahasha.ScopeRead}
	// sending: the Messages API.
	sending = []bahasha.KeyScope{bahasha.ScopeFull, bahasha.ScopeSend}
	// fullOnly: every change, and secrets.
	fullOnly = []bahasha.KeyScope{bahasha.ScopeFull}
)

type callerKey struct{}

// caller is who sent an authenticated request.
type caller struct {
	key  bahasha.APIKey
	addr string
}

func callerOf(r *http.Request) caller {
	c, _ := r.Context().Value(callerKey{}).(caller)
	return c
}

// actor is the request's key, for the audit log.
func (a *API) actor(r *http.Request) access.Actor {
	c := callerOf(r)
	return access.KeyActor(c.key, c.addr)
}

// allows checks the key's scope against a route's.
func allows(k bahasha.APIKey, scopes []bahasha.KeyScope, r *http.Request) error {
	if slices.Contains(scopes, k.Scope) {
		return nil
	}
	names := make([]string, len(scopes))
	for i, s := range scopes {
		names[i] = string(s)
	}
	return problem.New(http.StatusForbidden, "insufficient_scope",
		"this API key has scope %q, which may not use %s %s (it needs %s); create a key with the scope it needs in Settings → API keys or POST /v1/api_keys",
		k.Scope, r.Method, r.URL.Path, strings.Join(names, " or "))
}

// audited is a route whose successful requests are recorded in the audit
// log as action, with the path value named target (or the answer's "id")
// as the target, and the request body's fields as the details.
type audited struct {
	action string
	target string
}

// auditCapture keeps what the audit entry needs of a request and answer.
type auditCapture struct {
	http.ResponseWriter
	status int
	body   bytes.Buffer
}

func (c *auditCapture) WriteHeader(status int) {
	if c.status == 0 {
		c.status = status
	}
	c.ResponseWriter.WriteHeader(status)
}

func (c *auditCapture) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	if c.body.Len() < 8<<10 {
		c.body.Write(b[:min(len(b), 8<<10-c.body.Len())])
	}
	return c.ResponseWriter.Write(b)
}

// teeBody keeps the first 64 KiB of a request body as the handler reads it.
type teeBody struct {
	io.ReadCloser
	kept bytes.Buffer
}

func (t *teeBody) Read(p []byte) (int, error) {
	n, err := t.ReadCloser.Read(p)
	if room := 64<<10 - t.kept.Len(); room > 0 {
		t.kept.Write(p[:min(n, room)])
	}
	return n, err
}

// record writes the audit entry of a successful audited request.
func (a *API) record(r *http.Request, acc bahasha.Account, au audited, req []byte, c *auditCapture) {
	if a.svc.Access == nil || c.status >= 300 || c.status == 0 {
		return
	}
	target := r.PathValue(au.target)
	if target == "" {
		var v struct {
			ID json.RawMessage `json:"id"`
		}
		if json.Unmarshal(c.body.Bytes(), &v) == nil && len(v.ID) > 0 {
			target = strings.Trim(string(v.ID), `"`)
		}
	}
	a.svc.Access.Record(context.WithoutCancel(r.Context()), a.actor(r), acc.ID, au.action, target, AuditDetails(req))
}

// AuditDetails is what the audit log keeps of a JSON request body: the
// values of access.SafeFields, the names of custom headers, and for
// any other field "(set)".
func AuditDetails(body []byte) map[string]any {
	var fields map[string]json.RawMessage
	if len(body) == 0 || json.Unmarshal(body, &fields) != nil {
		return nil
	}
	out := make(map[string]any, len(fields))
	for k, v := range fields {
		switch {
		case access.SafeFields[k]:
			out[k] = v
		case k == "headers":
			var h map[string]json.RawMessage
			if json.Unmarshal(v, &h) == nil {
				names := make([]string, 0, len(h))
				for n := range h {
					names = append(names, n)
				}
				slices.Sort(names)
				out[k] = names
			} else {
				out[k] = "(set)"
			}
		default:
			out[k] = "(set)"
		}
	}
	return out
}

// keyJSON is how an API key is shown (never the key itself, but once).
func keyJSON(k bahasha.APIKey) map[string]any {
	out := map[string]any{"id": k.ID, "name": k.Name, "scope": k.Scope, "hint": k.Hint, "created_at": k.CreatedAt,
		"created_by": k.CreatedBy, "last_used_at": nil, "revoked_at": nil}
	if !k.LastUsedAt.IsZero() {
		out["last_used_at"] = k.LastUsedAt
	}
	if k.Revoked() {
		out["revoked_at"] = k.RevokedAt
	}
	return out
}

type createKeyRequest struct {
	Name  string           `json:"name"`
	Scope bahasha.KeyScope `json:"scope"`
}

// createKey serves POST /v1/api_keys.
func (a *API) createKey(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	var req createKeyRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req, true); err != nil {
		return err
	}
	k, key, err := a.svc.Access.CreateKey(r.Context(), a.actor(r), access.CreateKeyParams{AccountID: acc.ID, Name: req.Name, Scope: req.Scope})
	if err != nil {
		return err
	}
	out := keyJSON(k)
	out["key"] = key
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// listKeys serves GET /v1/api_keys.
func (a *API) listKeys(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	keys, err := a.svc.Access.Keys(r.Context(), acc.ID)
	if err != nil {
		return err
	}
	data := make([]map[string]any, len(keys))
	for i, k := range keys {
		data[i] = keyJSON(k)
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": data})
	return nil
}

// revokeKey serves DELETE /v1/api_keys/{id}.
func (a *API) revokeKey(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	k, err := a.svc.Access.RevokeKey(r.Context(), a.actor(r), acc.ID, r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, keyJSON(k))
	return nil
}

// AuditJSON is how an audit entry is shown, by the API and the dashboard.
func AuditJSON(e bahasha.AuditEntry) map[string]any {
	details := e.Details
	if len(details) == 0 {
		details = json.RawMessage("{}")
	}
	return map[string]any{"id": e.ID, "at": e.At, "actor": map[string]any{"type": e.ActorKind, "id": e.ActorID, "name": e.Actor},
		"address": e.Addr, "action": e.Action, "target": e.Target, "details": details}
}

// auditLog serves GET /v1/audit_log.
func (a *API) auditLog(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	p, err := access.AuditQuery(r.URL.Query(), acc.ID)
	if err != nil {
		return err
	}
	es, err := a.svc.Access.AuditLog(r.Context(), p)
	if err != nil {
		return err
	}
	data := make([]map[string]any, len(es))
	for i, e := range es {
		data[i] = AuditJSON(e)
	}
	out := map[string]any{"data": data, "next_before": nil}
	if len(es) == p.Limit {
		out["next_before"] = es[len(es)-1].ID
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
