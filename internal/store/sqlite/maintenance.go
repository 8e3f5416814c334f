package sqlite

import (
	"context"
	"encoding/json"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

// ExpireDeliveries implements store.Store.
func (s *Store) ExpireDeliveries(ctx context.Context, p store.ExpireParams) (int, error) {
	n := 0
	err := s.write(ctx, func(tx *wtx) error {
		rows, err := tx.QueryContext(ctx, `UPDATE deliveries SET state = 'failed', next_attempt_at = NULL, last_error = ?, updated_at = ?
			WHERE id IN (SELECT id FROM deliveries INDEXED BY deliveries_window WHERE state = 'pending' AND window_start < ? LIMIT ?)
			RETURNING endpoint_id, account_id, id, (SELECT kind FROM events WHERE events.id = event_id)`, p.Reason, ms(p.Now), ms(p.Before), p.Limit)
		if err != nil {
			return err
		}
		endpoints := map[int64]string{} // their accounts
		failed := map[string]int{}
		failedAt := map[int64]int{}
		var exhausted store.ExhaustedSet
		n = 0
		for rows.Next() {
			var id, delivery int64
			var account, kind string
			if err := rows.Scan(&id, &account, &delivery, &kind); err != nil {
				rows.Close()
				return err
			}
			endpoints[id] = account
			failed[account]++
			failedAt[id]++
			n++
			exhausted.Add(id, delivery, bahasha.EventKind(kind))
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if p.Exhausted != nil {
			var notices []bahasha.Event
			for _, x := range exhausted.Sorted() {
				ep, err := scanEndpoint(tx.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE id = ?`, x.Endpoint.ID))
				if err != nil {
					return err
				}
				x.Endpoint = ep
				notices = append(notices, p.Exhausted(x)...)
			}
			if err := addNotices(ctx, tx, notices); err != nil {
				return err
			}
		}
		for account, k := range failed {
			if _, err := tx.ExecContext(ctx, statsUpsert, sqlstore.StatsArgs(account, p.Now, bahasha.DeliveryStats{Failed: k})...); err != nil {
				return err
			}
		}
		for id, k := range failedAt {
			if _, err := tx.ExecContext(ctx, endpointStatsUpsert, sqlstore.EndpointStatsArgs(id, endpoints[id], p.Now, bahasha.DeliveryStats{Failed: k})...); err != nil {
				return err
			}
		}
		for id := range endpoints {
			if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET
				lane_due_at = (SELECT min(next_attempt_at) FROM deliveries WHERE endpoint_id = ? AND state = 'pending') WHERE id = ?`, id, id); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}

// Prune implements store.Store. Children go before their parents (the
// foreign keys are enforced): a batch's attempts, then its deliveries, then
// the events left without one.
func (s *Store) Prune(ctx context.Context, p store.PruneParams) (int, error) {
	n := 0
	err := s.write(ctx, func(tx *wtx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, event_id FROM deliveries INDEXED BY deliveries_finished
			WHERE state != 'pending' AND updated_at < ? LIMIT ?`, ms(p.Before), p.Limit)
		if err != nil {
			return err
		}
		var ids, events []int64
		for rows.Next() {
			var id, ev int64
			if err := rows.Scan(&id, &ev); err != nil {
				rows.Close()
				return err
			}
			ids, events = append(ids, id), append(events, ev)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		n = len(ids)
		if n > 0 {
			// Constant statements over JSON arrays of the ids.
			idList, err := json.Marshal(ids)
			if err != nil {
				return err
			}
			eventList, err := json.Marshal(events)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM attempts WHERE delivery_id IN (SELECT value FROM json_each(?))`, string(idList)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM deliveries WHERE id IN (SELECT value FROM json_each(?))`, string(idList)); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `DELETE FROM events WHERE id IN (SELECT value FROM json_each(?))
				AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = events.id)`, string(eventList)); err != nil {
				return err
			}
		}
		return pruneOther(ctx, tx, p)
	})
	return n, err
}

// pruneOther removes, in Prune's transaction, events without a delivery,
// statistics and finished replays older than p.Before, and sessions
// expired at p.Now.
func pruneOther(ctx context.Context, tx *wtx, p store.PruneParams) error {
	// Events that never had a delivery (they came while no webhook was
	// registered), found account by account through their ingest time.
	if _, err := tx.ExecContext(ctx, `DELETE FROM events WHERE id IN (
		SELECT e.id FROM accounts a JOIN events e INDEXED BY events_account_created ON e.account_id = a.id AND e.created_at < ?
		WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) LIMIT ?)`, ms(p.Before), p.Limit); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM delivery_stats WHERE (account_id, minute) IN (
		SELECT account_id, minute FROM delivery_stats WHERE minute < ? LIMIT ?)`, ms(p.Before), p.Limit); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM endpoint_stats WHERE (endpoint_id, minute) IN (
		SELECT endpoint_id, minute FROM endpoint_stats WHERE minute < ? LIMIT ?)`, ms(p.Before), p.Limit); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM replays WHERE id IN (
		SELECT id FROM replays WHERE queuing_done = 1 AND created_at < ? LIMIT ?)`, ms(p.Before), p.Limit); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM unrouted WHERE id IN (
		SELECT id FROM unrouted WHERE received_at < ? LIMIT ?)`, ms(p.Before), p.Limit); err != nil {
		return err
	}
	if !p.Now.IsZero() {
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE token_hash IN (
			SELECT token_hash FROM sessions WHERE expires_at <= ? LIMIT ?)`, ms(p.Now), p.Limit); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM operator_sessions WHERE token_hash IN (
			SELECT token_hash FROM operator_sessions WHERE expires_at <= ? LIMIT ?)`, ms(p.Now), p.Limit); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM user_links WHERE token_hash IN (
			SELECT token_hash FROM user_links WHERE expires_at <= ? LIMIT ?)`, ms(p.Now), p.Limit); err != nil {
			return err
		}
	}
	if !p.AuditBefore.IsZero() {
		if _, err := tx.ExecContext(ctx, `DELETE FROM audit_log WHERE id IN (
			SELECT id FROM audit_log WHERE at < ? LIMIT ?)`, ms(p.AuditBefore), p.Limit); err != nil {
			return err
		}
	}
	return nil
}
