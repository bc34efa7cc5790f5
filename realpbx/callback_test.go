package realpbx

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/internal/pbxtest"
	"github.com/hotline-acd/hotline/records"
)

// fastCallbacks makes the first callback attempt due a second after it is
// owed and counts a wait of 3 s as an abandon worth calling back.
func fastCallbacks(t *testing.T) func(string) string {
	return func(cfg string) string {
		cfg = mustReplace(t, cfg, "min_abandon_wait: 10s", "min_abandon_wait: 3s")
		cfg = mustReplace(t, cfg, "delays: [2m, 10m, 30m, 2h]", "delays: [1s, 10m, 30m, 2h]")
		return cfg
	}
}

// A citizen who waits past min_abandon_wait and hangs up is called back
// through the carrier trunk: the operator is rung first (agent-first), then
// the citizen's number is dialled with the hotline's caller ID, answered by
// the carrier's far end, and bridged; the citizen is never re-INVITEd.
func TestAbandonIsCalledBackThroughTheCarrier(t *testing.T) {
	r := newRig(t, rigOptions{edit: fastCallbacks(t)})
	// Nobody is logged in: the citizen waits and gives up after 5 s.
	steps := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Wait: 5 * time.Second})
	c := r.ast.Call(t, pbxtest.Citizen{Number: "79001234567", Steps: steps, HangUp: true})
	if err := c.Wait(ctxFor(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	rec := r.recordOf("79001234567", 10*time.Second, records.OutcomeAbandoned)
	if rec.Callback == "" || rec.Wait < 3*time.Second {
		t.Fatalf("abandon record %+v: want a callback owed after ≥3 s of waiting", rec)
	}

	carrier := r.ast.Carrier(t, pbxtest.Carrier{Ring: 300 * time.Millisecond, Talk: 3 * time.Second})
	op := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{})
	r.login("1001")
	if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", 1); err != nil {
		t.Fatalf("operator never rang for the callback: %v", err)
	}
	if err := carrier.Wait(ctxFor(t, 40*time.Second)); err != nil {
		t.Fatalf("the carrier's far end: %v", err)
	}
	invite := firstReceived(carrier.Messages(), "INVITE")
	if !strings.Contains(invite, "INVITE sip:+79001234567@") && !strings.Contains(invite, "INVITE sip:79001234567@") {
		t.Errorf("callback dialled another number:\n%s", invite)
	}
	if !regexp.MustCompile(`(?m)^From:.*\+?77170001406`).MatchString(invite) {
		t.Errorf("callback does not present the hotline's number (centre.caller_id):\n%s", invite)
	}
	r.waitFor(10*time.Second, "callback reached", func() bool {
		for _, cb := range r.callbacks("reached") {
			if strings.HasSuffix(cb.Number, "79001234567") {
				return true
			}
		}
		return false
	})
	// The trunk is still usable: no qualify marked it unreachable.
	if out := r.ast.MustCLI(t, "pjsip show endpoint carrier"); strings.Contains(out, "Unreachable") {
		t.Errorf("carrier endpoint unreachable:\n%s", out)
	}
}

// A conversation the citizen ends within drop_window counts as a dropped
// line: the citizen is owed, and gets, a callback through the carrier.
func TestDropDuringTalkIsCalledBack(t *testing.T) {
	r := newRig(t, rigOptions{edit: fastCallbacks(t)})
	op := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{})
	r.login("1001")
	// The topic digit goes at 2.5 s and 1001 answers at once, so the line
	// drops about 2 s into the conversation (drop_window is 5 s).
	steps := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Wait: 2500 * time.Millisecond})
	c := r.ast.Call(t, pbxtest.Citizen{Number: "79001230077", Steps: steps, HangUp: true})
	if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", 1); err != nil {
		t.Fatal(err)
	}
	if err := c.Wait(ctxFor(t, 30*time.Second)); err != nil {
		t.Fatal(err)
	}
	carrier := r.ast.Carrier(t, pbxtest.Carrier{Ring: 200 * time.Millisecond, Talk: 2 * time.Second})
	rec := r.recordOf("79001230077", 15*time.Second, records.OutcomeDropped, records.OutcomeAnswered)
	if rec.Outcome != records.OutcomeDropped || rec.Callback == "" {
		t.Fatalf("record %+v: want dropped with a callback owed", rec)
	}
	if err := carrier.Wait(ctxFor(t, 60*time.Second)); err != nil {
		t.Fatalf("the callback never reached the carrier: %v", err)
	}
	if inv := firstReceived(carrier.Messages(), "INVITE"); !strings.Contains(inv, "79001230077@") {
		t.Errorf("callback dialled:\n%s", inv)
	}
}

// firstReceived returns the first SIP message SIPp received whose request
// line starts with method.
func firstReceived(log, method string) string {
	if msgs := received(log, method); len(msgs) > 0 {
		return msgs[0]
	}
	return ""
}

// received are the SIP requests of method SIPp received, in order.
func received(log, method string) []string {
	var out []string
	for _, blk := range strings.Split(log, "----------------------------------------------- ") {
		if !strings.Contains(blk, "message received") {
			continue
		}
		if i := strings.Index(blk, "\n\n"); i >= 0 && strings.HasPrefix(strings.TrimSpace(blk[i:]), method+" ") {
			out = append(out, strings.TrimSpace(blk[i:]))
		}
	}
	return out
}
