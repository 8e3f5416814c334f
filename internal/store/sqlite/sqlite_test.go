package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"go.uber.org/goleak"

	"github.com/bahasha/bahasha/internal/store"
	"github.com/bahasha/bahasha/internal/store/sqlite"
	"github.com/bahasha/bahasha/internal/store/storetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func open(t *testing.T) (store.Store, func() store.Store) {
	path := filepath.Join(t.TempDir(), "bahasha.db")
	openPath := func() store.Store {
		s, err := sqlite.Open(context.Background(), sqlite.Config{Path: path})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	return openPath(), openPath
}

func TestConformance(t *testing.T) { storetest.Run(t, open) }

// TestReopen: data and migrations survive a close and a reopen.
func TestReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bahasha.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.CreateAccount(ctx, store.CreateAccountParams{APIKeyHash: []byte("h")}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.Open(ctx, sqlite.Config{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.CountAccounts(ctx); n != 1 || err != nil {
		t.Fatalf("after reopen: %d accounts, %v", n, err)
	}
}
