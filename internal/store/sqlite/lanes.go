package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

// ClaimLanes implements store.Store, in two steps. The writer picks the due
// lanes, least recently served first, and leases them: that is all the
// single writer does, so a claim costs it the same however many deliveries
// it hands out. The lanes' due deliveries, and the status ranks already
// delivered for their messages, are then read on the read pool, beside the
// writer. The lease makes that read safe: until CompleteLane, only this
// claim's worker changes the lane's deliveries (new events only add to it).
func (s *Store) ClaimLanes(ctx context.Context, p store.ClaimParams) ([]store.Lane, error) {
	now := ms(p.Now)
	until := now + p.LeaseFor.Milliseconds()
	var lanes []store.Lane
	err := s.write(ctx, func(tx *wtx) error {
		lanes = lanes[:0]
		rows, err := tx.QueryContext(ctx, `SELECT `+endpointColumns+`, lane_leased_until, claim_last_due, claim_last_event,
			(SELECT app_secret FROM accounts a WHERE a.id = endpoints.account_id)
			FROM endpoints INDEXED BY endpoints_lane_fair
			WHERE lane_due_at IS NOT NULL AND lane_due_at <= ? AND lane_leased_until <= ? AND probe_at <= ? AND paused_until <= ? AND enabled = 1
				AND `+sqlstore.ClaimableKind+`
			ORDER BY last_served_at, id LIMIT ?`, now, now, now, now, p.Node, p.MaxLanes)
		if err != nil {
			return err
		}
		var dead []claimExtent // of the previous claims
		for rows.Next() {
			var leasedUntil int64
			var last claimExtent
			var secret sql.NullString
			e, err := scanEndpoint(rows, &leasedUntil, &last.due, &last.event, &secret)
			if err == nil && !secret.Valid {
				err = sql.ErrNoRows // the endpoint's account is gone
			}
			if err != nil {
				rows.Close()
				return err
			}
			lanes = append(lanes, store.Lane{Endpoint: e, AppSecret: secret.String, Recovered: leasedUntil != 0,
				LeasedUntil: fromMS(until), ClaimedAt: p.Now})
			dead = append(dead, last)
		}
		rows.Close()
		if err := rows.Err(); err != nil || len(lanes) == 0 {
			return err
		}
		// Each lane's extent: the key of the last delivery this claim
		// hands out (read on the read pool below, the same rows: the lease
		// keeps them as they are, and new events only add to the lane).
		var lease strings.Builder
		args := make([]any, 0, 3*len(lanes)+2)
		for i, l := range lanes {
			var ext claimExtent
			switch err := tx.QueryRowContext(ctx, claimExtentQuery, l.Endpoint.ID, now, laneLimit(l, p.MaxPerLane)).Scan(&ext.due, &ext.event); err {
			case nil, sql.ErrNoRows:
			default:
				return err
			}
			if l.Recovered {
				// What the dead worker's claim held may have reached the
				// endpoint. (A lease from before the extent was recorded
				// counts what this claim holds.)
				mark := dead[i]
				if mark.due == 0 {
					mark = ext
				}
				if _, err := tx.ExecContext(ctx, recoverQuery, l.Endpoint.ID, mark.due, mark.due, mark.event); err != nil {
					return err
				}
			}
			if i > 0 {
				lease.WriteByte(',')
			}
			lease.WriteString("(?,?,?)")
			args = append(args, l.Endpoint.ID, ext.due, ext.event)
		}
		_, err = tx.ExecContext(ctx, `WITH v(id, due, event) AS (VALUES `+lease.String()+`)
			UPDATE endpoints SET lane_leased_until = ?, last_served_at = ?, lane_node = ?, claim_last_due = v.due, claim_last_event = v.event
			FROM v WHERE endpoints.id = v.id`, append(args, until, now, p.Node)...)
		return err
	})
	if err != nil || len(lanes) == 0 {
		return nil, err
	}
	stale, err := s.readLanes(ctx, lanes, now, p.MaxPerLane)
	if err != nil {
		// Hand the lanes back rather than leave them leased for nothing.
		stale = stale[:0]
		for _, l := range lanes {
			stale = append(stale, l.Endpoint.ID)
		}
	}
	if len(stale) > 0 {
		// lane_due_at was stale (or the read failed): recompute it and
		// release the lease — even when ctx ended meanwhile, or the lanes
		// would come back "recovered" after a restart though nothing of
		// them was sent.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if werr := s.write(wctx, func(tx *wtx) error {
			for _, id := range stale {
				if err := refreshLane(wctx, tx, id, 0); err != nil {
					return err
				}
			}
			return nil
		}); err == nil {
			err = werr
		}
	}
	if err != nil {
		return nil, err
	}
	out := lanes[:0]
	for _, l := range lanes {
		if len(l.Deliveries) > 0 {
			out = append(out, l)
		}
	}
	return out, nil
}

