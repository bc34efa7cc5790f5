package realpbx

import (
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/internal/pbxtest"
)

// While hotline is down, a citizen reaches the dialplan fallback, which
// keeps their number in AstDB (nobody is there to answer the fallback
// queue). When hotline is back it reads AstDB through [hotline-dbsync] —
// with no dangerous function over ARI, which a stock Asterisk refuses —
// and calls the citizen back through the carrier.
func TestOutageFallbackAstDBCallbackAfterRestart(t *testing.T) {
	r := newRig(t, rigOptions{edit: fastCallbacks(t)})
	r.stop()
	r.waitFor(10*time.Second, "hotline's application gone", func() bool {
		st, _ := r.ari("GET", "/applications/hotline", nil)
		return st == http.StatusNotFound
	})
	c := r.ast.Call(t, pbxtest.Citizen{Number: "79001239999", Steps: []pbxtest.Step{{Wait: 500 * time.Millisecond}}, MaxWait: 30 * time.Second})
	if err := c.Wait(ctxFor(t, 40*time.Second)); err != nil {
		t.Fatalf("citizen in the fallback: %v", err)
	}
	if out := r.ast.MustCLI(t, "database show hotline_missed"); !strings.Contains(out, "79001239999|") {
		t.Fatalf("the fallback did not keep the caller in AstDB:\n%s", out)
	}

	carrier := r.ast.Carrier(t, pbxtest.Carrier{Ring: 200 * time.Millisecond, Talk: 2 * time.Second})
	op := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{})
	r.start()
	r.waitFor(15*time.Second, "AstDB read back and emptied", func() bool {
		return strings.Contains(r.ast.MustCLI(t, "database show hotline_missed"), "0 results found")
	})
	if strings.Contains(r.ast.Log(), "Dangerous function") {
		t.Errorf("Asterisk refused a dangerous function:\n%s", grep(r.ast.Log(), "Dangerous"))
	}
	var cb callback
	r.waitFor(10*time.Second, "an outage callback owed", func() bool {
		for _, x := range r.callbacks("") {
			if strings.HasSuffix(x.Number, "79001239999") && slices.Contains(x.Reasons, "outage") {
				cb = x
				return true
			}
		}
		return false
	})
	// general: 1001 takes it.
	r.login("1001")
	if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", 1); err != nil {
		t.Fatalf("operator never rang for the outage callback %s: %v", cb.ID, err)
	}
	if err := carrier.Wait(ctxFor(t, 40*time.Second)); err != nil {
		t.Fatalf("the callback never reached the carrier: %v", err)
	}
	if inv := firstReceived(carrier.Messages(), "INVITE"); !strings.Contains(inv, "79001239999@") {
		t.Errorf("callback dialled:\n%s", inv)
	}
}
