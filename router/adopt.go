package router

import (
	"context"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/pbx"
	"github.com/hotline-acd/hotline/records"
)

// legSep separates a call id from the operator-leg sequence in the channel
// ids hotline chooses for operator legs ("<call id>-op-<n>"), and bridgePrefix
// names a call's bridge ("br-<call id>"). Both are deterministic so that a
// restarted router can find a conversation's parts again.
const (
	legSep       = "-op-"
	bridgePrefix = "br-"
)

// owningCall returns the call id an operator leg was originated for.
func owningCall(legID string) (string, bool) {
	i := strings.LastIndex(legID, legSep)
	if i <= 0 {
		return "", false
	}
	return legID[:i], true
}

// adoption is what a restarted router knows of a call it did not start.
type adoption struct {
	state CallerState
	legID string // the operator leg still in the application, if any
}

// adopt takes over the channels the PBX holds in the application that no
// call of this router owns: after a restart (or a failover to this
// instance) callers must not be lost. Redis says where each one stood:
// waiting or ringing callers go back to waiting, conversations go on, and
// callers who were still in the menu hear it again. Operator legs and
// feature-code calls without an owner are hung up.
// It returns the callback legs it hung up: their attempts are given back
// once the operators they held are freed (cutAttempts).
func (r *Router) adopt(ctx context.Context, unknown []pbx.Channel) (cut []string) {
	legs := map[string]pbx.Channel{}
	var citizens []pbx.Channel
	for _, ch := range unknown {
		if isCallback(ch.ID) && !r.queuedCalledBack(ch) || strings.HasPrefix(ch.ID, "dbsync") || isServiceLeg(ch.ID) || isMonitorLeg(ch.ID) {
			// A callback attempt or an AstDB read cut off by the restart:
			// a leg left ringing would let the citizen be dialled twice at
			// once. The attempt is given back to the schedule now rather
			// than when its lease runs out (minutes).
			r.spawn(func() { r.hangupQuietly(ctx, ch.ID, "normal") })
			if isCallback(ch.ID) {
				cut = append(cut, ch.ID)
			}
			continue
		}
		if _, ok := owningCall(ch.ID); ok {
			legs[ch.ID] = ch
			continue
		}
		if _, isOperator := operatorByEndpoint(r.Config(), endpointOf(ch.Name)); isOperator {
			// A feature-code call: one still ringing is just arriving (its
			// StasisStart follows the re-sync); an answered one was cut off
			// by the restart, and the operator can dial again.
			if ch.State == "Up" {
				r.spawn(func() { r.hangupQuietly(ctx, ch.ID, "normal") })
			}
			continue
		}
		citizens = append(citizens, ch)
	}
	var released []string
	for _, ch := range citizens {
		cctx, cancel := r.cmdCtx()
		st, err := r.opt.ACD.Lookup(cctx, ch.ID)
		cancel()
		if err != nil {
			r.log.Error("cannot adopt a call: Redis lookup failed", zap.String("call_id", ch.ID), zap.Error(err))
			continue
		}
		a := &adoption{state: st}
		for id := range legs {
			if owner, _ := owningCall(id); owner == ch.ID && st.State == "connected" {
				a.legID = id
				delete(legs, id)
			}
		}
		r.log.Info("adopting a call already in the application", zap.String("call_id", ch.ID),
			zap.String("state", st.State), zap.String("queue", st.Topic), zap.String("agent", st.AgentID))
		// The channel's creation time is the citizen's real arrival: a
		// record must not start at the restart.
		arrived := r.now()
		if !ch.Created.IsZero() && ch.Created.Before(arrived) {
			arrived = ch.Created
		}
		c := newCall(r, pbx.Event{Type: pbx.StasisStart, ChannelID: ch.ID, Channel: ch, Time: arrived})
		c.adopted = a
		r.launch(ctx, c, a.legID)
		if st.State == "offered" {
			released = append(released, ch.ID)
		}
	}
	// Legs left over were ringing for an offer given back below, or
	// belong to calls that ended: nobody will bridge them. They are hung
	// up first, so an offer made again never rings beside its old leg.
	for id := range legs {
		r.hangupQuietly(ctx, id, "normal")
	}
	// An offer in flight at the crash goes back now, not after its lease,
	// and the caller keeps its place (the adopted call above takes the
	// next offer).
	for _, id := range released {
		var next []Offer
		log := r.log.With(zap.String("call_id", id))
		if err := r.persist(log, id+"/release-"+r.nextID("adopt"), "offer in flight given back", func(ctx context.Context) error {
			var err error
			next, err = r.opt.ACD.Release(ctx, id, r.now())
			return err
		}); err != nil {
			log.Warn("offer in flight left to its lease", zap.Error(err))
			continue
		}
		log.Info("offer in flight at the restart given back")
		r.deliver(next, time.Time{})
	}
	return cut
}