// claimExtent is the claim order's key (next attempt time, event id) of a
// claim's last delivery: the claim held the lane's pending deliveries up
// to it.
type claimExtent struct{ due, event int64 }

// claimExtentQuery is the extent of a claim of a lane at a time, with a
// limit: an index-only walk of the deliveries it hands out.
const claimExtentQuery = `SELECT next_attempt_at, event_id FROM (
	SELECT next_attempt_at, event_id FROM deliveries INDEXED BY deliveries_due
	WHERE endpoint_id = ? AND state = 'pending' AND next_attempt_at <= ? ORDER BY next_attempt_at, event_id LIMIT ?)
	ORDER BY next_attempt_at DESC, event_id DESC LIMIT 1`

// recoverQuery marks the deliveries a dead worker's claim held (pending, up
// to its extent) as possibly delivered.
const recoverQuery = `UPDATE deliveries SET reached_rank = status_rank WHERE status_rank > 0 AND id IN (
	SELECT id FROM deliveries INDEXED BY deliveries_due WHERE endpoint_id = ? AND state = 'pending'
	AND next_attempt_at <= ? AND (next_attempt_at < ? OR event_id <= ?))`

// The read pool's statements of a claim, prepared once (see Open): the
// lane's due deliveries in order, and the highest status rank already
// delivered for each of a JSON array of wamids.
const (
	claimDueQuery = `SELECT ` + sqlstore.ClaimColumns + ` FROM deliveries d INDEXED BY deliveries_due JOIN events e ON e.id = d.event_id
		WHERE d.endpoint_id = ? AND d.state = 'pending' AND d.next_attempt_at <= ?
		ORDER BY d.next_attempt_at, d.event_id LIMIT ?`
	claimRanksQuery = `SELECT wamid, max(reached_rank) FROM deliveries INDEXED BY deliveries_wamid
		WHERE endpoint_id = ? AND reached_rank > 0 AND wamid IN (SELECT value FROM json_each(?))
		GROUP BY wamid`
)

// laneLimit is how many deliveries a claim of the lane takes.
func laneLimit(l store.Lane, maxPerLane int) int {
	return sqlstore.LaneLimit(l.Endpoint, maxPerLane)
}

// readLanes fills the claimed lanes' due deliveries and delivered ranks,
// in one read transaction, and returns the lanes that had none.
func (s *Store) readLanes(ctx context.Context, lanes []store.Lane, now int64, maxPerLane int) (stale []int64, err error) {
	tx, err := s.rdb.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, translate(err)
	}
	defer tx.Rollback()
	due, ranks := tx.StmtContext(ctx, s.claimDue), tx.StmtContext(ctx, s.claimRanks)
	defer due.Close()
	defer ranks.Close()
	for i := range lanes {
		l := &lanes[i]
		rows, err := due.QueryContext(ctx, l.Endpoint.ID, now, laneLimit(*l, maxPerLane))
		if err != nil {
			return nil, translate(err)
		}
		for rows.Next() {
			d, err := sqlstore.ScanClaimed(rows, l.Endpoint.AccountID)
			if err != nil {
				rows.Close()
				return nil, translate(err)
			}
			l.Deliveries = append(l.Deliveries, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, translate(err)
		}
		if len(l.Deliveries) == 0 {
			stale = append(stale, l.Endpoint.ID)
			continue
		}
		if l.DeliveredRanks, err = deliveredRanks(ctx, ranks, l.Endpoint.ID, l.Deliveries); err != nil {
			return nil, translate(err)
		}
	}
	return stale, nil
}

