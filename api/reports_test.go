package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/redistest"
	"github.com/hotline-acd/hotline/records"
	"github.com/hotline-acd/hotline/report"
)

// fakeReports is built from optional funcs; it records what it was asked.
type fakeReports struct {
	query  func(records.Filter) ([]records.Record, string, error)
	report func(report.Request) (report.Report, error)
	loc    *time.Location
}

func (f fakeReports) QueryRecords(_ context.Context, q records.Filter) ([]records.Record, string, error) {
	return f.query(q)
}
func (f fakeReports) Report(_ context.Context, q report.Request) (report.Report, error) {
	return f.report(q)
}
func (f fakeReports) Location() *time.Location { return f.loc }

func get(t *testing.T, url, token string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

func TestRecordsAndReportRoutes(t *testing.T) {
	loc := time.FixedZone("+05", 5*3600)
	var filters []string
	var reqs []string
	fake := fakeReports{loc: loc,
		query: func(f records.Filter) ([]records.Record, string, error) {
			filters = append(filters, fmt.Sprintf("%s|%s|%s|%s|%s|%s|%s|%d", f.From.Format(time.RFC3339), f.To.Format(time.RFC3339),
				f.Topic, f.Agent, f.Outcome, f.Number, f.After, f.Limit))
			return []records.Record{{ID: "5-0", CallID: "c1"}}, "5-0", nil
		},
		report: func(q report.Request) (report.Report, error) {
			reqs = append(reqs, fmt.Sprintf("%s|%s|%s|%s", q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), q.By, q.Topic))
			return report.Compute(q, report.Rules{Location: loc}, nil)
		},
	}
	srv := httptest.NewServer(Handler(Options{Token: "s3cret", Reports: fake}))
	defer srv.Close()
	for _, tc := range []struct {
		name, path, token string
		status            int
		contains          string
	}{
		{"no token", "/api/v1/records", "", 401, "bearer token"},
		{"defaults", "/api/v1/records", "s3cret", 200, `"next":"5-0"`},
		{"every filter", "/api/v1/records?from=2026-12-01T00:00:00%2B05:00&to=2026-12-02&topic=covid&agent=1001&outcome=abandoned&number=%2B77010000000&after=1764529200000-3&limit=1000", "s3cret", 200, `"CallID":"c1"`},
		{"bad from", "/api/v1/records?from=yesterday", "s3cret", 400, "from must be an RFC 3339 time"},
		{"to before from", "/api/v1/records?from=2026-12-02&to=2026-12-01", "s3cret", 400, "from must be before to"},
		{"limit too big", "/api/v1/records?limit=1001", "s3cret", 400, "limit must be 1 to 1000"},
		{"limit zero", "/api/v1/records?limit=0", "s3cret", 400, "limit must be"},
		{"bad cursor", "/api/v1/records?after=xyz", "s3cret", 400, "after must be"},
		{"bad topic", "/api/v1/records?topic=a%20b", "s3cret", 400, "topic is"},
		{"short number", "/api/v1/records?number=12", "s3cret", 400, "number must have"},
		{"report json", "/api/v1/report?from=2026-12-01&to=2026-12-02&by=day", "s3cret", 200, `"time_zone": "+05"`},
		{"report csv by hour", "/api/v1/report?from=2026-12-01T22:00:00Z&to=2026-12-02T00:00:00Z&topic=covid&format=csv", "s3cret", 200,
			"start,topic,offered"},
		{"report needs from", "/api/v1/report?to=2026-12-02", "s3cret", 400, "from and to are required"},
		{"report bad by", "/api/v1/report?from=2026-12-01&to=2026-12-02&by=week", "s3cret", 400, "by must be hour or day"},
		{"report bad format", "/api/v1/report?from=2026-12-01&to=2026-12-02&format=xml", "s3cret", 400, "format must be"},
		{"report too long", "/api/v1/report?from=2026-01-01&to=2026-12-01&by=hour", "s3cret", 400, "at most"},
		{"report no token", "/api/v1/report?from=2026-12-01&to=2026-12-02", "nope", 401, "bearer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body, _ := get(t, srv.URL+tc.path, tc.token)
			if code != tc.status || !strings.Contains(body, tc.contains) {
				t.Fatalf("GET %s = %d %s, want %d containing %q", tc.path, code, body, tc.status, tc.contains)
			}
		})
	}
	wantF := []string{
		"0001-01-01T00:00:00Z|0001-01-01T00:00:00Z||||||100",
		"2026-12-01T00:00:00+05:00|2026-12-02T00:00:00+05:00|covid|1001|abandoned|+77010000000|1764529200000-3|1000",
	}
	if strings.Join(filters, "\n") != strings.Join(wantF, "\n") {
		t.Errorf("filters:\n%s\nwant\n%s", strings.Join(filters, "\n"), strings.Join(wantF, "\n"))
	}
	wantR := []string{
		"2026-12-01T00:00:00+05:00|2026-12-02T00:00:00+05:00|day|",
		"2026-12-01T22:00:00Z|2026-12-02T00:00:00Z|hour|covid",
	}
	if strings.Join(reqs, "\n") != strings.Join(wantR, "\n") {
		t.Errorf("report requests:\n%s\nwant\n%s", strings.Join(reqs, "\n"), strings.Join(wantR, "\n"))
	}
	_, body, h := get(t, srv.URL+"/api/v1/report?from=2026-12-01T22:00:00Z&to=2026-12-02T00:00:00Z&topic=covid&format=csv", "s3cret")
	if h.Get("Content-Type") != "text/csv; charset=utf-8" || strings.Count(body, "\n") != 3 ||
		!strings.Contains(body, "\n2026-12-02T03:00:00+05:00,covid,0,") {
		t.Errorf("csv %q %q", h.Get("Content-Type"), body)
	}
}

