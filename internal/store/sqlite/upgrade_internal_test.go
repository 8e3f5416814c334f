package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/bahasha/bahasha/internal/store/sqlstore"
	"github.com/bahasha/bahasha/internal/store/storetest"
)

// A database written by the first release (migration 1 only) opens with
// this one: the later migrations apply over its data, and its deliveries
// can be listed, claimed, retried and replayed.
func TestUpgradeFromFirstRelease(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	migs, err := sqlstore.Migrations(migrations)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	for _, q := range []string{
		migs[0].SQL,
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		`INSERT INTO schema_migrations VALUES (1, 0)`,
		`INSERT INTO accounts VALUES ('a', 'Acme', 'secret', 0)`,
		`INSERT INTO phone_numbers VALUES ('p', 'a', 'w', '+1', 1, 0)`,
		`INSERT INTO endpoints (id, account_id, url, verify_token, verified_at, created_at) VALUES (1, 'a', 'https://example.com/h', 't', 0, 0)`,
		`INSERT INTO events VALUES (1, 'a', 'e1', 'status', 'w', 'p', '+1', 'wamid.1', 'sent', '', CAST('{"id":"wamid.1","status":"sent"}' AS BLOB), NULL, ?, ?)`,
		`INSERT INTO events VALUES (2, 'a', 'e2', 'status', 'w', 'p', '+1', 'wamid.2', 'sent', '', CAST('{"id":"wamid.2","status":"sent"}' AS BLOB), NULL, ?, ?)`,
		`INSERT INTO deliveries (id, account_id, endpoint_id, event_id, wamid, status_rank, state, attempts, window_start, last_status_code, created_at, updated_at, delivered_at)
			VALUES (10, 'a', 1, 1, 'wamid.1', 1, 'delivered', 1, ?, 200, ?, ?, ?)`,
		`INSERT INTO deliveries (id, account_id, endpoint_id, event_id, wamid, status_rank, state, attempts, window_start, last_status_code, last_error, created_at, updated_at)
			VALUES (11, 'a', 1, 2, 'wamid.2', 1, 'failed', 3, ?, 500, 'gave up', ?, ?)`,
	} {
		var args []any
		for range countParams(q) {
			args = append(args, t0)
		}
		if _, err := raw.Exec(q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	raw.Close()

	s, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatalf("opening a first-release database: %v", err)
	}
	defer s.Close()
	storetest.CheckUpgraded(t, s, time.UnixMilli(t0))
}

func countParams(q string) int {
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
		}
	}
	return n
}
