package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// runCallbacks is `hotline callbacks list | cancel ID | now ID`: the
// supervisor's view of callbacks owed, through a running hotline's HTTP API
// (every action is logged there and in the call-records stream).
func runCallbacks(ctx context.Context, _ clock, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hotline callbacks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := newAPIClient(fs, 10*time.Second)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hotline callbacks list [STATUS[,STATUS]|refused] | cancel ID | now ID [--api URL] [--api-token TOKEN]")
		fs.PrintDefaults()
	}
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if len(rest) == 0 {
		fs.Usage()
		return usagef("missing action (list, cancel ID, now ID)")
	}
	var method, path string
	switch {
	case rest[0] == "list" && len(rest) <= 2:
		method, path = http.MethodGet, "/api/v1/callbacks"
		if len(rest) == 2 { // e.g. list unreached, list refused
			path += "?status=" + url.QueryEscape(rest[1])
		}
	case (rest[0] == "cancel" || rest[0] == "now") && len(rest) == 2:
		method, path = http.MethodPost, "/api/v1/callbacks/"+url.PathEscape(rest[1])+"/"+rest[0]
	default:
		fs.Usage()
		return usagef("unknown or incomplete action %q", strings.Join(rest, " "))
	}
	if err := api.check(); err != nil {
		return err
	}
	body, err := api.call(ctx, method, path, nil)
	if err != nil {
		return err
	}
	return printJSON(stdout, body)
}
