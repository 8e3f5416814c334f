package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

// Deliveries implements store.Store.
func (s *Store) Deliveries(ctx context.Context, p store.ListDeliveriesParams) ([]bahasha.Delivery, error) {
	q := `SELECT ` + deliveryColumns + ` FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.account_id = ?`
	args := []any{p.AccountID}
	if p.EndpointID != 0 {
		q += ` AND d.endpoint_id = ?`
		args = append(args, p.EndpointID)
	}
	if p.State != "" {
		q += ` AND d.state = ?`
		args = append(args, string(p.State))
	}
	if p.Before > 0 {
		q += ` AND d.id < ?`
		args = append(args, p.Before)
	}
	if !p.Since.IsZero() {
		q += ` AND d.created_at >= ?`
		args = append(args, ms(p.Since))
	}
	if !p.Until.IsZero() {
		q += ` AND d.created_at < ?`
		args = append(args, ms(p.Until))
	}
	limit := p.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	q += ` ORDER BY d.id DESC LIMIT ?`
	args = append(args, limit)
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, translate(err)
	}
	defer rows.Close()
	var out []bahasha.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, translate(rows.Err())
}

// Delivery implements store.Store.
func (s *Store) Delivery(ctx context.Context, p store.GetDeliveryParams) (bahasha.Delivery, []bahasha.Attempt, error) {
	accountID, deliveryID := p.AccountID, p.DeliveryID
	d, err := scanDelivery(s.rdb.QueryRowContext(ctx, `SELECT `+deliveryColumns+` FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.id = ? AND d.account_id = ?`, deliveryID, accountID))
	if err != nil {
		return bahasha.Delivery{}, nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, `SELECT delivery_id, number, started_at, duration_us, status_code, error, response_body
		FROM attempts WHERE delivery_id = ? ORDER BY number`, deliveryID)
	if err != nil {
		return bahasha.Delivery{}, nil, translate(err)
	}
	defer rows.Close()
	var attempts []bahasha.Attempt
	for rows.Next() {
		var a bahasha.Attempt
		var started, durUS int64
		if err := rows.Scan(&a.DeliveryID, &a.Number, &started, &durUS, &a.StatusCode, &a.Error, &a.ResponseBody); err != nil {
			return bahasha.Delivery{}, nil, translate(err)
		}
		a.StartedAt, a.Duration = fromMS(started), time.Duration(durUS)*time.Microsecond
		attempts = append(attempts, a)
	}
	if err := rows.Err(); err != nil {
		return bahasha.Delivery{}, nil, translate(err)
	}
	return d, sqlstore.WithRowAttempt(d, attempts), nil
}

// retryEndpointQuery is the endpoint a manual retry of a delivery goes
// to: its own, while it exists (NULL once it was removed).
const retryEndpointQuery = `SELECT (SELECT e.id FROM endpoints e WHERE e.id = d.endpoint_id AND e.account_id = d.account_id)
	FROM deliveries d WHERE d.id = ? AND d.account_id = ?`

// RetryDelivery implements store.Store.
func (s *Store) RetryDelivery(ctx context.Context, p store.RetryDeliveryParams) (bahasha.Delivery, error) {
	accountID, deliveryID, now := p.AccountID, p.DeliveryID, p.Now
	err := s.write(ctx, func(tx *wtx) error {
		var endpointID sql.NullInt64
		if err := tx.QueryRowContext(ctx, retryEndpointQuery, deliveryID, accountID).Scan(&endpointID); err != nil {
			return err
		}
		if !endpointID.Valid {
			return store.ErrNotFound
		}
		res, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = 'pending', endpoint_id = ?, next_attempt_at = ?, window_start = ?, updated_at = ?
			WHERE id = ? AND account_id = ?`, endpointID.Int64, ms(now), ms(now), ms(now), deliveryID, accountID)
		if err := affected(res, err); err != nil {
			return err
		}
		// A manual retry is also an immediate probe of an open breaker.
		_, err = tx.ExecContext(ctx, `UPDATE endpoints SET lane_due_at = min(coalesce(lane_due_at, ?), ?),
			probe_at = CASE WHEN probe_at > ? THEN ? ELSE probe_at END, retry_requested_at = ?, paused_until = 0 WHERE id = ?`,
			ms(now), ms(now), ms(now), ms(now), ms(now), endpointID.Int64)
		return err
	})
	if err != nil {
		return bahasha.Delivery{}, err
	}
	d, _, err := s.Delivery(ctx, store.GetDeliveryParams{AccountID: accountID, DeliveryID: deliveryID})
	return d, err
}
