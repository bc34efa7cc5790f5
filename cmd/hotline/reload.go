package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"time"
)

// runReload is `hotline reload`: a running hotline rereads its config
// file, as on SIGHUP, through the admins' API route, so it works where no
// one may signal the process (another host, a container). A refused file
// keeps the running config and is printed problem by problem.
func runReload(ctx context.Context, _ clock, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hotline reload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := newAPIClient(fs, 30*time.Second)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hotline reload [--api URL] [--api-token TOKEN]  (an admin's token)")
		fs.PrintDefaults()
	}
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		fs.Usage()
		return usagef("unexpected argument %q", rest[0])
	}
	if err := api.check(); err != nil {
		return err
	}
	body, err := api.call(ctx, http.MethodPost, "/api/v1/config/reload", nil)
	if err != nil {
		return err
	}
	var answer struct {
		Summary string `json:"summary"`
	}
	if err := json.Unmarshal(body, &answer); err != nil {
		return fmt.Errorf("the API's answer to the reload is not what this hotline expects: %w", err)
	}
	_, err = fmt.Fprintf(stdout, "reloaded: %s\n", answer.Summary)
	return err
}
