package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

// CreateAccount implements store.Store.
func (s *Store) CreateAccount(ctx context.Context, p store.CreateAccountParams) error {
	a := p.Account
	return s.write(ctx, func(tx *wtx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO accounts (id, name, app_secret, created_at) VALUES (?, ?, ?, ?)`,
			a.ID, a.Name, a.AppSecret, ms(a.CreatedAt)); err != nil {
			return err
		}
		if err := insertKey(ctx, tx, store.CreateAPIKeyParams{AccountID: a.ID, KeyHash: p.APIKeyHash, Name: sqlstore.BootstrapKeyName,
			Scope: bahasha.ScopeFull, Hint: p.APIKeyHint, Now: a.CreatedAt}); err != nil {
			return err
		}
		if p.Owner.Email != "" {
			o := p.Owner
			o.AccountID, o.Role = a.ID, bahasha.RoleOwner
			if err := insertUser(ctx, tx, o); err != nil {
				return err
			}
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

// AddPhoneNumber implements store.Store.
func (s *Store) AddPhoneNumber(ctx context.Context, n bahasha.PhoneNumber) error {
	return s.write(ctx, func(tx *wtx) error {
		var other int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM phone_numbers WHERE waba_id = ? AND account_id != ?`, n.WABAID, n.AccountID).Scan(&other); err != nil {
			return err
		}
		if other > 0 {
			return store.ErrConflict
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO phone_numbers (id, account_id, waba_id, display_phone_number, sandbox, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			n.ID, n.AccountID, n.WABAID, n.DisplayPhoneNumber, n.Sandbox, ms(n.CreatedAt))
		return err
	})
}

// Endpoint implements store.Store.
func (s *Store) Endpoint(ctx context.Context, accountID string) (bahasha.Endpoint, error) {
	return scanEndpoint(s.rdb.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE account_id = ? AND is_primary = 1`, accountID))
}

// PutEndpoint implements store.Store.
func (s *Store) PutEndpoint(ctx context.Context, p store.PutEndpointParams) (bahasha.Endpoint, error) {
	var e bahasha.Endpoint
	err := s.write(ctx, func(tx *wtx) error {
		var id int64
		var enabled bool
		switch err := tx.QueryRowContext(ctx, `SELECT id, enabled FROM endpoints WHERE account_id = ? AND is_primary = 1`, p.AccountID).Scan(&id, &enabled); {
		case errors.Is(err, sql.ErrNoRows):
			if p.IfDisabled != nil {
				return store.ErrConflict
			}
		case err != nil:
			return err
		case p.IfDisabled != nil && *p.IfDisabled == enabled:
			return store.ErrConflict
		case !enabled:
			if err := enableLane(ctx, tx, id, ms(p.Now)); err != nil {
				return err
			}
		}
		if err := addNotices(ctx, tx, p.Notices); err != nil {
			return err
		}
		var err error
		e, err = scanEndpoint(tx.QueryRowContext(ctx, `INSERT INTO endpoints (account_id, url, verify_token, verified_at, created_at, is_primary, secret)
			VALUES (?, ?, ?, ?, ?, 1, ?)
			ON CONFLICT (account_id) WHERE is_primary = 1 DO UPDATE SET url = excluded.url, verify_token = excluded.verify_token,
				verified_at = excluded.verified_at, consecutive_failures = 0, probe_at = 0, failing_since = 0, enabled = 1, disabled_reason = ''
			RETURNING `+endpointColumns, p.AccountID, p.URL, p.VerifyToken, ms(p.VerifiedAt), ms(p.Now), p.Secret))
		return err
	})
	return e, err
}

// enableLane makes a disabled endpoint's waiting deliveries due now, all
// at once, so that they go in the order of their events.
func enableLane(ctx context.Context, tx *wtx, id, now int64) error {
	if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET next_attempt_at = ? WHERE endpoint_id = ? AND state = 'pending'`, now, id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE endpoints SET
		lane_due_at = (SELECT min(next_attempt_at) FROM deliveries WHERE endpoint_id = ? AND state = 'pending') WHERE id = ?`, id, id)
	return err
}

// DeleteEndpoint implements store.Store.
func (s *Store) DeleteEndpoint(ctx context.Context, p store.DeleteEndpointParams) error {
	return s.write(ctx, func(tx *wtx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM endpoints WHERE account_id = ? AND is_primary = 1`, p.AccountID).Scan(&id); err != nil {
			return err
		}
		return removeEndpoint(ctx, tx, id, p.Reason, ms(p.Now))
	})
}

