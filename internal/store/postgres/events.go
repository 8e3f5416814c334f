package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

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
	err := s.tx(ctx, func(tx pgx.Tx) error { return insertEventsTx(ctx, tx, p, results) })
	if err != nil {
		return nil, err
	}
	return results, nil
}

// insertEventsTx is InsertEvents within tx: it stores p's events, routes
// the new ones over the account's endpoints and fills results.
func insertEventsTx(ctx context.Context, tx pgx.Tx, p store.InsertEventsParams, results []store.InsertResult) error {
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
	clear(results)
	// KEY SHARE: the endpoints cannot be deleted while their
	// deliveries are being created, and claimers (NO KEY UPDATE) are
	// not held up.
	endpoints, err := routeEndpoints(ctx, tx, p.AccountID, "FOR KEY SHARE")
	if err != nil {
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
	plan, earliest := sqlstore.PlanDeliveries(endpoints, p.Events, results, available)
	if len(plan) == 0 {
		return nil
	}
	endpointIDs, eventIDs, dues := make([]int64, len(plan)), make([]int64, len(plan)), make([]int64, len(plan))
	dwamids, ranks := make([]string, len(plan)), make([]int32, len(plan))
	for k, d := range plan {
		endpointIDs[k], eventIDs[k], dues[k] = d.EndpointID, results[d.Index].EventID, d.Due
		dwamids[k], ranks[k] = p.Events[d.Index].WAMID, int32(d.Rank)
	}
	rows, err = tx.Query(ctx, `INSERT INTO deliveries (account_id, endpoint_id, event_id, wamid, status_rank, state, next_attempt_at,
			window_start, created_at, updated_at)
		SELECT $1, u.endpoint_id, u.event_id, u.wamid, u.status_rank, 'pending', u.due, u.due, $2, $2
		FROM unnest($3::bigint[], $4::bigint[], $5::text[], $6::integer[], $7::bigint[]) WITH ORDINALITY
			AS u(endpoint_id, event_id, wamid, status_rank, due, ord)
		ORDER BY u.ord
		RETURNING id, event_id, endpoint_id`, p.AccountID, now, endpointIDs, eventIDs, dwamids, ranks, dues)
	if err != nil {
		return err
	}
	type key struct{ event, endpoint int64 }
	byKey := make(map[key]int64, len(plan))
	var id, ev, ep int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &ev, &ep}, func() error { byKey[key{ev, ep}] = id; return nil }); err != nil {
		return err
	}
	ids := make([]int64, len(plan))
	for k := range plan {
		if ids[k] = byKey[key{eventIDs[k], endpointIDs[k]}]; ids[k] == 0 {
			return fmt.Errorf("postgres: delivery of event %d to endpoint %d not inserted", eventIDs[k], endpointIDs[k])
		}
	}
	sqlstore.AssignDeliveries(results, plan, ids)
	// In id order, as every writer locks lanes: two ingests for one
	// account's endpoints never wait for each other in a cycle.
	for _, endpointID := range slices.Sorted(maps.Keys(earliest)) {
		if _, err := tx.Exec(ctx, `UPDATE endpoints SET lane_due_at = LEAST(coalesce(lane_due_at, $1), $1) WHERE id = $2`, earliest[endpointID], endpointID); err != nil {
			return err
		}
	}
	return nil
}

// pairs reads (id, text) rows.
func pairs(rows pgx.Rows, fn func(int64, string)) error {
	var id int64
	var s string
	_, err := pgx.ForEachRow(rows, []any{&id, &s}, func() error { fn(id, s); return nil })
	return err
}

// routeEndpoints returns an account's enabled endpoints as routing needs
// them (sqlstore.ScanRoute), in id order, locked with lock.
func routeEndpoints(ctx context.Context, tx pgx.Tx, accountID, lock string) ([]bahasha.Endpoint, error) {
	rows, err := tx.Query(ctx, `SELECT `+sqlstore.RouteColumns+` FROM endpoints WHERE account_id = $1 AND enabled ORDER BY id `+lock, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlstore.CollectRoutes(rows)
}
