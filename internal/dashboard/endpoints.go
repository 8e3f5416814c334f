package dashboard

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/handshake"
	"github.com/bahasha/bahasha/internal/problem"
	"github.com/bahasha/bahasha/internal/registration"
)

// The account's endpoints, on Settings → Webhooks and on each endpoint's
// own page (/settings/webhooks/endpoints/wh_12): listed by scope, added,
// edited, verified, disabled and enabled, removed, and their signing
// secrets revealed and rotated. Every change goes through the
// registration service, as the API's /v1/webhooks does.

// maskedHeaders are an endpoint's custom headers by name, values masked.
func maskedHeaders(h map[string]string) []headerView {
	out := make([]headerView, 0, len(h))
	for k, v := range h {
		out = append(out, headerView{k, registration.MaskHeaderValue(v)})
	}
	slices.SortFunc(out, func(a, b headerView) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// healthView is an endpoint's delivery health as the pages show it.
type healthView struct {
	// State is "healthy", "failing" (its last POSTs failed), "probing"
	// (its breaker is open: one request at a time) or "paused" (it asked
	// to wait, or its rate limit holds it).
	State        string
	Failures     int
	FailingSince time.Time
	ProbeAt      time.Time
	PausedUntil  time.Time
}

func healthOf(e bahasha.Endpoint, now time.Time) healthView {
	return healthView{State: e.Health(now), Failures: e.ConsecutiveFailures, FailingSince: e.FailingSince, ProbeAt: e.ProbeAt, PausedUntil: e.PausedUntil}
}

// scopeBook names the scopes of an account: its WABAs and phone numbers.
type scopeBook struct {
	nums  []bahasha.PhoneNumber
	wabas []string
}

func newScopeBook(nums []bahasha.PhoneNumber) scopeBook {
	b := scopeBook{nums: nums}
	for _, n := range nums {
		if n.WABAID != "" && !slices.Contains(b.wabas, n.WABAID) {
			b.wabas = append(b.wabas, n.WABAID)
		}
	}
	return b
}

func (d *Dashboard) scopeBook(ctx context.Context, accountID string) (scopeBook, error) {
	nums, err := d.store.PhoneNumbers(ctx, accountID)
	if err != nil {
		return scopeBook{}, err
	}
	return newScopeBook(nums), nil
}

func (b scopeBook) number(id string) (bahasha.PhoneNumber, bool) {
	i := slices.IndexFunc(b.nums, func(n bahasha.PhoneNumber) bool { return n.ID == id })
	if i < 0 {
		return bahasha.PhoneNumber{}, false
	}
	return b.nums[i], true
}

// has reports whether the scope is one of the account's.
func (b scopeBook) has(sc bahasha.Scope) bool {
	switch sc.Kind {
	case bahasha.ScopeAccount:
		return true
	case bahasha.ScopeWABA:
		return slices.Contains(b.wabas, sc.ID)
	case bahasha.ScopePhoneNumber:
		_, ok := b.number(sc.ID)
		return ok
	}
	return false
}

func (b scopeBook) wabaNumbers(waba string) string {
	var shown []string
	for _, n := range b.nums {
		if n.WABAID == waba {
			shown = append(shown, n.DisplayPhoneNumber)
		}
	}
	return strings.Join(shown, ", ")
}

// title is a scope's name: "Account", "WABA 1234", "+254700000000".
func (b scopeBook) title(sc bahasha.Scope) string {
	switch sc.Kind {
	case bahasha.ScopeWABA:
		return "WABA " + sc.ID
	case bahasha.ScopePhoneNumber:
		if n, ok := b.number(sc.ID); ok && n.DisplayPhoneNumber != "" {
			return n.DisplayPhoneNumber
		}
		return "Phone number " + sc.ID
	}
	return "Account"
}

// detail says what a scope covers.
func (b scopeBook) detail(sc bahasha.Scope) string {
	switch sc.Kind {
	case bahasha.ScopeWABA:
		if nums := b.wabaNumbers(sc.ID); nums != "" {
			return "The phone numbers of WhatsApp Business Account " + sc.ID + ": " + nums + "."
		}
		return "WhatsApp Business Account " + sc.ID + " (it has no phone number now)."
	case bahasha.ScopePhoneNumber:
		if n, ok := b.number(sc.ID); ok {
			return "phone_number_id " + n.ID + ", in WABA " + n.WABAID + "."
		}
		return "phone_number_id " + sc.ID + " (no longer one of this account's numbers)."
	}
	return "Every phone number of the account, unless the number or its WABA has endpoints of its own for the event."
}

// label is a scope in one line, for a select or a table cell.
func (b scopeBook) label(sc bahasha.Scope) string {
	switch sc.Kind {
	case bahasha.ScopeWABA:
		if nums := b.wabaNumbers(sc.ID); nums != "" {
			return "WABA " + sc.ID + " (" + nums + ")"
		}
		return "WABA " + sc.ID
	case bahasha.ScopePhoneNumber:
		if n, ok := b.number(sc.ID); ok {
			return n.DisplayPhoneNumber + " (phone_number_id " + n.ID + ")"
		}
		return "phone_number_id " + sc.ID
	}
	return "Account (every phone number)"
}

// scopeOption is one choice of the scope select; Value is Scope.String().
type scopeOption struct{ Value, Label string }

func (b scopeBook) options() []scopeOption {
	out := []scopeOption{{bahasha.AccountScope.String(), b.label(bahasha.AccountScope)}}
	for _, w := range b.wabas {
		sc := bahasha.Scope{Kind: bahasha.ScopeWABA, ID: w}
		out = append(out, scopeOption{sc.String(), b.label(sc)})
	}
	for _, n := range b.nums {
		sc := bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: n.ID}
		out = append(out, scopeOption{sc.String(), b.label(sc)})
	}
	return out
}

// endpointView is an endpoint as the pages show it: never its verify
// token, its header values only masked.
type endpointView struct {
	bahasha.Endpoint
	PublicID   string
	ScopeLabel string
	// Events is its filter in words: "all events", "statuses", …
	Events  string
	Headers []headerView
	Health  healthView
	// Status is "verified" or "disabled".
	Status string
}

func (b scopeBook) view(e bahasha.Endpoint, now time.Time) endpointView {
	v := endpointView{Endpoint: e, PublicID: e.PublicID(), ScopeLabel: b.label(e.Scope.OrAccount()), Events: "all events",
		Headers: maskedHeaders(e.Headers), Health: healthOf(e, now), Status: "verified"}
	// The embedded secrets and token stay out of the templates' reach.
	v.Endpoint.VerifyToken, v.Endpoint.Secret, v.Endpoint.PreviousSecret, v.Endpoint.Headers = "", "", "", nil
	if len(e.Events) > 0 {
		v.Events = strings.Join(e.Events, ", ")
	}
	if e.Disabled {
		v.Status = "disabled"
	}
	return v
}

// scopeGroup is the endpoints of one scope.
type scopeGroup struct {
	// HTMLID is the section's id: scope-account, scope-waba-<id>,
	// scope-phone_number-<id>.
	HTMLID    string
	Scope     string
	Title     string
	Detail    string
	Endpoints []endpointView
}

// groups puts the endpoints (oldest first) under their scopes: the
// account's, then each WABA's, then each phone number's, in the order the
// account got them; scopes without endpoints are left out.
func (b scopeBook) groups(es []bahasha.Endpoint, now time.Time) []scopeGroup {
	var order []bahasha.Scope
	order = append(order, bahasha.AccountScope)
	for _, w := range b.wabas {
		order = append(order, bahasha.Scope{Kind: bahasha.ScopeWABA, ID: w})
	}
	for _, n := range b.nums {
		order = append(order, bahasha.Scope{Kind: bahasha.ScopePhoneNumber, ID: n.ID})
	}
	// Scopes the store has but the book does not (a number gone since)
	// come last, WABAs before numbers.
	for _, kind := range []bahasha.ScopeKind{bahasha.ScopeWABA, bahasha.ScopePhoneNumber} {
		for _, e := range es {
			if sc := e.Scope.OrAccount(); sc.Kind == kind && !slices.Contains(order, sc) {
				order = append(order, sc)
			}
		}
	}
	var out []scopeGroup
	for _, sc := range order {
		g := scopeGroup{HTMLID: "scope-" + htmlID(sc.String()), Scope: sc.String(), Title: b.title(sc), Detail: b.detail(sc)}
		for _, e := range es {
			if e.Scope.OrAccount() == sc {
				g.Endpoints = append(g.Endpoints, b.view(e, now))
			}
		}
		if len(g.Endpoints) > 0 {
			out = append(out, g)
		}
	}
	return out
}

// htmlID makes s usable in an id attribute: letters, digits, - and _;
// anything else becomes -.
func htmlID(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '-'
	}, s)
}