// removeEndpoint deletes an endpoint and fails its pending deliveries.
func removeEndpoint(ctx context.Context, tx *wtx, id int64, reason string, now int64) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM endpoints WHERE id = ?`, id); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'failed', next_attempt_at = NULL, last_error = ?, updated_at = ?
		WHERE endpoint_id = ? AND state = 'pending'`, reason, now, id)
	return err
}

// Endpoints implements store.Store.
func (s *Store) Endpoints(ctx context.Context, accountID string) ([]bahasha.Endpoint, error) {
	return s.queryEndpoints(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE account_id = ? ORDER BY id`, accountID)
}

// queryEndpoints runs a query of endpointColumns.
func (s *Store) queryEndpoints(ctx context.Context, q string, args ...any) ([]bahasha.Endpoint, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []bahasha.Endpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, translate(err)
		}
		out = append(out, e)
	}
	return out, translate(rows.Err())
}

// EndpointByID implements store.Store.
func (s *Store) EndpointByID(ctx context.Context, p store.GetEndpointParams) (bahasha.Endpoint, error) {
	return scanEndpoint(s.rdb.QueryRowContext(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE id = ? AND account_id = ?`, p.EndpointID, p.AccountID))
}

// checkScope returns ErrNotFound unless the scope is the account's.
func checkScope(ctx context.Context, tx *wtx, accountID string, sc bahasha.Scope) error {
	var q string
	switch sc.Kind {
	case bahasha.ScopeAccount:
		return nil
	case bahasha.ScopeWABA:
		q = `SELECT count(*) FROM phone_numbers WHERE waba_id = ? AND account_id = ?`
	case bahasha.ScopePhoneNumber:
		q = `SELECT count(*) FROM phone_numbers WHERE id = ? AND account_id = ?`
	default:
		return store.ErrNotFound
	}
	var n int
	if err := tx.QueryRowContext(ctx, q, sc.ID, accountID).Scan(&n); err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// CreateEndpoint implements store.Store.
func (s *Store) CreateEndpoint(ctx context.Context, p store.CreateEndpointParams) (bahasha.Endpoint, error) {
	c := p.Endpoint
	c.Scope = c.Scope.OrAccount()
	var e bahasha.Endpoint
	err := s.write(ctx, func(tx *wtx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE id = ?`, c.AccountID).Scan(&n); err != nil {
			return err
		}
		if n == 0 {
			return store.ErrNotFound
		}
		if err := checkScope(ctx, tx, c.AccountID, c.Scope); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM endpoints WHERE account_id = ?`, c.AccountID).Scan(&n); err != nil {
			return err
		}
		if n >= p.Max {
			return store.ErrTooMany
		}
		events, headers := sqlstore.EndpointJSON(c)
		var err error
		e, err = scanEndpoint(tx.QueryRowContext(ctx, `INSERT INTO endpoints (account_id, url, verify_token, verified_at, created_at,
			scope_kind, scope_id, events, headers, rate_limit, enabled, description, secret)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING `+endpointColumns,
			c.AccountID, c.URL, c.VerifyToken, ms(c.VerifiedAt), ms(p.Now), string(c.Scope.Kind), c.Scope.ID, events, headers,
			c.RateLimit, !c.Disabled, c.Description, c.Secret))
		return err
	})
	return e, err
}

// UpdateEndpoint implements store.Store.
func (s *Store) UpdateEndpoint(ctx context.Context, p store.UpdateEndpointParams) (bahasha.Endpoint, error) {
	c := p.Endpoint
	c.Scope = c.Scope.OrAccount()
	var e bahasha.Endpoint
	err := s.write(ctx, func(tx *wtx) error {
		if err := checkScope(ctx, tx, c.AccountID, c.Scope); err != nil {
			return err
		}
		events, headers := sqlstore.EndpointJSON(c)
		var wasEnabled bool
		if err := tx.QueryRowContext(ctx, `SELECT enabled FROM endpoints WHERE id = ? AND account_id = ?`, c.ID, c.AccountID).Scan(&wasEnabled); err != nil {
			return err
		}
		if p.IfDisabled != nil && *p.IfDisabled == wasEnabled {
			return store.ErrConflict
		}
		if !wasEnabled && !c.Disabled {
			if err := enableLane(ctx, tx, c.ID, ms(p.Now)); err != nil {
				return err
			}
		}
		if err := addNotices(ctx, tx, p.Notices); err != nil {
			return err
		}
		var err error
		// A new URL, or enabling a disabled endpoint, starts its breaker
		// afresh.
		e, err = scanEndpoint(tx.QueryRowContext(ctx, `UPDATE endpoints SET
			consecutive_failures = CASE WHEN url = ?1 AND (enabled = 1 OR ?2 = 0) THEN consecutive_failures ELSE 0 END,
			probe_at = CASE WHEN url = ?1 AND (enabled = 1 OR ?2 = 0) THEN probe_at ELSE 0 END,
			failing_since = CASE WHEN url = ?1 AND (enabled = 1 OR ?2 = 0) THEN failing_since ELSE 0 END,
			disabled_reason = CASE WHEN ?2 = 1 THEN '' WHEN enabled = 1 THEN ?3 ELSE disabled_reason END,
			url = ?1, verify_token = ?4, verified_at = ?5, scope_kind = ?6, scope_id = ?7, events = ?8, headers = ?9, rate_limit = ?10,
			enabled = ?2, description = ?11
			WHERE id = ?12 AND account_id = ?13 RETURNING `+endpointColumns,
			c.URL, !c.Disabled, cmp.Or(c.DisabledReason, sqlstore.DisabledByAPI), c.VerifyToken, ms(c.VerifiedAt), string(c.Scope.Kind), c.Scope.ID,
			events, headers, c.RateLimit, c.Description, c.ID, c.AccountID))
		return err
	})
	return e, err
}

