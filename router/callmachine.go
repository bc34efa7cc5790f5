package router

import (
	"time"
)

// callMachine is the life of one inbound call as a pure state machine, on
// the model of ivr.Machine: events (what the PBX, Redis and the clock say)
// go in with the time, commands (data) come out, and no I/O happens here,
// so every phase × event is table-tested (callmachine_test.go). The call's
// goroutine (call.go) executes the commands and feeds the results of those
// that can fail back as events. The menu itself stays in ivr.Machine, to
// which the call delegates while in phaseIVR.
//
// A phase has one meaning, and what the call holds is explicit: a place in
// a queue (queued), an operator ringing (offer), an operator leg (leg), a
// conversation (talking). Every way out goes through exit, which releases
// all of it, owes the callback and writes the one record.
type callMachine struct {
	phase phase

	policy     CallbackPolicy
	enqueuedAt time.Time // the caller's original queue time
	answeredAt time.Time // the operator's answer (the drop window counts from it)
	hasNumber  bool      // a number to call back (caller ID or keyed in)
	// calledBack: a citizen who answered a customer-first callback. That
	// callback was reached; giving up in the queue again owes no new one
	// (each would be dialled, answered and abandoned in turn: an earlier
	// simulator saw 336 abandons grow into 1,057 callbacks).
	calledBack bool

	queued  bool   // Redis holds the caller in a topic queue
	offer   *Offer // the reservation of the operator being rung
	leg     bool   // an operator leg exists
	talking bool   // an operator is on the call (bridged)

	unbridged    bool // answered, but the caller is not (yet) in the bridge
	operatorLost int  // operator lines that dropped during this call
	awaitingLeg  bool // the operator leg left; its cause is awaited

	announcing bool // an announcement (or the apology) is playing
	vhOffered  bool // the last message offered a callback ("press 1")

	entry *entryState // number entry in progress (phaseNumber)

	// xfer is the operator's transfer in progress (phaseTransfer,
	// phaseConsult, phaseTransferred, or a topic transfer being requeued).
	xfer *xferState

	goodbye        Outcome  // the closing message's outcome (phaseGoodbye)
	afterHoursWith []string // prompts once the after-hours offer is taken
	afterHoursTook bool

	// pending is what waits for the callback store's answer.
	pending *continuation
	// started: the call's first event (a new call, a called-back citizen
	// or an adoption) was taken; await: the results the machine waits for.
	// A result nobody waits for is a stray (a duplicate, or one late after
	// the call moved on): it changes nothing, but its offers are handed on.
	started bool
	await   awaitSet

	timers [numTimers]int // generation of each running timer, 0 if none
	gen    int
}

// phase is where the call stands; each has one meaning.
type phase int

const (
	phaseIVR      phase = iota // in the menu (ivr.Machine), or being answered
	phaseQueued                // waiting in a topic queue, music on hold
	phaseOffering              // an operator's phone is ringing
	phaseBridged               // talking to an operator
	phaseNumber                // keying in a number for a callback
	phaseGoodbye               // hearing a closing message, then hung up
	phaseDone                  // over: everything released, the record written
	// phaseTransfer: the operator handed the citizen to an outside
	// service; the citizen hears music while its line rings (blind), or is
	// being joined with the service that answered the operator (attended).
	phaseTransfer
	// phaseConsult: the operator consults an outside service (attended
	// transfer); the citizen waits on hold, out of the operator's bridge.
	phaseConsult
	// phaseTransferred: talking to an outside service; the operator is
	// released.
	phaseTransferred
)

func (p phase) String() string {
	return [...]string{"ivr", "queued", "offering", "bridged", "number", "goodbye", "done",
		"transfer", "consult", "transferred"}[p]
}

// xferOp is what an operator asks of the call they are talking on.
type xferOp int

const (
	xferBlind    xferOp = iota + 1 // hand the citizen to an outside service
	xferTopic                      // put the citizen in another topic's queue
	xferConsult                    // consult a service, the citizen on hold
	xferComplete                   // join the citizen with the consulted service
	xferCancel                     // end the consult, back to the citizen
)

func (o xferOp) String() string {
	return [...]string{"", "blind", "topic", "consult", "complete", "cancel"}[o]
}

// xferState is a transfer in progress.
type xferState struct {
	op     xferOp // xferBlind, xferTopic or xferConsult
	svcLeg bool   // a leg to the service exists (dialled, ringing or up)
	svcUp  bool   // the service answered
}

// Refusals of a transfer request, as told to the operator.
const (
	refuseNotTalking = "the operator is not in a conversation"
	refuseBusy       = "a transfer is already in progress"
	refuseNoConsult  = "no consultation in progress"
	refuseNotAnswerd = "the service has not answered yet"
)

// entryState is the number-entry dialogue: key it in, end with #, hear it
// read back, 1 confirms, 2 starts again.
type entryState struct {
	digits     string
	confirming bool
	tries      int
	then       continuation
}

// continuation is what a callback offer leads to once its number is known
// or the store answered.
type continuation struct {
	kind contKind
	// no service: why, and what is said with or without a callback
	why             string
	withCallback    []string
	withoutCallback []string
}

type contKind int

const (
	contVirtualHold contKind = iota + 1 // the caller pressed 1 while waiting
	contNoService                       // closed, queue full
	contOverflow                        // waited max_wait with nowhere to overflow
)

// awaitSet is a set of command results the machine waits for.
type awaitSet uint16

const (
	awAnswer awaitSet = 1 << iota
	awTopic
	awEnqueue
	awFallback
	awTransfer
	awRing
	awRequeue
	awOverflow
	awService       // cmdDialService → evServiceDialed
	awServiceBridge // cmdBridgeService → evServiceBridged
)

// resultOf says which awaited result ev is, if it is one.
func resultOf(ev callEvent) (awaitSet, bool) {
	switch ev.(type) {
	case evAnswerResult:
		return awAnswer, true
	case evTopicChecked:
		return awTopic, true
	case evEnqueued:
		return awEnqueue, true
	case evFallback:
		return awFallback, true
	case evTransferred:
		return awTransfer, true
	case evRing:
		return awRing, true
	case evRequeued:
		return awRequeue, true
	case evOverflow:
		return awOverflow, true
	case evServiceDialed:
		return awService, true
	case evServiceBridged:
		return awServiceBridge, true
	}
	return 0, false
}

// ask emits cmd and waits for its result.
func (m *callMachine) ask(out *cmds, result awaitSet, cmd callCmd) {
	m.await |= result
	out.add(cmd)
}

// timerKind names the call's timers; the menu's own timer stays in the
// menu driver.
type timerKind int

const (
	timerRing     timerKind = iota // net for a lost ChannelDestroyed of a ringing leg
	timerLease                     // renew the reservation's lease
	timerMaxWait                   // the topic's max_wait (or a retry of it)
	timerLegCause                  // wait for a departed operator leg's cause
	timerEntry                     // silence during number entry
	numTimers
)

func (k timerKind) String() string {
	return [...]string{"ring", "lease", "max_wait", "leg_cause", "entry"}[k]
}

// Durations the machine decides itself.
const (
	maxWaitRetry     = 2 * time.Second // an offer is in flight: decide again shortly
	entryFirstDigit  = 20 * time.Second
	entryNextDigit   = 10 * time.Second
	entryConfirm     = 15 * time.Second
	maxEntryTries    = 3
	legCauseWait     = time.Second // for the cause of an operator leg that left
	maxNumberDigits  = 15          // E.164's longest
	defaultRingAfter = 15 * time.Second
)

func newCallMachine(hasNumber bool) *callMachine {
	return &callMachine{phase: phaseIVR, hasNumber: hasNumber}
}