// freeOrphanedOperators ends, in Redis, conversations that no call of this
// router owns any more: the call vanished while no router was watching (a
// crash, or a hang-up during the restart), so its operator would otherwise
// stay on_call for ever. One active router per application is assumed
// (Asterisk gives the application to the newest WebSocket); calls Redis
// says another application holds are that router's to repair.
func (r *Router) freeOrphanedOperators() {
	cctx, cancel := r.cmdCtx()
	busy, err := r.opt.ACD.OnCall(cctx)
	cancel()
	if err != nil {
		r.log.Warn("cannot list operators on a call", zap.Error(err))
		return
	}
	for agent, callID := range busy {
		if r.owns(callID) {
			continue
		}
		// What Redis knows of the conversation: whether another router
		// holds it, and, read before Ended forgets it, for the record.
		cctx, cancel := r.cmdCtx()
		st, err := r.opt.ACD.Lookup(cctx, callID)
		cancel()
		if r.holdsElsewhere(st, err) || r.attemptInFlight(callID) {
			continue
		}
		now := r.now()
		cctx, cancel = r.cmdCtx()
		offers, err := r.opt.ACD.Ended(cctx, agent, callID, 0, now)
		cancel()
		if err != nil {
			r.log.Warn("freeing an operator whose call is gone", zap.String("agent", agent), zap.String("call_id", callID), zap.Error(err))
			continue
		}
		r.log.Info("operator freed: their call ended while hotline was away", zap.String("agent", agent), zap.String("call_id", callID))
		// The call's own record was never written: write what is known.
		rec := records.Record{CallID: callID, Agent: agent, EndedAt: now, Outcome: string(OutcomeLost), EndedBy: "unknown",
			Note: "conversation ended while hotline was away; hang-up time unknown"}
		if st.AgentID == agent {
			rec.CallerNumber, rec.Topic, rec.Language, rec.IVRPath = st.Number, st.Topic, st.Language, st.IVRPath
			rec.Arrival, rec.EnqueuedAt, rec.AnsweredAt = st.QueueTime, st.QueueTime, st.AnsweredAt
			if !st.QueueTime.IsZero() && !st.AnsweredAt.IsZero() {
				rec.Wait = st.AnsweredAt.Sub(st.QueueTime)
			}
		}
		cctx, cancel = r.cmdCtx()
		if _, err := r.opt.Records.Append(cctx, rec); err != nil {
			r.log.Error("call record lost", zap.String("call_id", callID), zap.Error(err))
		}
		cancel()
		r.deliver(offers, now)
	}
}

// queuedCalledBack reports whether a callback channel is a citizen who
// answered a customer-first callback and waits (or talks) as a caller of
// its own: Redis holds it under the channel's id. Such a caller is adopted
// like any other; its callback is already closed as reached.
func (r *Router) queuedCalledBack(ch pbx.Channel) bool {
	if ch.State != "Up" {
		return false
	}
	cctx, cancel := r.cmdCtx()
	defer cancel()
	st, err := r.opt.ACD.Lookup(cctx, ch.ID)
	return err == nil && (st.State == "waiting" || st.State == "offered" || st.State == "connected")
}

// resume continues an adopted call from where Redis says it stood: it
// restores what the call holds and tells the machine.
func (c *call) resume() callEvent {
	a := c.adopted
	// Redis knows the language the caller chose in the menu; the
	// channel's is only the endpoint's default.
	switch {
	case c.cfg.HasLanguage(a.state.Language):
		c.lang = a.state.Language
	case c.cfg.HasLanguage(c.ch.Language):
		c.lang = c.ch.Language
	}
	c.rec.Language = c.lang
	c.rec.IVRPath = a.state.IVRPath
	queuedAt := a.state.QueueTime
	if queuedAt.IsZero() {
		queuedAt = c.r.now()
	}
	t, ok := c.cfg.Topic(a.state.Topic)
	switch {
	case a.state.State == "connected" && ok:
		c.topic = t
		c.rec.Topic = t.ID
		c.log = c.log.With(zap.String("queue", t.ID), zap.String("agent", a.state.AgentID))
		c.offer = &Offer{CallID: c.id, AgentID: a.state.AgentID, Topic: t.ID}
		c.rec.Agent = a.state.AgentID
		c.rec.EnqueuedAt = queuedAt
		// The drop window and the handle time count from the real answer,
		// or every conversation ending soon after a restart would count
		// as dropped and be called back.
		c.rec.AnsweredAt = a.state.AnsweredAt
		if c.rec.AnsweredAt.IsZero() {
			c.rec.AnsweredAt = c.r.now()
		}
		c.bridgeID = bridgePrefix + c.id
		ev := evAdopted{Kind: adoptConversation, Policy: c.policy(), EnqueuedAt: queuedAt, AnsweredAt: c.rec.AnsweredAt}
		if a.legID == "" {
			c.log.Info("adopted conversation lost its operator during the restart")
			ev.Kind = adoptLostLeg
			return ev
		}
		c.legID = a.legID
		c.ownLeg(a.legID)
		c.log.Info("adopted a conversation in progress")
		return ev
	case (a.state.State == "waiting" || a.state.State == "offered") && ok:
		// An offer in flight is given back by adopt, which hung up its
		// ringing leg; the next offer reaches this call.
		c.topic = t
		c.rec.Topic = t.ID
		c.rec.EnqueuedAt = queuedAt
		c.log = c.log.With(zap.String("queue", t.ID))
		c.log.Info("adopted a waiting caller")
		return evAdopted{Kind: adoptWaiting, Policy: c.policy(), EnqueuedAt: queuedAt,
			Announce: t.AnnounceEvery.D(), MaxWait: c.maxWaitFor(t)}
	default:
		// Still in the menu (or its topic is gone from the config): start
		// the menu again so the caller is not left in silence.
		c.adopted = nil
		return evAdopted{Kind: adoptMenu}
	}
}

