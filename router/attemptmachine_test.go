package router

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// The callback attempt machine's tests: every phase of both kinds of
// attempt × every event, no PBX, no Redis. Each phase is reached by the
// events a real attempt sees; a life keeps every command so far, so the
// invariants are checked over the whole attempt, not one step.

var atTimesTest = atTimes{Ring: 15 * time.Second, Citizen: 30 * time.Second, Renew: 20 * time.Second, Lease: 5 * time.Second, WrapUp: 10 * time.Second}

type life struct {
	m    *attemptMachine
	cmds []atCmd
	// gone: legs the PBX said left; fired: timers that went off.
	gone  map[atLeg]bool
	fired map[atTimerKind]bool
}

func (l *life) feed(evs ...atEvent) []atCmd {
	var last []atCmd
	for _, ev := range evs {
		switch x := ev.(type) {
		case aevLegGone:
			l.gone[x.Leg] = true
		case aevDialed:
			if !x.OK {
				l.gone[x.Leg] = true
			}
		case aevTimer:
			if x.Gen != 0 && l.m.timers[x.Kind] == x.Gen {
				l.fired[x.Kind] = true
			}
		}
		last = l.m.Handle(ev, t0)
		l.cmds = append(l.cmds, last...)
	}
	return last
}

// gen is the generation of a running timer, for an event that fires it.
func (l *life) gen(k atTimerKind) int { return l.m.timers[k] }

func newLife(agentFirst bool) *life {
	l := &life{m: &attemptMachine{}, gone: map[atLeg]bool{}, fired: map[atTimerKind]bool{}}
	l.feed(aevStart{AgentFirst: agentFirst, Times: atTimesTest})
	return l
}

type atFixture struct {
	name  string
	phase atPhase
	make  func() *life
}

var atFixtures = []atFixture{
	{"agent/begin", atBegin, func() *life { return newLife(true) }},
	{"agent/ring_operator", atRingOperator, func() *life {
		l := newLife(true)
		l.feed(aevBegun{OK: true}, aevDialed{Leg: legOperator, OK: true})
		return l
	}},
	{"agent/whisper", atWhisper, func() *life {
		l := newLife(true)
		l.feed(aevBegun{OK: true}, aevDialed{Leg: legOperator, OK: true}, aevLegUp{Leg: legOperator}, aevAnswered{OK: true})
		return l
	}},
	{"agent/dial_citizen", atDialCitizen, func() *life {
		l := newLife(true)
		l.feed(aevBegun{OK: true}, aevDialed{Leg: legOperator, OK: true}, aevLegUp{Leg: legOperator}, aevAnswered{OK: true},
			aevWhisperDone{}, aevDialed{Leg: legCitizen, OK: true})
		return l
	}},
	{"agent/talking", atTalking, func() *life {
		l := newLife(true)
		l.feed(aevBegun{OK: true}, aevDialed{Leg: legOperator, OK: true}, aevLegUp{Leg: legOperator}, aevAnswered{OK: true},
			aevWhisperDone{}, aevDialed{Leg: legCitizen, OK: true}, aevLegUp{Leg: legCitizen}, aevBridged{OK: true})
		return l
	}},
	{"customer/begin", atBegin, func() *life { return newLife(false) }},
	{"customer/dial_citizen", atDialCitizen, func() *life {
		l := newLife(false)
		l.feed(aevBegun{OK: true}, aevDialed{Leg: legCitizen, OK: true})
		return l
	}},
}

type atEventCase struct {
	name string
	ev   func(l *life) atEvent
}

func fixed(ev atEvent) func(*life) atEvent { return func(*life) atEvent { return ev } }

var atEvents = []atEventCase{
	{"begun", fixed(aevBegun{OK: true})},
	{"refused", fixed(aevBegun{})},
	{"opDialFailed", fixed(aevDialed{Leg: legOperator})},
	{"opUnavailable", fixed(aevDialed{Leg: legOperator, Unavailable: true})},
	{"citDialFailed", fixed(aevDialed{Leg: legCitizen})},
	{"opUp", fixed(aevLegUp{Leg: legOperator})},
	{"citUp", fixed(aevLegUp{Leg: legCitizen})},
	{"answered", fixed(aevAnswered{OK: true})},
	{"answerLost", fixed(aevAnswered{})},
	{"whisperDone", fixed(aevWhisperDone{})},
	{"bridgeFailed", fixed(aevBridged{})},
	{"opGone", fixed(aevLegGone{Leg: legOperator, Cause: causeNormalClearing})},
	{"citBusy", fixed(aevLegGone{Leg: legCitizen, Cause: causeUserBusy})},
	{"citGone", fixed(aevLegGone{Leg: legCitizen, Cause: causeNormalClearing})},
	{"ringTimer", func(l *life) atEvent { return aevTimer{Kind: atTimerRing, Gen: l.gen(atTimerRing)} }},
	{"citizenTimer", func(l *life) atEvent { return aevTimer{Kind: atTimerCitizen, Gen: l.gen(atTimerCitizen)} }},
	{"renewTimer", func(l *life) atEvent { return aevTimer{Kind: atTimerRenew, Gen: l.gen(atTimerRenew)} }},
	{"leaseTimer", func(l *life) atEvent { return aevTimer{Kind: atTimerLease, Gen: l.gen(atTimerLease)} }},
	// A renewal's reply while the lease timer still runs (it cannot
	// start a second one), and a renewal that failed.
	{"leaseRenewed", fixed(aevLeaseRenewed{OK: true, Next: 5 * time.Second})},
	{"leaseLost", fixed(aevLeaseRenewed{})},
	{"staleTimer", fixed(aevTimer{Kind: atTimerRing, Gen: 999})},
}

