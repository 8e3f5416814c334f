package cli

import (
	"context"
	"io"

	"github.com/bahasha/bahasha/internal/bench"
)

// runBench parses bahasha bench's flags; internal/bench does the rest.
func runBench(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) error {
	cfg := bench.Default()
	cfg.Binary = env("BAHASHA_BENCH_BINARY")
	fs := newFlags("bench", stderr)
	cfg.Flags(fs.FlagSet)
	if err := parse(fs, args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return usageError{err.Error()}
	}
	_, err := bench.Run(ctx, cfg, stdout, stderr)
	return err
}
