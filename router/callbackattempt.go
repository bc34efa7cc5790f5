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

// cbAttempt executes one callback attempt's machine (attemptmachine.go):
// it owns the attempt's legs, timers and record, turns PBX events into the
// machine's events and carries out its commands with the shared building
// blocks (blocks.go).
type cbAttempt struct {
	r     *Router
	m     attemptMachine
	ctx   context.Context
	inbox *mailbox[msg]
	log   *zap.Logger

	id      string      // callback id
	entry   string      // the callback's queue entry, cb-<id>
	attempt string      // this attempt's call id, cb-<id>-a<n>
	offer   Offer       // the operator the callback's turn reserved
	cb      DueCallback // the callback, from Begin

	opLeg, citLeg string
	bridgeID      string
	whisper       string    // playback id of the whisper to the operator
	citizenUp     pbx.Event // customer first: the answered leg to hand over
	rec           records.Record

	timers [numAtTimers]*time.Timer
	gens   [numAtTimers]int
}

// startCallback runs an attempt for an offer of a callback's queue entry:
// agent first, or customer first when the topic's callbacks dial the
// citizen first.
func (r *Router) startCallback(ctx context.Context, o Offer) {
	agentFirst := r.opt.Policy == nil || !r.opt.Policy(o.Topic).CustomerFirst
	a := r.newAttempt(ctx, strings.TrimPrefix(o.CallID, cbPrefix))
	a.offer = o
	a.log = a.log.With(zap.String("agent", o.AgentID))
	// Registered, so the reconciler does not take the operator it holds
	// for one whose call is gone.
	r.mu.Lock()
	r.attempts[o.CallID] = a
	r.mu.Unlock()
	r.spawn(func() {
		defer func() {
			r.mu.Lock()
			delete(r.attempts, o.CallID)
			r.mu.Unlock()
		}()
		a.run(agentFirst)
	})
}

func (r *Router) newAttempt(ctx context.Context, id string) *cbAttempt {
	a := &cbAttempt{r: r, ctx: ctx, id: id, entry: cbPrefix + id, inbox: newMailbox[msg]()}
	// Each attempt is a call of its own in the records: cb-<id>-a<n>.
	a.attempt = a.entry + "-a" + r.uniq()
	a.log = r.log.With(zap.String("call_id", a.attempt), zap.String("callback", id))
	return a
}

func (a *cbAttempt) run(agentFirst bool) {
	r := a.r
	defer a.cleanUp()
	topic := a.offer.Topic
	a.log = a.log.With(zap.String("queue", topic))
	t, ok := r.Config().Topic(topic)
	times := atTimes{Ring: ringTimeout(t), Citizen: r.opt.CallbackRingTimeout, Renew: r.opt.CallbackRenewEvery,
		Lease: leaseAfter(a.offer, r.now())}
	if ok {
		times.WrapUp = t.WrapUp.D()
	}
	a.feed(aevStart{AgentFirst: agentFirst, Times: times})
	for a.m.phase != atDone {
		select {
		case <-a.ctx.Done():
			return // the attempt's lease and the store's recovery return it
		case <-a.timerC(atTimerRing):
			a.fire(atTimerRing)
		case <-a.timerC(atTimerCitizen):
			a.fire(atTimerCitizen)
		case <-a.timerC(atTimerRenew):
			a.fire(atTimerRenew)
		case <-a.inbox.C():
			for _, m := range a.inbox.take() {
				if m.offer != nil {
					o := *m.offer
					r.spawn(func() { r.deliver([]Offer{o}, o.FreedAt) })
					continue
				}
				if m.mon != nil {
					a.monitorRequest(m.mon)
					continue
				}
				a.handle(m.ev)
			}
		}
	}
}

// cleanUp forgets the attempt's legs and hands on offers that reached it
// too late.
func (a *cbAttempt) cleanUp() {
	r := a.r
	r.showCard(a.attempt, nil)
	for _, t := range a.timers {
		if t != nil {
			t.Stop()
		}
	}
	r.mu.Lock()
	for leg, owner := range r.legs {
		if owner == a.inbox {
			delete(r.legs, leg)
		}
	}
	r.mu.Unlock()
	for _, m := range a.inbox.close() {
		if m.offer != nil {
			o := *m.offer
			r.spawn(func() { r.deliver([]Offer{o}, o.FreedAt) })
		}
		if m.mon != nil {
			m.mon.answer(monReply{err: fmt.Errorf("router: monitor of operator %s on callback %s: the attempt ended: %w", m.mon.agent, a.attempt, ErrNoCall)})
		}
	}
}

func (a *cbAttempt) timerC(k atTimerKind) <-chan time.Time {
	if a.timers[k] == nil {
		return nil
	}
	return a.timers[k].C
}

func (a *cbAttempt) fire(k atTimerKind) {
	a.timers[k] = nil
	a.feed(aevTimer{Kind: k, Gen: a.gens[k]})
}

