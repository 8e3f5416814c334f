// Package sqlite is the embedded Store: one SQLite file in the data folder,
// written in WAL mode with synchronous=FULL, so that a transaction that
// returned is on disk. It uses a pure-Go SQLite (no cgo).
//
// All writes go through one connection and one goroutine that group-commits
// them: writes that arrive while a transaction is being committed share the
// next transaction and its single fsync, each inside its own savepoint so
// that one failing write never undoes another. Reads use a separate pool.
// Several processes may open the same file (bahasha accounts create while
// bahasha serve runs); SQLite's locking and a busy timeout serialise them.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Config configures a Store.
type Config struct {
	// Path is the database file; its folder is created if needed.
	Path string
	// MaxBatch caps how many writes share one transaction. Default 256.
	MaxBatch int
	// BusyTimeout is how long a write waits for another process's lock.
	// Default 10s.
	BusyTimeout time.Duration
}

// Store is the SQLite implementation of store.Store.
type Store struct {
	cfg  Config
	wdb  *sql.DB // one connection: every write
	rdb  *sql.DB // the read pool
	ops  chan writeOp
	mu   sync.RWMutex // guards closed and sends on ops
	done chan struct{}

	closed bool
	// stmts is the writer's statement cache; only the writer goroutine
	// touches it.
	stmts map[string]*sql.Stmt
	// claimDue and claimRanks are the read pool's prepared statements of
	// a claim.
	claimDue, claimRanks *sql.Stmt
}

var _ store.Store = (*Store)(nil)

// wtx is a write transaction whose statements are prepared once on the
// writer connection and reused: preparing dominated small writes.
type wtx struct {
	*sql.Tx
	s *Store
}

// maxCachedStatements bounds the statement cache (multi-row statements
// differ by their number of rows).
const maxCachedStatements = 512

func (tx *wtx) stmt(ctx context.Context, query string) *sql.Stmt {
	st, ok := tx.s.stmts[query]
	if !ok {
		if len(tx.s.stmts) >= maxCachedStatements {
			return nil
		}
		var err error
		if st, err = tx.s.wdb.PrepareContext(ctx, query); err != nil {
			return nil // let the uncached path report the error
		}
		tx.s.stmts[query] = st
	}
	return tx.Tx.StmtContext(ctx, st)
}

// ExecContext runs query with a cached prepared statement.
func (tx *wtx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if st := tx.stmt(ctx, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return tx.Tx.ExecContext(ctx, query, args...)
}

// QueryContext runs query with a cached prepared statement.
func (tx *wtx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return tx.Tx.QueryContext(ctx, query, args...)
}

// QueryRowContext runs query with a cached prepared statement.
func (tx *wtx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if st := tx.stmt(ctx, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return tx.Tx.QueryRowContext(ctx, query, args...)
}

type writeOp struct {
	ctx  context.Context
	fn   func(tx *wtx) error
	done chan error
}

// Open opens (creating if needed) the database at cfg.Path and applies the
// migrations it lacks.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	if cfg.Path == "" {
		return nil, errors.New("sqlite: no database path")
	}
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 256
	}
	if cfg.BusyTimeout <= 0 {
		cfg.BusyTimeout = 10 * time.Second
	}
	if err := os.MkdirAll(filepath.Dir(cfg.Path), 0o700); err != nil {
		return nil, fmt.Errorf("sqlite: create the data folder: %w", err)
	}
	// Every connection enforces the schema's foreign keys, as PostgreSQL
	// does (SQLite's default is not to).
	dsn := "file:" + cfg.Path + "?_pragma=busy_timeout(" + strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10) + ")" +
		"&_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=synchronous(FULL)&_pragma=temp_store(MEMORY)&_txlock=immediate"
	wdb, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", cfg.Path, err)
	}
	// Writes are serialised by the writer goroutine, one transaction at a
	// time. The second connection lets the statement cache prepare a new
	// statement while that transaction holds the first.
	wdb.SetMaxOpenConns(2)
	wdb.SetMaxIdleConns(2)
	wdb.SetConnMaxLifetime(0)
	rdb, err := sql.Open("sqlite", "file:"+cfg.Path+"?_pragma=busy_timeout("+strconv.FormatInt(cfg.BusyTimeout.Milliseconds(), 10)+")&_pragma=foreign_keys(1)&_pragma=query_only(1)")
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", cfg.Path, err)
	}
	readers := max(4, runtime.GOMAXPROCS(0)*2)
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	s := &Store{cfg: cfg, wdb: wdb, rdb: rdb, ops: make(chan writeOp, cfg.MaxBatch), done: make(chan struct{}),
		stmts: map[string]*sql.Stmt{}}
	if err := s.migrate(ctx); err != nil {
		wdb.Close()
		rdb.Close()
		return nil, err
	}
	if s.claimDue, err = rdb.PrepareContext(ctx, claimDueQuery); err == nil {
		s.claimRanks, err = rdb.PrepareContext(ctx, claimRanksQuery)
	}
	if err != nil {
		wdb.Close()
		rdb.Close()
		return nil, fmt.Errorf("sqlite: prepare the claim's queries: %w", err)
	}
	go s.writer()
	return s, nil
}

