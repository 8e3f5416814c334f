package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// errNoSession: the request has no valid session.
var errNoSession = errors.New("dashboard: not signed in")

// session returns the account of the request's session cookie.
func (d *Dashboard) session(r *http.Request) (bahasha.Account, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return bahasha.Account{}, errNoSession
	}
	acc, err := d.store.SessionAccount(r.Context(), store.SessionAccountParams{TokenHash: accounts.HashKey(c.Value), Now: d.now()})
	if errors.Is(err, store.ErrNotFound) {
		return bahasha.Account{}, errNoSession
	}
	return acc, err
}

// authed runs h for the signed-in account, and sends everyone else to the
// sign-in page (back here afterwards, for a GET).
func (d *Dashboard) authed(h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		acc, err := d.session(r)
		if errors.Is(err, errNoSession) {
			target := "/signin"
			if r.Method == http.MethodGet && r.URL.Path != "/" {
				target += "?next=" + url.QueryEscape(r.URL.RequestURI())
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		if err != nil {
			d.renderProblem(w, r, nil, err)
			return
		}
		if err := h(w, r, acc); err != nil {
			d.renderProblem(w, r, &acc, err)
		}
	})
}

// localPath returns next if it is a path of this site, else "/".
func localPath(next string) string {
	u, err := url.Parse(next)
	if next == "" || err != nil || u.Scheme != "" || u.Host != "" || u.User != nil ||
		!strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return "/"
	}
	return next
}

type signinData struct {
	Next string
}

func (d *Dashboard) signinPage(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	if _, err := d.session(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	p := page{Title: "Sign in", Data: signinData{Next: next}}
	if r.URL.Query().Get("signed_out") == "1" {
		p.Flash = "You are signed out."
	}
	d.render(w, r, http.StatusOK, "signin", p)
}

// signin turns an API key, sent in the form body, into a session. The key
// is never logged, put in a URL or shown again.
func (d *Dashboard) signin(w http.ResponseWriter, r *http.Request) {
	next := "/"
	fail := func(status int, msg string) {
		d.render(w, r, status, "signin", page{Title: "Sign in", Problem: msg, Data: signinData{Next: next}})
	}
	if err := parseForm(r); err != nil {
		status, msg := classify(err)
		if status < 400 || status >= 500 {
			status, msg = http.StatusBadRequest, "The form could not be read; try again."
		}
		fail(status, msg)
		return
	}
	next = localPath(r.PostForm.Get("next"))
	key := strings.TrimSpace(r.PostForm.Get("api_key"))
	if key == "" {
		fail(http.StatusBadRequest, "Enter your API key: the key printed when your account was created (it starts with bh_).")
		return
	}
	addr := clientAddr(r, d.cfg.TrustedProxies)
	if until, blocked := d.signins.blocked(addr, d.now()); blocked {
		w.Header().Set("Retry-After", strconv.Itoa(int(until.Sub(d.now()).Seconds())+1))
		fail(http.StatusTooManyRequests, fmt.Sprintf("Too many wrong API keys from your address: try again after %s (UTC).",
			until.UTC().Format("15:04:05")))
		return
	}
	acc, err := d.store.AccountByKeyHash(r.Context(), accounts.HashKey(key))
	if errors.Is(err, store.ErrNotFound) {
		d.signins.failed(addr, d.now())
		fail(http.StatusUnauthorized, "That API key is not valid. Use the key printed when your account was created "+
			"(bahasha accounts create prints it once), without spaces.")
		return
	}
	if err != nil {
		d.renderProblem(w, r, nil, err)
		return
	}
	token, err := accounts.Token(d.rand, 32)
	if err != nil {
		d.renderProblem(w, r, nil, err)
		return
	}
	now := d.now()
	expires := now.Add(d.cfg.SessionTTL)
	if err := d.store.CreateSession(r.Context(), store.Session{TokenHash: accounts.HashKey(token), AccountID: acc.ID,
		CreatedAt: now, ExpiresAt: expires}); err != nil {
		d.renderProblem(w, r, nil, err)
		return
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/", Expires: expires.UTC(),
		MaxAge: int(d.cfg.SessionTTL.Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: secure(r)})
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// signout ends the session and clears the cookie.
func (d *Dashboard) signout(w http.ResponseWriter, r *http.Request) {
	if c, err := r.Cookie(CookieName); err == nil && c.Value != "" {
		if err := d.store.DeleteSession(r.Context(), accounts.HashKey(c.Value)); err != nil {
			d.renderProblem(w, r, nil, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: secure(r)})
	http.Redirect(w, r, "/signin?signed_out=1", http.StatusSeeOther)
}

// secure reports whether the session cookie is marked Secure: whenever the
// request came over TLS, directly or through a proxy that says so
// (X-Forwarded-Proto: https; a client that claims it over plain HTTP only
// keeps its own cookie from coming back).
func secure(r *http.Request) bool {
	return r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}
