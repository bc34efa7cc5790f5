package router

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/records"
)

// This file is the router's surface for the staffing simulator (package
// sim): the real call machine (callmachine.go) and callback-attempt machine
// (attemptmachine.go) executed synchronously in virtual time against the
// real ACD and callbacks store, with the PBX and the people on it
// simulated. call.go and callbackattempt.go execute the same machines
// against a real PBX, one goroutine per call; here one event loop owned by
// the caller runs everything, so a seed gives the same day twice. What is
// not simulated (the menu's prompts, transfers, music, recordings) is
// executed as a PBX that always succeeds at once; an operator's line never
// drops.

// VirtualClock is the simulator's discrete-event clock.
type VirtualClock interface {
	Now() time.Time
	// After runs f once virtual time has advanced by d; stop cancels it.
	After(d time.Duration, f func()) (stop func())
}

// VirtualPeople is the simulated side of the PBX: the citizens and the
// operators. The router tells them what it does; they answer later, in
// virtual time, through Virtual's methods.
type VirtualPeople interface {
	// Waiting: callID joined a topic queue (calledBack: a citizen who
	// answered a customer-first callback); the caller's patience runs.
	Waiting(callID, topic string, calledBack bool)
	// OperatorRings: agent's phone rings for leg (a call or an agent-first
	// callback attempt); answer with Virtual.OperatorAnswers(leg).
	OperatorRings(leg, agent string)
	// Talking: leg's conversation is up; end it with Virtual.Hangup(leg).
	Talking(leg, agent, topic string)
	// CitizenRings: a callback attempt dials the citizen; answer with
	// Virtual.CitizenAnswers(attempt) or let Virtual.CitizenMissed(attempt)
	// say they did not.
	CitizenRings(attempt, topic string)
	// Announced: a waiting caller heard their place; callbackOffered: the
	// message ended with "press 1 to be called back" (Virtual.Digit).
	Announced(callID string, callbackOffered bool)
	// RingStopped: hotline hung up the operator leg ringing for leg.
	RingStopped(leg string)
	// HungUp: hotline ended callID (or the attempt): the people forget it.
	HungUp(id string)
	// Record: a call's or an attempt's one record, as the router writes it.
	Record(r records.Record)
}

// VirtualOptions configure a Virtual.
type VirtualOptions struct {
	ACD       ACD
	Callbacks Callbacks // nil: callbacks off
	Policy    func(topic string) CallbackPolicy
	Config    *config.Config
	Clock     VirtualClock
	People    VirtualPeople
	// CitizenRing is how long a called-back citizen's phone rings (the
	// router's CallbackRingTimeout); default 30 s.
	CitizenRing time.Duration
	// Announce, when false, skips position announcements of topics without
	// virtual hold: they change nothing in routing and cost a Redis read
	// each.
	Announce bool
}

// ErrVirtualUnsupported: the machine asked for something the simulated PBX
// does not model (a transfer, a dropped operator line).
var ErrVirtualUnsupported = errors.New("router: not simulated")

// Virtual runs calls in virtual time. Not safe for concurrent use: the
// simulator's event loop is its only caller.
type Virtual struct {
	opt      VirtualOptions
	calls    map[string]*vcall
	attempts map[string]*vattempt // by attempt id, and agent-first ones by entry too
	seq      int
	err      error
}

// NewVirtual returns a Virtual.
func NewVirtual(opt VirtualOptions) *Virtual {
	if opt.CitizenRing <= 0 {
		opt.CitizenRing = 30 * time.Second
	}
	return &Virtual{opt: opt, calls: map[string]*vcall{}, attempts: map[string]*vattempt{}}
}

// Err is the first thing the simulation could not execute, if any.
func (v *Virtual) Err() error { return v.err }

func (v *Virtual) fail(err error) {
	if v.err == nil {
		v.err = err
	}
}

func (v *Virtual) now() time.Time { return v.opt.Clock.Now() }

func (v *Virtual) uniq() string {
	v.seq++
	return strconv.Itoa(v.seq)
}

// ctx is the context of one Redis step; the simulator's Redis is local.
func (v *Virtual) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}

// Active is the number of calls and attempts in progress.
func (v *Virtual) Active() int { return len(v.calls) + len(v.attempts) }