// MarkEndpointVerified implements store.Store.
func (s *Store) MarkEndpointVerified(ctx context.Context, p store.MarkVerifiedParams) (bahasha.Endpoint, error) {
	var e bahasha.Endpoint
	err := s.write(ctx, func(tx *wtx) error {
		var url, token string
		if err := tx.QueryRowContext(ctx, `SELECT url, verify_token FROM endpoints WHERE id = ? AND account_id = ?`, p.EndpointID, p.AccountID).Scan(&url, &token); err != nil {
			return err
		}
		if url != p.URL || token != p.VerifyToken {
			return store.ErrConflict
		}
		var err error
		e, err = scanEndpoint(tx.QueryRowContext(ctx, `UPDATE endpoints SET verified_at = ? WHERE id = ? RETURNING `+endpointColumns, ms(p.At), p.EndpointID))
		return err
	})
	return e, err
}

// RotateEndpointSecret implements store.Store.
func (s *Store) RotateEndpointSecret(ctx context.Context, p store.RotateSecretParams) (bahasha.Endpoint, error) {
	var e bahasha.Endpoint
	err := s.write(ctx, func(tx *wtx) error {
		var err error
		e, err = scanEndpoint(tx.QueryRowContext(ctx, `UPDATE endpoints SET prev_secret = secret, prev_secret_until = ?, secret = ?
			WHERE id = ? AND account_id = ? RETURNING `+endpointColumns, ms(p.PreviousUntil), p.Secret, p.EndpointID, p.AccountID))
		return err
	})
	return e, err
}

// RemoveEndpoint implements store.Store.
func (s *Store) RemoveEndpoint(ctx context.Context, p store.RemoveEndpointParams) error {
	return s.write(ctx, func(tx *wtx) error {
		var id int64
		if err := tx.QueryRowContext(ctx, `SELECT id FROM endpoints WHERE id = ? AND account_id = ?`, p.EndpointID, p.AccountID).Scan(&id); err != nil {
			return err
		}
		return removeEndpoint(ctx, tx, id, p.Reason, ms(p.Now))
	})
}

// OpenListenSession implements store.Store.
func (s *Store) OpenListenSession(ctx context.Context, p store.OpenListenParams) (bahasha.Endpoint, error) {
	var e bahasha.Endpoint
	sc := p.Scope.OrAccount()
	err := s.write(ctx, func(tx *wtx) error {
		if err := checkScope(ctx, tx, p.AccountID, sc); err != nil {
			return err
		}
		events, _ := sqlstore.EndpointJSON(bahasha.Endpoint{Events: p.Events})
		url := bahasha.ListenURLPrefix + p.Name
		var id int64
		switch err := tx.QueryRowContext(ctx, `SELECT id FROM endpoints WHERE account_id = ? AND url = ? AND kind = 'listen'`, p.AccountID, url).Scan(&id); {
		case errors.Is(err, sql.ErrNoRows):
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM accounts WHERE id = ?`, p.AccountID).Scan(&n); err != nil || n == 0 {
				return cmp.Or(err, store.ErrNotFound)
			}
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM endpoints WHERE account_id = ?`, p.AccountID).Scan(&n); err != nil {
				return err
			}
			if n >= p.Max {
				return store.ErrTooMany
			}
			var err error
			e, err = scanEndpoint(tx.QueryRowContext(ctx, `INSERT INTO endpoints (account_id, url, verify_token, verified_at, created_at,
				scope_kind, scope_id, events, description, secret, kind, listen_node, last_seen_at)
				VALUES (?, ?, '', ?, ?, ?, ?, ?, ?, ?, 'listen', ?, ?) RETURNING `+endpointColumns,
				p.AccountID, url, ms(p.Now), ms(p.Now), string(sc.Kind), sc.ID, events, p.Name, p.Secret, p.Node, ms(p.Now)))
			return err
		case err != nil:
			return err
		}
		var err error
		e, err = scanEndpoint(tx.QueryRowContext(ctx, `UPDATE endpoints SET listen_node = ?, last_seen_at = ?, scope_kind = ?, scope_id = ?,
			events = ?, consecutive_failures = 0, probe_at = 0, failing_since = 0 WHERE id = ? RETURNING `+endpointColumns, p.Node, ms(p.Now), string(sc.Kind), sc.ID, events, id))
		return err
	})
	return e, err
}

