package postgres

import (
	"cmp"
	"context"
	"errors"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

// CreateAccount implements store.Store.
func (s *Store) CreateAccount(ctx context.Context, p store.CreateAccountParams) error {
	a := p.Account
	ids := make([]string, len(p.PhoneNumbers))
	wabas := make([]string, len(p.PhoneNumbers))
	displays := make([]string, len(p.PhoneNumbers))
	sandboxes := make([]bool, len(p.PhoneNumbers))
	created := make([]int64, len(p.PhoneNumbers))
	for i, n := range p.PhoneNumbers {
		ids[i], wabas[i], displays[i], sandboxes[i], created[i] = n.ID, n.WABAID, n.DisplayPhoneNumber, n.Sandbox, ms(n.CreatedAt)
	}
	keyHash := p.APIKeyHash
	if keyHash == nil {
		keyHash = []byte{}
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO accounts (id, name, app_secret, created_at) VALUES ($1, $2, $3, $4)`,
			a.ID, a.Name, a.AppSecret, ms(a.CreatedAt)); err != nil {
			return err
		}
		if err := insertKey(ctx, tx, store.CreateAPIKeyParams{AccountID: a.ID, KeyHash: keyHash, Name: sqlstore.BootstrapKeyName,
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
		if len(ids) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO phone_numbers (id, account_id, waba_id, display_phone_number, sandbox, created_at)
			SELECT u.id, $1, u.waba_id, u.display, u.sandbox, u.created_at
			FROM unnest($2::text[], $3::text[], $4::text[], $5::boolean[], $6::bigint[]) WITH ORDINALITY AS u(id, waba_id, display, sandbox, created_at, ord)
			ORDER BY u.ord`, a.ID, ids, wabas, displays, sandboxes, created)
		return err
	})
}

func (s *Store) account(ctx context.Context, q string, arg any) (bahasha.Account, error) {
	var a bahasha.Account
	var created int64
	if err := s.queryRow(ctx, q, []any{arg}, &a.ID, &a.Name, &a.AppSecret, &created); err != nil {
		return bahasha.Account{}, err
	}
	a.CreatedAt = fromMS(created)
	return a, nil
}

// Account implements store.Store.
func (s *Store) Account(ctx context.Context, accountID string) (bahasha.Account, error) {
	return s.account(ctx, `SELECT `+accountColumns+` FROM accounts a WHERE a.id = $1`, accountID)
}

// CountAccounts implements store.Store.
func (s *Store) CountAccounts(ctx context.Context) (int, error) {
	var n int
	err := s.queryRow(ctx, `SELECT count(*) FROM accounts`, nil, &n)
	return n, err
}

// SetAppSecret implements store.Store.
func (s *Store) SetAppSecret(ctx context.Context, p store.SetAppSecretParams) error {
	accountID, secret := p.AccountID, p.Secret
	return s.tx(ctx, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `UPDATE accounts SET app_secret = $1 WHERE id = $2`, secret, accountID)
		return affected(tag, err)
	})
}

// affected turns "no row changed" into ErrNotFound.
func affected(tag pgconn.CommandTag, err error) error {
	if err != nil {
		return err
	}
	if tag.RowsAffected() == 0 {
		return store.ErrNotFound
	}
	return nil
}

