package api

// The Graph API's own requests for webhook overrides, so that code written
// for the Graph API works against Bahasha. The shapes are those of Meta's
// "Webhook overrides" page (developers.facebook.com/documentation/
// business-messaging/whatsapp/webhooks/override, formerly
// /docs/whatsapp/embedded-signup/webhooks/override):
//
//	POST /v1/{waba_id}/subscribed_apps {"override_callback_uri":…,"verify_token":…}
//	     → {"success":true}; without the URI (or without a body) the
//	     override is removed ("Delete WABA alternate callback").
//	GET  /v1/{waba_id}/subscribed_apps
//	     → {"data":[{"whatsapp_business_api_data":{"id","link","name"},"override_callback_uri":…}]}
//	POST /v1/{phone_number_id} {"webhook_configuration":{"override_callback_uri":…,"verify_token":…}}
//	     → {"success":true}; an empty URI removes the override.
//	GET  /v1/{phone_number_id}?fields=webhook_configuration
//	     → {"webhook_configuration":{"phone_number","whatsapp_business_account","application"},"id"}
//
// An override is an endpoint at the WABA's or the number's scope, and the
// Graph routes manage one per WABA or number: the oldest at that scope
// (setting it updates that endpoint, or creates one; removing it removes
// that endpoint), whichever route created it. The others at that scope are
// left alone.
//
// Errors are answered in the Graph API's shape, as the Messages API's are.
// Where Meta documents no error for a case (a missing verify_token, an
// over-long URI), it is "(#100) Invalid parameter", Graph's usual one.

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"unicode/utf8"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/handshake"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/registration"
	"github.com/bahasha/bahasha/internal/store"
)

// MaxOverrideURILength is the most characters an override_callback_uri may
// have: "Maximum 200 characters", in Meta's docs.
const MaxOverrideURILength = 200

// graphError is a Graph API error other than the Messages API's invalid
// parameter (cloudError): {"error":{"message","type","code",
// "error_subcode","error_data","fbtrace_id"}}.
type graphError struct {
	status  int
	typ     string
	code    int
	subcode int
	message string
	data    any
}

func (e *graphError) Error() string { return e.message }

type graphErrorJSON struct {
	Message   string `json:"message"`
	Type      string `json:"type"`
	Code      int    `json:"code"`
	Subcode   int    `json:"error_subcode,omitempty"`
	Data      any    `json:"error_data,omitempty"`
	FBTraceID string `json:"fbtrace_id"`
}

// graphDetails is the error_data of the Cloud API's errors.
type graphDetails struct {
	MessagingProduct string `json:"messaging_product"`
	Details          string `json:"details"`
}

// noObject is Graph's answer for an id that is not one of the caller's
// objects (unknown, or another account's): code 100, subcode 33, worded as
// Graph words it (Meta's Marketing API docs show it in full). Graph answers
// it with HTTP 400; Bahasha with 404, as its other routes answer an id
// that is not the account's. details says what to do.
func noObject(r *http.Request, details string) *graphError {
	id := cmp.Or(r.PathValue("phone_number_id"), r.PathValue("waba_id"))
	return &graphError{status: http.StatusNotFound, typ: "GraphMethodException", code: 100, subcode: 33,
		message: fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, "+
			"or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
			strings.ToLower(r.Method), truncate(id, 40)),
		data: graphDetails{MessagingProduct: "whatsapp", Details: details}}
}

// callbackErrorData is the error_data of a failed handshake: Bahasha's
// diagnosis, as the native routes give it in error.details.
type callbackErrorData struct {
	MessagingProduct string `json:"messaging_product"`
	Details          string `json:"details"`
	verificationDetails
}

// callbackVerificationFailed is a failed handshake in the Graph API's
// words: code 2200, "(#2200) Callback verification failed with the
// following errors: HTTP Status Code = …; HTTP Message = …". That wording
// is Graph's answer as developers report it (the override page documents
// no error); Bahasha adds its own explanation to the list. A URL or token
// the handshake could not use at all (nothing was sent) is an invalid
// parameter instead.
func callbackVerificationFailed(res handshake.Result) *graphError {
	pe := verificationFailed(res)
	d, _ := pe.Details.(verificationDetails)
	data := callbackErrorData{MessagingProduct: "whatsapp", Details: pe.Message, verificationDetails: d}
	if pe.Status == http.StatusBadRequest {
		return &graphError{status: http.StatusBadRequest, typ: "OAuthException", code: 100, message: "(#100) Invalid parameter", data: data}
	}
	var errs []string
	if res.StatusCode != 0 {
		errs = append(errs, fmt.Sprintf("HTTP Status Code = %d", res.StatusCode),
			"HTTP Message = "+cmp.Or(http.StatusText(res.StatusCode), "Unknown Response Code"))
	}
	errs = append(errs, res.Message)
	return &graphError{status: http.StatusBadRequest, typ: "OAuthException", code: 2200,
		message: "(#2200) Callback verification failed with the following errors: " + strings.Join(errs, "; "), data: data}
}