// endpointForm is the add and edit form of an endpoint, as shown: never
// the verify token, never a header value.
type endpointForm struct {
	URL         string
	Scope       string
	Events      []string
	Headers     string
	RateLimit   string
	Description string
	// Edit: the form of an existing endpoint, where an empty token or
	// header value keeps the saved one.
	Edit bool
	// Primary: the primary webhook's, whose scope is the account.
	Primary bool
	// Retype: header values were typed, and are not shown back.
	Retype  bool
	Options []scopeOption
	Filters []string
	// MetaFilters are Meta's other webhook fields, shown folded.
	MetaFilters []string
	MaxToken    int
	MaxRate     int
	MaxDesc     int
}

// MetaChosen reports whether the filter names one of Meta's other fields
// (their list is then shown unfolded).
func (f endpointForm) MetaChosen() bool {
	for _, e := range f.Events {
		if slices.Contains(f.MetaFilters, e) {
			return true
		}
	}
	return false
}

func (b scopeBook) newForm() endpointForm {
	return endpointForm{Scope: bahasha.AccountScope.String(), Options: b.options(), Filters: []string{bahasha.FilterStatuses, bahasha.FilterMessages, bahasha.FilterOperational},
		MetaFilters: append(slices.Clone(bahasha.MetaFields), bahasha.FilterOtherFields),
		MaxToken:    registration.MaxVerifyTokenLength, MaxRate: registration.MaxRateLimit, MaxDesc: registration.MaxDescriptionLength}
}

