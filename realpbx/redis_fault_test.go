package realpbx

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/internal/pbxtest"
	"github.com/hotline-acd/hotline/internal/rkeys"
	"github.com/hotline-acd/hotline/records"
)

// Redis is SIGKILLed while one conversation is up and a caller waits, the
// operator hangs up during the outage, and Redis comes back from its
// append-only file: the operator is freed (the wrap-up is retried until
// Redis takes it), the waiting caller is served next, and each caller has
// exactly one record. Before, the operator stayed on_call for good.
func TestRedisRestartMidConversation(t *testing.T) {
	redisFault(t, func(r *rig) { r.durable.Kill() }, func(r *rig) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := r.durable.Restart(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

// Redis stops answering (SIGSTOP) for 8 s in the same situation: a script
// that timed out on the client runs when Redis resumes, so the router must
// not take an error for "nothing happened".
func TestRedisStall8sMidConversation(t *testing.T) {
	var stalled time.Time
	redisFault(t, func(r *rig) {
		stalled = time.Now()
		if err := r.durable.Pause(); err != nil {
			t.Fatal(err)
		}
	}, func(r *rig) {
		if d := 8*time.Second - time.Since(stalled); d > 0 {
			time.Sleep(d) // the fault's length, not a wait for a condition
		}
		if err := r.durable.Resume(); err != nil {
			t.Fatal(err)
		}
	})
}

func redisFault(t *testing.T, fault, heal func(*rig)) {
	r := newRig(t, rigOptions{durableRedis: true, edit: shortWrapUp(t)})
	op := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{})
	r.login("1001")
	long := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Wait: 90 * time.Second})
	a := r.ast.Call(t, pbxtest.Citizen{Number: "79001240001", Steps: long, MaxWait: 90 * time.Second})
	if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", 1); err != nil {
		t.Fatal(err)
	}
	b := r.ast.Call(t, pbxtest.Citizen{Number: "79001240002", Steps: long, MaxWait: 90 * time.Second})
	r.waitFor(15*time.Second, "B queued", func() bool { return r.queued("testing") == 1 })

	fault(r)
	op.Hangup(t) // the conversation ends while Redis is away
	if err := a.Wait(ctxFor(t, 15*time.Second)); err != nil {
		t.Fatalf("A's call: %v", err)
	}
	heal(r)

	// The operator, freed once Redis answers, is offered B at once.
	if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", 2); err != nil {
		t.Fatalf("B after Redis came back: %v\nhotline log:\n%s", err, r.Log())
	}
	op.Hangup(t)
	if err := b.Wait(ctxFor(t, 15*time.Second)); err != nil {
		t.Fatalf("B's call: %v", err)
	}
	for _, n := range []string{"79001240001", "79001240002"} {
		if rec := r.recordOf(n, 10*time.Second, records.OutcomeAnswered); rec.Agent != "1001" {
			t.Errorf("%s: record %+v, want answered by 1001", n, rec)
		}
		if count := r.recordsOf(n); count != 1 {
			t.Errorf("%s has %d records, want exactly 1", n, count)
		}
	}
	r.waitFor(10*time.Second, "1001 ready again", func() bool { return r.agentState("1001") == "ready" })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if keys, err := r.rdb.Keys(ctx, rkeys.Prefix(r.centre)+"caller:*").Result(); err != nil || len(keys) != 0 {
		t.Errorf("caller entries left in Redis: %v %v", keys, err)
	}
}