func atName(c atCmd) string {
	n := strings.TrimPrefix(fmt.Sprintf("%T", c), "router.ac")
	switch x := c.(type) {
	case acDial:
		return n + "(" + x.Leg.String() + ")"
	case acHangup:
		return n + "(" + x.Leg.String() + "," + x.Reason + ")"
	case acFinish:
		return n + "(" + x.Result + ")"
	case acAbort:
		return n + "(" + x.Reason + ")"
	case acGiveBack:
		if x.Unreachable {
			return n + "(unreachable)"
		}
	case acEndOperator:
		return n + "(" + x.Wrap.String() + ")"
	case acRecord:
		return n + "(" + x.Outcome + "," + x.EndedBy + ")"
	case acTimer:
		return n + "(" + [...]string{"ring", "citizen", "renew", "lease"}[x.Kind] + ")"
	case acStopTimer:
		return n + "(" + [...]string{"ring", "citizen", "renew", "lease"}[x.Kind] + ")"
	}
	return n
}

func atNames(cs []atCmd) string {
	s := make([]string, len(cs))
	for i, c := range cs {
		s[i] = atName(c)
	}
	return strings.Join(s, " ")
}

type atCell struct {
	next atPhase
	cmds string
}

// atMatrix: what each event does in each phase; a missing cell means the
// event changes nothing there.
var atMatrix = map[string]map[string]atCell{
	"agent/begin": {
		"begun":   {atRingOperator, "Dial(operator) Timer(ring) Timer(renew)"},
		"refused": {atDone, "ReleaseEntry"},
	},
	"agent/ring_operator": {
		"opDialFailed":  {atDone, "GiveBack Abort(operator_no_answer) StopTimer(ring) StopTimer(renew)"},
		"opUnavailable": {atDone, "GiveBack(unreachable) Abort(operator_no_answer) StopTimer(ring) StopTimer(renew)"},
		"opUp":          {atRingOperator, "Answered"},
		"answered":      {atWhisper, "StopTimer(ring) Whisper"},
		"answerLost":    {atDone, "Hangup(operator,normal) Abort(reservation_lost) StopTimer(ring) StopTimer(renew)"},
		"opGone":        {atDone, "GiveBack Abort(operator_no_answer) StopTimer(ring) StopTimer(renew)"},
		"ringTimer":     {atRingOperator, "Hangup(operator,no_answer)"},
		"renewTimer":    {atRingOperator, "Renew Timer(renew)"},
	},
	"agent/whisper": {
		"whisperDone": {atDialCitizen, "Dial(citizen) Timer(citizen)"},
		"opGone":      {atDone, "Abort(operator_left) StopTimer(renew) EndOperator(0s) Record(callback_interrupted,)"},
		"renewTimer":  {atWhisper, "Renew Timer(renew)"},
	},
	"agent/dial_citizen": {
		"citDialFailed": {atDone, "Finish(failed) Hangup(operator,normal) StopTimer(citizen) StopTimer(renew) EndOperator(0s) Record(callback_failed,)"},
		"citUp":         {atTalking, "StopTimer(citizen) Finish(reached) Bridge"},
		"opGone":        {atDone, "Abort(operator_left) Hangup(citizen,normal) StopTimer(citizen) StopTimer(renew) EndOperator(0s) Record(callback_interrupted,)"},
		"citBusy":       {atDone, "Finish(busy) Hangup(operator,normal) StopTimer(citizen) StopTimer(renew) EndOperator(0s) Record(callback_busy,)"},
		"citGone":       {atDone, "Finish(failed) Hangup(operator,normal) StopTimer(citizen) StopTimer(renew) EndOperator(0s) Record(callback_failed,)"},
		"citizenTimer":  {atDialCitizen, "Hangup(citizen,no_answer)"},
		"renewTimer":    {atDialCitizen, "Renew Timer(renew)"},
	},
	"agent/talking": {
		"opGone":     {atDone, "Hangup(citizen,normal) DestroyBridge StopTimer(renew) EndOperator(10s) Record(callback_answered,operator)"},
		"citBusy":    {atDone, "Hangup(operator,normal) DestroyBridge StopTimer(renew) EndOperator(10s) Record(callback_answered,caller)"},
		"citGone":    {atDone, "Hangup(operator,normal) DestroyBridge StopTimer(renew) EndOperator(10s) Record(callback_answered,caller)"},
		"renewTimer": {atTalking, "Renew Timer(renew)"},
	},
	"customer/begin": {
		"begun":   {atDialCitizen, "Dial(citizen) Timer(citizen) Timer(lease)"},
		"refused": {atDone, "ReleaseEntry"},
	},
	"customer/dial_citizen": {
		"citDialFailed": {atDone, "Finish(failed) ReleaseEntry StopTimer(citizen) StopTimer(lease)"},
		"citUp":         {atDone, "StopTimer(citizen) Finish(reached) StopTimer(lease) HandOver"},
		"citBusy":       {atDone, "Finish(busy) ReleaseEntry StopTimer(citizen) StopTimer(lease)"},
		"citGone":       {atDone, "Finish(failed) ReleaseEntry StopTimer(citizen) StopTimer(lease)"},
		"citizenTimer":  {atDialCitizen, "Hangup(citizen,no_answer)"},
		"leaseTimer":    {atDialCitizen, "ExtendOffer"},
	},
}

