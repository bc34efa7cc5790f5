package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"runtime"
	"time"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/prompts"
)

// runPrompts is `hotline prompts`: speak every prompt of the config, and the
// number phrases the router plays (package spoken), in every language into
// Asterisk's sound layout (<out>/hotline/<lang>/<name>.wav).
func runPrompts(ctx context.Context, clk clock, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hotline prompts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "configs/hotline.yaml", "config whose prompts to render")
	out := fs.String("out", "build/sounds", "sounds directory (Asterisk's astdatadir/sounds)")
	// espeak-ng and sox start once per file, and there are hundreds with
	// the number sounds: the renders run side by side.
	jobs := fs.Int("jobs", 2*runtime.NumCPU(), "how many files to render at once")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments %v", fs.Args())
	}
	cfg, err := config.Load(*path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return errReported
	}
	texts, err := cfg.Sounds()
	if err != nil {
		return err
	}
	start := clk()
	err = prompts.Render(ctx, texts, *out, prompts.Options{
		Jobs: *jobs,
		Logf: func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) },
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d prompts and %d number sounds × %d languages in %s/%s (%s)\n",
		len(cfg.Prompts), len(texts)-len(cfg.Prompts), len(cfg.Languages), *out, prompts.Dir, clk().Sub(start).Round(100*time.Millisecond))
	return nil
}

func languageCodes(cfg *config.Config) []string {
	codes := make([]string, len(cfg.Languages))
	for i, l := range cfg.Languages {
		codes[i] = l.Code
	}
	return codes
}
