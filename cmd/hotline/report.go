package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/url"
	"time"
)

// runReport is `hotline report --from DAY --to DAY [--by hour|day]
// [--topic T] [--format csv|json]`: the supervisors' report from a running
// hotline's HTTP API, printed as the API gives it. A bare date is midnight
// on the centre's clock (the API reads it in the centre's time zone).
func runReport(ctx context.Context, _ clock, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("hotline report", flag.ContinueOnError)
	fs.SetOutput(stderr)
	// The API gives a report 20 s; the rest is the answer's way here.
	api := newAPIClient(fs, 30*time.Second)
	from := fs.String("from", "", "start: a date (2026-12-01, the centre's midnight) or an RFC 3339 time; required")
	to := fs.String("to", "", "end, excluded: a date or an RFC 3339 time; required")
	by := fs.String("by", "hour", "bucket: hour or day")
	topic := fs.String("topic", "", "one topic (default: each topic and all)")
	format := fs.String("format", "csv", "csv or json")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: hotline report --from 2026-12-01 --to 2026-12-02 [--by hour|day] [--topic T] [--format csv|json] [--api URL] [--api-token TOKEN]")
		fs.PrintDefaults()
	}
	rest, err := parseInterspersed(fs, args)
	if err != nil {
		return err
	}
	switch {
	case len(rest) > 0:
		fs.Usage()
		return usagef("unexpected argument %q", rest[0])
	case *from == "" || *to == "":
		fs.Usage()
		return usagef("--from and --to are required")
	case *by != "hour" && *by != "day":
		return usagef("--by must be hour or day, not %q", *by)
	case *format != "csv" && *format != "json":
		return usagef("--format must be csv or json, not %q", *format)
	}
	if err := api.check(); err != nil {
		return err
	}
	q := url.Values{"from": {*from}, "to": {*to}, "by": {*by}, "format": {*format}}
	if *topic != "" {
		q.Set("topic", *topic)
	}
	return api.copyTo(ctx, "/api/v1/report?"+q.Encode(), stdout)
}
