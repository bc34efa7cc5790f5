package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/config"
)

// roleServer serves o with a person's role taken from the X-Role header
// (none: no credential) and the machine token "tok"; every audit entry is
// kept in audits.
func roleServer(t *testing.T, o Options, audits *[]string) *httptest.Server {
	t.Helper()
	o.Token = "tok"
	o.Authenticate = func(r *http.Request) (Actor, error) {
		role := r.Header.Get("X-Role")
		if role == "" {
			return Actor{}, ErrUnauthenticated
		}
		return Actor{ID: role + "1", Role: role}, nil
	}
	o.Audit = func(a Actor, action, target, detail string) {
		*audits = append(*audits, fmt.Sprintf("%s %s %s %s", a.ID, action, target, detail))
	}
	srv := httptest.NewServer(Handler(o))
	t.Cleanup(srv.Close)
	return srv
}

// as makes a request as a role ("token" for the machine token).
func as(t *testing.T, role, method, url string) (int, string, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, url, nil)
	switch role {
	case "token":
		req.Header.Set("Authorization", "Bearer tok")
	case "":
	default:
		req.Header.Set("X-Role", role)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp.Header
}

// refusal is the status for a role below admin: 401 without a credential.
func refusal(role string) int {
	if role == "" {
		return http.StatusUnauthorized
	}
	return http.StatusForbidden
}

// POST /api/v1/config/reload: admins only (the token is one); a reload
// answers its summary, a refused config 422 with each problem on its own
// and a failed reload 500; a refusal by role calls no reload. Each reload
// an admin asks for is audited under their id.
func TestConfigReloadRoute(t *testing.T) {
	var result error
	calls := 0
	var audits []string
	srv := roleServer(t, Options{Reload: func(ctx context.Context) (string, error) {
		calls++
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "centre kz: 4 topics", result
	}}, &audits)
	url := srv.URL + "/api/v1/config/reload"
	for _, role := range []string{"", RoleOperator, RoleSupervisor} {
		if code, body, _ := as(t, role, "POST", url); code != refusal(role) {
			t.Errorf("reload as %q: %d %s", role, code, body)
		}
	}
	if calls != 0 || len(audits) != 0 {
		t.Fatalf("refused callers reloaded %d times, audits %v", calls, audits)
	}
	if code, body, _ := as(t, "token", "POST", url); code != 200 || !strings.Contains(body, `"summary":"centre kz: 4 topics"`) {
		t.Fatalf("reload with the token: %d %s", code, body)
	}
	result = ConfigRefused{Err: config.Errors{{File: "h.yaml", Line: 3, Msg: "unknown key bogus"}, {File: "h.yaml", Line: 9, Msg: "topic x has no name"}}}
	code, body, _ := as(t, RoleAdmin, "POST", url)
	var refused struct {
		Error    string
		Problems []string
	}
	if err := json.Unmarshal([]byte(body), &refused); code != 422 || err != nil ||
		strings.Join(refused.Problems, "|") != "h.yaml:3: unknown key bogus|h.yaml:9: topic x has no name" || !strings.Contains(refused.Error, "running config is kept") {
		t.Fatalf("refused config: %d %s", code, body)
	}
	result = ConfigRefused{Err: errors.New("config: open h.yaml: no such file")}
	if code, body, _ := as(t, RoleAdmin, "POST", url); code != 422 || !strings.Contains(body, `"problems":["config: open h.yaml: no such file"]`) {
		t.Fatalf("unreadable config: %d %s", code, body)
	}
	result = errors.New("sync operators: redis down")
	if code, body, _ := as(t, RoleAdmin, "POST", url); code != 500 || !strings.Contains(body, "redis down") {
		t.Fatalf("failed reload: %d %s", code, body)
	}
	want := []string{
		"api-token config_reload config centre kz: 4 topics",
		"admin1 config_reload_refused config 2 problems",
		"admin1 config_reload_refused config 1 problems",
		"admin1 config_reload_failed config ",
	}
	if calls != 4 || strings.Join(audits, "\n") != strings.Join(want, "\n") {
		t.Fatalf("%d reloads, audits:\n%s\nwant:\n%s", calls, strings.Join(audits, "\n"), strings.Join(want, "\n"))
	}
	// Without Reload the route does not exist.
	if code, _, _ := as(t, "token", "POST", roleServer(t, Options{}, &audits).URL+"/api/v1/config/reload"); code != 404 {
		t.Fatalf("no Reload: %d", code)
	}
}

