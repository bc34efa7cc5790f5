// Command hotline runs the call-centre service and its tools. main only
// turns the command line and signals into a context and an exit code; each
// subcommand lives in its own file and does its work in other packages.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"
)

// command is one subcommand. It gets the arguments after its name and
// returns nil for exit status 0. Errors it has already printed should wrap
// errReported, so run does not print them again.
type command struct {
	run     func(ctx context.Context, clk clock, args []string, stdout, stderr io.Writer) error
	summary string // one line for `hotline -h`
}

// commands is every subcommand. To add one (serve, demo), write its
// function in its own file and list it here.
var commands = map[string]command{
	"config":      {runConfig, "check configuration files: hotline config check FILE..."},
	"serve":       {runServe, "route calls from Asterisk (ARI) with Redis: hotline serve --config FILE"},
	"demo":        {runDemo, "run everything here with an emulated Asterisk and virtual callers"},
	"callbacks":   {runCallbacks, "list, cancel, bring forward or move callbacks: hotline callbacks list | cancel ID | now ID | move ID --topic T"},
	"reload":      {runReload, "a running hotline rereads its config file, as on SIGHUP (an admin's token): hotline reload"},
	"status":      {runStatus, "queues and operators of a running hotline as tables: hotline status [--format table|json]"},
	"operators":   {runOperators, "list, pause or log out operators: hotline operators list | pause ID [--reason R] | logout ID"},
	"report":      {runReport, "the supervisors' report over a running hotline's API: hotline report --from 2026-12-01 --to 2026-12-02 [--by hour|day]"},
	"hash-secret": {runHashSecret, "hash an operator's sign-in secret read from stdin, for secret_hash in the config"},
	"simulate":    {runSimulate, "a day of a scenario on the real routing code in virtual time: hotline simulate --config FILE --scenario FILE [--find-staff]"},
	"prompts":     {runPrompts, "speak the config's prompts and the number sounds into WAV files: hotline prompts --config FILE --out DIR [--jobs N]"},
}

// clock is the one wall clock of a process: main passes time.Now, tests a
// clock set to the day and hour they need, so no test depends on when it
// runs (business hours, the weekday).
type clock func() time.Time

// errReported means the command has already told the user what went wrong;
// only the exit status is left to set.
var errReported = errors.New("hotline: failed")

// usageError is a mistake in the command line itself; it exits with 2 like
// the flag package's own.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, restore the default handling so that a
		// second Ctrl-C kills a process that is slow to stop.
		<-ctx.Done()
		stop()
	}()
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches args to a subcommand on the real clock.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return runAt(ctx, time.Now, args, stdout, stderr)
}

// runAt dispatches args to a subcommand and returns the exit status.
func runAt(ctx context.Context, clk clock, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("hotline", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { usage(stderr) }
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() == 0 {
		usage(stderr)
		return 2
	}
	name := fs.Arg(0)
	cmd, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "hotline: unknown command %q\n", name)
		usage(stderr)
		return 2
	}
	err := cmd.run(ctx, clk, fs.Args()[1:], stdout, stderr)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, new(usageError)):
		fmt.Fprintf(stderr, "hotline %s: %v\n", name, err)
		return 2
	case errors.Is(err, errReported):
		return 1
	default:
		fmt.Fprintf(stderr, "hotline %s: %v\n", name, err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: hotline COMMAND [ARGS]\n\ncommands:")
	for _, name := range slices.Sorted(maps.Keys(commands)) {
		fmt.Fprintf(w, "  %-11s %s\n", name, commands[name].summary)
	}
}
