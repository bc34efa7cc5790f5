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
}

type phase int

const (
	phaseIVR      phase = iota // menus
	phaseQueued                // waiting in a topic queue, music on hold
	phaseOffering              // an operator's phone is ringing
	phaseBridged               // talking
	phaseNumber                // keying in a number for a callback
	phaseGoodbye               // hearing a closing message, then hung up
	phaseDone
)

func (p phase) String() string {
	return [...]string{"ivr", "queued", "offering", "bridged", "number", "goodbye", "done"}[p]
}

// call is one citizen's call. Only its own goroutine touches its fields.
type call struct {
	r     *Router
	id    string
	ch    pbx.Channel
	inbox *mailbox[msg]
	log   *zap.Logger
	cfg   *config.Config

	phase  phase
	menu   menuDriver
	number string // validated caller number ("" when withheld or invalid)
	lang   string
	topic  *config.Topic
	prio   int

	// offer in progress
	offer      *Offer
	legID      string
	ringTimer  *time.Timer
	leaseTimer *time.Timer
	// maxWait fires when the caller has waited the topic's max_wait and the
	// topic has an overflow topic to move to.
	maxWait  *time.Timer
	bridgeID string
	// legGone waits for the cause of an operator leg that left the
	// conversation; operatorLost counts operator lines that dropped.
	legGone      *time.Timer
	operatorLost int
	// unbridged: the operator answered but the two legs were never joined
	// (the citizen left in that instant): they never talked.
	unbridged bool
	// conv names the Redis steps of the conversation in progress (its
	// answer and its end), unique in the call.
	conv string

	// announcements while queued
	announce   *time.Ticker
	announceID string // playback id of the announcement playing, if any
	onMOH      bool

	rec records.Record

	adopted *adoption // set when a restarted router took the call over
	// calledBack is set for a customer-first callback the citizen answered:
	// no menu, straight into the queue at the original queue time.
	calledBack *DueCallback

	// enteredNumber is the number a caller with a withheld caller ID keyed
	// in for a callback; entry is that dialogue while it runs.
	enteredNumber string
	entry         *numberEntry
	entryPlayback string
	vhOffered     bool // the last announcement offered a callback

	goodbyeID      string
	goodbyeOutcome Outcome
	// after hours with after_hours: offer
	afterHoursWith     []string
	afterHoursAccepted bool
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
	c.log.Info("call arrived", logmask.Number("caller", c.number), zap.String("exten", c.ch.Exten))

	switch {
	case c.adopted != nil:
		c.resume(ctx)
	case c.calledBack != nil:
		c.rec.Language = c.lang
		c.enqueue(ctx, c.calledBack.Topic, c.calledBack.Priority)
	default:
		c.start(ctx)
	}

	for c.phase != phaseDone {
		select {
		case <-ctx.Done():
			// hotline is stopping: the caller stays where Redis holds it and
			// the next instance re-syncs; nothing is abandoned here.
			c.log.Debug("router stopping; call left to re-sync", zap.String("phase", c.phase.String()))
			c.inbox.close()
			return
		case <-c.inbox.C():
			for _, m := range c.inbox.take() {
				c.handle(ctx, m)
				if c.phase == phaseDone {
					break
				}
			}
		case <-c.menuTimer():
			if out, done := c.menuStep(c.menu.OnTimer(ctx)); done {
				c.afterMenu(ctx, out)
			}
		case <-c.announceC():
			c.announcePosition()
		case <-c.entryC():
			c.entryTimeout(ctx)
		case <-c.maxWaitC():
			c.overflow(ctx)
		case <-c.leaseC():
			c.extendLease()
		case <-c.legGoneC():
			c.operatorLegEnded(ctx, 0)
		case <-c.ringC():
			c.log.Info("ring timeout; cancelling the operator leg", zap.String("agent", c.offer.AgentID))
			c.r.hangupQuietly(ctx, c.legID, "no_answer")
			// the leg's ChannelDestroyed settles the offer
		}
	}
	// Whatever is still queued is about a finished call; offers must be
	// released so the operator is not held.
	for _, m := range c.inbox.close() {
		if m.offer != nil {
			o := *m.offer
			c.r.spawn(func() { c.r.deliver([]Offer{o}, o.FreedAt) })
		}
	}
}

// start answers a new call and plays the menu. A channel already up (a
// caller adopted in the menu after a restart) is not answered again: on
// Asterisk the answer would wait behind the prompt the dead router left
// playing on the channel, for as long as that prompt lasts.
func (c *call) start(ctx context.Context) {
	var err error
	if c.ch.State != "Up" {
		cctx, cancel := c.r.cmdCtx()
		err = c.r.opt.PBX.Answer(cctx, c.id)
		cancel()
	}
	if err != nil {
		c.log.Warn("answer failed", zap.Error(err))
		if errors.Is(err, pbx.ErrNotFound) {
			c.finish(OutcomeAbandoned, "caller", 0)
			return
		}
	}
	c.menu = c.r.newMenu(c)
	if out, done := c.menuStep(c.menu.Start(ctx)); done {
		c.afterMenu(ctx, out)
	}
}

