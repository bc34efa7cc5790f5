package pbxtest

import (
	"net/http"
	"strings"
	"testing"
)

// A newcomer's first start of the project's deploy/asterisk files shows no
// ERROR line, and ARI answers with the configured user.
func TestDeployedConfigBootsClean(t *testing.T) {
	a := Start(t, Options{DeployDir: "../../deploy/asterisk"})
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
	if resp.StatusCode != 200 {
		t.Fatalf("GET /asterisk/info: %d", resp.StatusCode)
	}
	for cmd, want := range map[string]string{
		"pjsip show endpoints":        "carrier",
		"dialplan show from-citizens": "Stasis(hotline,inbound)",
		"module show like resample":   "codec_resample.so",
	} {
		if out := a.MustCLI(t, cmd); !strings.Contains(out, want) {
			t.Errorf("%s: no %q in\n%s", cmd, want, out)
		}
	}
}
