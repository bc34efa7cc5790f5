package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/internal/logmask"
	"github.com/hotline-acd/hotline/internal/spoken"
	"github.com/hotline-acd/hotline/pbx"
	"github.com/hotline-acd/hotline/records"
)

// msg is what the demultiplexer and other calls post to a call.
type msg struct {
	ev       pbx.Event
	offer    *Offer
	resynced bool // ev was synthesised by a re-sync, not sent by the PBX
	pbxLost  bool // resynced: the channel vanished in a restart of the PBX
	// xfer is an operator's transfer request (transfer.go); the answer
	// goes back on its reply channel.
	xfer *xferMsg
	// mon is a supervisor's monitor request (monitor.go).
	mon *monReq
}

// call is one citizen's call: the executor of its callMachine. Only its
// own goroutine touches its fields. The machine decides; the call turns PBX
// and Redis replies into the machine's events and performs its commands.
type call struct {
	r     *Router
	ctx   context.Context // the router's run context, for the menu
	id    string
	ch    pbx.Channel
	inbox *mailbox[msg]
	log   *zap.Logger
	cfg   *config.Config

	m      *callMachine
	menu   menuDriver
	number string // validated caller number ("" when withheld or invalid)
	lang   string
	topic  *config.Topic
	prio   int

	offer *Offer // the reservation being rung, or the conversation's operator
	// conv names the Redis steps of the conversation in progress (its
	// answer and its end), unique in the call.
	conv  string
	legID string
	// early holds the events of operator legs another instance rang for
	// this call (it reserved the operator) that came before the offer
	// naming the leg: they are replayed once the call takes the leg on.
	early    map[string]*earlyLeg
	earlyT   *time.Timer     // the next early leg to give up on: see earlyFor
	ownLegs  map[string]bool // operator legs this call dialled or took on
	bridgeID string
	inBridge [2]bool // the caller, the operator leg: entered the bridge
	// freed is what the wrap-up of an operator whose line dropped released,
	// handed on once the citizen is back in the queue.
	freed      []Offer
	freedAgent string

	timers   [numTimers]*time.Timer
	timerGen [numTimers]int

	// announcements while queued
	announce   *time.Ticker
	announceID string // playback id of the announcement playing, if any
	onMOH      bool

	rec records.Record
	met callMetrics // for the per-topic counters at the end

	adopted *adoption // set when a restarted router took the call over
	// calledBack is set for a customer-first callback the citizen answered:
	// no menu, straight into the queue at the original queue time.
	calledBack *DueCallback
	// turn is the operator the called-back citizen's callback reserved:
	// given back once the citizen is queued (releaseTurn).
	turn *Offer

	// enteredNumber is the number a caller with a withheld caller ID keyed
	// in for a callback.
	enteredNumber string
	entryPlayback string
	goodbyeID     string

	// recName is the conversation's recording in progress (recording.go);
	// noticePlayed: the caller heard the recording notice.
	recName      string
	noticePlayed bool
	noticeID     string // the notice's playback, until it ends or the caller is bridged
	// noticeCut: the caller was bridged before the notice ended; it is
	// played again to them alone once the conversation is held.
	noticeCut bool

	// Transfers (transfer.go): the request being fed to the machine, the
	// transfer in progress (its record entry), the service's number, leg
	// and bridge, the topic asked for.
	xferReq   *xferMsg
	xfer      *records.Transfer
	svcNumber string
	svcLegID  string
	svcBridge string
	xferTopic string
}

func newCall(r *Router, ev pbx.Event) *call {
	cfg := r.Config()
	number, ok := sanitizeNumber(ev.Channel.CallerNumber)
	if !ok {
		number = ""
	}
	c := &call{
		r:      r,
		id:     ev.ChannelID,
		ch:     ev.Channel,
		inbox:  newMailbox[msg](),
		cfg:    cfg,
		number: number,
		lang:   defaultLanguage(cfg),
		m:      newCallMachine(number != ""),
	}
	c.log = r.log.With(zap.String("call_id", c.id))
	c.rec = records.Record{CallID: c.id, CallerNumber: number, Arrival: r.now()}
	if ev.Time.After(time.Time{}) && ev.Time.Before(c.rec.Arrival) {
		c.rec.Arrival = ev.Time
	}
	return c
}

func defaultLanguage(cfg *config.Config) string {
	if len(cfg.Languages) > 0 {
		return cfg.Languages[0].Code
	}
	return "en"
}

// sanitizeNumber keeps a caller number only if it is digits with an optional
// leading '+', 3 to 20 long: raw caller ID never reaches a dial string or a
// display name unchecked.
func sanitizeNumber(raw string) (string, bool) {
	s := strings.TrimSpace(raw)
	if len(s) < 3 || len(s) > 21 {
		return "", false
	}
	for i, ch := range s {
		if ch == '+' && i == 0 {
			continue
		}
		if ch < '0' || ch > '9' {
			return "", false
		}
	}
	return s, true
}

