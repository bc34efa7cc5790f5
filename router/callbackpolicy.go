package router

import (
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/config"
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
	promptClosed            = config.PromptClosed  // "we are closed" (no callback)
	promptClosedCallback    = "closed_callback"    // "we are closed; we will call you back when we open"
)

// abandonCallback is the callback owed to a caller who left a queue, for
// the call machine and the reconciler alike: after an operator's line
// dropped on them, whatever they waited ("if the call drops, we call you
// back"); else after min_abandon_wait (a 3 s abandon is not a lost caller,
// a 40 s one is).
func abandonCallback(p CallbackPolicy, waited time.Duration, operatorLost int) string {
	switch {
	case !p.Enabled:
		return ""
	case operatorLost > 0:
		return ReasonDropped
	case waited >= p.MinAbandonWait:
		return ReasonAbandoned
	}
	return ""
}

func (c *call) policy() CallbackPolicy {
	if c.r.opt.Callbacks == nil || c.r.opt.Policy == nil || c.topic == nil {
		return CallbackPolicy{}
	}
	return c.r.opt.Policy(c.topic.ID)
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
