package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// runStatus is `hotline status [--format table|json]`: the queues and the
// operators of a running hotline, as a supervisor checks them from a
// terminal (GET /api/v1/queues and /api/v1/agents).
func runStatus(ctx context.Context, clk clock, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hotline status", flag.ContinueOnError)
	fs.SetOutput(stderr)
	api := newAPIClient(fs, 10*time.Second)
	format := fs.String("format", "table", "table or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hotline status [--format table|json] [--api URL] [--api-token TOKEN]")
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
	if err := checkFormat(*format); err != nil {
		return err
	}
	if err := api.check(); err != nil {
		return err
	}
	var queues, ops json.RawMessage
	if err := api.getJSON(ctx, "/api/v1/queues", &queues); err != nil {
		return err
	}
	if err := api.getJSON(ctx, "/api/v1/agents", &ops); err != nil {
		return err
	}
	if *format == "json" {
		return writeIndented(stdout, map[string]json.RawMessage{"queues": queues, "operators": ops})
	}
	return writeStatus(stdout, clk(), queues, ops)
}

// writeStatus prints both tables, with the operators counted by state
// between them (what a supervisor reads first: who can take a call).
func writeStatus(w io.Writer, now time.Time, queues, ops json.RawMessage) error {
	var qs []queueRow
	if err := json.Unmarshal(queues, &qs); err != nil {
		return fmt.Errorf("the API's queues are not what this hotline expects: %w", err)
	}
	var as []operatorRow
	if err := json.Unmarshal(ops, &as); err != nil {
		return fmt.Errorf("the API's operators are not what this hotline expects: %w", err)
	}
	if err := writeQueues(w, now, qs); err != nil {
		return err
	}
	if _, err := fmt.Fprintf(w, "\noperators: %s\n", byState(as)); err != nil {
		return err
	}
	return writeOperators(w, now, as)
}

func checkFormat(f string) error {
	if f != "table" && f != "json" {
		return usagef("--format must be table or json, not %q", f)
	}
	return nil
}

func writeIndented(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// queueRow is one topic of GET /api/v1/queues (app's queueView).
type queueRow struct {
	Topic   string `json:"topic"`
	Name    string `json:"name"`
	Waiting int    `json:"waiting"`
	Callers []struct {
		Arrival    time.Time `json:"arrival"`
		EnqueuedAt time.Time `json:"enqueued_at"`
	} `json:"callers"`
}

// oldest is since when the longest-waiting listed caller has waited,
// counted like the oldest-wait gauge: the earlier of the queue time and
// the arrival (a callback's citizen keeps their first queue time).
func (q queueRow) oldest() (time.Time, bool) {
	var oldest time.Time
	for _, c := range q.Callers {
		at := c.EnqueuedAt
		if !c.Arrival.IsZero() && (at.IsZero() || c.Arrival.Before(at)) {
			at = c.Arrival
		}
		if !at.IsZero() && (oldest.IsZero() || at.Before(oldest)) {
			oldest = at
		}
	}
	return oldest, !oldest.IsZero()
}

func writeQueues(w io.Writer, now time.Time, qs []queueRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "TOPIC\tNAME\tWAITING\tLONGEST WAIT")
	for _, q := range qs {
		wait := "-"
		if since, ok := q.oldest(); ok {
			wait = age(now, since)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", q.Topic, dash(q.Name), q.Waiting, wait)
	}
	return tw.Flush()
}

// operatorRow is one operator of GET /api/v1/agents (agents.Agent).
type operatorRow struct {
	ID        string         `json:"id"`
	Name      string         `json:"name"`
	State     string         `json:"state"`
	Reason    string         `json:"reason"`
	Since     time.Time      `json:"since"`
	PauseNext string         `json:"pause_next"`
	Skills    map[string]int `json:"skills"`
	Languages []string       `json:"languages"`
}

// reason is why an operator is paused or offline, or the pause they asked
// for after their call.
func (o operatorRow) reason() string {
	switch {
	case (o.State == "paused" || o.State == "offline") && o.Reason != "":
		return o.Reason
	case o.PauseNext != "":
		return "then pause: " + o.PauseNext
	}
	return "-"
}

func writeOperators(w io.Writer, now time.Time, as []operatorRow) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "OPERATOR\tNAME\tSTATE\tFOR\tREASON\tSKILLS\tLANGUAGES")
	for _, o := range as {
		skills := slices.Sorted(maps.Keys(o.Skills))
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", o.ID, dash(o.Name), o.State, age(now, o.Since),
			o.reason(), dash(strings.Join(skills, ",")), dash(strings.Join(o.Languages, ",")))
	}
	return tw.Flush()
}

// byState counts operators per state in the order of their work:
// "2 ready, 1 on_call, 3 offline".
func byState(as []operatorRow) string {
	order := []string{"ready", "reserved", "on_call", "wrap_up", "paused", "offline"}
	n := map[string]int{}
	for _, o := range as {
		if !slices.Contains(order, o.State) {
			order = append(order, o.State) // a state newer than this CLI
		}
		n[o.State]++
	}
	var parts []string
	for _, st := range order {
		if n[st] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n[st], st))
		}
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}

// age is how long ago since was, to the second: 45s, 3m12s, 1h05m, 2d03h.
// A since ahead of now (this machine's clock behind the server's) is 0s.
func age(now, since time.Time) string {
	if since.IsZero() {
		return "-"
	}
	d := max(now.Sub(since), 0).Truncate(time.Second)
	h, m, s := int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60
	switch {
	case h >= 24:
		return fmt.Sprintf("%dd%02dh", h/24, h%24)
	case h > 0:
		return fmt.Sprintf("%dh%02dm", h, m)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, s)
	}
	return fmt.Sprintf("%ds", s)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
