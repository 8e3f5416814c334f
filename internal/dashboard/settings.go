package dashboard

import (
	"errors"
	"net/http"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/bahasha/bahasha/internal/accounts"
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/handshake"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/registration"
	"github.com/bahasha/bahasha/internal/store"
)

type settingsData struct {
	// Endpoint is the registered webhook, nil when none.
	Endpoint *bahasha.Endpoint
	// URL is the URL field's value.
	URL string
	// Result is the outcome of "Verify and save", nil before.
	Result *verifyView
	// Secret is shown after Reveal or Rotate; Previous after Rotate.
	Secret, PreviousSecret string
	// ConfirmRemove asks to confirm removing the webhook.
	ConfirmRemove bool
	MaxToken      int

	// Groups are the account's endpoints (the primary one too) by scope.
	Groups []scopeGroup
	// Notices are the latest operational events.
	Notices []noticeView
	// Count of the account's endpoints, and the most it may have.
	Count, Max int
	// Add is the "Add an endpoint" form; AddResult the outcome of its
	// handshake, nil before.
	Add       endpointForm
	AddResult *verifyView
	book      scopeBook
}

// verifyView is a handshake's outcome as the page shows it.
type verifyView struct {
	OK         bool
	Reason     string
	Message    string
	Sent       bool
	Method     string
	URL        string
	Headers    []headerView
	Answered   bool
	StatusCode int
	StatusText string
	Expected   string
	Got        string
	Duration   time.Duration
	// Saved is said after a passed handshake, Kept after a failed one.
	Saved, Kept string
}

type headerView struct{ Name, Value string }

func toVerifyView(res handshake.Result) *verifyView {
	v := &verifyView{OK: res.OK, Reason: string(res.Reason), Message: res.Message, Expected: res.Expected,
		StatusCode: res.StatusCode, StatusText: http.StatusText(res.StatusCode), Got: res.Got, Duration: res.Duration,
		Saved: "The webhook is saved; events start flowing to it now.", Kept: "Any webhook registered before stays in force."}
	if res.Request.Method != "" {
		v.Sent, v.Method, v.URL = true, res.Request.Method, res.Request.URL
		for k := range res.Request.Header {
			v.Headers = append(v.Headers, headerView{k, res.Request.Header.Get(k)})
		}
		slices.SortFunc(v.Headers, func(a, b headerView) int { return strings.Compare(a.Name, b.Name) })
	}
	v.Answered = res.StatusCode != 0
	return v
}

// settingsPage loads what every variant of the Settings → Webhooks page
// shows.
func (d *Dashboard) settingsPage(r *http.Request, acc bahasha.Account) (settingsData, error) {
	data := settingsData{MaxToken: registration.MaxVerifyTokenLength, Max: store.MaxEndpoints}
	e, err := d.store.Endpoint(r.Context(), acc.ID)
	switch {
	case errors.Is(err, store.ErrNotFound):
	case err != nil:
		return data, err
	default:
		data.Endpoint, data.URL = &e, e.URL
	}
	if data.book, err = d.scopeBook(r.Context(), acc.ID); err != nil {
		return data, err
	}
	es, err := d.store.Endpoints(r.Context(), acc.ID)
	if err != nil {
		return data, err
	}
	data.Groups, data.Count, data.Add = data.book.groups(es, d.now()), len(es), data.book.newForm()
	if data.Notices, err = d.notices(r.Context(), acc.ID); err != nil {
		return data, err
	}
	return data, nil
}

func (d *Dashboard) showSettings(w http.ResponseWriter, r *http.Request, acc bahasha.Account, status int, data settingsData, flash, prob string) {
	d.render(w, r, status, "settings", page{Title: "Settings → Webhooks", Nav: "settings", Account: &acc, Data: data,
		Flash: flash, Problem: prob})
}

var settingsFlashes = map[string]string{
	"removed": "The webhook was removed. Its pending deliveries were marked failed; new events are stored but not delivered until you register a webhook again.",
}

func (d *Dashboard) settings(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	data, err := d.settingsPage(r, acc)
	if err != nil {
		return err
	}
	d.showSettings(w, r, acc, http.StatusOK, data, settingsFlash(r.URL.Query()), "")
	return nil
}

