package sqlstore

import (
	"encoding/json"
	"fmt"

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

// RouteColumns selects what routing needs of an endpoints row: ScanRoute
// reads them.
const RouteColumns = `id, scope_kind, scope_id, events, kind`

// ScanRoute reads RouteColumns: an enabled endpoint's id, scope and event
// filter.
func ScanRoute(row Scanner) (bahasha.Endpoint, error) {
	var e bahasha.Endpoint
	var kind, events, epKind string
	if err := row.Scan(&e.ID, &kind, &e.Scope.ID, &events, &epKind); err != nil {
		return e, err
	}
	e.Scope.Kind, e.Kind = bahasha.ScopeKind(kind), bahasha.EndpointKind(epKind)
	if events != "[]" {
		if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
			return e, fmt.Errorf("endpoint %d: its events column: %w", e.ID, err)
		}
	}
	return e, nil
}

// Rows is a query's rows: *sql.Rows and pgx.Rows both are.
type Rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
}

// CollectRoutes reads rows of RouteColumns with ScanRoute. The caller
// closes rows.
func CollectRoutes(rows Rows) ([]bahasha.Endpoint, error) {
	var endpoints []bahasha.Endpoint
	for rows.Next() {
		e, err := ScanRoute(rows)
		if err != nil {
			return nil, err
		}
		endpoints = append(endpoints, e)
	}
	return endpoints, rows.Err()
}

// NewDelivery is a delivery InsertEvents creates: of the batch's event at
// Index, to EndpointID, due at Due, with the event's status rank.
type NewDelivery struct {
	Index      int
	EndpointID int64
	Rank       int
	Due        int64
}

// PlanDeliveries routes the batch's new events (those results does not
// mark duplicate) over the account's enabled endpoints with bahasha.Route,
// and returns their deliveries in event order, then endpoint order, with
// the earliest due time of each endpoint that gets one.
func PlanDeliveries(endpoints []bahasha.Endpoint, events []bahasha.Event, results []store.InsertResult, due func(bahasha.Event) int64) ([]NewDelivery, map[int64]int64) {
	if len(endpoints) == 0 {
		return nil, nil
	}
	plan := make([]NewDelivery, 0, len(events))
	earliest := make(map[int64]int64, len(endpoints))
	var to []bahasha.Endpoint
	for i, e := range events {
		if results[i].Duplicate {
			continue
		}
		rank := 0
		if e.Kind == bahasha.KindStatus {
			rank = bahasha.StatusRank(e.Status)
		}
		a := due(e)
		to = bahasha.Route(to[:0], endpoints, e)
		for _, ep := range to {
			plan = append(plan, NewDelivery{Index: i, EndpointID: ep.ID, Rank: rank, Due: a})
			if d, ok := earliest[ep.ID]; !ok || a < d {
				earliest[ep.ID] = a
			}
		}
	}
	return plan, earliest
}

// AssignDeliveries fills the results' DeliveryIDs (and DeliveryID) with
// ids, the ids of plan's deliveries in its order.
func AssignDeliveries(results []store.InsertResult, plan []NewDelivery, ids []int64) {
	for k := 0; k < len(plan); {
		i, j := plan[k].Index, k
		for j < len(plan) && plan[j].Index == i {
			j++
		}
		results[i].DeliveryIDs = ids[k:j:j]
		results[i].DeliveryID = ids[k]
		k = j
	}
}

// LaneLimit is how many deliveries a claim of an endpoint's lane takes: one
// while its breaker is open (one request at a time), at most its rate
// limit's second's worth, else maxPerLane.
func LaneLimit(e bahasha.Endpoint, maxPerLane int) int {
	if e.Probing() {
		return 1
	}
	if e.RateLimit > 0 {
		return min(maxPerLane, e.RateLimit)
	}
	return maxPerLane
}

// ClaimableKind is the SQL condition (one ? for the node) for an endpoint
// whose lane a node may claim: an HTTP endpoint, or a listen session whose
// connection the node holds.
const ClaimableKind = `(kind = 'http' OR (listen_node <> '' AND listen_node = ?))`
