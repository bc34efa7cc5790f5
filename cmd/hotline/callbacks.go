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

// runCallbacks is `hotline callbacks list | cancel ID | now ID`: the
// supervisor's view of callbacks owed, through a running hotline's HTTP API
// (every action is logged there and in the call-records stream).
func runCallbacks(ctx context.Context, clk clock, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hotline callbacks", flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := fs.String("api", envOr("HOTLINE_API", "http://127.0.0.1:8080"), "a running hotline's HTTP API (HOTLINE_API)")
	token := fs.String("api-token", envOr("HOTLINE_API_TOKEN", ""), "bearer token (HOTLINE_API_TOKEN)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hotline callbacks list [STATUS[,STATUS]|refused] | cancel ID | now ID [--api URL] [--api-token TOKEN]")
		fs.PrintDefaults()
	}
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	if isPlaceholder(*token) {
		return usagef("the API token, HOTLINE_API_TOKEN (or --api-token), still holds the CHANGE_ME placeholder of the example")
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
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(*api, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+*token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("is hotline serving its API at %s? %w", *api, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		fmt.Fprintf(stderr, "hotline callbacks: %s: %s\n", resp.Status, strings.TrimSpace(string(body)))
		return errReported
	}
	var pretty any
	if json.Unmarshal(body, &pretty) == nil {
		out, _ := json.MarshalIndent(pretty, "", "  ")
		body = append(out, '\n')
	}
	_, err = stdout.Write(body)
	return err
}
