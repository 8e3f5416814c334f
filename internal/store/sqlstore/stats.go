package sqlstore

import (
	"fmt"
	"strings"
	"time"

	"github.com/bahasha/bahasha/internal/bahasha"
)

// StatsColumns selects a delivery_stats row in the order ScanStats reads it.
var StatsColumns = func() string {
	cols := []string{"minute", "delivered", "failed", "superseded", "attempts_ok", "attempts_failed"}
	for i := range bahasha.NumLatencyBuckets {
		cols = append(cols, fmt.Sprintf("l%d", i))
	}
	return strings.Join(cols, ", ")
}()

// StatsUpsert returns the statement that adds a minute's counts to an
// account's delivery_stats row (creating it), with placeholders made by
// ph(1..n); StatsArgs gives its arguments. Both SQL dialects accept it.
func StatsUpsert(ph func(i int) string) string {
	return statsUpsert("delivery_stats", []string{"account_id"}, ph)
}

// EndpointStatsUpsert is StatsUpsert for one endpoint's row of
// endpoint_stats; EndpointStatsArgs gives its arguments.
func EndpointStatsUpsert(ph func(i int) string) string {
	return statsUpsert("endpoint_stats", []string{"endpoint_id", "account_id"}, ph)
}

// statsUpsert adds to table's row keyed by keys[0] and the minute.
func statsUpsert(table string, keys []string, ph func(i int) string) string {
	cols := strings.Split(StatsColumns, ", ")
	var b strings.Builder
	b.WriteString("INSERT INTO " + table + " (" + strings.Join(keys, ", ") + ", " + StatsColumns + ") VALUES (")
	for i := range len(cols) + len(keys) {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(ph(i + 1))
	}
	b.WriteString(") ON CONFLICT (" + keys[0] + ", minute) DO UPDATE SET ")
	for i, c := range cols[1:] {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s = %s.%s + excluded.%s", c, table, c, c)
	}
	return b.String()
}

// StatsArgs are the arguments of StatsUpsert for s counted in the minute
// of now.
func StatsArgs(accountID string, now time.Time, s bahasha.DeliveryStats) []any {
	args := []any{accountID, Minute(now), s.Delivered, s.Failed, s.Superseded, s.AttemptsOK, s.AttemptsFailed}
	for _, n := range s.Latency {
		args = append(args, n)
	}
	return args
}

// EndpointStatsArgs are the arguments of EndpointStatsUpsert.
func EndpointStatsArgs(endpointID int64, accountID string, now time.Time, s bahasha.DeliveryStats) []any {
	return append([]any{endpointID}, StatsArgs(accountID, now, s)...)
}

// Minute is the start of now's minute in Unix milliseconds.
func Minute(now time.Time) int64 { return now.Truncate(time.Minute).UnixMilli() }

// ScanStats reads StatsColumns.
func ScanStats(row Scanner) (bahasha.DeliveryStats, error) {
	var s bahasha.DeliveryStats
	var minute int64
	dest := []any{&minute, &s.Delivered, &s.Failed, &s.Superseded, &s.AttemptsOK, &s.AttemptsFailed}
	for i := range s.Latency {
		dest = append(dest, &s.Latency[i])
	}
	if err := row.Scan(dest...); err != nil {
		return bahasha.DeliveryStats{}, err
	}
	s.Start = FromMS(minute)
	return s, nil
}

// ReplayColumns selects a replays row (r) in the order ScanReplay reads
// it; the progress counts are filled in separately.
const ReplayColumns = `r.id, r.account_id, r.endpoint_id, r.from_at, r.to_at, r.only_failed, r.total, r.queued, r.queuing_done, r.created_at`

// ScanReplay reads ReplayColumns.
func ScanReplay(row Scanner) (bahasha.Replay, error) {
	var r bahasha.Replay
	var from, to, created int64
	if err := row.Scan(&r.ID, &r.AccountID, &r.EndpointID, &from, &to, &r.OnlyFailed, &r.Total, &r.Queued, &r.QueuingDone, &created); err != nil {
		return bahasha.Replay{}, err
	}
	r.From, r.To, r.CreatedAt = FromMS(from), FromMS(to), FromMS(created)
	return r, nil
}

// ReplayQualifies is the SQL condition (over a delivery d LEFT JOINed to
// its event) for an event a replay re-sends: any whose delivery is not
// pending (or that has none), or only those whose delivery failed.
func ReplayQualifies(onlyFailed bool) string {
	if onlyFailed {
		return `d.state = 'failed'`
	}
	return `(d.id IS NULL OR d.state <> 'pending')`
}