// PhoneNumbers implements store.Store.
func (s *Store) PhoneNumbers(ctx context.Context, accountID string) ([]bahasha.PhoneNumber, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	rows, err := s.pool.Query(ctx, `SELECT `+phoneColumns+` FROM phone_numbers WHERE account_id = $1 ORDER BY created_at, id`, accountID)
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

// PhoneNumber implements store.Store.
func (s *Store) PhoneNumber(ctx context.Context, p store.GetPhoneNumberParams) (bahasha.PhoneNumber, error) {
	accountID, phoneNumberID := p.AccountID, p.PhoneNumberID
	if s.isClosed() {
		return bahasha.PhoneNumber{}, store.ErrClosed
	}
	n, err := scanPhone(s.pool.QueryRow(ctx, `SELECT `+phoneColumns+` FROM phone_numbers WHERE id = $1 AND account_id = $2`, phoneNumberID, accountID))
	return n, s.translate(err)
}

// AddPhoneNumber implements store.Store.
func (s *Store) AddPhoneNumber(ctx context.Context, n bahasha.PhoneNumber) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		// Two accounts cannot take one new WABA at once.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext($1))`, "waba:"+n.WABAID); err != nil {
			return err
		}
		var other bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM phone_numbers WHERE waba_id = $1 AND account_id <> $2)`, n.WABAID, n.AccountID).Scan(&other); err != nil {
			return err
		}
		if other {
			return store.ErrConflict
		}
		_, err := tx.Exec(ctx, `INSERT INTO phone_numbers (id, account_id, waba_id, display_phone_number, sandbox, created_at) VALUES ($1, $2, $3, $4, $5, $6)`,
			n.ID, n.AccountID, n.WABAID, n.DisplayPhoneNumber, n.Sandbox, ms(n.CreatedAt))
		return err
	})
}

// Endpoint implements store.Store.
func (s *Store) Endpoint(ctx context.Context, accountID string) (bahasha.Endpoint, error) {
	if s.isClosed() {
		return bahasha.Endpoint{}, store.ErrClosed
	}
	e, err := scanEndpoint(s.pool.QueryRow(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE account_id = $1 AND is_primary`, accountID))
	return e, s.translate(err)
}

// PutEndpoint implements store.Store. ErrNotFound if there is no such
// account (PostgreSQL enforces the foreign key).
func (s *Store) PutEndpoint(ctx context.Context, p store.PutEndpointParams) (bahasha.Endpoint, error) {
	var e bahasha.Endpoint
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// The lane before its deliveries (the order every writer keeps).
		var id int64
		var enabled bool
		switch err := tx.QueryRow(ctx, `SELECT id, enabled FROM endpoints WHERE account_id = $1 AND is_primary FOR NO KEY UPDATE`, p.AccountID).Scan(&id, &enabled); {
		case errors.Is(err, pgx.ErrNoRows):
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
		e, err = scanEndpoint(tx.QueryRow(ctx, `INSERT INTO endpoints (account_id, url, verify_token, verified_at, created_at, is_primary, secret)
			VALUES ($1, $2, $3, $4, $5, TRUE, $6)
			ON CONFLICT (account_id) WHERE is_primary DO UPDATE SET url = excluded.url, verify_token = excluded.verify_token,
				verified_at = excluded.verified_at, consecutive_failures = 0, probe_at = 0, failing_since = 0, enabled = TRUE, disabled_reason = ''
			RETURNING `+endpointColumns, p.AccountID, p.URL, p.VerifyToken, ms(p.VerifiedAt), ms(p.Now), p.Secret))
		return err
	})
	return e, err
}

// enableLane makes a disabled endpoint's (locked) waiting deliveries due
// now, all at once, so that they go in the order of their events.
func enableLane(ctx context.Context, tx pgx.Tx, id, now int64) error {
	if _, err := tx.Exec(ctx, `UPDATE deliveries SET next_attempt_at = $1 WHERE endpoint_id = $2 AND state = 'pending'`, now, id); err != nil {
		return err
	}
	return refreshLanes(ctx, tx, []int64{id}, false)
}

// DeleteEndpoint implements store.Store.
func (s *Store) DeleteEndpoint(ctx context.Context, p store.DeleteEndpointParams) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM endpoints WHERE account_id = $1 AND is_primary FOR UPDATE`, p.AccountID).Scan(&id); err != nil {
			return err
		}
		return removeEndpoint(ctx, tx, id, p.Reason, ms(p.Now))
	})
}

// removeEndpoint deletes an endpoint (locked by the caller) and fails its
// pending deliveries.
func removeEndpoint(ctx context.Context, tx pgx.Tx, id int64, reason string, now int64) error {
	if _, err := tx.Exec(ctx, `DELETE FROM endpoints WHERE id = $1`, id); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, `UPDATE deliveries SET state = 'failed', next_attempt_at = NULL, last_error = $1, updated_at = $2
		WHERE endpoint_id = $3 AND state = 'pending'`, reason, now, id)
	return err
}

// Endpoints implements store.Store.
func (s *Store) Endpoints(ctx context.Context, accountID string) ([]bahasha.Endpoint, error) {
	return s.queryEndpoints(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE account_id = $1 ORDER BY id`, accountID)
}

