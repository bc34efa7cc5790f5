package app_test

import (
	"context"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/app"
	"github.com/hotline-acd/hotline/cases"
	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/pbx/emulator"
)

// An admin's GET /api/v1/cases.csv holds every operator's cases of the
// period (by default today and the 30 days before), where an operator's
// desktop CSV holds only their own; a supervisor gets 403. The export and
// an admin's reload are audited under the admin's id.
func TestAdminExportsEveryCaseAndReloads(t *testing.T) {
	cfg := testConfig(t)
	withStaff(cfg)
	var h *harness
	h = newHarnessTweaked(t, cfg, emulator.Options{}, nil, func(o *app.Options) {
		withDeskSecrets(o)
		o.Reload = func(ctx context.Context) (string, error) { return "same config", h.app.Reload(ctx, cfg) }
	})
	store := cases.New(h.rdb, cfg.Centre.ID, cases.OptionsFrom(func() *config.Config { return cfg }))
	open := func(agent, call string, at time.Time) string {
		c, err := store.Open(context.Background(), cases.Case{Kind: cases.KindComplaint, CallID: call, Agent: agent,
			Organisation: "Поликлиника №3", Category: "rudeness", Text: "=HYPERLINK(\"x\")"}, at)
		if err != nil {
			t.Fatal(err)
		}
		return c.Number
	}
	mine, theirs := open("1001", "c1", h.now()), open("1002", "c2", h.now())
	old := open("1002", "c3", h.now().AddDate(0, 0, -40))

	admin, sup, op := h.browser(), h.browser(), h.browser()
	admin.signIn("adm1", "secret-of-adm1")
	sup.signIn("sup1", "secret-of-sup1")
	op.signIn("1001", "secret-of-1001")
	code, body := admin.get("/api/v1/cases.csv")
	rows, err := csv.NewReader(strings.NewReader(body)).ReadAll()
	if code != 200 || err != nil {
		t.Fatalf("admin's export: %d %v\n%s", code, err, body)
	}
	if strings.Join(rows[0], ",") != strings.Join(cases.CSVHeader, ",") || len(rows) != 3 || rows[1][0] != mine || rows[2][0] != theirs {
		t.Fatalf("admin's export of the last 30 days, want %s and %s:\n%s", mine, theirs, body)
	}
	if rows[1][16] != "'=HYPERLINK(\"x\")" {
		t.Errorf("a formula in a case's text is not defused: %q", rows[1][16])
	}
	from := h.now().AddDate(0, 0, -41).UTC().Format(time.DateOnly) // the tests' centre is on UTC
	if _, body := admin.get("/api/v1/cases.csv?from=" + from); !strings.Contains(body, old) || strings.Count(body, "\nK-") != 3 {
		t.Errorf("export from %s lacks the 40-day-old case %s:\n%s", from, old, body)
	}
	if code, _ := sup.get("/api/v1/cases.csv"); code != 403 {
		t.Errorf("supervisor's export: %d, want 403", code)
	}
	if _, own := op.get("/desk/cases.csv"); !strings.Contains(own, mine) || strings.Contains(own, theirs) {
		t.Errorf("1001's desktop CSV, want only %s:\n%s", mine, own)
	}
	if code, body := h.api("POST", "/api/v1/config/reload", ""); code != 200 || !strings.Contains(body, "same config") {
		t.Fatalf("reload with the token: %d %s", code, body)
	}
	var audits []string
	for _, r := range h.records() {
		if strings.HasPrefix(r.Outcome, "audit_") {
			audits = append(audits, r.Outcome+" "+r.Agent+" "+r.Note)
		}
	}
	got := strings.Join(audits, "\n")
	// Neither target is an operator: no operator's history holds them.
	for _, want := range []string{"audit_cases_export  by admin adm1 2 cases ", "audit_cases_export  by admin adm1 3 cases ",
		"audit_config_reload  by admin api-token same config (config)"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit lacks %q:\n%s", want, got)
		}
	}
	if strings.Count(got, "audit_") != 3 {
		t.Errorf("audit: want the two exports and the reload only (the supervisor's refusal is not one):\n%s", got)
	}
}
