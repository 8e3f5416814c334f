package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bahasha/bahasha/internal/bahasha"
	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

// ClaimLanes implements store.Store. The due lanes are locked with FOR NO
// KEY UPDATE SKIP LOCKED in fairness order (the endpoints_lane_fair index),
// so claimers on every node take disjoint lanes without waiting; the lanes
// are leased before the transaction commits.
func (s *Store) ClaimLanes(ctx context.Context, p store.ClaimParams) ([]store.Lane, error) {
	var lanes []store.Lane
	now := ms(p.Now)
	err := s.tx(ctx, func(tx pgx.Tx) error {
		lanes = lanes[:0]
		rows, err := tx.Query(ctx, `SELECT `+endpointColumns+`, (SELECT app_secret FROM accounts a WHERE a.id = endpoints.account_id),
			lane_leased_until, claim_last_due, claim_last_event
			FROM endpoints
			WHERE lane_due_at IS NOT NULL AND lane_due_at <= $1 AND lane_leased_until <= $1 AND probe_at <= $1 AND paused_until <= $1 AND enabled
				AND (kind = 'http' OR (listen_node <> '' AND listen_node = $3))
			ORDER BY last_served_at, id LIMIT $2
			FOR NO KEY UPDATE SKIP LOCKED`, now, limit(p.MaxLanes), p.Node)
		if err != nil {
			return err
		}
		var claimed []store.Lane
		var dead [][2]int64 // the extents of the previous claims
		for rows.Next() {
			var secret *string
			var leasedUntil int64
			var last [2]int64
			e, err := scanEndpoint(rows, &secret, &leasedUntil, &last[0], &last[1])
			if err != nil {
				rows.Close()
				return err
			}
			if secret == nil {
				rows.Close()
				return pgx.ErrNoRows // as SQLite: the endpoint's account is gone
			}
			claimed = append(claimed, store.Lane{Endpoint: e, AppSecret: *secret, Recovered: leasedUntil != 0})
			dead = append(dead, last)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(claimed) == 0 {
			return nil
		}
		// Their due deliveries, all lanes in one query.
		ids := make([]int64, len(claimed))
		limits := make([]int64, len(claimed))
		index := make(map[int64]int, len(claimed))
		for i, l := range claimed {
			ids[i], index[l.Endpoint.ID] = l.Endpoint.ID, i
			limits[i] = int64(sqlstore.LaneLimit(l.Endpoint, int(limit(p.MaxPerLane))))
		}
		rows, err = tx.Query(ctx, `SELECT `+sqlstore.ClaimColumns+`
			FROM unnest($1::bigint[], $2::bigint[]) AS l(endpoint_id, lim)
			CROSS JOIN LATERAL (SELECT * FROM deliveries d WHERE d.endpoint_id = l.endpoint_id AND d.state = 'pending' AND d.next_attempt_at <= $3
				ORDER BY d.next_attempt_at, d.event_id LIMIT l.lim) d
			JOIN events e ON e.id = d.event_id
			ORDER BY d.endpoint_id, d.next_attempt_at, d.event_id`, ids, limits, now)
		if err != nil {
			return err
		}
		for rows.Next() {
			d, err := sqlstore.ScanClaimed(rows, "")
			if err != nil {
				rows.Close()
				return err
			}
			l := &claimed[index[d.EndpointID]]
			sqlstore.SetAccount(&d, l.Endpoint.AccountID)
			l.Deliveries = append(l.Deliveries, d)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// A recovered lane's deliveries that its dead worker's claim held
		// (pending, up to that claim's extent: the key of its last
		// delivery) may have reached the endpoint. A lease from before the
		// extent was recorded counts what this claim holds.
		var mEndpoints, mDue, mEvent []int64
		for i, l := range claimed {
			if !l.Recovered || len(l.Deliveries) == 0 {
				continue
			}
			mark := dead[i]
			if mark[0] == 0 {
				mark = extentOf(l)
			}
			mEndpoints, mDue, mEvent = append(mEndpoints, l.Endpoint.ID), append(mDue, mark[0]), append(mEvent, mark[1])
		}
		if len(mEndpoints) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE deliveries d SET reached_rank = d.status_rank
				FROM unnest($1::bigint[], $2::bigint[], $3::bigint[]) AS m(endpoint_id, due, event)
				WHERE d.endpoint_id = m.endpoint_id AND d.state = 'pending' AND d.status_rank > 0
				AND (d.next_attempt_at < m.due OR (d.next_attempt_at = m.due AND d.event_id <= m.event))`, mEndpoints, mDue, mEvent); err != nil {
				return err
			}
		}
		if err := deliveredRanks(ctx, tx, claimed); err != nil {
			return err
		}
		var leased, lastDue, lastEvent, stale []int64
		for _, l := range claimed {
			if len(l.Deliveries) == 0 {
				stale = append(stale, l.Endpoint.ID)
				continue
			}
			ext := extentOf(l)
			leased, lastDue, lastEvent = append(leased, l.Endpoint.ID), append(lastDue, ext[0]), append(lastEvent, ext[1])
			l.LeasedUntil = fromMS(now + p.LeaseFor.Milliseconds())
			l.ClaimedAt = p.Now
			lanes = append(lanes, l)
		}
		if len(leased) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE endpoints SET lane_leased_until = $1, last_served_at = $2, lane_node = $6, claim_last_due = v.due, claim_last_event = v.event
				FROM unnest($3::bigint[], $4::bigint[], $5::bigint[]) AS v(id, due, event) WHERE endpoints.id = v.id`,
				now+p.LeaseFor.Milliseconds(), now, leased, lastDue, lastEvent, p.Node); err != nil {
				return err
			}
		}
		if len(stale) > 0 {
			// lane_due_at was stale: recompute it and move on.
			if err := refreshLanes(ctx, tx, stale, true); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return lanes, nil
}

// extentOf is a claimed lane's extent: the claim order's key (next attempt
// time, event id) of its last delivery.
func extentOf(l store.Lane) [2]int64 {
	d := l.Deliveries[len(l.Deliveries)-1]
	return [2]int64{ms(d.NextAttemptAt), d.EventID}
}

// deliveredRanks sets each lane's DeliveredRanks: the highest status rank
// delivered or possibly delivered to the endpoint for each message of its
// claimed status deliveries (nil when it has none, as the SQLite driver).
func deliveredRanks(ctx context.Context, tx pgx.Tx, lanes []store.Lane) error {
	var endpoints []int64
	var wamids []string
	index := map[int64]int{}
	for i := range lanes {
		l := &lanes[i]
		seen := map[string]bool{}
		for _, d := range l.Deliveries {
			if d.Event.Kind == bahasha.KindStatus && bahasha.StatusRank(d.Event.Status) > 0 && !seen[d.Event.WAMID] {
				seen[d.Event.WAMID] = true
				endpoints, wamids = append(endpoints, l.Endpoint.ID), append(wamids, d.Event.WAMID)
			}
		}
		if len(seen) > 0 {
			l.DeliveredRanks = map[string]int{}
			index[l.Endpoint.ID] = i
		}
	}
	if len(wamids) == 0 {
		return nil
	}
	rows, err := tx.Query(ctx, `SELECT d.endpoint_id, d.wamid, max(d.reached_rank)
		FROM unnest($1::bigint[], $2::text[]) AS w(endpoint_id, wamid)
		JOIN deliveries d ON d.endpoint_id = w.endpoint_id AND d.wamid = w.wamid AND d.reached_rank > 0
		GROUP BY d.endpoint_id, d.wamid`, endpoints, wamids)
	if err != nil {
		return err
	}
	var endpoint int64
	var wamid string
	var rank int
	_, err = pgx.ForEachRow(rows, []any{&endpoint, &wamid, &rank}, func() error {
		lanes[index[endpoint]].DeliveredRanks[wamid] = rank
		return nil
	})
	return err
}

// refreshLanes recomputes lane_due_at from the endpoints' pending
// deliveries, and with release drops their leases. The endpoints must be
// locked by an earlier statement of the transaction, so that this one's
// snapshot sees every delivery committed before the lock.
func refreshLanes(ctx context.Context, tx pgx.Tx, endpointIDs []int64, release bool) error {
	q := `UPDATE endpoints SET lane_due_at = (SELECT min(next_attempt_at) FROM deliveries d WHERE d.endpoint_id = endpoints.id AND d.state = 'pending')`
	if release {
		q += `, lane_leased_until = 0`
	}
	_, err := tx.Exec(ctx, q+` WHERE id = ANY($1::bigint[])`, endpointIDs)
	return err
}

// CompleteLane implements store.Store.
func (s *Store) CompleteLane(ctx context.Context, p store.CompleteParams) error {
	now := ms(p.Now)
	// Attempts worth a row: all but none made and a first one that succeeded
	// (the delivery row records that one alone).
	var aIDs, aStarted, aDur []int64
	var aNumbers, aCodes []int32
	var aErrors, aBodies []string
	// Deliveries: one row of arrays per result, applied by one UPDATE.
	n := len(p.Results)
	ids, nexts, ats, durs := make([]int64, 0, n), make([]*int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
	states, errs, responses := make([]string, 0, n), make([]string, 0, n), make([]string, 0, n)
	attempted := make([]bool, 0, n)
	var maybe []int64
	codes := make([]int32, 0, n)
	for _, r := range p.Results {
		a := r.Attempt
		if sqlstore.OwnAttemptRow(r) {
			aIDs, aNumbers, aStarted, aDur = append(aIDs, r.DeliveryID), append(aNumbers, int32(a.Number)), append(aStarted, ms(a.StartedAt)), append(aDur, a.Duration.Microseconds())
			aCodes, aErrors, aBodies = append(aCodes, int32(a.StatusCode)), append(aErrors, a.Error), append(aBodies, a.ResponseBody)
		}
		var next *int64
		if r.State == bahasha.DeliveryPending {
			v := ms(r.NextAttemptAt)
			next = &v
		}
		lastErr := sqlstore.LastError(r)
		ids, nexts, ats, durs = append(ids, r.DeliveryID), append(nexts, next), append(ats, ms(a.StartedAt)), append(durs, a.Duration.Microseconds())
		states, errs, responses = append(states, string(r.State)), append(errs, lastErr), append(responses, a.ResponseBody)
		attempted, codes = append(attempted, a.Number > 0), append(codes, int32(a.StatusCode))
		if r.MaybeDelivered {
			maybe = append(maybe, r.DeliveryID)
		}
	}
	return s.tx(ctx, func(tx pgx.Tx) error {
		if err := addNotices(ctx, tx, p.Notices); err != nil {
			return err
		}
		// Lock the lane first: the lane_due_at computed below then sees
		// every delivery committed for it.
		if _, err := tx.Exec(ctx, `SELECT 1 FROM endpoints WHERE id = $1 FOR NO KEY UPDATE`, p.EndpointID); err != nil {
			return err
		}
		if len(aIDs) > 0 {
			// The same attempt recorded twice (a lane re-claimed after its
			// lease ran out while the first worker was still at it) is kept once.
			if _, err := tx.Exec(ctx, `INSERT INTO attempts (delivery_id, number, started_at, duration_us, status_code, error, response_body)
				SELECT * FROM unnest($1::bigint[], $2::integer[], $3::bigint[], $4::bigint[], $5::integer[], $6::text[], $7::text[])
				ON CONFLICT DO NOTHING`, aIDs, aNumbers, aStarted, aDur, aCodes, aErrors, aBodies); err != nil {
				return err
			}
		}
		if len(ids) > 0 {
			// A delivery failed meanwhile (its webhook was removed) keeps its
			// state unless this attempt delivered it.
			if _, err := tx.Exec(ctx, `UPDATE deliveries d SET state = r.state,
					attempts = d.attempts + CASE WHEN r.attempted THEN 1 ELSE 0 END,
					next_attempt_at = r.next,
					last_status_code = CASE WHEN r.attempted THEN r.code ELSE d.last_status_code END,
					last_error = r.err,
					last_attempt_at = CASE WHEN r.attempted THEN r.at ELSE d.last_attempt_at END,
					last_duration_us = CASE WHEN r.attempted THEN r.dur ELSE d.last_duration_us END,
					last_response = CASE WHEN r.attempted THEN r.response ELSE d.last_response END,
					updated_at = @now::bigint,
					delivered_at = CASE WHEN r.state = 'delivered' THEN @now::bigint ELSE 0 END,
					reached_rank = CASE WHEN r.state = 'delivered' THEN d.status_rank ELSE d.reached_rank END
				FROM unnest(@ids::bigint[], @states::text[], @nexts::bigint[], @attempted::boolean[], @codes::integer[], @errs::text[],
					@ats::bigint[], @durs::bigint[], @responses::text[])
					AS r(id, state, next, attempted, code, err, at, dur, response)
				WHERE d.id = r.id AND (d.state = 'pending' OR r.state = 'delivered')`,
				pgx.NamedArgs{"now": now, "ids": ids, "states": states, "nexts": nexts, "attempted": attempted, "codes": codes,
					"errs": errs, "ats": ats, "durs": durs, "responses": responses}); err != nil {
				return err
			}
		}
		// What may have reached the endpoint counts so whatever the
		// delivery's state meanwhile (failed by expiry, say).
		if len(maybe) > 0 {
			if _, err := tx.Exec(ctx, `UPDATE deliveries SET reached_rank = status_rank WHERE id = ANY($1::bigint[])`, maybe); err != nil {
				return err
			}
		}
		b := p.Breaker
		switch {
		case b.Turn == store.TurnSucceeded:
			if _, err := tx.Exec(ctx, `UPDATE endpoints SET consecutive_failures = 0, probe_at = 0, failing_since = 0 WHERE id = $1`, p.EndpointID); err != nil {
				return err
			}
		case b.Turn == store.TurnFailed:
			// A manual retry during this turn keeps its immediate probe.
			if _, err := tx.Exec(ctx, `UPDATE endpoints SET consecutive_failures = consecutive_failures + 1,
				probe_at = CASE WHEN $4::bigint > 0 AND $1::bigint > 0 AND retry_requested_at >= $4 THEN retry_requested_at ELSE $1 END,
				failing_since = CASE WHEN failing_since = 0 THEN $2 ELSE failing_since END WHERE id = $3`,
				ms(b.ProbeAt), now, p.EndpointID, ms(p.ClaimedAt)); err != nil {
				return err
			}
		}
		if b.PauseUntil.After(p.Now) {
			if _, err := tx.Exec(ctx, `UPDATE endpoints SET paused_until = GREATEST(paused_until, $1) WHERE id = $2`, ms(b.PauseUntil), p.EndpointID); err != nil {
				return err
			}
		}
		if b.Disable != "" {
			if _, err := tx.Exec(ctx, `UPDATE endpoints SET enabled = FALSE, disabled_reason = $1 WHERE id = $2 AND enabled`, b.Disable, p.EndpointID); err != nil {
				return err
			}
		}
		if p.AccountID != "" && !p.Stats.Empty() {
			if _, err := tx.Exec(ctx, statsUpsert, sqlstore.StatsArgs(p.AccountID, p.Now, p.Stats)...); err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, endpointStatsUpsert, sqlstore.EndpointStatsArgs(p.EndpointID, p.AccountID, p.Now, p.Stats)...); err != nil {
				return err
			}
		}
		// Release the lease only if it is still this claim's.
		_, err := tx.Exec(ctx, `UPDATE endpoints SET
			lane_leased_until = CASE WHEN $2::bigint = 0 OR lane_leased_until = $2 THEN 0 ELSE lane_leased_until END,
			lane_due_at = (SELECT min(next_attempt_at) FROM deliveries d WHERE d.endpoint_id = endpoints.id AND d.state = 'pending')
			WHERE id = $1`, p.EndpointID, ms(p.LeasedUntil))
		return err
	})
}

// NextDue implements store.Store.
func (s *Store) NextDue(ctx context.Context, node string) (time.Time, bool, error) {
	var next *int64
	if err := s.queryRow(ctx, `SELECT min(GREATEST(lane_due_at, lane_leased_until, probe_at, paused_until)) FROM endpoints
		WHERE lane_due_at IS NOT NULL AND enabled AND (kind = 'http' OR (listen_node <> '' AND listen_node = $1))`, []any{node}, &next); err != nil {
		return time.Time{}, false, err
	}
	if next == nil {
		return time.Time{}, false, nil
	}
	return fromMS(*next), true, nil
}

// ReleaseAllLanes implements store.Store.
func (s *Store) ReleaseAllLanes(ctx context.Context) error {
	return s.tx(ctx, func(tx pgx.Tx) error {
		// 1, not 0: the next claim must know the lease ran out (Lane.Recovered).
		_, err := tx.Exec(ctx, `UPDATE endpoints SET lane_leased_until = 1 WHERE lane_leased_until > 1`)
		return err
	})
}
