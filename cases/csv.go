package cases

import (
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"
)

// CSVHeader is the header row of WriteCSV, in its column order (stable:
// add columns at the end only).
var CSVHeader = []string{
	"number", "kind", "status", "opened_at", "forwarded_at", "closed_at", "closed_by",
	"call_id", "agent", "citizen_number", "topic", "language", "service",
	"org_service", "organisation", "category", "text",
	"address", "symptoms", "preferred_time", "attempts", "last_error",
}

// WriteCSV writes cases as CSV with a header row (CSVHeader), times in
// RFC 3339 in loc (nil: UTC). Operators type free text, so a cell that a
// spreadsheet would take for a formula — starting with = + - @, a tab or
// a carriage return — gets a leading apostrophe.
func WriteCSV(w io.Writer, cases []Case, loc *time.Location) error {
	if loc == nil {
		loc = time.UTC
	}
	cw := csv.NewWriter(w)
	if err := cw.Write(CSVHeader); err != nil {
		return fmt.Errorf("cases: csv: %w", err)
	}
	row := make([]string, len(CSVHeader))
	for _, c := range cases {
		cells := []string{
			c.Number, string(c.Kind), string(c.Status), rfc3339(c.OpenedAt, loc), rfc3339(c.ForwardedAt, loc),
			rfc3339(c.ClosedAt, loc), c.ClosedBy, c.CallID, c.Agent, c.CitizenNumber, c.Topic, c.Language,
			c.Service, c.OrgService, c.Organisation, c.Category, c.Text, c.Address, c.Symptoms,
			c.PreferredTime, strconv.Itoa(c.Attempts), c.LastError,
		}
		for i, v := range cells {
			row[i] = defuse(v)
		}
		if err := cw.Write(row); err != nil {
			return fmt.Errorf("cases: csv: case %s: %w", c.Number, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("cases: csv: %w", err)
	}
	return nil
}

// defuse prefixes an apostrophe to a cell a spreadsheet would evaluate
// (OWASP "CSV injection").
func defuse(v string) string {
	if v == "" {
		return v
	}
	switch v[0] {
	case '=', '+', '-', '@', '\t', '\r':
		return "'" + v
	}
	return v
}