// run is the call's one select loop. It returns when the call is over or
// the router stops; tear-down runs under a context the caller cannot cancel.
func (c *call) run(ctx context.Context) {
	defer c.r.forget(c)
	defer c.stopTimers()
	c.ctx = ctx
	c.log.Info("call arrived", logmask.Number("caller", c.number), zap.String("exten", c.ch.Exten))

	if c.calledBack == nil {
		c.r.noteArrival(c.log, c.rec)
	}
	switch {
	case c.adopted != nil:
		c.feed(c.resume())
	case c.calledBack != nil:
		c.rec.Language = c.lang
		c.feed(evCalledBack{Topic: c.calledBack.Topic, Priority: c.calledBack.Priority})
	default:
		c.feed(evStart{})
	}

	for c.m.phase != phaseDone {
		select {
		case <-ctx.Done():
			// hotline is stopping: the caller stays where Redis holds it and
			// the next instance re-syncs; nothing is abandoned here.
			c.log.Debug("router stopping; call left to re-sync", zap.String("phase", c.m.phase.String()))
			for _, m := range c.inbox.close() {
				if m.xfer != nil {
					m.xfer.answer(fmt.Errorf("router: %s by operator %s on call %s: router stopping: %w", m.xfer.op, m.xfer.agent, c.id, ErrNoCall))
				}
				if m.mon != nil {
					m.mon.answer(monReply{err: fmt.Errorf("router: monitor of operator %s on call %s: router stopping: %w", m.mon.agent, c.id, ErrNoCall)})
				}
			}
			return
		case <-c.inbox.C():
			// Every message is fed, also after the call ended: the machine
			// gives back an offer that arrives too late.
			for _, m := range c.inbox.take() {
				c.handle(m)
			}
		case <-c.menuTimer():
			c.menuStep(c.menu.OnTimer(ctx))
		case <-c.announceC():
			c.feed(evAnnounceTick{})
		case <-c.timerC(timerRing):
			c.fire(timerRing)
		case <-c.timerC(timerLease):
			c.fire(timerLease)
		case <-c.timerC(timerMaxWait):
			c.fire(timerMaxWait)
		case <-c.timerC(timerLegCause):
			c.fire(timerLegCause)
		case <-c.timerC(timerEntry):
			c.fire(timerEntry)
		case <-c.earlyC():
			c.expireEarly()
		}
	}
	c.r.deliver(c.releaseTurn(), time.Time{}) // a citizen who left before they were queued
	c.hangupEarly()
	// Whatever is still queued is about a finished call; offers must be
	// released so the operator is not held.
	for _, m := range c.inbox.close() {
		if m.xfer != nil {
			m.xfer.answer(fmt.Errorf("router: %s by operator %s on call %s: the call ended: %w", m.xfer.op, m.xfer.agent, c.id, ErrNoCall))
		}
		if m.mon != nil {
			m.mon.answer(monReply{err: fmt.Errorf("router: monitor of operator %s on call %s: the call ended: %w", m.mon.agent, c.id, ErrNoCall)})
		}
		if m.offer != nil {
			o := *m.offer
			c.r.spawn(func() { c.r.deliver([]Offer{o}, o.FreedAt) })
		}
	}
}

// feed runs ev through the machine and executes its commands; the results
// of commands are fed in turn, after the list that produced them.
func (c *call) feed(ev callEvent) {
	queue := []callEvent{ev}
	for len(queue) > 0 {
		ev := queue[0]
		queue = queue[1:]
		for _, cmd := range c.m.Handle(ev, c.r.now()) {
			if res := c.exec(cmd); res != nil {
				queue = append(queue, res)
			}
		}
	}
	c.publishCard()
}

// handle turns a message into the machine's event.
func (c *call) handle(m msg) {
	if m.offer != nil {
		c.feed(evOffer{Offer: *m.offer})
		if e, ok := c.early[c.legID]; ok && c.legID == m.offer.LegID {
			delete(c.early, c.legID)
			for _, ev := range e.evs {
				c.handle(msg{ev: ev})
			}
		}
		return
	}
	if m.xfer != nil {
		c.transferRequest(m.xfer)
		return
	}
	if m.mon != nil {
		c.monitorRequest(m.mon)
		return
	}
	ev := m.ev
	switch {
	case ev.ChannelID == c.id:
		switch ev.Type {
		case pbx.StasisEnd, pbx.ChannelDestroyed, pbx.ChannelHangupRequest:
			// HangupRequest: StasisEnd follows for dialplan channels;
			// acting now shortens the window in which an operator could be
			// offered a caller who left.
			c.feed(evCallerHangup{Cause: ev.Cause, PBXLost: m.pbxLost})
		case pbx.DTMF:
			c.feed(evDigit{Digit: ev.Digit})
		case pbx.PlaybackFinished:
			c.feed(evPlaybackDone{Which: c.playback(ev.PlaybackID), ID: ev.PlaybackID, State: ev.PlaybackState})
		case pbx.ChannelEnteredBridge:
			c.enteredBridge(ev, &c.inBridge[0])
		}
	case ev.ChannelID == c.legID && c.legID != "":
		switch ev.Type {
		case pbx.StasisStart:
			c.feed(evLegAnswered{})
		case pbx.ChannelHangupRequest:
			c.feed(evLegHangupReq{Cause: ev.Cause})
		case pbx.StasisEnd:
			c.feed(evLegStasisEnd{Cause: ev.Cause, Resynced: m.resynced})
		case pbx.ChannelDestroyed:
			c.feed(evLegDestroyed{Cause: ev.Cause})
		case pbx.ChannelEnteredBridge:
			c.enteredBridge(ev, &c.inBridge[1])
		}
	case ev.ChannelID == c.svcLegID && c.svcLegID != "":
		switch ev.Type {
		case pbx.StasisStart:
			c.feed(evServiceAnswered{})
		case pbx.StasisEnd, pbx.ChannelDestroyed:
			c.feed(evServiceGone{Cause: ev.Cause})
		}
	case strings.HasPrefix(ev.ChannelID, c.id+legSep):
		c.keepEarly(ev)
	}
}

// Bounds of early: an operator leg is rung for one offer at a time, and
// a handful of events come before its answer. The offer naming a leg
// comes within milliseconds of its first event; a leg still not taken on
// after earlyFor was rung by an instance that died before it forwarded
// the offer (the reservation's lease gives the caller back): it is hung
// up, so that an operator who answered it does not sit in silence.
const (
	maxEarlyLegs   = 8
	maxEarlyEvents = 16
	earlyFor       = 5 * time.Second
)

func (c *call) earlyC() <-chan time.Time {
	if c.earlyT == nil {
		return nil
	}
	return c.earlyT.C
}

// earlyLeg is what a call holds of a leg rung for it elsewhere.
type earlyLeg struct {
	evs   []pbx.Event
	since time.Time // its first event
}

