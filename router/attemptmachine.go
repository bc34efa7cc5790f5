package router

import "time"

// attemptMachine is one attempt to reach a citizen owed a callback, as a
// pure state machine like callMachine: events and the time in, commands
// out, no I/O (attemptmachine_test.go tables every phase × event). The
// attempt's goroutine (callback.go) executes the commands with the same
// building blocks as the inbound call (blocks.go) and feeds back the
// results of those that can fail.
//
// Either way an attempt starts when the callback's turn in its topic queue
// reserved an operator, so citizens are dialled no faster than operators
// come free. Agent first: the store lets the attempt begin, the reserved
// operator rings, hears a whisper ("callback, topic X"), then the citizen
// is dialled and the two are bridged. Customer first: the citizen is
// dialled while the operator stays reserved (the reservation's lease
// renewed), and once they answer they become a waiting caller at their
// original queue time (the inbound call machine takes over, and gives the
// reservation back once it queued, so the operator is offered the citizen
// next). Every way out goes through exit: the citizen's leg and the
// operator's leg are hung up, the operator's turn is ended (or the
// reservation given back), the attempt's result is in the store and, agent
// first, its record written.
type attemptMachine struct {
	phase      atPhase
	started    bool
	agentFirst bool
	began      bool // the store gave this attempt the callback
	opLeg      bool // the operator's leg was dialled and has not left
	citLeg     bool // the citizen's leg was dialled and has not left
	answered   bool // the operator took the attempt (Answered held)
	settled    bool // the store has the attempt's result (Finish or Abort)
	answeredAt time.Time
	times      atTimes
	timers     [numAtTimers]int // generation of each running timer, 0 if none
	gen        int
}

// atPhase is where an attempt stands; each has one meaning.
type atPhase int

const (
	atBegin        atPhase = iota // asking the store for the callback
	atRingOperator                // the reserved operator's phone rings
	atWhisper                     // the operator hears what the callback is about
	atDialCitizen                 // the citizen's phone rings
	atTalking                     // operator and citizen bridged
	atDone                        // over: legs gone, result and record written
)

func (p atPhase) String() string {
	return [...]string{"begin", "ring_operator", "whisper", "dial_citizen", "talking", "done"}[p]
}

// atTimes are the durations the executor reads from the configuration.
type atTimes struct {
	Ring    time.Duration // the operator's ring timeout
	Citizen time.Duration // the citizen's ring timeout
	Renew   time.Duration // lease renewal of the attempt
	// Lease: customer first, when to renew the operator's reservation
	// first (0: never), while the citizen's phone rings.
	Lease  time.Duration
	WrapUp time.Duration // the topic's wrap-up after a conversation
}

// atLeg names an attempt's leg.
type atLeg int

const (
	legOperator atLeg = iota
	legCitizen
)

func (l atLeg) String() string { return [...]string{"operator", "citizen"}[l] }

type atTimerKind int

const (
	atTimerRing    atTimerKind = iota // net for a ringing operator leg
	atTimerCitizen                    // net for a ringing citizen leg
	atTimerRenew                      // renew the attempt's lease
	atTimerLease                      // customer first: renew the operator's reservation
	numAtTimers
)

// netAfter is how long past a ring timeout a leg may ring before the
// attempt hangs it up itself (its ChannelDestroyed was lost).
const netAfter = 5 * time.Second

// ---- events ----

type atEvent interface{ isAtEvent() }

