package dashboard

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/bahasha/bahasha/internal/access"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/store"
)

// linkURL is the address of a one-time link (access.LinkURL).
func (d *Dashboard) linkURL(r *http.Request, token string) string {
	return access.LinkURL(d.cfg.PublicURL, r, token)
}

// mailLink e-mails a one-time link when --smtp-url and a public URL are
// set, and reports whether it did.
func (d *Dashboard) mailLink(ctx context.Context, r *http.Request, u bahasha.User, token, purpose string) bool {
	if d.mail == nil || d.cfg.PublicURL == "" {
		return false
	}
	subject, body := "Set your Bahasha password", "Open this link to set a new password for "+u.Email+" (it works once, for an hour):\n\n"
	if purpose == store.LinkInvite {
		subject = "You are invited to Bahasha"
		body = "You were invited to an account on Bahasha as " + string(u.Role) + ". Open this link to choose your password (it works once, for 7 days):\n\n"
	}
	body += d.linkURL(r, token) + "\n\nIf you did not expect this e-mail, ignore it.\n"
	if err := d.mail.Send(context.WithoutCancel(ctx), access.Message{To: u.Email, Subject: subject, Body: body}); err != nil {
		d.log.Error("dashboard: e-mail not sent", "purpose", purpose, "user", u.ID, "err", err)
		return false
	}
	return true
}

// welcomeData keeps a failed form's token, so that the member can try
// again (the address bar no longer has it).
type welcomeData struct{ Token string }

// welcomePage is where a one-time link lands: a form for the new
// password, whose script takes the token from the fragment.
func (d *Dashboard) welcomePage(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusOK, "welcome", page{Title: "Choose your password"})
}

