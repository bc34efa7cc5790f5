package chaos

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/hotline-acd/hotline/agents"
	"github.com/hotline-acd/hotline/callbacks"
	"github.com/hotline-acd/hotline/fleet"
	"github.com/hotline-acd/hotline/internal/testclock"
	"github.com/hotline-acd/hotline/pbx/emulator"
)

// Two hotline instances, hotline-a and hotline-b, serve one Asterisk:
// the dialplan offers every call to both (StasisBroadcast) and the first
// claim wins. Under load (callers arriving, a conversation up on each
// instance, callers waiting in an unstaffed topic, a callback attempt
// ringing the citizen) the instance making the callback attempt is
// SIGKILLed. After it: new calls are claimed by the survivor within the
// dialplan's claim time (none falls to the fallback), the survivor takes
// the dead instance's application over and adopts its calls (no
// conversation is cut), the cut-off callback attempt is given back and the
// citizen called back, the waiting callers are served in their order once
// an operator for their topic logs in, and every invariant holds (one
// record per call, nobody offered twice, no operator with two callers,
// nothing stuck in Redis). Then the killed instance comes back, is given
// its application back while the conversations go on, and the invariants
// hold again.
func TestInstanceKillUnderLoad(t *testing.T) {
	r := newRigWith(t, rigOptions{instances: []string{"hotline-a", "hotline-b"}})
	tr := r.traffic
	const within = 10 * time.Second
	ctx := context.Background()
	// A long conversation held by each instance (1001 or 1003 on testing,
	// 1002 on social benefits).
	talkers := []*citizen{tr.placeOn("hotline-a", kindScripted, topicTesting), tr.placeOn("hotline-b", kindScripted, topicSocial)}
	for _, c := range talkers {
		r.eventually("a long conversation up", within, func() bool { return c.h.State() == "bridged" })
	}
	var waiting []*citizen
	for i := 0; i < 4; i++ {
		c := tr.place(kindPatient, topicElderly) // unstaffed until 1004 logs in
		r.eventually("a caller waiting in the unstaffed topic", within, func() bool { return heard(c.h, "/position_") })
		waiting = append(waiting, c)
	}
	tr.startStream(streamEvery)
	run(trafficSpan)

	// A callback ringing: due now, for the testing operator still free;
	// the citizen's phone rings 400 ms (the scaled originate timeout is
	// 600 ms), then talks 300 ms.
	r.emu.AddTrunk("carrier", emulator.Trunk{Citizen: func(string) emulator.Phone {
		return emulator.Phone{Registered: true, AnswerAfter: 400 * time.Millisecond, HangupAfterBridged: 300 * time.Millisecond}
	}})
	cb, _, err := r.cbs.Schedule(ctx, callbacks.Request{RawNumber: "+77010000001", Topic: "testing", Language: "ru", Reason: callbacks.ReasonAbandoned},
		callbacks.Rules{Numbers: callbacks.NumberRules{CountryCode: r.cfg.Centre.CountryCode}, Delays: []time.Duration{0}, MaxAttempts: 4, Expiry: time.Hour}, testclock.Now())
	if err != nil {
		t.Fatalf("schedule a callback: %v", err)
	}
	var victim string
	r.eventually("the callback's attempt ringing the citizen", 2*within, func() bool {
		ringing := false
		for _, ch := range r.emu.Channels() {
			if strings.HasPrefix(ch.ID, "cb-"+cb.ID+"-") {
				if ch.App != "" {
					victim = ch.App
				}
				ringing = ringing || ch.State == "Ringing"
			}
		}
		return ringing && victim != ""
	})
	survivor := "hotline-a"
	if victim == survivor {
		survivor = "hotline-b"
	}
	var victimProc *hotline
	for _, h := range r.hotlines {
		if h.app == victim {
			victimProc = h
		}
	}
	r.killHotline(victimProc)
	killedAt := time.Now()
	t.Logf("%s SIGKILLed holding a conversation and callback %s's attempt, ringing; %s survives", victim, cb.ID, survivor)

	run(trafficSpan)
	r.eventually("the survivor running "+victim, within, func() bool { return r.emu.Connected(victim) })
	t.Logf("%s taken over %v after the kill", victim, time.Since(killedAt).Round(time.Millisecond))
	for _, c := range talkers {
		if c.h.State() != "bridged" {
			t.Errorf("conversation %s (held by %s) cut by the kill: %s, ended by %s", c, c.h.App(), c.h.State(), c.h.EndedBy())
		}
	}
	// The cut-off attempt was given back and the citizen called back.
	r.eventually("the callback made again and the citizen reached", 2*within, func() bool {
		got, err := r.cbs.Get(ctx, cb.ID)
		return err == nil && got.Status == callbacks.StatusReached
	})
	// Every call placed after the kill was claimed by the survivor in time.
	for _, c := range tr.citizens() {
		if !c.placed.After(killedAt) {
			continue
		}
		if c.h.Rejected() || c.h.InFallback() {
			t.Errorf("call %s placed %v after the kill was not claimed within %v", c, c.placed.Sub(killedAt).Round(time.Millisecond), claimWithin)
		} else if app := c.h.App(); app != survivor && app != "" {
			t.Errorf("call %s placed after the kill went to %s, want %s", c, app, survivor)
		}
	}

	// The waiting callers are served in the order they came.
	// 1004 is offered a caller at once: logged in is any state but offline.
	r.loginUntil("1004", "logged in", func(s agents.State) bool { return s != agents.Offline })
	for _, c := range waiting {
		r.eventually("waiting caller "+c.String()+" served", 2*within, func() bool { return !c.bridgedFirstAt().IsZero() })
	}
	checkServedInOrder(t, waiting)

	// The killed instance comes back: the survivor gives its application
	// back; the conversation adopted meanwhile goes on.
	back := r.startInstance(victim)
	r.eventually("the survivor giving "+victim+" back", within, func() bool {
		return strings.Contains(r.leaseHolder(victim), victim+"|")
	})
	_ = back
	run(trafficSpan)
	for _, c := range talkers {
		if c.h.State() != "bridged" {
			t.Errorf("conversation %s cut by the give-back: %s, ended by %s", c, c.h.State(), c.h.EndedBy())
		}
		c.h.Hangup()
	}
	r.checkSettled()
	for _, id := range []string{"1001", "1002", "1003", "1004"} {
		a, err := r.agents.Get(context.Background(), id)
		if err != nil || a.State != agents.Ready {
			t.Errorf("operator %s after the test: %+v, %v; want ready", id, a, err)
		}
	}
}

