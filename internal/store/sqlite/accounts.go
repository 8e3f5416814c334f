package sqlite

import (
	"context"
	"database/sql"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
)

// CreateAccount implements store.Store.
func (s *Store) CreateAccount(ctx context.Context, p store.CreateAccountParams) error {
	a := p.Account
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, name, app_secret, created_at) VALUES (?, ?, ?, ?)`,
			a.ID, a.Name, a.AppSecret, ms(a.CreatedAt)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO api_keys (key_hash, account_id, created_at) VALUES (?, ?, ?)`,
			p.APIKeyHash, a.ID, ms(a.CreatedAt)); err != nil {
			return err
		}
		for _, n := range p.PhoneNumbers {
			if _, err := tx.ExecContext(ctx, `INSERT INTO phone_numbers (id, account_id, waba_id, display_phone_number, sandbox, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
				n.ID, a.ID, n.WABAID, n.DisplayPhoneNumber, n.Sandbox, ms(n.CreatedAt)); err != nil {
				return err
			}
		}
		return nil
	})
}

// AccountByKeyHash implements store.Store.
func (s *Store) AccountByKeyHash(ctx context.Context, keyHash []byte) (bahasha.Account, error) {
	return scanAccount(s.rdb.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM api_keys k JOIN accounts a ON a.id = k.account_id WHERE k.key_hash = ?`, keyHash))
}

// Account implements store.Store.
func (s *Store) Account(ctx context.Context, accountID string) (bahasha.Account, error) {
	return scanAccount(s.rdb.QueryRowContext(ctx, `SELECT `+accountColumns+` FROM accounts a WHERE a.id = ?`, accountID))
}

// CountAccounts implements store.Store.
func (s *Store) CountAccounts(ctx context.Context) (int, error) {
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM accounts`).Scan(&n)
	return n, translate(err)
}

// SetAppSecret implements store.Store.
func (s *Store) SetAppSecret(ctx context.Context, p store.SetAppSecretParams) error {
	accountID, secret := p.AccountID, p.Secret
	return s.write(ctx, func(tx *wtx) error {
		res, err := tx.ExecContext(ctx, `UPDATE accounts SET app_secret = ? WHERE id = ?`, secret, accountID)
		return affected(res, err)
	})
}

// affected turns "no row changed" into ErrNotFound.
func affected(res sql.Result, err error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// PhoneNumbers implements store.Store.
func (s *Store) PhoneNumbers(ctx context.Context, accountID string) ([]bahasha.PhoneNumber, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+phoneColumns+` FROM phone_numbers WHERE account_id = ? ORDER BY created_at, id`, accountID)
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

// PhoneNumber implements store.Store.
func (s *Store) PhoneNumber(ctx context.Context, p store.GetPhoneNumberParams) (bahasha.PhoneNumber, error) {
	accountID, phoneNumberID := p.AccountID, p.PhoneNumberID
	return scanPhone(s.rdb.QueryRowContext(ctx, `SELECT `+phoneColumns+` FROM phone_numbers WHERE id = ? AND account_id = ?`, phoneNumberID, accountID))
}

// Endpoint implements store.Store.
func (s *Store) Endpoint(ctx context.Context, accountID string) (bahasha.Endpoint, error) {
	return scanEndpoint(s.rdb.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE account_id = ?`, accountID))
}

// PutEndpoint implements store.Store.
func (s *Store) PutEndpoint(ctx context.Context, p store.PutEndpointParams) (bahasha.Endpoint, error) {
	var e bahasha.Endpoint
	err := s.write(ctx, func(tx *wtx) error {
		var err error
		e, err = scanEndpoint(tx.QueryRowContext(ctx, `INSERT INTO endpoints (account_id, url, verify_token, verified_at, created_at)
			VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (account_id) DO UPDATE SET url = excluded.url, verify_token = excluded.verify_token, verified_at = excluded.verified_at,
				consecutive_failures = 0, probe_at = 0, failing_since = 0
			RETURNING `+endpointColumns, p.AccountID, p.URL, p.VerifyToken, ms(p.VerifiedAt), ms(p.Now)))
		return err
	})
	return e, err
}

// DeleteEndpoint implements store.Store.
func (s *Store) DeleteEndpoint(ctx context.Context, p store.DeleteEndpointParams) error {
	accountID, now, reason := p.AccountID, p.Now, p.Reason
	return s.write(ctx, func(tx *wtx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `DELETE FROM endpoints WHERE account_id = ? RETURNING id`, accountID).Scan(&id); err != nil {
			return err
		}
		_, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'failed', next_attempt_at = NULL, last_error = ?, updated_at = ?
			WHERE endpoint_id = ? AND state = 'pending'`, reason, ms(now), id)
		return err
	})
}