// Arrive is a new inbound call from number choosing topic in language.
func (v *Virtual) Arrive(callID, number, topic, language string) {
	c := &vcall{v: v, id: callID, number: number, lang: language, m: newCallMachine(number != "")}
	c.rec = records.Record{CallID: callID, CallerNumber: number, Arrival: v.now()}
	c.menu = &menuOutcome{Kind: menuQueue, Topic: topic, Language: language, Path: "sim:" + topic}
	v.calls[callID] = c
	c.feed(evStart{})
}

// CallerHangup: the citizen on callID hung up (patience ran out, or the
// conversation is over).
func (v *Virtual) CallerHangup(callID string) {
	if c := v.calls[callID]; c != nil {
		c.feed(evCallerHangup{Cause: causeNormalClearing})
		return
	}
	if a := v.attempts[callID]; a != nil {
		a.feed(aevLegGone{Leg: legCitizen, Cause: causeNormalClearing})
	}
}

// Hangup ends leg's conversation (the citizen hangs up at its end).
func (v *Virtual) Hangup(leg string) { v.CallerHangup(leg) }

// Digit: the caller on callID pressed d.
func (v *Virtual) Digit(callID, d string) {
	if c := v.calls[callID]; c != nil {
		c.feed(evDigit{Digit: d})
	}
}

// OperatorAnswers: the operator's phone ringing for leg was picked up.
func (v *Virtual) OperatorAnswers(leg string) {
	if c := v.calls[leg]; c != nil && c.legUp {
		c.feed(evLegAnswered{})
		return
	}
	if a := v.attempts[leg]; a != nil {
		a.feed(aevLegUp{Leg: legOperator})
	}
}

// CitizenAnswers: the citizen called back by attempt picked up.
func (v *Virtual) CitizenAnswers(attempt string) {
	if a := v.attempts[attempt]; a != nil {
		a.feed(aevLegUp{Leg: legCitizen})
	}
}

// CitizenMissed: the citizen called back by attempt did not pick up.
func (v *Virtual) CitizenMissed(attempt string) {
	if a := v.attempts[attempt]; a != nil && a.citUp {
		a.citUp = false
		a.feed(aevLegGone{Leg: legCitizen, Cause: causeNoAnswer})
	}
}

// OperatorReady logs the operator in (or ends a pause) and offers them a
// caller.
func (v *Virtual) OperatorReady(a Agents, agent string) error {
	cctx, cancel := v.ctx()
	offers, err := a.Ready(cctx, agent, v.now())
	cancel()
	if err != nil {
		return fmt.Errorf("ready %s: %w", agent, err)
	}
	v.deliver(offers)
	return nil
}

// Sweep is the router's recovery sweep: expired leases and wrap-ups back,
// callbacks recovered and the due ones promoted into their queues, agent
// first or customer first (router.promote).
func (v *Virtual) Sweep() {
	now := v.now()
	cctx, cancel := v.ctx()
	defer cancel()
	offers, err := v.opt.ACD.Recover(cctx, now)
	if err != nil {
		v.fail(fmt.Errorf("recover: %w", err))
		return
	}
	v.deliver(offers)
	cb := v.opt.Callbacks
	if cb == nil {
		return
	}
	if err := cb.Recover(cctx, now); err != nil {
		v.fail(fmt.Errorf("callback recovery: %w", err))
		return
	}
	due, err := cb.Promote(cctx, now)
	if err != nil {
		v.fail(fmt.Errorf("callback promotion: %w", err))
		return
	}
	for _, d := range due {
		t, ok := v.opt.Config.Topic(d.Topic)
		if !ok {
			continue
		}
		offers, err := v.opt.ACD.Enqueue(cctx, Waiting{
			CallID: cbPrefix + d.ID, Topic: t.ID, Skill: t.Skill, Priority: d.Priority, Arrival: d.QueueTime,
			Language: d.Language, CallerNumber: d.Number, IVRPath: "callback",
		}, now)
		if err != nil && !errors.Is(err, ErrAlreadyQueued) {
			v.fail(fmt.Errorf("callback %s into its queue: %w", d.ID, err))
			continue
		}
		if err := cb.MarkQueued(cctx, d.ID, now); err != nil {
			v.fail(fmt.Errorf("callback %s queued: %w", d.ID, err))
		}
		v.deliver(offers)
	}
}

