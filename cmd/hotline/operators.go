package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// runOperators is `hotline operators list | pause ID [--reason R] |
// logout ID`: a supervisor's view and control of operators over a running
// hotline's API (which audits each action under the token's name).
func runOperators(ctx context.Context, clk clock, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hotline operators", flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := newAPIClient(fs, 10*time.Second)
	format := fs.String("format", "table", "list: table or json")
	reason := fs.String("reason", "", "pause: why (default: the API's, break)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hotline operators list [--format table|json] | pause ID [--reason R] | logout ID [--api URL] [--api-token TOKEN]")
		fs.PrintDefaults()
	}
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		fs.Usage()
		return usagef("missing action (list, pause ID, logout ID)")
	}
	if err := checkFormat(*format); err != nil {
		return err
	}
	var do func() error
	switch {
	case rest[0] == "list" && len(rest) == 1:
		do = func() error { return listOperators(ctx, api, clk(), *format, stdout) }
	case rest[0] == "pause" && len(rest) == 2:
		do = func() error {
			return operatorAction(ctx, api, rest[1], "pause", map[string]string{"reason": *reason}, stdout)
		}
	case rest[0] == "logout" && len(rest) == 2:
		do = func() error { return operatorAction(ctx, api, rest[1], "logout", nil, stdout) }
	default:
		fs.Usage()
		return usagef("unknown or incomplete action %q", strings.Join(rest, " "))
	}
	if *reason != "" && rest[0] != "pause" {
		return usagef("--reason is for pause only")
	}
	if err := api.check(); err != nil {
		return err
	}
	return do()
}

func listOperators(ctx context.Context, api *apiClient, now time.Time, format string, stdout io.Writer) error {
	var raw json.RawMessage
	if err := api.getJSON(ctx, "/api/v1/agents", &raw); err != nil {
		return err
	}
	if format == "json" {
		return printJSON(stdout, raw)
	}
	var as []operatorRow
	if err := json.Unmarshal(raw, &as); err != nil {
		return fmt.Errorf("the API's operators are not what this hotline expects: %w", err)
	}
	return writeOperators(stdout, now, as)
}

// operatorAction posts action for operator id and says it was done.
func operatorAction(ctx context.Context, api *apiClient, id, action string, body any, stdout io.Writer) error {
	if _, err := api.call(ctx, http.MethodPost, "/api/v1/agents/"+url.PathEscape(id)+"/"+action, body); err != nil {
		return err
	}
	_, err := fmt.Fprintf(stdout, "operator %s: %s done\n", id, action)
	return err
}
