package postgres

import (
	"context"
	"strconv"

	"github.com/jackc/pgx/v5"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

// addNotices records operational events in tx.
func addNotices(ctx context.Context, tx pgx.Tx, notices []bahasha.Event) error {
	for _, n := range notices {
		if _, err := tx.Exec(ctx, `INSERT INTO notices (account_id, producer_id, type, payload, created_at) VALUES ($1, $2, $3, $4, $5)`,
			n.AccountID, n.ProducerID, n.MessageType, []byte(n.Payload), ms(n.CreatedAt)); err != nil {
			return err
		}
	}
	return nil
}

// AddNotices implements store.Store.
func (s *Store) AddNotices(ctx context.Context, notices []bahasha.Event) error {
	if len(notices) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx pgx.Tx) error { return addNotices(ctx, tx, notices) })
}

// FlushNotices implements store.Store. Nodes flushing at once take
// different notices (SKIP LOCKED); each account's are routed as one
// InsertEvents would, oldest first.
func (s *Store) FlushNotices(ctx context.Context, p store.FlushNoticesParams) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		rows, err := tx.Query(ctx, `SELECT id, account_id, producer_id, type, payload, created_at FROM notices ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED`, p.Limit)
		if err != nil {
			return err
		}
		var ids []int64
		var order []string
		byAccount := map[string][]bahasha.Event{}
		var id, created int64
		var e bahasha.Event
		var payload []byte
		if _, err := pgx.ForEachRow(rows, []any{&id, &e.AccountID, &e.ProducerID, &e.MessageType, &payload, &created}, func() error {
			ev := e
			ev.Kind, ev.Payload, ev.CreatedAt = bahasha.KindOperational, append([]byte(nil), payload...), fromMS(created)
			if byAccount[ev.AccountID] == nil {
				order = append(order, ev.AccountID)
			}
			byAccount[ev.AccountID] = append(byAccount[ev.AccountID], ev)
			ids = append(ids, id)
			return nil
		}); err != nil {
			return err
		}
		// Every lane these accounts have, locked up front in id order (as
		// every writer that locks several locks them): routing account by
		// account would lock one account's lanes, then a lower id of the
		// next, and could wait in a cycle with an expiry or another flush.
		if len(order) > 0 {
			if _, err := tx.Exec(ctx, `SELECT 1 FROM endpoints WHERE account_id = ANY($1::text[]) ORDER BY id FOR NO KEY UPDATE`, order); err != nil {
				return err
			}
		}
		for _, account := range order {
			ip := store.InsertEventsParams{AccountID: account, Events: byAccount[account], Now: p.Now, Source: "operational"}
			if err := insertEventsTx(ctx, tx, ip, make([]store.InsertResult, len(ip.Events))); err != nil {
				return err
			}
		}
		if len(ids) > 0 {
			if _, err := tx.Exec(ctx, `DELETE FROM notices WHERE id = ANY($1::bigint[])`, ids); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// RecentNotices implements store.Store.
func (s *Store) RecentNotices(ctx context.Context, accountID string, limit int) ([]bahasha.Event, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	rows, err := s.pool.Query(ctx, sqlstore.RecentNotices(func(i int) string { return "$" + strconv.Itoa(i) }), accountID, limit)
	if err != nil {
		return nil, s.translate(err)
	}
	var out []bahasha.Event
	var id, created int64
	var typ string
	var payload []byte
	_, err = pgx.ForEachRow(rows, []any{&id, &typ, &payload, &created}, func() error {
		out = append(out, bahasha.Event{ID: id, AccountID: accountID, Kind: bahasha.KindOperational, MessageType: typ,
			Payload: append([]byte(nil), payload...), CreatedAt: fromMS(created)})
		return nil
	})
	return out, s.translate(err)
}
