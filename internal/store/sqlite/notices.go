package sqlite

import (
	"context"
	"strings"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

// addNotices records operational events in tx.
func addNotices(ctx context.Context, tx *wtx, notices []bahasha.Event) error {
	for _, n := range notices {
		if _, err := tx.ExecContext(ctx, `INSERT INTO notices (account_id, producer_id, type, payload, created_at) VALUES (?, ?, ?, ?, ?)`,
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
	return s.write(ctx, func(tx *wtx) error { return addNotices(ctx, tx, notices) })
}

// FlushNotices implements store.Store.
func (s *Store) FlushNotices(ctx context.Context, p store.FlushNoticesParams) (int, error) {
	n := 0
	err := s.write(ctx, func(tx *wtx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, account_id, producer_id, type, payload, created_at FROM notices ORDER BY id LIMIT ?`, p.Limit)
		if err != nil {
			return err
		}
		var ids []any
		var order []string
		byAccount := map[string][]bahasha.Event{}
		for rows.Next() {
			var id, created int64
			var e bahasha.Event
			var payload []byte
			if err := rows.Scan(&id, &e.AccountID, &e.ProducerID, &e.MessageType, &payload, &created); err != nil {
				rows.Close()
				return err
			}
			e.Kind, e.Payload, e.CreatedAt = bahasha.KindOperational, payload, fromMS(created)
			if byAccount[e.AccountID] == nil {
				order = append(order, e.AccountID)
			}
			byAccount[e.AccountID] = append(byAccount[e.AccountID], e)
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		now := ms(p.Now)
		for _, account := range order {
			ip := store.InsertEventsParams{AccountID: account, Events: byAccount[account], Now: p.Now, Source: "operational"}
			results := make([]store.InsertResult, len(ip.Events))
			for start := 0; start < len(ip.Events); start += insertChunk {
				if err := insertEventChunk(ctx, tx, ip, now, start, min(start+insertChunk, len(ip.Events)), results); err != nil {
					return err
				}
			}
			if err := insertDeliveries(ctx, tx, ip, now, results); err != nil {
				return err
			}
		}
		if len(ids) > 0 {
			if _, err := tx.ExecContext(ctx, `DELETE FROM notices WHERE id IN (?`+strings.Repeat(",?", len(ids)-1)+`)`, ids...); err != nil {
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
	rows, err := s.rdb.QueryContext(ctx, sqlstore.RecentNotices(func(int) string { return "?" }), accountID, limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []bahasha.Event
	for rows.Next() {
		e := bahasha.Event{AccountID: accountID, Kind: bahasha.KindOperational}
		var payload []byte
		var created int64
		if err := rows.Scan(&e.ID, &e.MessageType, &payload, &created); err != nil {
			return nil, translate(err)
		}
		e.Payload, e.CreatedAt = payload, fromMS(created)
		out = append(out, e)
	}
	return out, translate(rows.Err())
}
