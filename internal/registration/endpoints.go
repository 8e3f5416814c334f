package registration

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/handshake"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/sdk/webhook"
)

// Limits of an endpoint's configuration.
const (
	// MaxHeaders is how many custom headers an endpoint may have.
	MaxHeaders = 20
	// MaxHeaderNameLength and MaxHeaderValueLength cap one header.
	MaxHeaderNameLength  = 128
	MaxHeaderValueLength = 4096
	// MaxHeadersBytes caps the names and values of all of them.
	MaxHeadersBytes = 8192
	// MaxRateLimit caps an endpoint's rate limit, in events per second.
	MaxRateLimit = 100000
	// MaxDescriptionLength caps an endpoint's description.
	MaxDescriptionLength = 200
	// RotationOverlap is how long the previous signing secret still signs
	// after a rotation.
	RotationOverlap = 24 * time.Hour
)

// reservedHeaders are the header names Bahasha sets itself or that would
// break HTTP; reservedPrefixes, the name prefixes of its own families.
var (
	reservedHeaders = []string{
		"Host", "Content-Length", "Content-Type", "Content-Encoding", "Transfer-Encoding", "Connection", "Keep-Alive",
		"Upgrade", "Te", "Trailer", "Expect", "User-Agent", "X-Hub-Signature-256", "X-Hub-Signature", "X-Idempotency-Key",
	}
	reservedPrefixes = []string{"Webhook-", "X-Bahasha-", "Proxy-"}
)

// ValidateHeaders checks an endpoint's custom headers: HTTP token names
// that Bahasha does not own, values without control characters, within
// the limits. The error says which header is wrong and why.
func ValidateHeaders(h map[string]string) error {
	if len(h) > MaxHeaders {
		return problem.Invalid(`"headers" has %d headers; an endpoint may have at most %d`, len(h), MaxHeaders)
	}
	names := make([]string, 0, len(h))
	for k := range h {
		names = append(names, k)
	}
	sort.Strings(names)
	total := 0
	seen := map[string]bool{}
	for _, name := range names {
		value := h[name]
		canon := http.CanonicalHeaderKey(name)
		total += len(name) + len(value)
		switch {
		case name == "" || len(name) > MaxHeaderNameLength || !httpguts.ValidHeaderFieldName(name):
			return problem.Invalid(`header name %q is not valid: use letters, digits and - (at most %d characters)`, truncate(name, 40), MaxHeaderNameLength)
		case slices.Contains(reservedHeaders, canon) || hasReservedPrefix(canon):
			return problem.Invalid(`header %q is set by Bahasha itself (or would break HTTP) and cannot be configured; the reserved names are %s and any starting with %s`,
				name, strings.Join(reservedHeaders, ", "), strings.Join(reservedPrefixes, ", "))
		case seen[canon]:
			return problem.Invalid(`header %q is given twice (header names are case-insensitive)`, name)
		case len(value) > MaxHeaderValueLength:
			return problem.Invalid(`the value of header %q is %d bytes; the limit is %d`, name, len(value), MaxHeaderValueLength)
		case !httpguts.ValidHeaderFieldValue(value) || strings.ContainsAny(value, "\r\n"):
			return problem.Invalid(`the value of header %q has a control character (such as CR or LF); header values are one line of text`, name)
		}
		seen[canon] = true
	}
	if total > MaxHeadersBytes {
		return problem.Invalid(`the custom headers take %d bytes; the limit is %d`, total, MaxHeadersBytes)
	}
	return nil
}

func hasReservedPrefix(canon string) bool {
	for _, p := range reservedPrefixes {
		if strings.HasPrefix(canon, p) {
			return true
		}
	}
	return false
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// MaskedPrefix starts a masked header value.
const MaskedPrefix = "••••"

// MaskHeaderValue hides a custom header value, as the API and the
// dashboard show it: its last 4 characters, only when it is long enough
// (16 or more) for that to give nothing away.
func MaskHeaderValue(v string) string {
	if r := []rune(v); len(r) >= 16 {
		return MaskedPrefix + string(r[len(r)-4:])
	}
	return MaskedPrefix
}

// canonicalHeaders returns h with canonical names, nil when empty.
func canonicalHeaders(h map[string]string) map[string]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string]string, len(h))
	for k, v := range h {
		out[http.CanonicalHeaderKey(k)] = v
	}
	return out
}

