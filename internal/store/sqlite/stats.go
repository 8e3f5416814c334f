package sqlite

import (
	"context"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

// Stats implements store.Store.
func (s *Store) Stats(ctx context.Context, p store.StatsParams) ([]bahasha.DeliveryStats, error) {
	accountID, since, until := p.AccountID, p.Since, p.Until
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	q, args := `SELECT `+sqlstore.StatsColumns+` FROM delivery_stats
		WHERE account_id = ? AND minute >= ? AND minute < ? ORDER BY minute`, []any{accountID, ms(since), ms(until)}
	if p.EndpointID != 0 {
		q, args = `SELECT `+sqlstore.StatsColumns+` FROM endpoint_stats
			WHERE endpoint_id = ? AND account_id = ? AND minute >= ? AND minute < ? ORDER BY minute`, []any{p.EndpointID, accountID, ms(since), ms(until)}
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []bahasha.DeliveryStats
	for rows.Next() {
		st, err := sqlstore.ScanStats(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, st)
	}
	return out, translate(rows.Err())
}

// Backlog implements store.Store.
func (s *Store) Backlog(ctx context.Context, accountID string) (int, error) {
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM deliveries
		WHERE endpoint_id IN (SELECT id FROM endpoints WHERE account_id = ?) AND state = 'pending'`, accountID).Scan(&n)
	return n, translate(err)
}

// EndpointBacklog implements store.Store.
func (s *Store) EndpointBacklog(ctx context.Context, p store.GetEndpointParams) (int, error) {
	if s.isClosed() {
		return 0, store.ErrClosed
	}
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM deliveries INDEXED BY deliveries_due
		WHERE endpoint_id = (SELECT id FROM endpoints WHERE id = ? AND account_id = ?) AND state = 'pending'`, p.EndpointID, p.AccountID).Scan(&n)
	return n, translate(err)
}

var (
	statsUpsert         = sqlstore.StatsUpsert(func(int) string { return "?" })
	endpointStatsUpsert = sqlstore.EndpointStatsUpsert(func(int) string { return "?" })
	trimListenBacklog   = sqlstore.TrimListenBacklog(`deliveries INDEXED BY deliveries_due`, func(int) string { return "?" })
)

// Snapshot implements store.Store.
func (s *Store) Snapshot(ctx context.Context, now time.Time) (store.Snapshot, error) {
	if s.isClosed() {
		return store.Snapshot{}, store.ErrClosed
	}
	ph := func(int) string { return "?1" }
	snap := store.Snapshot{Endpoints: map[string]int{}}
	var due int64
	if err := s.rdb.QueryRowContext(ctx, sqlstore.SnapshotPending).Scan(&snap.Pending); err != nil {
		return snap, translate(err)
	}
	if err := s.rdb.QueryRowContext(ctx, sqlstore.SnapshotUnrouted).Scan(&snap.Unrouted); err != nil {
		return snap, translate(err)
	}
	if err := s.rdb.QueryRowContext(ctx, sqlstore.SnapshotOldestDue(ph), ms(now)).Scan(&due); err != nil {
		return snap, translate(err)
	}
	if due > 0 {
		snap.OldestDue = time.UnixMilli(due)
	}
	rows, err := s.rdb.QueryContext(ctx, sqlstore.SnapshotHealth(ph), ms(now))
	if err != nil {
		return snap, translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var h string
		var n int
		if err := rows.Scan(&h, &n); err != nil {
			return snap, translate(err)
		}
		snap.Endpoints[h] = n
	}
	if err := rows.Err(); err != nil {
		return snap, translate(err)
	}
	snap.Leases = map[string]int{}
	lrows, err := s.rdb.QueryContext(ctx, sqlstore.SnapshotLeases(ph), ms(now))
	if err != nil {
		return snap, translate(err)
	}
	defer lrows.Close()
	for lrows.Next() {
		var node string
		var n int
		if err := lrows.Scan(&node, &n); err != nil {
			return snap, translate(err)
		}
		snap.Leases[node] = n
	}
	return snap, translate(lrows.Err())
}

// UnhealthyEndpoints implements store.Store.
func (s *Store) UnhealthyEndpoints(ctx context.Context, now time.Time, limit int) ([]bahasha.Endpoint, error) {
	return s.queryEndpoints(ctx, sqlstore.UnhealthyEndpoints(func(int) string { return "?" }), limit)
}