// TouchListenSession implements store.Store.
func (s *Store) TouchListenSession(ctx context.Context, p store.ListenSessionParams) (store.ListenHold, error) {
	var hold store.ListenHold
	err := s.write(ctx, func(tx *wtx) error {
		var node string
		switch err := tx.QueryRowContext(ctx, `SELECT listen_node FROM endpoints WHERE id = ? AND kind = 'listen'`, p.EndpointID).Scan(&node); {
		case errors.Is(err, sql.ErrNoRows):
			hold = store.ListenRemoved
			return nil
		case err != nil:
			return err
		case node != p.Node:
			hold = store.ListenTakenOver
			return nil
		}
		hold = store.ListenHeld
		_, err := tx.ExecContext(ctx, `UPDATE endpoints SET last_seen_at = ? WHERE id = ?`, ms(p.Now), p.EndpointID)
		return err
	})
	return hold, err
}

// CloseListenSession implements store.Store.
func (s *Store) CloseListenSession(ctx context.Context, p store.ListenSessionParams) error {
	return s.write(ctx, func(tx *wtx) error {
		_, err := tx.ExecContext(ctx, `UPDATE endpoints SET listen_node = '', last_seen_at = ? WHERE id = ? AND kind = 'listen' AND listen_node = ?`,
			ms(p.Now), p.EndpointID, p.Node)
		return err
	})
}

// RemoveStaleListenSessions implements store.Store.
func (s *Store) RemoveStaleListenSessions(ctx context.Context, p store.StaleSessionsParams) (int, error) {
	n := 0
	err := s.write(ctx, func(tx *wtx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id FROM endpoints WHERE kind = 'listen' AND last_seen_at < ? LIMIT ?`,
			ms(p.Before), p.Limit)
		if err != nil {
			return err
		}
		var ids []int64
		for rows.Next() {
			var id int64
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, id := range ids {
			if err := removeEndpoint(ctx, tx, id, p.Reason, ms(p.Now)); err != nil {
				return err
			}
		}
		n = len(ids)
		return nil
	})
	return n, err
}

// TrimListenBacklogs implements store.Store.
func (s *Store) TrimListenBacklogs(ctx context.Context, p store.TrimBacklogsParams) (int, error) {
	n := 0
	err := s.write(ctx, func(tx *wtx) error {
		n = 0
		rows, err := tx.QueryContext(ctx, sqlstore.ListenBacklogsOver(`deliveries d INDEXED BY deliveries_due`, "?"), p.Max)
		if err != nil {
			return err
		}
		var over []sqlstore.BacklogLane
		for rows.Next() {
			var l sqlstore.BacklogLane
			if err := rows.Scan(&l.ID, &l.AccountID); err != nil {
				rows.Close()
				return err
			}
			over = append(over, l)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		for _, l := range over {
			if n >= p.Limit {
				break
			}
			// The newest Max stay; the oldest beyond them fail.
			res, err := tx.ExecContext(ctx, trimListenBacklog, p.Reason, ms(p.Now), l.ID, p.Limit-n, p.Max)
			if err != nil {
				return err
			}
			k, err := res.RowsAffected()
			if err != nil {
				return err
			}
			if k == 0 {
				continue
			}
			n += int(k)
			stats := bahasha.DeliveryStats{Failed: int(k)}
			if _, err := tx.ExecContext(ctx, statsUpsert, sqlstore.StatsArgs(l.AccountID, p.Now, stats)...); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, endpointStatsUpsert, sqlstore.EndpointStatsArgs(l.ID, l.AccountID, p.Now, stats)...); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET
				lane_due_at = (SELECT min(next_attempt_at) FROM deliveries WHERE endpoint_id = ? AND state = 'pending') WHERE id = ?`, l.ID, l.ID); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}