// Config is the configuration of an endpoint a business chooses.
type Config struct {
	URL         string
	VerifyToken string
	Scope       bahasha.Scope
	Events      []string
	Headers     map[string]string
	RateLimit   int
	Disabled    bool
	Description string
}

// validate checks what the handshake does not.
func (c *Config) validate() error {
	if err := c.validateExceptHandshake(); err != nil {
		return err
	}
	if len(c.VerifyToken) > MaxVerifyTokenLength {
		return problem.Invalid("the verification token is longer than %d characters; use a shorter one", MaxVerifyTokenLength)
	}
	return nil
}

func (c *Config) validateExceptHandshake() error {
	c.Scope = c.Scope.OrAccount()
	switch c.Scope.Kind {
	case bahasha.ScopeAccount:
		if c.Scope.ID != "" {
			return problem.Invalid(`the account scope takes no id`)
		}
	case bahasha.ScopeWABA, bahasha.ScopePhoneNumber:
		if c.Scope.ID == "" {
			return problem.Invalid(`the %s scope needs the id of one of your %s`, c.Scope.Kind, map[bahasha.ScopeKind]string{
				bahasha.ScopeWABA: "WhatsApp Business Accounts (waba_id)", bahasha.ScopePhoneNumber: "phone numbers (phone_number_id)"}[c.Scope.Kind])
		}
	default:
		return problem.Invalid(`%q is not a scope; use the account (no scope), {"waba_id":…} or {"phone_number_id":…}`, c.Scope.Kind)
	}
	if err := bahasha.ValidateEvents(c.Events); err != nil {
		return problem.Invalid(`"events": %v`, err)
	}
	if len(c.Events) == 0 {
		c.Events = nil
	}
	if err := ValidateHeaders(c.Headers); err != nil {
		return err
	}
	c.Headers = canonicalHeaders(c.Headers)
	if c.RateLimit < 0 || c.RateLimit > MaxRateLimit {
		return problem.Invalid(`"rate_limit" is events per second, from 1 to %d (0 or absent for none)`, MaxRateLimit)
	}
	if len(c.Description) > MaxDescriptionLength {
		return problem.Invalid(`"description" is longer than %d characters`, MaxDescriptionLength)
	}
	return nil
}

// scopeNotFound words a scope the account does not have.
func scopeNotFound(sc bahasha.Scope) *problem.Error {
	if sc.Kind == bahasha.ScopeWABA {
		return problem.NotFound("not_found", "this account has no WhatsApp Business Account %q; GET /v1/phone_numbers lists yours (waba_id)", sc.ID)
	}
	return problem.NotFound("not_found", "this account has no phone number %q; GET /v1/phone_numbers lists yours", sc.ID)
}

// Create runs the handshake against c.URL with c.VerifyToken and, when it
// passes, adds the endpoint with a new signing secret and wakes the engine.
// As for Register, a failed handshake saves nothing and comes back in the
// Result with the zero Endpoint. Invalid configuration, an unknown scope
// and too many endpoints are problem.Errors.
func (s *Service) Create(ctx context.Context, accountID string, c Config) (bahasha.Endpoint, handshake.Result, error) {
	if err := c.validate(); err != nil {
		return bahasha.Endpoint{}, handshake.Result{}, err
	}
	// The scope before the handshake: a typo in an id is answered without
	// calling the endpoint.
	if err := s.checkScope(ctx, accountID, c.Scope); err != nil {
		return bahasha.Endpoint{}, handshake.Result{}, err
	}
	res := s.verify(ctx, accountID, "", c.URL, c.VerifyToken, c.Headers)
	if !res.OK {
		return bahasha.Endpoint{}, res, nil
	}
	secret, err := webhook.NewSigningSecret(nil)
	if err != nil {
		return bahasha.Endpoint{}, res, err
	}
	now := s.Now()
	e, err := s.Store.CreateEndpoint(ctx, store.CreateEndpointParams{Max: store.MaxEndpoints, Now: now, Endpoint: bahasha.Endpoint{
		AccountID: accountID, URL: c.URL, VerifyToken: c.VerifyToken, VerifiedAt: now, Scope: c.Scope, Events: c.Events,
		Headers: c.Headers, RateLimit: c.RateLimit, Disabled: c.Disabled, Description: c.Description, Secret: secret}})
	if err != nil {
		return bahasha.Endpoint{}, res, s.endpointError(err, c.Scope)
	}
	s.Waker.Wake()
	return e, res, nil
}

