package bahasha

import (
	"fmt"
	"slices"
)

// ScopeKind is how much of an account an endpoint covers.
type ScopeKind string

const (
	// ScopeAccount: every phone number of the account.
	ScopeAccount ScopeKind = "account"
	// ScopeWABA: the phone numbers of one WhatsApp Business Account.
	ScopeWABA ScopeKind = "waba"
	// ScopePhoneNumber: one phone number.
	ScopePhoneNumber ScopeKind = "phone_number"
)

// Scope is the part of an account an endpoint receives events of: the
// account (ID empty), one WABA (ID a WABA id) or one phone number (ID a
// phone_number_id).
type Scope struct {
	Kind ScopeKind
	ID   string
}

// AccountScope is the scope of the whole account.
var AccountScope = Scope{Kind: ScopeAccount}

// OrAccount is the scope, or the account's for the zero Scope.
func (s Scope) OrAccount() Scope {
	if s.Kind == "" {
		return AccountScope
	}
	return s
}

// String is "account", "waba:<id>" or "phone_number:<id>".
func (s Scope) String() string {
	if s.Kind == ScopeAccount || s.Kind == "" {
		return string(ScopeAccount)
	}
	return string(s.Kind) + ":" + s.ID
}

// rank orders scopes from the most specific: phone number 0, WABA 1,
// account 2.
func (s Scope) rank() int {
	switch s.Kind {
	case ScopePhoneNumber:
		return 0
	case ScopeWABA:
		return 1
	}
	return 2
}

// covers reports whether an event of this phone number and WABA is in the
// scope.
func (s Scope) covers(e Event) bool {
	switch s.Kind {
	case ScopePhoneNumber:
		return s.ID == e.PhoneNumberID
	case ScopeWABA:
		return s.ID == e.WABAID
	}
	return true
}

// Event filter names: what an endpoint's Events may list.
const (
	// FilterStatuses: delivery reports (sent, delivered, read, failed, …).
	FilterStatuses = "statuses"
	// FilterMessages: messages customers sent.
	FilterMessages = "messages"
	// FilterOperational: operational events about the account's
	// endpoints (endpoint.failing, delivery.exhausted, …). Only an
	// endpoint that names it gets them: no filter means statuses and
	// messages.
	FilterOperational = "operational"
)

// FilterOtherFields: changes of Meta's webhooks whose field is not one of
// MetaFields (a field Meta added after this release).
const FilterOtherFields = "other_fields"

// MetaFields are the fields of Meta's WhatsApp Business Account webhooks,
// other than messages, that an endpoint's Events may name: each change of
// that field is passed through as Meta sent it. Meta's messages field
// arrives as FilterStatuses and FilterMessages.
var MetaFields = []string{
	"smb_message_echoes", "history", "user_preferences", "smb_app_state_sync",
	"message_template_status_update", "template_category_update", "message_template_quality_update",
	"message_template_components_update", "account_update", "business_capability_update", "account_review_update",
	"account_alerts", "phone_number_quality_update", "phone_number_name_update", "security",
	"payment_configuration_update", "flows", "automatic_events", "calls", "partner_solutions", "business_status_update",
}

// EventFilters are the names an endpoint's Events may hold, in the order
// the API documents them.
var EventFilters = append([]string{FilterStatuses, FilterMessages, FilterOperational}, append(MetaFields, FilterOtherFields)...)

// DefaultFilters are what an endpoint with no filter receives: statuses
// and messages, what Meta's messages field (the one its own setup
// subscribes an app to) delivers.
var DefaultFilters = []string{FilterStatuses, FilterMessages}

// ValidateEvents checks an endpoint's event filter: known names, each once.
// The error says which name is wrong.
func ValidateEvents(events []string) error {
	for i, name := range events {
		if !slices.Contains(EventFilters, name) {
			return fmt.Errorf("%q is not an event filter; use any of %v (or none, for everything)", name, EventFilters)
		}
		if slices.Contains(events[:i], name) {
			return fmt.Errorf("%q is listed twice", name)
		}
	}
	return nil
}

// Filter is the event filter name an event matches.
func (e Event) Filter() string {
	switch e.Kind {
	case KindStatus:
		return FilterStatuses
	case KindOperational:
		return FilterOperational
	case KindChange:
		switch {
		case e.MessageType == FilterMessages: // a messages change passed through whole
			return FilterMessages
		case slices.Contains(MetaFields, e.MessageType):
			return e.MessageType
		}
		return FilterOtherFields
	}
	return FilterMessages
}

// Wants reports whether the endpoint's event filter lets the event through
// (its scope aside).
func (e Endpoint) Wants(ev Event) bool {
	f := ev.Filter()
	if len(e.Events) == 0 {
		return f == FilterStatuses || f == FilterMessages
	}
	return slices.Contains(e.Events, f)
}

// Route appends to dst the endpoints of endpoints (all of one account) that
// receive ev, and returns it. An event goes to every enabled endpoint whose
// filter matches it at the most specific scope that has at least one such
// endpoint for the event's phone number: the number's own endpoints, else
// its WABA's, else the account's. So a number's endpoint overrides the
// account's for that number (Meta's precedence), and several endpoints at
// one scope each get a copy (fan-out). An endpoint whose filter does not
// match is as if absent: a number's endpoint for messages only leaves the
// number's statuses to its WABA's or the account's endpoints. Listen
// sessions (KindListen) are outside the precedence: each gets a copy of
// what its scope and filter take. An operational event goes to every
// enabled endpoint whose filter names FilterOperational.
func Route(dst []Endpoint, endpoints []Endpoint, ev Event) []Endpoint {
	if ev.Kind == KindOperational {
		// Operational events concern the account: every endpoint that
		// asked for them, whatever its scope.
		for _, e := range endpoints {
			if !e.Disabled && e.Wants(ev) {
				dst = append(dst, e)
			}
		}
		return dst
	}
	takes := func(e Endpoint) bool { return !e.Disabled && e.Scope.covers(ev) && e.Wants(ev) }
	best := 3
	for _, e := range endpoints {
		if r := e.Scope.rank(); r < best && !e.Listening() && takes(e) {
			best = r
		}
	}
	for _, e := range endpoints {
		// A bahasha listen session is a developer's copy: it gets every
		// event its own scope and filter take, and never takes one from
		// another endpoint.
		if takes(e) && (e.Listening() || e.Scope.rank() == best) {
			dst = append(dst, e)
		}
	}
	return dst
}
