package api

import (
	"errors"
	"net/http"
	"strings"

	"github.com/bahasha/bahasha/internal/access"
	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/operations"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/tokenbox"
)

type createAccountRequest struct {
	Name string `json:"name"`
	// OwnerEmail, when set, makes the account's first owner, with a
	// one-time link to set their password.
	OwnerEmail string `json:"owner_email"`
	OwnerName  string `json:"owner_name"`
}

func (a *API) createAccount(w http.ResponseWriter, r *http.Request) error {
	var req createAccountRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req, true); err != nil {
		return err
	}
	var owner string
	if strings.TrimSpace(req.OwnerEmail) != "" {
		var err error
		if owner, err = access.NormalizeEmail(req.OwnerEmail); err != nil {
			return err
		}
	}
	c, err := accounts.Create(r.Context(), a.store, accounts.Params{Name: req.Name, OwnerEmail: owner, OwnerName: req.OwnerName, Now: a.now(), Rand: a.rand})
	if errors.Is(err, accounts.ErrInvalid) {
		return problem.Invalid("%s", err.Error())
	}
	if err != nil {
		return err
	}
	out := CreatedAccountJSON(c)
	if c.Owner.ID != "" && a.svc.Access != nil {
		link, err := a.svc.Access.OwnerLink(r.Context(), c.Owner)
		if err != nil {
			return err
		}
		a.svc.Access.Record(r.Context(), access.Operator, c.Account.ID, "member.invited", c.Owner.ID, map[string]any{"email": owner, "role": bahasha.RoleOwner})
		out["owner"] = map[string]any{"id": c.Owner.ID, "email": c.Owner.Email, "role": c.Owner.Role,
			"invite_url": access.LinkURL(a.cfg.PublicURL, r, link)}
	}
	writeJSON(w, http.StatusCreated, out)
	return nil
}

// CreatedAccountJSON is how a new account is shown, by the admin API and by
// bahasha accounts create --json.
func CreatedAccountJSON(c accounts.Created) map[string]any {
	return map[string]any{
		"account":      map[string]any{"id": c.Account.ID, "name": c.Account.Name, "created_at": c.Account.CreatedAt},
		"phone_number": phoneJSON(c.PhoneNumber),
		"api_key":      c.APIKey,
	}
}

// health serves GET /admin/v1/health: the platform-wide picture an
// operator needs, from the database (every node answers the same).
func (a *API) health(w http.ResponseWriter, r *http.Request) error {
	rep, err := operations.Health(r.Context(), a.store, a.now())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

type attachNumberRequest struct {
	AccountID          string `json:"account_id"`
	PhoneNumberID      string `json:"phone_number_id"`
	WABAID             string `json:"waba_id"`
	DisplayPhoneNumber string `json:"display_phone_number"`
	// AccessToken, optional, is the number's Graph API access token.
	AccessToken string `json:"access_token"`
}

// attachNumber serves POST /admin/v1/phone_numbers: one of Meta's numbers
// attached to an account, so that Meta's webhooks for it go there.
func (a *API) attachNumber(w http.ResponseWriter, r *http.Request) error {
	var req attachNumberRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req, true); err != nil {
		return err
	}
	if req.AccessToken != "" {
		if a.svc.Tokens == nil {
			return problem.Invalid("access_token needs BAHASHA_TOKEN_KEY (at least %d characters) set on serve: tokens are kept encrypted with it", tokenbox.MinKeyLength)
		}
		if err := accounts.CheckAccessToken(req.AccessToken); err != nil {
			return problem.Invalid("%s", strings.TrimPrefix(err.Error(), accounts.ErrInvalid.Error()+": "))
		}
	}
	if req.AccountID == "" {
		return problem.Invalid(`account_id is required: {"account_id":"acc_…","phone_number_id":"…","waba_id":"…","display_phone_number":"+1 555 …"}`)
	}
	n, err := accounts.AddLiveNumber(r.Context(), a.store, accounts.LiveNumberParams{AccountID: req.AccountID, PhoneNumberID: req.PhoneNumberID,
		WABAID: req.WABAID, DisplayPhoneNumber: req.DisplayPhoneNumber, Now: a.now()})
	switch {
	case errors.Is(err, accounts.ErrInvalid):
		return problem.Invalid("%s", strings.TrimPrefix(err.Error(), accounts.ErrInvalid.Error()+": "))
	case errors.Is(err, store.ErrNotFound):
		return problem.NotFound("no_account", "there is no account %s; create it with POST /admin/v1/accounts", req.AccountID)
	case errors.Is(err, store.ErrConflict):
		return problem.New(http.StatusConflict, "number_taken",
			"phone number %s is attached already, or WABA %s is another account's: a WABA's numbers belong to one account", req.PhoneNumberID, req.WABAID)
	case err != nil:
		return err
	}
	if req.AccessToken != "" {
		if err := a.setToken(r, n.AccountID, n.ID, req.AccessToken); err != nil {
			return err
		}
	}
	if a.svc.Meta != nil {
		a.log.Info("phone number attached; Meta's webhooks for it are routed to its account", "account", n.AccountID, "phone_number_id", n.ID)
	}
	writeJSON(w, http.StatusCreated, map[string]any{"account_id": n.AccountID, "phone_number": phoneJSON(n)})
	return nil
}

type accessTokenRequest struct {
	AccountID   string `json:"account_id"`
	AccessToken string `json:"access_token"`
}

// setAccessToken serves PUT /admin/v1/phone_numbers/{id}/access_token: a
// live number's Graph API access token set or rotated (the new one is used
// from the next request on, on every node). It is never returned.
func (a *API) setAccessToken(w http.ResponseWriter, r *http.Request) error {
	var req accessTokenRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req, true); err != nil {
		return err
	}
	if req.AccountID == "" {
		return problem.Invalid(`account_id is required: {"account_id":"acc_…","access_token":"…"}`)
	}
	if err := a.setToken(r, req.AccountID, r.PathValue("phone_number_id"), req.AccessToken); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"phone_number_id": r.PathValue("phone_number_id"), "access_token": "set"})
	return nil
}

func (a *API) setToken(r *http.Request, accountID, phoneNumberID, token string) error {
	err := accounts.SetAccessToken(r.Context(), a.store, a.svc.Tokens, accountID, phoneNumberID, token)
	switch {
	case errors.Is(err, accounts.ErrInvalid):
		return problem.Invalid("%s", strings.TrimPrefix(err.Error(), accounts.ErrInvalid.Error()+": "))
	case errors.Is(err, store.ErrNotFound):
		return problem.NotFound("no_number", "account %s has no phone number %s; attach it with POST /admin/v1/phone_numbers", accountID, phoneNumberID)
	}
	return err
}

type addOwnerRequest struct {
	Email string `json:"email"`
	Name  string `json:"name"`
}

// addOwner serves POST /admin/v1/accounts/{id}/owners: an owner for an
// existing account (made before members, or whose owners are gone), with
// their one-time link.
func (a *API) addOwner(w http.ResponseWriter, r *http.Request) error {
	var req addOwnerRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req, true); err != nil {
		return err
	}
	id := r.PathValue("id")
	if _, err := a.store.Account(r.Context(), id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return problem.NotFound("no_account", "there is no account %s", truncateID(id))
		}
		return err
	}
	u, token, err := a.svc.Access.Invite(r.Context(), access.Operator, access.InviteParams{AccountID: id, Email: req.Email, Name: req.Name,
		Role: bahasha.RoleOwner})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": u.ID, "email": u.Email, "role": u.Role, "invite_url": access.LinkURL(a.cfg.PublicURL, r, token)})
	return nil
}

func truncateID(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
