package sqlite

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
)

// TestQueryPlans: the queries that run against large tables find their rows
// through an index; none scans a whole table.
func TestQueryPlans(t *testing.T) {
	s, err := Open(context.Background(), Config{Path: filepath.Join(t.TempDir(), "plans.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, tc := range []struct {
		name, query string
		args        []any
		index       string
	}{
		{"failed deliveries of an account", `SELECT d.id FROM deliveries d JOIN events e ON e.id = d.event_id
			WHERE d.account_id = ? AND d.state = ? ORDER BY d.id DESC LIMIT 50`, []any{"a", "failed"}, "deliveries_account_failed"},
		{"deliveries of an account", `SELECT d.id FROM deliveries d JOIN events e ON e.id = d.event_id
			WHERE d.account_id = ? ORDER BY d.id DESC LIMIT 50`, []any{"a"}, "deliveries_account"},
		{"backlog", `SELECT count(*) FROM deliveries
			WHERE endpoint_id = (SELECT id FROM endpoints WHERE account_id = ?) AND state = 'pending'`, []any{"a"}, "deliveries_due"},
		{"replay range", `SELECT count(*) FROM events e LEFT JOIN deliveries d ON d.event_id = e.id
			WHERE e.account_id = ? AND e.created_at >= ? AND e.created_at < ?`, []any{"a", 1, 2}, "events_account_created"},
		{"replay's deliveries", `SELECT count(*) FROM events e LEFT JOIN deliveries d ON d.event_id = e.id
			WHERE e.account_id = ? AND e.created_at >= ? AND e.created_at < ?`, []any{"a", 1, 2}, "deliveries_event"},
		{"replay progress", `SELECT state, count(*) FROM deliveries WHERE replay_id = ? GROUP BY state`, []any{1}, "deliveries_replay"},
		{"retention's orphan check", `SELECT 1 FROM deliveries WHERE event_id = ?`, []any{1}, "deliveries_event"},
		{"statistics", `SELECT minute FROM delivery_stats WHERE account_id = ? AND minute >= ? AND minute < ?`, []any{"a", 1, 2}, "PRIMARY KEY"},
		{"a claim's due deliveries", claimDueQuery, []any{1, 1, 400}, "deliveries_due"},
		{"a claim's extent", claimExtentQuery, []any{1, 1, 400}, "COVERING INDEX deliveries_due"},
		{"a recovered claim's deliveries", recoverQuery, []any{1, 1, 1, 5}, "deliveries_due"},
		{"a claim's delivered ranks", claimRanksQuery, []any{1, `["wamid.a","wamid.b"]`}, "COVERING INDEX deliveries_wamid"},
	} {
		rows, err := s.rdb.Query(`EXPLAIN QUERY PLAN `+tc.query, tc.args...)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			if err := rows.Scan(&id, &parent, &unused, &detail); err != nil {
				t.Fatal(err)
			}
			plan = append(plan, detail)
		}
		rows.Close()
		all := strings.Join(plan, "; ")
		if !strings.Contains(all, tc.index) {
			t.Errorf("%s: plan %q does not use %s", tc.name, all, tc.index)
		}
		for _, step := range plan {
			// json_each walks its own argument, and a subquery its own
			// rows, not a table.
			if strings.HasPrefix(step, "SCAN ") && !strings.Contains(step, "USING") && !strings.Contains(step, "VIRTUAL TABLE") &&
				!strings.HasPrefix(step, "SCAN (subquery") {
				t.Errorf("%s: plan %q scans a table", tc.name, all)
			}
		}
	}
}
