package pbxtest

import (
	"context"
	"strings"
	"testing"
	"time"
)

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