// deliver hands offers to their calls, starts attempts for callbacks'
// entries and takes gone callers out of Redis (router.deliver).
func (v *Virtual) deliver(offers []Offer) {
	for i := 0; len(offers) > 0 && i < 1000; i++ {
		o := offers[0]
		offers = offers[1:]
		if c := v.calls[o.CallID]; c != nil {
			c.feed(evOffer{Offer: o})
			continue
		}
		if isCallback(o.CallID) && v.opt.Callbacks != nil {
			v.startAttempt(o)
			continue
		}
		cctx, cancel := v.ctx()
		_, next, err := v.opt.ACD.Abandon(cctx, o.CallID, v.now())
		cancel()
		if err != nil {
			v.fail(fmt.Errorf("releasing an offer for gone %s: %w", o.CallID, err))
			continue
		}
		offers = append(offers, next...)
	}
}

// endTurn ends the operator's part in callID; wrap-up ends on the clock.
func (v *Virtual) endTurn(agent, callID string, wrap time.Duration) {
	cctx, cancel := v.ctx()
	next, err := v.opt.ACD.Ended(cctx, agent, callID, wrap, v.now())
	cancel()
	if err != nil {
		v.fail(fmt.Errorf("end of %s's turn on %s: %w", agent, callID, err))
		return
	}
	if wrap <= 0 {
		v.deliver(next)
		return
	}
	v.opt.Clock.After(wrap, func() {
		cctx, cancel := v.ctx()
		next, err := v.opt.ACD.WrapUpDone(cctx, agent, v.now(), true)
		cancel()
		if err != nil && !errors.Is(err, ErrRefused) {
			v.fail(fmt.Errorf("wrap-up end of %s: %w", agent, err))
			return
		}
		v.deliver(next)
	})
}

func (v *Virtual) giveBack(o Offer, unreachable bool) {
	cctx, cancel := v.ctx()
	defer cancel()
	var next []Offer
	var err error
	if unreachable {
		next, err = v.opt.ACD.Unreachable(cctx, o, v.now())
	} else {
		_, next, err = v.opt.ACD.NoAnswer(cctx, o, v.now())
	}
	if err != nil && !errors.Is(err, ErrRefused) {
		v.fail(fmt.Errorf("giving back %s's offer of %s: %w", o.AgentID, o.CallID, err))
	}
	v.deliver(next)
}

// ---- the inbound call ----

// vcall executes one callMachine, as call does over a real PBX.
type vcall struct {
	v      *Virtual
	id     string
	number string
	lang   string
	menu   *menuOutcome
	m      *callMachine
	topic  *config.Topic
	prio   int
	offer  *Offer
	legUp  bool // an operator leg rings or talks
	timers [numTimers]func()
	// announce stops the position announcements' ticker.
	announce   func()
	calledBack *DueCallback
	// turn: the operator the called-back citizen's callback reserved
	// (call.turn).
	turn *Offer
	rec  records.Record
}

func (c *vcall) feed(ev callEvent) {
	queue := []callEvent{ev}
	for len(queue) > 0 {
		ev := queue[0]
		queue = queue[1:]
		for _, cmd := range c.m.Handle(ev, c.v.now()) {
			if res := c.exec(cmd); res != nil {
				queue = append(queue, res)
			}
		}
	}
	if c.m.phase != phaseDone {
		return
	}
	// cmdOfferAfterEnd may have taken the call out of calls already.
	if c.v.calls[c.id] == c {
		delete(c.v.calls, c.id)
	}
	if c.announce != nil {
		c.announce()
		c.announce = nil
	}
	c.v.deliver(c.releaseTurn())
}

func (c *vcall) policy() CallbackPolicy {
	if c.v.opt.Callbacks == nil || c.v.opt.Policy == nil || c.topic == nil {
		return CallbackPolicy{}
	}
	return c.v.opt.Policy(c.topic.ID)
}