// editForm is the form of an existing endpoint: header names with empty
// values (each keeps its saved value unless one is typed).
func (b scopeBook) editForm(e bahasha.Endpoint) endpointForm {
	f := b.newForm()
	f.Edit, f.Primary = true, e.Primary
	f.URL, f.Scope, f.Events, f.Description = e.URL, e.Scope.OrAccount().String(), e.Events, e.Description
	f.Headers = headerNames(e.Headers)
	if e.RateLimit > 0 {
		f.RateLimit = strconv.Itoa(e.RateLimit)
	}
	if f.Primary {
		f.Options = f.Options[:1]
	}
	return f
}

// headerNames is the headers textarea's text for h: "Name: " lines,
// without the values.
func headerNames(h map[string]string) string {
	var lines []string
	for _, hv := range maskedHeaders(h) {
		lines = append(lines, hv.Name+": ")
	}
	return strings.Join(lines, "\n")
}

// readEndpointForm reads the add (cur nil) or edit form into c, which
// holds the current configuration when editing, and returns the form to
// show again. Errors are problem.Errors worded for the form.
func readEndpointForm(v url.Values, b scopeBook, cur *bahasha.Endpoint, c *registration.Config) (endpointForm, error) {
	f := b.newForm()
	if cur != nil {
		f = b.editForm(*cur)
	}
	raw := strings.TrimSpace(v.Get("url"))
	f.URL = withoutUserinfo(raw) // a refused URL's password is never shown back
	f.Scope = v.Get("scope")
	f.Events = v["events"]
	f.RateLimit = strings.TrimSpace(v.Get("rate_limit"))
	f.Description = strings.TrimSpace(v.Get("description"))
	text, hasHeaders := v["headers"]
	if hasHeaders {
		names, typed := headerLinesWithoutValues(strings.Join(text, "\n"))
		f.Headers, f.Retype = names, typed
	}

	c.URL = raw
	if raw == "" {
		return f, badInput("Enter the endpoint URL: the public https URL that receives the events, e.g. https://yourapp.com/webhook.")
	}
	switch token := v.Get("verify_token"); {
	case token == "" && cur == nil:
		return f, badInput("Enter the verification token: the secret your GET handler compares with hub.verify_token.")
	case len(token) > registration.MaxVerifyTokenLength:
		return f, badInput("The verification token is longer than %d characters; use a shorter one.", registration.MaxVerifyTokenLength)
	case token != "":
		c.VerifyToken = token
	}

	sc, err := parseScope(f.Scope, b)
	if err != nil {
		return f, err
	}
	if cur != nil && cur.Primary && sc.Kind != bahasha.ScopeAccount {
		return f, badInput("The primary webhook (the one above, PUT /v1/webhook) covers the whole account; add another endpoint for a WABA or a phone number.")
	}
	c.Scope = sc

	var events []string
	for _, name := range bahasha.EventFilters {
		if slices.Contains(f.Events, name) {
			events = append(events, name)
		}
	}
	if err := bahasha.ValidateEvents(f.Events); err != nil {
		return f, badInput("The events filter is not valid: %v.", err)
	}
	c.Events = events

	if hasHeaders {
		var old map[string]string
		if cur != nil {
			old = cur.Headers
		}
		h, err := parseHeaderLines(strings.Join(text, "\n"), old)
		if err != nil {
			return f, err
		}
		if err := registration.ValidateHeaders(h); err != nil {
			return f, err
		}
		c.Headers = h
	}

	c.RateLimit = 0
	if f.RateLimit != "" {
		n, err := strconv.Atoi(f.RateLimit)
		if err != nil || n < 0 || n > registration.MaxRateLimit {
			return f, badInput("The rate limit %q is not one Bahasha accepts: events per second, a whole number from 1 to %d; leave it empty for no limit.",
				clip(f.RateLimit), registration.MaxRateLimit)
		}
		c.RateLimit = n
	}

	if len(f.Description) > registration.MaxDescriptionLength {
		return f, badInput("The description is longer than %d characters; shorten it.", registration.MaxDescriptionLength)
	}
	c.Description = f.Description
	return f, nil
}