// deliveredRanks returns the highest status rank delivered or possibly
// delivered to the endpoint for each message of the claimed status
// deliveries, with the prepared claimRanksQuery.
func deliveredRanks(ctx context.Context, stmt *sql.Stmt, endpointID int64, ds []bahasha.Delivery) (map[string]int, error) {
	var wamids []string
	seen := map[string]bool{}
	for _, d := range ds {
		if d.Event.Kind == bahasha.KindStatus && bahasha.StatusRank(d.Event.Status) > 0 && !seen[d.Event.WAMID] {
			seen[d.Event.WAMID] = true
			wamids = append(wamids, d.Event.WAMID)
		}
	}
	if len(wamids) == 0 {
		return nil, nil
	}
	list, err := json.Marshal(wamids)
	if err != nil {
		return nil, err
	}
	rows, err := stmt.QueryContext(ctx, endpointID, string(list))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	ranks := map[string]int{}
	for rows.Next() {
		var w string
		var r int
		if err := rows.Scan(&w, &r); err != nil {
			return nil, err
		}
		ranks[w] = r
	}
	return ranks, rows.Err()
}

// refreshLane recomputes an endpoint's lane_due_at from its pending
// deliveries and sets its lease.
func refreshLane(ctx context.Context, tx *wtx, endpointID, leasedUntil int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE endpoints SET lane_leased_until = ?,
		lane_due_at = (SELECT min(next_attempt_at) FROM deliveries WHERE endpoint_id = ? AND state = 'pending')
		WHERE id = ?`, leasedUntil, endpointID, endpointID)
	return err
}

// CompleteLane implements store.Store.
func (s *Store) CompleteLane(ctx context.Context, p store.CompleteParams) error {
	now := ms(p.Now)
	return s.write(ctx, func(tx *wtx) error {
		if err := addNotices(ctx, tx, p.Notices); err != nil {
			return err
		}
		// Attempts: multi-row INSERTs.
		var q strings.Builder
		var args []any
		flush := func() error {
			if len(args) == 0 {
				return nil
			}
			// The same attempt recorded twice (a lane re-claimed after its
			// lease ran out while the first worker was still at it) is kept once.
			q.WriteString(" ON CONFLICT DO NOTHING")
			_, err := tx.ExecContext(ctx, q.String(), args...)
			q.Reset()
			args = args[:0]
			return err
		}
		for _, r := range p.Results {
			a := r.Attempt
			if !sqlstore.OwnAttemptRow(r) {
				continue // none made, or recorded by the delivery row alone
			}
			if len(args) == 0 {
				q.WriteString(`INSERT INTO attempts (delivery_id, number, started_at, duration_us, status_code, error, response_body) VALUES (?,?,?,?,?,?,?)`)
			} else {
				q.WriteString(",(?,?,?,?,?,?,?)")
			}
			args = append(args, r.DeliveryID, a.Number, ms(a.StartedAt), a.Duration.Microseconds(), a.StatusCode, a.Error, a.ResponseBody)
			if len(args) >= insertChunk*7 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := flush(); err != nil {
			return err
		}
		// Deliveries: one UPDATE per group of identical outcomes (a POST's
		// deliveries share theirs). A delivery failed meanwhile (its webhook
		// was removed) keeps its state unless this attempt delivered it.
		type outcome struct {
			state     bahasha.DeliveryState
			next      int64
			attempted bool
			code      int
			lastErr   string
			at, dur   int64
			response  string
		}
		groups := map[outcome][]any{}
		var keys []outcome
		for _, r := range p.Results {
			o := outcome{state: r.State, attempted: r.Attempt.Number > 0, code: r.Attempt.StatusCode, lastErr: sqlstore.LastError(r),
				at: ms(r.Attempt.StartedAt), dur: r.Attempt.Duration.Microseconds(), response: r.Attempt.ResponseBody}
			if r.State == bahasha.DeliveryPending {
				o.next = ms(r.NextAttemptAt)
			}
			if _, ok := groups[o]; !ok {
				keys = append(keys, o)
			}
			groups[o] = append(groups[o], r.DeliveryID)
		}
		// Outcomes shared by many deliveries (a batch's) get one UPDATE
		// each; the others (one POST per event, batching off) are applied
		// together by one UPDATE joined to a VALUES list, rather than a
		// statement per delivery.
		var rows strings.Builder
		var rowArgs []any
		flushRows := func() error {
			if len(rowArgs) == 0 {
				return nil
			}
			_, err := tx.ExecContext(ctx, `WITH v(id, state, inc, next, attempted, code, err, at, dur, resp, delivered) AS (VALUES `+rows.String()+`)
				UPDATE deliveries SET state = v.state, attempts = attempts + v.inc, next_attempt_at = v.next,
				reached_rank = CASE WHEN v.state = 'delivered' THEN status_rank ELSE reached_rank END,
				last_status_code = CASE WHEN v.attempted THEN v.code ELSE last_status_code END, last_error = v.err,
				last_attempt_at = CASE WHEN v.attempted THEN v.at ELSE last_attempt_at END,
				last_duration_us = CASE WHEN v.attempted THEN v.dur ELSE last_duration_us END,
				last_response = CASE WHEN v.attempted THEN v.resp ELSE last_response END,
				updated_at = ?, delivered_at = v.delivered
				FROM v WHERE deliveries.id = v.id AND (deliveries.state = 'pending' OR v.state = 'delivered')`, append(rowArgs, now)...)
			rows.Reset()
			rowArgs = rowArgs[:0]
			return err
		}
		for _, o := range keys {
			ids := groups[o]
			var next any
			if o.state == bahasha.DeliveryPending {
				next = o.next
			}
			var delivered int64
			if o.state == bahasha.DeliveryDelivered {
				delivered = now
			}
			inc := 0
			if o.attempted {
				inc = 1
			}
			if len(ids) < 8 {
				for _, id := range ids {
					if len(rowArgs) > 0 {
						rows.WriteByte(',')
					}
					rows.WriteString("(?,?,?,?,?,?,?,?,?,?,?)")
					rowArgs = append(rowArgs, id, string(o.state), inc, next, o.attempted, o.code, o.lastErr, o.at, o.dur, o.response, delivered)
					if len(rowArgs) >= insertChunk*11 {
						if err := flushRows(); err != nil {
							return err
						}
					}
				}
				continue
			}
			for len(ids) > 0 {
				n := min(len(ids), insertChunk)
				list, err := json.Marshal(ids[:n])
				if err != nil {
					return err
				}
				ids = ids[n:]
				if _, err := tx.ExecContext(ctx, `UPDATE deliveries SET state = :state, attempts = attempts + :inc, next_attempt_at = :next,
					reached_rank = CASE WHEN :state = 'delivered' THEN status_rank ELSE reached_rank END,
					last_status_code = CASE WHEN :attempted THEN :code ELSE last_status_code END, last_error = :err,
					last_attempt_at = CASE WHEN :attempted THEN :at ELSE last_attempt_at END,
					last_duration_us = CASE WHEN :attempted THEN :dur ELSE last_duration_us END,
					last_response = CASE WHEN :attempted THEN :response ELSE last_response END,
					updated_at = :now, delivered_at = :delivered
					WHERE (state = 'pending' OR :state = 'delivered') AND id IN (SELECT value FROM json_each(:ids))`,
					sql.Named("state", string(o.state)), sql.Named("inc", inc), sql.Named("next", next), sql.Named("attempted", o.attempted),
					sql.Named("code", o.code), sql.Named("err", o.lastErr), sql.Named("at", o.at), sql.Named("dur", o.dur),
					sql.Named("response", o.response), sql.Named("now", now), sql.Named("delivered", delivered),
					sql.Named("ids", string(list))); err != nil {
					return err
				}
			}
		}
		if err := flushRows(); err != nil {
			return err
		}
		// What may have reached the endpoint counts so whatever the
		// delivery's state meanwhile (failed by expiry, say).
		if err := markReached(ctx, tx, p.Results); err != nil {
			return err
		}
		b := p.Breaker
		switch {
		case b.Turn == store.TurnSucceeded:
			if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET consecutive_failures = 0, probe_at = 0, failing_since = 0 WHERE id = ?`, p.EndpointID); err != nil {
				return err
			}
		case b.Turn == store.TurnFailed:
			// A manual retry during this turn keeps its immediate probe.
			if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET consecutive_failures = consecutive_failures + 1,
				probe_at = CASE WHEN ? > 0 AND ? > 0 AND retry_requested_at >= ? THEN retry_requested_at ELSE ? END,
				failing_since = CASE WHEN failing_since = 0 THEN ? ELSE failing_since END WHERE id = ?`,
				ms(p.ClaimedAt), ms(b.ProbeAt), ms(p.ClaimedAt), ms(b.ProbeAt), now, p.EndpointID); err != nil {
				return err
			}
		}
		if b.PauseUntil.After(p.Now) {
			if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET paused_until = max(paused_until, ?) WHERE id = ?`, ms(b.PauseUntil), p.EndpointID); err != nil {
				return err
			}
		}
		if b.Disable != "" {
			if _, err := tx.ExecContext(ctx, `UPDATE endpoints SET enabled = 0, disabled_reason = ? WHERE id = ? AND enabled = 1`, b.Disable, p.EndpointID); err != nil {
				return err
			}
		}
		if p.AccountID != "" && !p.Stats.Empty() {
			if _, err := tx.ExecContext(ctx, statsUpsert, sqlstore.StatsArgs(p.AccountID, p.Now, p.Stats)...); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, endpointStatsUpsert, sqlstore.EndpointStatsArgs(p.EndpointID, p.AccountID, p.Now, p.Stats)...); err != nil {
				return err
			}
		}
		// Release the lease only if it is still this claim's.
		_, err := tx.ExecContext(ctx, `UPDATE endpoints SET
			lane_leased_until = CASE WHEN ? = 0 OR lane_leased_until = ? THEN 0 ELSE lane_leased_until END,
			lane_due_at = (SELECT min(next_attempt_at) FROM deliveries WHERE endpoint_id = ? AND state = 'pending')
			WHERE id = ?`, ms(p.LeasedUntil), ms(p.LeasedUntil), p.EndpointID, p.EndpointID)
		return err
	})
}