func (a *API) writeGraphError(w http.ResponseWriter, e *graphError) {
	trace, _ := accounts.Token(a.rand, 9)
	writeJSON(w, e.status, map[string]graphErrorJSON{"error": {Message: e.message, Type: e.typ, Code: e.code,
		Subcode: e.subcode, Data: e.data, FBTraceID: trace}})
}

// answerGraphError answers err in the Graph API's shape: a graphError or
// cloudError as it is; any other error through problem.Classify, a 404 as
// noObject, a 5xx as Graph's code 2 (logged), the rest as "(#100) Invalid
// parameter" with the message in error_data.details and the status kept
// (400 for a body that is not UTF-8 text, as the Messages API answers it).
func (a *API) answerGraphError(w http.ResponseWriter, r *http.Request, err error) {
	var ge *graphError
	var ce *cloudError
	switch {
	case errors.As(err, &ge):
		a.writeGraphError(w, ge)
		return
	case errors.As(err, &ce):
		a.writeCloudError(w, ce)
		return
	}
	e := problem.Classify(err)
	switch {
	case e.Status == http.StatusNotFound:
		a.writeGraphError(w, noObject(r, e.Message))
	case e.Status >= 500:
		a.log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		a.writeCloudError(w, &cloudError{status: e.Status, code: 2, message: "(#2) Service temporarily unavailable", details: e.Message})
	case e.Status == http.StatusUnprocessableEntity:
		a.writeCloudError(w, invalidParameter("%s", e.Message))
	default:
		a.writeCloudError(w, &cloudError{status: e.Status, code: 100, message: "(#100) Invalid parameter", details: e.Message})
	}
}

// graph adapts a Graph route's handler: errors are answered in the Graph
// API's shape, and a path the route's pattern matches but that is not
// Graph's (POST /v1/webhook matches POST /v1/{phone_number_id}, see serves)
// gets the answer it would get without the Graph routes (noRoute).
func (a *API) graph(h func(http.ResponseWriter, *http.Request, bahasha.Account) error) func(http.ResponseWriter, *http.Request, bahasha.Account) error {
	return func(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
		if !serves(r.Pattern, r) {
			a.noRoute(w, r)
			return nil
		}
		if err := h(w, r, acc); err != nil {
			a.answerGraphError(w, r, err)
		}
		return nil
	}
}

// serves reports whether the route of pattern serves r's path. Every route
// does, but the Graph routes whose patterns match more than Graph's paths:
// "GET /v1/{phone_number_id}" also matches GET /v1/webhook, and "GET
// /v1/{waba_id}/{edge}" any two segments (it stands for GET
// /v1/{waba_id}/subscribed_apps, which ServeMux refuses beside GET
// /v1/webhooks/{id}: both match /v1/webhooks/subscribed_apps and neither
// is more specific). The Graph routes serve the ids of Graph objects, all
// digits (Meta's ids are, and so are Bahasha's WABA and phone number ids),
// so a path such as /v1/webhook or /v1/nope keeps the answer it has
// without them. These patterns must be the ones routes registers;
// allowedMethods counts a route only where it serves.
func serves(pattern string, r *http.Request) bool {
	id, edge, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/v1/"), "/")
	switch pattern {
	case "GET /v1/{phone_number_id}", "POST /v1/{phone_number_id}":
		return graphID(id)
	case "GET /v1/{waba_id}/{edge}", "POST /v1/{waba_id}/subscribed_apps":
		return graphID(id) && edge == "subscribed_apps"
	}
	return true
}

// graphID reports whether s can be the id of a Graph object: digits.
func graphID(s string) bool {
	return s != "" && strings.Trim(s, "0123456789") == ""
}

// overrideRequest is an override as the Graph API takes it: the body of
// POST /<WABA_ID>/subscribed_apps, and the webhook_configuration of POST
// /<PHONE_NUMBER_ID>.
type overrideRequest struct {
	OverrideCallbackURI string `json:"override_callback_uri"`
	VerifyToken         string `json:"verify_token"`
}

