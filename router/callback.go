package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/pbx"
)

// Callbacks is the store of callbacks owed to citizens (package callbacks
// behind app's glue). The router schedules them from calls, promotes due
// ones into the topic queues and makes the attempts.
type Callbacks interface {
	// Schedule records a callback owed (one open per number and topic: a
	// new request merges into the open one). A number that fails validation
	// is recorded with the reason and returned as an error wrapping
	// ErrNumberRefused; any other error means nothing was recorded.
	Schedule(ctx context.Context, req CallbackRequest, now time.Time) (CallbackTicket, error)
	// Promote takes due callbacks (with a short lease) so they can join
	// their topic queue at their original queue time.
	Promote(ctx context.Context, now time.Time) ([]DueCallback, error)
	// MarkQueued confirms a promoted callback is in its topic queue.
	MarkQueued(ctx context.Context, id string, now time.Time) error
	// Begin starts an attempt (operator reserved); it refuses a callback
	// another holder is attempting, so none is dialled twice at once.
	Begin(ctx context.Context, id, callID, agentID string, now time.Time) (DueCallback, error)
	// Abort ends an attempt that never reached the citizen (the operator did
	// not answer): no attempt is counted and the callback is due again.
	Abort(ctx context.Context, id, callID, reason string, now time.Time) error
	// Extend renews the attempt's lease during a long conversation.
	Extend(ctx context.Context, id, callID string, now time.Time) error
	// Finish records the attempt's result: reached closes the callback;
	// anything else schedules the next attempt or marks it unreached.
	Finish(ctx context.Context, id, topic string, a CallbackAttempt, now time.Time) error
	// CloseInbound closes the number's open callbacks as reached inbound
	// and returns the ids of those that may be waiting in a topic queue.
	CloseInbound(ctx context.Context, number, callID string, now time.Time) ([]string, error)
	// Recover returns attempts whose holder vanished to the schedule.
	Recover(ctx context.Context, now time.Time) error
	// Holder is the call id of the attempt a callback is in and its
	// operator ("" when it is not in one).
	Holder(ctx context.Context, id string) (holder, agent string, err error)
}

// ErrNumberRefused is what Callbacks.Schedule wraps when it refused the
// number and recorded the refusal: nothing is owed, and asking again would
// be refused again.
var ErrNumberRefused = errors.New("router: callback number refused")

// CallbackRequest asks for a callback.
type CallbackRequest struct {
	Number       string // raw caller number: the store validates it
	Topic        string
	Language     string
	Reason       string // abandoned, dropped, operator_marked, virtual_hold, no_service, outage
	QueueTime    time.Time
	Priority     int
	SourceCallID string
	Note         string
}

// CallbackTicket is what Schedule did.
type CallbackTicket struct {
	ID      string
	Created bool // false: merged into an open callback
	DueAt   time.Time
}

// DueCallback is a callback to dispatch.
type DueCallback struct {
	ID        string
	Number    string // E.164, validated
	Topic     string
	Language  string
	QueueTime time.Time
	Priority  int
	Attempts  int
	Reasons   []string // why it is owed (abandoned, dropped, …)
}

// CallbackAttempt is the result of one attempt to reach the citizen.
type CallbackAttempt struct {
	CallID  string
	AgentID string
	Result  string // reached, no_answer, busy, declined, failed, unallocated
	Cause   int
}

// Reasons a callback is owed.
const (
	ReasonAbandoned      = "abandoned"
	ReasonDropped        = "dropped"
	ReasonOperatorMarked = "operator_marked"
	ReasonVirtualHold    = "virtual_hold"
	ReasonNoService      = "no_service"
)

// cbPrefix marks a callback's entry in a topic queue: "cb-<id>".
const (
	cbPrefix       = "cb-"
	argCallbackLeg = "callback-leg"
)

func isCallback(callID string) bool { return strings.HasPrefix(callID, cbPrefix) }

// isCallbackTurn tells an agent-first callback's queue entry ("cb-<id>",
// no channel behind it) from a callback's legs ("cb-<id>-…", channels).
func isCallbackTurn(callID string) bool {
	return isCallback(callID) && !strings.Contains(callID[len(cbPrefix):], "-")
}