// welcome sets the password of a one-time link, once, and signs the
// member in.
func (d *Dashboard) welcome(w http.ResponseWriter, r *http.Request) {
	fail := func(err error) {
		status, msg := classify(err)
		if status >= 500 {
			d.renderProblem(w, r, nil, err)
			return
		}
		var data any
		if errors.Is(err, access.ErrLinkInvalid) {
			data = nil // a dead link: nothing to try again with
		} else if r.PostForm != nil {
			data = welcomeData{Token: strings.TrimSpace(r.PostForm.Get("token"))}
		}
		d.render(w, r, status, "welcome", page{Title: "Choose your password", Problem: msg, Data: data})
	}
	if err := parseForm(r); err != nil {
		fail(formError(err))
		return
	}
	if d.svc.Access == nil {
		fail(access.ErrLinkInvalid)
		return
	}
	pw := r.PostForm.Get("password")
	if pw != r.PostForm.Get("password_again") {
		fail(problem.Invalid("The two passwords differ; type the same password twice."))
		return
	}
	u, err := d.svc.Access.UseLink(r.Context(), strings.TrimSpace(r.PostForm.Get("token")), pw, clientAddr(r, d.cfg.TrustedProxies))
	if err != nil {
		fail(err)
		return
	}
	if err := d.startSession(w, r, store.Session{AccountID: u.AccountID, UserID: u.ID}); err != nil {
		d.renderProblem(w, r, nil, err)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// resetPage asks for an email to send a reset link to (with --smtp-url).
func (d *Dashboard) resetPage(w http.ResponseWriter, r *http.Request) {
	d.render(w, r, http.StatusOK, "reset", page{Title: "Reset your password", Data: d.mail != nil && d.cfg.PublicURL != ""})
}

// requestReset e-mails a reset link to a member, and answers the same for
// any email, so that it tells nobody who is a member. Limited like
// sign-ins.
func (d *Dashboard) requestReset(w http.ResponseWriter, r *http.Request) {
	if err := parseForm(r); err != nil {
		d.renderProblem(w, r, nil, formError(err))
		return
	}
	if d.mail == nil || d.cfg.PublicURL == "" || d.svc.Access == nil {
		d.render(w, r, http.StatusNotFound, "reset", page{Title: "Reset your password", Data: false})
		return
	}
	addr := clientAddr(r, d.cfg.TrustedProxies)
	now := d.now()
	if _, blocked := d.signins.blocked(addr, now); blocked {
		d.render(w, r, http.StatusTooManyRequests, "reset", page{Title: "Reset your password", Data: true,
			Problem: "Too many attempts from your address; try again in a minute."})
		return
	}
	d.signins.failed(addr, now) // every request counts: it can send an e-mail
	email := strings.ToLower(strings.TrimSpace(r.PostForm.Get("email")))
	if _, blocked := d.emailSignins.blocked(email, now); blocked {
		// This email had its share: nothing is sent, and the answer is
		// the same as ever.
		http.Redirect(w, r, "/signin?reset=1", http.StatusSeeOther)
		return
	}
	d.emailSignins.failed(email, now)
	u, token, ok, err := d.svc.Access.RequestReset(r.Context(), email, addr)
	var pe *problem.Error
	if errors.As(err, &pe) && pe.Status < 500 {
		d.render(w, r, pe.Status, "reset", page{Title: "Reset your password", Data: true, Problem: pe.Message})
		return
	}
	if err != nil {
		d.renderProblem(w, r, nil, err)
		return
	}
	if ok {
		// Sent after the answer, so that how long the answer takes says
		// nothing of whether the email is a member's.
		d.mailing.Add(1)
		go func() {
			defer d.mailing.Done()
			d.mailLink(r.Context(), r, u, token, store.LinkReset)
		}()
	}
	http.Redirect(w, r, "/signin?reset=1", http.StatusSeeOther)
}

type membersData struct {
	Members []bahasha.User
	Roles   []bahasha.Role
	// Link is a one-time link just made, shown once, for Email.
	Link, LinkEmail string
	Mailed          bool
	Self            string
}

func (d *Dashboard) showMembers(w http.ResponseWriter, r *http.Request, acc bahasha.Account, status int, data membersData, flash, prob string) error {
	ms, err := d.store.Users(r.Context(), acc.ID)
	if err != nil {
		return err
	}
	data.Members, data.Roles, data.Self = ms, bahasha.Roles, principalOf(r).User.ID
	d.render(w, r, status, "members", page{Title: "Settings → Members", Nav: "members", Account: &acc, Data: data, Flash: flash, Problem: prob})
	return nil
}

func (d *Dashboard) membersPage(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	return d.showMembers(w, r, acc, http.StatusOK, membersData{}, "", "")
}

// showProblem shows a problem a client can fix on the page, and returns
// any other error.
func showProblem(err error, show func(status int, msg string) error) error {
	status, msg := classify(err)
	if status >= 500 {
		return err
	}
	return show(status, msg)
}

func (d *Dashboard) invite(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	if err := parseForm(r); err != nil {
		return formError(err)
	}
	u, token, err := d.svc.Access.Invite(r.Context(), d.actor(r), access.InviteParams{AccountID: acc.ID, Email: r.PostForm.Get("email"),
		Name: r.PostForm.Get("name"), Role: bahasha.Role(r.PostForm.Get("role"))})
	if err != nil {
		return showProblem(err, func(status int, msg string) error { return d.showMembers(w, r, acc, status, membersData{}, "", msg) })
	}
	data := membersData{Link: d.linkURL(r, token), LinkEmail: u.Email, Mailed: d.mailLink(r.Context(), r, u, token, store.LinkInvite)}
	return d.showMembers(w, r, acc, http.StatusOK, data, u.Email+" is invited as "+string(u.Role)+".", "")
}

func (d *Dashboard) setRole(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	if err := parseForm(r); err != nil {
		return formError(err)
	}
	err := d.svc.Access.SetRole(r.Context(), d.actor(r), acc.ID, r.PathValue("id"), bahasha.Role(r.PostForm.Get("role")))
	if err != nil {
		return showProblem(err, func(status int, msg string) error { return d.showMembers(w, r, acc, status, membersData{}, "", msg) })
	}
	return d.showMembers(w, r, acc, http.StatusOK, membersData{}, "The role was changed; it applies from the member's next page.", "")
}

func (d *Dashboard) memberLink(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	token, err := d.svc.Access.ResetLink(r.Context(), d.actor(r), acc.ID, r.PathValue("id"))
	if err != nil {
		return showProblem(err, func(status int, msg string) error { return d.showMembers(w, r, acc, status, membersData{}, "", msg) })
	}
	u, err := d.store.User(r.Context(), store.GetUserParams{AccountID: acc.ID, UserID: r.PathValue("id")})
	if err != nil {
		return err
	}
	purpose := store.LinkReset
	if u.Invited() {
		purpose = store.LinkInvite
	}
	mailed := d.mailLink(r.Context(), r, u, token, purpose)
	if mailed && !u.Invited() {
		// A member's password reset goes to their inbox only: the owner
		// never holds a way to sign in as them.
		return d.showMembers(w, r, acc, http.StatusOK, membersData{}, "A link to set a new password was e-mailed to "+u.Email+".", "")
	}
	data := membersData{Link: d.linkURL(r, token), LinkEmail: u.Email, Mailed: mailed}
	return d.showMembers(w, r, acc, http.StatusOK, data, "A new one-time link for "+u.Email+" is below.", "")
}

func (d *Dashboard) removeMember(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	if err := d.svc.Access.Remove(r.Context(), d.actor(r), acc.ID, r.PathValue("id")); err != nil {
		return showProblem(err, func(status int, msg string) error { return d.showMembers(w, r, acc, status, membersData{}, "", msg) })
	}
	if r.PathValue("id") == principalOf(r).User.ID {
		http.Redirect(w, r, "/signin?signed_out=1", http.StatusSeeOther)
		return nil
	}
	return d.showMembers(w, r, acc, http.StatusOK, membersData{}, "The member was removed and signed out everywhere.", "")
}

type keysData struct {
	Keys   []bahasha.APIKey
	Scopes []bahasha.KeyScope
	// New is a key just made, shown once.
	New     string
	NewName string
}

func (d *Dashboard) showKeys(w http.ResponseWriter, r *http.Request, acc bahasha.Account, status int, data keysData, flash, prob string) error {
	ks, err := d.svc.Access.Keys(r.Context(), acc.ID)
	if err != nil {
		return err
	}
	data.Keys, data.Scopes = ks, bahasha.KeyScopes
	d.render(w, r, status, "keys", page{Title: "Settings → API keys", Nav: "keys", Account: &acc, Data: data, Flash: flash, Problem: prob})
	return nil
}

func (d *Dashboard) keysPage(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	return d.showKeys(w, r, acc, http.StatusOK, keysData{}, "", "")
}

func (d *Dashboard) createKey(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	if err := parseForm(r); err != nil {
		return formError(err)
	}
	k, key, err := d.svc.Access.CreateKey(r.Context(), d.actor(r), access.CreateKeyParams{AccountID: acc.ID, Name: r.PostForm.Get("name"),
		Scope: bahasha.KeyScope(r.PostForm.Get("scope"))})
	if err != nil {
		return showProblem(err, func(status int, msg string) error { return d.showKeys(w, r, acc, status, keysData{}, "", msg) })
	}
	return d.showKeys(w, r, acc, http.StatusOK, keysData{New: key, NewName: k.Name}, "", "")
}

func (d *Dashboard) revokeKey(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	k, err := d.svc.Access.RevokeKey(r.Context(), d.actor(r), acc.ID, r.PathValue("id"))
	if err != nil {
		return showProblem(err, func(status int, msg string) error { return d.showKeys(w, r, acc, status, keysData{}, "", msg) })
	}
	if k.ID == principalOf(r).KeyID {
		http.Redirect(w, r, "/signin?signed_out=1", http.StatusSeeOther)
		return nil
	}
	return d.showKeys(w, r, acc, http.StatusOK, keysData{}, "The key "+k.Name+" was revoked: it is refused from now on.", "")
}

type auditData struct {
	Entries       []bahasha.AuditEntry
	Action, Actor string
	Next          string
}

func (d *Dashboard) auditPage(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	q := r.URL.Query()
	p, err := access.AuditQuery(q, acc.ID)
	data := auditData{Action: p.Action, Actor: p.ActorID}
	if err != nil {
		d.render(w, r, http.StatusBadRequest, "audit", page{Title: "Settings → Audit log", Nav: "audit", Account: &acc, Data: data,
			Problem: problem.Classify(err).Message})
		return nil
	}
	if data.Entries, err = d.svc.Access.AuditLog(r.Context(), p); err != nil {
		return err
	}
	if len(data.Entries) == p.Limit {
		v := url.Values{"before": {strconv.FormatInt(data.Entries[len(data.Entries)-1].ID, 10)}}
		if p.Action != "" {
			v.Set("action", p.Action)
		}
		if p.ActorID != "" {
			v.Set("actor", p.ActorID)
		}
		data.Next = "/settings/audit-log?" + v.Encode()
	}
	d.render(w, r, http.StatusOK, "audit", page{Title: "Settings → Audit log", Nav: "audit", Account: &acc, Data: data})
	return nil
}

type accountData struct {
	User     bahasha.User
	Member   bool
	Sessions []store.Session
	Current  string
}

func (d *Dashboard) showAccount(w http.ResponseWriter, r *http.Request, acc bahasha.Account, status int, flash, prob string) error {
	p := principalOf(r)
	data := accountData{User: p.User, Member: p.Member()}
	if p.Member() {
		ss, err := d.store.UserSessions(r.Context(), store.UserSessionsParams{AccountID: acc.ID, UserID: p.User.ID, Now: d.now()})
		if err != nil {
			return err
		}
		data.Sessions = ss
		for _, s := range ss {
			if string(s.TokenHash) == string(p.TokenHash) {
				data.Current = s.ID
			}
		}
	}
	d.render(w, r, status, "account", page{Title: "Your sign-in", Nav: "account", Account: &acc, Data: data, Flash: flash, Problem: prob})
	return nil
}

func (d *Dashboard) accountPage(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	return d.showAccount(w, r, acc, http.StatusOK, "", "")
}

func (d *Dashboard) changePassword(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	if err := parseForm(r); err != nil {
		return formError(err)
	}
	p := principalOf(r)
	if !p.Member() {
		return d.showAccount(w, r, acc, http.StatusBadRequest, "", "You signed in with an API key, which has no password.")
	}
	if r.PostForm.Get("new_password") != r.PostForm.Get("new_password_again") {
		return d.showAccount(w, r, acc, http.StatusBadRequest, "", "The two new passwords differ; type the same password twice.")
	}
	err := d.svc.Access.ChangePassword(r.Context(), p.User, r.PostForm.Get("current_password"), r.PostForm.Get("new_password"), p.TokenHash,
		clientAddr(r, d.cfg.TrustedProxies))
	if err != nil {
		return showProblem(err, func(status int, msg string) error { return d.showAccount(w, r, acc, status, "", msg) })
	}
	return d.showAccount(w, r, acc, http.StatusOK, "Your password was changed, and your other sessions were ended.", "")
}

func (d *Dashboard) revokeSession(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	p := principalOf(r)
	err := d.store.DeleteUserSession(r.Context(), store.DeleteUserSessionParams{AccountID: acc.ID, UserID: p.User.ID, SessionID: r.PathValue("id")})
	if errors.Is(err, store.ErrNotFound) {
		return d.showAccount(w, r, acc, http.StatusNotFound, "", "You have no such session; it may have ended already.")
	}
	if err != nil {
		return err
	}
	d.svc.Access.Record(r.Context(), d.actor(r), acc.ID, "session.revoked", r.PathValue("id"), nil)
	return d.showAccount(w, r, acc, http.StatusOK, "The session was ended.", "")
}
