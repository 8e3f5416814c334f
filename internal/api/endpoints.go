package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/registration"
	"github.com/bahasha/bahasha/internal/store"
)

// scopeJSON is an endpoint's scope on the wire: {} (or absent) for the
// account, {"waba_id":…} or {"phone_number_id":…}.
type scopeJSON struct {
	WABAID        string `json:"waba_id,omitempty"`
	PhoneNumberID string `json:"phone_number_id,omitempty"`
}

func (s *scopeJSON) scope() (bahasha.Scope, error) {
	switch {
	case s == nil || (s.WABAID == "" && s.PhoneNumberID == ""):
		return bahasha.AccountScope, nil
	case s.WABAID != "" && s.PhoneNumberID != "":
		return bahasha.Scope{}, problem.Invalid(`"scope" takes one of "waba_id" and "phone_number_id", not both: a number's endpoint already covers only that number`)
	case s.WABAID != "":
		return bahasha.Scope{Kind: bahasha.ScopeWABA, ID: s.WABAID}, nil
	}
	return bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: s.PhoneNumberID}, nil
}

func toScopeJSON(sc bahasha.Scope) scopeJSON {
	switch sc.Kind {
	case bahasha.ScopeWABA:
		return scopeJSON{WABAID: sc.ID}
	case bahasha.ScopePhoneNumber:
		return scopeJSON{PhoneNumberID: sc.ID}
	}
	return scopeJSON{}
}

type endpointJSON struct {
	ID      string    `json:"id"`
	URL     string    `json:"url"`
	Status  string    `json:"status"`
	Primary bool      `json:"primary"`
	Scope   scopeJSON `json:"scope"`
	// ScopeType is account, waba or phone_number.
	ScopeType   string            `json:"scope_type"`
	Events      []string          `json:"events"`
	Headers     map[string]string `json:"headers"`
	RateLimit   int               `json:"rate_limit"`
	Description string            `json:"description"`
	// Health is healthy, failing (its last POSTs failed), probing (its
	// breaker is open: one request at a time) or paused (it asked to
	// wait, or its rate limit holds it).
	Health string `json:"health"`
	// DisabledReason says why a disabled endpoint is (absent when
	// enabled).
	DisabledReason      string     `json:"disabled_reason,omitempty"`
	ConsecutiveFailures int        `json:"consecutive_failures"`
	FailingSince        *time.Time `json:"failing_since"`
	VerifiedAt          time.Time  `json:"verified_at"`
	CreatedAt           time.Time  `json:"created_at"`
}

func toEndpointJSON(e bahasha.Endpoint, now time.Time, reveal bool) endpointJSON {
	out := endpointJSON{ID: e.PublicID(), URL: e.URL, Status: "verified", Primary: e.Primary, Scope: toScopeJSON(e.Scope),
		ScopeType: string(e.Scope.OrAccount().Kind), Events: e.Events, Headers: map[string]string{}, RateLimit: e.RateLimit,
		Description: e.Description, Health: e.Health(now), ConsecutiveFailures: e.ConsecutiveFailures,
		FailingSince: timePtr(e.FailingSince), VerifiedAt: e.VerifiedAt, CreatedAt: e.CreatedAt}
	if e.Disabled {
		out.Status, out.DisabledReason = "disabled", e.DisabledReason
	}
	if out.Events == nil {
		out.Events = []string{}
	}
	for k, v := range e.Headers {
		if !reveal {
			v = registration.MaskHeaderValue(v)
		}
		out.Headers[k] = v
	}
	return out
}

// endpointRequest is the body of POST /v1/webhooks and PATCH
// /v1/webhooks/{id}: in a PATCH, absent fields keep their value.
type endpointRequest struct {
	URL         *string            `json:"url"`
	VerifyToken *string            `json:"verify_token"`
	Scope       *scopeJSON         `json:"scope"`
	Events      *[]string          `json:"events"`
	Headers     *map[string]string `json:"headers"`
	RateLimit   *int               `json:"rate_limit"`
	Description *string            `json:"description"`
	Disabled    *bool              `json:"disabled"`
}

