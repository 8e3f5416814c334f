package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

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
	q := `SELECT ` + sqlstore.StatsColumns + ` FROM delivery_stats
		WHERE account_id = $1 AND minute >= $2 AND minute < $3 AND $4::bigint = 0 ORDER BY minute`
	if p.EndpointID != 0 {
		q = `SELECT ` + sqlstore.StatsColumns + ` FROM endpoint_stats
			WHERE account_id = $1 AND minute >= $2 AND minute < $3 AND endpoint_id = $4 ORDER BY minute`
	}
	rows, err := s.pool.Query(ctx, q, accountID, ms(since), ms(until), p.EndpointID)
	if err != nil {
		return nil, s.translate(err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (bahasha.DeliveryStats, error) { return sqlstore.ScanStats(row) })
	return out, s.translate(err)
}

// Backlog implements store.Store.
func (s *Store) Backlog(ctx context.Context, accountID string) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT count(*) FROM deliveries
		WHERE endpoint_id IN (SELECT id FROM endpoints WHERE account_id = $1) AND state = 'pending'`, []any{accountID}, &n)
	return n, err
}

// EndpointBacklog implements store.Store.
func (s *Store) EndpointBacklog(ctx context.Context, p store.GetEndpointParams) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT count(*) FROM deliveries
		WHERE endpoint_id = (SELECT id FROM endpoints WHERE id = $1 AND account_id = $2) AND state = 'pending'`, []any{p.EndpointID, p.AccountID}, &n)
	return n, err
}

var (
	statsUpsert         = sqlstore.StatsUpsert(func(i int) string { return "$" + strconv.Itoa(i) })
	endpointStatsUpsert = sqlstore.EndpointStatsUpsert(func(i int) string { return "$" + strconv.Itoa(i) })
	trimListenBacklog   = sqlstore.TrimListenBacklog("deliveries", func(i int) string { return "$" + strconv.Itoa(i) })
)

// Snapshot implements store.Store.
func (s *Store) Snapshot(ctx context.Context, now time.Time) (store.Snapshot, error) {
	ph := func(int) string { return "$1" }
	snap := store.Snapshot{Endpoints: map[string]int{}}
	var due int64
	if err := s.queryRow(ctx, sqlstore.SnapshotPending, nil, &snap.Pending); err != nil {
		return snap, err
	}
	if err := s.queryRow(ctx, sqlstore.SnapshotUnrouted, nil, &snap.Unrouted); err != nil {
		return snap, err
	}
	if err := s.queryRow(ctx, sqlstore.SnapshotOldestDue(ph), []any{ms(now)}, &due); err != nil {
		return snap, err
	}
	if due > 0 {
		snap.OldestDue = time.UnixMilli(due)
	}
	rows, err := s.pool.Query(ctx, sqlstore.SnapshotHealth(ph), ms(now))
	if err != nil {
		return snap, s.translate(err)
	}
	var h string
	var n int
	if _, err = pgx.ForEachRow(rows, []any{&h, &n}, func() error {
		snap.Endpoints[h] = n
		return nil
	}); err != nil {
		return snap, s.translate(err)
	}
	snap.Leases = map[string]int{}
	lrows, err := s.pool.Query(ctx, sqlstore.SnapshotLeases(ph), ms(now))
	if err != nil {
		return snap, s.translate(err)
	}
	_, err = pgx.ForEachRow(lrows, []any{&h, &n}, func() error {
		snap.Leases[h] = n
		return nil
	})
	return snap, s.translate(err)
}

// UnhealthyEndpoints implements store.Store.
func (s *Store) UnhealthyEndpoints(ctx context.Context, now time.Time, limit int) ([]bahasha.Endpoint, error) {
	return s.queryEndpoints(ctx, sqlstore.UnhealthyEndpoints(func(int) string { return "$1" }), limit)
}