// fakeCases writes one line per export, naming its period.
type fakeCases struct {
	loc   *time.Location
	asked []string
	err   error
}

func (f *fakeCases) WriteCasesCSV(_ context.Context, w io.Writer, from, to time.Time) (int, error) {
	f.asked = append(f.asked, from.Format(time.RFC3339)+" "+to.Format(time.RFC3339))
	if f.err != nil {
		return 0, f.err
	}
	_, _ = io.WriteString(w, "number,kind\nK-1,complaint\nK-2,home_visit\n")
	return 2, nil
}

func (f *fakeCases) Location() *time.Location { return f.loc }

// GET /api/v1/cases.csv: admins only; dates are midnight on the centre's
// clock, by default today and the 30 days before it; bad dates are 400, a
// store failure 503; each export is audited with its period and count.
func TestCasesExportRoute(t *testing.T) {
	loc := time.FixedZone("+05", 5*3600)
	now := time.Date(2026, 12, 2, 22, 30, 0, 0, time.UTC) // 3 December, 03:30 in the centre
	fc := &fakeCases{loc: loc}
	var audits []string
	srv := roleServer(t, Options{Cases: fc, Now: func() time.Time { return now }}, &audits)
	for _, role := range []string{"", RoleOperator, RoleSupervisor} {
		if code, body, _ := as(t, role, "GET", srv.URL+"/api/v1/cases.csv"); code != refusal(role) {
			t.Errorf("export as %q: %d %s", role, code, body)
		}
	}
	code, body, h := as(t, RoleAdmin, "GET", srv.URL+"/api/v1/cases.csv")
	if code != 200 || body != "number,kind\nK-1,complaint\nK-2,home_visit\n" || h.Get("Content-Type") != "text/csv; charset=utf-8" ||
		h.Get("Content-Disposition") != `attachment; filename="hotline-cases-20261103-20261204.csv"` {
		t.Fatalf("default export: %d %q %v", code, body, h)
	}
	for _, tc := range []struct {
		query string
		code  int
	}{
		{"?from=2026-11-01&to=2026-12-01", 200},
		{"?to=2026-12-01", 200},
		{"?from=2026-12-01T10:00:00Z&to=2026-12-01T12:00:00Z", 200},
		{"?from=yesterday", 400},
		{"?from=2026-12-02&to=2026-12-01", 400},
	} {
		if code, body, _ := as(t, "token", "GET", srv.URL+"/api/v1/cases.csv"+tc.query); code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.query, code, body, tc.code)
		}
	}
	fc.err = errors.New("cases: list: redis down")
	if code, body, _ := as(t, "token", "GET", srv.URL+"/api/v1/cases.csv"); code != 503 || !strings.Contains(body, "redis down") {
		t.Fatalf("store failure: %d %s", code, body)
	}
	wantAsked := []string{
		"2026-11-03T00:00:00+05:00 2026-12-04T00:00:00+05:00",
		"2026-11-01T00:00:00+05:00 2026-12-01T00:00:00+05:00",
		"2026-10-31T00:00:00+05:00 2026-12-01T00:00:00+05:00",
		"2026-12-01T10:00:00Z 2026-12-01T12:00:00Z",
		"2026-11-03T00:00:00+05:00 2026-12-04T00:00:00+05:00",
	}
	if strings.Join(fc.asked, "\n") != strings.Join(wantAsked, "\n") {
		t.Fatalf("periods asked:\n%s\nwant:\n%s", strings.Join(fc.asked, "\n"), strings.Join(wantAsked, "\n"))
	}
	wantAudits := []string{
		"admin1 cases_export cases 2 cases 2026-11-03T00:00:00+05:00..2026-12-04T00:00:00+05:00",
		"api-token cases_export cases 2 cases 2026-11-01T00:00:00+05:00..2026-12-01T00:00:00+05:00",
		"api-token cases_export cases 2 cases 2026-10-31T00:00:00+05:00..2026-12-01T00:00:00+05:00",
		"api-token cases_export cases 2 cases 2026-12-01T10:00:00Z..2026-12-01T12:00:00Z",
	}
	if strings.Join(audits, "\n") != strings.Join(wantAudits, "\n") {
		t.Fatalf("audits:\n%s\nwant:\n%s", strings.Join(audits, "\n"), strings.Join(wantAudits, "\n"))
	}
}