func TestAttemptMachineMatrix(t *testing.T) {
	for _, f := range atFixtures {
		for _, e := range atEvents {
			t.Run(f.name+"/"+e.name, func(t *testing.T) {
				l := f.make()
				if l.m.phase != f.phase {
					t.Fatalf("fixture in %s, want %s", l.m.phase, f.phase)
				}
				got := atNames(l.feed(e.ev(l)))
				want, ok := atMatrix[f.name][e.name]
				if !ok {
					want = atCell{f.phase, ""}
				}
				if got != want.cmds || l.m.phase != want.next {
					t.Errorf("%s × %s: got %s %q, want %s %q", f.name, e.name, l.m.phase, got, want.next, want.cmds)
				}
			})
		}
	}
}

// TestAttemptMachineExit: over the whole life of every attempt that ends,
// whatever ends it: the store gets exactly one result (Finish or Abort)
// once it gave the attempt the callback, the operator is released exactly
// once (given back, their turn ended or, customer first, handed over with
// the citizen — unless Redis gave them away), a
// record is written exactly when their turn ended, every leg dialled is
// gone or hung up, and no timer is left running.
func TestAttemptMachineExit(t *testing.T) {
	for _, f := range atFixtures {
		for _, e := range atEvents {
			l := f.make()
			l.feed(e.ev(l))
			if l.m.phase != atDone {
				continue
			}
			t.Run(f.name+"/"+e.name, func(t *testing.T) { checkAttemptLife(t, l) })
		}
	}
}

func checkAttemptLife(t *testing.T, l *life) {
	t.Helper()
	n := map[string]int{}
	legs := map[atLeg]bool{}
	timers := map[atTimerKind]bool{}
	lost := false
	for _, c := range l.cmds {
		n[strings.TrimPrefix(fmt.Sprintf("%T", c), "router.ac")]++
		switch x := c.(type) {
		case acDial:
			legs[x.Leg] = true
		case acHangup:
			delete(legs, x.Leg)
		case acHandOver:
			delete(legs, legCitizen)
		case acTimer:
			timers[x.Kind] = true
		case acStopTimer:
			delete(timers, x.Kind)
		case acAbort:
			lost = lost || x.Reason == "reservation_lost"
		}
	}
	all := atNames(l.cmds)
	if l.m.began && n["Finish"]+n["Abort"] != 1 {
		t.Errorf("store results: %d finish + %d abort, want exactly one (%s)", n["Finish"], n["Abort"], all)
	}
	// Customer first the reservation is handed over with the citizen.
	if released := n["GiveBack"] + n["EndOperator"] + n["ReleaseEntry"] + n["HandOver"]; !lost && released != 1 {
		t.Errorf("operator released %d times, want once (%s)", released, all)
	}
	if n["Record"] != n["EndOperator"] || n["Record"] > 1 {
		t.Errorf("%d records for %d ends of the operator's turn (%s)", n["Record"], n["EndOperator"], all)
	}
	// A leg the PBX said is gone needs no hang-up.
	for leg := range legs {
		if !l.gone[leg] {
			t.Errorf("%s leg left up (%s)", leg, all)
		}
	}
	// A timer that fired and was started again must be off too: the
	// machine's own books say which run.
	for k := range timers {
		if !l.fired[k] {
			t.Errorf("timer %d left running (%s)", k, all)
		}
	}
	for k, gen := range l.m.timers {
		if gen != 0 {
			t.Errorf("timer %d left running (%s)", k, all)
		}
	}
}

