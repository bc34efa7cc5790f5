package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// `hotline report` asks the API for the report with the token and prints
// it as given; a refusal exits 1 with the API's reason, a bad command line 2.
func TestReportCLI(t *testing.T) {
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Method+" "+r.URL.RequestURI()+" "+r.Header.Get("Authorization"))
		if r.URL.Query().Get("topic") == "nope" {
			http.Error(w, `{"error":"from must be before to"}`, http.StatusBadRequest)
			return
		}
		_, _ = w.Write([]byte("start,topic,offered\n2026-12-01T00:00:00+05:00,*,7\n"))
	}))
	defer srv.Close()
	for _, tc := range []struct {
		args       []string
		code       int
		out, inErr string
	}{
		{[]string{"--from", "2026-12-01", "--to", "2026-12-02", "--by", "hour"}, 0, "2026-12-01T00:00:00+05:00,*,7\n", ""},
		{[]string{"--from", "2026-12-01", "--to", "2026-12-08", "--by", "day", "--topic", "covid", "--format", "json"}, 0, "start,topic", ""},
		{[]string{"--from", "2026-12-01", "--to", "2026-12-02", "--topic", "nope"}, 1, "", "from must be before to"},
		{[]string{"--to", "2026-12-02"}, 2, "", "--from and --to are required"},
		{[]string{"--from", "2026-12-01", "--to", "2026-12-02", "--by", "week"}, 2, "", "--by must be hour or day"},
		{[]string{"--from", "2026-12-01", "--to", "2026-12-02", "--format", "xml"}, 2, "", "--format must be"},
	} {
		var out, errb bytes.Buffer
		args := append([]string{"report", "--api", srv.URL + "/", "--api-token", "tok"}, tc.args...)
		code := run(context.Background(), args, &out, &errb)
		if code != tc.code || !strings.Contains(out.String(), tc.out) || !strings.Contains(errb.String(), tc.inErr) {
			t.Errorf("%v: exit %d, out %q, err %q; want %d, %q, %q", tc.args, code, out.String(), errb.String(), tc.code, tc.out, tc.inErr)
		}
	}
	want := []string{
		"GET /api/v1/report?by=hour&format=csv&from=2026-12-01&to=2026-12-02 Bearer tok",
		"GET /api/v1/report?by=day&format=json&from=2026-12-01&to=2026-12-08&topic=covid Bearer tok",
		"GET /api/v1/report?by=hour&format=csv&from=2026-12-01&to=2026-12-02&topic=nope Bearer tok",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}