func (c *vcall) exec(cmd callCmd) callEvent {
	v := c.v
	switch x := cmd.(type) {
	case cmdAnswerCaller:
		return evAnswerResult{}
	case cmdStartMenu:
		// The menu is not simulated: the caller chose their topic.
		return evMenuDone{Out: c.menu}
	case cmdMenuDigit, cmdMenuPlayback, cmdStopMenu, cmdStartMOH, cmdStopMOH, cmdStopAnnouncement,
		cmdStopGoodbye, cmdStopEntryPrompt, cmdNumberEntered, cmdForgetLeg:
		if _, ok := cmd.(cmdForgetLeg); ok {
			c.legUp = false
		}
	case cmdMenuChoice:
		c.rec.IVRPath = x.Out.Path
		if x.Out.Language != "" {
			c.lang = x.Out.Language
		}
		c.rec.Language = c.lang
	case cmdCheckTopic:
		return c.checkTopic(x)
	case cmdEnqueue:
		return c.enqueue()
	case cmdRing:
		c.rec.Offers++
		c.offer, c.legUp = &x.Offer, true
		if c.rec.OfferedAt.IsZero() {
			c.rec.OfferedAt = v.now()
		}
		ring := ringTimeout(c.topic)
		v.opt.People.OperatorRings(c.id, x.Offer.AgentID)
		lease := leaseAfter(x.Offer, v.now())
		// The PBX ends an unanswered originate at the ring timeout.
		return evRing{Result: ringOK, Offer: x.Offer, Ring: ring, Lease: lease}
	case cmdReleaseOffer:
		if c.offer != nil && c.offer.AgentID == x.Offer.AgentID && c.offer.Seq == x.Offer.Seq {
			c.offer = nil
		}
		v.giveBack(x.Offer, x.Unreachable)
	case cmdOfferAfterEnd:
		o := x.Offer
		delete(v.calls, c.id)
		v.deliver([]Offer{o})
	case cmdRenewLease:
		cctx, cancel := v.ctx()
		o, next, err := extendOffer(cctx, v.opt.ACD, x.Offer, v.now())
		cancel()
		if err != nil {
			return evLeaseRenewed{}
		}
		return evLeaseRenewed{OK: true, Offer: o, Next: next}
	case cmdAnswered:
		cctx, cancel := v.ctx()
		err := v.opt.ACD.Answered(cctx, x.Offer, v.now())
		cancel()
		if err != nil {
			c.offer = nil
			return evAnswered{}
		}
		c.offer = &x.Offer
		c.rec.AnsweredAt = v.now()
		c.rec.Agent = x.Offer.AgentID
		return evAnswered{OK: true}
	case cmdBridge:
		// Both legs are in the bridge at once: the conversation is held.
		v.opt.People.Talking(c.id, c.offer.AgentID, c.topic.ID)
		c.feedLater(evCallerJoined{})
		return evBridged{OK: true}
	case cmdConnected:
		c.closeOwedCallbacks()
		c.rec.Wait = c.rec.AnsweredAt.Sub(c.rec.EnqueuedAt)
	case cmdHangupLeg:
		if c.legUp {
			// The PBX reports the leg's end as it would (a ring timeout is
			// "no answer"); the machine settles the offer then.
			cause := causeNormalClearing
			if x.Reason == "no_answer" {
				cause = causeNoAnswer
			}
			v.opt.People.RingStopped(c.id)
			c.feedLater(evLegDestroyed{Cause: cause})
		}
	case cmdHangupCaller:
		v.opt.People.HungUp(c.id)
	case cmdEndConversation:
		v.opt.People.HungUp(c.id)
		agent := c.offer.AgentID
		c.legUp = false
		v.endTurn(agent, c.id, c.topic.WrapUp.D())
	case cmdLeaveQueue:
		cctx, cancel := v.ctx()
		_, next, err := v.opt.ACD.Abandon(cctx, c.id, v.now())
		cancel()
		if err != nil && !errors.Is(err, ErrRefused) {
			v.fail(fmt.Errorf("%s left the queue: %w", c.id, err))
		}
		c.offer = nil
		c.rec.Wait = v.now().Sub(c.rec.EnqueuedAt)
		return evLeft{Next: next}
	case cmdOverflow:
		return c.overflow()
	case cmdScheduleCallback:
		return evCallbackResult{OK: c.scheduleCallback(x.Reason)}
	case cmdDeliver:
		v.deliver(x.Offers)
	case cmdAnnounce:
		return c.announcePosition()
	case cmdStartAnnouncements:
		c.startAnnouncements(x.Every)
	case cmdPlayGoodbye:
		// The closing message plays for a few seconds, then hotline hangs up.
		c.feedAfter(5*time.Second, evPlaybackDone{Which: playGoodbye})
	case cmdSetTimer:
		if stop := c.timers[x.Kind]; stop != nil {
			stop()
		}
		kind, gen := x.Kind, x.Gen
		c.timers[x.Kind] = v.opt.Clock.After(x.After, func() {
			c.timers[kind] = nil
			c.feed(evTimer{Kind: kind, Gen: gen})
		})
	case cmdCancelTimer:
		if stop := c.timers[x.Kind]; stop != nil {
			stop()
			c.timers[x.Kind] = nil
		}
	case cmdNote:
		c.rec.Note = x.Text
	case cmdRecord:
		c.rec.EndedAt = v.now()
		c.rec.Outcome = string(x.Outcome)
		c.rec.EndedBy = x.By
		c.rec.HangupCause = x.Cause
		if c.rec.Language == "" {
			c.rec.Language = c.lang
		}
		v.opt.People.Record(c.rec)
	case cmdPlayApology:
		return evPlayFailed{Which: playAnnounce}
	case cmdTransferDone:
	default:
		v.fail(fmt.Errorf("%w: %T on call %s", ErrVirtualUnsupported, cmd, c.id))
	}
	return nil
}

