package meta

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// displayFields are the fields whose value names the phone number only by
// its display number (within the entry's WABA).
var displayFields = []string{"phone_number_quality_update", "phone_number_name_update", "security"}

// Waker is told that new deliveries may be due.
type Waker interface{ Wake() }

// Router routes changes to accounts and stores their events.
type Router struct {
	Store store.Store
	Waker Waker
	Now   func() time.Time
	Log   *slog.Logger
	// Counted, when set, is told what became of each change: "routed",
	// "duplicate" or "unrouted".
	Counted func(result string, n int)
}

// Result is what became of the changes of a POST.
type Result struct {
	// Routed changes were stored for an account; Duplicates of them had
	// all their events stored before (Meta sent them again).
	Routed, Duplicates int
	// Unrouted changes were kept for the operator.
	Unrouted int
}

// routed is a change and the number (of an account) it goes to.
type routed struct {
	change Change
	number bahasha.PhoneNumber
}

// Ingest routes changes and stores them: the events of the routed ones,
// per account, and the others as unrouted, all before it returns. An error
// means some were not stored (Meta will send the POST again; what was
// stored is deduplicated then).
func (r *Router) Ingest(ctx context.Context, changes []Change) (Result, error) {
	var res Result
	if len(changes) == 0 {
		return res, nil
	}
	now := r.Now()
	ok, parked, err := r.route(ctx, changes, now)
	if err != nil {
		return res, err
	}
	res.Routed, res.Unrouted = len(ok), len(parked)
	if res.Duplicates, err = r.store(ctx, ok, now); err != nil {
		return res, err
	}
	if err := r.Store.AddUnrouted(ctx, parked); err != nil {
		return res, err
	}
	r.count(res)
	if res.Routed > res.Duplicates {
		r.Waker.Wake()
	}
	return res, nil
}

func (r *Router) count(res Result) {
	if r.Counted == nil {
		return
	}
	r.Counted("routed", res.Routed-res.Duplicates)
	r.Counted("duplicate", res.Duplicates)
	r.Counted("unrouted", res.Unrouted)
}

// route finds each change's number, or says why there is none.
func (r *Router) route(ctx context.Context, changes []Change, now time.Time) ([]routed, []store.Unrouted, error) {
	var ids, wabas []string
	for _, c := range changes {
		if c.PhoneNumberID != "" {
			ids = append(ids, c.PhoneNumberID)
		} else if c.EntryID != "" {
			wabas = append(wabas, c.EntryID)
		}
	}
	slices.Sort(ids)
	slices.Sort(wabas)
	numbers, err := r.Store.LookupNumbers(ctx, store.LookupNumbersParams{IDs: slices.Compact(ids), WABAIDs: slices.Compact(wabas)})
	if err != nil {
		return nil, nil, err
	}
	byID := map[string]bahasha.PhoneNumber{}
	byWABA := map[string][]bahasha.PhoneNumber{}
	for _, n := range numbers {
		byID[n.ID] = n
		byWABA[n.WABAID] = append(byWABA[n.WABAID], n)
	}
	var ok []routed
	var parked []store.Unrouted
	park := func(c Change, reason string) {
		parked = append(parked, store.Unrouted{Digest: c.Digest(), ReceivedAt: now, Field: c.Field, EntryID: c.EntryID,
			PhoneNumberID: c.PhoneNumberID, DisplayPhoneNumber: c.DisplayPhoneNumber, Reason: reason, Body: c.Entry})
	}
	for _, c := range changes {
		switch {
		case c.PhoneNumberID != "":
			n, found := byID[c.PhoneNumberID]
			if !found {
				park(c, fmt.Sprintf("no account has phone number %s", c.PhoneNumberID))
				continue
			}
			ok = append(ok, routed{c, n})
		case c.EntryID == "":
			park(c, "the change names no phone number and its entry no WABA")
		default:
			ns := byWABA[c.EntryID]
			if len(ns) == 0 {
				park(c, fmt.Sprintf("no account has WABA %s", c.EntryID))
				continue
			}
			// The WABA's account; the number too when the change names it
			// by its display number.
			n := bahasha.PhoneNumber{AccountID: ns[0].AccountID, WABAID: c.EntryID}
			if slices.Contains(displayFields, c.Field) && c.DisplayPhoneNumber != "" {
				for _, x := range ns {
					if sameNumber(x.DisplayPhoneNumber, c.DisplayPhoneNumber) {
						n = x
						break
					}
				}
			}
			ok = append(ok, routed{c, n})
		}
	}
	return ok, parked, nil
}

