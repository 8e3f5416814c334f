package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

// insertChunk caps the rows of one multi-row INSERT (13 parameters each,
// well under SQLite's limit of 32766).
const insertChunk = 500

// InsertEvents implements store.Store. Events and their deliveries are
// written with multi-row INSERTs; producer ids already stored are found with
// one lookup per chunk.
func (s *Store) InsertEvents(ctx context.Context, p store.InsertEventsParams) ([]store.InsertResult, error) {
	results := make([]store.InsertResult, len(p.Events))
	now := ms(p.Now)
	for i, e := range p.Events {
		if e.AccountID != p.AccountID {
			return nil, fmt.Errorf("sqlite: event %d belongs to account %q, not %q", i, e.AccountID, p.AccountID)
		}
	}
	err := s.write(ctx, func(tx *wtx) error {
		clear(results)
		for start := 0; start < len(p.Events); start += insertChunk {
			end := min(start+insertChunk, len(p.Events))
			if err := insertEventChunk(ctx, tx, p, now, start, end, results); err != nil {
				return err
			}
		}
		return insertDeliveries(ctx, tx, p, now, results)
	})
	if err != nil {
		return nil, err
	}
	return results, nil
}

// deliveryChunk caps the rows of one multi-row INSERT of deliveries (9
// parameters each).
const deliveryChunk = 3000

