package realpbx

import (
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/internal/pbxtest"
	"github.com/hotline-acd/hotline/records"
)

// hotline is killed with SIGKILL while one conversation is up and two
// callers wait; the restarted hotline adopts them from Asterisk and Redis:
// the conversation goes on and ends as answered (not dropped: the restart
// is not its start), and the two waiting callers are served in their order
// by the same operator. Each caller has exactly one record.
func TestKill9WithCallersQueuedAndConversationUp(t *testing.T) {
	r := newRig(t, rigOptions{edit: func(cfg string) string {
		return mustReplace(t, cfg, "    name: \"Тестирование: ПЦР и результаты\"\n",
			"    name: \"Тестирование: ПЦР и результаты\"\n    wrap_up: 1s\n")
	}})
	op := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{})
	r.login("1001")
	talk := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Audio: true}, pbxtest.Step{Wait: 15 * time.Second})
	a := r.ast.Call(t, pbxtest.Citizen{Number: "79001230001", Steps: talk, HangUp: true})
	if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", 1); err != nil {
		t.Fatal(err)
	}
	wait := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Wait: 90 * time.Second})
	b := r.ast.Call(t, pbxtest.Citizen{Number: "79001230002", Steps: wait, MaxWait: 90 * time.Second})
	r.waitFor(15*time.Second, "B queued", func() bool { return r.queued("testing") == 1 })
	c := r.ast.Call(t, pbxtest.Citizen{Number: "79001230003", Steps: wait, MaxWait: 90 * time.Second})
	r.waitFor(15*time.Second, "C queued", func() bool { return r.queued("testing") == 2 })

	r.kill9()
	r.start()

	// The conversation survives the restart and ends when A hangs up.
	if err := a.Wait(ctxFor(t, 40*time.Second)); err != nil {
		t.Fatalf("A's call: %v", err)
	}
	if rec := r.recordOf("79001230001", 10*time.Second, records.OutcomeAnswered, records.OutcomeDropped, records.OutcomeLost); rec.Outcome != records.OutcomeAnswered || rec.Agent != "1001" {
		t.Fatalf("A's record %+v: want answered by 1001", rec)
	}
	// B, then C, each served by 1001 and ended by the operator.
	answerEach(t, op, 2, "after the restart", b, c)
	recB := r.recordOf("79001230002", 10*time.Second, records.OutcomeAnswered)
	recC := r.recordOf("79001230003", 10*time.Second, records.OutcomeAnswered)
	if !recB.AnsweredAt.Before(recC.AnsweredAt) {
		t.Errorf("C (queued later) was answered before B: %v vs %v", recC.AnsweredAt, recB.AnsweredAt)
	}
	// Exactly one record per caller.
	for _, n := range []string{"79001230001", "79001230002", "79001230003"} {
		if count := r.recordsOf(n); count != 1 {
			t.Errorf("%s has %d records, want exactly 1", n, count)
		}
	}
	r.waitFor(10*time.Second, "1001 ready again", func() bool { return r.agentState("1001") == "ready" })
}

// hotline is killed with SIGKILL while an operator's phone rings for one
// caller and another is still in the menu. The restarted hotline gives the
// ringing offer back at once (not after its 30 s lease), so the same
// caller rings again straight away, and the caller in the menu hears it
// again and is served after choosing. One record each.
func TestKill9WithOfferRingingAndCallerInMenu(t *testing.T) {
	r := newRig(t, rigOptions{})
	op := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{Manual: true})
	r.login("1001")
	wait := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Wait: 90 * time.Second})
	a := r.ast.Call(t, pbxtest.Citizen{Number: "79001250001", Steps: wait, MaxWait: 90 * time.Second})
	if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_INCOMING", 1); err != nil {
		t.Fatal(err)
	}
	// B stays silent in the menu past the restart, then chooses.
	menu := append([]pbxtest.Step{{Wait: 8 * time.Second}}, append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Wait: 90 * time.Second})...)
	b := r.ast.Call(t, pbxtest.Citizen{Number: "79001250002", Steps: menu, MaxWait: 90 * time.Second})
	r.waitFor(10*time.Second, "B answered by Asterisk", func() bool {
		return strings.Count(r.ast.MustCLI(t, "core show channels concise"), "PJSIP/carrier") >= 2
	})

	r.kill9()
	restarted := time.Now()
	r.start()

	if _, err := op.WaitEvent(ctxFor(t, 10*time.Second), "CALL_INCOMING", 2); err != nil {
		t.Fatalf("A was not offered again within 10 s of the restart (the lease is 30 s): %v", err)
	}
	t.Logf("A rang again %v after the restart", time.Since(restarted).Round(time.Millisecond))
	for i, who := range []*pbxtest.SIPpRun{a, b} {
		if i > 0 {
			if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_INCOMING", 3); err != nil {
				t.Fatalf("B was never offered: %v", err)
			}
		}
		if err := op.Command("accept", ""); err != nil {
			t.Fatal(err)
		}
		if _, err := op.WaitEvent(ctxFor(t, 10*time.Second), "CALL_ESTABLISHED", i+1); err != nil {
			t.Fatalf("caller %d: %v", i+1, err)
		}
		op.Hangup(t)
		if err := who.Wait(ctxFor(t, 15*time.Second)); err != nil {
			t.Fatalf("caller %d: %v", i+1, err)
		}
	}
	for _, n := range []string{"79001250001", "79001250002"} {
		rec := r.recordOf(n, 10*time.Second, records.OutcomeAnswered)
		if rec.Agent != "1001" || rec.IVRPath == "" {
			t.Errorf("%s: record %+v, want answered by 1001 with the menu path", n, rec)
		}
		if count := r.recordsOf(n); count != 1 {
			t.Errorf("%s has %d records, want exactly 1", n, count)
		}
	}
}

// answerEach has operator phone op take callers one after the other, each
// its n-th established call from first on, and hang each up; every
// caller's SIPp script must end well.
func answerEach(t *testing.T, op *pbxtest.Softphone, first int, when string, callers ...*pbxtest.SIPpRun) {
	t.Helper()
	for i, who := range callers {
		if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", first+i); err != nil {
			t.Fatalf("caller %d %s: %v", first+i, when, err)
		}
		op.Hangup(t)
		if err := who.Wait(ctxFor(t, 15*time.Second)); err != nil {
			t.Fatalf("caller %d: %v", first+i, err)
		}
	}
}