// A callback's attempt has rung its operator, who answered, and rings the
// citizen; the instance making it is SIGKILLed, and before a survivor
// takes its application over the operator hangs up and the citizen's
// phone stops ringing: the survivor's re-sync finds no leg to cut. The
// attempt's card, left on the board by the dead router, is the trace: the
// survivor's router of that application gives the attempt back and frees
// the operator within a pass of the board (seconds), not after the
// attempt's 3-minute lease.
func TestVanishedCallbackAttemptFreesItsOperator(t *testing.T) {
	r := newRigWith(t, rigOptions{instances: []string{"hotline-a", "hotline-b"}})
	const within = 10 * time.Second
	ctx := context.Background()
	r.emu.AddTrunk("carrier", emulator.Trunk{Citizen: func(string) emulator.Phone {
		return emulator.Phone{Registered: true, NeverAnswer: true} // until the scaled ring timeout
	}})
	cb, _, err := r.cbs.Schedule(ctx, callbacks.Request{RawNumber: "+77010000002", Topic: "testing", Language: "ru", Reason: callbacks.ReasonAbandoned},
		callbacks.Rules{Numbers: callbacks.NumberRules{CountryCode: r.cfg.Centre.CountryCode}, Delays: []time.Duration{0, time.Hour}, MaxAttempts: 4, Expiry: 2 * time.Hour}, testclock.Now())
	if err != nil {
		t.Fatalf("schedule a callback: %v", err)
	}
	var victim string
	r.eventually("the callback's attempt ringing the citizen", 2*within, func() bool {
		citizen := false
		for _, ch := range r.emu.Channels() {
			if strings.HasPrefix(ch.ID, "cb-"+cb.ID+"-") {
				if ch.App != "" {
					victim = ch.App // the operator's leg, answered in the attempt's application
				}
				citizen = citizen || strings.HasPrefix(ch.ID, "cb-"+cb.ID+"-c")
			}
		}
		return citizen && victim != ""
	})
	held, err := r.cbs.Get(ctx, cb.ID)
	if err != nil || held.Status != callbacks.StatusInFlight || held.AgentID == "" {
		t.Fatalf("callback while its citizen rings: %+v, %v", held, err)
	}
	for _, h := range r.hotlines {
		if h.app == victim {
			r.killHotline(h)
		}
	}
	// The operator hangs up; the citizen's leg ends at its ring timeout.
	r.emu.HangupPhone("PJSIP/" + held.AgentID)
	r.eventually("the attempt's legs gone", within, func() bool {
		for _, ch := range r.emu.Channels() {
			if strings.HasPrefix(ch.ID, "cb-"+cb.ID+"-") {
				return false
			}
		}
		return true
	})
	if r.emu.Connected(victim) {
		t.Fatalf("%s was taken over before the attempt's legs ended: the re-sync had legs to cut", victim)
	}
	r.eventually("the survivor running "+victim, within, func() bool { return r.emu.Connected(victim) })
	takenAt := time.Now()
	// Given back: due again at once, and made again (the citizen does not
	// answer: one try counted, the next in an hour); every operator free.
	r.eventually("the attempt given back and the callback made again", 2*within, func() bool {
		got, err := r.cbs.Get(ctx, cb.ID)
		return err == nil && got.Status == callbacks.StatusScheduled && got.Tries == 1
	})
	got, _ := r.cbs.Get(ctx, cb.ID)
	aborted := false
	for _, e := range got.History {
		if e.Kind == "aborted" && e.CallID == held.Holder {
			aborted = true
			t.Logf("attempt %s given back %v after the takeover", held.Holder, e.At.Sub(takenAt).Round(time.Millisecond))
		}
	}
	if !aborted {
		t.Fatalf("the vanished attempt %s was never given back: %+v", held.Holder, got.History)
	}
	r.eventually("operator "+held.AgentID+" free", within, func() bool {
		a, err := r.agents.Get(ctx, held.AgentID)
		return err == nil && (a.State == agents.Ready || a.State == agents.WrapUp)
	})
	if v := r.violations(); len(v) > 0 {
		t.Errorf("invariants:\n%s", strings.Join(v, "\n"))
	}
}

// checkServedInOrder: each waiting citizen was bridged after the one
// before it in the queue.
func checkServedInOrder(t *testing.T, waiting []*citizen) {
	t.Helper()
	var order []string
	for i, c := range waiting {
		order = append(order, fmt.Sprintf("%s@%s", c.h.ID(), c.bridgedFirstAt().Format("15:04:05.000")))
		if i > 0 && c.bridgedFirstAt().Before(waiting[i-1].bridgedFirstAt()) {
			t.Errorf("waiting callers served out of order: %s", strings.Join(order, ", "))
		}
	}
}

// leaseHolder is who holds app's fleet lease in Redis ("<app>|<token>").
func (r *rig) leaseHolder(app string) string {
	v, _ := r.rdb.Get(context.Background(), fleet.LeaseKey(r.centre, app)).Result()
	return v
}