// feed runs ev through the machine and executes its commands; results are
// fed in turn, after the list that produced them.
func (a *cbAttempt) feed(ev atEvent) {
	queue := []atEvent{ev}
	for len(queue) > 0 {
		ev := queue[0]
		queue = queue[1:]
		for _, cmd := range a.m.Handle(ev, a.r.now()) {
			if res := a.exec(cmd); res != nil {
				queue = append(queue, res)
			}
		}
	}
	a.publishCard()
}

// handle turns a PBX event about one of the attempt's legs into the
// machine's event.
func (a *cbAttempt) handle(ev pbx.Event) {
	var leg atLeg
	switch {
	case ev.ChannelID == a.opLeg && a.opLeg != "":
		leg = legOperator
	case ev.ChannelID == a.citLeg && a.citLeg != "":
		leg = legCitizen
	default:
		return
	}
	switch ev.Type {
	case pbx.StasisStart:
		if leg == legCitizen {
			a.citizenUp = ev
		}
		a.feed(aevLegUp{Leg: leg})
	case pbx.PlaybackFinished:
		if leg == legOperator && ev.PlaybackID == a.whisper {
			a.feed(aevWhisperDone{})
		}
	case pbx.ChannelDestroyed, pbx.StasisEnd:
		a.feed(aevLegGone{Leg: leg, Cause: ev.Cause})
	}
}

func (a *cbAttempt) legID(l atLeg) string {
	if l == legOperator {
		return a.opLeg
	}
	return a.citLeg
}

func (a *cbAttempt) exec(cmd atCmd) atEvent {
	r := a.r
	switch c := cmd.(type) {
	case acBegin:
		return a.begin()
	case acDial:
		return a.dial(c.Leg)
	case acAnswered:
		cctx, cancel := r.cmdCtx()
		err := r.opt.ACD.Answered(cctx, a.offer, r.now())
		cancel()
		if err != nil {
			a.log.Error("callback reservation lost before the operator answered", zap.Error(err))
			return aevAnswered{}
		}
		a.rec.Agent = a.offer.AgentID
		return aevAnswered{OK: true}
	case acWhisper:
		a.whisper = r.nextID("whisper-" + a.id)
		cctx, cancel := r.cmdCtx()
		err := r.opt.PBX.Play(cctx, a.opLeg, a.whisper, r.opt.SoundPrefix+a.cb.Language+"/"+promptWhisper)
		cancel()
		if err != nil {
			a.log.Warn("whisper not played", zap.Error(err))
			return aevWhisperDone{}
		}
	case acBridge:
		a.bridgeID = bridgePrefix + a.entry
		if err := r.bridgeLegs(a.bridgeID, a.opLeg, a.citLeg); err != nil {
			a.log.Error("bridging the citizen and the operator", zap.Error(err))
			return aevBridged{}
		}
		a.log.Info("citizen reached; bridged with the operator")
		a.record()
		return aevBridged{OK: true}
	case acDestroyBridge:
		r.destroyBridge(a.log, a.bridgeID)
	case acHangup:
		r.hangupQuietly(a.ctx, a.legID(c.Leg), c.Reason)
	case acFinish:
		a.finish(c.Result, c.Cause)
	case acAbort:
		a.persist("abort", "callback attempt returned", func(ctx context.Context) error {
			return r.opt.Callbacks.Abort(ctx, a.id, a.attempt, c.Reason, r.now())
		})
		r.kickPromotion()
	case acGiveBack:
		r.deliver(r.giveBack(a.log, a.offer, c.Unreachable), time.Time{})
	case acReleaseEntry:
		// The entry leaves the queue (the store decides when the callback
		// is due again) and the operator is offered the next caller.
		var next []Offer
		a.persist("release", "releasing a callback offer", func(ctx context.Context) error {
			var err error
			_, next, err = r.opt.ACD.Abandon(ctx, a.offer.CallID, r.now())
			return err
		})
		r.deliver(next, time.Time{})
	case acEndOperator:
		// Per attempt: the callback's entry id is the same for every attempt.
		now := r.now()
		next := r.endOperatorTurn(a.log, "operator after a callback", a.attempt+"/ended", a.offer.AgentID, a.offer.CallID, c.Wrap, now)
		if c.Wrap > 0 {
			r.scheduleWrapUp(a.offer.AgentID, c.Wrap)
		} else {
			r.deliver(next, now)
		}
	case acRecord:
		a.rec.EndedAt = r.now()
		a.rec.Outcome, a.rec.EndedBy, a.rec.HangupCause = c.Outcome, c.EndedBy, c.Cause
		if !c.AnsweredAt.IsZero() {
			a.rec.AnsweredAt = c.AnsweredAt
			a.rec.Wait = c.AnsweredAt.Sub(a.cb.QueueTime)
		}
		r.writeRecord(a.log, a.rec)
	case acExtendOffer:
		cctx, cancel := r.cmdCtx()
		o, next, err := extendOffer(cctx, r.opt.ACD, a.offer, r.now())
		cancel()
		if err != nil {
			a.log.Warn("the operator's reservation was not renewed while the citizen's phone rang", zap.Error(err))
			return aevLeaseRenewed{}
		}
		a.offer = o
		return aevLeaseRenewed{OK: true, Next: next}
	case acHandOver:
		r.dropLeg(a.citLeg)
		r.queueCalledBack(a.ctx, a.citizenUp, a.cb, a.offer)
	case acRenew:
		cctx, cancel := r.cmdCtx()
		if err := r.opt.Callbacks.Extend(cctx, a.id, a.attempt, r.now()); err != nil {
			a.log.Warn("callback lease renewal", zap.Error(err))
		}
		cancel()
	case acTimer:
		if t := a.timers[c.Kind]; t != nil {
			t.Stop()
		}
		a.timers[c.Kind], a.gens[c.Kind] = time.NewTimer(c.After), c.Gen
	case acStopTimer:
		if t := a.timers[c.Kind]; t != nil {
			t.Stop()
			a.timers[c.Kind] = nil
		}
	}
	return nil
}