// The network between hotline and Asterisk's ARI fails (every connection
// cut, new ones refused for 2 s) while a conversation is up and a caller
// waits, and the operator hangs up in the gap: hotline sees none of it as
// it happens. Re-synced after reconnecting, it hangs up the citizen left
// alone in the bridge, frees the operator and serves the waiting caller.
func TestARIConnectionCutMidConversation(t *testing.T) {
	r := newRig(t, rigOptions{ariProxy: true, edit: shortWrapUp(t)})
	op := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{})
	r.login("1001")
	long := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Wait: 90 * time.Second})
	a := r.ast.Call(t, pbxtest.Citizen{Number: "79001260001", Steps: long, MaxWait: 90 * time.Second})
	if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", 1); err != nil {
		t.Fatal(err)
	}
	b := r.ast.Call(t, pbxtest.Citizen{Number: "79001260002", Steps: long, MaxWait: 90 * time.Second})
	r.waitFor(15*time.Second, "B queued", func() bool { return r.queued("testing") == 1 })

	r.ariCut.Cut()
	op.Hangup(t)
	time.Sleep(2 * time.Second) // the outage's length, not a wait for a condition
	r.ariCut.Heal()

	if err := a.Wait(ctxFor(t, 20*time.Second)); err != nil {
		t.Fatalf("A, left alone in the bridge, was not hung up after the reconnect: %v", err)
	}
	if _, err := op.WaitEvent(ctxFor(t, 30*time.Second), "CALL_ESTABLISHED", 2); err != nil {
		t.Fatalf("B after the reconnect: %v", err)
	}
	op.Hangup(t)
	if err := b.Wait(ctxFor(t, 15*time.Second)); err != nil {
		t.Fatalf("B's call: %v", err)
	}
	for _, n := range []string{"79001260001", "79001260002"} {
		if rec := r.recordOf(n, 10*time.Second, records.OutcomeAnswered); rec.Agent != "1001" {
			t.Errorf("%s: record %+v, want answered by 1001", n, rec)
		}
	}
	r.waitFor(10*time.Second, "1001 ready again", func() bool { return r.agentState("1001") == "ready" })
	if n := strings.Count(r.Log(), "re-synced with the PBX"); n < 2 {
		t.Fatalf("hotline re-synced %d times, want a re-sync after the cut too", n)
	}
}

// shortWrapUp gives the testing topic a 1 s wrap-up, so "the operator is
// ready again" is seen well inside the tests' waits (the example's wrap-up
// is as long as those waits).
func shortWrapUp(t *testing.T) func(string) string {
	return func(cfg string) string {
		return mustReplace(t, cfg, "    name: \"Тестирование: ПЦР и результаты\"\n",
			"    name: \"Тестирование: ПЦР и результаты\"\n    wrap_up: 1s\n")
	}
}

// Redis is down (SIGKILLed, not yet back) when a citizen calls and picks a
// topic: hotline cannot queue them, so it hands them to the dialplan's
// fallback — Asterisk's own queue for the same operators — instead of
// hanging up. The operator's softphone rings from app_queue and the two
// talk; once Redis is back the call's one record says where it went.
func TestRedisDownNewCallerReachesTheFallbackQueue(t *testing.T) {
	r := newRig(t, rigOptions{durableRedis: true})
	op := r.ast.Softphone(t, "1001", pbxtest.PhoneOptions{})
	r.durable.Kill()
	steps := append(append([]pbxtest.Step{}, toTesting...), pbxtest.Step{Wait: 60 * time.Second})
	c := r.ast.Call(t, pbxtest.Citizen{Number: "79001240003", Steps: steps, MaxWait: 60 * time.Second})
	if _, err := op.WaitEvent(ctxFor(t, 40*time.Second), "CALL_ESTABLISHED", 1); err != nil {
		t.Fatalf("the operator was not rung by the fallback queue: %v\nhotline log:\n%s", err, r.Log())
	}
	if !strings.Contains(r.Log(), "handing them to the PBX fallback") {
		t.Errorf("hotline did not say it handed the caller to the fallback:\n%s", r.Log())
	}
	op.Hangup(t)
	if err := c.Wait(ctxFor(t, 15*time.Second)); err != nil {
		t.Fatalf("the citizen's call: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := r.durable.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	r.recordOf("79001240003", 15*time.Second, records.OutcomeFallback)
	if n := r.recordsOf("79001240003"); n != 1 {
		t.Errorf("%d records, want exactly 1", n)
	}
}