// apply sets c's fields that the request has.
func (req *endpointRequest) apply(c *registration.Config) error {
	if req.URL != nil {
		c.URL = strings.TrimSpace(*req.URL)
	}
	if req.VerifyToken != nil {
		c.VerifyToken = *req.VerifyToken
	}
	if req.Scope != nil {
		sc, err := req.Scope.scope()
		if err != nil {
			return err
		}
		c.Scope = sc
	}
	if req.Events != nil {
		c.Events = *req.Events
	}
	if req.Headers != nil {
		for k, v := range *req.Headers {
			if strings.HasPrefix(v, registration.MaskedPrefix) {
				return problem.Invalid(`the value of header %q is the masked one the API shows; send the real value, or leave "headers" out to keep them`, k)
			}
		}
		c.Headers = *req.Headers
	}
	if req.RateLimit != nil {
		c.RateLimit = *req.RateLimit
	}
	if req.Description != nil {
		c.Description = *req.Description
	}
	if req.Disabled != nil {
		c.Disabled = *req.Disabled
	}
	return nil
}

func (a *API) createEndpoint(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	var req endpointRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req, true); err != nil {
		return err
	}
	var c registration.Config
	if err := req.apply(&c); err != nil {
		return err
	}
	switch {
	case c.URL == "":
		return problem.Invalid(`"url" is required: the public https URL of your webhook, e.g. https://yourapp.com/webhook`)
	case c.VerifyToken == "":
		return problem.Invalid(`"verify_token" is required: the secret your GET handler compares with hub.verify_token`)
	}
	e, res, err := a.svc.Registration.Create(r.Context(), acc.ID, c)
	if err != nil {
		return err
	}
	if !res.OK {
		return verificationFailed(res)
	}
	// The one time the custom headers are shown in full.
	writeJSON(w, http.StatusCreated, toEndpointJSON(e, a.now(), true))
	return nil
}

func (a *API) listEndpoints(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	es, err := a.store.Endpoints(r.Context(), acc.ID)
	if err != nil {
		return err
	}
	now := a.now()
	out := make([]endpointJSON, 0, len(es))
	for _, e := range es {
		out = append(out, toEndpointJSON(e, now, false))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out, "limit": store.MaxEndpoints})
	return nil
}

// endpointQuery reads the ?endpoint= filter of a listing: 0 when absent,
// a problem when it is not one of the account's endpoints.
func (a *API) endpointQuery(r *http.Request, accountID string) (int64, error) {
	s := r.URL.Query().Get("endpoint")
	if s == "" {
		return 0, nil
	}
	id, ok := bahasha.ParseEndpointID(s)
	if !ok {
		return 0, problem.Invalid(`"endpoint" must be an endpoint id such as wh_12 (GET /v1/webhooks lists them)`)
	}
	if _, err := a.svc.Registration.Get(r.Context(), accountID, id); err != nil {
		return 0, err
	}
	return id, nil
}

// endpointParam reads the {id} of a /v1/webhooks/{id} route.
func endpointParam(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, ok := bahasha.ParseEndpointID(s)
	if !ok {
		return 0, problem.NotFound("not_found", "%q is not an endpoint id; they look like wh_12 (GET /v1/webhooks lists them)", truncate(s, 40))
	}
	return id, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// endpointRoute serves a /v1/webhooks/{id} route: op on the account's
// endpoint, answered as view shows the endpoint it returns.
func (a *API) endpointRoute(op func(ctx context.Context, accountID string, id int64) (bahasha.Endpoint, error),
	view func(e bahasha.Endpoint, now time.Time) any) func(http.ResponseWriter, *http.Request, bahasha.Account) error {
	return func(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
		id, err := endpointParam(r)
		if err != nil {
			return err
		}
		e, err := op(r.Context(), acc.ID, id)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, view(e, a.now()))
		return nil
	}
}

func endpointView(e bahasha.Endpoint, now time.Time) any { return toEndpointJSON(e, now, false) }