// IsCallbackAttempt tells a callback attempt's record from an inbound
// call's.
func IsCallbackAttempt(callID string) bool { return isCallback(callID) }

// callbackResult names a citizen leg's failure from its cause.
func callbackResult(cause int) string {
	switch cause {
	case causeUserBusy:
		return "busy"
	case causeNoAnswer, causeNoUserResponse:
		return "no_answer"
	case causeCallRejected:
		return "declined"
	case causeUnallocated:
		return "unallocated"
	default:
		return "failed"
	}
}

// scheduleCallback records a callback owed for this call, logging (never
// failing the call) when the number is refused; it reports whether one is
// now owed.
func (c *call) scheduleCallback(reason string) bool {
	cb := c.r.opt.Callbacks
	if cb == nil || c.topic == nil {
		return false
	}
	queueTime := c.rec.EnqueuedAt
	if queueTime.IsZero() {
		queueTime = c.r.now()
	}
	req := CallbackRequest{
		Number: c.callbackNumber(), Topic: c.topic.ID, Language: c.lang, Reason: reason,
		QueueTime: queueTime, Priority: c.prio, SourceCallID: c.id,
	}
	if c.enteredNumber != "" {
		req.Note = "number keyed in by the caller"
	}
	// Retried until Redis takes it: a callback owed must not be lost to a
	// Redis restart (the operation id keeps a retry from scheduling twice).
	now := c.r.now()
	var t CallbackTicket
	// One operation per request: the same call may ask again with another
	// number after a refusal, and must not get the refusal back.
	err := c.r.persist(c.log, c.id+"/callback-"+reason+"-"+c.r.uniq(), "callback", func(ctx context.Context) error {
		var err error
		t, err = cb.Schedule(ctx, req, now)
		return err
	})
	if err != nil {
		c.log.Warn("callback not scheduled", zap.String("reason", reason), zap.Error(err))
		return false
	}
	c.log.Info("callback scheduled", zap.String("reason", reason), zap.String("callback", t.ID),
		zap.Bool("merged", !t.Created), zap.Time("due", t.DueAt))
	c.rec.Callback = t.ID
	c.r.kickPromotion()
	return true
}

// callbackNumber is the number to call back: the one the caller keyed in
// (caller ID withheld) or the raw caller ID, which the store validates.
func (c *call) callbackNumber() string {
	if c.enteredNumber != "" {
		return c.enteredNumber
	}
	return c.ch.CallerNumber
}

// rememberLastCall keeps agentID's conversation for their "call back",
// and tells the other instances it is this router's to mark: written
// before the operator could ask, as their desktop turns to wrap-up.
func (r *Router) rememberLastCall(agentID string, req CallbackRequest) {
	r.mu.Lock()
	r.lastCall[agentID] = req
	r.mu.Unlock()
	if r.opt.Cards == nil {
		return
	}
	ctx, cancel := r.cmdCtx()
	defer cancel()
	if err := r.opt.Cards.NoteLastCall(ctx, agentID, r.opt.App); err != nil {
		r.log.Warn("\"call back\" from another instance's desktop will not find this call", zap.String("agent", agentID),
			zap.String("call_id", req.SourceCallID), zap.Error(err))
	}
}

// ErrNoRecentCall: the operator has no finished call to mark.
var ErrNoRecentCall = errors.New("router: no recent call to mark")

// MarkCallback is the operator marking their last finished call "call
// back" with a reason (e.g. "needs test results", "line was bad").
func (r *Router) MarkCallback(_ context.Context, agentID, reason string) (string, error) {
	if err := r.knownAgent(agentID); err != nil {
		return "", err
	}
	if r.opt.Callbacks == nil || !r.Config().CallbacksEnabled() {
		return "", errors.New("router: callbacks are off in the configuration")
	}
	r.mu.Lock()
	req, ok := r.lastCall[agentID]
	r.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("%w: operator %s", ErrNoRecentCall, agentID)
	}
	req.Reason, req.Note = ReasonOperatorMarked, reason
	cctx, cancel := r.cmdCtx()
	defer cancel()
	t, err := r.opt.Callbacks.Schedule(cctx, req, r.now())
	if err != nil {
		return "", fmt.Errorf("mark callback for %s's call %s: %w", agentID, req.SourceCallID, err)
	}
	r.log.Info("operator marked a call for a callback", zap.String("agent", agentID), zap.String("call_id", req.SourceCallID), zap.String("callback", t.ID))
	r.kickPromotion()
	return t.ID, nil
}

