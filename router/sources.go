package router

import (
	"context"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/internal/spoken"
	"github.com/hotline-acd/hotline/pbx"
)

// CallbackPolicy is one topic's callback rules, as the router applies them.
type CallbackPolicy struct {
	Enabled bool
	// CustomerFirst dials the citizen first and queues them, once they
	// answer, at their original queue time; otherwise (agent first) an
	// operator is reserved and whispered to before the citizen is dialled.
	CustomerFirst  bool
	MinAbandonWait time.Duration // an abandon after at least this wait owes a callback
	DropWindow     time.Duration // a conversation ending this soon after the bridge counts as dropped
	// Virtual hold: offer "press 1 to be called back and keep your place"
	// when the estimated wait reaches MinWait or the position exceeds
	// MinPosition (0 disables that test).
	VirtualHold            bool
	VirtualHoldMinWait     time.Duration
	VirtualHoldMinPosition int
	// AfterHoursOffer asks callers after hours whether they want a
	// callback (press 1) instead of scheduling one for them.
	AfterHoursOffer bool
}

// Prompts of the callback flows (configs/hotline.yaml defines their text).
const (
	promptCallbackOffer     = "callback_offer"     // "press 1 to be called back and keep your place"
	promptCallbackConfirmed = "callback_confirmed" // "we will call you back"
	promptEnterNumber       = "enter_number"       // "key in your number, then #"
	promptNumberReadback    = "number_readback"    // "you entered"
	promptConfirmNumber     = "confirm_number"     // "1 to confirm, 2 to enter it again"
	promptClosed            = "closed"             // "we are closed" (no callback)
	promptClosedCallback    = "closed_callback"    // "we are closed; we will call you back when we open"
)

func (c *call) policy() CallbackPolicy {
	if c.r.opt.Callbacks == nil || c.r.opt.Policy == nil || c.topic == nil {
		return CallbackPolicy{}
	}
	return c.r.opt.Policy(c.topic.ID)
}

// owedAfterAbandon schedules a callback for a caller who hung up after
// waiting at least the topic's minimum (a 3 s abandon is not a lost
// caller, a 40 s one is).
func (c *call) owedAfterAbandon(waited time.Duration) {
	if p := c.policy(); p.Enabled && waited >= p.MinAbandonWait {
		c.scheduleCallback(ReasonAbandoned)
	}
}

// owedAfterConversation schedules a callback when the citizen's leg ended
// abnormally or right after the bridge started: the line dropped.
func (c *call) owedAfterConversation(by string, cause int, talked time.Duration) bool {
	p := c.policy()
	if !p.Enabled || by != "caller" {
		return false
	}
	if droppedCause(cause) || talked < p.DropWindow || c.unbridged {
		c.scheduleCallback(ReasonDropped)
		return true
	}
	return false
}

// offerVirtualHold reports whether the announcement should end with the
// callback offer.
func (c *call) offerVirtualHold(pos int, wait time.Duration) bool {
	p := c.policy()
	if !p.Enabled || !p.VirtualHold {
		return false
	}
	return (p.VirtualHoldMinWait > 0 && wait >= p.VirtualHoldMinWait) ||
		(p.VirtualHoldMinPosition > 0 && pos > p.VirtualHoldMinPosition)
}

// takeVirtualHold is the caller pressing 1 after the callback offer: the
// callback keeps the caller's original queue time, so it is dispatched
// when the caller's turn comes; the caller hangs up now.
func (c *call) takeVirtualHold(ctx context.Context) {
	c.vhOffered = false
	if c.number == "" && c.enteredNumber == "" {
		c.askNumber(ctx, func(ctx context.Context) { c.takeVirtualHold(ctx) })
		return
	}
	c.stopAnnouncement()
	now := c.r.now()
	// Schedule before leaving the queue: a crash in between leaves a caller
	// waiting, never a caller forgotten; a refused number keeps its place.
	if !c.scheduleCallback(ReasonVirtualHold) {
		c.startMOH()
		return
	}
	c.rec.Wait = now.Sub(c.rec.EnqueuedAt)
	cctx, cancel := c.r.cmdCtx()
	_, next, err := c.r.opt.ACD.Abandon(cctx, c.id, now)
	cancel()
	if err != nil {
		c.log.Error("virtual hold: leaving the queue", zap.Error(err))
	}
	c.r.deliver(next, time.Time{})
	c.log.Info("caller took a callback and keeps its place in line")
	c.say(ctx, OutcomeCallbackLater, c.sound(promptCallbackConfirmed))
}

