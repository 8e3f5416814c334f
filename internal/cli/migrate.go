package cli

import (
	"context"
	"fmt"
	"io"
	"path/filepath"

	"github.com/bahasha/bahasha/internal/store/postgres"
	"github.com/bahasha/bahasha/internal/store/sqlite"
)

// runMigrate applies the migrations a database lacks and exits: serve does
// the same at start, so this is for deploying a schema before the nodes.
func runMigrate(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	fs := newFlags("migrate", stderr)
	data := env("BAHASHA_DATA")
	if data == "" {
		data = "./bahasha-data"
	}
	fs.StringVar(&data, "data", data, "data folder of the SQLite database (env BAHASHA_DATA)")
	database := fs.String("database", env("BAHASHA_DATABASE_URL"), "PostgreSQL URL instead of --data (env BAHASHA_DATABASE_URL)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *database != "" {
		st, err := postgres.Open(ctx, postgres.Config{URL: *database})
		if err != nil {
			return fmt.Errorf("cannot migrate the PostgreSQL database: %w", err)
		}
		st.Close()
		fmt.Fprintln(stdout, "The PostgreSQL database is up to date.")
		return nil
	}
	st, err := sqlite.Open(ctx, sqlite.Config{Path: filepath.Join(data, "bahasha.db")})
	if err != nil {
		return fmt.Errorf("cannot migrate the database in %s: %w", data, err)
	}
	st.Close()
	fmt.Fprintf(stdout, "The database in %s is up to date.\n", data)
	return nil
}