// ---- events ----

// callEvent is one thing that happened to the call.
type callEvent interface{ isCallEvent() }

// External events.
type (
	// evStart: a new inbound call (answer it, then the menu).
	evStart struct{}
	// evCalledBack: a citizen who answered a customer-first callback goes
	// straight into the topic's queue.
	evCalledBack struct {
		Topic    string
		Priority int
	}
	// evAdopted: a restarted router took the call over; Redis said where
	// it stood (the executor has set the topic and the record).
	evAdopted struct {
		Kind       adoptKind
		Policy     CallbackPolicy
		EnqueuedAt time.Time
		AnsweredAt time.Time
		Announce   time.Duration
		MaxWait    time.Duration
	}
	evCallerHangup struct {
		Cause int // StasisEnd, ChannelDestroyed or HangupRequest of the caller
		// PBXLost: the channel vanished in a restart of the PBX: the line
		// was cut, the citizen did not hang up.
		PBXLost bool
	}
	evDigit        struct{ Digit string }
	evPlaybackDone struct {
		Which playbackKind
		ID    string
		State string
	}
	evOffer        struct{ Offer Offer } // an operator was reserved for this caller
	evLegAnswered  struct{}              // the operator leg entered the application
	evLegHangupReq struct{ Cause int }
	evLegStasisEnd struct {
		Cause    int
		Resynced bool // synthesised by a re-sync: no ChannelDestroyed will follow
	}
	evLegDestroyed struct{ Cause int }
	evTimer        struct {
		Kind timerKind
		Gen  int
	}
	evAnnounceTick struct{}
	// evMenuDone: the menu (ivr.Machine) ended; Out nil means it failed.
	evMenuDone struct{ Out *menuOutcome }
	// evTransferRequest: the operator on the call asks for a transfer
	// (from the desktop). Invalid is the executor's refusal of the target
	// (an unknown service or topic, a topic closed now); Policy is the
	// target topic's callback policy (xferTopic).
	evTransferRequest struct {
		Op      xferOp
		Invalid string
		Policy  CallbackPolicy
	}
	evServiceAnswered struct{}            // the service leg entered the application
	evServiceGone     struct{ Cause int } // the service leg left (StasisEnd or ChannelDestroyed)
)

type adoptKind int

const (
	adoptConversation adoptKind = iota // connected, its operator leg still there
	adoptLostLeg                       // connected, the operator leg gone
	adoptWaiting                       // waiting or offered
	adoptMenu                          // in the menu, or its topic is gone
)

// playbackKind tells the machine whose playback ended.
type playbackKind int

const (
	playOther    playbackKind = iota // a menu prompt, or one no longer tracked
	playAnnounce                     // the position announcement or the apology
	playGoodbye                      // the closing message
	playEntry                        // a number-entry prompt
)

// Results of commands that can fail.
type (
	evAnswerResult struct{ Gone bool } // the caller's channel was gone
	evTopicChecked struct {
		Result topicResult
		Policy CallbackPolicy
		At     time.Time // the queue time the caller keeps
	}
	evEnqueued struct {
		Result   enqueueResult
		Mine     bool // one of Offers rings an operator for this caller
		Offers   []Offer
		Announce time.Duration // period of position announcements, 0: none
		MaxWait  time.Duration // 0: no max_wait timer
	}
	evFallback struct{ Result fallbackResult }
	evRing     struct {
		Result ringResult
		Offer  Offer
		Ring   time.Duration // the ring timer's net
		Lease  time.Duration // renew the lease after this, 0: never
	}
	evLeaseRenewed struct {
		OK    bool
		Offer Offer
		Next  time.Duration
	}
	evAnswered struct {
		OK bool // the reservation held: the operator may talk
	}
	evBridged struct{ OK bool }
	// evCallerJoined: the caller and the operator leg are both in the
	// call's bridge. The PBX accepts a channel into a bridge before it is
	// in it (a channel busy with a playback joins later), so the
	// conversation counts as held only from here: a caller who leaves
	// before never talked.
	evCallerJoined struct{}
	evRequeued     struct {
		OK     bool
		Offers []Offer
	}
	evOverflow struct {
		Result  overflowResult
		Policy  CallbackPolicy
		MaxWait time.Duration
		Offers  []Offer
	}
	// evAnnounced is the result of cmdAnnounce: whether it plays and
	// whether it offered a callback ("press 1").
	evAnnounced struct {
		Playing         bool
		OfferedCallback bool
	}
	evCallbackResult struct{ OK bool } // a callback is now owed
	evPlayFailed     struct{ Which playbackKind }
	evLeft           struct{ Next []Offer } // Redis released the caller's place
	evTransferred    struct{ OK bool }
	evServiceDialed  struct{ OK bool } // the originate to the service was accepted
	evServiceBridged struct{ OK bool } // the service leg joined its bridge
)

type topicResult int

const (
	topicOpen topicResult = iota
	topicClosed
	topicUnknown
)

type enqueueResult int

const (
	enqueueOK enqueueResult = iota
	enqueueFull
	enqueueFailed // Redis unreachable or stalled
)

type fallbackResult int

const (
	fallbackOK   fallbackResult = iota
	fallbackGone                // the caller hung up meanwhile
	fallbackFailed
)

type ringResult int

const (
	ringOK          ringResult = iota
	ringNoEndpoint             // the operator has no endpoint
	ringUnreachable            // the phone is not registered
	ringFailed                 // the originate failed otherwise
)

type overflowResult int

const (
	overflowMoved      overflowResult = iota
	overflowRetry                     // being offered right now
	overflowNowhere                   // no overflow topic
	overflowStuck                     // leaving the first queue failed: stay
	overflowJoinFailed                // out of the first queue, not in the second
)

func (evStart) isCallEvent()           {}
func (evCalledBack) isCallEvent()      {}
func (evAdopted) isCallEvent()         {}
func (evCallerHangup) isCallEvent()    {}
func (evDigit) isCallEvent()           {}
func (evPlaybackDone) isCallEvent()    {}
func (evOffer) isCallEvent()           {}
func (evLegAnswered) isCallEvent()     {}
func (evLegHangupReq) isCallEvent()    {}
func (evLegStasisEnd) isCallEvent()    {}
func (evLegDestroyed) isCallEvent()    {}
func (evTimer) isCallEvent()           {}
func (evAnnounceTick) isCallEvent()    {}
func (evMenuDone) isCallEvent()        {}
func (evAnswerResult) isCallEvent()    {}
func (evTopicChecked) isCallEvent()    {}
func (evEnqueued) isCallEvent()        {}
func (evFallback) isCallEvent()        {}
func (evRing) isCallEvent()            {}
func (evLeaseRenewed) isCallEvent()    {}
func (evAnswered) isCallEvent()        {}
func (evBridged) isCallEvent()         {}
func (evCallerJoined) isCallEvent()    {}
func (evRequeued) isCallEvent()        {}
func (evOverflow) isCallEvent()        {}
func (evAnnounced) isCallEvent()       {}
func (evCallbackResult) isCallEvent()  {}
func (evPlayFailed) isCallEvent()      {}
func (evLeft) isCallEvent()            {}
func (evTransferred) isCallEvent()     {}
func (evTransferRequest) isCallEvent() {}
func (evServiceAnswered) isCallEvent() {}
func (evServiceGone) isCallEvent()     {}
func (evServiceDialed) isCallEvent()   {}
func (evServiceBridged) isCallEvent()  {}

// ---- commands ----

// callCmd is one thing the machine asks the call's executor to do.
type callCmd interface{ isCallCmd() }

