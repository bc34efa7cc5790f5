package config_test

import (
	"os"
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