// keepEarly holds an event of an operator leg of this call the call has
// not taken on (yet): another instance rang it, and its offer is on the
// way. Late events of the call's own legs, and of ids only starting like
// a leg's (a dash after the token), are not held.
func (c *call) keepEarly(ev pbx.Event) {
	token := strings.TrimPrefix(ev.ChannelID, c.id+legSep)
	if c.ownLegs[ev.ChannelID] || token == "" || strings.Contains(token, "-") {
		return
	}
	if c.early == nil {
		c.early = map[string]*earlyLeg{}
	}
	e := c.early[ev.ChannelID]
	if e == nil {
		if len(c.early) >= maxEarlyLegs {
			return
		}
		e = &earlyLeg{since: c.r.now()}
		c.early[ev.ChannelID] = e
	}
	if len(e.evs) >= maxEarlyEvents {
		return
	}
	e.evs = append(e.evs, ev)
	if c.earlyT == nil {
		c.earlyT = time.NewTimer(earlyFor)
	}
	c.log.Debug("event of an operator leg not taken on (yet): held", zap.String("leg", ev.ChannelID), zap.String("event", string(ev.Type)))
}

// expireEarly hangs up the legs held for earlyFor without their offer and
// waits for the next one.
func (c *call) expireEarly() {
	c.earlyT = nil
	now := c.r.now()
	next := time.Duration(0)
	for id, e := range c.early {
		left := earlyFor - now.Sub(e.since)
		if left > 0 {
			if next == 0 || left < next {
				next = left
			}
			continue
		}
		c.log.Warn("an operator leg rung for this call was never handed to it: hanging it up", zap.String("leg", id))
		c.hangupHeld(id, e)
		delete(c.early, id)
	}
	if next > 0 {
		c.earlyT = time.NewTimer(next)
	}
}

// hangupEarly ends, when the call is over, the legs rung for it that it
// never took on.
func (c *call) hangupEarly() {
	if c.earlyT != nil {
		c.earlyT.Stop()
		c.earlyT = nil
	}
	for id, e := range c.early {
		c.hangupHeld(id, e)
	}
	c.early = nil
}

// hangupHeld hangs up an early leg unless it is gone already.
func (c *call) hangupHeld(id string, e *earlyLeg) {
	if e.evs[len(e.evs)-1].Type != pbx.ChannelDestroyed {
		c.r.spawn(func() { c.r.hangupQuietly(context.Background(), id, "normal") })
	}
}

// enteredBridge notes the caller's or the operator leg's entry into the
// call's bridge; the conversation is held once both are in.
func (c *call) enteredBridge(ev pbx.Event, in *bool) {
	if ev.BridgeID == "" || ev.BridgeID != c.bridgeID || *in {
		return
	}
	*in = true
	if c.inBridge[0] && c.inBridge[1] {
		c.feed(evCallerJoined{})
		if c.m.phase == phaseBridged {
			c.startRecording()
			c.replayCutNotice()
		}
	}
}

// playback says whose playback id is.
func (c *call) playback(id string) playbackKind {
	switch {
	case id == "":
		return playOther
	case id == c.goodbyeID:
		return playGoodbye
	case id == c.noticeID:
		c.noticeID = "" // heard to its end
		return playOther
	case id == c.announceID:
		c.announceID = ""
		return playAnnounce
	case id == c.entryPlayback:
		return playEntry
	}
	return playOther
}

func newTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }

func (c *call) menuTimer() <-chan time.Time {
	if c.m.phase != phaseIVR || c.menu == nil {
		return nil
	}
	return c.menu.TimerC()
}

func (c *call) announceC() <-chan time.Time {
	if c.m.phase != phaseQueued || c.announce == nil {
		return nil
	}
	return c.announce.C
}

func (c *call) timerC(k timerKind) <-chan time.Time {
	if c.timers[k] == nil {
		return nil
	}
	return c.timers[k].C
}

func (c *call) fire(k timerKind) {
	c.timers[k] = nil
	c.feed(evTimer{Kind: k, Gen: c.timerGen[k]})
}

func (c *call) stopTimers() {
	for k, t := range c.timers {
		if t != nil {
			t.Stop()
			c.timers[k] = nil
		}
	}
	if c.menu != nil {
		ctx, cancel := c.r.cmdCtx()
		_ = c.menu.Stop(ctx)
		cancel()
	}
	if c.announce != nil {
		c.announce.Stop()
	}
}

// menuStep logs a menu error and feeds the menu's end to the machine.
func (c *call) menuStep(out *menuOutcome, done bool, err error) {
	if err != nil {
		c.log.Warn("ivr", zap.Error(err))
	}
	if done {
		c.feed(evMenuDone{Out: out})
	}
}