type (
	cmdAnswerCaller struct{}                   // → evAnswerResult
	cmdStartMenu    struct{}                   // → evMenuDone when it ends
	cmdMenuDigit    struct{ Digit string }     // → evMenuDone when it ends
	cmdMenuPlayback struct{ ID, State string } // → evMenuDone when it ends
	cmdStopMenu     struct{}
	cmdMenuChoice   struct{ Out menuOutcome } // record the path and the language
	cmdCheckTopic   struct {
		Topic      string
		Priority   int
		CalledBack bool // keep the original queue time and priority
	} // → evTopicChecked
	cmdEnqueue  struct{}                // → evEnqueued
	cmdFallback struct{}                // hand to the PBX fallback, withdraw the entry → evFallback
	cmdTransfer struct{ Number string } // → evTransferred
	cmdRing     struct{ Offer Offer }   // originate to the operator → evRing
	// cmdReleaseOffer gives a reservation back (the caller keeps its place);
	// Unreachable takes the operator offline.
	cmdReleaseOffer struct {
		Offer       Offer
		Unreachable bool
		Reason      string
	}
	// cmdOfferAfterEnd: an offer reached a call that is over; it goes the
	// way of any offer for a caller who left (out of Redis, the operator
	// offered the next caller), never back to the operator as a no-answer.
	cmdOfferAfterEnd struct{ Offer Offer }
	cmdRenewLease    struct{ Offer Offer } // → evLeaseRenewed
	cmdAnswered      struct{ Offer Offer } // tell Redis → evAnswered
	cmdBridge        struct{}              // → evBridged
	cmdConnected     struct{}              // the record and metrics of an answer; owed callbacks closed
	cmdHangupLeg     struct{ Reason string }
	cmdForgetLeg     struct{} // the leg's events no longer reach the call
	cmdHangupCaller  struct{}
	// cmdEndConversation hangs up the other side, frees the operator into
	// wrap-up, destroys the bridge and remembers the call for "call back".
	cmdEndConversation struct{ By string }
	// cmdOperatorDropped frees the operator of a line that dropped and
	// destroys the bridge; the citizen stays.
	cmdOperatorDropped struct{ Cause int }
	cmdRequeue         struct{} // back in the queue at the original time → evRequeued
	// cmdHandOnOperator: the dropped operator's wrap-up starts, or (no
	// wrap-up) the callers their release freed are delivered.
	cmdHandOnOperator     struct{ WrapUp bool }
	cmdLeaveQueue         struct{}                // out of Redis → evLeft
	cmdOverflow           struct{}                // → evOverflow
	cmdScheduleCallback   struct{ Reason string } // → evCallbackResult
	cmdNumberEntered      struct{ Number string }
	cmdDeliver            struct{ Offers []Offer }
	cmdStartMOH           struct{}
	cmdStopMOH            struct{}
	cmdAnnounce           struct{} // → evAnnounced
	cmdStartAnnouncements struct{ Every time.Duration }
	cmdStopAnnouncement   struct{}                   // the one playing, if any
	cmdPlayApology        struct{}                   // → evPlayFailed{playAnnounce}
	cmdPlayGoodbye        struct{ Prompts []string } // → evPlayFailed{playGoodbye}
	cmdStopGoodbye        struct{}
	cmdPlayEntry          struct {
		Prompts []string
		Digits  string // read back after Prompts[0]
	}
	cmdStopEntryPrompt struct{}
	cmdSetTimer        struct {
		Kind  timerKind
		Gen   int
		After time.Duration
	}
	cmdCancelTimer struct{ Kind timerKind }
	cmdNote        struct{ Text string } // appended to the record's note
	// cmdTransferReply answers the operator's request: "" accepted, else
	// why it was refused (the call stays as it was).
	cmdTransferReply struct{ Refused string }
	// cmdReleaseOperator ends the operator's part after a transfer: their
	// leg is forgotten and hung up, they go to wrap-up as after a
	// conversation, the conversation's bridge is destroyed; the citizen
	// stays in the application.
	cmdReleaseOperator struct{}
	// cmdHoldCitizen takes the citizen out of the operator's bridge (it is
	// destroyed) onto music on hold, for a consultation.
	cmdHoldCitizen struct{}
	// cmdDialService originates a leg to the requested service through
	// the trunk → evServiceDialed; its events reach the call.
	cmdDialService struct{}
	// cmdBridgeService joins the service leg with the operator (consult)
	// or with the citizen → evServiceBridged.
	cmdBridgeService struct{ WithOperator bool }
	// cmdEndService hangs the service leg up (if still there), forgets it
	// and destroys the bridge it was in.
	cmdEndService struct{}
	// cmdSetTopic moves the call to the requested topic (xferTopic).
	cmdSetTopic struct{}
	// cmdTransferDone adds the transfer to the record with its outcome
	// (connected, returned, failed).
	cmdTransferDone struct{ Outcome string }
	// cmdRecord writes the call's one record.
	cmdRecord struct {
		Outcome Outcome
		By      string
		Cause   int
	}
)

func (cmdAnswerCaller) isCallCmd()       {}
func (cmdStartMenu) isCallCmd()          {}
func (cmdMenuDigit) isCallCmd()          {}
func (cmdMenuPlayback) isCallCmd()       {}
func (cmdStopMenu) isCallCmd()           {}
func (cmdMenuChoice) isCallCmd()         {}
func (cmdCheckTopic) isCallCmd()         {}
func (cmdEnqueue) isCallCmd()            {}
func (cmdFallback) isCallCmd()           {}
func (cmdTransfer) isCallCmd()           {}
func (cmdRing) isCallCmd()               {}
func (cmdReleaseOffer) isCallCmd()       {}
func (cmdOfferAfterEnd) isCallCmd()      {}
func (cmdRenewLease) isCallCmd()         {}
func (cmdAnswered) isCallCmd()           {}
func (cmdBridge) isCallCmd()             {}
func (cmdConnected) isCallCmd()          {}
func (cmdHangupLeg) isCallCmd()          {}
func (cmdForgetLeg) isCallCmd()          {}
func (cmdHangupCaller) isCallCmd()       {}
func (cmdEndConversation) isCallCmd()    {}
func (cmdOperatorDropped) isCallCmd()    {}
func (cmdRequeue) isCallCmd()            {}
func (cmdHandOnOperator) isCallCmd()     {}
func (cmdLeaveQueue) isCallCmd()         {}
func (cmdOverflow) isCallCmd()           {}
func (cmdScheduleCallback) isCallCmd()   {}
func (cmdNumberEntered) isCallCmd()      {}
func (cmdDeliver) isCallCmd()            {}
func (cmdStartMOH) isCallCmd()           {}
func (cmdStopMOH) isCallCmd()            {}
func (cmdAnnounce) isCallCmd()           {}
func (cmdStartAnnouncements) isCallCmd() {}
func (cmdStopAnnouncement) isCallCmd()   {}
func (cmdPlayApology) isCallCmd()        {}
func (cmdPlayGoodbye) isCallCmd()        {}
func (cmdStopGoodbye) isCallCmd()        {}
func (cmdPlayEntry) isCallCmd()          {}
func (cmdStopEntryPrompt) isCallCmd()    {}
func (cmdSetTimer) isCallCmd()           {}
func (cmdCancelTimer) isCallCmd()        {}
func (cmdNote) isCallCmd()               {}
func (cmdRecord) isCallCmd()             {}
func (cmdTransferReply) isCallCmd()      {}
func (cmdReleaseOperator) isCallCmd()    {}
func (cmdHoldCitizen) isCallCmd()        {}
func (cmdDialService) isCallCmd()        {}
func (cmdBridgeService) isCallCmd()      {}
func (cmdEndService) isCallCmd()         {}
func (cmdSetTopic) isCallCmd()           {}
func (cmdTransferDone) isCallCmd()       {}

