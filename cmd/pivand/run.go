package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"

	"github.com/pivand/pivand/internal/config"
	"github.com/pivand/pivand/internal/crm"
)

// command is one subcommand of pivand.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, env *environment, args []string) error
}

// environment is what a command may touch of the outside world.
type environment struct {
	getenv func(string) string
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

func commands() []command {
	return []command{
		{"serve", "serve the web UI and the REST API (the default)", cmdServe},
		{"migrate", "apply pending database migrations", cmdMigrate},
		{"user", "manage users: user create", cmdUser},
		{"token", "manage API tokens: token create", cmdToken},
		{"backup", "write a consistent copy of the SQLite database", cmdBackup},
		{"import", "import from a CSV file: import contacts, import orders", cmdImport},
		{"export", "export people as CSV or vCard: export contacts", cmdExport},
		{"demo", "add realistic synthetic people and companies", cmdDemo},
		{"analyze", "customer analytics on a file: analyze clv, rfm, cohorts, basket", cmdAnalyze},
		{"analytics", "customer analytics on the database: analytics recompute, analytics status", cmdAnalytics},
		{"version", "print the version", cmdVersion},
	}
}

// run executes one command line and returns the process exit code:
// 0 success, 1 a runtime failure, 2 a usage mistake.
func run(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) int {
	env := &environment{getenv: getenv, stdin: stdin, stdout: stdout, stderr: stderr}
	name := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	} else if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "-help") {
		usage(stdout)
		return 0
	}
	if name == "help" {
		usage(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != name {
			continue
		}
		err := c.run(ctx, env, args)
		switch {
		case err == nil:
			return 0
		case errors.Is(err, flag.ErrHelp):
			return 0
		case config.IsUsage(err):
			fmt.Fprintf(stderr, "pivand %s: %v\n", name, err)
			fmt.Fprintf(stderr, "Run 'pivand %s -h' for usage.\n", name)
			return 2
		default:
			fmt.Fprintf(stderr, "pivand %s: %s\n", name, oneLine(err))
			return 1
		}
	}
	fmt.Fprintf(stderr, "pivand: unknown command %q\n", name)
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "Pivand: a CRM for shops and small companies, in English, فارسی and العربية.")
	fmt.Fprintln(w, "\nUsage: pivand [command] [flags]   (no command: serve)")
	fmt.Fprintln(w, "\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nEvery command answers -h. Environment: PIVAND_ADDR, PIVAND_DATA, PIVAND_DATABASE_URL.")
}

// oneLine renders an error for the terminal: the user-safe message of a
// crm error, or the full chain of anything else, always on one line.
func oneLine(err error) string {
	var ce *crm.Error
	msg := err.Error()
	if errors.As(err, &ce) {
		msg = ce.Message
		if len(ce.Fields) > 0 {
			var parts []string
			for k, v := range ce.Fields {
				parts = append(parts, k+": "+v)
			}
			msg += " (" + strings.Join(parts, "; ") + ")"
		}
	}
	return strings.Join(strings.Fields(msg), " ")
}

// parse parses a command's flags. -h prints usage to stdout and stops.
func parse(fs *flag.FlagSet, env *environment, args []string, usageLine string) error {
	fs.SetOutput(io.Discard)
	fs.Usage = func() {}
	err := fs.Parse(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(env.stdout, "Usage: %s\n\nFlags:\n", usageLine)
		fs.SetOutput(env.stdout)
		fs.PrintDefaults()
		return flag.ErrHelp
	}
	if err != nil {
		return config.Usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return config.Usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func cmdVersion(ctx context.Context, env *environment, args []string) error {
	fs := flag.NewFlagSet("version", flag.ContinueOnError)
	if err := parse(fs, env, args, "pivand version"); err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "pivand %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
