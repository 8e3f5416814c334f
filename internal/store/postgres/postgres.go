// Package postgres is the Store for a cluster: any number of bahasha nodes
// share one PostgreSQL database through a pgx connection pool.
//
// It keeps the SQLite driver's semantics exactly (internal/store/storetest
// is the judge): times are unix milliseconds, the schema is the same, and
// the embedded migrations are applied at Open inside one transaction that
// holds a transaction-scoped advisory lock, so that nodes starting together
// apply each migration once.
//
// Concurrency across nodes rests on row locks of the endpoints table, the
// delivery lanes:
//   - ClaimLanes takes due lanes with FOR NO KEY UPDATE SKIP LOCKED, so
//     concurrent claimers on any node never wait for each other nor get the
//     same lane, and leases them (lane_leased_until) before committing.
//   - Every write that changes a lane's pending deliveries (CompleteLane,
//     RetryDelivery, ExpireDeliveries, DeleteEndpoint) locks the endpoint
//     row before it touches them, and recomputes lane_due_at in a later
//     statement, whose snapshot sees every insert committed before the lock:
//     a lane never loses a wake-up. InsertEvents holds a KEY SHARE lock on
//     the endpoint for its whole transaction (so the endpoint cannot vanish
//     under it) and updates lane_due_at last.
//
// Transactions that PostgreSQL aborts for a deadlock or a serialization
// failure are retried a few times.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"math"
	"net"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the pg_advisory_xact_lock key that serialises the
// migrations of nodes starting together ("bahasha" in ASCII).
const migrationLock int64 = 0x62616861736861

// Config configures a Store.
type Config struct {
	// URL is the database, as a postgres:// URL or a key=value string.
	// Required.
	URL string
	// MaxConns caps the pool's connections. Default 16.
	MaxConns int32
	// StatementTimeout aborts any statement running longer (PostgreSQL's
	// statement_timeout). Default 30s.
	StatementTimeout time.Duration
}

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	pool *pgxpool.Pool

	mu     sync.RWMutex // guards closed
	closed bool
}

var _ store.Store = (*Store)(nil)

// Open connects to cfg.URL and applies the migrations the database lacks.
// It fails when the database cannot be reached.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.URL == "" {
		return nil, errors.New("postgres: no database URL")
	}
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 16
	}
	if cfg.StatementTimeout <= 0 {
		cfg.StatementTimeout = 30 * time.Second
	}
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		// The parse error may quote the URL, password included: say less.
		return nil, errors.New("postgres: the database URL is not valid")
	}
	pc.MaxConns = cfg.MaxConns
	if pc.ConnConfig.RuntimeParams == nil {
		pc.ConnConfig.RuntimeParams = map[string]string{}
	}
	pc.ConnConfig.RuntimeParams["statement_timeout"] = strconv.FormatInt(cfg.StatementTimeout.Milliseconds(), 10)
	if _, ok := pc.ConnConfig.RuntimeParams["application_name"]; !ok {
		pc.ConnConfig.RuntimeParams["application_name"] = "bahasha"
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// migrate applies the embedded migrations the database lacks, in one
// transaction holding an advisory lock, so that nodes starting together
// apply each once (the others wait, then find it applied).
func (s *Store) migrate(ctx context.Context) error {
	migs, err := sqlstore.Migrations(migrations)
	if err != nil {
		return fmt.Errorf("postgres: %w", err)
	}
	err = pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
			return err
		}
		for _, m := range migs {
			var applied bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = $1)`, m.Version).Scan(&applied); err != nil {
				return err
			}
			if applied {
				continue
			}
			// No arguments: the simple protocol runs the file's statements.
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)`, m.Version, time.Now().UnixMilli()); err != nil {
				return fmt.Errorf("migration %s: %w", m.Name, err)
			}
		}
		return sqlstore.BackfillSecrets(ctx, pgSecrets{tx})
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// maxTxAttempts bounds how often a transaction aborted by a deadlock or a
// serialization failure is run.
const maxTxAttempts = 4

// tx runs fn in a transaction and commits it. fn may run again (after a
// deadlock), so it must reset whatever it accumulates.
func (s *Store) tx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	for attempt := 1; ; attempt++ {
		err := pgx.BeginFunc(ctx, s.pool, fn)
		if err != nil && attempt < maxTxAttempts && retryable(err) && ctx.Err() == nil {
			continue
		}
		return s.translate(err)
	}
}

func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40P01" || pe.Code == "40001" // deadlock_detected, serialization_failure
	}
	return false
}

// translate maps driver errors to the store's sentinels.
func (s *Store) translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrClosed) {
		return err
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return store.ErrNotFound
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch pe.Code {
		case "23505": // unique_violation
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		case "23503": // foreign_key_violation: the row referred to does not exist
			return fmt.Errorf("%w: %v", store.ErrNotFound, err)
		}
	}
	if s.isClosed() || err.Error() == "closed pool" {
		return fmt.Errorf("%w: %v", store.ErrClosed, err)
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	if errors.As(err, &ce) || errors.As(err, &ne) || pgconn.SafeToRetry(err) ||
		(errors.As(err, &pe) && (strings.HasPrefix(pe.Code, "08") || pe.Code == "57P01" || pe.Code == "57P03")) {
		// Connection failures, and the server shutting down or starting.
		return fmt.Errorf("%w: %v", store.ErrUnavailable, err)
	}
	return fmt.Errorf("postgres: %w", err)
}

// queryRow runs a one-row read outside a transaction.
func (s *Store) queryRow(ctx context.Context, q string, args []any, dest ...any) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	return s.translate(s.pool.QueryRow(ctx, q, args...).Scan(dest...))
}

// Ping implements store.Store: the database answers and is migrated.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	return s.queryRow(ctx, `SELECT 1 FROM schema_migrations LIMIT 1`, nil, &one)
}

// Close implements store.Store: it waits for the connections in use to be
// returned, then closes the pool.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	s.pool.Close()
	return nil
}

// limit turns a Limit argument into a LIMIT value: like SQLite, a negative
// limit means none.
func limit(n int) int64 {
	if n < 0 {
		return math.MaxInt64
	}
	return int64(n)
}

// pgSecrets is sqlstore.SecretBackfill in PostgreSQL's dialect.
type pgSecrets struct{ tx pgx.Tx }

func (b pgSecrets) Missing(ctx context.Context) ([]int64, error) {
	rows, err := b.tx.Query(ctx, `SELECT id FROM endpoints WHERE secret = ''`)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

func (b pgSecrets) Set(ctx context.Context, id int64, secret string) error {
	_, err := b.tx.Exec(ctx, `UPDATE endpoints SET secret = $1 WHERE id = $2 AND secret = ''`, secret, id)
	return err
}
