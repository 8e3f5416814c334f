package postgres

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

type queryRower interface {
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// replayRange is the events of [From, To) of an account as ids, and how
// many of them the replay covers. first is 0 when there are none.
func replayRange(ctx context.Context, q queryRower, p store.ReplayParams) (first, last int64, n int, err error) {
	to := p.To
	if !p.Now.IsZero() && to.After(p.Now) {
		to = p.Now
	}
	err = q.QueryRow(ctx, `SELECT coalesce(min(e.id), 0), coalesce(max(e.id), 0), count(*)
		FROM events e LEFT JOIN deliveries d ON d.event_id = e.id AND d.endpoint_id = $4
		WHERE e.account_id = $1 AND e.created_at >= $2 AND e.created_at < $3 AND `+sqlstore.ReplayQualifies(p.OnlyFailed),
		p.AccountID, ms(p.From), ms(to), p.EndpointID).Scan(&first, &last, &n)
	return first, last, n, err
}

// CountReplay implements store.Store.
func (s *Store) CountReplay(ctx context.Context, p store.ReplayParams) (int, error) {
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	if p.EndpointID == 0 {
		switch err := s.pool.QueryRow(ctx, `SELECT id FROM endpoints WHERE account_id = $1 AND is_primary`, p.AccountID).Scan(&p.EndpointID); {
		case errors.Is(err, pgx.ErrNoRows):
		case err != nil:
			return 0, s.translate(err)
		}
	} else {
		var n int
		if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM endpoints WHERE id = $1 AND account_id = $2`, p.EndpointID, p.AccountID).Scan(&n); err != nil {
			return 0, s.translate(err)
		}
		if n == 0 {
			return 0, store.ErrNotFound
		}
	}
	_, _, n, err := replayRange(ctx, s.pool, p)
	return n, s.translate(err)
}

// CreateReplay implements store.Store.
func (s *Store) CreateReplay(ctx context.Context, p store.ReplayParams) (bahasha.Replay, error) {
	to := p.To
	if to.After(p.Now) {
		to = p.Now
	}
	var id int64
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, `SELECT id FROM endpoints WHERE account_id = $1 AND (id = $2 OR ($2 = 0 AND is_primary))`,
			p.AccountID, p.EndpointID).Scan(&p.EndpointID); err != nil {
			return err
		}
		first, last, n, err := replayRange(ctx, tx, p)
		if err != nil {
			return err
		}
		return tx.QueryRow(ctx, `INSERT INTO replays (account_id, endpoint_id, from_at, to_at, only_failed, first_event_id, last_event_id, cursor,
			total, queuing_done, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id`,
			p.AccountID, p.EndpointID, ms(p.From), ms(to), p.OnlyFailed, first, last, first-1, n, n == 0, ms(p.Now)).Scan(&id)
	})
	if err != nil {
		return bahasha.Replay{}, err
	}
	return s.Replay(ctx, store.GetReplayParams{AccountID: p.AccountID, ReplayID: id})
}

// Replay implements store.Store.
func (s *Store) Replay(ctx context.Context, p store.GetReplayParams) (bahasha.Replay, error) {
	accountID, replayID := p.AccountID, p.ReplayID
	if s.isClosed() {
		return bahasha.Replay{}, store.ErrClosed
	}
	r, err := sqlstore.ScanReplay(s.pool.QueryRow(ctx, `SELECT `+sqlstore.ReplayColumns+` FROM replays r WHERE r.id = $1 AND r.account_id = $2`,
		replayID, accountID))
	if err != nil {
		return bahasha.Replay{}, s.translate(err)
	}
	return r, s.replayProgress(ctx, &r)
}

func (s *Store) replayProgress(ctx context.Context, r *bahasha.Replay) error {
	rows, err := s.pool.Query(ctx, `SELECT state, count(*) FROM deliveries WHERE replay_id = $1 GROUP BY state`, r.ID)
	if err != nil {
		return s.translate(err)
	}
	var state string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&state, &n}, func() error {
		switch bahasha.DeliveryState(state) {
		case bahasha.DeliveryPending:
			r.Pending = n
		case bahasha.DeliveryDelivered:
			r.Delivered = n
		case bahasha.DeliveryFailed:
			r.Failed = n
		}
		return nil
	})
	return s.translate(err)
}

// Replays implements store.Store.
func (s *Store) Replays(ctx context.Context, p store.ListReplaysParams) ([]bahasha.Replay, error) {
	accountID, limit := p.AccountID, p.Limit
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	limit = max(1, min(limit, 100))
	rows, err := s.pool.Query(ctx, `SELECT `+sqlstore.ReplayColumns+` FROM replays r WHERE r.account_id = $1 AND ($3 = 0 OR r.endpoint_id = $3)
		ORDER BY r.id DESC LIMIT $2`, accountID, limit, p.EndpointID)
	if err != nil {
		return nil, s.translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (bahasha.Replay, error) { return sqlstore.ScanReplay(row) })
	if err != nil {
		return nil, s.translate(err)
	}
	for i := range out {
		if err := s.replayProgress(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AdvanceReplays implements store.Store. Nodes advancing at once take
// different replays (SKIP LOCKED).
func (s *Store) AdvanceReplays(ctx context.Context, p store.AdvanceReplaysParams) (int, error) {
	queued := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		queued, err = sqlstore.AdvanceReplays(ctx, &replayQueue{tx: tx, skip: []int64{}}, ms(p.Now), p.Limit)
		return err
	})
	return queued, err
}

// replayQueue is sqlstore.ReplayQueue in PostgreSQL's dialect: replays are
// taken with SKIP LOCKED, so nodes advancing at once share the work; each
// taken once per call.
type replayQueue struct {
	tx   pgx.Tx
	skip []int64
}

func (q *replayQueue) Next(ctx context.Context) (sqlstore.QueuingReplay, bool, error) {
	var r sqlstore.QueuingReplay
	err := q.tx.QueryRow(ctx, `SELECT id, account_id, endpoint_id, from_at, to_at, only_failed, last_event_id, cursor
		FROM replays WHERE NOT queuing_done AND id <> ALL($1::bigint[]) ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED`, q.skip).
		Scan(&r.ID, &r.AccountID, &r.EndpointID, &r.From, &r.To, &r.OnlyFailed, &r.Last, &r.Cursor)
	if errors.Is(err, pgx.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, err
	}
	q.skip = append(q.skip, r.ID)
	return r, true, nil
}

func (q *replayQueue) Endpoint(ctx context.Context, r sqlstore.QueuingReplay) ([]bahasha.Endpoint, bool, error) {
	// The lane before its deliveries (the order every writer keeps).
	var id int64
	err := q.tx.QueryRow(ctx, `SELECT id FROM endpoints WHERE id = $1 AND account_id = $2 FOR NO KEY UPDATE`, r.EndpointID, r.AccountID).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	routes, err := routeEndpoints(ctx, q.tx, r.AccountID, "")
	return routes, err == nil, err
}

func (q *replayQueue) End(ctx context.Context, replayID int64) error {
	_, err := q.tx.Exec(ctx, `UPDATE replays SET queuing_done = TRUE, total = queued WHERE id = $1`, replayID)
	return err
}

func (q *replayQueue) Chunk(ctx context.Context, r sqlstore.QueuingReplay, routes []bahasha.Endpoint, now int64, limit int) (int, int, int64, error) {
	return replayChunk(ctx, q.tx, r, routes, now, limit)
}

func (q *replayQueue) Advance(ctx context.Context, replayID, cursor int64, n int, done bool) error {
	_, err := q.tx.Exec(ctx, `UPDATE replays SET cursor = $1, queued = queued + $2,
		queuing_done = $3, total = CASE WHEN $3 THEN queued + $2 ELSE total END WHERE id = $4`, cursor, n, done, replayID)
	return err
}

func (q *replayQueue) Due(ctx context.Context, endpointID, now int64) error {
	_, err := q.tx.Exec(ctx, `UPDATE endpoints SET lane_due_at = LEAST(coalesce(lane_due_at, $1), $1) WHERE id = $2`, now, endpointID)
	return err
}

// replayChunk queues the events of a replay's next chunk (see
// sqlstore.ReplayQueue.Chunk).
func replayChunk(ctx context.Context, tx pgx.Tx, r sqlstore.QueuingReplay, routes []bahasha.Endpoint, now int64, limit int) (int, int, int64, error) {
	rows, err := tx.Query(ctx, `SELECT e.id, e.kind, e.wamid, e.status, e.waba_id, e.phone_number_id, coalesce(d.id, 0) FROM events e
		LEFT JOIN deliveries d ON d.event_id = e.id AND d.endpoint_id = $7
		WHERE e.account_id = $1 AND e.id > $2 AND e.id <= $3 AND e.created_at >= $4 AND e.created_at < $5 AND `+sqlstore.ReplayQualifies(r.OnlyFailed)+`
		ORDER BY e.id LIMIT $6`, r.AccountID, r.Cursor, r.Last, r.From, r.To, limit, r.EndpointID)
	if err != nil {
		return 0, 0, 0, err
	}
	var existing, newEvents []int64
	var newWamids []string
	var newRanks []int32
	var ev bahasha.Event
	var dl int64
	var kind string
	seen := 0
	if _, err := pgx.ForEachRow(rows, []any{&ev.ID, &kind, &ev.WAMID, &ev.Status, &ev.WABAID, &ev.PhoneNumberID, &dl}, func() error {
		seen++
		ev.Kind = bahasha.EventKind(kind)
		if dl != 0 {
			existing = append(existing, dl)
			return nil
		}
		if !sqlstore.RoutesTo(routes, ev, r.EndpointID) {
			return nil
		}
		rank := 0
		if ev.Kind == bahasha.KindStatus {
			rank = bahasha.StatusRank(ev.Status)
		}
		newEvents, newWamids, newRanks = append(newEvents, ev.ID), append(newWamids, ev.WAMID), append(newRanks, int32(rank))
		return nil
	}); err != nil {
		return 0, 0, 0, err
	}
	if len(existing) > 0 {
		if _, err := tx.Exec(ctx, `UPDATE deliveries SET state = 'pending', reached_rank = 0, next_attempt_at = $1, window_start = $1,
			updated_at = $1, replay_id = $2 WHERE id = ANY($3::bigint[]) AND state <> 'pending'`, now, r.ID, existing); err != nil {
			return 0, 0, 0, err
		}
	}
	if len(newEvents) > 0 {
		if _, err := tx.Exec(ctx, `INSERT INTO deliveries (account_id, endpoint_id, event_id, wamid, status_rank, state, next_attempt_at,
			window_start, created_at, updated_at, replay_id)
			SELECT $1, $2, u.event_id, u.wamid, u.rank, 'pending', $3, $3, $3, $3, $4
			FROM unnest($5::bigint[], $6::text[], $7::int[]) WITH ORDINALITY AS u(event_id, wamid, rank, ord) ORDER BY u.ord`,
			r.AccountID, r.EndpointID, now, r.ID, newEvents, newWamids, newRanks); err != nil {
			return 0, 0, 0, err
		}
	}
	queued := len(existing) + len(newEvents)
	if seen < limit {
		return queued, seen, r.Last, nil
	}
	return queued, seen, ev.ID, nil
}