// verifyAndSave validates the form as PUT /v1/webhook does, runs the
// handshake and, when it passes, saves the webhook. Whatever the outcome,
// the page shows it with the request Bahasha sent.
func (d *Dashboard) verifyAndSave(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	if err := parseForm(r); err != nil {
		return formError(err)
	}
	data, err := d.settingsPage(r, acc)
	if err != nil {
		return err
	}
	rawURL := strings.TrimSpace(r.PostForm.Get("url"))
	token := r.PostForm.Get("verify_token")
	data.URL = withoutUserinfo(rawURL) // a refused URL's password is never shown back
	invalid := func(msg string) error {
		d.showSettings(w, r, acc, http.StatusBadRequest, data, "", msg)
		return nil
	}
	switch {
	case rawURL == "":
		return invalid("Enter the webhook URL: the public https URL of your webhook, e.g. https://yourapp.com/webhook.")
	case token == "":
		return invalid("Enter the verification token: the secret your GET handler compares with hub.verify_token (WEBHOOK_VERIFICATION_TOKEN).")
	case len(token) > registration.MaxVerifyTokenLength:
		return invalid("The verification token is longer than 512 characters; use a shorter one.")
	}
	e, res, err := d.svc.Registration.Register(r.Context(), registration.Params{AccountID: acc.ID, URL: rawURL, VerifyToken: token})
	if err != nil {
		return err
	}
	data.Result = toVerifyView(res)
	if !res.OK {
		d.showSettings(w, r, acc, handshakeStatus(res), data, "", "")
		return nil
	}
	// The list shows the new primary webhook too.
	if data, err = d.settingsPage(r, acc); err != nil {
		return err
	}
	data.Result = toVerifyView(res)
	data.Endpoint, data.URL = &e, e.URL
	d.showSettings(w, r, acc, http.StatusOK, data, "", "")
	return nil
}

// revealSecret shows the app secret, in the body of a POST's response only.
func (d *Dashboard) revealSecret(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	data, err := d.settingsPage(r, acc)
	if err != nil {
		return err
	}
	data.Secret = acc.AppSecret
	d.showSettings(w, r, acc, http.StatusOK, data, "", "")
	return nil
}

// rotateSecret replaces the app secret and shows the new and the previous.
func (d *Dashboard) rotateSecret(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	data, err := d.settingsPage(r, acc)
	if err != nil {
		return err
	}
	secret, err := accounts.Token(d.rand, 32)
	if err != nil {
		return err
	}
	if err := d.store.SetAppSecret(r.Context(), store.SetAppSecretParams{AccountID: acc.ID, Secret: secret}); err != nil {
		return err
	}
	data.Secret, data.PreviousSecret = secret, acc.AppSecret
	d.showSettings(w, r, acc, http.StatusOK, data, "The app secret was rotated: deliveries are signed with the new secret from now on.", "")
	return nil
}

// removeWebhook asks for confirmation, then removes the webhook.
func (d *Dashboard) removeWebhook(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	if err := parseForm(r); err != nil {
		return formError(err)
	}
	data, err := d.settingsPage(r, acc)
	if err != nil {
		return err
	}
	if data.Endpoint == nil {
		d.showSettings(w, r, acc, http.StatusNotFound, data, "", "No webhook is registered, so there is nothing to remove.")
		return nil
	}
	if r.PostForm.Get("confirm") != "yes" {
		data.ConfirmRemove = true
		d.showSettings(w, r, acc, http.StatusOK, data, "", "")
		return nil
	}
	err = d.store.DeleteEndpoint(r.Context(), store.DeleteEndpointParams{AccountID: acc.ID, Now: d.now(), Reason: "the webhook was removed before this delivery succeeded"})
	if errors.Is(err, store.ErrNotFound) {
		d.showSettings(w, r, acc, http.StatusNotFound, data, "", "No webhook is registered, so there is nothing to remove.")
		return nil
	}
	if err != nil {
		return err
	}
	http.Redirect(w, r, "/settings/webhooks?flash=removed", http.StatusSeeOther)
	return nil
}

// withoutUserinfo drops the user name and password from a URL (whether or
// not it parses): "https://user:pass@host/p" is shown as "https://host/p".
func withoutUserinfo(raw string) string {
	scheme, rest, ok := strings.Cut(raw, "//")
	if !ok {
		return raw
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return raw
	}
	return scheme + "//" + rest[at+1:]
}

// parseForm parses a form POST and refuses values that are not UTF-8 text
// (a browser always sends UTF-8 from these pages): nothing the dashboard
// stores, sends or shows is anything else.
func parseForm(r *http.Request) error {
	if err := r.ParseForm(); err != nil {
		return err
	}
	for name, values := range r.PostForm {
		if !utf8.ValidString(name) {
			return badInput("A field name of the form is not valid UTF-8 text; reload the page and try again.")
		}
		for _, v := range values {
			if !utf8.ValidString(v) {
				return badInput("The field %q is not valid UTF-8 text; type it again (the page sends UTF-8).", name)
			}
		}
	}
	return nil
}

// formError explains an error of parseForm.
func formError(err error) error {
	var p *problem.Error
	if errors.As(err, &p) {
		return err
	}
	var tooLarge *http.MaxBytesError
	if errors.As(err, &tooLarge) {
		return err
	}
	return badInput("The form could not be read; reload the page and try again.")
}