// record records a called-back conversation of a recording topic, as an
// inbound one is, and tells the citizen so (the notice plays to their leg
// alone, over the conversation: they did not pass the queue where an
// inbound caller hears it). Destroying the bridge stores the recording.
func (a *cbAttempt) record() {
	r := a.r
	t, ok := r.Config().Topic(a.offer.Topic)
	if !ok || !t.Record {
		return
	}
	if r.recordBridge(a.log, a.bridgeID, a.attempt, &a.rec.Recording) == "" {
		return
	}
	cctx, cancel := r.cmdCtx()
	defer cancel()
	if err := r.opt.PBX.Play(cctx, a.citLeg, r.nextID("notice-"+a.attempt), r.opt.SoundPrefix+a.cb.Language+"/"+promptRecordingNotice); err != nil {
		a.log.Warn("recording notice", zap.Error(err))
	}
}

// begin asks the store for the callback: it refuses one another holder is
// attempting or that was closed meanwhile.
func (a *cbAttempt) begin() atEvent {
	r := a.r
	now := r.now()
	cctx, cancel := r.cmdCtx()
	cb, err := r.opt.Callbacks.Begin(cctx, a.id, a.attempt, a.offer.AgentID, now)
	cancel()
	if err != nil {
		a.log.Warn("callback attempt refused", zap.Error(err))
		return aevBegun{}
	}
	a.cb = cb
	a.rec = records.Record{
		CallID: a.attempt, Topic: a.offer.Topic, Arrival: now, IVRPath: "callback", Callback: a.id,
		CallerNumber: cb.Number, Language: cb.Language, EnqueuedAt: cb.QueueTime, OfferedAt: now, Offers: 1,
	}
	return aevBegun{OK: true}
}

func (a *cbAttempt) dial(l atLeg) atEvent {
	r := a.r
	if l == legOperator {
		a.opLeg = a.entry + legSep + r.uniq()
		err := r.dialLeg(a.inbox, pbx.OriginateRequest{
			ChannelID: a.opLeg, Endpoint: a.offer.Endpoint, Timeout: a.m.times.Ring,
			CallerID: fmt.Sprintf("%q <%s>", "Callback: "+topicName(r, a.offer.Topic)+" ["+a.cb.Language+"]", a.cb.Number),
			Args:     []string{argOperatorLeg, a.entry},
		})
		if err != nil {
			a.log.Warn("ringing the operator for a callback failed", zap.Error(err))
			return aevDialed{Leg: l, Unavailable: errors.Is(err, pbx.ErrUnavailable)}
		}
		return aevDialed{Leg: l, OK: true}
	}
	a.citLeg = a.entry + "-c" + r.uniq()
	if err := r.dialLeg(a.inbox, citizenLeg(r, a.citLeg, a.cb.Number, a.entry)); err != nil {
		a.log.Warn("dialling the citizen failed", zap.Error(err))
		return aevDialed{Leg: l}
	}
	a.log.Info("calling the citizen back", logmask.Number("number", a.cb.Number))
	return aevDialed{Leg: l, OK: true}
}

// finish records the attempt's result in the store, retried until it
// holds: a reached citizen must not be called again.
func (a *cbAttempt) finish(result string, cause int) {
	r := a.r
	if result != "reached" {
		a.log.Info("citizen not reached", zap.String("result", result), zap.Int("cause", cause))
	}
	if r.opt.Metrics != nil {
		r.opt.Metrics.attempt(result)
	}
	a.persist("finish", "callback attempt result", func(ctx context.Context) error {
		return r.opt.Callbacks.Finish(ctx, a.id, a.offer.Topic, CallbackAttempt{CallID: a.attempt, AgentID: a.offer.AgentID, Result: result, Cause: cause}, r.now())
	})
}

// persist runs one of the attempt's store steps until it holds, under an
// operation id of this attempt.
func (a *cbAttempt) persist(step, what string, f func(ctx context.Context) error) {
	if err := a.r.persist(a.log, a.attempt+"/"+step, what, f); err != nil {
		a.log.Error(what, zap.Error(err))
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

// promptWhisper is what the operator hears before the citizen is dialled.
const promptWhisper = "whisper_callback"