// exec performs one command and returns the event its result is, if any.
func (c *call) exec(cmd callCmd) callEvent {
	switch x := cmd.(type) {
	case cmdAnswerCaller:
		return c.answerCaller()
	case cmdStartMenu:
		c.menu = c.r.newMenu(c)
		return c.menuResult(c.menu.Start(c.ctx))
	case cmdMenuDigit:
		return c.menuResult(c.menu.OnDigit(c.ctx, x.Digit))
	case cmdMenuPlayback:
		return c.menuResult(c.menu.OnPlaybackFinished(c.ctx, x.ID, x.State))
	case cmdStopMenu:
		if c.menu != nil {
			_ = c.menu.Stop(c.ctx)
		}
	case cmdMenuChoice:
		c.rec.IVRPath = x.Out.Path
		if c.r.opt.Metrics != nil {
			c.r.opt.Metrics.menuChoices(c, x.Out.Path)
		}
		if x.Out.Language != "" {
			c.lang = x.Out.Language
		}
		// No variable is set on the citizen's channel over ARI, not even
		// CHANNEL(language): Asterisk 22 then refuses dangerous functions
		// on the channel's thread for good, and the dialplan fallback could
		// no longer keep the caller in AstDB (DB()) for a callback.
		// hotline plays every sound with its language in the URI.
		c.rec.Language = c.lang
	case cmdCheckTopic:
		return c.checkTopic(x)
	case cmdEnqueue:
		return c.enqueue()
	case cmdFallback:
		return c.fallback()
	case cmdTransfer:
		return c.transfer(x.Number)
	case cmdRing:
		return c.ring(x.Offer)
	case cmdReleaseOffer:
		c.releaseOffer(x)
	case cmdOfferAfterEnd:
		// Delivered again once this call's inbox is closed: the router then
		// takes the caller out of Redis, which frees the operator.
		o := x.Offer
		c.r.spawn(func() { c.r.deliver([]Offer{o}, o.FreedAt) })
	case cmdRenewLease:
		return c.renewLease(x.Offer)
	case cmdAnswered:
		return c.answered(x.Offer)
	case cmdBridge:
		return c.bridge()
	case cmdConnected:
		c.connected()
	case cmdHangupLeg:
		if c.legID == "" {
			break
		}
		if x.Reason != "no_answer" {
			c.r.hangupQuietly(c.ctx, c.legID, x.Reason)
			break
		}
		c.log.Info("ring timeout; cancelling the operator leg", zap.String("agent", c.offer.AgentID))
		cctx, cancel := c.r.cmdCtx()
		err := c.r.opt.PBX.Hangup(cctx, c.legID, x.Reason)
		cancel()
		switch {
		case errors.Is(err, pbx.ErrNotFound):
			// Gone without a ChannelDestroyed seen here (it went to a
			// WebSocket down then, or came before the leg was ours): the
			// ring timer is the net, and this is its catch.
			return evLegDestroyed{}
		case err != nil:
			c.log.Warn("hangup failed", zap.String("channel", c.legID), zap.Error(err))
		}
	case cmdForgetLeg:
		if c.legID != "" {
			c.r.dropLeg(c.legID)
			c.legID = ""
		}
	case cmdHangupCaller:
		c.r.hangupQuietly(context.Background(), c.id, "normal")
	case cmdEndConversation:
		c.endConversation(x.By)
	case cmdOperatorDropped:
		c.operatorDropped(x.Cause)
	case cmdRequeue:
		return c.requeue()
	case cmdHandOnOperator:
		c.handOnOperator(x.WrapUp)
	case cmdLeaveQueue:
		return c.leaveQueue()
	case cmdOverflow:
		return c.overflow()
	case cmdScheduleCallback:
		return evCallbackResult{OK: c.scheduleCallback(x.Reason)}
	case cmdNumberEntered:
		c.enteredNumber = x.Number
	case cmdDeliver:
		c.r.deliver(x.Offers, time.Time{})
	case cmdStartMOH:
		c.startMOH()
	case cmdStopMOH:
		c.stopMOH()
	case cmdAnnounce:
		return c.announcePosition()
	case cmdStartAnnouncements:
		if c.announce == nil {
			c.announce = newTicker(x.Every)
		}
	case cmdStopAnnouncement:
		c.stopPlayback(&c.announceID)
	case cmdPlayApology:
		return c.playApology()
	case cmdPlayGoodbye:
		return c.say(x.Prompts)
	case cmdStopGoodbye:
		c.stopPlayback(&c.goodbyeID)
	case cmdPlayEntry:
		c.playEntry(x.Prompts, x.Digits)
	case cmdStopEntryPrompt:
		c.stopPlayback(&c.entryPlayback)
	case cmdSetTimer:
		if t := c.timers[x.Kind]; t != nil {
			t.Stop()
		}
		c.timers[x.Kind] = time.NewTimer(x.After)
		c.timerGen[x.Kind] = x.Gen
	case cmdCancelTimer:
		if t := c.timers[x.Kind]; t != nil {
			t.Stop()
			c.timers[x.Kind] = nil
		}
	case cmdNote:
		c.rec.Note = strings.TrimSpace(c.rec.Note + " " + x.Text)
	case cmdRecord:
		c.finish(x.Outcome, x.By, x.Cause)
	case cmdTransferReply:
		c.transferReply(x.Refused)
	case cmdReleaseOperator:
		c.releaseOperator()
	case cmdHoldCitizen:
		c.holdCitizen()
	case cmdDialService:
		return c.dialService()
	case cmdBridgeService:
		return c.bridgeService(x.WithOperator)
	case cmdEndService:
		c.endService()
	case cmdSetTopic:
		c.setTopic()
	case cmdTransferDone:
		c.transferDone(x.Outcome)
	default:
		c.log.Error("call machine: unknown command", zap.String("command", fmt.Sprintf("%T", cmd)))
	}
	return nil
}

func (c *call) menuResult(out *menuOutcome, done bool, err error) callEvent {
	if err != nil {
		c.log.Warn("ivr", zap.Error(err))
	}
	if !done {
		return nil
	}
	return evMenuDone{Out: out}
}

// answerCaller answers a new call; a caller already gone ends it. A
// channel already up (a caller adopted in the menu after a restart) is not
// answered again: on Asterisk the answer would wait behind the prompt the
// dead router left playing on the channel, for as long as that prompt lasts.
func (c *call) answerCaller() callEvent {
	if c.ch.State == "Up" {
		return evAnswerResult{}
	}
	cctx, cancel := c.r.cmdCtx()
	err := c.r.opt.PBX.Answer(cctx, c.id)
	cancel()
	if err != nil {
		c.log.Warn("answer failed", zap.Error(err))
		return evAnswerResult{Gone: errors.Is(err, pbx.ErrNotFound)}
	}
	return evAnswerResult{}
}

// checkTopic takes the topic the caller is to wait in, and tells an open
// one from one closed now.
func (c *call) checkTopic(x cmdCheckTopic) callEvent {
	t, ok := c.cfg.Topic(x.Topic)
	if !ok {
		c.log.Error("menu chose an unknown topic", zap.String("queue", x.Topic))
		return evTopicChecked{Result: topicUnknown}
	}
	c.topic = t
	c.prio = t.Priority + x.Priority
	c.rec.Topic = t.ID
	c.log = c.log.With(zap.String("queue", t.ID))
	now := c.r.now()
	arrival := now
	if x.CalledBack && c.calledBack != nil {
		// A citizen called back keeps the place they first queued at.
		c.prio = x.Priority
		arrival = c.calledBack.QueueTime
	}
	c.rec.EnqueuedAt = arrival
	ev := evTopicChecked{Policy: c.policy(), At: arrival}
	if h := c.cfg.Hours; len(h.Weekly) > 0 && !h.IsOpen(now) {
		c.log.Info("no service now", zap.String("why", "closed"))
		ev.Result = topicClosed
	}
	return ev
}

