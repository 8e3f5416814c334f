package sqlite

import (
	"context"
	"encoding/json"
	"strings"

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
	// json_each binds each list as one parameter, however long it is.
	ids, _ := json.Marshal(nonNil(p.IDs))
	wabas, _ := json.Marshal(nonNil(p.WABAIDs))
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+phoneColumns+` FROM phone_numbers
		WHERE id IN (SELECT value FROM json_each(?)) OR waba_id IN (SELECT value FROM json_each(?)) ORDER BY created_at, id`, string(ids), string(wabas))
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []bahasha.PhoneNumber
	for rows.Next() {
		n, err := scanPhone(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, translate(rows.Err())
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// AddUnrouted implements store.Store.
func (s *Store) AddUnrouted(ctx context.Context, changes []store.Unrouted) error {
	if len(changes) == 0 {
		return nil
	}
	return s.write(ctx, func(tx *wtx) error {
		// In chunks: a statement binds at most 32766 parameters.
		for len(changes) > 0 {
			chunk := changes[:min(len(changes), 500)]
			changes = changes[len(chunk):]
			var q strings.Builder
			q.WriteString(`INSERT INTO unrouted (digest, received_at, field, entry_id, phone_number_id, display_phone_number, reason, body) VALUES `)
			args := make([]any, 0, 8*len(chunk))
			for i, c := range chunk {
				if i > 0 {
					q.WriteString(",")
				}
				q.WriteString("(?, ?, ?, ?, ?, ?, ?, ?)")
				args = append(args, c.Digest, ms(c.ReceivedAt), c.Field, c.EntryID, c.PhoneNumberID, c.DisplayPhoneNumber, c.Reason, []byte(c.Body))
			}
			q.WriteString(" ON CONFLICT (digest) DO NOTHING")
			if _, err := tx.ExecContext(ctx, q.String(), args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// ListUnrouted implements store.Store.
func (s *Store) ListUnrouted(ctx context.Context, p store.ListUnroutedParams) ([]store.Unrouted, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, digest, received_at, field, entry_id, phone_number_id, display_phone_number, reason, body
		FROM unrouted WHERE id > ? ORDER BY id LIMIT ?`, p.After, p.Limit)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []store.Unrouted
	for rows.Next() {
		var u store.Unrouted
		var at int64
		var body []byte
		if err := rows.Scan(&u.ID, &u.Digest, &at, &u.Field, &u.EntryID, &u.PhoneNumberID, &u.DisplayPhoneNumber, &u.Reason, &body); err != nil {
			return nil, translate(err)
		}
		u.ReceivedAt, u.Body = fromMS(at), body
		out = append(out, u)
	}
	return out, translate(rows.Err())
}

// RemoveUnrouted implements store.Store.
func (s *Store) RemoveUnrouted(ctx context.Context, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	b, _ := json.Marshal(ids)
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `DELETE FROM unrouted WHERE id IN (SELECT value FROM json_each(?))`, string(b))
		return err
	})
}

// SetNumberToken implements store.Store.
func (s *Store) SetNumberToken(ctx context.Context, p store.NumberTokenParams) error {
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE phone_numbers SET access_token = ? WHERE id = ? AND account_id = ?`,
			nonNilBytes(p.Sealed), p.PhoneNumberID, p.AccountID)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return store.ErrNotFound
		}
		return nil
	})
}

func nonNilBytes(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

// NumberToken implements store.Store.
func (s *Store) NumberToken(ctx context.Context, p store.GetPhoneNumberParams) ([]byte, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	var sealed []byte
	err := s.rdb.QueryRowContext(ctx, `SELECT access_token FROM phone_numbers WHERE id = ? AND account_id = ?`, p.PhoneNumberID, p.AccountID).Scan(&sealed)
	if err == nil && len(sealed) == 0 {
		return nil, store.ErrNotFound
	}
	return sealed, translate(err)
}