type (
	// aevStart: the attempt begins, an operator reserved (AgentFirst: rung
	// first; else the citizen is dialled first).
	aevStart struct {
		AgentFirst bool
		Times      atTimes
	}
	// aevBegun: the store's answer to Begin.
	aevBegun struct{ OK bool }
	// aevDialed: the originate of a leg was refused (OK false) or sent.
	aevDialed struct {
		Leg         atLeg
		OK          bool
		Unavailable bool // the operator's endpoint is not registered
	}
	// aevLegUp: a leg answered (StasisStart).
	aevLegUp struct{ Leg atLeg }
	// aevLegGone: a leg left (StasisEnd or ChannelDestroyed).
	aevLegGone struct {
		Leg   atLeg
		Cause int
	}
	// aevAnswered: Redis's answer to the operator's answer.
	aevAnswered struct{ OK bool }
	// aevWhisperDone: the whisper finished (or could not be played).
	aevWhisperDone struct{}
	// aevBridged: the bridge of the two legs was made (or failed).
	aevBridged struct{ OK bool }
	// aevLeaseRenewed: the reservation's lease was renewed (OK), to be
	// renewed again after Next; not OK: Redis no longer holds it.
	aevLeaseRenewed struct {
		OK   bool
		Next time.Duration
	}
	// aevTimer: one of the attempt's timers fired.
	aevTimer struct {
		Kind atTimerKind
		Gen  int
	}
)

func (aevStart) isAtEvent()        {}
func (aevBegun) isAtEvent()        {}
func (aevDialed) isAtEvent()       {}
func (aevLegUp) isAtEvent()        {}
func (aevLegGone) isAtEvent()      {}
func (aevAnswered) isAtEvent()     {}
func (aevWhisperDone) isAtEvent()  {}
func (aevBridged) isAtEvent()      {}
func (aevTimer) isAtEvent()        {}
func (aevLeaseRenewed) isAtEvent() {}

// ---- commands ----

type atCmd interface{ isAtCmd() }

type (
	acBegin         struct{}            // → aevBegun
	acDial          struct{ Leg atLeg } // → aevDialed
	acAnswered      struct{}            // → aevAnswered
	acWhisper       struct{}            // → aevWhisperDone when it fails at once
	acBridge        struct{}            // → aevBridged
	acDestroyBridge struct{}            // the conversation's bridge
	acHangup        struct {            // a leg, with the reason given to the PBX
		Leg    atLeg
		Reason string
	}
	// acFinish: the attempt's result into the store (reached, busy, …).
	acFinish struct {
		Result string
		Cause  int
	}
	// acExtendOffer: renew the operator's reservation → aevLeaseRenewed.
	acExtendOffer struct{}
	// acAbort: the attempt never reached the citizen: no attempt counted.
	acAbort struct{ Reason string }
	// acGiveBack: the operator did not take it; the entry keeps its place.
	acGiveBack struct{ Unreachable bool }
	// acReleaseEntry: the store refused the attempt, or (customer first)
	// the citizen was not reached: the queue entry goes and the operator,
	// never rung, is offered the next caller.
	acReleaseEntry struct{}
	// acEndOperator: the operator's turn ends, into wrap-up for Wrap > 0.
	acEndOperator struct{ Wrap time.Duration }
	// acRecord: the attempt's one record.
	acRecord struct {
		Outcome    string
		EndedBy    string
		Cause      int
		AnsweredAt time.Time
	}
	// acHandOver: customer first: the answered citizen becomes a waiting
	// caller (the inbound call machine takes the leg over, and the
	// reservation: it gives it back once the citizen is queued).
	acHandOver struct{}
	acRenew    struct{}
	acTimer    struct {
		Kind  atTimerKind
		After time.Duration
		Gen   int
	}
	acStopTimer struct{ Kind atTimerKind }
)

func (acBegin) isAtCmd()         {}
func (acDial) isAtCmd()          {}
func (acAnswered) isAtCmd()      {}
func (acWhisper) isAtCmd()       {}
func (acBridge) isAtCmd()        {}
func (acDestroyBridge) isAtCmd() {}
func (acHangup) isAtCmd()        {}
func (acFinish) isAtCmd()        {}
func (acAbort) isAtCmd()         {}
func (acExtendOffer) isAtCmd()   {}
func (acGiveBack) isAtCmd()      {}
func (acReleaseEntry) isAtCmd()  {}
func (acEndOperator) isAtCmd()   {}
func (acRecord) isAtCmd()        {}
func (acHandOver) isAtCmd()      {}
func (acRenew) isAtCmd()         {}
func (acTimer) isAtCmd()         {}
func (acStopTimer) isAtCmd()     {}