// feedLater feeds ev once the current commands are done, as a PBX event
// arriving right after them would be.
func (c *vcall) feedLater(ev callEvent) { c.feedAfter(0, ev) }

func (c *vcall) feedAfter(d time.Duration, ev callEvent) {
	c.v.opt.Clock.After(d, func() { c.feed(ev) })
}

func (c *vcall) checkTopic(x cmdCheckTopic) callEvent {
	cfg := c.v.opt.Config
	t, ok := cfg.Topic(x.Topic)
	if !ok {
		return evTopicChecked{Result: topicUnknown}
	}
	c.topic = t
	c.prio = t.Priority + x.Priority
	c.rec.Topic = t.ID
	now := c.v.now()
	arrival := now
	if x.CalledBack && c.calledBack != nil {
		c.prio = x.Priority
		arrival = c.calledBack.QueueTime
	}
	c.rec.EnqueuedAt = arrival
	ev := evTopicChecked{Policy: c.policy(), At: arrival}
	if h := cfg.Hours; len(h.Weekly) > 0 && !h.IsOpen(now) {
		ev.Result = topicClosed
	}
	return ev
}

func (c *vcall) waiting(t *config.Topic) Waiting {
	return Waiting{
		CallID: c.id, Topic: t.ID, Skill: t.Skill, Priority: c.prio, Arrival: c.rec.EnqueuedAt,
		Language: c.lang, CallerNumber: c.number, IVRPath: c.rec.IVRPath, MaxQueue: t.MaxQueue,
	}
}

func (c *vcall) maxWaitFor(t *config.Topic) time.Duration {
	if d := t.MaxWait.D(); d > 0 && (t.Overflow != "" || c.policy().Enabled) {
		return d
	}
	return 0
}

func (c *vcall) enqueue() callEvent {
	v := c.v
	cctx, cancel := v.ctx()
	offers, err := v.opt.ACD.Enqueue(cctx, c.waiting(c.topic), v.now())
	cancel()
	if errors.Is(err, ErrQueueFull) {
		v.deliver(c.releaseTurn())
		return evEnqueued{Result: enqueueFull}
	}
	if err != nil {
		v.fail(fmt.Errorf("enqueue %s: %w", c.id, err))
		return evEnqueued{Result: enqueueFailed}
	}
	offers = append(offers, c.releaseTurn()...)
	v.opt.People.Waiting(c.id, c.topic.ID, c.calledBack != nil)
	mine := false
	for _, o := range offers {
		mine = mine || o.CallID == c.id
	}
	announce := c.topic.AnnounceEvery.D()
	if !v.opt.Announce && !c.policy().VirtualHold {
		announce = 0
	}
	return evEnqueued{Offers: offers, Mine: mine, Announce: announce, MaxWait: c.maxWaitFor(c.topic)}
}