// setOverride makes the override of scope (the oldest endpoint there)
// deliver to req's URI: it updates that endpoint (the handshake runs when
// the URI or token changes, and the endpoint is enabled) or creates one.
// An empty URI removes it, if there is one. A failed handshake changes
// nothing. field prefixes the field names in the errors.
func (a *API) setOverride(ctx context.Context, accountID string, sc bahasha.Scope, req overrideRequest, field string) error {
	uri := strings.TrimSpace(req.OverrideCallbackURI)
	if n := utf8.RuneCountInString(uri); n > MaxOverrideURILength {
		return invalidParameter(`"%soverride_callback_uri" is %d characters long; the most the Graph API takes is %d`, field, n, MaxOverrideURILength)
	}
	if uri != "" && req.VerifyToken == "" {
		return invalidParameter(`"%sverify_token" is required with "%soverride_callback_uri": the secret your GET handler compares with hub.verify_token (an empty "%soverride_callback_uri" removes the override)`,
			field, field, field)
	}
	es, err := a.store.Endpoints(ctx, accountID)
	if err != nil {
		return err
	}
	cur, found := oldestAt(es, sc)
	if uri == "" {
		if !found {
			return nil
		}
		// Removed meanwhile (404): there is no override either way.
		if err := a.svc.Registration.Remove(ctx, accountID, cur.ID); err != nil && problem.Classify(err).Status != http.StatusNotFound {
			return err
		}
		return nil
	}
	var res handshake.Result
	if found {
		c := registration.ConfigOf(cur)
		c.URL, c.VerifyToken, c.Disabled = uri, req.VerifyToken, false
		_, res, err = a.svc.Registration.Update(ctx, accountID, cur.ID, c)
	} else {
		_, res, err = a.svc.Registration.Create(ctx, accountID, registration.Config{URL: uri, VerifyToken: req.VerifyToken, Scope: sc,
			Description: "the Graph API override of " + overrideOf(sc)})
	}
	if err != nil {
		return err
	}
	if !res.OK {
		return callbackVerificationFailed(res)
	}
	return nil
}

func overrideOf(sc bahasha.Scope) string {
	if sc.Kind == bahasha.ScopeWABA {
		return "WABA " + sc.ID + " (POST /v1/" + sc.ID + "/subscribed_apps)"
	}
	return "phone number " + sc.ID + " (POST /v1/" + sc.ID + ")"
}

// oldestAt returns the oldest of es (oldest first, as the store lists
// them) at scope: the override the Graph routes manage.
func oldestAt(es []bahasha.Endpoint, sc bahasha.Scope) (bahasha.Endpoint, bool) {
	for _, e := range es {
		if e.Scope.OrAccount() == sc {
			return e, true
		}
	}
	return bahasha.Endpoint{}, false
}

// urlAt is the URL that applies at scope: the oldest enabled endpoint's
// there, "" when none (a disabled one receives nothing). At the account's
// scope the primary endpoint (PUT /v1/webhook) comes first.
func urlAt(es []bahasha.Endpoint, sc bahasha.Scope) string {
	for _, e := range es {
		if e.Primary && !e.Disabled && sc == bahasha.AccountScope {
			return e.URL
		}
	}
	for _, e := range es {
		if e.Scope.OrAccount() == sc && !e.Disabled {
			return e.URL
		}
	}
	return ""
}

// checkWABA checks that the route's {waba_id} is one of the account's
// WABAs: one of its numbers' waba_id.
func (a *API) checkWABA(r *http.Request, acc bahasha.Account) error {
	waba := r.PathValue("waba_id")
	nums, err := a.store.PhoneNumbers(r.Context(), acc.ID)
	if err != nil {
		return err
	}
	for _, n := range nums {
		if n.WABAID == waba {
			return nil
		}
	}
	return noObject(r, fmt.Sprintf("this account has no WhatsApp Business Account %q; GET /v1/phone_numbers lists yours (waba_id)", truncate(waba, 40)))
}

// graphSuccess is the Graph API's answer to a POST that changed something.
var graphSuccess = map[string]bool{"success": true}

// setWABAOverride is POST /v1/{waba_id}/subscribed_apps. Meta removes the
// override when the app subscribes "without any post body parameters", so
// an empty body (or one without override_callback_uri) removes it.
func (a *API) setWABAOverride(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	waba := r.PathValue("waba_id")
	if err := a.checkWABA(r, acc); err != nil {
		return err
	}
	var req overrideRequest
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.cfg.MaxBodyBytes))
	if err != nil {
		return describeJSONError(err)
	}
	if len(bytes.Trim(body, " \t\r\n")) > 0 {
		r.Body = io.NopCloser(bytes.NewReader(body))
		if err := decode(w, r, a.cfg.MaxBodyBytes, &req, true); err != nil {
			return err
		}
	}
	if err := a.setOverride(r.Context(), acc.ID, bahasha.Scope{Kind: bahasha.ScopeWABA, ID: waba}, req, ""); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, graphSuccess)
	return nil
}

type subscribedAppJSON struct {
	App                 appJSON `json:"whatsapp_business_api_data"`
	OverrideCallbackURI string  `json:"override_callback_uri,omitempty"`
}

type appJSON struct {
	ID   string `json:"id"`
	Link string `json:"link"`
	Name string `json:"name"`
}

