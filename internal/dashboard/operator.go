package dashboard

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/operations"
	"github.com/bahasha/bahasha/internal/store"
)

// OperatorCookieName is the operator session's cookie, sent only to
// /operator.
const OperatorCookieName = "bahasha_operator"

// operatorRoutes adds the operator's pages: sign-in with the admin key,
// and the platform's health (the report GET /admin/v1/health answers).
func (d *Dashboard) operatorRoutes(mux *http.ServeMux) {
	mux.Handle("GET /operator/signin", d.protect(d.operatorOn(d.operatorSigninPage)))
	mux.Handle("POST /operator/signin", d.protect(d.operatorOn(d.operatorSignin)))
	mux.Handle("POST /operator/signout", d.protect(d.operatorOn(d.operatorSignout)))
	mux.Handle("GET /operator", d.protect(d.operatorOn(d.operatorAuthed(d.operatorHealth))))
}

// operatorOn answers 404 for every operator page while the admin key is
// not set.
func (d *Dashboard) operatorOn(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if d.adminKeyHash == nil {
			d.renderProblem(w, r, nil, notFound("The operator's page is off: start bahasha serve with BAHASHA_ADMIN_KEY set to use it."))
			return
		}
		h(w, r)
	}
}

// operatorSession reports whether the request carries a live operator
// session opened with the current admin key.
func (d *Dashboard) operatorSession(r *http.Request) error {
	c, err := r.Cookie(OperatorCookieName)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return errNoSession
	}
	err = d.store.CheckOperatorSession(r.Context(), store.OperatorSessionParams{TokenHash: accounts.HashKey(c.Value),
		KeyHash: d.adminKeyHash, Now: d.now()})
	if errors.Is(err, store.ErrNotFound) {
		return errNoSession
	}
	return err
}

func (d *Dashboard) operatorAuthed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		err := d.operatorSession(r)
		if errors.Is(err, errNoSession) {
			http.Redirect(w, r, "/operator/signin", http.StatusSeeOther)
			return
		}
		if err != nil {
			d.renderProblem(w, r, nil, err)
			return
		}
		h(w, r)
	}
}

func (d *Dashboard) operatorSigninPage(w http.ResponseWriter, r *http.Request) {
	if d.operatorSession(r) == nil {
		http.Redirect(w, r, "/operator", http.StatusSeeOther)
		return
	}
	p := page{Title: "Operator sign-in"}
	if r.URL.Query().Get("signed_out") == "1" {
		p.Flash = "You are signed out."
	}
	d.render(w, r, http.StatusOK, "operator_signin", p)
}

// operatorSignin turns the admin key, sent in the form body, into an
// operator session bound to that key: changing BAHASHA_ADMIN_KEY ends it.
func (d *Dashboard) operatorSignin(w http.ResponseWriter, r *http.Request) {
	fail := func(status int, msg string) {
		d.render(w, r, status, "operator_signin", page{Title: "Operator sign-in", Problem: msg})
	}
	if err := parseForm(r); err != nil {
		status, msg := classify(err)
		if status < 400 || status >= 500 {
			status, msg = http.StatusBadRequest, "The form could not be read; try again."
		}
		fail(status, msg)
		return
	}
	key := strings.TrimSpace(r.PostForm.Get("admin_key"))
	if key == "" {
		fail(http.StatusBadRequest, "Enter the admin key: the value of BAHASHA_ADMIN_KEY that bahasha serve was started with.")
		return
	}
	addr := clientAddr(r, d.cfg.TrustedProxies)
	if until, blocked := d.signins.blocked(addr, d.now()); blocked {
		w.Header().Set("Retry-After", strconv.Itoa(int(until.Sub(d.now()).Seconds())+1))
		fail(http.StatusTooManyRequests, fmt.Sprintf("Too many wrong keys from your address: try again after %s (UTC).",
			until.UTC().Format("15:04:05")))
		return
	}
	if subtle.ConstantTimeCompare(accounts.HashKey(key), d.adminKeyHash) != 1 {
		d.signins.failed(addr, d.now())
		fail(http.StatusUnauthorized, "That is not the admin key. Use the value of BAHASHA_ADMIN_KEY (an account's API key does not open this page).")
		return
	}
	token, err := accounts.Token(d.rand, 32)
	if err != nil {
		d.renderProblem(w, r, nil, err)
		return
	}
	now := d.now()
	expires := now.Add(d.cfg.SessionTTL)
	if err := d.store.CreateOperatorSession(r.Context(), store.OperatorSession{TokenHash: accounts.HashKey(token), KeyHash: d.adminKeyHash,
		CreatedAt: now, ExpiresAt: expires}); err != nil {
		d.renderProblem(w, r, nil, err)
		return
	}
	d.log.Info("operator signed in to the dashboard", "address", addr)
	http.SetCookie(w, &http.Cookie{Name: OperatorCookieName, Value: token, Path: "/operator", Expires: expires.UTC(),
		MaxAge: int(d.cfg.SessionTTL.Seconds()), HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	http.Redirect(w, r, "/operator", http.StatusSeeOther)
}

func (d *Dashboard) operatorSignout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(OperatorCookieName); err == nil && c.Value != "" {
		if err := d.store.DeleteOperatorSession(r.Context(), accounts.HashKey(c.Value)); err != nil {
			d.renderProblem(w, r, nil, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: OperatorCookieName, Value: "", Path: "/operator", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteStrictMode, Secure: secure(r)})
	http.Redirect(w, r, "/operator/signin?signed_out=1", http.StatusSeeOther)
}

type operatorData struct {
	operations.Report
	// Healths are the endpoint health names in the order shown.
	Healths []string
}

// operatorHealth shows the platform's health, as GET /admin/v1/health
// answers it.
func (d *Dashboard) operatorHealth(w http.ResponseWriter, r *http.Request) {
	rep, err := operations.Health(r.Context(), d.store, d.now())
	if err != nil {
		d.renderProblem(w, r, nil, err)
		return
	}
	d.render(w, r, http.StatusOK, "operator", page{Title: "Platform health", Operator: true, Nav: "operator",
		Data: operatorData{Report: rep, Healths: store.EndpointHealths}})
}