// attemptInFlight reports whether callID is a callback's entry whose
// attempt holds its lease: the instance making it (any instance may take
// a callback's turn) frees its operator, or the cut-off attempt is given
// back (cutAttempts), or its lease runs out. An error counts as in flight.
func (r *Router) attemptInFlight(callID string) bool {
	if !isCallbackTurn(callID) || r.opt.Callbacks == nil {
		return false
	}
	ctx, cancel := r.cmdCtx()
	defer cancel()
	holder, _, err := r.opt.Callbacks.Holder(ctx, strings.TrimPrefix(callID, cbPrefix))
	return err != nil || holder != ""
}

// cutAttempts gives back the attempts of the callback legs a re-sync
// hung up, with the operators they held.
func (r *Router) cutAttempts(legs []string, present []pbx.Channel) {
	for _, leg := range legs {
		r.spawn(func() { r.abortCutAttempt(leg, present) })
	}
}

// isAttemptID tells an agent-first callback attempt's id (its card's call
// id: <entry>-a<uniq>) from a call's or a leg's.
func isAttemptID(id string) bool {
	rest, ok := strings.CutPrefix(id, cbPrefix)
	_, tail, dash := strings.Cut(rest, "-")
	return ok && dash && strings.HasPrefix(tail, "a")
}

// abortVanishedAttempt gives back a callback attempt of this router's
// application that no router runs any more and whose legs are all gone:
// they ended while its instance was dead, so the re-sync had none to cut,
// and the card it left on the board is its only trace. Without this its
// operator would wait for the attempt's lease (minutes). The callback must
// still be held by that very attempt, and no channel of its entry up.
func (r *Router) abortVanishedAttempt(attemptID string) {
	if r.opt.Callbacks == nil {
		return
	}
	id := callbackOf(attemptID)
	ctx, cancel := r.cmdCtx()
	defer cancel()
	holder, agent, err := r.opt.Callbacks.Holder(ctx, id)
	if err != nil || holder != attemptID {
		return
	}
	chans, err := r.opt.PBX.Channels(ctx)
	if err != nil {
		return
	}
	for _, ch := range chans {
		if strings.HasPrefix(ch.ID, cbPrefix+id+"-") {
			return
		}
	}
	r.log.Info("a callback attempt of this application lost all its legs while no router ran it", zap.String("call_id", attemptID), zap.String("callback", id))
	r.giveBackAttempt(ctx, id, holder, agent)
}

// callbackOf is the callback id in a callback attempt's or leg's id
// (cb-<id>-…).
func callbackOf(id string) string {
	cb, _, _ := strings.Cut(strings.TrimPrefix(id, cbPrefix), "-")
	return cb
}

// abortCutAttempt gives back the attempt a callback leg cut off by a
// restart belonged to, unless its holder's channel is still up (then it
// is an attempt going on). The abort names the holder, so it never ends
// an attempt begun since.
func (r *Router) abortCutAttempt(legID string, present []pbx.Channel) {
	if r.opt.Callbacks == nil {
		return
	}
	id := callbackOf(legID)
	ctx, cancel := r.cmdCtx()
	defer cancel()
	holder, agent, err := r.opt.Callbacks.Holder(ctx, id)
	if err != nil || holder == "" {
		return
	}
	for _, ch := range present {
		if ch.ID == holder {
			return
		}
	}
	r.giveBackAttempt(ctx, id, holder, agent)
}

// giveBackAttempt frees the operator of callback id's attempt holder, one
// no attempt of this router runs, and gives the attempt back to the
// schedule.
func (r *Router) giveBackAttempt(ctx context.Context, id, holder, agent string) {
	r.mu.Lock()
	_, ours := r.attempts[cbPrefix+id]
	r.mu.Unlock()
	if ours {
		return
	}
	if agent != "" {
		// The operator first: ending their turn on the callback's entry
		// must not take the place the abort gives back.
		offers, err := r.opt.ACD.Ended(ctx, agent, cbPrefix+id, 0, r.now())
		if err == nil {
			r.log.Info("operator freed: their callback attempt was cut off by a restart", zap.String("agent", agent), zap.String("callback", id))
			defer r.deliver(offers, r.now())
		}
	}
	if err := r.opt.Callbacks.Abort(ctx, id, holder, "interrupted", r.now()); err != nil {
		r.log.Warn("giving back a callback attempt cut off by a restart", zap.String("callback", id), zap.String("call_id", holder), zap.Error(err))
		return
	}
	r.log.Info("callback attempt cut off by a restart given back to the schedule", zap.String("callback", id), zap.String("call_id", holder))
}