// releaseTurn gives the callback's reserved operator back (call.releaseTurn).
func (c *vcall) releaseTurn() []Offer {
	t := c.turn
	if t == nil {
		return nil
	}
	c.turn = nil
	cctx, cancel := c.v.ctx()
	_, next, err := c.v.opt.ACD.Abandon(cctx, t.CallID, c.v.now())
	cancel()
	if err != nil && !errors.Is(err, ErrRefused) {
		c.v.fail(fmt.Errorf("giving back %s's turn: %w", c.id, err))
	}
	return next
}

func (c *vcall) startAnnouncements(every time.Duration) {
	if c.announce != nil || every <= 0 {
		return
	}
	var tick func()
	stopped := false
	var stop func()
	tick = func() {
		if stopped {
			return
		}
		stop = c.v.opt.Clock.After(every, tick)
		c.feed(evAnnounceTick{})
	}
	stop = c.v.opt.Clock.After(every, tick)
	c.announce = func() { stopped = true; stop() }
}

func (c *vcall) announcePosition() callEvent {
	cctx, cancel := c.v.ctx()
	pos, wait, err := c.v.opt.ACD.Position(cctx, c.id)
	cancel()
	if err != nil || pos <= 0 {
		return evAnnounced{}
	}
	p := c.policy()
	offer := p.Enabled && p.VirtualHold &&
		((p.VirtualHoldMinWait > 0 && wait >= p.VirtualHoldMinWait) ||
			(p.VirtualHoldMinPosition > 0 && pos > p.VirtualHoldMinPosition))
	c.v.opt.People.Announced(c.id, offer)
	// The message is not played out in virtual time: it changes nothing
	// but the offer it carries.
	return evAnnounced{OfferedCallback: offer}
}

func (c *vcall) overflow() callEvent {
	v := c.v
	to, hasOverflow := v.opt.Config.Topic(c.topic.Overflow)
	now := v.now()
	cctx, cancel := v.ctx()
	defer cancel()
	st, err := v.opt.ACD.Lookup(cctx, c.id)
	if err != nil || st.State != "waiting" {
		return evOverflow{Result: overflowRetry}
	}
	if !hasOverflow {
		return evOverflow{Result: overflowNowhere}
	}
	if _, _, err := v.opt.ACD.Abandon(cctx, c.id, now); err != nil {
		return evOverflow{Result: overflowStuck}
	}
	c.topic, c.prio, c.rec.Topic = to, to.Priority, to.ID
	offers, err := v.opt.ACD.Enqueue(cctx, c.waiting(to), now)
	if err != nil {
		return evOverflow{Result: overflowJoinFailed}
	}
	return evOverflow{Result: overflowMoved, Policy: c.policy(), MaxWait: c.maxWaitFor(to), Offers: offers}
}

func (c *vcall) scheduleCallback(reason string) bool {
	v := c.v
	cb := v.opt.Callbacks
	if cb == nil || c.topic == nil {
		return false
	}
	queueTime := c.rec.EnqueuedAt
	if queueTime.IsZero() {
		queueTime = v.now()
	}
	cctx, cancel := v.ctx()
	t, err := cb.Schedule(cctx, CallbackRequest{
		Number: c.number, Topic: c.topic.ID, Language: c.lang, Reason: reason,
		QueueTime: queueTime, Priority: c.prio, SourceCallID: c.id,
	}, v.now())
	cancel()
	if err != nil {
		if !errors.Is(err, ErrNumberRefused) {
			v.fail(fmt.Errorf("callback for %s: %w", c.id, err))
		}
		return false
	}
	c.rec.Callback = t.ID
	// The router kicks its promotion loop after a schedule.
	v.opt.Clock.After(0, v.Sweep)
	return true
}