// parseScope reads the scope select's value ("account", "waba:<id>",
// "phone_number:<id>"), which must be one of the account's.
func parseScope(s string, b scopeBook) (bahasha.Scope, error) {
	if s == "" || s == string(bahasha.ScopeAccount) {
		return bahasha.AccountScope, nil
	}
	kind, id, _ := strings.Cut(s, ":")
	sc := bahasha.Scope{Kind: bahasha.ScopeKind(kind), ID: id}
	switch {
	case sc.Kind != bahasha.ScopeWABA && sc.Kind != bahasha.ScopePhoneNumber:
		return sc, badInput("The scope %q is not one Bahasha knows; choose the account, one of its WABAs or one of its phone numbers from the list.", clip(s))
	case !b.has(sc) && sc.Kind == bahasha.ScopeWABA:
		return sc, badInput("This account has no WhatsApp Business Account %q; choose a scope from the list.", clip(id))
	case !b.has(sc):
		return sc, badInput("This account has no phone number %q; choose a scope from the list.", clip(id))
	}
	return sc, nil
}

// parseHeaderLines reads the headers textarea: one "Name: value" per line,
// blank lines ignored. An empty value (or the masked one the pages show)
// keeps old's value of that header. The values are secrets: no message
// repeats one.
func parseHeaderLines(text string, old map[string]string) (map[string]string, error) {
	keep := map[string]string{}
	for k, v := range old {
		keep[http.CanonicalHeaderKey(k)] = v
	}
	out := map[string]string{}
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name, value = strings.TrimSpace(name), strings.Trim(value, " \t")
		if !ok || name == "" {
			return nil, badInput("Write each custom header as Name: value on a line of its own; line %d has no header name before a colon.", i+1)
		}
		canon := http.CanonicalHeaderKey(name)
		if _, dup := out[canon]; dup {
			return nil, badInput("The header %q is given twice (header names are case-insensitive); keep one line for it.", clip(name))
		}
		if value == "" || strings.HasPrefix(value, registration.MaskedPrefix) {
			saved, ok := keep[canon]
			switch {
			case ok:
				value = saved
			case value == "":
				return nil, badInput("The header %q has no value; type its value after the colon.", clip(name))
			default:
				return nil, badInput("The value of header %q is a masked one (••••); type the real value.", clip(name))
			}
		}
		out[canon] = value
	}
	return out, nil
}