func (s *Service) checkScope(ctx context.Context, accountID string, sc bahasha.Scope) error {
	switch sc.Kind {
	case bahasha.ScopePhoneNumber:
		if _, err := s.Store.PhoneNumber(ctx, store.GetPhoneNumberParams{AccountID: accountID, PhoneNumberID: sc.ID}); errors.Is(err, store.ErrNotFound) {
			return scopeNotFound(sc)
		} else if err != nil {
			return err
		}
	case bahasha.ScopeWABA:
		nums, err := s.Store.PhoneNumbers(ctx, accountID)
		if err != nil {
			return err
		}
		if !slices.ContainsFunc(nums, func(n bahasha.PhoneNumber) bool { return n.WABAID == sc.ID }) {
			return scopeNotFound(sc)
		}
	}
	return nil
}

func (s *Service) endpointError(err error, sc bahasha.Scope) error {
	switch {
	case errors.Is(err, store.ErrTooMany):
		return problem.New(http.StatusConflict, "too_many_endpoints",
			"this account has %d endpoints, the most it may have; remove one first (DELETE /v1/webhooks/{id})", store.MaxEndpoints)
	case errors.Is(err, store.ErrNotFound) && sc.Kind != bahasha.ScopeAccount:
		return scopeNotFound(sc)
	}
	return err
}

// Get returns one of an account's endpoints; a problem.Error naming it
// when there is no such endpoint.
func (s *Service) Get(ctx context.Context, accountID string, id int64) (bahasha.Endpoint, error) {
	e, err := s.Store.EndpointByID(ctx, store.GetEndpointParams{AccountID: accountID, EndpointID: id})
	if errors.Is(err, store.ErrNotFound) {
		return e, noEndpoint(id)
	}
	return e, err
}

func noEndpoint(id int64) *problem.Error {
	return problem.NotFound("not_found", "this account has no endpoint %s%d; GET /v1/webhooks lists them", bahasha.EndpointPrefix, id)
}

