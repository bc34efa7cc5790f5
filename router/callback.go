package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/internal/logmask"
	"github.com/hotline-acd/hotline/pbx"
	"github.com/hotline-acd/hotline/records"
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

func (r *Router) rememberLastCall(agentID string, req CallbackRequest) {
	r.mu.Lock()
	r.lastCall[agentID] = req
	r.mu.Unlock()
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
		if r.opt.Policy != nil && r.opt.Policy(t.ID).CustomerFirst {
			r.startCustomerFirst(d)
			continue
		}
		offers, err := r.opt.ACD.Enqueue(cctx, Waiting{
			CallID: cbPrefix + d.ID, Topic: t.ID, Skill: t.Skill, Priority: d.Priority, Arrival: d.QueueTime,
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

// cbAttempt is one attempt to reach a citizen owed a callback, agent first:
// ring the reserved operator, whisper "callback, topic X" to them, then
// dial the citizen with the hotline's number, and bridge the two.
type cbAttempt struct {
	r     *Router
	offer Offer
	id    string // callback id
	inbox *mailbox[msg]
	log   *zap.Logger

	cb       DueCallback
	attempt  string // this attempt's call id, cb-<id>-a<n>
	opLeg    string
	citLeg   string
	bridgeID string
	phase    cbPhase
	began    bool
	rec      records.Record
	whisper  string // playback id of the whisper to the operator
}

type cbPhase int

const (
	cbRingOperator cbPhase = iota
	cbWhisper
	cbDialCitizen
	cbTalking
	cbDone
)

// startCallback runs an attempt for an offer of a callback's queue entry.
func (r *Router) startCallback(ctx context.Context, o Offer) {
	a := &cbAttempt{r: r, offer: o, id: strings.TrimPrefix(o.CallID, cbPrefix), inbox: newMailbox[msg]()}
	a.log = r.log.With(zap.String("call_id", o.CallID), zap.String("agent", o.AgentID), zap.String("queue", o.Topic))
	// Registered, so the reconciler does not take the operator it holds
	// for one whose call is gone.
	r.mu.Lock()
	r.attempts[o.CallID] = true
	r.mu.Unlock()
	r.spawn(func() {
		defer func() {
			r.mu.Lock()
			delete(r.attempts, o.CallID)
			r.mu.Unlock()
		}()
		a.run(ctx)
	})
}

func (a *cbAttempt) run(ctx context.Context) {
	r := a.r
	defer func() {
		r.mu.Lock()
		for leg, owner := range r.legs {
			if owner == a.inbox {
				delete(r.legs, leg)
			}
		}
		r.mu.Unlock()
		a.inbox.close()
	}()
	now := r.now()
	// Each attempt is a call of its own in the records: cb-<id>-a<n>.
	attempt := a.offer.CallID + "-a" + r.uniq()
	a.rec = records.Record{CallID: attempt, Topic: a.offer.Topic, Arrival: now, OfferedAt: now, IVRPath: "callback", Offers: 1, Callback: a.id}
	cctx, cancel := r.cmdCtx()
	a.attempt = attempt
	cb, err := r.opt.Callbacks.Begin(cctx, a.id, attempt, a.offer.AgentID, now)
	cancel()
	if err != nil {
		// Another holder is attempting it (or it was closed meanwhile):
		// give the operator back and take the entry out of the queue.
		a.log.Warn("callback attempt refused", zap.Error(err))
		a.release()
		return
	}
	a.began = true
	a.cb = cb
	a.rec.CallerNumber = cb.Number
	a.rec.Language = cb.Language
	a.rec.EnqueuedAt = cb.QueueTime
	a.log = a.log.With(zap.String("callback", a.id))

	ring := 15 * time.Second
	if t, ok := r.Config().Topic(a.offer.Topic); ok && t.RingTimeout.D() > 0 {
		ring = t.RingTimeout.D()
	}
	a.opLeg = a.offer.CallID + legSep + r.uniq()
	err = r.dialLeg(a.inbox, pbx.OriginateRequest{
		ChannelID: a.opLeg, Endpoint: a.offer.Endpoint, Timeout: ring,
		CallerID: fmt.Sprintf("%q <%s>", "Callback: "+topicName(r, a.offer.Topic)+" ["+cb.Language+"]", cb.Number),
		Args:     []string{argOperatorLeg, a.offer.CallID},
	})
	if err != nil {
		a.log.Warn("ringing the operator for a callback failed", zap.Error(err))
		a.operatorMissed(errors.Is(err, pbx.ErrUnavailable))
		return
	}
	ringTimer := time.NewTimer(ring + 5*time.Second)
	defer ringTimer.Stop()
	// The attempt's lease outlives a ring; a 30-minute conversation renews it.
	renew := time.NewTicker(r.opt.CallbackRenewEvery)
	defer renew.Stop()
	var citTimer <-chan time.Time
	for a.phase != cbDone {
		select {
		case <-ctx.Done():
			return // the lease and the store's recovery return it
		case <-renew.C:
			cctx, cancel := r.cmdCtx()
			if err := r.opt.Callbacks.Extend(cctx, a.id, a.attempt, r.now()); err != nil {
				a.log.Warn("callback lease renewal", zap.Error(err))
			}
			cancel()
		case <-ringTimer.C:
			if a.phase == cbRingOperator {
				r.hangupQuietly(ctx, a.opLeg, "no_answer")
			}
		case <-citTimer:
			if a.phase == cbDialCitizen {
				r.hangupQuietly(ctx, a.citLeg, "no_answer")
			}
		case <-a.inbox.C():
			for _, m := range a.inbox.take() {
				if m.offer != nil {
					o := *m.offer
					r.spawn(func() { r.deliver([]Offer{o}, o.FreedAt) })
					continue
				}
				if t := a.handle(ctx, m.ev); t != nil {
					citTimer = t.C
				}
			}
		}
	}
}

// citizenLeg dials a citizen through the trunk with the hotline's own
// number as caller ID; the number was validated by the callbacks store.
func citizenLeg(r *Router, legID, number, owner string) pbx.OriginateRequest {
	cfg := r.Config()
	return pbx.OriginateRequest{
		ChannelID: legID, Endpoint: "PJSIP/" + number + "@" + r.opt.Trunk,
		CallerID: fmt.Sprintf("%q <%s>", cfg.Centre.Name, cfg.Centre.CallerID),
		Args:     []string{argCallbackLeg, owner}, Timeout: r.opt.CallbackRingTimeout,
	}
}

func topicName(r *Router, id string) string {
	if t, ok := r.Config().Topic(id); ok && t.Name != "" {
		return strings.Map(func(c rune) rune {
			if c == '"' || c == '<' || c == '>' || c == '\\' || c < ' ' {
				return -1
			}
			return c
		}, t.Name)
	}
	return id
}

func (a *cbAttempt) handle(ctx context.Context, ev pbx.Event) *time.Timer {
	r := a.r
	switch {
	case ev.ChannelID == a.opLeg:
		switch ev.Type {
		case pbx.StasisStart:
			if a.phase != cbRingOperator {
				return nil
			}
			cctx, cancel := r.cmdCtx()
			err := r.opt.ACD.Answered(cctx, a.offer, r.now())
			cancel()
			if err != nil {
				a.log.Error("callback reservation lost before the operator answered", zap.Error(err))
				r.hangupQuietly(ctx, a.opLeg, "normal")
				a.abort("reservation_lost")
				return nil
			}
			a.rec.Agent = a.offer.AgentID
			a.phase = cbWhisper
			a.whisper = r.nextID("whisper-" + a.id)
			cctx, cancel = r.cmdCtx()
			err = r.opt.PBX.Play(cctx, a.opLeg, a.whisper, r.opt.SoundPrefix+a.cb.Language+"/"+promptWhisper)
			cancel()
			if err != nil {
				return a.dialCitizen(ctx)
			}
		case pbx.PlaybackFinished:
			if a.phase == cbWhisper && ev.PlaybackID == a.whisper {
				return a.dialCitizen(ctx)
			}
		case pbx.ChannelDestroyed, pbx.StasisEnd:
			switch a.phase {
			case cbRingOperator:
				a.log.Info("operator did not take the callback", zap.String("reason", offerFailure(ev.Cause)))
				a.operatorMissed(false)
			case cbWhisper, cbDialCitizen:
				// The operator gave up before the citizen answered: not the
				// citizen's miss, so no attempt is counted. The queue entry is
				// ended with the operator before the callback is due again.
				if a.citLeg != "" {
					r.hangupQuietly(ctx, a.citLeg, "normal")
				}
				a.endOperator(0)
				a.abort("operator_left")
			case cbTalking:
				a.hangUpTalk(ctx, "operator", ev.Cause)
			}
		}
	case ev.ChannelID == a.citLeg && a.citLeg != "":
		switch ev.Type {
		case pbx.StasisStart:
			if a.phase != cbDialCitizen {
				return nil
			}
			a.bridge(ctx)
		case pbx.ChannelDestroyed, pbx.StasisEnd:
			switch a.phase {
			case cbDialCitizen:
				result := callbackResult(ev.Cause)
				a.log.Info("citizen not reached", zap.String("result", result), zap.Int("cause", ev.Cause))
				a.finish(result, ev.Cause)
				r.hangupQuietly(ctx, a.opLeg, "normal")
				a.rec.Outcome = "callback_" + result
				a.endOperator(0) // released at once, no wrap-up
			case cbTalking:
				a.hangUpTalk(ctx, "caller", ev.Cause)
			}
		}
	}
	return nil
}

// dialCitizen calls the citizen through the trunk with the hotline's own
// number as caller ID; the number was validated by the callbacks store.
func (a *cbAttempt) dialCitizen(ctx context.Context) *time.Timer {
	r := a.r
	a.phase = cbDialCitizen
	a.citLeg = a.offer.CallID + "-c" + r.uniq()
	err := r.dialLeg(a.inbox, citizenLeg(r, a.citLeg, a.cb.Number, a.offer.CallID))
	if err != nil {
		a.log.Warn("dialling the citizen failed", zap.Error(err))
		a.finish("failed", 0)
		r.hangupQuietly(ctx, a.opLeg, "normal")
		a.rec.Outcome = "callback_failed"
		a.endOperator(0)
		return nil
	}
	a.log.Info("calling the citizen back", logmask.Number("number", a.cb.Number))
	return time.NewTimer(r.opt.CallbackRingTimeout + 5*time.Second)
}

func (a *cbAttempt) bridge(ctx context.Context) {
	r := a.r
	a.bridgeID = bridgePrefix + a.offer.CallID
	if err := r.bridgeLegs(a.bridgeID, a.opLeg, a.citLeg); err != nil {
		a.log.Error("bridging the citizen and the operator", zap.Error(err))
	}
	a.phase = cbTalking
	a.rec.AnsweredAt = r.now()
	a.rec.Wait = a.rec.AnsweredAt.Sub(a.cb.QueueTime)
	a.finish("reached", 0)
	a.log.Info("citizen reached; bridged with the operator")
}

func (a *cbAttempt) hangUpTalk(ctx context.Context, by string, cause int) {
	r := a.r
	if by == "operator" {
		r.hangupQuietly(ctx, a.citLeg, "normal")
	} else {
		r.hangupQuietly(ctx, a.opLeg, "normal")
	}
	r.destroyBridge(a.log, a.bridgeID)
	a.rec.EndedBy = by
	a.rec.HangupCause = cause
	a.rec.Outcome = "callback_answered"
	wrap := time.Duration(0)
	if t, ok := r.Config().Topic(a.offer.Topic); ok {
		wrap = t.WrapUp.D()
	}
	a.endOperator(wrap)
}

// finish records the attempt's result in the store.
func (a *cbAttempt) finish(result string, cause int) {
	cctx, cancel := a.r.cmdCtx()
	defer cancel()
	if err := a.r.opt.Callbacks.Finish(cctx, a.id, a.offer.Topic, CallbackAttempt{CallID: a.attempt, AgentID: a.offer.AgentID, Result: result, Cause: cause}, a.r.now()); err != nil {
		a.log.Error("callback attempt not recorded", zap.String("result", result), zap.Error(err))
	}
}

func (a *cbAttempt) abort(reason string) {
	if !a.began {
		return
	}
	cctx, cancel := a.r.cmdCtx()
	defer cancel()
	if err := a.r.opt.Callbacks.Abort(cctx, a.id, a.attempt, reason, a.r.now()); err != nil {
		a.log.Error("callback attempt not returned", zap.Error(err))
	}
	a.r.kickPromotion()
}

// operatorMissed returns the queue entry to its place for the next
// operator (no attempt counted: the citizen was never dialled).
func (a *cbAttempt) operatorMissed(unreachable bool) {
	r := a.r
	next := r.giveBack(a.log, a.offer, unreachable)
	// The entry is back in its queue at its place; the store takes the
	// attempt back without counting it.
	a.abort("operator_no_answer")
	a.phase = cbDone
	r.deliver(next, time.Time{})
}

// release gives back an offer that cannot be attempted: the entry leaves
// the queue (the store decides when it is due again) and the operator is
// offered the next caller.
func (a *cbAttempt) release() {
	r := a.r
	cctx, cancel := r.cmdCtx()
	_, next, err := r.opt.ACD.Abandon(cctx, a.offer.CallID, r.now())
	cancel()
	if err != nil {
		a.log.Error("releasing a callback offer", zap.Error(err))
	}
	a.phase = cbDone
	r.deliver(next, time.Time{})
}

// endOperator ends the operator's part: wrap-up after a conversation, none
// after a failed attempt. The queue entry is deleted with the conversation.
func (a *cbAttempt) endOperator(wrap time.Duration) {
	r := a.r
	now := r.now()
	// Per attempt: the callback's entry id is the same for every attempt.
	next := r.endOperatorTurn(a.log, "operator after a callback", a.attempt+"/ended", a.offer.AgentID, a.offer.CallID, wrap, now)
	a.phase = cbDone
	a.rec.EndedAt = now
	if a.rec.Outcome == "" {
		a.rec.Outcome = "callback_interrupted"
	}
	r.writeRecord(a.log, a.rec)
	if wrap > 0 {
		r.scheduleWrapUp(a.offer.AgentID, wrap)
	} else {
		r.deliver(next, now)
	}
}

// promptWhisper is what the operator hears before the citizen is dialled.
const promptWhisper = "whisper_callback"

// startCustomerFirst makes a customer-first attempt: dial the citizen
// first; once they answer they greet a recording and wait in their topic's
// queue at their ORIGINAL queue time, like an inbound caller who never left.
func (r *Router) startCustomerFirst(d DueCallback) {
	r.mu.Lock()
	ctx := r.runCtx
	r.mu.Unlock()
	if ctx == nil || ctx.Err() != nil {
		return // the promotion lease returns it
	}
	attempt := cbPrefix + d.ID + "-a" + r.uniq()
	legID := cbPrefix + d.ID + "-c" + r.uniq()
	log := r.log.With(zap.String("call_id", legID), zap.String("callback", d.ID), zap.String("queue", d.Topic))
	inbox := newMailbox[msg]()
	r.addLeg(legID, inbox)
	r.spawn(func() {
		cb := r.opt.Callbacks
		cctx, cancel := r.cmdCtx()
		_, err := cb.Begin(cctx, d.ID, attempt, "", r.now())
		cancel()
		if err != nil {
			r.dropLeg(legID)
			log.Warn("customer-first attempt refused", zap.Error(err))
			return
		}
		finish := func(result string, cause int) {
			cctx, cancel := r.cmdCtx()
			defer cancel()
			if err := cb.Finish(cctx, d.ID, d.Topic, CallbackAttempt{CallID: attempt, Result: result, Cause: cause}, r.now()); err != nil {
				log.Error("callback attempt not recorded", zap.Error(err))
			}
		}
		cctx, cancel = r.cmdCtx()
		_, err = r.opt.PBX.Originate(cctx, citizenLeg(r, legID, d.Number, cbPrefix+d.ID))
		cancel()
		if err != nil {
			r.dropLeg(legID)
			log.Warn("dialling the citizen failed", zap.Error(err))
			finish("failed", 0)
			return
		}
		timeout := time.NewTimer(r.opt.CallbackRingTimeout + 5*time.Second)
		defer timeout.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-timeout.C:
				r.hangupQuietly(ctx, legID, "no_answer")
			case <-inbox.C():
				for _, m := range inbox.take() {
					switch m.ev.Type {
					case pbx.StasisStart:
						finish("reached", 0)
						r.dropLeg(legID)
						r.queueCalledBack(ctx, m.ev, d)
						return
					case pbx.ChannelDestroyed:
						r.dropLeg(legID)
						log.Info("citizen not reached", zap.String("result", callbackResult(m.ev.Cause)))
						finish(callbackResult(m.ev.Cause), m.ev.Cause)
						return
					}
				}
			}
		}
	})
}

// queueCalledBack turns an answered customer-first callback into a waiting
// caller at its original place in line.
func (r *Router) queueCalledBack(ctx context.Context, ev pbx.Event, d DueCallback) {
	ev.Channel.CallerNumber = d.Number
	c := newCall(r, ev)
	c.lang = d.Language
	c.calledBack = &d
	c.rec.IVRPath = "callback"
	r.launch(ctx, c, "")
}