// queryEndpoints runs a query of endpointColumns.
func (s *Store) queryEndpoints(ctx context.Context, q string, args ...any) ([]bahasha.Endpoint, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, s.translate(err)
	}
	defer rows.Close()
	var out []bahasha.Endpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, s.translate(err)
		}
		out = append(out, e)
	}
	return out, s.translate(rows.Err())
}

// EndpointByID implements store.Store.
func (s *Store) EndpointByID(ctx context.Context, p store.GetEndpointParams) (bahasha.Endpoint, error) {
	if s.isClosed() {
		return bahasha.Endpoint{}, store.ErrClosed
	}
	e, err := scanEndpoint(s.pool.QueryRow(ctx, `SELECT `+endpointColumns+` FROM endpoints WHERE id = $1 AND account_id = $2`, p.EndpointID, p.AccountID))
	return e, s.translate(err)
}

// checkScope returns ErrNotFound unless the scope is the account's.
func checkScope(ctx context.Context, tx pgx.Tx, accountID string, sc bahasha.Scope) error {
	var q string
	switch sc.Kind {
	case bahasha.ScopeAccount:
		return nil
	case bahasha.ScopeWABA:
		q = `SELECT EXISTS (SELECT 1 FROM phone_numbers WHERE waba_id = $1 AND account_id = $2)`
	case bahasha.ScopePhoneNumber:
		q = `SELECT EXISTS (SELECT 1 FROM phone_numbers WHERE id = $1 AND account_id = $2)`
	default:
		return store.ErrNotFound
	}
	var ok bool
	if err := tx.QueryRow(ctx, q, sc.ID, accountID).Scan(&ok); err != nil {
		return err
	}
	if !ok {
		return store.ErrNotFound
	}
	return nil
}

// CreateEndpoint implements store.Store.
func (s *Store) CreateEndpoint(ctx context.Context, p store.CreateEndpointParams) (bahasha.Endpoint, error) {
	c := p.Endpoint
	c.Scope = c.Scope.OrAccount()
	var e bahasha.Endpoint
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// The account's row, locked: concurrent creations count one at a
		// time (NO KEY UPDATE: rows that only refer to the account, which
		// take KEY SHARE, are not held up).
		var id string
		if err := tx.QueryRow(ctx, `SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE`, c.AccountID).Scan(&id); err != nil {
			return err
		}
		if err := checkScope(ctx, tx, c.AccountID, c.Scope); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM endpoints WHERE account_id = $1`, c.AccountID).Scan(&n); err != nil {
			return err
		}
		if n >= p.Max {
			return store.ErrTooMany
		}
		events, headers := sqlstore.EndpointJSON(c)
		var err error
		e, err = scanEndpoint(tx.QueryRow(ctx, `INSERT INTO endpoints (account_id, url, verify_token, verified_at, created_at,
			scope_kind, scope_id, events, headers, rate_limit, enabled, description, secret)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING `+endpointColumns,
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
	err := s.tx(ctx, func(tx pgx.Tx) error {
		if err := checkScope(ctx, tx, c.AccountID, c.Scope); err != nil {
			return err
		}
		events, headers := sqlstore.EndpointJSON(c)
		// The lane before its deliveries (the order every writer keeps).
		var wasEnabled bool
		if err := tx.QueryRow(ctx, `SELECT enabled FROM endpoints WHERE id = $1 AND account_id = $2 FOR NO KEY UPDATE`, c.ID, c.AccountID).Scan(&wasEnabled); err != nil {
			return err
		}
		if p.IfDisabled != nil && *p.IfDisabled == wasEnabled {
			return store.ErrConflict
		}
		if err := addNotices(ctx, tx, p.Notices); err != nil {
			return err
		}
		if !wasEnabled && !c.Disabled {
			if err := enableLane(ctx, tx, c.ID, ms(p.Now)); err != nil {
				return err
			}
		}
		var err error
		// A new URL, or enabling a disabled endpoint, starts its breaker
		// afresh.
		e, err = scanEndpoint(tx.QueryRow(ctx, `UPDATE endpoints SET
			consecutive_failures = CASE WHEN url = $1 AND (enabled OR NOT $9) THEN consecutive_failures ELSE 0 END,
			probe_at = CASE WHEN url = $1 AND (enabled OR NOT $9) THEN probe_at ELSE 0 END,
			failing_since = CASE WHEN url = $1 AND (enabled OR NOT $9) THEN failing_since ELSE 0 END,
			disabled_reason = CASE WHEN $9 THEN '' WHEN enabled THEN $13 ELSE disabled_reason END,
			url = $1, verify_token = $2, verified_at = $3, scope_kind = $4, scope_id = $5, events = $6, headers = $7, rate_limit = $8,
			enabled = $9, description = $10
			WHERE id = $11 AND account_id = $12 RETURNING `+endpointColumns,
			c.URL, c.VerifyToken, ms(c.VerifiedAt), string(c.Scope.Kind), c.Scope.ID, events, headers, c.RateLimit,
			!c.Disabled, c.Description, c.ID, c.AccountID, cmp.Or(c.DisabledReason, sqlstore.DisabledByAPI)))
		return err
	})
	return e, err
}

// MarkEndpointVerified implements store.Store.
func (s *Store) MarkEndpointVerified(ctx context.Context, p store.MarkVerifiedParams) (bahasha.Endpoint, error) {
	var e bahasha.Endpoint
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var url, token string
		if err := tx.QueryRow(ctx, `SELECT url, verify_token FROM endpoints WHERE id = $1 AND account_id = $2 FOR NO KEY UPDATE`,
			p.EndpointID, p.AccountID).Scan(&url, &token); err != nil {
			return err
		}
		if url != p.URL || token != p.VerifyToken {
			return store.ErrConflict
		}
		var err error
		e, err = scanEndpoint(tx.QueryRow(ctx, `UPDATE endpoints SET verified_at = $1 WHERE id = $2 RETURNING `+endpointColumns, ms(p.At), p.EndpointID))
		return err
	})
	return e, err
}

// RotateEndpointSecret implements store.Store.
func (s *Store) RotateEndpointSecret(ctx context.Context, p store.RotateSecretParams) (bahasha.Endpoint, error) {
	var e bahasha.Endpoint
	err := s.tx(ctx, func(tx pgx.Tx) error {
		var err error
		e, err = scanEndpoint(tx.QueryRow(ctx, `UPDATE endpoints SET prev_secret = secret, prev_secret_until = $1, secret = $2
			WHERE id = $3 AND account_id = $4 RETURNING `+endpointColumns, ms(p.PreviousUntil), p.Secret, p.EndpointID, p.AccountID))
		return err
	})
	return e, err
}

// RemoveEndpoint implements store.Store.
func (s *Store) RemoveEndpoint(ctx context.Context, p store.RemoveEndpointParams) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM endpoints WHERE id = $1 AND account_id = $2 FOR UPDATE`, p.EndpointID, p.AccountID).Scan(&id); err != nil {
			return err
		}
		return removeEndpoint(ctx, tx, id, p.Reason, ms(p.Now))
	})
}