// Update changes an endpoint's configuration to c. When the URL or the
// verification token changes the handshake runs first, and a failed one
// changes nothing (it comes back in the Result, OK false). Enabling an
// endpoint lets its waiting deliveries flow, in order.
func (s *Service) Update(ctx context.Context, accountID string, id int64, c Config) (bahasha.Endpoint, handshake.Result, error) {
	cur, err := s.Get(ctx, accountID, id)
	if err != nil {
		return bahasha.Endpoint{}, handshake.Result{}, err
	}
	if err := c.validate(); err != nil {
		return bahasha.Endpoint{}, handshake.Result{}, err
	}
	if cur.Listening() && (c.URL != cur.URL || c.VerifyToken != cur.VerifyToken) {
		return bahasha.Endpoint{}, handshake.Result{}, problem.Invalid("%s is a bahasha listen session: its events go to the CLI's --forward-to, so it has no URL or token to change", cur.PublicID())
	}
	if cur.Primary && c.Scope.Kind != bahasha.ScopeAccount {
		return bahasha.Endpoint{}, handshake.Result{}, problem.Invalid("the primary endpoint (PUT /v1/webhook) is the account's; create another endpoint for a WABA or a phone number")
	}
	if err := s.checkScope(ctx, accountID, c.Scope); err != nil {
		return bahasha.Endpoint{}, handshake.Result{}, err
	}
	res := handshake.Result{OK: true}
	now := s.Now()
	next := cur
	if c.URL != cur.URL || c.VerifyToken != cur.VerifyToken {
		if res = s.verify(ctx, accountID, cur.PublicID(), c.URL, c.VerifyToken, c.Headers); !res.OK {
			if res.Request.Method != "" { // not for input refused before any request
				s.notify(ctx, cur, bahasha.NoticeEndpointVerificationFailed, verificationData(res, "an edit of its URL or token"))
			}
			return bahasha.Endpoint{}, res, nil
		}
		next.VerifiedAt = now
	}
	next.URL, next.VerifyToken, next.Scope, next.Events, next.Headers = c.URL, c.VerifyToken, c.Scope, c.Events, c.Headers
	next.RateLimit, next.Description = c.RateLimit, c.Description
	// The edit changes whether the endpoint is disabled only when it says
	// so: the engine may have disabled it during the handshake (410 Gone,
	// failing too long), and an edit prepared from the copy read before
	// must not enable it again without a word.
	changesDisabled := c.Disabled != cur.Disabled
	var e bahasha.Endpoint
	var notices []bahasha.Event
	for attempt := 0; ; attempt++ {
		if changesDisabled {
			next.Disabled = c.Disabled
		}
		notices = nil
		switch {
		case cur.Listening(): // listen sessions raise none
		case cur.Disabled && !next.Disabled:
			notices = s.notice(next, bahasha.NoticeEndpointEnabled, map[string]any{"reason": "enabled from the API or the dashboard", "previous_reason": cur.DisabledReason})
		case !cur.Disabled && next.Disabled:
			notices = s.notice(next, bahasha.NoticeEndpointDisabled, map[string]any{"reason": "disabled from the API or the dashboard", "disabled_at": now.UTC()})
		}
		was := cur.Disabled
		e, err = s.Store.UpdateEndpoint(ctx, store.UpdateEndpointParams{Endpoint: next, Now: now, Notices: notices, IfDisabled: &was})
		if !errors.Is(err, store.ErrConflict) || attempt == 2 {
			break
		}
		// Disabled or enabled meanwhile: start from what it is now.
		fresh, gerr := s.Get(ctx, accountID, id)
		if gerr != nil {
			return bahasha.Endpoint{}, res, gerr
		}
		cur, next.Disabled, next.DisabledReason = fresh, fresh.Disabled, fresh.DisabledReason
	}
	if errors.Is(err, store.ErrConflict) {
		return bahasha.Endpoint{}, res, problem.New(http.StatusConflict, "changed_meanwhile", "%s was disabled or enabled by another change while this edit was checked; read it again and retry", cur.PublicID())
	}
	if errors.Is(err, store.ErrNotFound) {
		// Removed meanwhile, or its scope's number went away.
		if _, gerr := s.Get(ctx, accountID, id); gerr != nil {
			return bahasha.Endpoint{}, res, gerr
		}
		return bahasha.Endpoint{}, res, scopeNotFound(c.Scope)
	}
	if err != nil {
		return bahasha.Endpoint{}, res, err
	}
	if len(notices) > 0 {
		s.flush(ctx)
	}
	s.Waker.Wake()
	return e, res, nil
}

// notice is the operational event typ about endpoint e, or none when it
// cannot be made (it is logged).
func (s *Service) notice(e bahasha.Endpoint, typ string, data map[string]any) []bahasha.Event {
	data["endpoint_id"] = e.PublicID()
	if e.Description != "" {
		data["description"] = e.Description
	}
	n, err := bahasha.NewNotice(e.AccountID, typ, s.Now(), data)
	if err != nil {
		if s.Log != nil {
			s.Log.Error("making an operational event", "type", typ, "err", err)
		}
		return nil
	}
	return []bahasha.Event{n}
}

// notify records and routes an operational event about e that goes with
// no change of its own (a failed verification).
func (s *Service) notify(ctx context.Context, e bahasha.Endpoint, typ string, data map[string]any) {
	n := s.notice(e, typ, data)
	if len(n) == 0 || e.Listening() {
		return
	}
	if err := s.Store.AddNotices(ctx, n); err != nil {
		if s.Log != nil {
			s.Log.Error("recording an operational event", "type", typ, "err", err)
		}
		return
	}
	s.flush(ctx)
	s.Waker.Wake()
}

