package sqlite

import (
	"context"
	"database/sql"
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
		var endpointID int64
		switch err := tx.QueryRowContext(ctx, `SELECT id FROM endpoints WHERE account_id = ?`, p.AccountID).Scan(&endpointID); err {
		case nil, sql.ErrNoRows:
		default:
			return err
		}
		var earliest int64
		for start := 0; start < len(p.Events); start += insertChunk {
			end := min(start+insertChunk, len(p.Events))
			e, err := insertEventChunk(ctx, tx, p, now, endpointID, start, end, results)
			if err != nil {
				return err
			}
			if e != 0 && (earliest == 0 || e < earliest) {
				earliest = e
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

// insertEventChunk inserts events [start, end) and their deliveries, fills
// their results, and returns the earliest due time of the deliveries made.
func insertEventChunk(ctx context.Context, tx *wtx, p store.InsertEventsParams, now, endpointID int64, start, end int, results []store.InsertResult) (int64, error) {
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
		return 0, err
	}
	res, err := tx.ExecContext(ctx, q.String(), args...)
	if err != nil {
		return 0, err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
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
			return 0, err
		}
		if !sqlstore.ResolveDuplicates(events, first, added, stored, results[start:end]) {
			return 0, fmt.Errorf("sqlite: an event is neither stored nor new after its insert")
		}
	}
	if endpointID == 0 {
		return 0, nil
	}
	q.Reset()
	q.WriteString(`INSERT INTO deliveries (account_id, endpoint_id, event_id, wamid, status_rank, state, next_attempt_at,
		window_start, created_at, updated_at) VALUES `)
	args = args[:0]
	var earliest int64
	var order []int
	for i, e := range events {
		r := &results[start+i]
		if r.Duplicate {
			continue
		}
		if len(order) > 0 {
			q.WriteByte(',')
		}
		q.WriteString("(?,?,?,?,?,'pending',?,?,?,?)")
		order = append(order, start+i)
		rank := 0
		if e.Kind == bahasha.KindStatus {
			rank = bahasha.StatusRank(e.Status)
		}
		a := available(e)
		args = append(args, p.AccountID, endpointID, r.EventID, e.WAMID, rank, a, a, now, now)
		if earliest == 0 || a < earliest {
			earliest = a
		}
	}
	if len(order) == 0 {
		return 0, nil
	}
	res, err = tx.ExecContext(ctx, q.String(), args...)
	if err != nil {
		return 0, err
	}
	// The deliveries table has no unique constraint: every row went in,
	// numbered in VALUES order as the events above, so this statement's
	// last insert is its last row.
	last, err := res.LastInsertId()
	if err != nil {
		return 0, err
	}
	if n, err := res.RowsAffected(); err != nil || n != int64(len(order)) {
		return 0, fmt.Errorf("sqlite: %d deliveries inserted of %d (%v)", n, len(order), err)
	}
	for k, i := range order {
		results[i].DeliveryID = last - int64(len(order)) + 1 + int64(k)
	}
	return earliest, nil
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
