package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/prompts"
)

// runConfig is `hotline config SUBCOMMAND`; check is the only one so far.
func runConfig(ctx context.Context, clk clock, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "check" {
		fmt.Fprintln(stderr, "usage: hotline config check FILE [FILE...]")
		if len(args) > 0 && (args[0] == "-h" || args[0] == "-help" || args[0] == "--help") {
			return flag.ErrHelp
		}
		if len(args) == 0 {
			return usagef("missing subcommand (want check)")
		}
		return usagef("unknown subcommand %q (want check)", args[0])
	}
	return runConfigCheck(ctx, clk, args[1:], stdout, stderr)
}

// runConfigCheck loads every file and reports on each: "FILE: ok" and a
// summary on stdout, or every problem on stderr. It checks all files before
// failing so one run shows everything that needs fixing.
func runConfigCheck(_ context.Context, clk clock, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("config check", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hotline config check [--sounds DIR] FILE [FILE...]\n\nChecks hotline configuration files and prints every problem with its line.")
		fs.PrintDefaults()
	}
	sounds := fs.String("sounds", "", "also check that every prompt and number sound has a file in DIR/hotline/<lang>/<name>.wav")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usagef("%v", err)
	}
	if fs.NArg() == 0 {
		fs.Usage()
		return usagef("no files to check")
	}
	failed := 0
	for _, path := range fs.Args() {
		cfg, err := config.Load(path)
		if err != nil {
			failed++
			var errs config.Errors
			if errors.As(err, &errs) {
				for _, e := range errs {
					fmt.Fprintln(stderr, e)
				}
				fmt.Fprintf(stderr, "%s: %d %s\n", path, len(errs), plural(len(errs), "problem", "problems"))
			} else {
				fmt.Fprintf(stderr, "%s: %v\n", path, err)
			}
			continue
		}
		if *sounds != "" {
			// A missing file would silence a live call; report it now.
			texts, err := cfg.Sounds()
			if err != nil {
				failed++
				fmt.Fprintf(stderr, "%s: %v\n", path, err)
				continue
			}
			if missing := prompts.Check(texts, languageCodes(cfg), *sounds); len(missing) > 0 {
				failed++
				for _, m := range missing {
					fmt.Fprintf(stderr, "%s: missing sound %s\n", path, m)
				}
				fmt.Fprintf(stderr, "%s: %d sound files missing in %s (run: hotline prompts --config %s --out %s)\n", path, len(missing), *sounds, path, *sounds)
				continue
			}
		}
		fmt.Fprintf(stdout, "%s: ok\n  %s\n  business hours: %s\n", path, summary(cfg), cfg.Hours.Describe(clk()))
	}
	if failed > 0 {
		return errReported
	}
	return nil
}

// summary is one line saying what the file configures, so that a check
// that passes still shows it read what the author meant.
func summary(c *config.Config) string {
	codes := make([]string, len(c.Languages))
	for i, l := range c.Languages {
		codes[i] = l.Code
	}
	return fmt.Sprintf("centre %s: %d %s (%s), %d %s, %d %s, %d ivr %s, %d %s",
		c.Centre.ID,
		len(c.Languages), plural(len(c.Languages), "language", "languages"), strings.Join(codes, ", "),
		len(c.Topics), plural(len(c.Topics), "topic", "topics"),
		len(c.Operators), plural(len(c.Operators), "operator", "operators"),
		len(c.IVR.Nodes), plural(len(c.IVR.Nodes), "node", "nodes"),
		len(c.Prompts), plural(len(c.Prompts), "prompt", "prompts"))
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
