package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

// InsertEvents implements store.Store. One transaction whatever the batch
// size: the events go in with one INSERT … SELECT FROM unnest(arrays) (the
// statement text does not depend on the batch size, so it is prepared once
// per connection), their deliveries with another.
func (s *Store) InsertEvents(ctx context.Context, p store.InsertEventsParams) ([]store.InsertResult, error) {
	for i, e := range p.Events {
		if e.AccountID != p.AccountID {
			return nil, fmt.Errorf("postgres: event %d belongs to account %q, not %q", i, e.AccountID, p.AccountID)
		}
	}
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	results := make([]store.InsertResult, len(p.Events))
	if len(p.Events) == 0 {
		return results, nil
	}
	now := ms(p.Now)
	available := func(e bahasha.Event) int64 {
		if a := ms(e.AvailableAt); a != 0 {
			return a
		}
		return now
	}
	first := sqlstore.FirstOccurrences(p.Events)
	n := len(p.Events)
	producers, kinds, wabas, phones, displays := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	wamids, statuses, types := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	payloads, contacts := make([][]byte, 0, n), make([][]byte, 0, n)
	created, avail := make([]int64, 0, n), make([]int64, 0, n)
	for i, e := range p.Events {
		if !first[i] {
			continue
		}
		c := ms(e.CreatedAt)
		if c == 0 {
			c = now
		}
		payload := []byte(e.Payload)
		if payload == nil {
			payload = []byte{}
		}
		var contact []byte
		if len(e.Contact) > 0 {
			contact = e.Contact
		}
		producers, kinds, wabas, phones, displays = append(producers, e.ProducerID), append(kinds, string(e.Kind)),
			append(wabas, e.WABAID), append(phones, e.PhoneNumberID), append(displays, e.DisplayPhoneNumber)
		wamids, statuses, types = append(wamids, e.WAMID), append(statuses, e.Status), append(types, e.MessageType)
		payloads, contacts = append(payloads, payload), append(contacts, contact)
		created, avail = append(created, c), append(avail, available(e))
	}
	err := s.tx(ctx, func(tx pgx.Tx) error {
		clear(results)
		// KEY SHARE: the endpoint cannot be deleted while its deliveries are
		// being created, and claimers (NO KEY UPDATE) are not held up.
		var endpointID int64
		switch err := tx.QueryRow(ctx, `SELECT id FROM endpoints WHERE account_id = $1 FOR KEY SHARE`, p.AccountID).Scan(&endpointID); {
		case err == nil, errors.Is(err, pgx.ErrNoRows):
		default:
			return err
		}
		rows, err := tx.Query(ctx, `INSERT INTO events (account_id, producer_id, kind, waba_id, phone_number_id, display_phone_number,
				wamid, status, message_type, payload, contact, created_at, available_at)
			SELECT @account, u.producer_id, u.kind, u.waba_id, u.phone_number_id, u.display_phone_number,
				u.wamid, u.status, u.message_type, u.payload, u.contact, u.created_at, u.available_at
			FROM unnest(@producers::text[], @kinds::text[], @wabas::text[], @phones::text[], @displays::text[], @wamids::text[],
				@statuses::text[], @types::text[], @payloads::bytea[], @contacts::bytea[], @created::bigint[], @available::bigint[]) WITH ORDINALITY
				AS u(producer_id, kind, waba_id, phone_number_id, display_phone_number, wamid, status, message_type,
					payload, contact, created_at, available_at, ord)
			ORDER BY u.ord
			ON CONFLICT (account_id, producer_id) DO NOTHING
			RETURNING id, producer_id`,
			pgx.NamedArgs{"account": p.AccountID, "producers": producers, "kinds": kinds, "wabas": wabas, "phones": phones,
				"displays": displays, "wamids": wamids, "statuses": statuses, "types": types, "payloads": payloads, "contacts": contacts,
				"created": created, "available": avail})
		if err != nil {
			return err
		}
		inserted := make(map[string]int64, len(producers))
		if err := pairs(rows, func(id int64, producer string) { inserted[producer] = id }); err != nil {
			return err
		}
		// Producer ids already stored (or repeated in this batch).
		var missing []string
		for i, e := range p.Events {
			if _, ok := inserted[e.ProducerID]; !ok || !first[i] {
				missing = append(missing, e.ProducerID)
			}
		}
		stored := map[string]int64{}
		if len(missing) > 0 {
			rows, err := tx.Query(ctx, `SELECT id, producer_id FROM events WHERE account_id = $1 AND producer_id = ANY($2::text[])`, p.AccountID, missing)
			if err != nil {
				return err
			}
			if err := pairs(rows, func(id int64, producer string) { stored[producer] = id }); err != nil {
				return err
			}
		}
		if !sqlstore.ResolveDuplicates(p.Events, first, inserted, stored, results) {
			return errors.New("postgres: an event is neither stored nor new after its insert")
		}
		if endpointID == 0 {
			return nil
		}
		var eventIDs, dues []int64
		var dwamids []string
		var ranks []int32
		var order []int
		var earliest int64
		for i, e := range p.Events {
			r := results[i]
			if r.Duplicate {
				continue
			}
			rank := 0
			if e.Kind == bahasha.KindStatus {
				rank = bahasha.StatusRank(e.Status)
			}
			a := available(e)
			eventIDs, dwamids, ranks, dues = append(eventIDs, r.EventID), append(dwamids, e.WAMID), append(ranks, int32(rank)), append(dues, a)
			order = append(order, i)
			if earliest == 0 || a < earliest {
				earliest = a
			}
		}
		if len(order) == 0 {
			return nil
		}
		rows, err = tx.Query(ctx, `INSERT INTO deliveries (account_id, endpoint_id, event_id, wamid, status_rank, state, next_attempt_at,
				window_start, created_at, updated_at)
			SELECT $1, $2, u.event_id, u.wamid, u.status_rank, 'pending', u.due, u.due, $3, $3
			FROM unnest($4::bigint[], $5::text[], $6::integer[], $7::bigint[]) WITH ORDINALITY AS u(event_id, wamid, status_rank, due, ord)
			ORDER BY u.ord
			RETURNING id, event_id`, p.AccountID, endpointID, now, eventIDs, dwamids, ranks, dues)
		if err != nil {
			return err
		}
		byEvent := make(map[int64]int64, len(order))
		var id, ev int64
		if _, err := pgx.ForEachRow(rows, []any{&id, &ev}, func() error { byEvent[ev] = id; return nil }); err != nil {
			return err
		}
		for _, i := range order {
			results[i].DeliveryID = byEvent[results[i].EventID]
		}
		_, err = tx.Exec(ctx, `UPDATE endpoints SET lane_due_at = LEAST(coalesce(lane_due_at, $1), $1) WHERE id = $2`, earliest, endpointID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// pairs reads (id, text) rows.
func pairs(rows pgx.Rows, fn func(int64, string)) error {
	var id int64
	var s string
	_, err := pgx.ForEachRow(rows, []any{&id, &s}, func() error { fn(id, s); return nil })
	return err
}