// KickCallbacks looks for due callbacks now (a supervisor's "call back now").
func (r *Router) KickCallbacks() { r.kickPromotion() }

// Abandon takes a caller (or a callback's queue entry) out of the queue;
// an operator it held is offered the next caller.
func (r *Router) Abandon(ctx context.Context, callID string) error {
	_, next, err := r.opt.ACD.Abandon(ctx, callID, r.now())
	if err != nil {
		return fmt.Errorf("abandon %s: %w", callID, err)
	}
	r.deliver(next, time.Time{})
	return nil
}

// kickPromotion asks the promotion loop to look for due callbacks now (a
// virtual-hold callback must join the queue at once to keep its place).
func (r *Router) kickPromotion() {
	if r.opt.Callbacks == nil {
		return
	}
	select {
	case r.promoteNow <- struct{}{}:
	default:
	}
}

// promote moves due callbacks into their topic queues at their original
// queue time, where they compete with inbound callers fairly. Scheduling is
// time-driven, so the router's deadline-driven sweep (or a kick after a
// schedule) runs it; the hand-over to operators stays event-driven.
func (r *Router) promote() {
	if r.opt.Adopter {
		return // the instance's own router promotes: an adopter only finishes calls
	}
	cb := r.opt.Callbacks
	now := r.now()
	cctx, cancel := r.cmdCtx()
	defer cancel()
	if err := cb.Recover(cctx, now); err != nil {
		r.log.Warn("callback recovery", zap.Error(err))
	}
	due, err := cb.Promote(cctx, now)
	if err != nil {
		r.log.Warn("callback promotion", zap.Error(err))
		return
	}
	for _, d := range due {
		t, ok := r.Config().Topic(d.Topic)
		if !ok {
			r.log.Error("callback for a topic no longer configured", zap.String("callback", d.ID), zap.String("queue", d.Topic))
			continue
		}
		// Agent first or customer first, the callback waits its turn in
		// the queue: the operator it reserves paces the dialling.
		offers, err := r.opt.ACD.Enqueue(cctx, Waiting{
			CallID: cbPrefix + d.ID, Topic: t.ID, Skill: t.Skill, Priority: d.Priority, Arrival: d.QueueTime,
			// No application: the entry has no channel yet, and whichever
			// instance frees an operator for it makes the attempt.
			Language: d.Language, CallerNumber: d.Number, IVRPath: "callback",
		}, now)
		if err != nil && !errors.Is(err, ErrAlreadyQueued) {
			r.log.Error("callback could not join its queue", zap.String("callback", d.ID), zap.Error(err))
			continue
		}
		if err := cb.MarkQueued(cctx, d.ID, now); err != nil {
			r.log.Warn("callback queued, not marked", zap.String("callback", d.ID), zap.Error(err))
		}
		r.log.Info("callback joined its queue", zap.String("callback", d.ID), zap.String("queue", t.ID), zap.Time("queue_time", d.QueueTime))
		r.deliver(offers, time.Time{})
	}
}

// ErrAlreadyQueued is what the ACD returns (wrapped) when a callback is
// already in its queue; promotion treats it as done.
var ErrAlreadyQueued = errors.New("router: already queued")

// queueCalledBack turns an answered customer-first callback into a waiting
// caller at its original place in line; the call gives turn (the operator
// the callback's entry reserved) back once it is queued, so that operator
// is offered the citizen next unless someone more urgent waits.
func (r *Router) queueCalledBack(ctx context.Context, ev pbx.Event, d DueCallback, turn Offer) {
	ev.Channel.CallerNumber = d.Number
	c := newCall(r, ev)
	c.lang = d.Language
	c.calledBack, c.turn = &d, &turn
	c.rec.IVRPath = "callback"
	r.launch(ctx, c, "")
}