// ---- transitions ----

// Handle applies one event at now and returns what to do, in order.
// Results of the commands are fed back as events after the whole list
// has run. After phaseDone every event is a no-op, except that offers are
// never lost: one arriving is released, and ones a release freed are
// delivered.
func (m *callMachine) Handle(ev callEvent, now time.Time) []callCmd {
	var out cmds
	m.handle(&out, ev, now)
	return out
}

type cmds []callCmd

func (c *cmds) add(cmd ...callCmd) { *c = append(*c, cmd...) }

func (m *callMachine) handle(out *cmds, ev callEvent, now time.Time) {
	if m.phase == phaseDone {
		m.afterDone(out, ev)
		return
	}
	if r, ok := resultOf(ev); ok {
		if m.await&r == 0 {
			m.stray(out, ev)
			return
		}
		m.await &^= r
	}
	switch ev.(type) {
	case evStart, evCalledBack, evAdopted:
		if m.started {
			return
		}
		m.started = true
	}
	switch e := ev.(type) {
	case evStart:
		m.ask(out, awAnswer, cmdAnswerCaller{})
	case evAnswerResult:
		if e.Gone {
			m.exit(out, now, exitSpec{outcome: OutcomeAbandoned, by: "caller"})
			return
		}
		out.add(cmdStartMenu{})
	case evCalledBack:
		m.calledBack = true
		m.ask(out, awTopic, cmdCheckTopic{Topic: e.Topic, Priority: e.Priority, CalledBack: true})
	case evAdopted:
		m.adopted(out, e, now)
	case evMenuDone:
		m.menuDone(out, e.Out, now)
	case evTopicChecked:
		m.topicChecked(out, e, now)
	case evEnqueued:
		m.enqueued(out, e, now)
	case evFallback:
		m.fallback(out, e, now)
	case evTransferred:
		if e.OK {
			m.exit(out, now, exitSpec{outcome: OutcomeTransferred, by: "system"})
			return
		}
		m.exit(out, now, exitSpec{outcome: OutcomeRejected, by: "system", hangUp: true})
	case evCallerHangup:
		if e.PBXLost {
			m.pbxLost(out, now)
			return
		}
		m.callerGone(out, e.Cause, now)
	case evDigit:
		m.digit(out, e.Digit, now)
	case evPlaybackDone:
		m.playbackDone(out, e, now)
	case evPlayFailed:
		switch {
		case e.Which == playGoodbye && m.phase == phaseGoodbye:
			m.exit(out, now, exitSpec{outcome: m.goodbye, by: "system", hangUp: true})
		case e.Which == playAnnounce:
			m.announcing = false
			if m.phase == phaseQueued {
				out.add(cmdStartMOH{})
			}
		}
	case evOffer:
		m.offered(out, e.Offer)
	case evRing:
		m.ringResult(out, e)
	case evTimer:
		if e.Gen == 0 || m.timers[e.Kind] != e.Gen {
			return // cancelled or re-armed since
		}
		m.timers[e.Kind] = 0
		m.timerFired(out, e.Kind, now)
	case evLeaseRenewed:
		if m.phase != phaseOffering || m.offer == nil {
			return
		}
		if !e.OK {
			return // no further renewal: the lease may lapse
		}
		m.offer = &e.Offer
		if e.Next > 0 {
			m.setTimer(out, timerLease, e.Next)
		}
	case evLegAnswered:
		if m.phase == phaseOffering {
			out.add(cmdAnswered{Offer: *m.offer})
		}
	case evAnswered:
		m.answered(out, e, now)
	case evBridged:
		// Joined or not, the caller is not in the bridge until the PBX
		// says so (evCallerJoined).
		m.unbridged = m.phase == phaseBridged
	case evCallerJoined:
		if m.phase == phaseBridged {
			m.unbridged = false
		}
	case evLegHangupReq:
		// ChannelDestroyed follows with the final cause.
		if m.phase == phaseBridged && m.talking {
			m.awaitLegCause(out)
		}
	case evLegStasisEnd:
		switch m.phase {
		case phaseConsult:
			m.consultOperatorGone(out, e.Cause)
		case phaseOffering:
			m.offerFailed(out, e.Cause)
		case phaseBridged:
			if !e.Resynced {
				// The cause comes with ChannelDestroyed right after this:
				// it tells a dropped line from a hang-up.
				m.awaitLegCause(out)
				return
			}
			m.operatorLeft(out, e.Cause, now)
		}
	case evLegDestroyed:
		switch m.phase {
		case phaseConsult:
			m.consultOperatorGone(out, e.Cause)
		case phaseOffering:
			m.offerFailed(out, e.Cause)
		case phaseBridged:
			m.operatorLeft(out, e.Cause, now)
		}
	case evRequeued:
		m.requeued(out, e, now)
	case evAnnounceTick:
		if m.phase == phaseQueued && !m.announcing {
			m.announcing = true
			out.add(cmdAnnounce{})
		}
	case evAnnounced:
		if m.phase != phaseQueued {
			return
		}
		m.announcing = e.Playing
		m.vhOffered = m.vhOffered || e.OfferedCallback
	case evOverflow:
		m.overflowed(out, e, now)
	case evCallbackResult:
		m.callbackResult(out, e, now)
	case evLeft:
		deliver(out, e.Next)
	case evTransferRequest:
		m.transferRequest(out, e, now)
	case evServiceDialed:
		m.serviceDialed(out, e, now)
	case evServiceAnswered:
		m.serviceAnswered(out)
	case evServiceBridged:
		m.serviceBridged(out, e, now)
	case evServiceGone:
		m.serviceGone(out, e, now)
	}
}

// stray handles a result nobody waits for: nothing changes, but an
// operator it rang is released and callers it freed are delivered.
func (m *callMachine) stray(out *cmds, ev callEvent) {
	switch e := ev.(type) {
	case evRing:
		// Its leg is not this call's to hang up (it may be talking on
		// another); the reservation is given back.
		out.add(cmdReleaseOffer{Offer: e.Offer, Reason: "unexpected"})
	case evEnqueued:
		deliver(out, e.Offers)
	case evOverflow:
		deliver(out, e.Offers)
	case evRequeued:
		deliver(out, e.Offers)
	}
}

// afterDone: a finished call does nothing more, but an offer is not ours
// to keep and offers a release freed must reach their operators.
func (m *callMachine) afterDone(out *cmds, ev callEvent) {
	switch e := ev.(type) {
	case evOffer:
		out.add(cmdOfferAfterEnd(e))
	case evRing:
		out.add(cmdOfferAfterEnd{Offer: e.Offer})
	case evLeft:
		deliver(out, e.Next)
	case evRequeued:
		deliver(out, e.Offers)
	case evEnqueued:
		deliver(out, e.Offers)
	case evOverflow:
		deliver(out, e.Offers)
	}
}

func (m *callMachine) adopted(out *cmds, e evAdopted, now time.Time) {
	m.policy, m.enqueuedAt = e.Policy, e.EnqueuedAt
	switch e.Kind {
	case adoptConversation:
		m.phase, m.talking, m.leg, m.answeredAt = phaseBridged, true, true, e.AnsweredAt
	case adoptLostLeg:
		m.phase, m.talking, m.answeredAt = phaseBridged, true, e.AnsweredAt
		m.exit(out, now, exitSpec{outcome: OutcomeAnswered, by: "operator"})
	case adoptWaiting:
		m.phase, m.queued = phaseQueued, true
		out.add(cmdStartMOH{})
		if e.Announce > 0 {
			out.add(cmdStartAnnouncements{Every: e.Announce})
		}
		if e.MaxWait > 0 {
			m.setTimer(out, timerMaxWait, e.MaxWait)
		}
	default:
		m.ask(out, awAnswer, cmdAnswerCaller{})
	}
}

