package api

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/handshake"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/registration"
	"github.com/bahasha/bahasha/internal/store"
)

type phoneNumberJSON struct {
	ID                 string `json:"id"`
	DisplayPhoneNumber string `json:"display_phone_number"`
	WABAID             string `json:"waba_id"`
	Sandbox            bool   `json:"sandbox"`
}

func phoneJSON(n bahasha.PhoneNumber) phoneNumberJSON {
	return phoneNumberJSON{ID: n.ID, DisplayPhoneNumber: n.DisplayPhoneNumber, WABAID: n.WABAID, Sandbox: n.Sandbox}
}

func (a *API) listPhoneNumbers(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	nums, err := a.store.PhoneNumbers(r.Context(), acc.ID)
	if err != nil {
		return err
	}
	out := make([]phoneNumberJSON, 0, len(nums))
	for _, n := range nums {
		out = append(out, phoneJSON(n))
	}
	writeJSON(w, http.StatusOK, map[string]any{"data": out})
	return nil
}

type webhookJSON struct {
	URL        string    `json:"url"`
	Status     string    `json:"status"`
	VerifiedAt time.Time `json:"verified_at"`
}

func (a *API) getWebhook(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	e, err := a.store.Endpoint(r.Context(), acc.ID)
	if errors.Is(err, store.ErrNotFound) {
		return problem.ErrNoWebhook
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, toWebhookJSON(e))
	return nil
}

// toWebhookJSON is the primary endpoint as GET and PUT /v1/webhook show it:
// status verified, or disabled (PATCH /v1/webhooks/{id}).
func toWebhookJSON(e bahasha.Endpoint) webhookJSON {
	status := "verified"
	if e.Disabled {
		status = "disabled"
	}
	return webhookJSON{URL: e.URL, Status: status, VerifiedAt: e.VerifiedAt}
}

type putWebhookRequest struct {
	URL         string `json:"url"`
	VerifyToken string `json:"verify_token"`
}

func (a *API) putWebhook(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	var req putWebhookRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req, true); err != nil {
		return err
	}
	req.URL = strings.TrimSpace(req.URL)
	switch {
	case req.URL == "":
		return problem.Invalid(`"url" is required: the public https URL of your webhook, e.g. https://yourapp.com/webhook`)
	case req.VerifyToken == "":
		return problem.Invalid(`"verify_token" is required: the secret your GET handler compares with hub.verify_token`)
	case len(req.VerifyToken) > registration.MaxVerifyTokenLength:
		return problem.Invalid(`"verify_token" is longer than %d characters`, registration.MaxVerifyTokenLength)
	}
	e, res, err := a.svc.Registration.Register(r.Context(), registration.Params{AccountID: acc.ID, URL: req.URL, VerifyToken: req.VerifyToken})
	if err != nil {
		return err
	}
	if !res.OK {
		return verificationFailed(res)
	}
	writeJSON(w, http.StatusOK, toWebhookJSON(e))
	return nil
}

// verificationDetails is the details object of a failed handshake.
type verificationDetails struct {
	Reason     handshake.Reason `json:"reason"`
	StatusCode int              `json:"status_code,omitempty"`
	Expected   string           `json:"expected,omitempty"`
	Got        *string          `json:"got,omitempty"`
	DurationMS int64            `json:"duration_ms,omitempty"`
	Request    *requestJSON     `json:"request,omitempty"`
}

type requestJSON struct {
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers,omitempty"`
}

func verificationFailed(res handshake.Result) *problem.Error {
	status := http.StatusUnprocessableEntity
	code := "verification_failed"
	if res.Reason == handshake.InvalidURL || res.Reason == handshake.InvalidToken {
		status, code = http.StatusBadRequest, "invalid_request"
	}
	d := verificationDetails{Reason: res.Reason, StatusCode: res.StatusCode, Expected: res.Expected, DurationMS: res.Duration.Milliseconds()}
	if res.StatusCode != 0 {
		got := res.Got
		d.Got = &got
	}
	if res.Request.Method != "" {
		d.Request = &requestJSON{Method: res.Request.Method, URL: res.Request.URL, Headers: map[string]string{}}
		for k := range res.Request.Header {
			d.Request.Headers[k] = res.Request.Header.Get(k)
		}
	}
	msg := res.Message
	if code == "verification_failed" {
		msg = "Bahasha could not verify the webhook, so it was not saved (any previous webhook stays in force). " + msg
	}
	return &problem.Error{Status: status, Code: code, Message: msg, Details: d}
}

func (a *API) deleteWebhook(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	err := a.store.DeleteEndpoint(r.Context(), store.DeleteEndpointParams{AccountID: acc.ID, Now: a.now(), Reason: "the webhook was removed before this delivery succeeded"})
	if errors.Is(err, store.ErrNotFound) {
		return problem.ErrNoWebhook
	}
	if err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

func (a *API) getSecret(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	writeJSON(w, http.StatusOK, map[string]string{"secret": acc.AppSecret,
		"algorithm": "X-Hub-Signature-256: sha256=hex(HMAC-SHA256(secret, raw body))"})
	return nil
}

func (a *API) rotateSecret(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	secret, err := accounts.Token(a.rand, 32)
	if err != nil {
		return err
	}
	if err := a.store.SetAppSecret(r.Context(), store.SetAppSecretParams{AccountID: acc.ID, Secret: secret}); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]string{"secret": secret, "previous_secret": acc.AppSecret,
		"note": "deliveries are signed with the new secret from now on; accept both secrets in your receiver until it is updated"})
	return nil
}
