package dashboard

import (
	"context"
	"net/http"
	"slices"
	"strings"

	"github.com/bahasha/bahasha/internal/access"
	"github.com/bahasha/bahasha/internal/bahasha"
)

// auditRoute is how a form's successful POST is recorded in the audit log.
type auditRoute struct {
	action string
	// target is the path value naming what changed.
	target string
	// confirmed: only the confirmed POST (confirm=yes) changes anything.
	confirmed bool
	// redirected: only a POST answered with a redirect changed anything.
	redirected bool
}

// auditRoutes are the dashboard's changes (members and keys are recorded
// by internal/access itself).
var auditRoutes = map[string]auditRoute{
	"POST /settings/webhooks":                              {action: "webhook.updated"},
	"POST /settings/webhooks/secret":                       {action: "webhook.secret_revealed"},
	"POST /settings/webhooks/secret/rotate":                {action: "webhook.secret_rotated"},
	"POST /settings/webhooks/remove":                       {action: "webhook.removed", confirmed: true},
	"POST /settings/webhooks/endpoints":                    {action: "endpoint.created", redirected: true},
	"POST /settings/webhooks/endpoints/{id}":               {action: "endpoint.updated", target: "id"},
	"POST /settings/webhooks/endpoints/{id}/verify":        {action: "endpoint.verified", target: "id"},
	"POST /settings/webhooks/endpoints/{id}/disable":       {action: "endpoint.disabled", target: "id"},
	"POST /settings/webhooks/endpoints/{id}/enable":        {action: "endpoint.enabled", target: "id"},
	"POST /settings/webhooks/endpoints/{id}/remove":        {action: "endpoint.removed", target: "id", confirmed: true},
	"POST /settings/webhooks/endpoints/{id}/secret":        {action: "endpoint.secret_revealed", target: "id"},
	"POST /settings/webhooks/endpoints/{id}/secret/rotate": {action: "endpoint.secret_rotated", target: "id"},
	"POST /deliveries/{id}/retry":                          {action: "delivery.retried", target: "id"},
	"POST /replay":                                         {action: "replay.created", redirected: true},
}

// statusWriter keeps the status a handler answered.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(status int) {
	if s.status == 0 {
		s.status = status
	}
	s.ResponseWriter.WriteHeader(status)
}

func (s *statusWriter) Write(b []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// audited records the successful requests of an audited route.
func (d *Dashboard) audited(pattern string, h handlerFunc) handlerFunc {
	au, ok := auditRoutes[pattern]
	if !ok {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
		sw := &statusWriter{ResponseWriter: w}
		err := h(sw, r, acc)
		if err != nil || sw.status >= 400 || sw.status == 0 || d.svc.Access == nil ||
			(au.confirmed && r.PostForm.Get("confirm") != "yes") || (au.redirected && sw.status != http.StatusSeeOther) {
			return err
		}
		target := r.PathValue(au.target)
		if target == "" {
			if loc := w.Header().Get("Location"); loc != "" {
				loc, _, _ = strings.Cut(loc, "?")
				loc, _, _ = strings.Cut(loc, "#")
				target = loc[strings.LastIndex(loc, "/")+1:]
			}
		}
		d.svc.Access.Record(context.WithoutCancel(r.Context()), d.actor(r), acc.ID, au.action, target, formDetails(r))
		return nil
	}
}

// formDetails is what the audit log keeps of a form: the values of the
// fields access.SafeFields names, the names of custom headers, and for
// any other field that it was sent.
func formDetails(r *http.Request) map[string]any {
	out := map[string]any{}
	var headers []string
	for k, v := range r.PostForm {
		switch {
		case k == "next" || k == "confirm" || k == "csrf":
		case k == "headers":
			for _, text := range v {
				for line := range strings.Lines(text) {
					if name, _, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(name) != "" {
						headers = append(headers, strings.TrimSpace(name))
					}
				}
			}
		case access.SafeFields[k]:
			if len(v) == 1 {
				out[k] = v[0]
			} else {
				out[k] = v
			}
		default:
			out[k] = "(set)"
		}
	}
	if len(headers) > 0 {
		slices.Sort(headers)
		out["headers"] = headers
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