func (m *callMachine) menuDone(out *cmds, o *menuOutcome, now time.Time) {
	if m.phase != phaseIVR {
		return
	}
	if o == nil {
		m.exit(out, now, exitSpec{outcome: OutcomeIVRHangup, by: "system", hangUp: true})
		return
	}
	out.add(cmdMenuChoice{Out: *o}, cmdStopMenu{})
	switch o.Kind {
	case menuQueue:
		m.ask(out, awTopic, cmdCheckTopic{Topic: o.Topic, Priority: o.Priority})
	case menuTransfer:
		m.ask(out, awTransfer, cmdTransfer{Number: o.Number})
	default:
		m.exit(out, now, exitSpec{outcome: OutcomeIVRHangup, by: "system", hangUp: true})
	}
}

func (m *callMachine) topicChecked(out *cmds, e evTopicChecked, now time.Time) {
	if m.phase != phaseIVR {
		return
	}
	m.policy, m.enqueuedAt = e.Policy, e.At
	switch e.Result {
	case topicUnknown:
		m.exit(out, now, exitSpec{outcome: OutcomeRejected, by: "system", hangUp: true})
	case topicClosed:
		// After hours or a holiday: say when we open and call back then.
		m.noService(out, continuation{kind: contNoService, why: "closed",
			withCallback: []string{promptClosedCallback}, withoutCallback: []string{promptClosed}}, now)
	default:
		m.phase = phaseQueued
		out.add(cmdStartMOH{})
		m.ask(out, awEnqueue, cmdEnqueue{})
	}
}

func (m *callMachine) enqueued(out *cmds, e evEnqueued, now time.Time) {
	if m.phase != phaseQueued || m.queued {
		deliver(out, e.Offers)
		return
	}
	switch e.Result {
	case enqueueFull:
		m.noService(out, continuation{kind: contNoService, why: "queue_full",
			withCallback: []string{promptCallbackConfirmed}, withoutCallback: []string{promptGoodbye}}, now)
		return
	case enqueueFailed:
		// No caller is hung up because Redis is away: the PBX's fallback
		// takes them. The enqueue may have held: its entry is withdrawn.
		m.queued = true
		out.add(cmdStopMOH{})
		m.ask(out, awFallback, cmdFallback{})
		return
	}
	m.queued = true
	if e.Announce > 0 {
		out.add(cmdStartAnnouncements{Every: e.Announce})
	}
	if e.MaxWait > 0 {
		m.setTimer(out, timerMaxWait, e.MaxWait)
	}
	// Where they stand straight away, unless an operator rings already.
	if !e.Mine && !m.announcing {
		m.announcing = true
		out.add(cmdAnnounce{})
	}
	deliver(out, e.Offers)
}

func (m *callMachine) fallback(out *cmds, e evFallback, now time.Time) {
	switch e.Result {
	case fallbackGone:
		// The caller hung up while Redis stalled: one who waited and left.
		m.exit(out, now, exitSpec{outcome: OutcomeAbandoned, by: "caller", abandonCallback: true})
	case fallbackFailed:
		m.exit(out, now, exitSpec{outcome: OutcomeRejected, by: "system", hangUp: true})
	default:
		// The exit withdraws the entry the enqueue may have left.
		out.add(cmdNote{Text: "redis_unreachable"})
		m.exit(out, now, exitSpec{outcome: OutcomeFallback, by: "system"})
	}
}

// pbxLost: the PBX restarted and the citizen's channel went with it. The
// line was cut: a citizen who held a place in a queue or talked to an
// operator is owed a callback, however short the wait.
func (m *callMachine) pbxLost(out *cmds, now time.Time) {
	out.add(cmdNote{Text: "pbx_restarted"})
	switch m.phase {
	case phaseGoodbye:
		// Told a callback is coming: it is already owed.
		m.callerGone(out, 0, now)
	case phaseIVR:
		m.exit(out, now, exitSpec{outcome: OutcomeAbandoned, by: "pbx"})
	case phaseTransferred:
		m.exit(out, now, exitSpec{outcome: OutcomeTransferred, by: "pbx"})
	default:
		if m.phase == phaseConsult || m.phase == phaseTransfer {
			out.add(cmdTransferDone{Outcome: xferFailed})
		}
		m.exit(out, now, exitSpec{outcome: OutcomeDropped, by: "pbx", lineCut: true})
	}
}

// callerGone: the citizen hung up (or vanished) in any phase.
func (m *callMachine) callerGone(out *cmds, cause int, now time.Time) {
	switch m.phase {
	case phaseIVR:
		m.exit(out, now, exitSpec{outcome: OutcomeAbandoned, by: "caller", cause: cause})
	case phaseGoodbye:
		m.exit(out, now, exitSpec{outcome: m.goodbye, by: "caller", cause: cause})
	case phaseNumber, phaseQueued, phaseOffering:
		// Holding a place in a queue (also while keying a number on
		// virtual hold): out of Redis, and the callback owed.
		m.exit(out, now, exitSpec{outcome: OutcomeAbandoned, by: "caller", cause: cause, abandonCallback: m.queued})
	case phaseBridged:
		m.exit(out, now, exitSpec{outcome: OutcomeAnswered, by: "caller", cause: cause})
	case phaseConsult:
		// The call is over: the consultation (and the operator) with it.
		out.add(cmdTransferDone{Outcome: xferFailed})
		m.exit(out, now, exitSpec{outcome: OutcomeAnswered, by: "caller", cause: cause})
	case phaseTransfer:
		// Gone before the service answered: served by an operator, so no
		// callback, but not transferred either.
		out.add(cmdTransferDone{Outcome: xferFailed})
		m.exit(out, now, exitSpec{outcome: OutcomeAbandoned, by: "caller", cause: cause})
	case phaseTransferred:
		m.exit(out, now, exitSpec{outcome: OutcomeTransferred, by: "caller", cause: cause})
	}
}

func (m *callMachine) digit(out *cmds, d string, now time.Time) {
	switch {
	case m.phase == phaseIVR:
		out.add(cmdMenuDigit{Digit: d})
	case m.phase == phaseNumber:
		m.entryDigit(out, d, now)
	case m.phase == phaseQueued && m.vhOffered && d == "1":
		m.vhOffered = false
		m.takeVirtualHold(out, now)
	case m.phase == phaseGoodbye && m.vhOffered && d == "1":
		// The after-hours offer taken.
		m.vhOffered = false
		m.afterHoursTook = true
		out.add(cmdStopGoodbye{})
		m.noService(out, continuation{kind: contNoService, why: "closed",
			withCallback: m.afterHoursWith, withoutCallback: []string{promptClosed}}, now)
	}
}

func (m *callMachine) playbackDone(out *cmds, e evPlaybackDone, now time.Time) {
	switch {
	case m.phase == phaseGoodbye && e.Which == playGoodbye:
		m.exit(out, now, exitSpec{outcome: m.goodbye, by: "system", hangUp: true})
	case m.phase == phaseIVR:
		out.add(cmdMenuPlayback{ID: e.ID, State: e.State})
	case e.Which == playAnnounce:
		m.announcing = false
		if m.phase == phaseQueued || m.phase == phaseOffering {
			out.add(cmdStartMOH{})
		}
	}
}

