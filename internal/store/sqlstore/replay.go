package sqlstore

import "context"

// QueuingReplay is a replay still queuing its events: the range and the
// cursor its loop works with.
type QueuingReplay struct {
	ID, From, To, Last, Cursor int64
	AccountID                  string
	OnlyFailed                 bool
}

// ReplayQueue is what AdvanceReplays needs of a driver's write
// transaction: the statements, in the driver's dialect.
type ReplayQueue interface {
	// Next returns the oldest replay still queuing that this call has not
	// taken yet, and false when none is left.
	Next(ctx context.Context) (QueuingReplay, bool, error)
	// Endpoint returns the account's endpoint, locked for the queuing,
	// and false when it has none.
	Endpoint(ctx context.Context, accountID string) (int64, bool, error)
	// End ends a replay's queuing with what it queued so far.
	End(ctx context.Context, replayID int64) error
	// Chunk queues up to limit more events of r to endpointID, due at
	// now, and returns how many and the new cursor (r.Last when the range
	// is exhausted).
	Chunk(ctx context.Context, r QueuingReplay, endpointID, now int64, limit int) (n int, cursor int64, err error)
	// Advance records that n more events of the replay were queued up to
	// cursor, and, when done, that its queuing is over.
	Advance(ctx context.Context, replayID, cursor int64, n int, done bool) error
	// Due makes the endpoint's lane due at now at the latest.
	Due(ctx context.Context, endpointID, now int64) error
}

// AdvanceReplays is Store.AdvanceReplays over q: up to limit events of the
// replays still queuing, oldest first, in ingest order.
func AdvanceReplays(ctx context.Context, q ReplayQueue, now int64, limit int) (int, error) {
	queued := 0
	for queued < limit {
		r, ok, err := q.Next(ctx)
		if err != nil || !ok {
			return queued, err
		}
		endpointID, ok, err := q.Endpoint(ctx, r.AccountID)
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
		n, cursor, err := q.Chunk(ctx, r, endpointID, now, limit-queued)
		if err != nil {
			return queued, err
		}
		queued += n
		if err := q.Advance(ctx, r.ID, cursor, n, cursor >= r.Last); err != nil {
			return queued, err
		}
		if n > 0 {
			if err := q.Due(ctx, endpointID, now); err != nil {
				return queued, err
			}
		}
	}
	return queued, nil
}
