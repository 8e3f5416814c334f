package dashboard

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/bahasha/bahasha/internal/access"
	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/store"
)

// errNoSession: the request has no valid session.
var errNoSession = errors.New("dashboard: not signed in")

// principal is who is signed in: a member, or (serve
// --dashboard-key-signin) an API key.
type principal struct {
	Account bahasha.Account
	// User is the member; its ID is empty for an API-key session.
	User bahasha.User
	// Role is the member's role, or the key's: full → owner, read →
	// viewer.
	Role bahasha.Role
	// KeyID is the key of an API-key session.
	KeyID string
	// TokenHash is the session's.
	TokenHash []byte
	// Label names who it is, for the page and the audit log.
	Label string
}

// Member reports whether a member (not a key) is signed in.
func (p principal) Member() bool { return p.User.ID != "" }

// May reports whether the principal's role allows what need does.
func (p principal) May(need bahasha.Role) bool { return p.Role.Allows(need) }

type principalKey struct{}

// principalOf is the request's principal (set by authed).
func principalOf(r *http.Request) principal {
	p, _ := r.Context().Value(principalKey{}).(principal)
	return p
}

// actor is the request's principal, for the audit log.
func (d *Dashboard) actor(r *http.Request) access.Actor {
	p := principalOf(r)
	addr := clientAddr(r, d.cfg.TrustedProxies)
	if p.Member() {
		return access.UserActor(p.User, addr)
	}
	return access.Actor{Kind: bahasha.ActorKey, ID: p.KeyID, Label: p.Label, Addr: addr}
}

// who returns the principal of the request's session cookie.
func (d *Dashboard) who(r *http.Request) (principal, error) {
	c, err := r.Cookie(CookieName)
	if err != nil || c.Value == "" || len(c.Value) > 128 {
		return principal{}, errNoSession
	}
	hash := accounts.HashKey(c.Value)
	v, err := d.store.SessionByToken(r.Context(), store.SessionAccountParams{TokenHash: hash, Now: d.now()})
	if errors.Is(err, store.ErrNotFound) {
		return principal{}, errNoSession
	}
	if err != nil {
		return principal{}, err
	}
	p := principal{Account: v.Account, User: v.User, Role: v.User.Role, KeyID: v.Session.KeyID, TokenHash: hash, Label: v.User.Email}
	if !p.Member() {
		// An API-key session (the store found its key unrevoked): only
		// while --dashboard-key-signin is on, as the key's scope allows.
		p.Label = v.KeyName
		switch {
		case !d.cfg.KeySignin:
			return principal{}, errNoSession
		case v.KeyScope == bahasha.ScopeFull:
			p.Role = bahasha.RoleOwner
		case v.KeyScope == bahasha.ScopeRead:
			p.Role = bahasha.RoleViewer
		default:
			return principal{}, errNoSession
		}
	}
	if !p.Role.Valid() {
		return principal{}, errNoSession
	}
	return p, nil
}

// session returns the account of the request's session cookie.
func (d *Dashboard) session(r *http.Request) (bahasha.Account, error) {
	p, err := d.who(r)
	return p.Account, err
}

// forbidden is the answer to a page or form the principal's role may not
// use: the server refuses, whatever the page showed.
func forbidden(p principal, need bahasha.Role) *problem.Error {
	return problem.New(http.StatusForbidden, "forbidden",
		"Your role in this account is %s, and this needs %s or above. Ask an owner of the account to change your role.", p.Role, need)
}