// offered: an operator was reserved. An operator is better than a
// callback, so one arriving during number entry on virtual hold wins.
func (m *callMachine) offered(out *cmds, o Offer) {
	if m.phase == phaseNumber && m.queued {
		m.entry = nil
		m.cancelTimer(out, timerEntry)
		out.add(cmdStopEntryPrompt{})
		m.phase = phaseQueued
		out.add(cmdStartMOH{})
	}
	if m.phase != phaseQueued || !m.queued {
		// Already offered, not queued or finishing: not ours to use.
		out.add(cmdReleaseOffer{Offer: o, Reason: "unexpected"})
		return
	}
	m.ask(out, awRing, cmdRing{Offer: o})
}

func (m *callMachine) ringResult(out *cmds, e evRing) {
	if m.phase != phaseQueued || m.offer != nil {
		// Not the ring this call asked for: the reservation is given back.
		out.add(cmdReleaseOffer{Offer: e.Offer, Reason: "unexpected"})
		return
	}
	switch e.Result {
	case ringNoEndpoint, ringUnreachable:
		out.add(cmdReleaseOffer{Offer: e.Offer, Unreachable: true, Reason: "unreachable"})
		return
	case ringFailed:
		out.add(cmdReleaseOffer{Offer: e.Offer, Reason: "originate_failed"})
		return
	}
	o := e.Offer
	m.phase, m.offer, m.leg = phaseOffering, &o, true
	ring := e.Ring
	if ring <= 0 {
		ring = defaultRingAfter
	}
	m.setTimer(out, timerRing, ring)
	if e.Lease > 0 {
		m.setTimer(out, timerLease, e.Lease)
	}
}

func (m *callMachine) timerFired(out *cmds, k timerKind, now time.Time) {
	switch k {
	case timerRing:
		if m.phase == phaseOffering {
			// The leg's ChannelDestroyed settles the offer.
			out.add(cmdHangupLeg{Reason: "no_answer"})
		}
	case timerLease:
		if m.phase == phaseOffering && m.offer != nil {
			out.add(cmdRenewLease{Offer: *m.offer})
		}
	case timerMaxWait:
		switch m.phase {
		case phaseOffering, phaseNumber:
			// Decide once the offer settles or the number is in.
			m.setTimer(out, timerMaxWait, maxWaitRetry)
		case phaseQueued:
			m.ask(out, awOverflow, cmdOverflow{})
		}
	case timerLegCause:
		if m.phase == phaseBridged && m.awaitingLeg {
			m.operatorLeft(out, 0, now)
		}
	case timerEntry:
		if m.phase == phaseNumber && m.entry != nil {
			if !m.entry.confirming && m.entry.digits != "" {
				m.readBack(out) // the caller forgot the #
				return
			}
			m.promptNumber(out)
		}
	}
}

func (m *callMachine) offerFailed(out *cmds, cause int) {
	o := *m.offer
	m.offer, m.leg, m.phase = nil, false, phaseQueued
	m.cancelTimer(out, timerRing)
	m.cancelTimer(out, timerLease)
	out.add(cmdForgetLeg{}, cmdReleaseOffer{Offer: o, Reason: offerFailure(cause)})
}

func (m *callMachine) answered(out *cmds, e evAnswered, now time.Time) {
	if m.phase != phaseOffering {
		return
	}
	if !e.OK {
		// The reservation was lost (its lease lapsed and it was given
		// away): this operator must not talk to the caller, who waits on.
		m.offer, m.leg, m.phase = nil, false, phaseQueued
		m.cancelTimer(out, timerRing)
		m.cancelTimer(out, timerLease)
		out.add(cmdHangupLeg{Reason: "normal"}, cmdForgetLeg{})
		return
	}
	m.cancelTimer(out, timerRing)
	m.cancelTimer(out, timerLease)
	m.phase, m.talking, m.answeredAt, m.queued = phaseBridged, true, now, false
	m.vhOffered, m.announcing = false, false
	out.add(cmdStopAnnouncement{}, cmdStopMOH{}, cmdBridge{}, cmdConnected{})
}

func (m *callMachine) awaitLegCause(out *cmds) {
	if !m.awaitingLeg {
		m.awaitingLeg = true
		m.setTimer(out, timerLegCause, legCauseWait)
	}
}

// operatorLeft: the operator's side of a conversation is gone. A person
// hanging up ends the call; a line that dropped (softphone crash, network)
// must not lose the citizen, who goes back to the head of the queue.
func (m *callMachine) operatorLeft(out *cmds, cause int, now time.Time) {
	m.awaitingLeg = false
	m.cancelTimer(out, timerLegCause)
	if !droppedCause(cause) {
		m.exit(out, now, exitSpec{outcome: OutcomeAnswered, by: "operator", cause: cause})
		return
	}
	// Back in the queue at the original queue time after an apology; a
	// hang-up then owes a callback whatever the wait.
	m.operatorLost++
	m.talking, m.leg, m.offer, m.unbridged = false, false, nil, false
	m.phase = phaseQueued
	m.announcing = true
	out.add(cmdForgetLeg{}, cmdOperatorDropped{Cause: cause}, cmdPlayApology{})
	m.ask(out, awRequeue, cmdRequeue{})
}

func (m *callMachine) requeued(out *cmds, e evRequeued, now time.Time) {
	if m.phase != phaseQueued || m.queued {
		return
	}
	topicXfer := m.xfer != nil && m.xfer.op == xferTopic
	m.xfer = nil
	if topicXfer {
		outcome := xferConnected
		if !e.OK {
			outcome = xferFailed
		}
		out.add(cmdTransferDone{Outcome: outcome})
	}
	if !e.OK {
		// The topic is full, or hotline is stopping: a callback keeps the
		// citizen's place rather than leaving them in silence.
		out.add(cmdScheduleCallback{Reason: ReasonDropped})
		m.say(out, OutcomeDropped, []string{promptCallbackConfirmed})
		out.add(cmdHandOnOperator{WrapUp: false})
		return
	}
	m.queued = true
	out.add(cmdHandOnOperator{WrapUp: true})
	deliver(out, e.Offers)
}

func (m *callMachine) overflowed(out *cmds, e evOverflow, now time.Time) {
	if m.phase != phaseQueued {
		deliver(out, e.Offers)
		return
	}
	switch e.Result {
	case overflowRetry:
		m.setTimer(out, timerMaxWait, maxWaitRetry)
	case overflowNowhere:
		// A callback keeps the caller's place instead of an endless wait;
		// scheduled before leaving the queue.
		m.pending = &continuation{kind: contOverflow}
		out.add(cmdScheduleCallback{Reason: ReasonNoService})
	case overflowStuck:
		// Still in the first queue; no further max_wait.
	case overflowJoinFailed:
		m.queued = false
		m.exit(out, now, exitSpec{outcome: OutcomeRejected, by: "system", hangUp: true})
	default:
		m.policy = e.Policy
		if e.MaxWait > 0 {
			m.setTimer(out, timerMaxWait, e.MaxWait)
		}
		deliver(out, e.Offers)
	}
}

// takeVirtualHold: "press 1 to be called back and keep your place". The
// callback keeps the original queue time; the caller hangs up now.
func (m *callMachine) takeVirtualHold(out *cmds, now time.Time) {
	if !m.hasNumber {
		m.askNumber(out, continuation{kind: contVirtualHold})
		return
	}
	m.announcing = false
	out.add(cmdStopAnnouncement{})
	// Scheduled before leaving the queue: a crash in between leaves a
	// caller waiting, never one forgotten.
	m.pending = &continuation{kind: contVirtualHold}
	out.add(cmdScheduleCallback{Reason: ReasonVirtualHold})
}

