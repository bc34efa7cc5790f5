package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/report"
)

// Reports reads the call records for supervisors: a filtered page of
// them, or the report over a period.
type Reports interface {
	QueryRecords(ctx context.Context, f records.Filter) ([]records.Record, string, error)
	Report(ctx context.Context, q report.Request) (report.Report, error)
	// Location is the centre's time zone, in which a bare date is read.
	Location() *time.Location
}

// reportTimeout bounds a report: it may read the whole stream.
const reportTimeout = 20 * time.Second

// reportRoutes adds GET /api/v1/records (a page of records) and GET
// /api/v1/report when o.Reports is set, each behind wrap (the bearer
// token).
func reportRoutes(mux *http.ServeMux, o Options, wrap func(http.HandlerFunc) http.HandlerFunc) {
	if o.Reports == nil {
		return
	}
	mux.HandleFunc("GET /api/v1/records", wrap(func(w http.ResponseWriter, r *http.Request) {
		f, err := parseFilter(r.URL.Query(), o.Reports.Location())
		if err != nil {
			writeJSON(w, http.StatusBadRequest, errBody(err.Error()))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
		defer cancel()
		recs, next, err := o.Reports.QueryRecords(ctx, f)
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, records.ErrInvalid) {
				status = http.StatusBadRequest
			}
			writeJSON(w, status, errBody(err.Error()))
			return
		}
		if recs == nil {
			recs = []records.Record{}
		}
		writeJSON(w, http.StatusOK, struct {
			Records []records.Record `json:"records"`
			Next    string           `json:"next"`
		}{recs, next})
	}))
	mux.HandleFunc("GET /api/v1/report", wrap(func(w http.ResponseWriter, r *http.Request) {
		v := r.URL.Query()
		q, format, err := parseReport(v, o.Reports.Location())
		if err != nil {
			writeJSON(w, http.StatusBadRequest, errBody(err.Error()))
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), reportTimeout)
		defer cancel()
		rep, err := o.Reports.Report(ctx, q)
		if err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, report.ErrInvalid) {
				status = http.StatusBadRequest
			}
			writeJSON(w, status, errBody(err.Error()))
			return
		}
		if format == "csv" {
			w.Header().Set("Content-Type", "text/csv; charset=utf-8")
			w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="hotline-report-%s-%s.csv"`,
				q.From.Format("20060102T1504"), q.By))
			w.WriteHeader(http.StatusOK)
			_ = report.WriteCSV(w, rep)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		_ = report.WriteJSON(w, rep)
	}))
}

// parseTime reads an RFC 3339 time, or a date (YYYY-MM-DD: its midnight
// in the centre's time zone); "" is the zero time.
func parseTime(name, s string, loc *time.Location) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%s must be an RFC 3339 time (2026-12-01T00:00:00+05:00) or a date (2026-12-01), not %q", name, s)
}

func parseFilter(v url.Values, loc *time.Location) (records.Filter, error) {
	var f records.Filter
	var err error
	if f.From, err = parseTime("from", v.Get("from"), loc); err != nil {
		return f, err
	}
	if f.To, err = parseTime("to", v.Get("to"), loc); err != nil {
		return f, err
	}
	if !f.From.IsZero() && !f.To.IsZero() && !f.To.After(f.From) {
		return f, errors.New("from must be before to")
	}
	for _, p := range []struct {
		name string
		dst  *string
	}{{"topic", &f.Topic}, {"agent", &f.Agent}, {"outcome", &f.Outcome}} {
		if s := v.Get(p.name); s != "" {
			if !idPattern.MatchString(s) {
				return f, fmt.Errorf("%s is 1-64 letters, digits, '_', '.', '-'", p.name)
			}
			*p.dst = s
		}
	}
	if f.Number = v.Get("number"); f.Number != "" && records.NumberKey(f.Number) == "" {
		return f, errors.New("number must have 5 to 15 digits")
	}
	if f.After = v.Get("after"); f.After != "" && !records.ValidCursor(f.After) {
		return f, errors.New("after must be the next cursor of a previous page")
	}
	f.Limit = records.DefaultLimit
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > records.MaxLimit {
			return f, fmt.Errorf("limit must be 1 to %d", records.MaxLimit)
		}
		f.Limit = n
	}
	return f, nil
}

func parseReport(v url.Values, loc *time.Location) (report.Request, string, error) {
	var q report.Request
	var err error
	if q.From, err = parseTime("from", v.Get("from"), loc); err != nil {
		return q, "", err
	}
	if q.To, err = parseTime("to", v.Get("to"), loc); err != nil {
		return q, "", err
	}
	if q.From.IsZero() || q.To.IsZero() {
		return q, "", errors.New("from and to are required")
	}
	q.By = report.By(v.Get("by"))
	if q.By == "" {
		q.By = report.Hour
	}
	if q.Topic = v.Get("topic"); q.Topic != "" && !idPattern.MatchString(q.Topic) {
		return q, "", errors.New("topic is 1-64 letters, digits, '_', '.', '-'")
	}
	format := v.Get("format")
	switch format {
	case "":
		format = "json"
	case "json", "csv":
	default:
		return q, "", errors.New("format must be csv or json")
	}
	if err := q.Check(); err != nil {
		return q, "", err
	}
	return q, format, nil
}

// RecordReports serves Reports from the record stream and the config in
// force. hotline's app builds one: Options{Reports: api.RecordReports{…}}.
type RecordReports struct {
	Stream *records.Stream
	Config func() *config.Config
	// ReadAhead is how long after To records are still read, for calls
	// that arrived before To and ended after it and for callback attempts
	// that reached an abandoned caller later; default 24h.
	ReadAhead time.Duration
}

var _ Reports = RecordReports{}

// QueryRecords is records.Stream.Query.
func (s RecordReports) QueryRecords(ctx context.Context, f records.Filter) ([]records.Record, string, error) {
	return s.Stream.Query(ctx, f)
}

// Location is the centre's time zone.
func (s RecordReports) Location() *time.Location {
	if l := s.Config().Hours.Location; l != nil {
		return l
	}
	return time.UTC
}

// Report pages through the records written from q.From to q.To plus
// ReadAhead and builds the report (a record is written when its call
// ends, after it arrived).
func (s RecordReports) Report(ctx context.Context, q report.Request) (report.Report, error) {
	b, err := report.NewBuilder(q, report.FromConfig(s.Config()))
	if err != nil {
		return report.Report{}, err
	}
	ahead := s.ReadAhead
	if ahead <= 0 {
		ahead = 24 * time.Hour
	}
	f := records.Filter{From: q.From, To: q.To.Add(ahead), Limit: records.MaxLimit, Topic: q.Topic}
	for {
		recs, next, err := s.Stream.Query(ctx, f)
		if err != nil {
			return report.Report{}, err
		}
		for _, r := range recs {
			b.Add(r)
		}
		if next == "" {
			return b.Report(), nil
		}
		f.After = next
	}
}