// markReached records the results that may have reached the endpoint
// (store.DeliveryResult.MaybeDelivered) for the ordering rule.
func markReached(ctx context.Context, tx *wtx, results []store.DeliveryResult) error {
	var ids []int64
	for _, r := range results {
		if r.MaybeDelivered {
			ids = append(ids, r.DeliveryID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	list, err := json.Marshal(ids)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, `UPDATE deliveries SET reached_rank = status_rank WHERE status_rank > 0
		AND id IN (SELECT value FROM json_each(?))`, string(list))
	return err
}

// NextDue implements store.Store.
func (s *Store) NextDue(ctx context.Context, node string) (time.Time, bool, error) {
	var next sql.NullInt64
	err := s.rdb.QueryRowContext(ctx, `SELECT min(max(lane_due_at, lane_leased_until, probe_at, paused_until)) FROM endpoints WHERE lane_due_at IS NOT NULL AND enabled = 1 AND `+sqlstore.ClaimableKind, node).Scan(&next)
	if err != nil {
		return time.Time{}, false, translate(err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return fromMS(next.Int64), true, nil
}

// ReleaseAllLanes implements store.Store.
func (s *Store) ReleaseAllLanes(ctx context.Context) error {
	return s.write(ctx, func(tx *wtx) error {
		// 1, not 0: the lease is over, but the next claim must know it ran
		// out rather than being released (Lane.Recovered).
		_, err := tx.ExecContext(ctx, `UPDATE endpoints SET lane_leased_until = 1 WHERE lane_leased_until > 1`)
		return err
	})
}
