// Package cli is bahasha's command line: it parses each subcommand's flags
// and environment into its config (one table of settings per command: serve's,
// and the client commands' that talk to a platform's API), opens the store,
// has server.Build wire the platform over it, and runs it. Run takes
// its whole environment as arguments, so tests run the real program
// in-process on 127.0.0.1:0 with a temporary data folder.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime/debug"
	"strings"
)

// Version is bahasha's version, set at build time with
// -ldflags "-X github.com/bahasha/bahasha/internal/cli.Version=v1.2.3";
// otherwise taken from the module's build information.
var Version = ""

func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}

// Env looks up an environment variable ("" when unset).
type Env func(key string) string

const usage = `bahasha — the Bahasha webhook platform

Usage:
  bahasha serve [flags]                 run the platform (API, sandbox carrier, delivery)
  bahasha listen --forward-to URL       receive the account's events locally, without a tunnel
  bahasha trigger EVENT [flags]         fire a sandbox event through the platform (--list shows them)
  bahasha accounts create --name NAME   onboard a business; prints its API key
  bahasha numbers add --account ACC …   attach one of Meta's phone numbers to an account
  bahasha migrate [--data DIR | --database URL]   apply the database migrations and exit
  bahasha bench [flags]                 measure delivery end to end on this machine
  bahasha version                       print the version

Run "bahasha <command> -h" for a command's flags.
`

// Run runs bahasha with args (without the program name) and returns the
// process exit code: 0 on success, 1 on failure, 2 for bad usage. Errors are
// one line on stderr.
func Run(ctx context.Context, args []string, env Env, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	var err error
	switch args[0] {
	case "serve":
		err = runServe(ctx, args[1:], env, stdout, stderr)
	case "trigger":
		err = runTrigger(ctx, args[1:], env, stdout, stderr)
	case "listen":
		err = runListen(ctx, args[1:], env, stdout, stderr)
	case "accounts":
		err = runAccounts(ctx, args[1:], env, stdout, stderr)
	case "numbers":
		err = runNumbers(ctx, args[1:], env, stdout, stderr)
	case "migrate":
		err = runMigrate(ctx, args[1:], env, stdout, stderr)
	case "bench":
		err = runBench(ctx, args[1:], env, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "bahasha", version())
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
	default:
		fmt.Fprintf(stderr, "bahasha: unknown command %q; run \"bahasha help\" for the commands\n", args[0])
		return 2
	}
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintln(stderr, "bahasha:", oneLine(err.Error()))
		return 2
	default:
		fmt.Fprintln(stderr, "bahasha:", oneLine(err.Error()))
		return 1
	}
}

// usageError is a mistake in how the command was called.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// newFlags returns a flag set whose errors come back to Run instead of
// exiting, and that prints its flags only when asked (-h).
func newFlags(name string, stderr io.Writer) *flags {
	fs := flag.NewFlagSet("bahasha "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {} // parse prints the flags for -h only
	return &flags{FlagSet: fs, help: stderr}
}

// flags is a flag set that knows where its -h help goes.
type flags struct {
	*flag.FlagSet
	help io.Writer
}

// parse parses args and turns flag errors into one-line usage errors.
func parse(fs *flags, args []string) error {
	if err := fs.Parse(args); err != nil {
		return flagError(fs, err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q; flags start with --", fs.Arg(0))
	}
	return nil
}

// parseArgs parses args for a command that takes arguments besides its
// flags, in any order (bahasha trigger EVENT --from …), and returns the
// arguments.
func parseArgs(fs *flags, args []string) ([]string, error) {
	var rest []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, flagError(fs, err)
		}
		if fs.NArg() == 0 {
			return rest, nil
		}
		if consumed := args[:len(args)-fs.NArg()]; len(consumed) > 0 && consumed[len(consumed)-1] == "--" {
			return append(rest, fs.Args()...), nil // after --, only arguments
		}
		rest, args = append(rest, fs.Arg(0)), fs.Args()[1:]
	}
}

// flagError prints the flags for -h (flag.ErrHelp is returned as is) and
// turns any other flag error into a one-line usage error.
func flagError(fs *flags, err error) error {
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(fs.help, "Usage of %s:\n", fs.Name())
		fs.SetOutput(fs.help)
		fs.PrintDefaults()
		return err
	}
	return usagef("%v; run with -h for the flags", err)
}