// TestAttemptMachineDoneIsFinal: after the end nothing happens again.
func TestAttemptMachineDoneIsFinal(t *testing.T) {
	for _, f := range atFixtures {
		for _, e := range atEvents {
			l := f.make()
			l.feed(e.ev(l))
			if l.m.phase != atDone {
				continue
			}
			for _, again := range atEvents {
				if got := l.feed(again.ev(l)); len(got) != 0 {
					t.Errorf("%s/%s then %s: %s after the end", f.name, e.name, again.name, atNames(got))
				}
			}
		}
	}
}

// A whole agent-first attempt whose citizen is busy, then one reached:
// the store hears busy then reached, the operator is freed at once after
// the miss and into wrap-up after the conversation.
func TestAttemptMachineLives(t *testing.T) {
	l := newLife(true)
	l.feed(aevBegun{OK: true}, aevDialed{Leg: legOperator, OK: true}, aevLegUp{Leg: legOperator}, aevAnswered{OK: true},
		aevWhisperDone{}, aevDialed{Leg: legCitizen, OK: true}, aevLegGone{Leg: legCitizen, Cause: causeUserBusy},
		aevLegGone{Leg: legOperator, Cause: causeNormalClearing})
	if got, want := atNames(l.cmds), "Begin Dial(operator) Timer(ring) Timer(renew) Answered StopTimer(ring) Whisper "+
		"Dial(citizen) Timer(citizen) Finish(busy) Hangup(operator,normal) StopTimer(citizen) StopTimer(renew) "+
		"EndOperator(0s) Record(callback_busy,)"; got != want {
		t.Errorf("busy attempt:\n got %s\nwant %s", got, want)
	}

	l = newLife(true)
	at := t0.Add(time.Minute)
	l.feed(aevBegun{OK: true}, aevDialed{Leg: legOperator, OK: true}, aevLegUp{Leg: legOperator}, aevAnswered{OK: true},
		aevWhisperDone{}, aevDialed{Leg: legCitizen, OK: true})
	l.m.Handle(aevLegUp{Leg: legCitizen}, at)
	out := l.m.Handle(aevLegGone{Leg: legCitizen, Cause: causeNormalClearing}, at.Add(5*time.Minute))
	rec, ok := out[len(out)-1].(acRecord)
	if !ok || !rec.AnsweredAt.Equal(at) || rec.Outcome != "callback_answered" || rec.EndedBy != "caller" {
		t.Errorf("reached attempt ends with %s, answered at %v; want a callback_answered record answered at %v", atNames(out), rec.AnsweredAt, at)
	}
}

// Customer first the operator stays reserved while the citizen's phone
// rings: the lease is renewed for as long as it rings, a renewal that
// failed does not stop the call, and no renewal outlives the attempt.
func TestAttemptMachineCustomerFirstHoldsTheOperator(t *testing.T) {
	l := newLife(false)
	l.feed(aevBegun{OK: true}, aevDialed{Leg: legCitizen, OK: true})
	for range 3 {
		if got := atNames(l.feed(aevTimer{Kind: atTimerLease, Gen: l.gen(atTimerLease)})); got != "ExtendOffer" {
			t.Fatalf("lease timer: %q, want ExtendOffer", got)
		}
		if got := atNames(l.feed(aevLeaseRenewed{OK: true, Next: 5 * time.Second})); got != "Timer(lease)" {
			t.Fatalf("lease renewed: %q, want Timer(lease)", got)
		}
	}
	l.feed(aevTimer{Kind: atTimerLease, Gen: l.gen(atTimerLease)})
	if got := atNames(l.feed(aevLeaseRenewed{})); got != "" {
		t.Errorf("lease lost: %q, want nothing (the citizen is still called)", got)
	}
	if got := atNames(l.feed(aevLegUp{Leg: legCitizen})); got != "StopTimer(citizen) Finish(reached) HandOver" {
		t.Errorf("citizen answered: %q", got)
	}
	if got := atNames(l.feed(aevLeaseRenewed{OK: true, Next: time.Second})); got != "" {
		t.Errorf("a late renewal after the hand-over: %q, want nothing", got)
	}
	checkAttemptLife(t, l)

	// Agent first the attempt's own lease (renew) covers the operator.
	l = newLife(true)
	l.feed(aevBegun{OK: true}, aevDialed{Leg: legOperator, OK: true})
	if got := atNames(l.feed(aevLeaseRenewed{OK: true, Next: time.Second})); got != "" {
		t.Errorf("agent first, a lease renewal: %q, want nothing", got)
	}
}
