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

// runCallbacks is `hotline callbacks list | cancel ID | now ID | move ID
// --topic T`: the supervisor's view of callbacks owed, through a running
// hotline's HTTP API (every action is logged there and in the call-records
// stream).
func runCallbacks(ctx context.Context, _ clock, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hotline callbacks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := newAPIClient(fs, 10*time.Second)
	topic := fs.String("topic", "", "move: the topic the callback moves to")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hotline callbacks list [STATUS[,STATUS]|refused] | cancel ID | now ID | move ID --topic T [--api URL] [--api-token TOKEN]")
		fs.PrintDefaults()
	}
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	method, path, body, err := callbackRequest(rest, *topic)
	if err != nil {
		fs.Usage()
		return err
	}
	if err := api.check(); err != nil {
		return err
	}
	answer, err := api.call(ctx, method, path, body)
	if err != nil {
		return err
	}
	return printJSON(stdout, answer)
}

// callbackRequest is the API request of a callbacks action.
func callbackRequest(rest []string, topic string) (method, path string, body any, err error) {
	if len(rest) == 0 {
		return "", "", nil, usagef("missing action (list, cancel ID, now ID, move ID --topic T)")
	}
	if (topic != "") != (rest[0] == "move") {
		return "", "", nil, usagef("move needs --topic, and only move takes it")
	}
	switch {
	case rest[0] == "list" && len(rest) <= 2:
		path = "/api/v1/callbacks"
		if len(rest) == 2 { // e.g. list unreached, list refused
			path += "?status=" + url.QueryEscape(rest[1])
		}
		return http.MethodGet, path, nil, nil
	case (rest[0] == "cancel" || rest[0] == "now") && len(rest) == 2:
		return http.MethodPost, "/api/v1/callbacks/" + url.PathEscape(rest[1]) + "/" + rest[0], nil, nil
	case rest[0] == "move" && len(rest) == 2:
		return http.MethodPost, "/api/v1/callbacks/" + url.PathEscape(rest[1]) + "/move", map[string]string{"topic": topic}, nil
	}
	return "", "", nil, usagef("unknown or incomplete action %q", strings.Join(rest, " "))
}
