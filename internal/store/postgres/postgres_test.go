package postgres_test

import (
	"context"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/pgtest"
	"github.com/bahasha/bahasha/internal/store/postgres"
	"github.com/bahasha/bahasha/internal/store/storetest"
)

// TestMain stops the PostgreSQL server pgtest started once the tests ran,
// then checks for leaked goroutines.
func TestMain(m *testing.M) { pgtest.Main(m) }

func open(t *testing.T) (store.Store, func() store.Store) {
	url := pgtest.URL(t)
	openURL := func() store.Store {
		s, err := postgres.Open(context.Background(), postgres.Config{URL: url})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return openURL(), openURL
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

// TestConcurrentOpen: nodes starting together on one database apply each
// migration once, and none fails.
func TestConcurrentOpen(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	const nodes = 5
	stores := make([]*postgres.Store, nodes)
	errs := make([]error, nodes)
	var wg sync.WaitGroup
	for i := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			stores[i], errs[i] = postgres.Open(ctx, postgres.Config{URL: url, MaxConns: 2})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("node %d: Open: %v", i, err)
			continue
		}
		defer stores[i].Close()
	}
	if t.Failed() {
		return
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	var rows, versions int
	if err := conn.QueryRow(ctx, `SELECT count(*), count(DISTINCT version) FROM schema_migrations`).Scan(&rows, &versions); err != nil {
		t.Fatal(err)
	}
	migrations, _ := os.ReadDir("migrations")
	if rows != len(migrations) || versions != len(migrations) {
		t.Fatalf("schema_migrations has %d rows (%d versions), want %d", rows, versions, len(migrations))
	}
	for i, s := range stores {
		if err := s.Ping(ctx); err != nil {
			t.Fatalf("node %d: Ping: %v", i, err)
		}
	}
}

// TestOpenUnreachable: a database that does not answer fails Open with an
// error, quickly.
func TestOpenUnreachable(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := postgres.Open(ctx, postgres.Config{URL: "postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=5"})
	if err == nil {
		s.Close()
		t.Fatal("Open of an unreachable database succeeded")
	}
}

// TestClosed: every kind of call after Close is ErrClosed.
func TestClosed(t *testing.T) {
	s, err := postgres.Open(context.Background(), postgres.Config{URL: pgtest.URL(t)})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	ctx := context.Background()
	if _, err := s.Account(ctx, "a"); err != store.ErrClosed {
		t.Errorf("Account after Close = %v", err)
	}
	if _, err := s.ClaimLanes(ctx, store.ClaimParams{Now: time.Now(), MaxLanes: 1, MaxPerLane: 1}); err != store.ErrClosed {
		t.Errorf("ClaimLanes after Close = %v", err)
	}
	if err := s.Ping(ctx); err != store.ErrClosed {
		t.Errorf("Ping after Close = %v", err)
	}
}
