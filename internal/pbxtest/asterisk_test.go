package pbxtest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"
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

// With hotline not connected, a citizen through the carrier reaches the
// dialplan fallback: AstDB keeps their number until an operator of the
// fallback queue answers, and the citizen is never re-INVITEd with the
// operator's identity.
func TestFallbackQueueReachesSoftphone(t *testing.T) {
	a := Start(t, Options{DeployDir: "../../deploy/asterisk"})
	op := a.Softphone(t, "1001", PhoneOptions{})
	c := a.Call(t, Citizen{Number: "79001234567", Steps: []Step{{Audio: true}, {Wait: 3 * time.Second}}, HangUp: true})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := op.WaitEvent(ctx, "CALL_ESTABLISHED", 1); err != nil {
		t.Fatalf("operator never answered: %v\n%s", err, a.FullLog())
	}
	if err := c.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	for _, m := range c.Received() {
		if strings.HasPrefix(m, "INVITE") || strings.HasPrefix(m, "UPDATE") {
			t.Errorf("citizen received %q: a connected-line update", m)
		}
	}
	if out := a.MustCLI(t, "database show hotline_missed"); !strings.Contains(out, "0 results found") {
		t.Errorf("the answered caller is still owed a callback:\n%s", out)
	}
}