func (c *vcall) closeOwedCallbacks() {
	v := c.v
	cb := v.opt.Callbacks
	if cb == nil || c.number == "" {
		return
	}
	cctx, cancel := v.ctx()
	defer cancel()
	ids, err := cb.CloseInbound(cctx, c.number, c.id, v.now())
	if err != nil {
		v.fail(fmt.Errorf("closing %s's callbacks: %w", c.id, err))
		return
	}
	for _, id := range ids {
		_, next, err := v.opt.ACD.Abandon(cctx, cbPrefix+id, v.now())
		if err != nil && !errors.Is(err, ErrRefused) {
			v.fail(fmt.Errorf("closed callback %s out of its queue: %w", id, err))
			continue
		}
		v.deliver(next)
	}
}

// ---- callback attempts ----

// vattempt executes one attemptMachine, as cbAttempt does over a real PBX.
type vattempt struct {
	v       *Virtual
	m       attemptMachine
	id      string // callback id
	entry   string // cb-<id>
	attempt string // cb-<id>-a<n>
	offer   Offer
	cb      DueCallback
	citUp   bool // the citizen's leg rings or talks
	opUp    bool
	timers  [numAtTimers]func()
	rec     records.Record
}

func (v *Virtual) newAttempt(id string) *vattempt {
	a := &vattempt{v: v, id: id, entry: cbPrefix + id}
	a.attempt = a.entry + "-a" + v.uniq()
	v.attempts[a.attempt] = a
	return a
}

// startAttempt runs an attempt for an offer of a callback's entry
// (Router.startCallback).
func (v *Virtual) startAttempt(o Offer) {
	a := v.newAttempt(o.CallID[len(cbPrefix):])
	a.offer = o
	agentFirst := v.opt.Policy == nil || !v.opt.Policy(o.Topic).CustomerFirst
	t, ok := v.opt.Config.Topic(o.Topic)
	times := atTimes{Ring: ringTimeout(t), Citizen: v.opt.CitizenRing, Renew: time.Minute, Lease: leaseAfter(o, v.now())}
	if ok {
		times.WrapUp = t.WrapUp.D()
	}
	a.feed(aevStart{AgentFirst: agentFirst, Times: times})
}

func (a *vattempt) feed(ev atEvent) {
	queue := []atEvent{ev}
	for len(queue) > 0 {
		ev := queue[0]
		queue = queue[1:]
		for _, cmd := range a.m.Handle(ev, a.v.now()) {
			if res := a.exec(cmd); res != nil {
				queue = append(queue, res)
			}
		}
	}
	if a.m.phase == atDone && a.v.attempts[a.attempt] == a {
		delete(a.v.attempts, a.attempt)
		for _, stop := range a.timers {
			if stop != nil {
				stop()
			}
		}
	}
}