func (c *call) enqueue() callEvent {
	t := c.topic
	cctx, cancel := c.r.cmdCtx()
	offers, err := c.r.opt.ACD.Enqueue(cctx, c.waiting(t), c.r.now())
	cancel()
	if errors.Is(err, ErrQueueFull) {
		c.r.deliver(c.releaseTurn(), time.Time{})
		c.log.Info("no service now", zap.String("why", "queue_full"))
		return evEnqueued{Result: enqueueFull}
	}
	if err != nil {
		// The turn is given back when the call ends, Redis back or not.
		c.log.Error("Redis could not queue the caller; handing them to the PBX fallback", zap.Error(err))
		return evEnqueued{Result: enqueueFailed}
	}
	// The operator the callback reserved is offered the best caller now,
	// the citizen as a rule: in this reply so the machine knows it rings.
	offers = append(offers, c.releaseTurn()...)
	c.log.Info("queued", zap.Int("priority", c.prio), zap.String("language", c.lang))
	c.met.queued = true
	c.playRecordingNotice()
	mine := false
	for _, o := range offers {
		mine = mine || o.CallID == c.id
	}
	return evEnqueued{Offers: offers, Mine: mine, Announce: t.AnnounceEvery.D(), MaxWait: c.maxWaitFor(t)}
}

// releaseTurn gives back the operator a customer-first callback's entry
// reserved while its citizen was dialled, now that the citizen waits in the
// queue (or left first): the entry leaves the queue and the operator is
// offered the best caller, the citizen as a rule (their original queue
// time). Retried until it holds; an instance that dies first leaves it to
// the reservation's lease. It returns the offers to deliver.
func (c *call) releaseTurn() []Offer {
	t := c.turn
	if t == nil {
		return nil
	}
	c.turn = nil
	var next []Offer
	err := c.r.persist(c.log, c.id+"/turn", "giving back the operator reserved for the callback", func(ctx context.Context) error {
		var err error
		_, next, err = c.r.opt.ACD.Abandon(ctx, t.CallID, c.r.now())
		return err
	})
	if err != nil && !errors.Is(err, ErrRefused) {
		c.log.Error("the operator reserved for the callback was not given back: left to the reservation's lease", zap.String("agent", t.AgentID), zap.Error(err))
		return nil
	}
	return next
}

// maxWaitFor is the max_wait timer for topic t: only when waiting longer
// leads somewhere (an overflow topic or a callback).
func (c *call) maxWaitFor(t *config.Topic) time.Duration {
	if d := t.MaxWait.D(); d > 0 && (t.Overflow != "" || c.policy().Enabled) {
		return d
	}
	return 0
}

// fallback hands a caller Redis could not queue (it is unreachable or
// stalled) to the PBX's fallback, the path callers take when hotline is
// down: Asterisk's own queue for the same operators, and AstDB for a
// callback when nobody answers.
func (c *call) fallback() callEvent {
	cctx, cancel := c.r.cmdCtx()
	err := c.r.opt.PBX.Continue(cctx, c.id, fallbackContext, fallbackReleased)
	cancel()
	if errors.Is(err, pbx.ErrNotFound) {
		return evFallback{Result: fallbackGone}
	}
	if err != nil {
		c.log.Error("fallback failed; hanging up", zap.Error(err))
		return evFallback{Result: fallbackFailed}
	}
	if c.r.opt.Metrics != nil {
		c.r.opt.Metrics.Degraded.Inc()
	}
	return evFallback{Result: fallbackOK}
}

// overflow moves a caller who waited the topic's max_wait to its overflow
// topic, keeping the original arrival time so the caller keeps its place
// by time among the overflow topic's callers.
func (c *call) overflow() callEvent {
	to, hasOverflow := c.cfg.Topic(c.topic.Overflow)
	now := c.r.now()
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	st, err := c.r.opt.ACD.Lookup(cctx, c.id)
	if err != nil || st.State != "waiting" {
		return evOverflow{Result: overflowRetry}
	}
	if !hasOverflow {
		return evOverflow{Result: overflowNowhere}
	}
	if _, _, err := c.r.opt.ACD.Abandon(cctx, c.id, now); err != nil {
		c.log.Error("overflow: leaving the queue", zap.Error(err))
		return evOverflow{Result: overflowStuck}
	}
	from := c.topic.ID
	c.topic = to
	c.prio = to.Priority
	c.rec.Topic = to.ID
	offers, err := c.r.opt.ACD.Enqueue(cctx, c.waiting(to), now)
	if err != nil {
		c.log.Error("overflow: joining the overflow queue failed; caller hung up", zap.String("overflow", to.ID), zap.Error(err))
		return evOverflow{Result: overflowJoinFailed}
	}
	c.met.queued = true
	c.log.Info("waited too long; moved to the overflow topic", zap.String("from", from), zap.String("overflow", to.ID))
	c.log = c.r.log.With(zap.String("call_id", c.id), zap.String("queue", to.ID))
	return evOverflow{Result: overflowMoved, Policy: c.policy(), MaxWait: c.maxWaitFor(to), Offers: offers}
}

func (c *call) startMOH() {
	if c.onMOH {
		return
	}
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	if err := c.r.opt.PBX.StartMOH(cctx, c.id, c.cfg.Centre.MOHClass); err != nil {
		c.log.Warn("music on hold", zap.Error(err))
		return
	}
	c.onMOH = true
}

func (c *call) stopMOH() {
	if !c.onMOH {
		return
	}
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	if err := c.r.opt.PBX.StopMOH(cctx, c.id); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		c.log.Warn("stop music on hold", zap.Error(err))
	}
	c.onMOH = false
}

