package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
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
	raw := migratedBefore(t, path, 2)
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	for _, q := range []string{
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

// migratedBefore creates a database at path as a release before version
// left it: the migrations below version applied and recorded, with the
// foreign keys not enforced, as they were not then.
func migratedBefore(t *testing.T, path string, version int) *sql.DB {
	t.Helper()
	migs, err := sqlstore.Migrations(migrations)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	for _, m := range migs {
		if m.Version >= version {
			break
		}
		if _, err := raw.Exec(m.SQL); err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_migrations VALUES (?, 0)`, m.Version); err != nil {
			t.Fatal(err)
		}
	}
	return raw
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

// A database written before the foreign keys were enforced, holding rows
// that refer to missing ones, is refused with an error that names them and
// says how to remove them; nothing is changed. Once they are removed as it
// says, it opens.
func TestUpgradeRefusesOrphans(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "orphans.db")
	raw := migratedBefore(t, path, foreignKeysVersion)
	defer raw.Close()
	for _, q := range []string{
		`INSERT INTO accounts VALUES ('a', 'Acme', 'secret', 0)`,
		`INSERT INTO sessions VALUES (X'01', 'gone', 0, 0)`,      // an account that does not exist
		`INSERT INTO attempts VALUES (77, 1, 0, 0, 500, '', '')`, // a delivery that does not exist
		// A delivery of a missing event, with an attempt: removing it
		// orphans the attempt, so the fixes must remove that too.
		`INSERT INTO deliveries (id, account_id, endpoint_id, event_id, state, created_at, updated_at) VALUES (5, 'a', 1, 999, 'failed', 0, 0)`,
		`INSERT INTO attempts VALUES (5, 1, 0, 0, 500, '', '')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	_, err := Open(ctx, Config{Path: path})
	if err == nil {
		t.Fatal("a database with orphan rows opened")
	}
	msg := err.Error()
	for _, want := range []string{"3 rows that refer to rows that do not exist", "1 in sessions refer to missing accounts",
		"1 in attempts refer to missing deliveries", "1 in deliveries refer to missing events", "nothing was changed"} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error does not say %q: %s", want, msg)
		}
	}
	var version int
	if err := raw.QueryRow(`SELECT max(version) FROM schema_migrations`).Scan(&version); err != nil || version != foreignKeysVersion-1 {
		t.Fatalf("schema version after the refusal: %d, %v; want it unchanged", version, err)
	}
	// Removed as the error says, in its order, the database opens.
	_, list, _ := strings.Cut(msg, "sqlite3 shell (")
	list, _, _ = strings.Cut(list, "), then start again")
	fixes := strings.SplitAfter(list, ";")
	if len(fixes) < 3 || !strings.Contains(list, "DELETE FROM deliveries") || strings.Index(list, "DELETE FROM deliveries") > strings.Index(list, "DELETE FROM attempts") {
		t.Fatalf("the fixes %q do not remove deliveries before attempts", list)
	}
	for _, fix := range fixes {
		if strings.TrimSpace(fix) == "" {
			continue
		}
		if _, err := raw.Exec(fix); err != nil {
			t.Fatal(err)
		}
	}
	s, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatalf("after removing the orphans: %v", err)
	}
	s.Close()
}

// A database of the release before endpoints were many (migration 6)
// keeps its endpoint, as the primary one, and its pending work.
func TestUpgradeToManyEndpoints(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v6.db")
	raw := migratedBefore(t, path, 7)
	t0 := time.Date(2026, 11, 1, 12, 0, 0, 0, time.UTC).UnixMilli()
	for _, q := range []string{
		`INSERT INTO accounts VALUES ('a', 'Acme', 'secret', 0)`,
		`INSERT INTO phone_numbers VALUES ('p', 'a', 'w', '+1', 1, 0)`,
		`INSERT INTO endpoints (id, account_id, url, verify_token, verified_at, created_at, lane_due_at) VALUES (1, 'a', 'https://example.com/h', 't', 0, 0, ?)`,
		`INSERT INTO events VALUES (3, 'a', 'e3', 'status', 'w', 'p', '+1', 'wamid.3', 'sent', '', CAST('{"id":"wamid.3","status":"sent"}' AS BLOB), NULL, ?, ?)`,
		`INSERT INTO deliveries (id, account_id, endpoint_id, event_id, wamid, status_rank, state, next_attempt_at, window_start, created_at, updated_at)
			VALUES (12, 'a', 1, 3, 'wamid.3', 1, 'pending', ?, ?, ?, ?)`,
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
		t.Fatalf("opening a migration-6 database: %v", err)
	}
	defer s.Close()
	storetest.CheckEndpointsUpgraded(t, s, time.UnixMilli(t0))
}

// A database of the release before members (migration 17) keeps its API
// key, as the bootstrap key with every right; its dashboard sessions end.
func TestUpgradeToPeople(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v17.db")
	raw := migratedBefore(t, path, 18)
	for _, q := range []string{
		`INSERT INTO accounts VALUES ('a', 'Acme', 'secret', 0)`,
		`INSERT INTO api_keys VALUES (CAST('0123456789abcdef-key' AS BLOB), 'a', 0)`,
		`INSERT INTO sessions VALUES (CAST('session-hash' AS BLOB), 'a', 0, 9999999999999)`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%.60s: %v", q, err)
		}
	}
	raw.Close()
	s, err := Open(ctx, Config{Path: path})
	if err != nil {
		t.Fatalf("opening a migration-17 database: %v", err)
	}
	defer s.Close()
	storetest.CheckPeopleUpgraded(t, s, []byte("0123456789abcdef-key"), []byte("session-hash"))
}