func secretView(e bahasha.Endpoint, now time.Time) any { return toSigningSecretJSON(e, now) }

// reverify is Registration.Reverify with a failed handshake as its error.
func (a *API) reverify(ctx context.Context, accountID string, id int64) (bahasha.Endpoint, error) {
	e, res, err := a.svc.Registration.Reverify(ctx, accountID, id)
	if err == nil && !res.OK {
		err = verificationFailed(res)
	}
	return e, err
}

func (a *API) patchEndpoint(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	id, err := endpointParam(r)
	if err != nil {
		return err
	}
	var req endpointRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req, true); err != nil {
		return err
	}
	cur, err := a.svc.Registration.Get(r.Context(), acc.ID, id)
	if err != nil {
		return err
	}
	c := registration.ConfigOf(cur)
	if err := req.apply(&c); err != nil {
		return err
	}
	if !cur.Listening() && (c.URL == "" || c.VerifyToken == "") {
		return problem.Invalid(`"url" and "verify_token" cannot be emptied; DELETE /v1/webhooks/%s removes the endpoint`, cur.PublicID())
	}
	e, res, err := a.svc.Registration.Update(r.Context(), acc.ID, id, c)
	if err != nil {
		return err
	}
	if !res.OK {
		return verificationFailed(res)
	}
	writeJSON(w, http.StatusOK, toEndpointJSON(e, a.now(), req.Headers != nil))
	return nil
}

func (a *API) deleteEndpoint(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	id, err := endpointParam(r)
	if err != nil {
		return err
	}
	if err := a.svc.Registration.Remove(r.Context(), acc.ID, id); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

type signingSecretJSON struct {
	Secret                  string     `json:"secret"`
	PreviousSecret          string     `json:"previous_secret,omitempty"`
	PreviousSecretExpiresAt *time.Time `json:"previous_secret_expires_at,omitempty"`
	Algorithm               string     `json:"algorithm"`
}

func toSigningSecretJSON(e bahasha.Endpoint, now time.Time) signingSecretJSON {
	out := signingSecretJSON{Secret: e.Secret,
		Algorithm: "Standard Webhooks v1: webhook-signature = v1,base64(HMAC-SHA256(base64-decoded secret after whsec_, webhook-id.webhook-timestamp.body))"}
	if e.PreviousSecret != "" && now.Before(e.PreviousSecretUntil) {
		out.PreviousSecret, out.PreviousSecretExpiresAt = e.PreviousSecret, timePtr(e.PreviousSecretUntil)
	}
	return out
}

// MaxSandboxNumbers is how many phone numbers an account may have for POST
// /v1/phone_numbers to add another.
const MaxSandboxNumbers = 20

type addNumberRequest struct {
	WABAID string `json:"waba_id"`
}

func (a *API) addPhoneNumber(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	var req addNumberRequest
	if r.ContentLength != 0 {
		if err := decode(w, r, a.cfg.MaxBodyBytes, &req, true); err != nil {
			return err
		}
	}
	nums, err := a.store.PhoneNumbers(r.Context(), acc.ID)
	if err != nil {
		return err
	}
	if len(nums) >= MaxSandboxNumbers {
		return problem.New(http.StatusConflict, "too_many_numbers", "this account has %d phone numbers, the most POST /v1/phone_numbers adds", MaxSandboxNumbers)
	}
	if req.WABAID != "" {
		found := false
		for _, n := range nums {
			found = found || n.WABAID == req.WABAID
		}
		if !found {
			return problem.NotFound("not_found", "this account has no WhatsApp Business Account %q; leave waba_id out for a new one, or see GET /v1/phone_numbers", truncate(req.WABAID, 40))
		}
	}
	n, err := accounts.AddSandboxNumber(r.Context(), a.store, accounts.AddNumberParams{AccountID: acc.ID, WABAID: req.WABAID, Now: a.now(), Rand: a.rand})
	if errors.Is(err, store.ErrConflict) {
		return problem.New(http.StatusConflict, "conflict", "could not draw a free phone number id; retry")
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, phoneJSON(n))
	return nil
}