// OpenListenSession implements store.Store.
func (s *Store) OpenListenSession(ctx context.Context, p store.OpenListenParams) (bahasha.Endpoint, error) {
	var e bahasha.Endpoint
	sc := p.Scope.OrAccount()
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// The account's row, locked: sessions of one name open one at a
		// time, and count against the limit one at a time.
		var acc string
		if err := tx.QueryRow(ctx, `SELECT id FROM accounts WHERE id = $1 FOR NO KEY UPDATE`, p.AccountID).Scan(&acc); err != nil {
			return err
		}
		if err := checkScope(ctx, tx, p.AccountID, sc); err != nil {
			return err
		}
		events, _ := sqlstore.EndpointJSON(bahasha.Endpoint{Events: p.Events})
		url := bahasha.ListenURLPrefix + p.Name
		var id int64
		switch err := tx.QueryRow(ctx, `SELECT id FROM endpoints WHERE account_id = $1 AND url = $2 AND kind = 'listen' FOR NO KEY UPDATE`, p.AccountID, url).Scan(&id); {
		case errors.Is(err, pgx.ErrNoRows):
			var n int
			if err := tx.QueryRow(ctx, `SELECT count(*) FROM endpoints WHERE account_id = $1`, p.AccountID).Scan(&n); err != nil {
				return err
			}
			if n >= p.Max {
				return store.ErrTooMany
			}
			var err error
			e, err = scanEndpoint(tx.QueryRow(ctx, `INSERT INTO endpoints (account_id, url, verify_token, verified_at, created_at,
				scope_kind, scope_id, events, description, secret, kind, listen_node, last_seen_at)
				VALUES ($1, $2, '', $3, $3, $4, $5, $6, $7, $8, 'listen', $9, $3) RETURNING `+endpointColumns,
				p.AccountID, url, ms(p.Now), string(sc.Kind), sc.ID, events, p.Name, p.Secret, p.Node))
			return err
		case err != nil:
			return err
		}
		var err error
		e, err = scanEndpoint(tx.QueryRow(ctx, `UPDATE endpoints SET listen_node = $1, last_seen_at = $2, scope_kind = $3, scope_id = $4,
			events = $5, consecutive_failures = 0, probe_at = 0, failing_since = 0 WHERE id = $6 RETURNING `+endpointColumns, p.Node, ms(p.Now), string(sc.Kind), sc.ID, events, id))
		return err
	})
	return e, err
}