func (a *vattempt) exec(cmd atCmd) atEvent {
	v := a.v
	switch c := cmd.(type) {
	case acBegin:
		cctx, cancel := v.ctx()
		cb, err := v.opt.Callbacks.Begin(cctx, a.id, a.attempt, a.offer.AgentID, v.now())
		cancel()
		if err != nil {
			return aevBegun{}
		}
		a.cb = cb
		a.rec = records.Record{CallID: a.attempt, Topic: a.offer.Topic, Arrival: v.now(), IVRPath: "callback",
			Callback: a.id, CallerNumber: cb.Number, Language: cb.Language, EnqueuedAt: cb.QueueTime,
			OfferedAt: v.now(), Offers: 1}
		return aevBegun{OK: true}
	case acDial:
		if c.Leg == legOperator {
			a.opUp = true
			v.opt.People.OperatorRings(a.attempt, a.offer.AgentID)
		} else {
			a.citUp = true
			v.opt.People.CitizenRings(a.attempt, a.cb.Topic)
		}
		return aevDialed{Leg: c.Leg, OK: true}
	case acAnswered:
		cctx, cancel := v.ctx()
		err := v.opt.ACD.Answered(cctx, a.offer, v.now())
		cancel()
		if err != nil {
			return aevAnswered{}
		}
		a.rec.Agent = a.offer.AgentID
		return aevAnswered{OK: true}
	case acWhisper:
		// "Callback, topic …" plays to the operator for a few seconds.
		v.opt.Clock.After(3*time.Second, func() { a.feed(aevWhisperDone{}) })
	case acBridge:
		v.opt.People.Talking(a.attempt, a.offer.AgentID, a.offer.Topic)
		return aevBridged{OK: true}
	case acDestroyBridge, acRenew:
	case acHangup:
		up := &a.opUp
		if c.Leg == legCitizen {
			up = &a.citUp
		}
		if *up {
			*up = false
			v.opt.People.HungUp(a.attempt)
			cause := causeNormalClearing
			if c.Reason == "no_answer" {
				cause = causeNoAnswer
			}
			leg := c.Leg
			v.opt.Clock.After(0, func() { a.feed(aevLegGone{Leg: leg, Cause: cause}) })
		}
	case acFinish:
		cctx, cancel := v.ctx()
		err := v.opt.Callbacks.Finish(cctx, a.id, a.offer.Topic, CallbackAttempt{CallID: a.attempt, AgentID: a.offer.AgentID, Result: c.Result, Cause: c.Cause}, v.now())
		cancel()
		if err != nil && !errors.Is(err, ErrRefused) {
			v.fail(fmt.Errorf("finish %s: %w", a.attempt, err))
		}
	case acAbort:
		cctx, cancel := v.ctx()
		err := v.opt.Callbacks.Abort(cctx, a.id, a.attempt, c.Reason, v.now())
		cancel()
		if err != nil && !errors.Is(err, ErrRefused) {
			v.fail(fmt.Errorf("abort %s: %w", a.attempt, err))
		}
		v.opt.Clock.After(0, v.Sweep)
	case acGiveBack:
		v.giveBack(a.offer, c.Unreachable)
	case acReleaseEntry:
		cctx, cancel := v.ctx()
		_, next, err := v.opt.ACD.Abandon(cctx, a.offer.CallID, v.now())
		cancel()
		if err != nil && !errors.Is(err, ErrRefused) {
			v.fail(fmt.Errorf("release %s: %w", a.offer.CallID, err))
		}
		v.deliver(next)
	case acEndOperator:
		v.endTurn(a.offer.AgentID, a.offer.CallID, c.Wrap)
	case acRecord:
		a.rec.EndedAt = v.now()
		a.rec.Outcome, a.rec.EndedBy, a.rec.HangupCause = c.Outcome, c.EndedBy, c.Cause
		if !c.AnsweredAt.IsZero() {
			a.rec.AnsweredAt = c.AnsweredAt
			a.rec.Wait = c.AnsweredAt.Sub(a.cb.QueueTime)
		}
		v.opt.People.Record(a.rec)
	case acExtendOffer:
		cctx, cancel := v.ctx()
		o, next, err := extendOffer(cctx, v.opt.ACD, a.offer, v.now())
		cancel()
		if err != nil {
			return aevLeaseRenewed{}
		}
		a.offer = o
		return aevLeaseRenewed{OK: true, Next: next}
	case acHandOver:
		a.citUp = false
		a.handOver()
	case acTimer:
		if stop := a.timers[c.Kind]; stop != nil {
			stop()
		}
		kind, gen := c.Kind, c.Gen
		a.timers[c.Kind] = v.opt.Clock.After(c.After, func() {
			a.timers[kind] = nil
			a.feed(aevTimer{Kind: kind, Gen: gen})
		})
	case acStopTimer:
		if stop := a.timers[c.Kind]; stop != nil {
			stop()
			a.timers[c.Kind] = nil
		}
	default:
		v.fail(fmt.Errorf("%w: %T on attempt %s", ErrVirtualUnsupported, cmd, a.attempt))
	}
	return nil
}

// handOver: a customer-first citizen who answered waits in the queue at
// their original queue time (Router.queueCalledBack).
func (a *vattempt) handOver() {
	v := a.v
	d := a.cb
	id := a.entry + "-c" + v.uniq()
	turn := a.offer
	c := &vcall{v: v, id: id, number: d.Number, lang: d.Language, m: newCallMachine(d.Number != ""), calledBack: &d, turn: &turn}
	c.rec = records.Record{CallID: id, CallerNumber: d.Number, Arrival: v.now(), Language: d.Language, IVRPath: "callback"}
	v.calls[id] = c
	c.feed(evCalledBack{Topic: d.Topic, Priority: d.Priority})
}
