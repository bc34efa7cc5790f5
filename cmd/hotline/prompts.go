package main

import (
	"context"
	"flag"
	"fmt"
	"io"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/prompts"
)

// runPrompts is `hotline prompts`: speak every prompt of the config in
// every language into Asterisk's sound layout (<out>/hotline/<lang>/<name>.wav).
func runPrompts(ctx context.Context, clk clock, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hotline prompts", flag.ContinueOnError)
	fs.SetOutput(stderr)
	path := fs.String("config", "configs/hotline.yaml", "config whose prompts to render")
	out := fs.String("out", "build/sounds", "sounds directory (Asterisk's astdatadir/sounds)")
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
	texts := promptTexts(cfg)
	err = prompts.Render(ctx, texts, *out, prompts.Options{
		Logf: func(format string, args ...any) { fmt.Fprintf(stderr, format+"\n", args...) },
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d prompts × %d languages in %s/%s\n", len(texts), len(cfg.Languages), *out, prompts.Dir)
	return nil
}

func promptTexts(cfg *config.Config) map[string]map[string]string {
	m := make(map[string]map[string]string, len(cfg.Prompts))
	for name, set := range cfg.Prompts {
		m[name] = set
	}
	return m
}

func languageCodes(cfg *config.Config) []string {
	codes := make([]string, len(cfg.Languages))
	for i, l := range cfg.Languages {
		codes[i] = l.Code
	}
	return codes
}
