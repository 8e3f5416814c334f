package postgres

import (
	"context"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

func scanDeliveries(rows pgx.Rows) ([]bahasha.Delivery, error) {
	defer rows.Close()
	var out []bahasha.Delivery
	for rows.Next() {
		d, err := scanDelivery(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// Deliveries implements store.Store.
func (s *Store) Deliveries(ctx context.Context, p store.ListDeliveriesParams) ([]bahasha.Delivery, error) {
	if s.isClosed() {
		return nil, store.ErrClosed
	}
	q := `SELECT ` + deliveryColumns + ` FROM deliveries d JOIN events e ON e.id = d.event_id WHERE d.account_id = $1`
	args := []any{p.AccountID}
	if p.EndpointID != 0 {
		args = append(args, p.EndpointID)
		q += ` AND d.endpoint_id = $` + strconv.Itoa(len(args))
	}
	if p.State != "" {
		args = append(args, string(p.State))
		q += ` AND d.state = $` + strconv.Itoa(len(args))
	}
	if p.Before > 0 {
		args = append(args, p.Before)
		q += ` AND d.id < $` + strconv.Itoa(len(args))
	}
	if !p.Since.IsZero() {
		args = append(args, ms(p.Since))
		q += ` AND d.created_at >= $` + strconv.Itoa(len(args))
	}
	if !p.Until.IsZero() {
		args = append(args, ms(p.Until))
		q += ` AND d.created_at < $` + strconv.Itoa(len(args))
	}
	lim := p.Limit
	if lim <= 0 || lim > 1000 {
		lim = 1000
	}
	args = append(args, lim)
	q += ` ORDER BY d.id DESC LIMIT $` + strconv.Itoa(len(args))
	rows, err := s.pool.Query(ctx, q, args...)
	if err != nil {
		return nil, s.translate(err)
	}
	ds, err := scanDeliveries(rows)
	return ds, s.translate(err)
}

// Delivery implements store.Store.
func (s *Store) Delivery(ctx context.Context, p store.GetDeliveryParams) (bahasha.Delivery, []bahasha.Attempt, error) {
	accountID, deliveryID := p.AccountID, p.DeliveryID
	if s.isClosed() {
		return bahasha.Delivery{}, nil, store.ErrClosed
	}
	d, err := scanDelivery(s.pool.QueryRow(ctx, `SELECT `+deliveryColumns+` FROM deliveries d JOIN events e ON e.id = d.event_id
		WHERE d.id = $1 AND d.account_id = $2`, deliveryID, accountID))
	if err != nil {
		return bahasha.Delivery{}, nil, s.translate(err)
	}
	rows, err := s.pool.Query(ctx, `SELECT delivery_id, number, started_at, duration_us, status_code, error, response_body
		FROM attempts WHERE delivery_id = $1 ORDER BY number`, deliveryID)
	if err != nil {
		return bahasha.Delivery{}, nil, s.translate(err)
	}
	var attempts []bahasha.Attempt
	var a bahasha.Attempt
	var started, durUS int64
	_, err = pgx.ForEachRow(rows, []any{&a.DeliveryID, &a.Number, &started, &durUS, &a.StatusCode, &a.Error, &a.ResponseBody}, func() error {
		a.StartedAt, a.Duration = fromMS(started), time.Duration(durUS)*time.Microsecond
		attempts = append(attempts, a)
		return nil
	})
	if err != nil {
		return bahasha.Delivery{}, nil, s.translate(err)
	}
	return d, sqlstore.WithRowAttempt(d, attempts), nil
}

// RetryDelivery implements store.Store.
func (s *Store) RetryDelivery(ctx context.Context, p store.RetryDeliveryParams) (bahasha.Delivery, error) {
	accountID, deliveryID, now := p.AccountID, p.DeliveryID, p.Now
	at := ms(now)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		// Lock the lane before its deliveries (the order every writer keeps).
		// Its own endpoint, while it exists.
		var endpointID *int64
		if err := tx.QueryRow(ctx, `SELECT (SELECT e.id FROM endpoints e WHERE e.id = d.endpoint_id AND e.account_id = d.account_id)
			FROM deliveries d WHERE d.id = $1 AND d.account_id = $2`, deliveryID, accountID).Scan(&endpointID); err != nil {
			return err
		}
		if endpointID == nil {
			return store.ErrNotFound
		}
		if err := tx.QueryRow(ctx, `SELECT id FROM endpoints WHERE id = $1 AND account_id = $2 FOR NO KEY UPDATE`, *endpointID, accountID).Scan(endpointID); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `UPDATE deliveries SET state = 'pending', endpoint_id = $1, next_attempt_at = $2, window_start = $2, updated_at = $2
			WHERE id = $3 AND account_id = $4`, *endpointID, at, deliveryID, accountID)
		if err := affected(tag, err); err != nil {
			return err
		}
		// A manual retry is also an immediate probe of an open breaker.
		_, err = tx.Exec(ctx, `UPDATE endpoints SET lane_due_at = LEAST(coalesce(lane_due_at, $1), $1),
			probe_at = CASE WHEN probe_at > $1 THEN $1 ELSE probe_at END, retry_requested_at = $1, paused_until = 0 WHERE id = $2`, at, *endpointID)
		return err
	})
	if err != nil {
		return bahasha.Delivery{}, err
	}
	d, _, err := s.Delivery(ctx, store.GetDeliveryParams{AccountID: accountID, DeliveryID: deliveryID})
	return d, err
}