// migrate applies the embedded migrations the database lacks, in one
// immediate transaction, so that processes starting together apply each
// once.
func (s *Store) migrate(ctx context.Context) error {
	migs, err := sqlstore.Migrations(migrations)
	if err != nil {
		return fmt.Errorf("sqlite: %w", err)
	}
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", s.cfg.Path, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", s.cfg.Path, err)
	}
	for _, m := range migs {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil {
			return fmt.Errorf("sqlite: migrate: %w", err)
		}
		if n > 0 {
			continue
		}
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
		if m.Version == foreignKeysVersion {
			if err := checkForeignKeys(ctx, tx, s.cfg.Path); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, m.Version, time.Now().UnixMilli()); err != nil {
			return fmt.Errorf("sqlite: migration %s: %w", m.Name, err)
		}
	}
	if err := sqlstore.BackfillSecrets(ctx, sqliteSecrets{tx}); err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", s.cfg.Path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate %s: %w", s.cfg.Path, err)
	}
	return nil
}

// sqliteSecrets is sqlstore.SecretBackfill in SQLite's dialect.
type sqliteSecrets struct{ tx *sql.Tx }

func (b sqliteSecrets) Missing(ctx context.Context) ([]int64, error) {
	rows, err := b.tx.QueryContext(ctx, `SELECT id FROM endpoints WHERE secret = ''`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func (b sqliteSecrets) Set(ctx context.Context, id int64, secret string) error {
	_, err := b.tx.ExecContext(ctx, `UPDATE endpoints SET secret = ? WHERE id = ? AND secret = ''`, secret, id)
	return err
}

// write runs fn in a write transaction shared with concurrent writes, and
// returns once that transaction committed (nil) or fn's or the commit's
// error. fn must not keep tx.
func (s *Store) write(ctx context.Context, fn func(tx *wtx) error) error {
	op := writeOp{ctx: ctx, fn: fn, done: make(chan error, 1)}
	s.mu.RLock()
	if s.closed {
		s.mu.RUnlock()
		return store.ErrClosed
	}
	select {
	case s.ops <- op:
	case <-ctx.Done():
		s.mu.RUnlock()
		return ctx.Err()
	}
	s.mu.RUnlock()
	// Once queued, the write is answered: wait for it even if ctx ends, so
	// that the caller never mistakes a committed write for a failed one.
	return <-op.done
}

func (s *Store) writer() {
	defer close(s.done)
	batch := make([]writeOp, 0, s.cfg.MaxBatch)
	for op := range s.ops {
		batch = append(batch[:0], op)
	gather:
		for len(batch) < s.cfg.MaxBatch {
			select {
			case more, ok := <-s.ops:
				if !ok {
					break gather
				}
				batch = append(batch, more)
			default:
				break gather
			}
		}
		s.commit(batch)
	}
}

func (s *Store) commit(batch []writeOp) {
	errs := make([]error, len(batch))
	defer func() {
		for i, op := range batch {
			op.done <- errs[i]
		}
	}()
	sqlTx, err := s.wdb.Begin()
	if err != nil {
		for i := range errs {
			errs[i] = translate(err)
		}
		return
	}
	tx := &wtx{Tx: sqlTx, s: s}
	shared := len(batch) > 1
	ok := 0
	for i, op := range batch {
		if op.ctx.Err() != nil {
			errs[i] = op.ctx.Err()
			continue
		}
		if shared {
			if _, err := tx.Exec("SAVEPOINT w"); err != nil {
				errs[i] = translate(err)
				continue
			}
		}
		errs[i] = runOp(op.fn, tx)
		if shared {
			if errs[i] != nil {
				if _, err := tx.Exec("ROLLBACK TO w"); err != nil {
					errs[i] = errors.Join(errs[i], err)
				}
			}
			tx.Exec("RELEASE w")
		}
		if errs[i] == nil {
			ok++
		}
	}
	if ok == 0 {
		tx.Rollback()
		return
	}
	if err := tx.Commit(); err != nil {
		for i := range errs {
			if errs[i] == nil {
				errs[i] = fmt.Errorf("sqlite: commit: %w", translate(err))
			}
		}
	}
}

func runOp(fn func(*wtx) error, tx *wtx) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("sqlite: write panicked: %v", p)
		}
	}()
	return translate(fn(tx))
}

// translate maps driver errors to the store's sentinels.
func translate(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return store.ErrNotFound
	}
	if err.Error() == "sql: database is closed" { // database/sql has no sentinel for it
		return fmt.Errorf("%w: %v", store.ErrClosed, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %v", store.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY: // the row referred to does not exist
			return fmt.Errorf("%w: %v", store.ErrNotFound, err)
		}
	}
	return err
}

// Ping implements store.Store.
func (s *Store) Ping(ctx context.Context) error {
	if s.isClosed() {
		return store.ErrClosed
	}
	var one int
	return s.rdb.QueryRowContext(ctx, "SELECT 1 FROM schema_migrations LIMIT 1").Scan(&one)
}

func (s *Store) isClosed() bool {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.closed
}

// Close implements store.Store: it waits for queued writes, then closes the
// database.
func (s *Store) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.ops)
	s.mu.Unlock()
	<-s.done
	for _, st := range s.stmts {
		st.Close()
	}
	s.claimDue.Close()
	s.claimRanks.Close()
	return errors.Join(s.wdb.Close(), s.rdb.Close())
}