// noService: the centre cannot take the call now (closed, queue full);
// with callbacks on, one is scheduled.
func (m *callMachine) noService(out *cmds, k continuation, now time.Time) {
	p := m.policy
	if k.why == "closed" && p.Enabled && p.AfterHoursOffer && !m.afterHoursTook {
		// Ask first: the closed message, then "press 1 to be called back".
		m.vhOffered = true
		m.afterHoursWith = k.withCallback
		m.say(out, OutcomeRejected, append(append([]string(nil), k.withoutCallback...), promptCallbackOffer))
		return
	}
	if !m.hasNumber && p.Enabled {
		m.askNumber(out, k)
		return
	}
	if p.Enabled {
		m.pending = &k
		out.add(cmdScheduleCallback{Reason: ReasonNoService})
		return
	}
	m.say(out, OutcomeRejected, k.withoutCallback)
}

func (m *callMachine) callbackResult(out *cmds, e evCallbackResult, now time.Time) {
	k := m.pending
	m.pending = nil
	if k == nil {
		return // a callback the exit owed: nothing waits on it
	}
	switch k.kind {
	case contVirtualHold:
		if !e.OK {
			// A refused number keeps its place.
			out.add(cmdStartMOH{})
			return
		}
		m.leave(out)
		m.say(out, OutcomeCallbackLater, []string{promptCallbackConfirmed})
	case contOverflow:
		if !e.OK {
			return // keep waiting: nothing better to offer; no more max_wait
		}
		m.leave(out)
		m.announcing = false
		out.add(cmdStopAnnouncement{})
		m.say(out, OutcomeCallbackLater, []string{promptCallbackConfirmed})
	case contNoService:
		if e.OK {
			m.say(out, OutcomeCallbackLater, k.withCallback)
			return
		}
		m.say(out, OutcomeRejected, k.withoutCallback)
	}
}

// leave takes the caller out of the queue (the callback keeps its place).
func (m *callMachine) leave(out *cmds) {
	if m.queued {
		m.queued = false
		out.add(cmdLeaveQueue{})
	}
}

// say plays the closing message; its end hangs up (phaseGoodbye).
func (m *callMachine) say(out *cmds, o Outcome, prompts []string) {
	m.phase, m.goodbye = phaseGoodbye, o
	out.add(cmdStopMOH{}, cmdPlayGoodbye{Prompts: prompts})
}

// ---- number entry ----

func (m *callMachine) askNumber(out *cmds, then continuation) {
	m.announcing = false
	out.add(cmdStopAnnouncement{}, cmdStopMOH{})
	m.entry = &entryState{then: then}
	m.phase = phaseNumber
	m.promptNumber(out)
}

func (m *callMachine) promptNumber(out *cmds) {
	e := m.entry
	e.tries++
	if e.tries > maxEntryTries {
		// No number: no callback, and no place kept for one either.
		m.entry = nil
		m.cancelTimer(out, timerEntry)
		m.leave(out)
		m.say(out, OutcomeAbandoned, []string{promptGoodbye})
		return
	}
	e.digits, e.confirming = "", false
	out.add(cmdPlayEntry{Prompts: []string{promptEnterNumber}})
	m.setTimer(out, timerEntry, entryFirstDigit)
}

func (m *callMachine) readBack(out *cmds) {
	e := m.entry
	e.confirming = true
	out.add(cmdPlayEntry{Prompts: []string{promptNumberReadback, promptConfirmNumber}, Digits: e.digits})
	m.setTimer(out, timerEntry, entryConfirm)
}

func (m *callMachine) entryDigit(out *cmds, d string, now time.Time) {
	e := m.entry
	if e == nil {
		return
	}
	if e.confirming {
		switch d {
		case "1":
			m.entry = nil
			m.hasNumber = true
			m.cancelTimer(out, timerEntry)
			out.add(cmdNumberEntered{Number: e.digits})
			if m.queued {
				m.phase = phaseQueued
			}
			switch e.then.kind {
			case contVirtualHold:
				m.takeVirtualHold(out, now)
			default:
				m.noService(out, e.then, now)
			}
		case "2":
			m.promptNumber(out)
		}
		return
	}
	switch {
	case d == "#" && e.digits != "":
		m.readBack(out)
	case len(d) == 1 && d >= "0" && d <= "9":
		e.digits += d
		m.setTimer(out, timerEntry, entryNextDigit)
		if len(e.digits) >= maxNumberDigits {
			m.readBack(out)
		}
	}
}

// deliver hands offers on to their calls; none is ever dropped.
func deliver(out *cmds, offers []Offer) {
	if len(offers) > 0 {
		out.add(cmdDeliver{Offers: offers})
	}
}

// ---- timers ----

func (m *callMachine) setTimer(out *cmds, k timerKind, d time.Duration) {
	m.gen++
	m.timers[k] = m.gen
	out.add(cmdSetTimer{Kind: k, Gen: m.gen, After: d})
}

func (m *callMachine) cancelTimer(out *cmds, k timerKind) {
	if m.timers[k] != 0 {
		m.timers[k] = 0
		out.add(cmdCancelTimer{Kind: k})
	}
}

// ---- the one way out ----

// exitSpec is how a call ends.
type exitSpec struct {
	outcome Outcome
	by      string
	cause   int
	hangUp  bool // hotline hangs the caller up (the caller is still there)
	// abandonCallback: a caller who held a place and left is owed a
	// callback when they waited min_abandon_wait (or lost an operator).
	abandonCallback bool
	// lineCut: the PBX cut the line (pbxLost): a callback is owed to a
	// caller who was queued or talking.
	lineCut bool
}

// exit is the single way out of a call: it releases everything the call
// still holds — the ringing operator leg, the place in the queue (which
// also frees a reserved operator), the operator in a conversation and its
// bridge, every timer and the menu — owes the callback the call earned and
// writes the one record. Every terminal transition goes through it.
func (m *callMachine) exit(out *cmds, now time.Time, x exitSpec) {
	outcome := x.outcome
	callback := ""
	switch {
	case m.talking:
		talked := now.Sub(m.answeredAt)
		if m.policy.Enabled && x.by == "caller" &&
			(droppedCause(x.cause) || talked < m.policy.DropWindow || m.unbridged) {
			callback = ReasonDropped
			outcome = OutcomeDropped
		} else if droppedCause(x.cause) {
			outcome = OutcomeDropped
		}
		out.add(cmdEndConversation{By: x.by})
	case m.queued:
		// The caller first: leaving the queue is retried until Redis
		// holds, and nobody is left on the line meanwhile.
		if x.hangUp {
			out.add(cmdHangupCaller{})
		}
		if m.leg {
			out.add(cmdHangupLeg{Reason: "normal"})
		}
		out.add(cmdLeaveQueue{})
		if x.abandonCallback {
			callback = m.abandonCallback(now)
		}
	default:
		if m.leg {
			out.add(cmdHangupLeg{Reason: "normal"})
		}
		if x.abandonCallback {
			callback = m.abandonCallback(now)
		}
		if x.hangUp {
			out.add(cmdHangupCaller{})
		}
	}
	if m.xfer != nil && m.xfer.svcLeg {
		out.add(cmdEndService{})
	}
	if x.lineCut && m.policy.Enabled && (m.talking || m.queued) {
		callback = ReasonDropped
	}
	if callback != "" {
		out.add(cmdScheduleCallback{Reason: callback})
	}
	for k := range timerKind(numTimers) {
		m.cancelTimer(out, k)
	}
	if m.leg {
		out.add(cmdForgetLeg{})
	}
	out.add(cmdRecord{Outcome: outcome, By: x.by, Cause: x.cause})
	m.phase, m.await = phaseDone, 0
	m.queued, m.offer, m.leg, m.talking, m.entry, m.pending = false, nil, false, false, nil, nil
	m.announcing, m.vhOffered, m.awaitingLeg, m.xfer = false, false, false, nil
}