// headerLinesWithoutValues is the textarea's text with each value
// removed, to show a form again; typed reports whether a value was.
func headerLinesWithoutValues(text string) (string, bool) {
	var lines []string
	typed := false
	for _, line := range strings.Split(text, "\n") {
		line = strings.TrimSuffix(line, "\r")
		if strings.TrimSpace(line) == "" {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		if !ok {
			// Perhaps a value on a line of its own: not shown back.
			typed = true
			continue
		}
		if v := strings.Trim(value, " \t"); v != "" && !strings.HasPrefix(v, registration.MaskedPrefix) {
			typed = true
		}
		lines = append(lines, strings.TrimSpace(name)+": ")
	}
	return strings.Join(lines, "\n"), typed
}

// formProblem shows an error a client can act on (a problem.Error below
// 500) on the form's page through show, with its status; any other error
// is returned for the error page.
func formProblem(err error, show func(status int, msg string)) error {
	e := problem.Classify(err)
	if e.Status >= 500 {
		return err
	}
	show(e.Status, e.Message)
	return nil
}

// handshakeStatus is the status of a page showing a failed handshake.
func handshakeStatus(res handshake.Result) int {
	if res.Reason == handshake.InvalidURL || res.Reason == handshake.InvalidToken {
		return http.StatusBadRequest
	}
	return http.StatusUnprocessableEntity
}

// createEndpoint adds an endpoint as POST /v1/webhooks does: the form is
// checked, the handshake runs, and only when it passes is the endpoint
// saved; then its page is shown.
func (d *Dashboard) createEndpoint(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	if err := parseForm(r); err != nil {
		return formError(err)
	}
	data, err := d.settingsPage(r, acc)
	if err != nil {
		return err
	}
	show := func(status int, msg string) { d.showSettings(w, r, acc, status, data, "", msg) }
	var c registration.Config
	data.Add, err = readEndpointForm(r.PostForm, data.book, nil, &c)
	if err != nil {
		return formProblem(err, show)
	}
	e, res, err := d.svc.Registration.Create(r.Context(), acc.ID, c)
	if err != nil {
		return formProblem(err, show)
	}
	if !res.OK {
		data.AddResult = toVerifyView(res)
		data.AddResult.Kept = "Nothing was added."
		show(handshakeStatus(res), "")
		return nil
	}
	http.Redirect(w, r, endpointPath(e)+"?flash=created", http.StatusSeeOther)
	return nil
}

func endpointPath(e bahasha.Endpoint) string { return "/settings/webhooks/endpoints/" + e.PublicID() }

// endpointData is what an endpoint's page shows.
type endpointData struct {
	View endpointView
	Form endpointForm
	// Result is the outcome of a handshake (Verify, or an edit of the URL
	// or token), nil before.
	Result *verifyView
	// Secret and the previous one (while it still signs, until
	// PreviousUntil) after Reveal or Rotate.
	Secret, PreviousSecret string
	PreviousUntil          time.Time
	Rotated                bool
	ConfirmRemove          bool
}

// endpointOf reads the {id} of an endpoint's route and loads it: a 404
// page when it is not one of the account's.
func (d *Dashboard) endpointOf(r *http.Request, acc bahasha.Account) (bahasha.Endpoint, error) {
	s := r.PathValue("id")
	id, ok := bahasha.ParseEndpointID(s)
	if !ok {
		return bahasha.Endpoint{}, notFound("%q is not an endpoint id; endpoint ids look like wh_12. Settings → Webhooks lists yours.", clip(s))
	}
	e, err := d.svc.Registration.Get(r.Context(), acc.ID, id)
	if err != nil && problem.Classify(err).Status == http.StatusNotFound {
		return e, notFound("There is no endpoint %s%d in this account. Settings → Webhooks lists yours.", bahasha.EndpointPrefix, id)
	}
	return e, err
}

// loadEndpoint is the endpoint of the route with what its page needs.
func (d *Dashboard) loadEndpoint(r *http.Request, acc bahasha.Account) (bahasha.Endpoint, scopeBook, endpointData, error) {
	e, err := d.endpointOf(r, acc)
	if err != nil {
		return e, scopeBook{}, endpointData{}, err
	}
	b, err := d.scopeBook(r.Context(), acc.ID)
	if err != nil {
		return e, b, endpointData{}, err
	}
	return e, b, endpointData{View: b.view(e, d.now()), Form: b.editForm(e)}, nil
}

func (d *Dashboard) showEndpoint(w http.ResponseWriter, r *http.Request, acc bahasha.Account, status int, data endpointData, flash, prob string) {
	d.render(w, r, status, "endpoint", page{Title: "Endpoint " + data.View.PublicID, Nav: "settings", Account: &acc, Data: data,
		Flash: flash, Problem: prob})
}

var endpointFlashes = map[string]string{
	"created":  "Verified and added: events routed to this endpoint start flowing to it now.",
	"saved":    "Saved.",
	"verified": "Verified and saved: the endpoint answered the handshake.",
	"disabled": "Disabled: it receives no new events, and its pending deliveries wait until it is enabled again.",
	"enabled":  "Enabled: its waiting deliveries flow again, in order.",
}

func (d *Dashboard) endpointPage(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	_, _, data, err := d.loadEndpoint(r, acc)
	if err != nil {
		return err
	}
	d.showEndpoint(w, r, acc, http.StatusOK, data, endpointFlashes[r.URL.Query().Get("flash")], "")
	return nil
}

// saveEndpoint changes an endpoint's configuration. A new URL or token is
// verified first; a refused form or a failed handshake changes nothing.
func (d *Dashboard) saveEndpoint(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	if err := parseForm(r); err != nil {
		return formError(err)
	}
	cur, b, data, err := d.loadEndpoint(r, acc)
	if err != nil {
		return err
	}
	show := func(status int, msg string) { d.showEndpoint(w, r, acc, status, data, "", msg) }
	c := registration.ConfigOf(cur)
	data.Form, err = readEndpointForm(r.PostForm, b, &cur, &c)
	if err != nil {
		return formProblem(err, show)
	}
	_, res, err := d.svc.Registration.Update(r.Context(), acc.ID, cur.ID, c)
	if err != nil {
		return formProblem(err, show)
	}
	if !res.OK {
		data.Result = toVerifyView(res)
		data.Result.Kept = "The endpoint keeps its configuration: nothing was saved."
		show(handshakeStatus(res), "")
		return nil
	}
	flash := "saved"
	if res.Request.Method != "" {
		flash = "verified"
	}
	http.Redirect(w, r, endpointPath(cur)+"?flash="+flash, http.StatusSeeOther)
	return nil
}

// verifyEndpoint runs the handshake again and shows its outcome.
func (d *Dashboard) verifyEndpoint(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	cur, b, data, err := d.loadEndpoint(r, acc)
	if err != nil {
		return err
	}
	e, res, err := d.svc.Registration.Reverify(r.Context(), acc.ID, cur.ID)
	if err != nil {
		return err
	}
	data.Result = toVerifyView(res)
	if !res.OK {
		data.Result.Kept = "The endpoint stays as it was; fix the handler and verify again."
		d.showEndpoint(w, r, acc, handshakeStatus(res), data, "", "")
		return nil
	}
	data.Result.Saved = "Its verification time is now."
	data.View = b.view(e, d.now())
	d.showEndpoint(w, r, acc, http.StatusOK, data, "", "")
	return nil
}

func (d *Dashboard) disableEndpoint(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	return d.setDisabled(w, r, acc, true)
}

func (d *Dashboard) enableEndpoint(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	return d.setDisabled(w, r, acc, false)
}

// setDisabled disables or enables an endpoint, then goes back to the page
// the form was on (its field "return": "endpoint", or the settings page).
func (d *Dashboard) setDisabled(w http.ResponseWriter, r *http.Request, acc bahasha.Account, disabled bool) error {
	if err := parseForm(r); err != nil {
		return formError(err)
	}
	cur, err := d.endpointOf(r, acc)
	if err != nil {
		return err
	}
	c := registration.ConfigOf(cur)
	c.Disabled = disabled
	if _, _, err := d.svc.Registration.Update(r.Context(), acc.ID, cur.ID, c); err != nil {
		return err
	}
	flash := "enabled"
	if disabled {
		flash = "disabled"
	}
	if r.PostForm.Get("return") == "endpoint" {
		http.Redirect(w, r, endpointPath(cur)+"?flash="+flash, http.StatusSeeOther)
		return nil
	}
	http.Redirect(w, r, "/settings/webhooks?"+url.Values{"flash": {flash}, "endpoint": {cur.PublicID()}}.Encode()+"#"+cur.PublicID(), http.StatusSeeOther)
	return nil
}

// removeEndpoint asks for confirmation, then removes the endpoint.
func (d *Dashboard) removeEndpoint(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	if err := parseForm(r); err != nil {
		return formError(err)
	}
	cur, _, data, err := d.loadEndpoint(r, acc)
	if err != nil {
		return err
	}
	if r.PostForm.Get("confirm") != "yes" {
		data.ConfirmRemove = true
		d.showEndpoint(w, r, acc, http.StatusOK, data, "", "")
		return nil
	}
	if err := d.svc.Registration.Remove(r.Context(), acc.ID, cur.ID); err != nil {
		return err
	}
	http.Redirect(w, r, "/settings/webhooks?"+url.Values{"flash": {"endpoint-removed"}, "endpoint": {cur.PublicID()}}.Encode(), http.StatusSeeOther)
	return nil
}

// revealEndpointSecret shows the endpoint's signing secret, in the body of
// a POST's response only.
func (d *Dashboard) revealEndpointSecret(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	cur, _, data, err := d.loadEndpoint(r, acc)
	if err != nil {
		return err
	}
	d.withSecrets(&data, cur)
	d.showEndpoint(w, r, acc, http.StatusOK, data, "", "")
	return nil
}

// rotateEndpointSecret gives the endpoint a new signing secret and shows
// it with the previous one, which keeps signing for a while.
func (d *Dashboard) rotateEndpointSecret(w http.ResponseWriter, r *http.Request, acc bahasha.Account) error {
	cur, b, data, err := d.loadEndpoint(r, acc)
	if err != nil {
		return err
	}
	e, err := d.svc.Registration.RotateSecret(r.Context(), acc.ID, cur.ID)
	if err != nil {
		return err
	}
	data.View = b.view(e, d.now())
	d.withSecrets(&data, e)
	data.Rotated = true
	d.showEndpoint(w, r, acc, http.StatusOK, data, "The signing secret was rotated: deliveries are signed with the new secret, and with the previous one too until "+
		utcString(data.PreviousUntil)+".", "")
	return nil
}

func (d *Dashboard) withSecrets(data *endpointData, e bahasha.Endpoint) {
	data.Secret = e.Secret
	if e.PreviousSecret != "" && d.now().Before(e.PreviousSecretUntil) {
		data.PreviousSecret, data.PreviousUntil = e.PreviousSecret, e.PreviousSecretUntil
	}
}

func utcString(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format(timeLayout)
}

// settingsFlash is the flash of Settings → Webhooks after an endpoint's
// action, naming it.
func settingsFlash(q url.Values) string {
	id := q.Get("endpoint")
	if _, ok := bahasha.ParseEndpointID(id); !ok {
		return settingsFlashes[q.Get("flash")]
	}
	switch q.Get("flash") {
	case "disabled":
		return id + " was disabled: it receives no new events, and its pending deliveries wait until it is enabled again."
	case "enabled":
		return id + " was enabled: its waiting deliveries flow again, in order."
	case "endpoint-removed":
		return id + " was removed; its pending deliveries were marked failed."
	}
	return ""
}