// announcePosition plays "you are number N, about M minutes" over a pause in
// the music. The numbers are hotline's own sounds in the caller's language
// (package spoken), not Asterisk's number: media, which has no Kazakh or
// Ukrainian and cannot make "минута" agree with the number. Each half is
// one sound with its intro prompt: a list is played item by item (so that
// a stop stops it), and every item costs a request and an event.
func (c *call) announcePosition() callEvent {
	if c.announceID != "" {
		return evAnnounced{Playing: true}
	}
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	pos, wait, err := c.r.opt.ACD.Position(cctx, c.id)
	if err != nil || pos <= 0 {
		return evAnnounced{}
	}
	minutes := int((wait + time.Minute - 1) / time.Minute)
	if minutes < 1 {
		minutes = 1
	}
	media := []string{c.sound(spoken.PositionPhrase(pos)), c.sound(spoken.WaitPhrase(minutes))}
	offer := c.offerVirtualHold(pos, wait)
	if offer {
		media = append(media, c.sound(promptCallbackOffer))
	}
	c.stopMOH()
	id := c.r.nextID("ann-" + c.id)
	if err := c.r.opt.PBX.Play(cctx, c.id, id, media...); err != nil {
		c.log.Warn("announcement", zap.Error(err))
		c.startMOH()
		return evAnnounced{OfferedCallback: offer}
	}
	c.announceID = id
	c.log.Info("position announced", zap.Int("position", pos), zap.Int("minutes", minutes))
	if c.r.opt.Metrics != nil {
		c.r.opt.Metrics.Announcements.Inc()
	}
	return evAnnounced{Playing: true, OfferedCallback: offer}
}

// Prompt names the router itself plays; the config must define them. The
// number sounds come from package spoken (the position announcement's
// with config.PromptPositionIntro and PromptWaitIntro in them), and hotline
// prompts renders those for every language of the config.
const (
	promptGoodbye         = config.PromptGoodbye
	promptOperatorDropped = config.PromptOperatorDropped
	// promptRecordingNotice: "the conversation may be recorded", for
	// callers of a topic that records only.
	promptRecordingNotice = config.RecordingNotice
)

func (c *call) sound(name string) string {
	return c.r.opt.SoundPrefix + c.lang + "/" + name
}

func (c *call) sounds(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = c.sound(n)
	}
	return out
}

// stopPlayback stops the playback *id names, if any, and forgets it.
func (c *call) stopPlayback(id *string) {
	if *id == "" {
		return
	}
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	_ = c.r.opt.PBX.StopPlayback(cctx, *id)
	*id = ""
}

// say plays the closing message; the machine hangs up at its end.
func (c *call) say(prompts []string) callEvent {
	c.goodbyeID = c.r.nextID("bye-" + c.id)
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	if err := c.r.opt.PBX.Play(cctx, c.id, c.goodbyeID, c.sounds(prompts...)...); err != nil {
		return evPlayFailed{Which: playGoodbye}
	}
	return nil
}

// playEntry plays a number-entry prompt; digits are read back one sound
// each in the caller's language (Asterisk's digits: would say them in
// English to a Kazakh or Ukrainian caller), after the first prompt.
func (c *call) playEntry(prompts []string, digits string) {
	c.stopPlayback(&c.entryPlayback)
	media := []string{c.sound(prompts[0])}
	for _, d := range spoken.DigitSounds(digits) {
		media = append(media, c.sound(d))
	}
	media = append(media, c.sounds(prompts[1:]...)...)
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	c.entryPlayback = c.r.nextID("num-" + c.id)
	if err := c.r.opt.PBX.Play(cctx, c.id, c.entryPlayback, media...); err != nil {
		c.log.Warn("number entry prompt", zap.Error(err))
	}
}

// ring originates the reserved operator's leg, or takes on the one the
// reserving instance originated into this application (o.LegID).
func (c *call) ring(o Offer) callEvent {
	log := c.log.With(zap.String("agent", o.AgentID))
	if o.LegID != "" {
		return c.takeLeg(o)
	}
	endpoint := operatorEndpoint(c.r.Config(), o)
	if endpoint == "" {
		log.Error("offered to an operator with no endpoint")
		return evRing{Result: ringNoEndpoint, Offer: o}
	}
	c.rec.Offers++
	req := operatorLeg(c.id+legSep+c.r.uniq(), endpoint, c.topic, c.lang, c.number)
	now := c.r.now()
	c.r.observeHandover(o, now)
	// No endpoint check first: it would cost every hand-over a round trip.
	// Asterisk refuses an originate to an unregistered phone at once (500
	// "Allocation failed", ErrUnavailable; originateFailed).
	if err := c.r.dialLeg(c.inbox, req); err != nil {
		if c.r.originateFailed(log, req, err) {
			return evRing{Result: ringUnreachable, Offer: o}
		}
		return evRing{Result: ringFailed, Offer: o}
	}
	log.Info("ringing operator", zap.String("endpoint", endpoint), zap.Duration("ring_timeout", req.Timeout))
	return c.ringing(o, req.ChannelID, now)
}

// takeLeg makes the operator leg another instance originated for this
// call (it reserved the operator) the call's own: its events reach this
// router only, and what arrived of them before the offer is replayed.
func (c *call) takeLeg(o Offer) callEvent {
	c.rec.Offers++
	c.r.addLeg(o.LegID, c.inbox)
	c.log.Info("operator rung by the instance that reserved them", zap.String("agent", o.AgentID), zap.String("leg", o.LegID))
	return c.ringing(o, o.LegID, c.r.now()) // the hand-over was measured where the leg was dialled
}

// ringing makes legID, ringing for o, the call's operator leg. Asterisk
// ends an unanswered originate itself; the ring timer is the net for a
// lost ChannelDestroyed.
func (c *call) ringing(o Offer, legID string, now time.Time) callEvent {
	c.offer, c.legID = &o, legID
	c.ownLeg(legID)
	if c.rec.OfferedAt.IsZero() {
		c.rec.OfferedAt = now
	}
	return evRing{Result: ringOK, Offer: o, Ring: ringTimeout(c.topic) + 5*time.Second, Lease: leaseAfter(o, now)}
}

