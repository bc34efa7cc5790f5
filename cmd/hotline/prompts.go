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
	"github.com/hotline-acd/hotline/internal/spoken"
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
	texts, err := promptTexts(cfg)
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

// promptTexts is every sound hotline plays, name -> language -> text: the
// config's prompts and, in each of its languages, the number phrases the
// router says instead of Asterisk's number: media.
func promptTexts(cfg *config.Config) (map[string]map[string]string, error) {
	m := make(map[string]map[string]string, len(cfg.Prompts))
	for name, set := range cfg.Prompts {
		m[name] = set
	}
	for _, l := range cfg.Languages {
		sounds, err := spoken.Sounds(l.Code)
		if err != nil {
			return nil, fmt.Errorf("prompts: %w", err)
		}
		for name, text := range sounds {
			// Load rejects a prompt named like a number sound; this keeps
			// a config built in code from overwriting one silently.
			if _, taken := cfg.Prompts[name]; taken {
				return nil, fmt.Errorf("prompts: prompt %q has the name of a number sound", name)
			}
			if m[name] == nil {
				m[name] = map[string]string{}
			}
			m[name][l.Code] = text
		}
	}
	return m, nil
}

func languageCodes(cfg *config.Config) []string {
	codes := make([]string, len(cfg.Languages))
	for i, l := range cfg.Languages {
		codes[i] = l.Code
	}
	return codes
}