// Handle takes one event at now and returns the commands to execute, in
// order.
func (m *attemptMachine) Handle(ev atEvent, now time.Time) []atCmd {
	var out []atCmd
	if m.phase == atDone {
		return nil // a late event of a finished attempt changes nothing
	}
	add := func(c ...atCmd) { out = append(out, c...) }
	switch ev := ev.(type) {
	case aevStart:
		if m.started {
			return nil
		}
		m.started = true
		m.agentFirst, m.times = ev.AgentFirst, ev.Times
		add(acBegin{})
	case aevBegun:
		if m.phase != atBegin || !m.started || m.began {
			return nil
		}
		if !ev.OK {
			// Another holder attempts it, or it was closed meanwhile.
			add(acReleaseEntry{})
			m.phase = atDone
			return out
		}
		m.began = true
		if m.agentFirst {
			m.phase = atRingOperator
			m.opLeg = true
			add(acDial{Leg: legOperator})
			add(m.startTimer(atTimerRing, m.times.Ring+netAfter))
			add(m.startTimer(atTimerRenew, m.times.Renew))
		} else {
			m.dialCitizen(&out)
			if m.times.Lease > 0 {
				add(m.startTimer(atTimerLease, m.times.Lease))
			}
		}
	case aevDialed:
		if ev.OK {
			return nil
		}
		switch {
		case ev.Leg == legOperator && m.phase == atRingOperator:
			m.opLeg = false
			m.operatorMissed(&out, ev.Unavailable)
		case ev.Leg == legCitizen && m.phase == atDialCitizen:
			m.citLeg = false
			m.exit(&out, "failed", 0, "")
		}
	case aevLegUp:
		switch {
		case ev.Leg == legOperator && m.phase == atRingOperator:
			add(acAnswered{})
		case ev.Leg == legCitizen && m.phase == atDialCitizen:
			add(acStopTimer{Kind: atTimerCitizen})
			m.timers[atTimerCitizen] = 0
			m.settled = true
			add(acFinish{Result: "reached"})
			if !m.agentFirst {
				m.citLeg = false // the inbound call owns it now
				m.stopTimers(&out)
				add(acHandOver{})
				m.phase = atDone
				return out
			}
			m.phase = atTalking
			m.answeredAt = now
			add(acBridge{})
		}
	case aevAnswered:
		if m.phase != atRingOperator {
			return nil
		}
		if !ev.OK {
			// Redis gave the reservation away meanwhile: the operator is
			// not ours to end; the callback is due again.
			add(acHangup{Leg: legOperator, Reason: "normal"})
			m.opLeg = false
			m.settled = true
			add(acAbort{Reason: "reservation_lost"})
			m.stopTimers(&out)
			m.phase = atDone
			return out
		}
		add(acStopTimer{Kind: atTimerRing})
		m.timers[atTimerRing] = 0
		m.answered = true
		m.phase = atWhisper
		add(acWhisper{})
	case aevWhisperDone:
		if m.phase == atWhisper {
			m.dialCitizen(&out)
		}
	case aevBridged:
		// A failed bridge leaves two legs that cannot hear each other; the
		// operator hangs up and the attempt ends as a conversation.
	case aevLegGone:
		m.legGone(&out, ev)
	case aevTimer:
		if ev.Gen == 0 || m.timers[ev.Kind] != ev.Gen {
			return nil // stopped or restarted since
		}
		m.timers[ev.Kind] = 0
		switch ev.Kind {
		case atTimerRing:
			if m.phase == atRingOperator {
				add(acHangup{Leg: legOperator, Reason: "no_answer"})
			}
		case atTimerCitizen:
			if m.phase == atDialCitizen {
				add(acHangup{Leg: legCitizen, Reason: "no_answer"})
			}
		case atTimerRenew:
			add(acRenew{}, m.startTimer(atTimerRenew, m.times.Renew))
		case atTimerLease:
			if m.phase == atDialCitizen && !m.agentFirst {
				add(acExtendOffer{})
			}
		}
	case aevLeaseRenewed:
		// Lost: Redis recovered the reservation (this instance stalled);
		// the citizen is still called, and whoever holds the entry now
		// finds the callback in this attempt's hands.
		if ev.OK && m.phase == atDialCitizen && !m.agentFirst && m.timers[atTimerLease] == 0 {
			add(m.startTimer(atTimerLease, ev.Next))
		}
	}
	return out
}

