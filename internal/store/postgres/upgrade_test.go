package postgres_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bahasha/bahasha/internal/store/pgtest"
	"github.com/bahasha/bahasha/internal/store/postgres"
	"github.com/bahasha/bahasha/internal/store/storetest"
)

// A database written by the first release (migration 1 only, with data)
// upgrades when this release opens it, and its deliveries can be listed,
// replayed and claimed.
func TestUpgradeFromFirstRelease(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	first, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	if _, err := conn.Exec(ctx, string(first)); err != nil {
		t.Fatal(err)
	}
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`, nil},
		{`INSERT INTO schema_migrations VALUES (1, 0)`, nil},
		{`INSERT INTO accounts VALUES ('a', 'Acme', 'secret', 0)`, nil},
		{`INSERT INTO phone_numbers VALUES ('p', 'a', 'w', '+1', true, 0)`, nil},
		{`INSERT INTO endpoints (id, account_id, url, verify_token, verified_at, created_at) VALUES (1, 'a', 'https://example.com/h', 't', 0, 0)`, nil},
		{`INSERT INTO events (id, account_id, producer_id, kind, waba_id, phone_number_id, display_phone_number, wamid, status, message_type, payload, created_at, available_at)
			VALUES (1, 'a', 'e1', 'status', 'w', 'p', '+1', 'wamid.1', 'sent', '', '{"id":"wamid.1","status":"sent"}', $1, $1),
			(2, 'a', 'e2', 'status', 'w', 'p', '+1', 'wamid.2', 'sent', '', '{"id":"wamid.2","status":"sent"}', $1, $1)`, []any{t0}},
		{`INSERT INTO deliveries (id, account_id, endpoint_id, event_id, wamid, status_rank, state, attempts, window_start, last_status_code, last_error, created_at, updated_at, delivered_at)
			VALUES (10, 'a', 1, 1, 'wamid.1', 1, 'delivered', 1, $1, 200, '', $1, $1, $1),
			(11, 'a', 1, 2, 'wamid.2', 1, 'failed', 3, $1, 500, 'gave up', $1, $1, 0)`, []any{t0}},
		// As the rows' own inserts would have left them.
		{`SELECT setval(pg_get_serial_sequence('events', 'id'), 2), setval(pg_get_serial_sequence('deliveries', 'id'), 11),
			setval(pg_get_serial_sequence('endpoints', 'id'), 1)`, nil},
	} {
		if _, err := conn.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatalf("%.60s: %v", q.sql, err)
		}
	}
	conn.Close(ctx)

	s, err := postgres.Open(ctx, postgres.Config{URL: url})
	if err != nil {
		t.Fatalf("opening a first-release database: %v", err)
	}
	defer s.Close()
	storetest.CheckUpgraded(t, s, time.UnixMilli(t0))
}

// A database of the release before endpoints were many (migration 5)
// keeps its endpoint, as the primary one, and its pending work.
func TestUpgradeToManyEndpoints(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/000[1-5]_*.sql")
	if err != nil || len(files) != 5 {
		t.Fatalf("migrations 1-5: %v, %v", files, err)
	}
	for i, f := range files {
		sql, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(sql)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations VALUES ($1, 0)`, i+1); err != nil {
			t.Fatal(err)
		}
	}
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	for _, q := range []string{
		`INSERT INTO accounts VALUES ('a', 'Acme', 'secret', 0)`,
		`INSERT INTO phone_numbers VALUES ('p', 'a', 'w', '+1', true, 0)`,
		`INSERT INTO endpoints (id, account_id, url, verify_token, verified_at, created_at, lane_due_at) VALUES (1, 'a', 'https://example.com/h', 't', 0, 0, $1)`,
		`INSERT INTO events (id, account_id, producer_id, kind, waba_id, phone_number_id, display_phone_number, wamid, status, message_type, payload, created_at, available_at)
			VALUES (3, 'a', 'e3', 'status', 'w', 'p', '+1', 'wamid.3', 'sent', '', '{"id":"wamid.3","status":"sent"}', $1, $1)`,
		`INSERT INTO deliveries (id, account_id, endpoint_id, event_id, wamid, status_rank, state, next_attempt_at, window_start, created_at, updated_at)
			VALUES (12, 'a', 1, 3, 'wamid.3', 1, 'pending', $1, $1, $1, $1)`,
		`SELECT setval(pg_get_serial_sequence('events', 'id'), 3), setval(pg_get_serial_sequence('deliveries', 'id'), 12),
			setval(pg_get_serial_sequence('endpoints', 'id'), 1)`,
	} {
		var args []any
		if strings.Contains(q, "$1") {
			args = append(args, t0)
		}
		if _, err := conn.Exec(ctx, q, args...); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	conn.Close(ctx)
	s, err := postgres.Open(ctx, postgres.Config{URL: url})
	if err != nil {
		t.Fatalf("opening a migration-5 database: %v", err)
	}
	defer s.Close()
	storetest.CheckEndpointsUpgraded(t, s, time.UnixMilli(t0))
}

// A database of the release before members (migration 16) keeps its API
// key, as the bootstrap key with every right; its dashboard sessions end.
func TestUpgradeToPeople(t *testing.T) {
	ctx := context.Background()
	url := pgtest.URL(t)
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Exec(ctx, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/00*.sql")
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range files[:16] {
		sql, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := conn.Exec(ctx, string(sql)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := conn.Exec(ctx, `INSERT INTO schema_migrations VALUES ($1, 0)`, i+1); err != nil {
			t.Fatal(err)
		}
	}
	for _, q := range []string{
		`INSERT INTO accounts VALUES ('a', 'Acme', 'secret', 0)`,
		`INSERT INTO api_keys VALUES ('0123456789abcdef-key'::bytea, 'a', 0)`,
		`INSERT INTO sessions VALUES ('session-hash'::bytea, 'a', 0, 9999999999999)`,
	} {
		if _, err := conn.Exec(ctx, q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	conn.Close(ctx)
	s, err := postgres.Open(ctx, postgres.Config{URL: url})
	if err != nil {
		t.Fatalf("opening a migration-16 database: %v", err)
	}
	defer s.Close()
	storetest.CheckPeopleUpgraded(t, s, []byte("0123456789abcdef-key"), []byte("session-hash"))
}
