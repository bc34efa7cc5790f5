package asteriskconf

import (
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/hotline-acd/hotline/internal/pbxtest"
)

// TestRealAsterisk boots a real Asterisk on these files (internal/pbxtest:
// only ports, passwords and the carrier's address substituted) and checks
// the loaded state over `asterisk -rx`: a newcomer's first start shows no
// ERROR line, and everything the static checks above reason about is what
// Asterisk itself loaded. It skips, saying how to install one, when no
// Asterisk is installed; CI installs the bundle and requires it.
func TestRealAsterisk(t *testing.T) {
	a := pbxtest.Start(t, pbxtest.Options{DeployDir: "../../deploy/asterisk"})
	if errs := a.Errors(); len(errs) > 0 {
		t.Errorf("first start logged %d ERROR lines:\n%s", len(errs), strings.Join(errs, "\n"))
	}
	req, _ := http.NewRequest("GET", a.ARIURL()+"/asterisk/info", nil)
	req.SetBasicAuth(a.ARIUser, a.ARIPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /asterisk/info as the ari.conf user: %d", resp.StatusCode)
	}
	expect := func(cmd string, res ...string) {
		t.Helper()
		got := a.MustCLI(t, cmd)
		for _, r := range res {
			if !regexp.MustCompile(r).MatchString(got) {
				t.Errorf("asterisk -rx %q: no match for %s in:\n%s", cmd, r, got)
			}
		}
	}
	expect("dialplan show 122@from-citizens", `StasisBroadcast\(1000,\^hotline,inbound\)`, `STASISSTATUS`)
	expect("dialplan show 8000000122@from-citizens", `Goto\(122,1\)`)
	expect("dialplan show from-operators", `\*11`, `StasisBroadcast\(1000,\^hotline,agent-login\)`, `StasisBroadcast\(1000,\^hotline,agent-logout\)`,
		`StasisBroadcast\(1000,\^hotline,agent-pause\)`, `StasisBroadcast\(1000,\^hotline,agent-ready\)`)
	expect("dialplan show hotline-fallback", `Queue\(hotline-fallback`, `DB\(hotline_missed/`)
	expect("dialplan show hotline-dbsync", `Stasis\(\$\{HOTLINE_APP\},db-sync\)`)
	expect("pjsip show endpoints", `1001`, `1010`, `carrier`)
	expect("pjsip show endpoint carrier", `send_connected_line\s*:\s*no\b`)
	expect("pjsip show aor carrier", `qualify_frequency\s*:\s*0`)
	expect("pjsip show identifies", `carrier`)
	expect("pjsip show transports", `transport-udp`, `transport-tcp`)
	expect("queue show hotline-fallback", `PJSIP/1001`, `PJSIP/1010`)
	expect("http show status", `127\.0\.0\.1`, `/ari/`)
	expect("ari show users", `hotline`)
	expect("moh show classes", `default`)
	for _, m := range []string{"res_ari.so", "app_stasis.so", "chan_pjsip.so", "app_queue.so", "res_http_websocket.so",
		"func_db.so", "codec_resample.so"} {
		expect("module show like "+m, regexp.QuoteMeta(m))
	}
}