// TouchListenSession implements store.Store.
func (s *Store) TouchListenSession(ctx context.Context, p store.ListenSessionParams) (store.ListenHold, error) {
	var hold store.ListenHold
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// The update touches the row only while this node holds it, as
		// its own WHERE sees the row now (a snapshot read first could miss
		// a takeover committed meanwhile).
		tag, err := tx.Exec(ctx, `UPDATE endpoints SET last_seen_at = $1 WHERE id = $2 AND kind = 'listen' AND listen_node = $3`,
			ms(p.Now), p.EndpointID, p.Node)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			hold = store.ListenHeld
			return nil
		}
		var node string
		err = tx.QueryRow(ctx, `SELECT listen_node FROM endpoints WHERE id = $1 AND kind = 'listen'`, p.EndpointID).Scan(&node)
		switch {
		case errors.Is(err, pgx.ErrNoRows):
			hold = store.ListenRemoved
			return nil
		case err != nil:
			return err
		case node != p.Node:
			hold = store.ListenTakenOver
		default:
			hold = store.ListenHeld
		}
		return nil
	})
	return hold, err
}

// CloseListenSession implements store.Store.
func (s *Store) CloseListenSession(ctx context.Context, p store.ListenSessionParams) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `UPDATE endpoints SET listen_node = '', last_seen_at = $1 WHERE id = $2 AND kind = 'listen' AND listen_node = $3`,
			ms(p.Now), p.EndpointID, p.Node)
		return err
	})
}

// RemoveStaleListenSessions implements store.Store.
func (s *Store) RemoveStaleListenSessions(ctx context.Context, p store.StaleSessionsParams) (int, error) {
	n := 0
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// Lanes before deliveries, in id order; another node's pass skips
		// them.
		rows, err := tx.Query(ctx, `SELECT id FROM endpoints WHERE kind = 'listen' AND last_seen_at < $1
			ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`, ms(p.Before), limit(p.Limit))
		if err != nil {
			return err
		}
		ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		if err != nil {
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
	err := s.tx(ctx, func(tx pgx.Tx) error {
		n = 0
		rows, err := tx.Query(ctx, sqlstore.ListenBacklogsOver("deliveries d", "$1"), p.Max)
		if err != nil {
			return err
		}
		over, err := pgx.CollectRows(rows, pgx.RowToStructByPos[sqlstore.BacklogLane])
		if err != nil {
			return err
		}
		for _, l := range over {
			if n >= p.Limit {
				break
			}
			// The lane before its deliveries (the order every writer
			// keeps); then the newest Max stay, counted under the lock,
			// so that another node's pass does not trim twice.
			if _, err := tx.Exec(ctx, `SELECT 1 FROM endpoints WHERE id = $1 FOR NO KEY UPDATE`, l.ID); err != nil {
				return err
			}
			tag, err := tx.Exec(ctx, trimListenBacklog, p.Reason, ms(p.Now), l.ID, p.Limit-n, p.Max)
			if err != nil {
				return err
			}
			k := int(tag.RowsAffected())
			if k == 0 {
				continue
			}
			n += k
			stats := bahasha.DeliveryStats{Failed: k}
			if _, err := tx.Exec(ctx, statsUpsert, sqlstore.StatsArgs(l.AccountID, p.Now, stats)...); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, endpointStatsUpsert, sqlstore.EndpointStatsArgs(l.ID, l.AccountID, p.Now, stats)...); err != nil {
				return err
			}
			if err := refreshLanes(ctx, tx, []int64{l.ID}, false); err != nil {
				return err
			}
		}
		return nil
	})
	return n, err
}
