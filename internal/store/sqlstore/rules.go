package sqlstore

import (
	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// The store's rules that do not depend on the SQL dialect, written once for
// both drivers.

// OwnAttemptRow reports whether a delivery result's attempt gets a row of
// its own in attempts: every attempt made but a first one that succeeded,
// which the delivery row records alone (most deliveries need no attempt
// row at all). See WithRowAttempt for the other half of the rule.
func OwnAttemptRow(r store.DeliveryResult) bool {
	a := r.Attempt
	return a.Number != 0 && !(a.Number == 1 && r.State == bahasha.DeliveryDelivered)
}

// WithRowAttempt returns a delivery's attempts as Store.Delivery lists
// them: those of the attempts table, or, for a delivery delivered at its
// first attempt, that attempt as the delivery row records it.
func WithRowAttempt(d bahasha.Delivery, attempts []bahasha.Attempt) []bahasha.Attempt {
	if len(attempts) == 0 && d.Attempts == 1 && d.State == bahasha.DeliveryDelivered {
		attempts = append(attempts, bahasha.Attempt{DeliveryID: d.ID, Number: 1, StartedAt: d.LastAttemptAt,
			Duration: d.LastDuration, StatusCode: d.LastStatusCode, ResponseBody: d.LastResponse})
	}
	return attempts
}

// LastError is the last error a result records: its attempt's, or, when
// no attempt was made (a superseded delivery), the result's own.
func LastError(r store.DeliveryResult) string {
	if r.Attempt.Number == 0 {
		return r.Error
	}
	return r.Attempt.Error
}

// FirstOccurrences returns, for each event, whether it is the first of the
// batch with its producer id: within a batch a producer id counts once,
// and the first wins.
func FirstOccurrences(events []bahasha.Event) []bool {
	first := make([]bool, len(events))
	seen := make(map[string]struct{}, len(events))
	for i, e := range events {
		if _, dup := seen[e.ProducerID]; !dup {
			seen[e.ProducerID] = struct{}{}
			first[i] = true
		}
	}
	return first
}

// ResolveDuplicates fills the results of an insert whose new rows are
// added (producer id → event id) and whose producer ids already stored
// before it are stored: a first occurrence that was added is new; any
// other event is a duplicate carrying the stored id, or for an id repeated
// within the batch, the id its first occurrence got. It returns false when
// an event is in neither map (the insert lost a row).
func ResolveDuplicates(events []bahasha.Event, first []bool, added, stored map[string]int64, results []store.InsertResult) bool {
	for i, e := range events {
		if id, ok := added[e.ProducerID]; ok && first[i] {
			results[i] = store.InsertResult{EventID: id}
			continue
		}
		id, ok := stored[e.ProducerID]
		if !ok {
			if id, ok = added[e.ProducerID]; !ok {
				return false
			}
		}
		results[i] = store.InsertResult{EventID: id, Duplicate: true}
	}
	return true
}
