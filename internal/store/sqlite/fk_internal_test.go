package sqlite

import (
	"context"
	"path/filepath"
	"testing"
)

// TestForeignKeysEnforced: every connection, writer and readers, enforces
// the foreign keys.
func TestForeignKeysEnforced(t *testing.T) {
	s, err := Open(context.Background(), Config{Path: filepath.Join(t.TempDir(), "fk.db")})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var on int
	if err := s.wdb.QueryRow(`PRAGMA foreign_keys`).Scan(&on); err != nil || on != 1 {
		t.Fatalf("writer: PRAGMA foreign_keys = %d, %v; want 1", on, err)
	}
	if err := s.rdb.QueryRow(`PRAGMA foreign_keys`).Scan(&on); err != nil || on != 1 {
		t.Fatalf("reader: PRAGMA foreign_keys = %d, %v; want 1", on, err)
	}
}
