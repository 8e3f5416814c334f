package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// InsertEvents implements store.Store.
func (s *Store) InsertEvents(ctx context.Context, p store.InsertEventsParams) ([]store.InsertResult, error) {
	results := make([]store.InsertResult, len(p.Events))
	now := ms(p.Now)
	err := s.write(ctx, func(tx *sql.Tx) error {
		clear(results)
		var endpointID int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM endpoints WHERE account_id = ?`, p.AccountID).Scan(&endpointID)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		insertEvent, err := tx.PrepareContext(ctx, `INSERT INTO events (account_id, producer_id, kind, waba_id, phone_number_id,
			display_phone_number, wamid, status, message_type, payload, contact, created_at, available_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (account_id, producer_id) DO NOTHING RETURNING id`)
		if err != nil {
			return err
		}
		defer insertEvent.Close()
		insertDelivery, err := tx.PrepareContext(ctx, `INSERT INTO deliveries (account_id, endpoint_id, event_id, wamid, status_rank, state,
			next_attempt_at, window_start, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 'pending', ?, ?, ?, ?) RETURNING id`)
		if err != nil {
			return err
		}
		defer insertDelivery.Close()
		var earliest int64
		for i, e := range p.Events {
			if e.AccountID != p.AccountID {
				return fmt.Errorf("sqlite: event %d belongs to account %q, not %q", i, e.AccountID, p.AccountID)
			}
			available := ms(e.AvailableAt)
			if available == 0 {
				available = now
			}
			created := ms(e.CreatedAt)
			if created == 0 {
				created = now
			}
			var contact []byte
			if len(e.Contact) > 0 {
				contact = e.Contact
			}
			err := insertEvent.QueryRowContext(ctx, p.AccountID, e.ProducerID, string(e.Kind), e.WABAID, e.PhoneNumberID,
				e.DisplayPhoneNumber, e.WAMID, e.Status, e.MessageType, []byte(e.Payload), contact, created, available).Scan(&results[i].EventID)
			if errors.Is(err, sql.ErrNoRows) {
				results[i].Duplicate = true
				if err := tx.QueryRowContext(ctx, `SELECT id FROM events WHERE account_id = ? AND producer_id = ?`,
					p.AccountID, e.ProducerID).Scan(&results[i].EventID); err != nil {
					return err
				}
				continue
			}
			if err != nil {
				return err
			}
			if endpointID == 0 {
				continue
			}
			rank := 0
			if e.Kind == bahasha.KindStatus {
				rank = bahasha.StatusRank(e.Status)
			}
			if err := insertDelivery.QueryRowContext(ctx, p.AccountID, endpointID, results[i].EventID, e.WAMID, rank,
				available, available, now, now).Scan(&results[i].DeliveryID); err != nil {
				return err
			}
			if earliest == 0 || available < earliest {
				earliest = available
			}
		}
		if earliest != 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET lane_due_at = min(coalesce(lane_due_at, ?), ?) WHERE id = ?`,
				earliest, earliest, endpointID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}