// flush routes the recorded operational events (the engine's maintenance
// catches up with any left after a failure).
func (s *Service) flush(ctx context.Context) {
	if _, err := s.Store.FlushNotices(ctx, store.FlushNoticesParams{Limit: 100, Now: s.Now()}); err != nil && s.Log != nil {
		s.Log.Warn("routing operational events; the next maintenance pass will", "err", err)
	}
}

// verificationData is endpoint.verification_failed's data: why, in the
// diagnosis's words (never the token).
func verificationData(res handshake.Result, during string) map[string]any {
	return map[string]any{"during": during, "reason": string(res.Reason), "message": res.Message, "status_code": res.StatusCode}
}

// ConfigOf is an endpoint's configuration, for an Update that changes
// part of it.
func ConfigOf(e bahasha.Endpoint) Config {
	return Config{URL: e.URL, VerifyToken: e.VerifyToken, Scope: e.Scope, Events: e.Events, Headers: e.Headers,
		RateLimit: e.RateLimit, Disabled: e.Disabled, Description: e.Description}
}

// Remove deletes an endpoint; its pending deliveries are marked failed.
func (s *Service) Remove(ctx context.Context, accountID string, id int64) error {
	err := s.Store.RemoveEndpoint(ctx, store.RemoveEndpointParams{AccountID: accountID, EndpointID: id, Now: s.Now(),
		Reason: "the endpoint was removed before this delivery succeeded"})
	if errors.Is(err, store.ErrNotFound) {
		return noEndpoint(id)
	}
	return err
}

// RotateSecret gives an endpoint a new signing secret. The previous one
// keeps signing too (webhook-signature carries both) for RotationOverlap,
// so receivers can switch without missing a delivery; a second rotation
// within the overlap retires the oldest at once.
func (s *Service) RotateSecret(ctx context.Context, accountID string, id int64) (bahasha.Endpoint, error) {
	e, err := s.Get(ctx, accountID, id)
	if err != nil {
		return e, err
	}
	secret, err := webhook.NewSigningSecret(nil)
	if err != nil {
		return e, fmt.Errorf("registration: %w", err)
	}
	e, err = s.Store.RotateEndpointSecret(ctx, store.RotateSecretParams{AccountID: accountID, EndpointID: id, Secret: secret,
		PreviousUntil: s.Now().Add(RotationOverlap)})
	if errors.Is(err, store.ErrNotFound) {
		return e, noEndpoint(id)
	}
	return e, err
}

// Reverify runs the handshake again against an endpoint's URL and token;
// when it passes the endpoint's verification time is now. A failed one
// changes nothing and comes back in the Result.
func (s *Service) Reverify(ctx context.Context, accountID string, id int64) (bahasha.Endpoint, handshake.Result, error) {
	e, err := s.Get(ctx, accountID, id)
	if err != nil {
		return e, handshake.Result{}, err
	}
	if e.Listening() {
		return e, handshake.Result{}, problem.Invalid("%s is a bahasha listen session, with no URL to verify: bahasha listen --verify-token runs the handshake against your local server", e.PublicID())
	}
	res := s.verify(ctx, accountID, e.PublicID(), e.URL, e.VerifyToken, e.Headers)
	if !res.OK {
		s.notify(ctx, e, bahasha.NoticeEndpointVerificationFailed, verificationData(res, "a re-verification"))
		return bahasha.Endpoint{}, res, nil
	}
	// Only the verification time changes: anything else may have changed
	// during the handshake (the engine may have disabled it).
	v, err := s.Store.MarkEndpointVerified(ctx, store.MarkVerifiedParams{AccountID: accountID, EndpointID: id,
		URL: e.URL, VerifyToken: e.VerifyToken, At: s.Now()})
	switch {
	case errors.Is(err, store.ErrNotFound):
		return bahasha.Endpoint{}, res, noEndpoint(id)
	case errors.Is(err, store.ErrConflict):
		return bahasha.Endpoint{}, res, problem.New(http.StatusConflict, "changed_meanwhile", "%s's URL or token changed while it was being verified; verify it again", e.PublicID())
	}
	return v, res, err
}
