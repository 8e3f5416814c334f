package sqlite

import (
	"context"
	"database/sql"
	"errors"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

// replayRange is the events of [From, To) of an account as ids, and how many
// of them the replay covers. first is 0 when there are none.
func replayRange(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, p store.ReplayParams) (first, last int64, n int, err error) {
	to := p.To
	if !p.Now.IsZero() && to.After(p.Now) {
		to = p.Now
	}
	err = q.QueryRowContext(ctx, `SELECT coalesce(min(e.id), 0), coalesce(max(e.id), 0), count(*)
		FROM events e LEFT JOIN deliveries d ON d.event_id = e.id AND d.endpoint_id = ?
		WHERE e.account_id = ? AND e.created_at >= ? AND e.created_at < ? AND `+sqlstore.ReplayQualifies(p.OnlyFailed),
		p.EndpointID, p.AccountID, ms(p.From), ms(to)).Scan(&first, &last, &n)
	return first, last, n, err
}

// CountReplay implements store.Store.
func (s *Store) CountReplay(ctx context.Context, p store.ReplayParams) (int, error) {
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	if p.EndpointID == 0 {
		switch err := s.rdb.QueryRowContext(ctx, `SELECT id FROM endpoints WHERE account_id = ? AND is_primary = 1`, p.AccountID).Scan(&p.EndpointID); {
		case errors.Is(err, sql.ErrNoRows):
		case err != nil:
			return 0, translate(err)
		}
	} else {
		var n int
		if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM endpoints WHERE id = ? AND account_id = ?`, p.EndpointID, p.AccountID).Scan(&n); err != nil {
			return 0, translate(err)
		}
		if n == 0 {
			return 0, store.ErrNotFound
		}
	}
	_, _, n, err := replayRange(ctx, s.rdb, p)
	return n, translate(err)
}

// CreateReplay implements store.Store.
func (s *Store) CreateReplay(ctx context.Context, p store.ReplayParams) (bahasha.Replay, error) {
	to := p.To
	if to.After(p.Now) {
		to = p.Now
	}
	var id int64
	err := s.write(ctx, func(tx *wtx) error {
		q, arg := `SELECT id FROM endpoints WHERE account_id = ? AND is_primary = 1`, any(nil)
		if p.EndpointID != 0 {
			q, arg = `SELECT id FROM endpoints WHERE account_id = ? AND id = ?`, p.EndpointID
		}
		args := []any{p.AccountID}
		if arg != nil {
			args = append(args, arg)
		}
		if err := tx.QueryRowContext(ctx, q, args...).Scan(&p.EndpointID); err != nil {
			return err
		}
		first, last, n, err := replayRange(ctx, tx, p)
		if err != nil {
			return err
		}
		done := n == 0
		return tx.QueryRowContext(ctx, `INSERT INTO replays (account_id, endpoint_id, from_at, to_at, only_failed, first_event_id, last_event_id, cursor,
			total, queuing_done, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
			p.AccountID, p.EndpointID, ms(p.From), ms(to), p.OnlyFailed, first, last, first-1, n, done, ms(p.Now)).Scan(&id)
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
	r, err := sqlstore.ScanReplay(s.rdb.QueryRowContext(ctx, `SELECT `+sqlstore.ReplayColumns+` FROM replays r WHERE r.id = ? AND r.account_id = ?`,
		replayID, accountID))
	if err != nil {
		return bahasha.Replay{}, translate(err)
	}
	return r, s.replayProgress(ctx, &r)
}

func (s *Store) replayProgress(ctx context.Context, r *bahasha.Replay) error {
	rows, err := s.rdb.QueryContext(ctx, `SELECT state, count(*) FROM deliveries WHERE replay_id = ? GROUP BY state`, r.ID)
	if err != nil {
		return translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var state string
		var n int
		if err := rows.Scan(&state, &n); err != nil {
			return translate(err)
		}
		switch bahasha.DeliveryState(state) {
		case bahasha.DeliveryPending:
			r.Pending = n
		case bahasha.DeliveryDelivered:
			r.Delivered = n
		case bahasha.DeliveryFailed:
			r.Failed = n
		}
	}
	return translate(rows.Err())
}

// Replays implements store.Store.
func (s *Store) Replays(ctx context.Context, p store.ListReplaysParams) ([]bahasha.Replay, error) {
	accountID, limit := p.AccountID, p.Limit
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	limit = max(1, min(limit, 100))
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+sqlstore.ReplayColumns+` FROM replays r WHERE r.account_id = ? AND (? = 0 OR r.endpoint_id = ?)
		ORDER BY r.id DESC LIMIT ?`, accountID, p.EndpointID, p.EndpointID, limit)
	if err != nil {
		return nil, translate(err)
	}
	var out []bahasha.Replay
	for rows.Next() {
		r, err := sqlstore.ScanReplay(rows)
		if err != nil {
			rows.Close()
			return nil, translate(err)
		}
		out = append(out, r)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, translate(err)
	}
	for i := range out {
		if err := s.replayProgress(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// AdvanceReplays implements store.Store.
func (s *Store) AdvanceReplays(ctx context.Context, p store.AdvanceReplaysParams) (int, error) {
	queued := 0
	err := s.write(ctx, func(tx *wtx) error {
		var err error
		queued, err = sqlstore.AdvanceReplays(ctx, replayQueue{tx}, ms(p.Now), p.Limit)
		return err
	})
	return queued, err
}

// replayQueue is sqlstore.ReplayQueue in SQLite's dialect, in the single
// writer's transaction (which no other writer interleaves).
type replayQueue struct{ tx *wtx }

func (q replayQueue) Next(ctx context.Context) (sqlstore.QueuingReplay, bool, error) {
	var r sqlstore.QueuingReplay
	err := q.tx.QueryRowContext(ctx, `SELECT id, account_id, endpoint_id, from_at, to_at, only_failed, last_event_id, cursor
		FROM replays WHERE queuing_done = 0 ORDER BY id LIMIT 1`).Scan(&r.ID, &r.AccountID, &r.EndpointID, &r.From, &r.To, &r.OnlyFailed, &r.Last, &r.Cursor)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	return r, err == nil, err
}

func (q replayQueue) Endpoint(ctx context.Context, r sqlstore.QueuingReplay) ([]bahasha.Endpoint, bool, error) {
	var n int
	if err := q.tx.QueryRowContext(ctx, `SELECT count(*) FROM endpoints WHERE id = ? AND account_id = ?`, r.EndpointID, r.AccountID).Scan(&n); err != nil || n == 0 {
		return nil, false, err
	}
	routes, err := routeEndpoints(ctx, q.tx, r.AccountID)
	return routes, err == nil, err
}

func (q replayQueue) End(ctx context.Context, replayID int64) error {
	_, err := q.tx.ExecContext(ctx, `UPDATE replays SET queuing_done = 1, total = queued WHERE id = ?`, replayID)
	return err
}

func (q replayQueue) Chunk(ctx context.Context, r sqlstore.QueuingReplay, routes []bahasha.Endpoint, now int64, limit int) (int, int, int64, error) {
	return replayChunk(ctx, q.tx, r, routes, now, limit)
}

func (q replayQueue) Advance(ctx context.Context, replayID, cursor int64, n int, done bool) error {
	_, err := q.tx.ExecContext(ctx, `UPDATE replays SET cursor = ?, queued = queued + ?,
		queuing_done = ?, total = CASE WHEN ? THEN queued + ? ELSE total END WHERE id = ?`, cursor, n, done, done, n, replayID)
	return err
}

func (q replayQueue) Due(ctx context.Context, endpointID, now int64) error {
	_, err := q.tx.ExecContext(ctx, `UPDATE endpoints SET lane_due_at = min(coalesce(lane_due_at, ?), ?) WHERE id = ?`, now, now, endpointID)
	return err
}

// replayChunk queues the events of a replay's next chunk (see
// sqlstore.ReplayQueue.Chunk).
func replayChunk(ctx context.Context, tx *wtx, r sqlstore.QueuingReplay, routes []bahasha.Endpoint, now int64, limit int) (int, int, int64, error) {
	rows, err := tx.QueryContext(ctx, `SELECT e.id, e.kind, e.wamid, e.status, e.waba_id, e.phone_number_id, coalesce(d.id, 0) FROM events e
		LEFT JOIN deliveries d ON d.event_id = e.id AND d.endpoint_id = ?
		WHERE e.account_id = ? AND e.id > ? AND e.id <= ? AND e.created_at >= ? AND e.created_at < ? AND `+sqlstore.ReplayQualifies(r.OnlyFailed)+`
		ORDER BY e.id LIMIT ?`, r.EndpointID, r.AccountID, r.Cursor, r.Last, r.From, r.To, limit)
	if err != nil {
		return 0, 0, 0, err
	}
	type item struct {
		ev       bahasha.Event
		delivery int64
	}
	var items []item
	for rows.Next() {
		var it item
		var kind string
		if err := rows.Scan(&it.ev.ID, &kind, &it.ev.WAMID, &it.ev.Status, &it.ev.WABAID, &it.ev.PhoneNumberID, &it.delivery); err != nil {
			rows.Close()
			return 0, 0, 0, err
		}
		it.ev.Kind = bahasha.EventKind(kind)
		items = append(items, it)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return 0, 0, 0, err
	}
	queued := 0
	for _, it := range items {
		if it.delivery != 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'pending', reached_rank = 0, next_attempt_at = ?, window_start = ?,
				updated_at = ?, replay_id = ? WHERE id = ?`, now, now, now, r.ID, it.delivery); err != nil {
				return 0, 0, 0, err
			}
			queued++
			continue
		}
		if !sqlstore.RoutesTo(routes, it.ev, r.EndpointID) {
			continue
		}
		rank := 0
		if it.ev.Kind == bahasha.KindStatus {
			rank = bahasha.StatusRank(it.ev.Status)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO deliveries (account_id, endpoint_id, event_id, wamid, status_rank, state, next_attempt_at,
			window_start, created_at, updated_at, replay_id) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?, ?)`,
			r.AccountID, r.EndpointID, it.ev.ID, it.ev.WAMID, rank, now, now, now, now, r.ID); err != nil {
			return 0, 0, 0, err
		}
		queued++
	}
	if len(items) < limit {
		return queued, len(items), r.Last, nil
	}
	return queued, len(items), items[len(items)-1].ev.ID, nil
}