func (m *attemptMachine) startTimer(k atTimerKind, d time.Duration) atCmd {
	m.gen++
	m.timers[k] = m.gen
	return acTimer{Kind: k, After: d, Gen: m.gen}
}

func (m *attemptMachine) dialCitizen(out *[]atCmd) {
	m.phase = atDialCitizen
	m.citLeg = true
	*out = append(*out, acDial{Leg: legCitizen}, m.startTimer(atTimerCitizen, m.times.Citizen+netAfter))
}

// operatorMissed: the operator did not take it; the entry is back at its
// place for the next operator and no attempt is counted.
func (m *attemptMachine) operatorMissed(out *[]atCmd, unreachable bool) {
	*out = append(*out, acGiveBack{Unreachable: unreachable}, acAbort{Reason: "operator_no_answer"})
	m.settled = true
	m.stopTimers(out)
	m.phase = atDone
}

func (m *attemptMachine) legGone(out *[]atCmd, ev aevLegGone) {
	switch ev.Leg {
	case legOperator:
		if !m.opLeg {
			return
		}
		m.opLeg = false
		switch m.phase {
		case atRingOperator:
			m.operatorMissed(out, false)
		case atWhisper, atDialCitizen:
			// The operator gave up before the citizen answered: not the
			// citizen's miss, so no attempt is counted.
			*out = append(*out, acAbort{Reason: "operator_left"})
			m.settled = true
			m.exit(out, "", 0, "")
		case atTalking:
			m.exit(out, "", ev.Cause, "operator")
		}
	case legCitizen:
		if !m.citLeg {
			return
		}
		m.citLeg = false
		switch m.phase {
		case atDialCitizen:
			m.exit(out, callbackResult(ev.Cause), ev.Cause, "")
		case atTalking:
			m.exit(out, "", ev.Cause, "caller")
		}
	}
}

// exit is the attempt's one way out once a leg was dialled: result into
// the store unless it has one, legs hung up, the bridge destroyed, the
// operator's turn ended (wrap-up only after a conversation) and the one
// record written. result is the citizen leg's failure ("" when the
// citizen was reached or never dialled); by who hung up a conversation.
func (m *attemptMachine) exit(out *[]atCmd, result string, cause int, by string) {
	add := func(c ...atCmd) { *out = append(*out, c...) }
	if result != "" && !m.settled {
		add(acFinish{Result: result, Cause: cause})
		m.settled = true
	}
	if !m.agentFirst {
		// The operator was never rung: offered the next caller, no miss
		// and no record of their own (the citizen was not reached).
		add(acReleaseEntry{})
		m.stopTimers(out)
		m.phase = atDone
		return
	}
	if m.citLeg {
		add(acHangup{Leg: legCitizen, Reason: "normal"})
		m.citLeg = false
	}
	if m.opLeg {
		add(acHangup{Leg: legOperator, Reason: "normal"})
		m.opLeg = false
	}
	outcome := "callback_interrupted"
	wrap := time.Duration(0)
	switch {
	case m.phase == atTalking:
		add(acDestroyBridge{})
		outcome, wrap = "callback_answered", m.times.WrapUp
	case result != "":
		outcome = "callback_" + result
	}
	m.stopTimers(out)
	add(acEndOperator{Wrap: wrap}, acRecord{Outcome: outcome, EndedBy: by, Cause: cause, AnsweredAt: m.answeredAt})
	m.phase = atDone
}

func (m *attemptMachine) stopTimers(out *[]atCmd) {
	for k, g := range m.timers {
		if g != 0 {
			*out = append(*out, acStopTimer{Kind: atTimerKind(k)})
			m.timers[k] = 0
		}
	}
}