// ownLeg notes a leg as the call's own: its late events are not taken
// for a leg rung elsewhere.
func (c *call) ownLeg(id string) {
	if c.ownLegs == nil {
		c.ownLegs = map[string]bool{}
	}
	c.ownLegs[id] = true
}

// leaseAfter renews the reservation's lease halfway through, so a ring
// longer than the lease is not taken for a crashed instance.
func leaseAfter(o Offer, now time.Time) time.Duration {
	if o.Expires.IsZero() {
		return 0
	}
	return max(o.Expires.Sub(now)/2, time.Millisecond)
}

// extendOffer renews cur's reservation lease: the renewed offer (still
// saying when its operator came free) and when to renew it next: for
// calls and callback attempts, live and simulated.
func extendOffer(ctx context.Context, acd ACD, cur Offer, now time.Time) (Offer, time.Duration, error) {
	o, err := acd.Extend(ctx, cur, now)
	if err != nil {
		return Offer{}, 0, err
	}
	o.FreedAt = cur.FreedAt
	return o, leaseAfter(o, now), nil
}

func (c *call) renewLease(cur Offer) callEvent {
	cctx, cancel := c.r.cmdCtx()
	o, next, err := extendOffer(cctx, c.r.opt.ACD, cur, c.r.now())
	cancel()
	if err != nil {
		c.log.Warn("lease renewal failed", zap.String("agent", cur.AgentID), zap.Error(err))
		return evLeaseRenewed{}
	}
	c.offer = &o
	return evLeaseRenewed{OK: true, Offer: o, Next: next}
}

// releaseOffer gives a reservation back: the caller keeps its place, the
// operator is made ready (or offline when unreachable), and whatever that
// freed is matched again at once.
func (c *call) releaseOffer(x cmdReleaseOffer) {
	o := x.Offer
	if c.offer != nil && c.offer.AgentID == o.AgentID && c.offer.Seq == o.Seq {
		c.offer = nil
	}
	if o.LegID != "" && o.LegID != c.legID {
		// Rung by the reserving instance and not (or no longer) the
		// call's leg: ended here, quietly when it is already gone.
		delete(c.early, o.LegID)
		c.r.hangupOfferLeg(o)
	}
	switch x.Reason {
	case "unexpected":
		c.log.Warn("unexpected offer", zap.String("agent", o.AgentID), zap.String("phase", c.m.phase.String()))
	case "unreachable", "originate_failed":
	default:
		c.log.Info("operator did not take the call", zap.String("agent", o.AgentID), zap.String("reason", x.Reason))
	}
	c.r.offerFailed(c.log, o, x.Unreachable)
}

// answered tells Redis the operator answered. An error here is ambiguous
// (the script may have run in Redis after the client gave up): retried
// under one operation id, it either holds or is refused, never "maybe".
func (c *call) answered(o Offer) callEvent {
	log := c.log.With(zap.String("agent", o.AgentID))
	now := c.r.now()
	// A token per conversation names its steps: the offer's seq is not
	// unique within a call (a re-queued caller's entry starts again).
	c.conv = c.r.uniq()
	err := c.r.persist(log, c.id+"/answered-"+c.conv, "answered", func(ctx context.Context) error {
		return c.r.opt.ACD.Answered(ctx, o, now)
	})
	if err != nil {
		log.Error("reservation lost before answer; dropping the operator leg", zap.Error(err))
		c.offer = nil
		return evAnswered{}
	}
	c.offer = &o
	c.rec.AnsweredAt = now
	c.rec.Agent = o.AgentID
	return evAnswered{OK: true}
}

// bridge joins the citizen and the operator.
func (c *call) bridge() callEvent {
	c.noticeCut = c.noticeCut || c.noticeID != ""
	c.stopPlayback(&c.noticeID)
	c.bridgeID = bridgePrefix + c.id
	c.inBridge = [2]bool{}
	if err := c.r.bridgeLegs(c.bridgeID, c.id, c.legID); err != nil {
		c.log.Error("bridging the citizen and the operator", zap.String("agent", c.offer.AgentID), zap.Error(err))
		return evBridged{}
	}
	return evBridged{OK: true}
}

// connected: the record and metrics of an answer; the citizen's open
// callbacks are closed.
func (c *call) connected() {
	c.closeOwedCallbacks()
	c.rec.Wait = c.rec.AnsweredAt.Sub(c.rec.EnqueuedAt)
	c.met.answer(c.rec.Wait)
	if c.r.opt.Metrics != nil {
		c.r.opt.Metrics.Wait.WithLabelValues(c.topic.ID).Observe(c.rec.Wait.Seconds())
	}
	c.log.Info("operator answered; bridged", zap.String("agent", c.offer.AgentID), zap.Duration("waited", c.rec.Wait))
}

// endedOp names the step that ends this call's conversation with agent:
// one per conversation, since a citizen re-queued after a dropped line may
// talk to a second operator (or the same one again) in the same call.
func (c *call) endedOp(agent string) string {
	if c.conv == "" {
		c.conv = c.r.uniq()
	}
	return c.id + "/ended-" + agent + "-" + c.conv
}

// endConversation hangs up the other side after one hung up, puts the
// operator into wrap-up and tears the bridge down.
func (c *call) endConversation(by string) {
	if by == "operator" {
		// Asterisk gives the caller no event when the operator leaves: the
		// caller would sit alone in silence, so hotline hangs up for them.
		c.r.hangupQuietly(c.ctx, c.id, "normal")
	} else if c.legID != "" {
		c.r.hangupQuietly(c.ctx, c.legID, "normal")
	}
	if by == "operator" {
		c.log.Info("operator hung up")
	}
	c.operatorTurnOver()
}

