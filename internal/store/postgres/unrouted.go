package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// LookupNumbers implements store.Store.
func (s *Store) LookupNumbers(ctx context.Context, p store.LookupNumbersParams) ([]bahasha.PhoneNumber, error) {
	if len(p.IDs) == 0 && len(p.WABAIDs) == 0 {
		return nil, nil
	}
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	rows, err := s.pool.Query(ctx, `SELECT `+phoneColumns+` FROM phone_numbers
		WHERE id = ANY($1::text[]) OR waba_id = ANY($2::text[]) ORDER BY created_at, id`, p.IDs, p.WABAIDs)
	if err != nil {
		return nil, s.translate(err)
	}
	defer rows.Close()
	var out []bahasha.PhoneNumber
	for rows.Next() {
		n, err := scanPhone(rows)
		if err != nil {
			return nil, s.translate(err)
		}
		out = append(out, n)
	}
	return out, s.translate(rows.Err())
}

// AddUnrouted implements store.Store.
func (s *Store) AddUnrouted(ctx context.Context, changes []store.Unrouted) error {
	if len(changes) == 0 {
		return nil
	}
	n := len(changes)
	digests, fields, entries, phones, displays, reasons := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	at, bodies := make([]int64, n), make([][]byte, n)
	for i, c := range changes {
		digests[i], fields[i], entries[i], phones[i], displays[i], reasons[i] = c.Digest, c.Field, c.EntryID, c.PhoneNumberID, c.DisplayPhoneNumber, c.Reason
		at[i], bodies[i] = ms(c.ReceivedAt), c.Body
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `INSERT INTO unrouted (digest, received_at, field, entry_id, phone_number_id, display_phone_number, reason, body)
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bytea[])
			ON CONFLICT (digest) DO NOTHING`, digests, at, fields, entries, phones, displays, reasons, bodies)
		return err
	})
}

// ListUnrouted implements store.Store.
func (s *Store) ListUnrouted(ctx context.Context, p store.ListUnroutedParams) ([]store.Unrouted, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	rows, err := s.pool.Query(ctx, `SELECT id, digest, received_at, field, entry_id, phone_number_id, display_phone_number, reason, body
		FROM unrouted WHERE id > $1 ORDER BY id LIMIT $2`, p.After, limit(p.Limit))
	if err != nil {
		return nil, s.translate(err)
	}
	var out []store.Unrouted
	var u store.Unrouted
	var at int64
	var body []byte
	_, err = pgx.ForEachRow(rows, []any{&u.ID, &u.Digest, &at, &u.Field, &u.EntryID, &u.PhoneNumberID, &u.DisplayPhoneNumber, &u.Reason, &body}, func() error {
		v := u
		v.ReceivedAt, v.Body = fromMS(at), append([]byte(nil), body...)
		out = append(out, v)
		return nil
	})
	return out, s.translate(err)
}

// RemoveUnrouted implements store.Store.
func (s *Store) RemoveUnrouted(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM unrouted WHERE id = ANY($1::bigint[])`, ids)
		return err
	})
}

// SetNumberToken implements store.Store.
func (s *Store) SetNumberToken(ctx context.Context, p store.NumberTokenParams) error {
	sealed := p.Sealed
	if sealed == nil {
		sealed = []byte{}
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE phone_numbers SET access_token = $1 WHERE id = $2 AND account_id = $3`, sealed, p.PhoneNumberID, p.AccountID)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return store.ErrNotFound
		}
		return nil
	})
}

// NumberToken implements store.Store.
func (s *Store) NumberToken(ctx context.Context, p store.GetPhoneNumberParams) ([]byte, error) {
	var sealed []byte
	err := s.queryRow(ctx, `SELECT access_token FROM phone_numbers WHERE id = $1 AND account_id = $2`, []any{p.PhoneNumberID, p.AccountID}, &sealed)
	if err == nil && len(sealed) == 0 {
		return nil, store.ErrNotFound
	}
	return sealed, err
}
