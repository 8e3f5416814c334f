package api

import (
	"errors"
	"net/http"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/tokenbox"
)

// forwardLive sends a live number's request to Meta's Graph API at path
// with the number's access token and relays Meta's answer verbatim.
func (a *API) forwardLive(w http.ResponseWriter, r *http.Request, acc bahasha.Account, n bahasha.PhoneNumber, path string) error {
	if a.svc.Graph == nil {
		a.writeCloudError(w, &cloudError{status: http.StatusServiceUnavailable, code: 2, message: "sending through Meta is off on this platform",
			details: n.ID + " is a live number, and this bahasha serve has no route to Meta's Graph API"})
		return nil
	}
	token, err := accounts.AccessToken(r.Context(), a.store, a.svc.Tokens, acc.ID, n.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
		a.writeCloudError(w, &cloudError{status: http.StatusBadRequest, code: 190, message: "(#190) this live number has no access token",
			details: "the operator sets one with bahasha numbers add --access-token or PUT /admin/v1/phone_numbers/" + n.ID + "/access_token"})
		return nil
	case errors.Is(err, accounts.ErrInvalid), errors.Is(err, tokenbox.ErrOpen):
		a.log.Error("a live number's access token cannot be used", "phone_number_id", n.ID, "err", err)
		a.writeCloudError(w, &cloudError{status: http.StatusServiceUnavailable, code: 2, message: "the number's access token cannot be decrypted on this node",
			details: "the operator checks BAHASHA_TOKEN_KEY"})
		return nil
	case err != nil:
		return err
	}
	a.svc.Graph.Forward(w, r, path, token)
	return nil
}

// liveNumber is the account's number of the request's phone_number_id when
// it is live; ok is false for a sandbox number.
func (a *API) liveNumber(r *http.Request, acc bahasha.Account) (bahasha.PhoneNumber, bool, error) {
	n, err := a.svc.Messaging.Number(r.Context(), acc.ID, r.PathValue("phone_number_id"))
	if err != nil {
		return n, false, err
	}
	return n, !n.Sandbox, nil
}

// uploadMedia serves POST /v1/{phone_number_id}/media for a live number:
// the upload goes to Meta as it came (multipart, streamed).
func (a *API) uploadMedia(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	n, live, err := a.liveNumber(r, acc)
	if err != nil {
		return err
	}
	if !live {
		a.writeCloudError(w, &cloudError{status: http.StatusBadRequest, code: 100, message: "(#100) media upload is for live numbers",
			details: n.ID + " is a sandbox number: send media by link, or by any id (the sandbox does not fetch it)"})
		return nil
	}
	return a.forwardLive(w, r, acc, n, "/"+n.ID+"/media")
}

// listTemplates serves GET /v1/{waba_id}/message_templates: Meta's list of
// the WABA's templates, with the token of one of its live numbers.
func (a *API) listTemplates(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	waba := r.PathValue("waba_id")
	nums, err := a.store.PhoneNumbers(r.Context(), acc.ID)
	if err != nil {
		return err
	}
	var withToken *bahasha.PhoneNumber
	inWABA := false
	for i, n := range nums {
		if n.WABAID != waba || n.Sandbox {
			inWABA = inWABA || n.WABAID == waba
			continue
		}
		inWABA = true
		_, err := a.store.NumberToken(r.Context(), store.GetPhoneNumberParams{AccountID: acc.ID, PhoneNumberID: n.ID})
		if err == nil {
			withToken = &nums[i]
			break
		}
		if !errors.Is(err, store.ErrNotFound) {
			return err // the store is in trouble: not "no token"
		}
	}
	switch {
	case !inWABA:
		a.writeGraphError(w, noObject(r, "WABA "+waba+" is not one of your account's; GET /v1/phone_numbers lists your numbers and their waba_id"))
		return nil
	case withToken == nil:
		a.writeCloudError(w, &cloudError{status: http.StatusBadRequest, code: 100, message: "(#100) message templates are listed for a WABA of live numbers",
			details: "WABA " + waba + " has no live number with an access token"})
		return nil
	}
	return a.forwardLive(w, r, acc, *withToken, "/"+waba+"/message_templates")
}
