package postgres

import (
	"cmp"
	"context"
	"maps"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

// ExpireDeliveries implements store.Store.
func (s *Store) ExpireDeliveries(ctx context.Context, p store.ExpireParams) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		n = 0
		rows, err := tx.Query(ctx, `SELECT id, endpoint_id FROM deliveries WHERE state = 'pending' AND window_start < $1 LIMIT $2`,
			ms(p.Before), limit(p.Limit))
		if err != nil {
			return err
		}
		var ids, endpoints []int64
		var id, endpoint int64
		seen := map[int64]bool{}
		if _, err := pgx.ForEachRow(rows, []any{&id, &endpoint}, func() error {
			ids = append(ids, id)
			if !seen[endpoint] {
				seen[endpoint] = true
				endpoints = append(endpoints, endpoint)
			}
			return nil
		}); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		// Lanes before deliveries, in id order: no deadlock with a
		// completion or another node's expiry.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM endpoints WHERE id = ANY($1::bigint[]) ORDER BY id FOR NO KEY UPDATE`, endpoints); err != nil {
			return err
		}
		rows, err = tx.Query(ctx, `UPDATE deliveries SET state = 'failed', next_attempt_at = NULL, last_error = $1, updated_at = $2
			WHERE id = ANY($3::bigint[]) AND state = 'pending'
			RETURNING account_id, endpoint_id, id, (SELECT kind FROM events WHERE events.id = deliveries.event_id)`, p.Reason, ms(p.Now), ids)
		if err != nil {
			return err
		}
		var exhausted store.ExhaustedSet
		var delivery int64
		var kind string
		failed := map[string]int{}
		type lane struct {
			account string
			id      int64
		}
		failedAt := map[lane]int{}
		var account string
		if _, err := pgx.ForEachRow(rows, []any{&account, &endpoint, &delivery, &kind}, func() error {
			failed[account]++
			failedAt[lane{account, endpoint}]++
			n++
			exhausted.Add(endpoint, delivery, bahasha.EventKind(kind))
			return nil
		}); err != nil {
			return err
		}
		if p.Exhausted != nil {
			var notices []bahasha.Event
			for _, x := range exhausted.Sorted() {
				ep, err := scanEndpoint(tx.QueryRow(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE id = $1`, x.Endpoint.ID))
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
		// Statistics rows in key order, as lanes: no cycle with another
		// node's expiry.
		for _, account := range slices.Sorted(maps.Keys(failed)) {
			if _, err := tx.Exec(ctx, statsUpsert, sqlstore.StatsArgs(account, p.Now, bahasha.DeliveryStats{Failed: failed[account]})...); err != nil {
				return err
			}
		}
		for _, l := range slices.SortedFunc(maps.Keys(failedAt), func(a, b lane) int { return cmp.Compare(a.id, b.id) }) {
			if _, err := tx.Exec(ctx, endpointStatsUpsert, sqlstore.EndpointStatsArgs(l.id, l.account, p.Now, bahasha.DeliveryStats{Failed: failedAt[l]})...); err != nil {
				return err
			}
		}
		return refreshLanes(ctx, tx, endpoints, false)
	})
	return n, err
}

// Prune implements store.Store. Finished deliveries are locked with SKIP
// LOCKED, so the pruners of several nodes share the work.
func (s *Store) Prune(ctx context.Context, p store.PruneParams) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		n = 0
		if err := pruneOther(ctx, tx, p); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, event_id FROM deliveries WHERE state <> 'pending' AND updated_at < $1 LIMIT $2
			FOR UPDATE SKIP LOCKED`, ms(p.Before), limit(p.Limit))
		if err != nil {
			return err
		}
		var ids, events []int64
		var id, ev int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &ev}, func() error {
			ids, events = append(ids, id), append(events, ev)
			return nil
		}); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		// Children first: PostgreSQL enforces the foreign keys.
		if _, err := tx.Exec(ctx, `DELETE FROM attempts WHERE delivery_id = ANY($1::bigint[])`, ids); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM deliveries WHERE id = ANY($1::bigint[])`, ids)
		if err != nil {
			return err
		}
		n = int(tag.RowsAffected())
		_, err = tx.Exec(ctx, `DELETE FROM events ev WHERE ev.id = ANY($1::bigint[])
			AND NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = ev.id)`, events)
		return err
	})
	return n, err
}

// pruneOther removes, in Prune's transaction, events without a delivery,
// statistics and finished replays older than p.Before, and sessions
// expired at p.Now.
func pruneOther(ctx context.Context, tx pgx.Tx, p store.PruneParams) error {
	// Events that never had a delivery (they came while no webhook was
	// registered), found account by account through their ingest time.
	if _, err := tx.Exec(ctx, `DELETE FROM events WHERE id IN (
		SELECT e.id FROM accounts a JOIN events e ON e.account_id = a.id AND e.created_at < $1
		WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.event_id = e.id) LIMIT $2 FOR UPDATE OF e SKIP LOCKED)`,
		ms(p.Before), limit(p.Limit)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM delivery_stats WHERE (account_id, minute) IN (
		SELECT account_id, minute FROM delivery_stats WHERE minute < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, ms(p.Before), limit(p.Limit)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM endpoint_stats WHERE (endpoint_id, minute) IN (
		SELECT endpoint_id, minute FROM endpoint_stats WHERE minute < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, ms(p.Before), limit(p.Limit)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM replays WHERE id IN (
		SELECT id FROM replays WHERE queuing_done AND created_at < $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, ms(p.Before), limit(p.Limit)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, `DELETE FROM unrouted WHERE id IN (
		SELECT id FROM unrouted WHERE received_at < $1 LIMIT $2)`, ms(p.Before), limit(p.Limit)); err != nil {
		return err
	}
	if !p.Now.IsZero() {
		if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE token_hash IN (
			SELECT token_hash FROM sessions WHERE expires_at <= $1 LIMIT $2)`, ms(p.Now), limit(p.Limit)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM operator_sessions WHERE token_hash IN (
			SELECT token_hash FROM operator_sessions WHERE expires_at <= $1 LIMIT $2)`, ms(p.Now), limit(p.Limit)); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM user_links WHERE token_hash IN (
			SELECT token_hash FROM user_links WHERE expires_at <= $1 LIMIT $2)`, ms(p.Now), limit(p.Limit)); err != nil {
			return err
		}
	}
	if !p.AuditBefore.IsZero() {
		if _, err := tx.Exec(ctx, `DELETE FROM audit_log WHERE id IN (
			SELECT id FROM audit_log WHERE at < $1 LIMIT $2)`, ms(p.AuditBefore), limit(p.Limit)); err != nil {
			return err
		}
	}
	return nil
}