// operatorTurnOver frees the conversation's operator into wrap-up (or to
// the next caller), tears the bridge down and remembers the call for
// "call back".
func (c *call) operatorTurnOver() {
	agent := c.offer.AgentID
	log := c.log.With(zap.String("agent", agent))
	wrap := c.topic.WrapUp.D()
	now := c.r.now()
	// The call is the operator's last before they are in wrap-up: a "call
	// back" from any instance's desktop, once it sees the wrap-up, finds
	// this router (one Redis write on the hand-over's path).
	c.r.rememberLastCall(agent, CallbackRequest{
		Number: c.callbackNumber(), Topic: c.topic.ID, Language: c.lang,
		QueueTime: c.rec.EnqueuedAt, Priority: c.prio, SourceCallID: c.id,
	})
	// Free the operator before tearing down the bridge: the next caller's
	// hand-over waits on this, the empty bridge does not.
	next := c.r.endOperatorTurn(log, "operator wrap-up", c.endedOp(agent), agent, c.id, wrap, now)
	if wrap <= 0 {
		c.r.deliver(next, now) // no wrap-up: the operator was offered the next caller at once
	}
	c.stopRecording()
	c.r.destroyBridge(log, c.bridgeID)
	c.bridgeID = ""
	if wrap > 0 {
		c.r.scheduleWrapUp(agent, wrap)
	}
}

// operatorDropped frees an operator whose line dropped (their conversation
// is over in Redis as after any call) and tears the bridge down; the
// citizen stays.
func (c *call) operatorDropped(cause int) {
	agent := c.offer.AgentID
	log := c.log.With(zap.String("agent", agent))
	log.Warn("operator's line dropped; the citizen goes back to the head of the queue", zap.Int("cause", cause))
	c.freed = c.r.endOperatorTurn(log, "operator wrap-up", c.endedOp(agent), agent, c.id, c.topic.WrapUp.D(), c.r.now())
	c.stopRecording()
	c.r.destroyBridge(log, c.bridgeID)
	c.bridgeID = ""
	c.rec.Note = strings.TrimSpace(c.rec.Note + " operator_line_dropped:" + agent)
	c.freedAgent, c.offer = agent, nil
}

// handOnOperator: the dropped operator's wrap-up starts, or what their
// release freed is delivered.
func (c *call) handOnOperator(wrapUp bool) {
	freed, agent := c.freed, c.freedAgent
	c.freed, c.freedAgent = nil, ""
	if agent == "" {
		return
	}
	if wrap := c.topic.WrapUp.D(); wrapUp && wrap > 0 {
		c.r.scheduleWrapUp(agent, wrap)
		return
	}
	c.r.deliver(freed, c.r.now())
}

func (c *call) playApology() callEvent {
	c.announceID = c.r.nextID("sorry-" + c.id)
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	if err := c.r.opt.PBX.Play(cctx, c.id, c.announceID, c.sound(promptOperatorDropped)); err != nil {
		c.log.Warn("apology", zap.Error(err))
		c.announceID = ""
		return evPlayFailed{Which: playAnnounce}
	}
	return nil
}

// requeue puts the citizen back in their queue at their original queue
// time, so at its head among callers of their priority.
func (c *call) requeue() callEvent {
	var offers []Offer
	now := c.r.now()
	err := c.r.persist(c.log, c.id+"/requeue-"+c.r.uniq(), "back to the queue", func(ctx context.Context) error {
		var err error
		offers, err = c.r.opt.ACD.Enqueue(ctx, c.waiting(c.topic), now)
		if errors.Is(err, ErrAlreadyQueued) {
			return nil
		}
		return err
	})
	if err != nil {
		c.log.Error("could not put the citizen back in the queue", zap.Error(err))
		return evRequeued{}
	}
	return evRequeued{OK: true, Offers: offers}
}

// leaveQueue takes the caller out of Redis (an operator it held is freed),
// retried until it holds; the record gets the real wait.
func (c *call) leaveQueue() callEvent {
	now := c.r.now()
	var next []Offer
	err := c.r.persist(c.log, c.id+"/gone-"+c.r.uniq(), "caller left the queue", func(ctx context.Context) error {
		var err error
		_, next, err = c.r.opt.ACD.Abandon(ctx, c.id, now)
		return err
	})
	if err != nil {
		c.log.Error("abandon", zap.Error(err))
	}
	c.offer = nil
	c.rec.Wait = now.Sub(c.rec.EnqueuedAt)
	c.log.Info("caller left the queue", zap.Duration("waited", c.rec.Wait))
	return evLeft{Next: next}
}

// transfer hands the caller to an outside service (ambulance, volunteers):
// the channel leaves Stasis for the dialplan's transfer context, which
// dials the number. The number comes from the validated config, never from
// the caller.
func (c *call) transfer(number string) callEvent {
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	if err := c.r.opt.PBX.Continue(cctx, c.id, transferContext, number); err != nil {
		c.log.Error("transfer failed; hanging up", zap.String("number", number), zap.Error(err))
		return evTransferred{}
	}
	c.log.Info("transferred to an outside service", zap.String("number", number))
	return evTransferred{OK: true}
}

// finish writes the one call record.
func (c *call) finish(outcome Outcome, by string, cause int) {
	c.rec.EndedAt = c.r.now()
	c.rec.Outcome = string(outcome)
	c.rec.EndedBy = by
	c.rec.HangupCause = cause
	if c.rec.Language == "" {
		c.rec.Language = c.lang
	}
	if c.r.opt.Metrics != nil {
		c.r.opt.Metrics.Calls.WithLabelValues(string(outcome)).Inc()
		c.r.opt.Metrics.ended(c, outcome)
	}
	c.r.writeRecord(c.log, c.rec)
	c.log.Info("call ended", zap.String("outcome", string(outcome)), zap.String("ended_by", by),
		zap.String("agent", c.rec.Agent), zap.Duration("waited", c.rec.Wait))
}

// waiting is this call as a caller to put in topic t's queue, at its
// original queue time.
func (c *call) waiting(t *config.Topic) Waiting {
	return Waiting{
		CallID: c.id, Topic: t.ID, Skill: t.Skill, Priority: c.prio, Arrival: c.rec.EnqueuedAt,
		Language: c.lang, CallerNumber: c.number, IVRPath: c.rec.IVRPath, MaxQueue: t.MaxQueue,
		App: c.r.opt.App,
	}
}

// transferContext is the dialplan context (deploy/asterisk/extensions.conf)
// that dials outside services for transfers.
const transferContext = "hotline-transfer"