// sameNumber compares display numbers by their digits ("+1 555-078-3881"
// is "15550783881").
func sameNumber(a, b string) bool {
	digits := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r
			}
			return -1
		}, s)
	}
	da := digits(a)
	return da != "" && da == digits(b)
}

// store ingests the routed changes' events, account by account, and counts
// the changes whose events were all stored before.
func (r *Router) store(ctx context.Context, ok []routed, now time.Time) (int, error) {
	type batch struct {
		events []bahasha.Event
		// of is the index in ok of each event's change.
		of []int
	}
	var order []string
	byAccount := map[string]*batch{}
	for i, x := range ok {
		b := byAccount[x.number.AccountID]
		if b == nil {
			b = &batch{}
			byAccount[x.number.AccountID] = b
			order = append(order, x.number.AccountID)
		}
		for _, ev := range Events(x.change, x.number) {
			ev.CreatedAt, ev.AvailableAt = now, now
			b.events = append(b.events, ev)
			b.of = append(b.of, i)
		}
	}
	fresh := make([]bool, len(ok))
	for _, account := range order {
		b := byAccount[account]
		results, err := r.Store.InsertEvents(ctx, store.InsertEventsParams{AccountID: account, Events: b.events, Now: now, Source: "meta"})
		if err != nil {
			return 0, err
		}
		for k, res := range results {
			if !res.Duplicate {
				fresh[b.of[k]] = true
			}
		}
	}
	dups := 0
	for _, f := range fresh {
		if !f {
			dups++
		}
	}
	return dups, nil
}

// Rerouted is what Reroute did.
type Rerouted struct {
	// Routed changes were stored for the account that owns their number
	// or WABA now, and left the list; Left are still unrouted.
	Routed, Left int
}

// Reroute routes the kept changes again, oldest first, at most limit of
// them: those an account owns now are stored for it (deduplicated like any)
// and leave the list; the others stay.
func (r *Router) Reroute(ctx context.Context, limit int) (Rerouted, error) {
	var out Rerouted
	now := r.Now()
	after := int64(0)
	for out.Routed+out.Left < limit {
		page, err := r.Store.ListUnrouted(ctx, store.ListUnroutedParams{After: after, Limit: min(limit-out.Routed-out.Left, 500)})
		if err != nil || len(page) == 0 {
			return out, err
		}
		after = page[len(page)-1].ID
		var changes []Change
		var from []int64 // the unrouted id of each change
		for _, u := range page {
			body := u.Body
			if u.EntryID != "" || u.Field != "" {
				body = append(append([]byte(`{"object":"`+Object+`","entry":[`), u.Body...), ']', '}')
			}
			// A whole POST kept because it could not be read, or was not
			// WhatsApp's, stays so: the live path would refuse it too.
			object, cs, err := Split(body)
			if err != nil || len(cs) == 0 || object != Object {
				out.Left++
				continue
			}
			for _, c := range cs {
				changes = append(changes, c)
				from = append(from, u.ID)
			}
		}
		ok, parked, err := r.route(ctx, changes, now)
		if err != nil {
			return out, err
		}
		if _, err := r.store(ctx, ok, now); err != nil {
			return out, err
		}
		// An unrouted item (a whole unreadable POST may hold several
		// changes) leaves the list once none of its changes is left.
		still := make(map[string]bool, len(parked))
		for _, p := range parked {
			still[p.Digest] = true
		}
		stays := map[int64]bool{}
		for i, c := range changes {
			if still[c.Digest()] {
				stays[from[i]] = true
			}
		}
		var done []int64
		seen := map[int64]bool{}
		for _, id := range from {
			if seen[id] {
				continue
			}
			seen[id] = true
			if stays[id] {
				out.Left++
			} else {
				done = append(done, id)
			}
		}
		if err := r.Store.RemoveUnrouted(ctx, done); err != nil {
			return out, err
		}
		out.Routed += len(done)
		if r.Counted != nil {
			r.Counted("routed", len(done))
		}
		if len(ok) > 0 {
			r.Waker.Wake()
		}
		if len(page) < 500 {
			return out, nil
		}
	}
	return out, nil
}