// noService tells the caller the centre cannot take the call now and, when
// callbacks are on, schedules one (after hours, queue full, waited too
// long): withCallback is said then, withoutCallback otherwise.
func (c *call) noService(ctx context.Context, why string, withCallback, withoutCallback []string) {
	c.log.Info("no service now", zap.String("why", why))
	p := c.policy()
	if why == "closed" && p.Enabled && p.AfterHoursOffer && !c.afterHoursAccepted {
		// Ask first: the closed message, then "press 1 to be called back".
		c.vhOffered = true
		c.afterHoursWith = withCallback
		c.say(ctx, OutcomeRejected, c.sounds(append(withoutCallback, promptCallbackOffer)...)...)
		return
	}
	if c.number == "" && c.enteredNumber == "" && p.Enabled {
		c.askNumber(ctx, func(ctx context.Context) { c.noService(ctx, why, withCallback, withoutCallback) })
		return
	}
	if p.Enabled && c.scheduleCallback(ReasonNoService) {
		c.say(ctx, OutcomeCallbackLater, c.sounds(withCallback...)...)
		return
	}
	c.say(ctx, OutcomeRejected, c.sounds(withoutCallback...)...)
}

func (c *call) sounds(names ...string) []string {
	out := make([]string, len(names))
	for i, n := range names {
		out[i] = c.sound(n)
	}
	return out
}

// acceptAfterHours is the caller pressing 1 after the after-hours offer.
func (c *call) acceptAfterHours(ctx context.Context) {
	c.vhOffered = false
	c.afterHoursAccepted = true
	c.stopPlayback(&c.goodbyeID)
	c.noService(ctx, "closed", c.afterHoursWith, []string{promptClosed})
}

// say plays media and hangs up when it has finished (phaseGoodbye).
func (c *call) say(_ context.Context, outcome Outcome, media ...string) {
	c.stopMOH()
	c.goodbyeOutcome = outcome
	c.phase = phaseGoodbye
	c.goodbyeID = c.r.nextID("bye-" + c.id)
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	if err := c.r.opt.PBX.Play(cctx, c.id, c.goodbyeID, media...); err != nil {
		c.hangup(outcome, "system", "")
	}
}

// numberEntry collects a callback number from a caller whose caller ID is
// withheld: key it in, end with #, hear it read back, 1 confirms, 2 starts
// again. Hostile or impossible input is the callbacks store's to refuse.
type numberEntry struct {
	digits     strings.Builder
	confirming bool
	tries      int
	timer      *time.Timer
	then       func(context.Context)
	queued     bool // the caller is in a topic queue meanwhile
}

const maxNumberDigits = 15 // E.164's longest

func (c *call) askNumber(ctx context.Context, then func(context.Context)) {
	c.stopAnnouncement()
	c.stopMOH()
	// Asked while waiting (virtual hold), the caller keeps their place in
	// the queue until the callback is scheduled; asked after "closed" or
	// "queue full", they hold none.
	c.entry = &numberEntry{then: then, queued: c.phase == phaseQueued}
	c.phase = phaseNumber
	c.promptNumber(ctx)
}