// getSubscribedApps is GET /v1/{waba_id}/subscribed_apps: the apps
// subscribed to the WABA's webhooks, which for Bahasha is Bahasha itself
// (the account's id, and its dashboard's webhook settings as the link),
// with the WABA's override when it has one.
func (a *API) getSubscribedApps(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	waba := r.PathValue("waba_id")
	if err := a.checkWABA(r, acc); err != nil {
		return err
	}
	es, err := a.store.Endpoints(r.Context(), acc.ID)
	if err != nil {
		return err
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	app := subscribedAppJSON{App: appJSON{ID: acc.ID, Link: scheme + "://" + r.Host + "/settings/webhooks", Name: "Bahasha"},
		OverrideCallbackURI: urlAt(es, bahasha.Scope{Kind: bahasha.ScopeWABA, ID: waba})}
	writeJSON(w, http.StatusOK, map[string][]subscribedAppJSON{"data": {app}})
	return nil
}

// phoneNumberUpdateRequest is the body of POST /<PHONE_NUMBER_ID>, the
// part Bahasha serves.
type phoneNumberUpdateRequest struct {
	WebhookConfiguration *overrideRequest `json:"webhook_configuration"`
}

// setNumberOverride is POST /v1/{phone_number_id}.
func (a *API) setNumberOverride(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	n, err := a.graphNumber(r, acc)
	if err != nil {
		return err
	}
	var req phoneNumberUpdateRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req, true); err != nil {
		return err
	}
	if req.WebhookConfiguration == nil {
		return invalidParameter(`the body needs "webhook_configuration": {"override_callback_uri": "https://…", "verify_token": "…"}; an empty "override_callback_uri" removes the number's override`)
	}
	sc := bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: n.ID}
	if err := a.setOverride(r.Context(), acc.ID, sc, *req.WebhookConfiguration, "webhook_configuration."); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, graphSuccess)
	return nil
}

// graphNumber returns the account's number of the route's
// {phone_number_id}.
func (a *API) graphNumber(r *http.Request, acc bahasha.Account) (bahasha.PhoneNumber, error) {
	id := r.PathValue("phone_number_id")
	n, err := a.store.PhoneNumber(r.Context(), store.GetPhoneNumberParams{AccountID: acc.ID, PhoneNumberID: id})
	if errors.Is(err, store.ErrNotFound) {
		return n, noObject(r, fmt.Sprintf("this account has no phone number %q; GET /v1/phone_numbers lists yours", truncate(id, 40)))
	}
	return n, err
}

// webhookConfigurationJSON is which callback URL applies at each level; a
// level without one is left out, as Meta leaves out whatsapp_business_account
// when the WABA has no override.
type webhookConfigurationJSON struct {
	PhoneNumber             string `json:"phone_number,omitempty"`
	WhatsAppBusinessAccount string `json:"whatsapp_business_account,omitempty"`
	Application             string `json:"application,omitempty"`
}

// phoneNodeJSON is a phone number as GET /<PHONE_NUMBER_ID> shows it: the
// fields asked for, and the id.
type phoneNodeJSON struct {
	VerifiedName         string                    `json:"verified_name,omitempty"`
	DisplayPhoneNumber   string                    `json:"display_phone_number,omitempty"`
	WebhookConfiguration *webhookConfigurationJSON `json:"webhook_configuration,omitempty"`
	ID                   string                    `json:"id"`
}

// getNumberNode is GET /v1/{phone_number_id}: the fields of ?fields= that
// Bahasha has (display_phone_number, verified_name — the account's name —
// and webhook_configuration; others are left out) and the id; without
// ?fields=, the first two.
func (a *API) getNumberNode(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	n, err := a.graphNumber(r, acc)
	if err != nil {
		return err
	}
	fields := []string{"verified_name", "display_phone_number"}
	if q := r.URL.Query()["fields"]; len(q) > 0 {
		fields = strings.Split(strings.Join(q, ","), ",")
	}
	out := phoneNodeJSON{ID: n.ID}
	for _, f := range fields {
		switch strings.TrimSpace(f) {
		case "verified_name":
			out.VerifiedName = acc.Name
		case "display_phone_number":
			out.DisplayPhoneNumber = n.DisplayPhoneNumber
		case "webhook_configuration":
			es, err := a.store.Endpoints(r.Context(), acc.ID)
			if err != nil {
				return err
			}
			out.WebhookConfiguration = &webhookConfigurationJSON{
				PhoneNumber:             urlAt(es, bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: n.ID}),
				WhatsAppBusinessAccount: urlAt(es, bahasha.Scope{Kind: bahasha.ScopeWABA, ID: n.WABAID}),
				Application:             urlAt(es, bahasha.AccountScope),
			}
		}
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}
