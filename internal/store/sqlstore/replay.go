package sqlstore

import (
	"context"

	"github.com/bahasha/bahasha/internal/bahasha"
)

// QueuingReplay is a replay still queuing its events: the range and the
// cursor its loop works with.
type QueuingReplay struct {
	ID, EndpointID, From, To, Last, Cursor int64
	AccountID                              string
	OnlyFailed                             bool
}

// ReplayQueue is what AdvanceReplays needs of a driver's write
// transaction: the statements, in the driver's dialect.
type ReplayQueue interface {
	// Next returns the oldest replay still queuing that this call has not
	// taken yet, and false when none is left.
	Next(ctx context.Context) (QueuingReplay, bool, error)
	// Endpoint locks the replay's endpoint for the queuing and returns
	// the account's enabled endpoints (RouteColumns), for routing the
	// events that have no delivery to it; false when the replay's
	// endpoint is gone.
	Endpoint(ctx context.Context, r QueuingReplay) ([]bahasha.Endpoint, bool, error)
	// End ends a replay's queuing with what it queued so far.
	End(ctx context.Context, replayID int64) error
	// Chunk looks at up to limit more events of r, queues those it
	// covers to r.EndpointID, due at now (an event without a delivery to
	// it only when RoutesTo says routes send it there), and returns how
	// many it queued, how many it looked at, and the new cursor (r.Last
	// when the range is exhausted).
	Chunk(ctx context.Context, r QueuingReplay, routes []bahasha.Endpoint, now int64, limit int) (n, seen int, cursor int64, err error)
	// Advance records that n more events of the replay were queued up to
	// cursor, and, when done, that its queuing is over.
	Advance(ctx context.Context, replayID, cursor int64, n int, done bool) error
	// Due makes the endpoint's lane due at now at the latest.
	Due(ctx context.Context, endpointID, now int64) error
}

// AdvanceReplays is Store.AdvanceReplays over q: up to limit events of the
// replays still queuing, oldest first, in ingest order.
func AdvanceReplays(ctx context.Context, q ReplayQueue, now int64, limit int) (int, error) {
	queued, seen := 0, 0
	for seen < limit {
		r, ok, err := q.Next(ctx)
		if err != nil || !ok {
			return queued, err
		}
		routes, ok, err := q.Endpoint(ctx, r)
		if err != nil {
			return queued, err
		}
		if !ok {
			// The webhook was removed: nothing more can be queued.
			if err := q.End(ctx, r.ID); err != nil {
				return queued, err
			}
			continue
		}
		n, looked, cursor, err := q.Chunk(ctx, r, routes, now, limit-seen)
		if err != nil {
			return queued, err
		}
		queued, seen = queued+n, seen+looked
		if err := q.Advance(ctx, r.ID, cursor, n, cursor >= r.Last); err != nil {
			return queued, err
		}
		if n > 0 {
			if err := q.Due(ctx, r.EndpointID, now); err != nil {
				return queued, err
			}
		}
	}
	return queued, nil
}

// RoutesTo reports whether bahasha.Route sends an event to the endpoint
// over routes (an account's enabled endpoints).
func RoutesTo(routes []bahasha.Endpoint, e bahasha.Event, endpointID int64) bool {
	var buf [4]bahasha.Endpoint
	for _, ep := range bahasha.Route(buf[:0], routes, e) {
		if ep.ID == endpointID {
			return true
		}
	}
	return false
}
