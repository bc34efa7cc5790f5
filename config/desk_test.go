package config_test

import (
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/hotline-acd/hotline/config"
)

// The example's desk and directory load with their values; each kind of
// mistake in them is refused with a message that names it.
func TestDeskAndServices(t *testing.T) {
	example, err := os.ReadFile("../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse("../configs/hotline.yaml", example)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := cfg.PauseReason("lunch"); !ok || p.Max.D().Minutes() != 45 {
		t.Errorf("pause reason lunch: %+v %v", p, ok)
	}
	if s, ok := cfg.Service("insurer"); !ok || s.Webhook == "" || len(s.Cases) != 1 || s.Cases[0] != config.CaseComplaint {
		t.Errorf("service insurer: %+v %v", s, ok)
	}
	if cfg.Desk.NumberMask != config.MaskLast4 || len(cfg.Desk.Dispositions) == 0 {
		t.Errorf("desk: %+v", cfg.Desk)
	}
	if len(cfg.Staff) != 1 || cfg.Staff[0].Role != config.RoleSupervisor || cfg.Staff[0].Phone != "PJSIP/1901" {
		t.Errorf("staff: %+v", cfg.Staff)
	}

	for _, tc := range []struct{ from, to, want string }{
		{`number: "+77270002000"`, `number: "+7 727 abc"`, `service "volunteers": number "+7 727 abc": digits only`},
		{`webhook: "http://127.0.0.1:18082/cases"`, `webhook: "ftp://x/cases"`, `service "insurer": webhook "ftp://x/cases" is not an http(s) URL`},
		{`    cases: [complaint]
    webhook: "http://127.0.0.1:18082/cases"`, `    cases: [complaint]`, `service "insurer" takes cases but has no webhook`},
		{`cases: [home_visit]`, `cases: [home_visits]`, `case kind "home_visits": use complaint or home_visit`},
		{`number_mask: last4`, `number_mask: stars`, `number_mask "stars": use last4 or full`},
		{`{id: training}`, `{id: lunch}`, `pause reason "lunch" is listed twice`},
		{`kb_dir: kb `, `kb_dir: no-such-folder `, `kb_dir "no-such-folder": not a folder`},
		{`dispositions: [consulted,`, `dispositions: [Consulted!,`, `disposition "Consulted!": an id is lower-case`},
		{`  - id: volunteers`, `  - id: ambulance`, `service "ambulance" is listed twice`},
		{`phone: PJSIP/1901`, `phone: 1901`, `staff "supervisor": phone "1901" does not look like TECH/resource (e.g. PJSIP/1901`},
		{`phone: PJSIP/1901`, `phone: "PJSIP/1901,PJSIP/1902"`, `staff "supervisor": phone "PJSIP/1901,PJSIP/1902" does not look like TECH/resource`},
		{`phone: PJSIP/1901`, `phone: PJSIP/1002`, `staff "supervisor": phone "PJSIP/1002" is already operator 1002's`},
	} {
		t.Run(tc.want, func(t *testing.T) {
			bad := strings.Replace(string(example), tc.from, tc.to, 1)
			if bad == string(example) {
				t.Fatalf("the example has no %q", tc.from)
			}
			_, err := config.Parse("../configs/hotline.yaml", []byte(bad))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one saying %q", err, tc.want)
			}
		})
	}
}

// A staff member's phone is optional; given, it is an endpoint of the
// API's monitor pattern that no operator and no other staff member has,
// and the error names the line.
func TestStaffPhone(t *testing.T) {
	example, err := os.ReadFile("../configs/hotline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	staff := `staff:
  - id: supervisor
    name: "Гульнара Омарова"
    role: supervisor
    phone: PJSIP/1901
`
	if !strings.Contains(string(example), staff) {
		t.Fatalf("the example's staff section is not\n%s", staff)
	}
	two := strings.Replace(string(example), staff, staff+`  - id: night
    role: supervisor
    phone: PJSIP/1901
  - id: admin
    role: admin
`, 1)
	_, err = config.Parse("x.yaml", []byte(two))
	if err == nil || !strings.Contains(err.Error(), `staff "night": phone "PJSIP/1901" is already staff supervisor's`) {
		t.Fatalf("two supervisors on one phone: %v", err)
	}
	line := strings.Count(two[:strings.LastIndex(two, "phone: PJSIP/1901")], "\n") + 1
	if !strings.Contains(err.Error(), strconv.Itoa(line)+": ") {
		t.Errorf("the error does not name line %d: %v", line, err)
	}
	cfg, err := config.Parse("x.yaml", []byte(strings.Replace(two, "    phone: PJSIP/1901\n  - id: admin", "  - id: admin", 1)))
	if err != nil {
		t.Fatalf("a supervisor without a phone: %v", err)
	}
	if len(cfg.Staff) != 3 || cfg.Staff[1].Phone != "" || cfg.Staff[2].Phone != "" {
		t.Errorf("staff %+v", cfg.Staff)
	}
	for _, ok := range []string{"PJSIP/1901", "SIP/sup.one@site", "IAX/a-b_c"} {
		if !config.MonitorEndpoint.MatchString(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"", "1901", "PJSIP/", "P/1901", "PJSIP/19 01", "PJSIP/1901&x", "Local/1901@ctx/n", "PJSIP/1901,PJSIP/1"} {
		if config.MonitorEndpoint.MatchString(bad) {
			t.Errorf("%q taken for a phone", bad)
		}
	}
}