func newTicker(d time.Duration) *time.Ticker { return time.NewTicker(d) }

func (c *call) menuTimer() <-chan time.Time {
	if c.phase != phaseIVR || c.menu == nil {
		return nil
	}
	return c.menu.TimerC()
}

func (c *call) announceC() <-chan time.Time {
	if c.phase != phaseQueued || c.announce == nil {
		return nil
	}
	return c.announce.C
}

func (c *call) ringC() <-chan time.Time {
	if c.phase != phaseOffering || c.ringTimer == nil {
		return nil
	}
	return c.ringTimer.C
}

func (c *call) stopOfferTimers() {
	if c.ringTimer != nil {
		c.ringTimer.Stop()
	}
	if c.leaseTimer != nil {
		c.leaseTimer.Stop()
		c.leaseTimer = nil
	}
}

func (c *call) stopTimers() {
	c.stopOfferTimers()
	if c.legGone != nil {
		c.legGone.Stop()
	}
	if c.maxWait != nil {
		c.maxWait.Stop()
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

// menuStep logs a menu error and reports whether the menu has finished.
func (c *call) menuStep(out *menuOutcome, done bool, err error) (*menuOutcome, bool) {
	if err != nil {
		c.log.Warn("ivr", zap.Error(err))
	}
	return out, done
}

func (c *call) handle(ctx context.Context, m msg) {
	if m.offer != nil {
		c.takeOffer(ctx, m.offer)
		return
	}
	ev := m.ev
	if ev.ChannelID == c.id {
		c.callerEvent(ctx, ev)
		return
	}
	if ev.ChannelID == c.legID && c.legID != "" {
		c.legEvent(ctx, ev, m.resynced)
	}
}

// callerEvent handles events on the citizen's channel.
func (c *call) callerEvent(ctx context.Context, ev pbx.Event) {
	switch ev.Type {
	case pbx.StasisEnd, pbx.ChannelDestroyed:
		c.callerGone(ctx, ev.Cause)
	case pbx.ChannelHangupRequest:
		// StasisEnd follows for dialplan channels; acting now shortens the
		// window in which an operator could be offered a caller who left.
		c.callerGone(ctx, ev.Cause)
	case pbx.DTMF:
		switch {
		case c.phase == phaseIVR:
			if out, done := c.menuStep(c.menu.OnDigit(ctx, ev.Digit)); done {
				c.afterMenu(ctx, out)
			}
		case c.phase == phaseNumber:
			c.entryDigit(ctx, ev.Digit)
		case c.phase == phaseQueued && c.vhOffered && ev.Digit == "1":
			c.takeVirtualHold(ctx)
		case c.phase == phaseGoodbye && c.vhOffered && ev.Digit == "1":
			c.acceptAfterHours(ctx)
		}
	case pbx.PlaybackFinished:
		switch {
		case c.goodbyeFinished(ev):
		case c.phase == phaseIVR:
			if out, done := c.menuStep(c.menu.OnPlaybackFinished(ctx, ev.PlaybackID, ev.PlaybackState)); done {
				c.afterMenu(ctx, out)
			}
		case ev.PlaybackID == c.announceID:
			c.announceID = ""
			if c.phase == phaseQueued || c.phase == phaseOffering {
				c.startMOH()
			}
		}
	}
}

// afterMenu acts on what the caller chose.
func (c *call) afterMenu(ctx context.Context, out *menuOutcome) {
	if out == nil {
		c.hangup(OutcomeIVRHangup, "system", "")
		return
	}
	c.rec.IVRPath = out.Path
	if out.Language != "" {
		c.lang = out.Language
	}
	c.rec.Language = c.lang
	_ = c.menu.Stop(ctx)
	// No variable is set on the citizen's channel over ARI, not even
	// CHANNEL(language): Asterisk 22 then refuses dangerous functions on the
	// channel's thread for good, and the dialplan fallback could no longer
	// keep the caller in AstDB (DB()) for a callback. hotline plays every
	// sound with its language in the URI; the fallback sets its own.
	switch out.Kind {
	case menuQueue:
		c.enqueue(ctx, out.Topic, out.Priority)
	case menuTransfer:
		c.transfer(ctx, out.Number)
	default:
		c.hangup(OutcomeIVRHangup, "system", "")
	}
}

func (c *call) enqueue(ctx context.Context, topicID string, prio int) {
	t, ok := c.cfg.Topic(topicID)
	if !ok {
		c.log.Error("menu chose an unknown topic", zap.String("queue", topicID))
		c.hangup(OutcomeRejected, "system", "")
		return
	}
	c.topic = t
	c.prio = t.Priority + prio
	c.rec.Topic = t.ID
	c.log = c.log.With(zap.String("queue", t.ID))
	now := c.r.now()
	arrival := now
	if c.calledBack != nil {
		// A citizen called back keeps the place they first queued at.
		c.prio = prio
		arrival = c.calledBack.QueueTime
	}
	c.rec.EnqueuedAt = arrival
	if h := c.cfg.Hours; len(h.Weekly) > 0 && !h.IsOpen(now) {
		// After hours or a holiday: say when we open and call back then.
		c.noService(ctx, "closed", []string{promptClosedCallback}, []string{promptClosed})
		return
	}
	c.phase = phaseQueued
	c.startMOH()
	cctx, cancel := c.r.cmdCtx()
	offers, err := c.r.opt.ACD.Enqueue(cctx, c.waiting(t), now)
	cancel()
	if errors.Is(err, ErrQueueFull) {
		c.noService(ctx, "queue_full", []string{promptCallbackConfirmed}, []string{promptGoodbye})
		return
	}
	if err != nil {
		c.degraded(ctx, err)
		return
	}
	c.log.Info("queued", zap.Int("priority", c.prio), zap.String("language", c.lang))
	if every := t.AnnounceEvery.D(); every > 0 && c.announce == nil {
		c.announce = newTicker(every)
	}
	c.armMaxWait(t)
	// Tell the caller where they stand straight away (unless an operator is
	// already being rung for them); then periodically.
	mine := false
	for _, o := range offers {
		mine = mine || o.CallID == c.id
	}
	if !mine {
		c.announcePosition()
	}
	c.r.deliver(offers, time.Time{})
}

// degraded hands a caller Redis could not queue (it is unreachable or
// stalled) to the PBX's fallback, the path callers take when hotline is
// down: Asterisk's own queue for the same operators, and AstDB for a
// callback when nobody answers. No caller is hung up because Redis is away.
// The enqueue may have taken effect anyway, so its entry is withdrawn
// (retried until Redis is back; the reconciler is the net).
func (c *call) degraded(ctx context.Context, cause error) {
	c.log.Error("Redis could not queue the caller; handing them to the PBX fallback", zap.Error(cause))
	c.stopMOH()
	cctx, cancel := c.r.cmdCtx()
	err := c.r.opt.PBX.Continue(cctx, c.id, fallbackContext, fallbackReleased)
	cancel()
	if errors.Is(err, pbx.ErrNotFound) {
		// The caller hung up while Redis stalled: a caller who waited
		// and left, owed what any such caller is.
		c.leaveQueue(ctx, 0)
		return
	}
	if err != nil {
		c.log.Error("fallback failed; hanging up", zap.Error(err))
		c.hangup(OutcomeRejected, "system", "")
		return
	}
	if c.r.opt.Metrics != nil {
		c.r.opt.Metrics.Degraded.Inc()
	}
	c.rec.Note = strings.TrimSpace(c.rec.Note + " redis_unreachable")
	if err := c.r.persist(c.log, c.id+"/gone-"+c.r.uniq(), "withdraw a caller handed to the fallback", func(ctx context.Context) error {
		_, next, err := c.r.opt.ACD.Abandon(ctx, c.id, c.r.now())
		if err == nil {
			c.r.deliver(next, time.Time{})
		}
		return err
	}); err != nil {
		c.log.Warn("caller handed to the fallback may still be queued in Redis", zap.Error(err))
	}
	c.finish(OutcomeFallback, "system", 0)
}

func (c *call) armMaxWait(t *config.Topic) {
	if c.maxWait != nil {
		c.maxWait.Stop()
		c.maxWait = nil
	}
	if d := t.MaxWait.D(); d > 0 && (t.Overflow != "" || c.policy().Enabled) {
		c.maxWait = time.NewTimer(d)
	}
}

func (c *call) maxWaitC() <-chan time.Time {
	if c.maxWait == nil || (c.phase != phaseQueued && c.phase != phaseOffering) {
		return nil
	}
	return c.maxWait.C
}

// overflow moves a caller who waited the topic's max_wait to its overflow
// topic, keeping the original arrival time so the caller keeps its place
// by time among the overflow topic's callers.
func (c *call) overflow(ctx context.Context) {
	if c.phase == phaseOffering {
		// An operator is ringing; decide again once the offer settles.
		c.maxWait.Reset(2 * time.Second)
		return
	}
	to, hasOverflow := c.cfg.Topic(c.topic.Overflow)
	now := c.r.now()
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	st, err := c.r.opt.ACD.Lookup(cctx, c.id)
	if err != nil || st.State != "waiting" {
		c.maxWait.Reset(2 * time.Second) // being offered right now: try again shortly
		return
	}
	if !hasOverflow {
		// Nowhere to overflow to: a callback keeps the caller's place
		// instead of an endless wait. Scheduled before leaving the queue.
		c.rec.Wait = now.Sub(c.rec.EnqueuedAt)
		if !c.scheduleCallback(ReasonNoService) {
			c.maxWait = nil // keep waiting: nothing better to offer
			return
		}
		if _, next, err := c.r.opt.ACD.Abandon(cctx, c.id, now); err == nil {
			c.r.deliver(next, time.Time{})
		}
		c.stopAnnouncement()
		c.say(ctx, OutcomeCallbackLater, c.sound(promptCallbackConfirmed))
		return
	}
	if _, _, err := c.r.opt.ACD.Abandon(cctx, c.id, now); err != nil {
		c.log.Error("overflow: leaving the queue", zap.Error(err))
		return
	}
	from := c.topic.ID
	c.topic = to
	c.prio = to.Priority
	c.rec.Topic = to.ID
	offers, err := c.r.opt.ACD.Enqueue(cctx, c.waiting(to), now)
	if err != nil {
		c.log.Error("overflow: joining the overflow queue failed; caller hung up", zap.String("overflow", to.ID), zap.Error(err))
		c.hangup(OutcomeRejected, "system", "")
		return
	}
	c.log.Info("waited too long; moved to the overflow topic", zap.String("from", from), zap.String("overflow", to.ID))
	c.log = c.r.log.With(zap.String("call_id", c.id), zap.String("queue", to.ID))
	c.armMaxWait(to)
	c.r.deliver(offers, time.Time{})
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
// Ukrainian and cannot make "минута" agree with the number.
func (c *call) announcePosition() {
	if c.announceID != "" || c.phase != phaseQueued {
		return
	}
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	pos, wait, err := c.r.opt.ACD.Position(cctx, c.id)
	if err != nil || pos <= 0 {
		return
	}
	minutes := int((wait + time.Minute - 1) / time.Minute)
	if minutes < 1 {
		minutes = 1
	}
	media := []string{
		c.sound(promptPosition), c.sound(spoken.PositionSound(pos)),
		c.sound(promptWait), c.sound(spoken.MinutesSound(minutes)),
	}
	if c.offerVirtualHold(pos, wait) {
		media = append(media, c.sound(promptCallbackOffer))
		c.vhOffered = true
	}
	c.stopMOH()
	id := c.r.nextID("ann-" + c.id)
	if err := c.r.opt.PBX.Play(cctx, c.id, id, media...); err != nil {
		c.log.Warn("announcement", zap.Error(err))
		c.startMOH()
		return
	}
	c.announceID = id
	c.log.Info("position announced", zap.Int("position", pos), zap.Int("minutes", minutes))
	if c.r.opt.Metrics != nil {
		c.r.opt.Metrics.Announcements.Inc()
	}
}

// Prompt names the router itself plays; the config must define them. The
// number sounds played with them come from package spoken, and hotline
// prompts renders those for every language of the config.
const (
	promptPosition = "queue_position_intro" // "You are number"
	promptWait     = "estimated_wait_intro" // "Estimated waiting time"
	promptGoodbye  = "goodbye"
	// promptOperatorDropped: "the line to the operator dropped; you keep
	// your place in line".
	promptOperatorDropped = "operator_dropped"
)

func (c *call) sound(name string) string {
	return c.r.opt.SoundPrefix + c.lang + "/" + name
}

func (c *call) stopAnnouncement() { c.stopPlayback(&c.announceID) }

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

// takeOffer rings the reserved operator's phone.
func (c *call) takeOffer(ctx context.Context, o *Offer) {
	if c.phase == phaseNumber && c.entry != nil {
		// The caller's turn came while they keyed in a number for a
		// callback: an operator is better than a callback.
		if c.entry.timer != nil {
			c.entry.timer.Stop()
		}
		c.entry = nil
		c.stopEntryPrompt()
		c.phase = phaseQueued
		c.startMOH()
	}
	if c.phase != phaseQueued {
		// Already offered or finished: this reservation is not ours to use.
		c.log.Warn("unexpected offer", zap.String("agent", o.AgentID), zap.String("phase", c.phase.String()))
		c.releaseOffer(o, false)
		return
	}
	log := c.log.With(zap.String("agent", o.AgentID))
	endpoint := o.Endpoint
	if op, ok := c.r.Config().OperatorByID(o.AgentID); ok && endpoint == "" {
		endpoint = op.Endpoint
	}
	if endpoint == "" {
		log.Error("offered to an operator with no endpoint")
		c.releaseOffer(o, true)
		return
	}
	c.offer = o
	c.rec.Offers++
	c.legID = c.id + legSep + c.r.uniq()
	c.r.addLeg(c.legID, c.inbox)
	ring := c.topic.RingTimeout.D()
	if ring <= 0 {
		ring = 15 * time.Second
	}
	now := c.r.now()
	if !o.FreedAt.IsZero() && c.r.opt.OnHandover != nil {
		c.r.opt.OnHandover(now.Sub(o.FreedAt))
	}
	if !o.FreedAt.IsZero() && c.r.opt.Metrics != nil {
		c.r.opt.Metrics.Handover.Observe(now.Sub(o.FreedAt).Seconds())
	}
	// No endpoint check first: it would cost every hand-over a round trip.
	// Asterisk refuses an originate to an unregistered phone at once (500
	// "Allocation failed", ErrUnavailable); only then is the endpoint asked,
	// to tell an unregistered phone from an unknown one in the log.
	cctx, cancel := c.r.cmdCtx()
	_, err := c.r.opt.PBX.Originate(cctx, pbx.OriginateRequest{
		ChannelID: c.legID,
		Endpoint:  endpoint,
		CallerID:  c.operatorCallerID(),
		Args:      []string{argOperatorLeg, c.id},
		Timeout:   ring,
		Variables: map[string]string{"HOTLINE_CALL_ID": c.id, "HOTLINE_TOPIC": c.topic.ID},
	})
	cancel()
	if err != nil {
		c.r.dropLeg(c.legID)
		c.legID = ""
		c.offer = nil
		unreachable := errors.Is(err, pbx.ErrUnavailable)
		if unreachable {
			cctx, cancel := c.r.cmdCtx()
			state, serr := c.r.opt.PBX.EndpointState(cctx, endpoint)
			cancel()
			log.Info("operator's phone is not reachable; skipping", zap.String("endpoint", endpoint), zap.String("state", state), zap.NamedError("state_error", serr), zap.Error(err))
		} else {
			log.Warn("originate to operator failed", zap.Error(err))
		}
		c.releaseOffer(o, unreachable)
		return
	}
	if c.rec.OfferedAt.IsZero() {
		c.rec.OfferedAt = now
	}
	c.phase = phaseOffering
	// Asterisk ends an unanswered originate itself; this is the net for a
	// lost ChannelDestroyed.
	c.ringTimer = time.NewTimer(ring + 5*time.Second)
	c.armLease()
	log.Info("ringing operator", zap.String("endpoint", endpoint), zap.Duration("ring_timeout", ring))
}

// operatorCallerID is what the operator's phone shows: the topic and the
// language as the name, the citizen's checked number as the number.
func (c *call) operatorCallerID() string {
	name := c.topic.Name
	if name == "" {
		name = c.topic.ID
	}
	name = strings.Map(func(r rune) rune {
		if r == '"' || r == '<' || r == '>' || r == '\\' || r < ' ' {
			return -1
		}
		return r
	}, name)
	name = fmt.Sprintf("%s [%s]", name, c.lang)
	number := c.number
	if number == "" {
		number = "anonymous"
	}
	return fmt.Sprintf("%q <%s>", name, number)
}

// armLease renews the reservation's lease halfway through, so a ring
// longer than the lease is not taken for a crashed instance.
func (c *call) armLease() {
	if c.leaseTimer != nil {
		c.leaseTimer.Stop()
	}
	c.leaseTimer = nil
	if c.offer == nil || c.offer.Expires.IsZero() {
		return
	}
	c.leaseTimer = time.NewTimer(c.offer.Expires.Sub(c.r.now()) / 2)
}

func (c *call) leaseC() <-chan time.Time {
	if c.phase != phaseOffering || c.leaseTimer == nil {
		return nil
	}
	return c.leaseTimer.C
}

func (c *call) extendLease() {
	cctx, cancel := c.r.cmdCtx()
	o, err := c.r.opt.ACD.Extend(cctx, *c.offer, c.r.now())
	cancel()
	if err != nil {
		c.log.Warn("lease renewal failed", zap.String("agent", c.offer.AgentID), zap.Error(err))
		c.leaseTimer = nil
		return
	}
	o.FreedAt = c.offer.FreedAt
	c.offer = &o
	c.armLease()
}

// releaseOffer gives a reservation back: the caller keeps its place, the
// operator is made ready (or offline when unreachable), and whatever that
// freed is matched again at once.
func (c *call) releaseOffer(o *Offer, unreachable bool) {
	cctx, cancel := c.r.cmdCtx()
	var err error
	var next []Offer
	paused := false
	if unreachable {
		next, err = c.r.opt.ACD.Unreachable(cctx, *o, c.r.now())
	} else {
		paused, next, err = c.r.opt.ACD.NoAnswer(cctx, *o, c.r.now())
	}
	cancel()
	if err != nil {
		c.log.Error("releasing an offer", zap.String("agent", o.AgentID), zap.Error(err))
	}
	if paused {
		c.log.Warn("operator paused after repeated no-answers", zap.String("agent", o.AgentID))
	}
	if c.r.opt.Metrics != nil {
		c.r.opt.Metrics.OffersFailed.Inc()
	}
	c.r.deliver(next, time.Time{})
}

// legEvent handles events on the operator's leg.
func (c *call) legEvent(ctx context.Context, ev pbx.Event, resynced bool) {
	switch ev.Type {
	case pbx.StasisStart:
		if c.phase == phaseOffering {
			c.operatorAnswered(ctx)
		}
	case pbx.ChannelDestroyed, pbx.StasisEnd, pbx.ChannelHangupRequest:
		switch c.phase {
		case phaseOffering:
			if ev.Type == pbx.ChannelHangupRequest {
				return // ChannelDestroyed follows with the final cause
			}
			c.offerFailed(ev.Cause)
		case phaseBridged:
			if ev.Type != pbx.ChannelDestroyed && !resynced {
				// The cause comes with ChannelDestroyed, right after this
				// for a leg hotline originated: it tells a dropped line
				// from a hang-up. The timer is the net for a lost event.
				c.awaitLegCause()
				return
			}
			c.operatorLegEnded(ctx, ev.Cause)
		}
	}
}

// legCauseWait bounds how long a conversation whose operator leg left waits
// for that leg's ChannelDestroyed and its cause.
const legCauseWait = time.Second

func (c *call) awaitLegCause() {
	if c.legGone == nil {
		c.legGone = time.NewTimer(legCauseWait)
	}
}

func (c *call) legGoneC() <-chan time.Time {
	if c.legGone == nil || c.phase != phaseBridged {
		return nil
	}
	return c.legGone.C
}

// operatorLegEnded: the operator's side of a conversation is gone. A
// person hanging up ends the call; a line that dropped (softphone crash,
// network) must not lose the citizen, who goes back to the queue.
func (c *call) operatorLegEnded(ctx context.Context, cause int) {
	if c.legGone != nil {
		c.legGone.Stop()
		c.legGone = nil
	}
	if droppedCause(cause) {
		c.operatorDropped(ctx, cause)
		return
	}
	c.log.Info("operator hung up")
	c.endConversation("operator", cause)
}

// operatorDropped puts a citizen whose operator's line dropped back in
// their queue at their original queue time (so at its head among callers
// of their priority) after a short apology; the operator's conversation is
// over in Redis as after any call. Should the citizen then hang up, they
// are owed a callback whatever they waited (leaveQueue).
func (c *call) operatorDropped(ctx context.Context, cause int) {
	agent := c.offer.AgentID
	log := c.log.With(zap.String("agent", agent))
	log.Warn("operator's line dropped; the citizen goes back to the head of the queue", zap.Int("cause", cause))
	c.r.dropLeg(c.legID)
	c.legID = ""
	wrap := c.topic.WrapUp.D()
	now := c.r.now()
	var freed []Offer
	if err := c.r.persist(log, c.endedOp(agent), "operator wrap-up", func(ctx context.Context) error {
		var err error
		freed, err = c.r.opt.ACD.Ended(ctx, agent, c.id, wrap, now)
		return err
	}); err != nil {
		log.Error("operator wrap-up", zap.Error(err))
	}
	cctx, cancel := c.r.cmdCtx()
	if err := c.r.opt.PBX.DestroyBridge(cctx, c.bridgeID); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		log.Warn("destroy bridge", zap.Error(err))
	}
	cancel()
	c.offer, c.bridgeID = nil, ""
	c.operatorLost++
	c.rec.Note = strings.TrimSpace(c.rec.Note + " operator_line_dropped:" + agent)
	c.phase = phaseQueued
	c.announceID = c.r.nextID("sorry-" + c.id)
	cctx, cancel = c.r.cmdCtx()
	if err := c.r.opt.PBX.Play(cctx, c.id, c.announceID, c.sound(promptOperatorDropped)); err != nil {
		log.Warn("apology", zap.Error(err))
		c.announceID = ""
		c.startMOH()
	}
	cancel()
	var offers []Offer
	err := c.r.persist(c.log, c.id+"/requeue-"+c.r.uniq(), "back to the queue", func(ctx context.Context) error {
		var err error
		offers, err = c.r.opt.ACD.Enqueue(ctx, c.waiting(c.topic), now)
		if errors.Is(err, ErrAlreadyQueued) {
			return nil
		}
		return err
	})
	if err != nil {
		// The topic is full, or hotline is stopping: a callback keeps the
		// citizen's place rather than leaving them in silence.
		log.Error("could not put the citizen back in the queue", zap.Error(err))
		c.scheduleCallback(ReasonDropped)
		c.say(ctx, OutcomeDropped, c.sound(promptCallbackConfirmed))
		c.r.deliver(freed, now)
		return
	}
	if wrap <= 0 {
		c.r.deliver(freed, now)
	} else {
		c.r.scheduleWrapUp(agent, wrap)
	}
	c.r.deliver(offers, time.Time{})
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

// waiting is this call as a caller to put in topic t's queue, at its
// original queue time.
func (c *call) waiting(t *config.Topic) Waiting {
	return Waiting{
		CallID: c.id, Topic: t.ID, Skill: t.Skill, Priority: c.prio, Arrival: c.rec.EnqueuedAt,
		Language: c.lang, CallerNumber: c.number, IVRPath: c.rec.IVRPath, MaxQueue: t.MaxQueue,
	}
}

func (c *call) offerFailed(cause int) {
	o := c.offer
	c.r.dropLeg(c.legID)
	c.legID, c.offer = "", nil
	c.stopOfferTimers()
	c.phase = phaseQueued
	c.log.Info("operator did not take the call", zap.String("agent", o.AgentID), zap.String("reason", offerFailure(cause)))
	c.releaseOffer(o, false)
}

func (c *call) operatorAnswered(ctx context.Context) {
	o := c.offer
	log := c.log.With(zap.String("agent", o.AgentID))
	now := c.r.now()
	// An error here is ambiguous (the script may have run in Redis after
	// the client gave up): retried under one operation id, it either
	// holds or is refused, never "maybe".
	// A token per conversation names its steps: the offer's seq is not
	// unique within a call (a re-queued caller's entry starts again).
	c.conv = c.r.uniq()
	err := c.r.persist(log, c.id+"/answered-"+c.conv, "answered", func(ctx context.Context) error {
		return c.r.opt.ACD.Answered(ctx, *o, now)
	})
	if err != nil {
		// The reservation was lost (lease expired and given away): this
		// operator must not talk to the caller; the caller is queued again.
		log.Error("reservation lost before answer; dropping the operator leg", zap.Error(err))
		c.r.hangupQuietly(ctx, c.legID, "normal")
		c.r.dropLeg(c.legID)
		c.legID, c.offer = "", nil
		c.phase = phaseQueued
		return
	}
	c.stopOfferTimers()
	c.stopAnnouncement()
	c.stopMOH()
	c.bridgeID = bridgePrefix + c.id
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	// dtmf_events keeps the caller's digits reaching hotline: a plain
	// mixing bridge of two SIP legs goes native RTP and swallows them.
	if err := c.r.opt.PBX.CreateBridge(cctx, c.bridgeID, "mixing,dtmf_events"); err != nil {
		log.Error("create bridge", zap.Error(err))
		c.unbridged = true
	} else if err := c.r.opt.PBX.AddToBridge(cctx, c.bridgeID, c.id, c.legID); err != nil {
		log.Error("add to bridge", zap.Error(err))
		c.unbridged = true
	}
	c.phase = phaseBridged
	c.rec.AnsweredAt = now
	c.rec.Agent = o.AgentID
	c.closeOwedCallbacks()
	c.rec.Wait = now.Sub(c.rec.EnqueuedAt)
	if c.r.opt.Metrics != nil {
		c.r.opt.Metrics.Wait.WithLabelValues(c.topic.ID).Observe(c.rec.Wait.Seconds())
	}
	log.Info("operator answered; bridged", zap.Duration("waited", c.rec.Wait))
}

// callerGone handles the citizen hanging up (or vanishing) in any phase.
func (c *call) callerGone(ctx context.Context, cause int) {
	switch c.phase {
	case phaseDone:
		return
	case phaseIVR:
		c.log.Info("caller hung up in the menu")
		c.finish(OutcomeAbandoned, "caller", cause)
	case phaseGoodbye:
		c.finish(c.goodbyeOutcome, "caller", cause)
	case phaseNumber:
		c.log.Info("caller hung up while keying in a number")
		if c.entry != nil && c.entry.queued {
			c.leaveQueue(ctx, cause)
			return
		}
		c.finish(OutcomeAbandoned, "caller", cause)
	case phaseQueued, phaseOffering:
		c.leaveQueue(ctx, cause)
	case phaseBridged:
		c.endConversation("caller", cause)
	}
}

// leaveQueue ends the call of a caller who hung up while holding a place
// in a queue (waiting, being offered, or keying a number for a callback):
// out of Redis, recorded as abandoned with their wait, and owed a callback
// when they waited long enough.
func (c *call) leaveQueue(ctx context.Context, cause int) {
	if c.legID != "" {
		c.r.hangupQuietly(ctx, c.legID, "normal")
	}
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
	c.stopOfferTimers()
	c.rec.Wait = now.Sub(c.rec.EnqueuedAt)
	c.log.Info("caller hung up while waiting", zap.Duration("waited", c.rec.Wait))
	if c.operatorLost > 0 {
		// Cut off from an operator by a line that dropped on our side:
		// "if the call drops, we call you back", however long they waited.
		if c.policy().Enabled {
			c.scheduleCallback(ReasonDropped)
		}
	} else {
		c.owedAfterAbandon(c.rec.Wait)
	}
	c.finish(OutcomeAbandoned, "caller", cause)
	c.r.deliver(next, time.Time{})
}

// endConversation tears the bridge down after either side hung up and
// puts the operator into wrap-up.
func (c *call) endConversation(by string, cause int) {
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	if by == "operator" {
		// Asterisk gives the caller no event when the operator leaves: the
		// caller would sit alone in silence, so hotline hangs up for them.
		c.r.hangupQuietly(cctx, c.id, "normal")
	} else {
		c.r.hangupQuietly(cctx, c.legID, "normal")
	}
	// Free the operator before tearing down the bridge: the next caller's
	// hand-over waits on this, the empty bridge does not.
	agent := c.offer.AgentID
	wrap := c.topic.WrapUp.D()
	now := c.r.now()
	// Retried until it holds: an operator left on_call in Redis after a
	// Redis restart would never be offered a caller again.
	var next []Offer
	log := c.log.With(zap.String("agent", agent))
	if err := c.r.persist(log, c.endedOp(agent), "operator wrap-up", func(ctx context.Context) error {
		var err error
		next, err = c.r.opt.ACD.Ended(ctx, agent, c.id, wrap, now)
		return err
	}); err != nil {
		log.Error("operator wrap-up", zap.Error(err))
	}
	if wrap <= 0 {
		c.r.deliver(next, now) // no wrap-up: the operator was offered the next caller at once
		next = nil
	}
	if err := c.r.opt.PBX.DestroyBridge(cctx, c.bridgeID); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		c.log.Warn("destroy bridge", zap.Error(err))
	}
	c.r.rememberLastCall(agent, CallbackRequest{
		Number: c.callbackNumber(), Topic: c.topic.ID, Language: c.lang,
		QueueTime: c.rec.EnqueuedAt, Priority: c.prio, SourceCallID: c.id,
	})
	outcome := OutcomeAnswered
	if c.owedAfterConversation(by, cause, now.Sub(c.rec.AnsweredAt)) || droppedCause(cause) {
		outcome = OutcomeDropped
	}
	c.finish(outcome, by, cause)
	if wrap > 0 {
		c.r.scheduleWrapUp(agent, wrap)
	}
}

// transfer hands the caller to an outside service (ambulance, volunteers):
// the channel leaves Stasis for the dialplan's transfer context, which
// dials the number. The number comes from the validated config, never from
// the caller.
func (c *call) transfer(_ context.Context, number string) {
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	if err := c.r.opt.PBX.Continue(cctx, c.id, transferContext, number); err != nil {
		c.log.Error("transfer failed; hanging up", zap.String("number", number), zap.Error(err))
		c.hangup(OutcomeRejected, "system", "")
		return
	}
	c.log.Info("transferred to an outside service", zap.String("number", number))
	c.finish(OutcomeTransferred, "system", 0)
}

// transferContext is the dialplan context (deploy/asterisk/extensions.conf)
// that dials outside services for transfers.
const transferContext = "hotline-transfer"

// hangup ends the call from hotline's side.
func (c *call) hangup(outcome Outcome, by, reason string) {
	if reason == "" {
		reason = "normal"
	}
	c.r.hangupQuietly(context.Background(), c.id, reason)
	c.finish(outcome, by, 0)
}

// finish writes the one call record and marks the call done.
func (c *call) finish(outcome Outcome, by string, cause int) {
	if c.phase == phaseDone {
		return
	}
	c.phase = phaseDone
	c.rec.EndedAt = c.r.now()
	c.rec.Outcome = string(outcome)
	c.rec.EndedBy = by
	c.rec.HangupCause = cause
	if c.rec.Language == "" {
		c.rec.Language = c.lang
	}
	if err := c.r.persist(c.log, c.id+"/record", "call record", func(ctx context.Context) error {
		_, err := c.r.opt.Records.Append(ctx, c.rec)
		return err
	}); err != nil {
		c.log.Error("call record lost", zap.Error(err))
	}
	if c.r.opt.Metrics != nil {
		c.r.opt.Metrics.Calls.WithLabelValues(string(outcome)).Inc()
	}
	if c.r.opt.OnRecord != nil {
		c.r.opt.OnRecord(c.rec)
	}
	c.log.Info("call ended", zap.String("outcome", string(outcome)), zap.String("ended_by", by),
		zap.String("agent", c.rec.Agent), zap.Duration("waited", c.rec.Wait))
}
