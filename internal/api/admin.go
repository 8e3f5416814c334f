package api

import (
	"errors"
	"net/http"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/operations"
	"github.com/bahasha/bahasha/internal/problem"
)

type createAccountRequest struct {
	Name string `json:"name"`
}

func (a *API) createAccount(w http.ResponseWriter, r *http.Request) error {
	var req createAccountRequest
	if err := decode(w, r, a.cfg.MaxBodyBytes, &req, true); err != nil {
		return err
	}
	c, err := accounts.Create(r.Context(), a.store, accounts.Params{Name: req.Name, Now: a.now(), Rand: a.rand})
	if errors.Is(err, accounts.ErrInvalid) {
		return problem.Invalid("%s", err.Error())
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, CreatedAccountJSON(c))
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