func (c *call) promptNumber(ctx context.Context) {
	e := c.entry
	e.tries++
	if e.tries > 3 {
		c.log.Info("no callback number entered")
		c.entry = nil
		c.say(ctx, OutcomeAbandoned, c.sound(promptGoodbye))
		return
	}
	e.digits.Reset()
	e.confirming = false
	c.playEntry(c.sound(promptEnterNumber))
	e.restart(20 * time.Second)
}

func (e *numberEntry) restart(d time.Duration) {
	if e.timer != nil {
		e.timer.Stop()
	}
	e.timer = time.NewTimer(d)
}

func (c *call) entryC() <-chan time.Time {
	if c.phase != phaseNumber || c.entry == nil || c.entry.timer == nil {
		return nil
	}
	return c.entry.timer.C
}

func (c *call) stopEntryPrompt() { c.stopPlayback(&c.entryPlayback) }

func (c *call) playEntry(media ...string) {
	c.stopEntryPrompt()
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	c.entryPlayback = c.r.nextID("num-" + c.id)
	if err := c.r.opt.PBX.Play(cctx, c.id, c.entryPlayback, media...); err != nil {
		c.log.Warn("number entry prompt", zap.Error(err))
	}
}

// entryDigit handles one digit during number entry.
func (c *call) entryDigit(ctx context.Context, d string) {
	e := c.entry
	if e.confirming {
		switch d {
		case "1":
			c.enteredNumber = e.digits.String()
			c.entry = nil
			c.phase = phaseQueued
			e.then(ctx)
		case "2":
			c.promptNumber(ctx)
		}
		return
	}
	switch {
	case d == "#" && e.digits.Len() > 0:
		c.readBack()
	case d >= "0" && d <= "9" && len(d) == 1:
		e.digits.WriteString(d)
		e.restart(10 * time.Second)
		if e.digits.Len() >= maxNumberDigits {
			c.readBack()
		}
	}
}

func (c *call) readBack() {
	e := c.entry
	e.confirming = true
	// One sound per digit in the caller's language, as Asterisk's digits:
	// media would say them in English to a Kazakh or Ukrainian caller.
	media := []string{c.sound(promptNumberReadback)}
	for _, d := range spoken.DigitSounds(e.digits.String()) {
		media = append(media, c.sound(d))
	}
	c.playEntry(append(media, c.sound(promptConfirmNumber))...)
	e.restart(15 * time.Second)
}

// entryTimeout: silence while entering or confirming.
func (c *call) entryTimeout(ctx context.Context) {
	if e := c.entry; e != nil && !e.confirming && e.digits.Len() > 0 {
		c.readBack() // the caller forgot the #
		return
	}
	c.promptNumber(ctx)
}

// goodbyeFinished hangs up once the closing message has played.
func (c *call) goodbyeFinished(ev pbx.Event) bool {
	if c.phase != phaseGoodbye || ev.PlaybackID != c.goodbyeID {
		return false
	}
	c.hangup(c.goodbyeOutcome, "system", "")
	return true
}

// closeOwedCallbacks: a citizen who called in and reached an operator is no
// longer owed a callback; ones already waiting in a queue leave it.
func (c *call) closeOwedCallbacks() {
	cb := c.r.opt.Callbacks
	if cb == nil || c.callbackNumber() == "" {
		return
	}
	cctx, cancel := c.r.cmdCtx()
	defer cancel()
	ids, err := cb.CloseInbound(cctx, c.callbackNumber(), c.id, c.r.now())
	if err != nil {
		c.log.Warn("closing callbacks of a caller who got through", zap.Error(err))
		return
	}
	for _, id := range ids {
		_, next, err := c.r.opt.ACD.Abandon(cctx, cbPrefix+id, c.r.now())
		if err != nil {
			c.log.Warn("taking a closed callback out of its queue", zap.String("callback", id), zap.Error(err))
			continue
		}
		c.r.deliver(next, time.Time{})
	}
	if len(ids) > 0 {
		c.log.Info("caller got through: their callbacks are closed", zap.Strings("callbacks", ids))
	}
}