// abandonCallback is the callback owed to this caller leaving the queue now.
func (m *callMachine) abandonCallback(now time.Time) string {
	if m.calledBack && m.operatorLost == 0 {
		return ""
	}
	return abandonCallback(m.policy, now.Sub(m.enqueuedAt), m.operatorLost)
}

// ---- transfers ----

// Outcomes of a transfer in the record.
const (
	xferConnected = "connected" // the citizen reached the service, or the other topic's queue
	xferReturned  = "returned"  // the consult ended and the operator has the citizen back
	xferFailed    = "failed"    // the service did not answer, or the call ended first
)

// transferRequest: the operator asks, from the desktop, for a transfer of
// the citizen they talk to. It is refused (the call stays as it was)
// unless the conversation is up and no transfer is in progress.
func (m *callMachine) transferRequest(out *cmds, e evTransferRequest, now time.Time) {
	refuse := func(why string) { out.add(cmdTransferReply{Refused: why}) }
	switch {
	case e.Invalid != "":
		refuse(e.Invalid)
		return
	case m.phase == phaseConsult:
		switch e.Op {
		case xferCancel:
			out.add(cmdTransferReply{})
			m.consultBack(out, xferReturned)
		case xferComplete:
			if !m.xfer.svcUp {
				refuse(refuseNotAnswerd)
				return
			}
			out.add(cmdTransferReply{})
			// The operator's part ends; the citizen is joined with the
			// service (phaseTransfer until the bridge holds).
			m.talking, m.leg, m.offer, m.unbridged = false, false, nil, false
			m.phase = phaseTransfer
			out.add(cmdReleaseOperator{}, cmdStopMOH{})
			m.ask(out, awServiceBridge, cmdBridgeService{})
		default:
			refuse(refuseBusy)
		}
		return
	case m.phase == phaseTransfer || m.phase == phaseTransferred:
		refuse(refuseBusy)
		return
	case m.phase != phaseBridged || !m.talking || m.awaitingLeg:
		refuse(refuseNotTalking)
		return
	}
	switch e.Op {
	case xferBlind:
		out.add(cmdTransferReply{})
		m.xfer = &xferState{op: xferBlind, svcLeg: true}
		m.talking, m.leg, m.offer, m.unbridged = false, false, nil, false
		m.phase = phaseTransfer
		out.add(cmdReleaseOperator{}, cmdStartMOH{})
		m.ask(out, awService, cmdDialService{})
	case xferConsult:
		out.add(cmdTransferReply{})
		m.xfer = &xferState{op: xferConsult, svcLeg: true}
		m.phase = phaseConsult
		out.add(cmdHoldCitizen{})
		m.ask(out, awService, cmdDialService{})
	case xferTopic:
		// Into the other topic's queue at the original queue time; the
		// operator to wrap-up.
		out.add(cmdTransferReply{})
		m.xfer = &xferState{op: xferTopic}
		m.talking, m.leg, m.offer, m.unbridged = false, false, nil, false
		m.policy = e.Policy
		m.phase = phaseQueued
		out.add(cmdReleaseOperator{}, cmdSetTopic{}, cmdStartMOH{})
		m.ask(out, awRequeue, cmdRequeue{})
	default:
		refuse(refuseNoConsult)
	}
}

func (m *callMachine) serviceDialed(out *cmds, e evServiceDialed, now time.Time) {
	if e.OK || m.xfer == nil {
		return
	}
	m.xfer.svcLeg = false
	switch m.phase {
	case phaseTransfer:
		m.transferFailed(out)
	case phaseConsult:
		m.consultBack(out, xferFailed)
	}
}

func (m *callMachine) serviceAnswered(out *cmds) {
	if m.xfer == nil || !m.xfer.svcLeg || m.xfer.svcUp {
		return
	}
	switch m.phase {
	case phaseTransfer:
		m.xfer.svcUp = true
		out.add(cmdStopMOH{})
		m.ask(out, awServiceBridge, cmdBridgeService{})
	case phaseConsult:
		m.xfer.svcUp = true
		m.ask(out, awServiceBridge, cmdBridgeService{WithOperator: true})
	}
}

func (m *callMachine) serviceBridged(out *cmds, e evServiceBridged, now time.Time) {
	switch {
	case m.phase == phaseTransfer && e.OK:
		m.phase = phaseTransferred
		out.add(cmdTransferDone{Outcome: xferConnected})
	case m.phase == phaseTransfer:
		out.add(cmdEndService{})
		m.xfer.svcLeg = false
		m.transferFailed(out)
	case m.phase == phaseConsult && !e.OK:
		m.consultBack(out, xferFailed)
	}
}

// serviceGone: the service's leg ended.
func (m *callMachine) serviceGone(out *cmds, e evServiceGone, now time.Time) {
	if m.xfer == nil || !m.xfer.svcLeg {
		return
	}
	switch m.phase {
	case phaseTransfer:
		// Busy, no answer, refused: the citizen is not lost.
		m.xfer.svcLeg = false
		out.add(cmdEndService{})
		m.transferFailed(out)
	case phaseConsult:
		outcome := xferFailed
		if m.xfer.svcUp {
			outcome = xferReturned
		}
		m.consultBack(out, outcome)
	case phaseTransferred:
		m.exit(out, now, exitSpec{outcome: OutcomeTransferred, by: "service", cause: e.Cause, hangUp: true})
	}
}

// transferFailed: the service was not reached after the operator let go;
// the citizen hears the apology and goes back to the head of their queue
// at their original queue time, as after an operator's line dropped.
func (m *callMachine) transferFailed(out *cmds) {
	out.add(cmdTransferDone{Outcome: xferFailed})
	m.xfer = nil
	m.await &^= awService | awServiceBridge
	m.operatorLost++
	m.phase = phaseQueued
	m.announcing = true
	out.add(cmdStopMOH{}, cmdPlayApology{})
	m.ask(out, awRequeue, cmdRequeue{})
}

// consultBack ends a consultation: the service leg is hung up and the
// operator has the citizen back in their bridge.
func (m *callMachine) consultBack(out *cmds, outcome string) {
	if m.xfer.svcLeg {
		out.add(cmdEndService{})
	}
	m.xfer = nil
	m.phase = phaseBridged
	m.await &^= awService | awServiceBridge
	out.add(cmdTransferDone{Outcome: outcome}, cmdStopMOH{}, cmdBridge{})
}

// consultOperatorGone: the operator's leg ended during a consultation;
// whatever the cause the citizen is not left on hold: back to the head of
// the queue after the apology, as after a dropped line.
func (m *callMachine) consultOperatorGone(out *cmds, cause int) {
	if m.xfer.svcLeg {
		out.add(cmdEndService{})
	}
	out.add(cmdTransferDone{Outcome: xferFailed})
	m.xfer = nil
	m.await &^= awService | awServiceBridge
	m.operatorLost++
	m.talking, m.leg, m.offer, m.unbridged = false, false, nil, false
	m.phase = phaseQueued
	m.announcing = true
	out.add(cmdForgetLeg{}, cmdOperatorDropped{Cause: cause}, cmdStopMOH{}, cmdPlayApology{})
	m.ask(out, awRequeue, cmdRequeue{})
}