// Without Reports, /api/v1/records is still the latest records of the
// Snapshot, and there is no report.
func TestRecordsWithoutReports(t *testing.T) {
	srv := httptest.NewServer(Handler(Options{Token: "t", Snapshot: snap{}}))
	defer srv.Close()
	if code, body, _ := get(t, srv.URL+"/api/v1/records", "t"); code != 200 || body != "[\"latest\"]\n" {
		t.Errorf("records: %d %s", code, body)
	}
	if code, _, _ := get(t, srv.URL+"/api/v1/report?from=2026-12-01&to=2026-12-02", "t"); code != 404 {
		t.Errorf("report without Reports: %d, want 404", code)
	}
}

type snap struct{}

func (snap) Agents(context.Context) (any, error)       { return nil, nil }
func (snap) Queues(context.Context) (any, error)       { return nil, nil }
func (snap) Records(context.Context, int) (any, error) { return []string{"latest"}, nil }

// On a real Redis: records written now are paged through with a number
// filter, and the report over the days around now counts them.
func TestRecordReportsOnRedis(t *testing.T) {
	rdb := redistest.Start(t)
	st := records.New(rdb, redistest.Prefix(t), 0)
	ctx := context.Background()
	now := time.Now() // only ever inside a range of days around it: no hour matters
	for i, r := range []records.Record{
		{CallID: "a1", Topic: "covid", CallerNumber: "+77010000001", Arrival: now, EnqueuedAt: now, AnsweredAt: now.Add(10 * time.Second),
			EndedAt: now.Add(70 * time.Second), Wait: 10 * time.Second, Outcome: "answered", Agent: "1001"},
		{CallID: "a2", Topic: "covid", CallerNumber: "87010000001", Arrival: now, EnqueuedAt: now, EndedAt: now.Add(30 * time.Second),
			Wait: 30 * time.Second, Outcome: "abandoned", Callback: "K1"},
		{CallID: "cb-K1", Callback: "K1", Topic: "covid", Outcome: "callback_scheduled", EndedAt: now},
		{CallID: "a3", Topic: "covid", CallerNumber: "+77010000002", Arrival: now, EnqueuedAt: now, AnsweredAt: now.Add(50 * time.Second),
			EndedAt: now.Add(80 * time.Second), Wait: 50 * time.Second, Outcome: "answered", Agent: "1002"},
	} {
		if _, err := st.Append(ctx, r); err != nil {
			t.Fatal(i, err)
		}
	}
	cfg := &config.Config{Hours: config.Hours{Location: time.UTC}, Callbacks: config.CallbackRules{MinAbandonWait: config.Duration(10 * time.Second)},
		Topics: map[string]*config.Topic{"covid": {ServiceLevel: config.ServiceLevel{Percent: 80, Within: config.Duration(20 * time.Second)}}}}
	srv := httptest.NewServer(Handler(Options{Token: "t", Reports: RecordReports{Stream: st, Config: func() *config.Config { return cfg }}}))
	defer srv.Close()

	var calls []string
	after := ""
	for range 5 {
		code, body, _ := get(t, srv.URL+"/api/v1/records?limit=1&number=%2B7%20701%20000%2000%2001&after="+after, "t")
		var page struct {
			Records []records.Record `json:"records"`
			Next    string           `json:"next"`
		}
		if code != 200 || json.Unmarshal([]byte(body), &page) != nil {
			t.Fatalf("records: %d %s", code, body)
		}
		for _, r := range page.Records {
			calls = append(calls, r.CallID)
		}
		if after = page.Next; after == "" {
			break
		}
	}
	if strings.Join(calls, " ") != "a1 a2" || after != "" {
		t.Fatalf("pages by number: %v (next %q)", calls, after)
	}

	from, to := now.Add(-72*time.Hour).UTC().Format(time.RFC3339), now.Add(24*time.Hour).UTC().Format(time.RFC3339)
	code, body, _ := get(t, srv.URL+"/api/v1/report?by=day&from="+from+"&to="+to, "t")
	var rep report.Report
	if code != 200 || json.Unmarshal([]byte(body), &rep) != nil {
		t.Fatalf("report: %d %s", code, body)
	}
	var offered, answered, within, abandoned, scheduled int
	for _, r := range rep.Rows {
		if r.Topic == report.All {
			offered, answered, within, abandoned, scheduled = offered+r.Offered, answered+r.Answered, within+r.AnsweredWithin,
				abandoned+r.Abandoned, scheduled+r.CallbacksScheduled
		}
	}
	// a1 within 20 s, a3 not, a2 abandoned after 30 s with a callback; the
	// audit entry is no call.
	if offered != 3 || answered != 2 || within != 1 || abandoned != 1 || scheduled != 1 {
		t.Fatalf("report totals offered %d answered %d within %d abandoned %d scheduled %d:\n%s",
			offered, answered, within, abandoned, scheduled, body)
	}
}