// authed runs h for a principal whose role allows need, and sends everyone
// signed out to the sign-in page (back here afterwards, for a GET).
func (d *Dashboard) authed(need bahasha.Role, h handlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p, err := d.who(r)
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
		r = r.WithContext(context.WithValue(r.Context(), principalKey{}, p))
		if !p.May(need) {
			d.renderProblem(w, r, &p.Account, forbidden(p, need))
			return
		}
		if err := h(w, r, p.Account); err != nil {
			d.renderProblem(w, r, &p.Account, err)
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
	Next  string
	Email string
	// KeySignin shows the API-key form (serve --dashboard-key-signin).
	KeySignin bool
	// Reset offers "forgot your password" by e-mail (serve --smtp-url).
	Reset bool
}

func (d *Dashboard) signinData(next, email string) signinData {
	return signinData{Next: next, Email: email, KeySignin: d.cfg.KeySignin, Reset: d.mail != nil}
}

func (d *Dashboard) signinPage(w http.ResponseWriter, r *http.Request) {
	next := localPath(r.URL.Query().Get("next"))
	if _, err := d.session(r); err == nil {
		http.Redirect(w, r, next, http.StatusSeeOther)
		return
	}
	p := page{Title: "Sign in", Data: d.signinData(next, "")}
	switch {
	case r.URL.Query().Get("signed_out") == "1":
		p.Flash = "You are signed out."
	case r.URL.Query().Get("reset") == "1":
		p.Flash = "If that email belongs to a member, a link to set a new password is on its way. It works for an hour."
	}
	d.render(w, r, http.StatusOK, "signin", p)
}

// signin turns an email and password (or, with --dashboard-key-signin, an
// API key) sent in the form body into a session. Neither is ever logged,
// put in a URL or shown again. Failures are limited per client address
// and per email.
func (d *Dashboard) signin(w http.ResponseWriter, r *http.Request) {
	next, email := "/", ""
	fail := func(status int, msg string) {
		d.render(w, r, status, "signin", page{Title: "Sign in", Problem: msg, Data: d.signinData(next, email)})
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
	email = strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
	if len(email) > 254 {
		email = email[:254]
	}
	key := strings.TrimSpace(r.PostForm.Get("api_key"))
	password := r.PostForm.Get("password")
	addr := clientAddr(r, d.cfg.TrustedProxies)
	now := d.now()
	for _, lim := range []struct {
		l     *failureLimit
		k, of string
	}{{d.signins, addr, "your address"}, {d.emailSignins, email, "this email"}} {
		if lim.k == "" {
			continue
		}
		if until, blocked := lim.l.blocked(lim.k, now); blocked {
			w.Header().Set("Retry-After", strconv.Itoa(int(until.Sub(now).Seconds())+1))
			fail(http.StatusTooManyRequests, fmt.Sprintf("Too many failed sign-ins from %s: try again after %s (UTC).",
				lim.of, until.UTC().Format("15:04:05")))
			return
		}
	}
	if key != "" && d.cfg.KeySignin {
		d.keySignin(w, r, key, addr, next, fail)
		return
	}
	if email == "" || password == "" {
		fail(http.StatusBadRequest, "Enter your email and your password.")
		return
	}
	if d.svc.Access == nil {
		fail(http.StatusNotFound, "Members cannot sign in on this server.")
		return
	}
	u, err := d.svc.Access.SignIn(r.Context(), email, password, addr)
	if errors.Is(err, access.ErrBadCredentials) {
		d.signins.failed(addr, now)
		d.emailSignins.failed(email, now)
		fail(http.StatusUnauthorized, access.ErrBadCredentials.Message)
		return
	}
	if err != nil {
		d.renderProblem(w, r, nil, err)
		return
	}
	if err := d.startSession(w, r, store.Session{AccountID: u.AccountID, UserID: u.ID}); err != nil {
		d.renderProblem(w, r, nil, err)
		return
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// keySignin opens a session with an API key (serve --dashboard-key-signin):
// a full key signs in as an owner, a read key as a viewer; a send key
// cannot.
func (d *Dashboard) keySignin(w http.ResponseWriter, r *http.Request, key, addr, next string, fail func(int, string)) {
	k, acc, err := d.store.KeyByHash(r.Context(), accounts.HashKey(key))
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
	if k.Scope == bahasha.ScopeSend {
		fail(http.StatusForbidden, "A key with scope send may use the Messages API only; sign in with a full or read key.")
		return
	}
	if err := d.startSession(w, r, store.Session{AccountID: acc.ID, KeyID: k.ID}); err != nil {
		d.renderProblem(w, r, nil, err)
		return
	}
	if d.svc.Access != nil {
		d.svc.Access.Record(r.Context(), access.KeyActor(k, addr), acc.ID, "session.signed_in", k.ID, nil)
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// startSession stores a new session like se and sets its cookie.
func (d *Dashboard) startSession(w http.ResponseWriter, r *http.Request, se store.Session) error {
	token, err := accounts.Token(d.rand, 32)
	if err != nil {
		return err
	}
	now := d.now()
	se.TokenHash, se.CreatedAt, se.ExpiresAt = accounts.HashKey(token), now, now.Add(d.cfg.SessionTTL)
	se.Addr = clientAddr(r, d.cfg.TrustedProxies)
	se.UserAgent = r.UserAgent()
	if len(se.UserAgent) > 200 {
		se.UserAgent = se.UserAgent[:200]
	}
	if err := d.store.CreateSession(r.Context(), se); err != nil {
		return err
	}
	http.SetCookie(w, &http.Cookie{Name: CookieName, Value: token, Path: "/", Expires: se.ExpiresAt.UTC(),
		MaxAge: int(d.cfg.SessionTTL.Seconds()), HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: secure(r)})
	return nil
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