// insertDeliveries routes the batch's new events over the account's
// enabled endpoints, inserts their deliveries, fills their results, and
// makes the endpoints' lanes due.
func insertDeliveries(ctx context.Context, tx *wtx, p store.InsertEventsParams, now int64, results []store.InsertResult) error {
	endpoints, err := routeEndpoints(ctx, tx, p.AccountID)
	if err != nil {
		return err
	}
	plan, earliest := sqlstore.PlanDeliveries(endpoints, p.Events, results, func(e bahasha.Event) int64 {
		if a := ms(e.AvailableAt); a != 0 {
			return a
		}
		return now
	})
	if len(plan) == 0 {
		return nil
	}
	ids := make([]int64, len(plan))
	var q strings.Builder
	args := make([]any, 0, min(len(plan), deliveryChunk)*9)
	for start := 0; start < len(plan); start += deliveryChunk {
		chunk := plan[start:min(start+deliveryChunk, len(plan))]
		q.Reset()
		q.WriteString(`INSERT INTO deliveries (account_id, endpoint_id, event_id, wamid, status_rank, state, next_attempt_at,
			window_start, created_at, updated_at) VALUES `)
		args = args[:0]
		for k, d := range chunk {
			if k > 0 {
				q.WriteByte(',')
			}
			q.WriteString("(?,?,?,?,?,'pending',?,?,?,?)")
			args = append(args, p.AccountID, d.EndpointID, results[d.Index].EventID, p.Events[d.Index].WAMID, d.Rank, d.Due, d.Due, now, now)
		}
		res, err := tx.ExecContext(ctx, q.String(), args...)
		if err != nil {
			return err
		}
		// The deliveries table has no unique constraint: every row went
		// in, numbered in VALUES order, so this statement's last insert is
		// its last row.
		last, err := res.LastInsertId()
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil || n != int64(len(chunk)) {
			return fmt.Errorf("sqlite: %d deliveries inserted of %d (%v)", n, len(chunk), err)
		}
		for k := range chunk {
			ids[start+k] = last - int64(len(chunk)) + 1 + int64(k)
		}
	}
	sqlstore.AssignDeliveries(results, plan, ids)
	for id, due := range earliest {
		if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET lane_due_at = min(coalesce(lane_due_at, ?), ?) WHERE id = ?`, due, due, id); err != nil {
			return err
		}
	}
	return nil
}

// insertEventChunk inserts events [start, end) and fills their results.
func insertEventChunk(ctx context.Context, tx *wtx, p store.InsertEventsParams, now int64, start, end int, results []store.InsertResult) error {
	events := p.Events[start:end]
	available := func(e bahasha.Event) int64 {
		if a := ms(e.AvailableAt); a != 0 {
			return a
		}
		return now
	}
	// (A producer id repeated in a later chunk is found stored, below.)
	first := sqlstore.FirstOccurrences(events)
	var q strings.Builder
	q.WriteString(`INSERT INTO events (account_id, producer_id, kind, waba_id, phone_number_id, display_phone_number,
		wamid, status, message_type, payload, contact, created_at, available_at) VALUES `)
	args := make([]any, 0, len(events)*13)
	rows := 0
	for i, e := range events {
		if !first[i] {
			continue
		}
		if rows > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(?,?,?,?,?,?,?,?,?,?,?,?,?)")
		rows++
		created := ms(e.CreatedAt)
		if created == 0 {
			created = now
		}
		var contact []byte
		if len(e.Contact) > 0 {
			contact = e.Contact
		}
		args = append(args, p.AccountID, e.ProducerID, string(e.Kind), e.WABAID, e.PhoneNumberID, e.DisplayPhoneNumber,
			e.WAMID, e.Status, e.MessageType, []byte(e.Payload), contact, created, available(e))
	}
	q.WriteString(` ON CONFLICT (account_id, producer_id) DO NOTHING`)
	// Holding the write lock, SQLite numbers the rows this statement adds
	// max(id)+1 onwards in VALUES order (events has no AUTOINCREMENT), so
	// the ids above the largest one before it are exactly its rows. The
	// count comes from the statement itself; LastInsertId is not used, as
	// after an INSERT that added nothing it is whatever the connection
	// inserted last, in any table.
	var before int64
	if err := tx.QueryRowContext(ctx, `SELECT coalesce(max(id), 0) FROM events`).Scan(&before); err != nil {
		return err
	}
	res, err := tx.ExecContext(ctx, q.String(), args...)
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	// Usually every row was new: they are before+1 up to before+rows, in
	// VALUES order. Otherwise the ids are looked up.
	if n == int64(rows) {
		next := before + 1
		var firstID map[string]int64 // of repeated producer ids, made when one is
		for i, e := range events {
			if first[i] {
				results[start+i] = store.InsertResult{EventID: next}
				if firstID != nil {
					firstID[e.ProducerID] = next
				}
				next++
				continue
			}
			if firstID == nil {
				firstID = map[string]int64{}
				for j := range i {
					firstID[events[j].ProducerID] = results[start+j].EventID
				}
			}
			results[start+i] = store.InsertResult{EventID: firstID[e.ProducerID], Duplicate: true}
		}
	} else {
		// The ids this statement added are above before; the others were
		// stored before it.
		missing := make([]any, 0, len(events))
		for _, e := range events {
			missing = append(missing, e.ProducerID)
		}
		added, stored := map[string]int64{}, map[string]int64{}
		err := queryPairs(ctx, tx, `SELECT id, producer_id FROM events WHERE account_id = ? AND producer_id IN (?`+strings.Repeat(",?", len(missing)-1)+`)`,
			append([]any{p.AccountID}, missing...), func(id int64, producer string) {
				if id > before {
					added[producer] = id
				} else {
					stored[producer] = id
				}
			})
		if err != nil {
			return err
		}
		if !sqlstore.ResolveDuplicates(events, first, added, stored, results[start:end]) {
			return fmt.Errorf("sqlite: an event is neither stored nor new after its insert")
		}
	}
	return nil
}

// queryPairs runs a query returning (id, text) rows.
func queryPairs(ctx context.Context, tx *wtx, q string, args []any, fn func(int64, string)) error {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var s string
		if err := rows.Scan(&id, &s); err != nil {
			return err
		}
		fn(id, s)
	}
	return rows.Err()
}

// routeEndpoints returns an account's enabled endpoints as routing needs
// them (sqlstore.ScanRoute), in id order.
func routeEndpoints(ctx context.Context, tx *wtx, accountID string) ([]bahasha.Endpoint, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+sqlstore.RouteColumns+` FROM endpoints WHERE account_id = ? AND enabled = 1 ORDER BY id`, accountID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	return sqlstore.CollectRoutes(rows)
}
