package router

import (
	"context"
	"errors"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/pbx"
)

// Several hotline instances serve one Asterisk, each with its own Stasis
// application. The dialplan's StasisBroadcast() offers a new channel to all
// of them and the first claim wins; the queues, operators and callbacks are
// shared in Redis, so the instance that frees an operator may claim them
// for a caller another instance holds: that offer is forwarded (Peers).
// Whatever acts on a caller's channel is done by the router of the
// application holding it, and only that router repairs its calls in Redis.

// claim answers a CallBroadcast: a draining router lets the others (or,
// when none claims in time, the dialplan's fallback) have the call.
func (r *Router) claim(ev pbx.Event) {
	r.mu.Lock()
	draining := r.draining
	r.mu.Unlock()
	if draining || r.opt.Adopter {
		return
	}
	r.spawn(func() {
		ctx, cancel := r.cmdCtx()
		defer cancel()
		err := r.opt.PBX.Claim(ctx, ev.ChannelID)
		switch {
		case err == nil:
			r.log.Debug("claimed a broadcast call", zap.String("call_id", ev.ChannelID))
		case errors.Is(err, pbx.ErrConflict), errors.Is(err, pbx.ErrNotFound):
			// Another instance won it, or the broadcast ended: not ours.
		default:
			r.log.Warn("claiming a broadcast call", zap.String("call_id", ev.ChannelID), zap.Error(err))
		}
	})
}

// Offer delivers an offer another instance forwarded (Peers) to the call
// it is for. Before the first re-sync (a survivor's router that has just
// taken an application over) it waits for the re-sync that adopts the
// caller.
func (r *Router) Offer(o Offer) {
	r.mu.Lock()
	if !r.synced.Load() {
		if len(r.early) < maxEarlyOffers {
			r.early = append(r.early, o)
		}
		r.mu.Unlock()
		return
	}
	r.mu.Unlock()
	r.deliver([]Offer{o}, o.FreedAt)
}

// maxEarlyOffers bounds the offers kept for the first re-sync; one beyond
// waits out its lease.
const maxEarlyOffers = 1000

// markSynced notes that the re-sync adopted what the application held and
// delivers the offers forwarded meanwhile.
func (r *Router) markSynced() {
	r.mu.Lock()
	r.synced.Store(true)
	early := r.early
	r.early = nil
	r.mu.Unlock()
	for _, o := range early {
		r.deliver([]Offer{o}, o.FreedAt)
	}
}

// ErrNoPeer is what Peers.Forward returns (wrapped) when no process runs
// the application: its instance died and no survivor has taken it over
// yet.
var ErrNoPeer = errors.New("router: no instance runs the application")

// forwardFor is how long an offer for a caller of an application nobody
// runs is forwarded again, while a survivor takes the application over
// (its lease, then half a lease of checks): well inside the offer's
// reservation lease.
const forwardFor = 10 * time.Second

// App is the Stasis application this router serves.
func (r *Router) App() string { return r.opt.App }

// elsewhere handles an offer for a caller this router has no call for,
// when that is not (yet) a caller gone: it reports true when the operator
// was rung for the instance holding the caller (or the offer forwarded to
// it), or the offer left to its lease.
func (r *Router) elsewhere(o Offer) bool {
	log := r.log.With(zap.String("call_id", o.CallID), zap.String("agent", o.AgentID))
	if !r.synced.Load() && !isCallbackTurn(o.CallID) {
		// The caller may be one the first re-sync is about to adopt.
		log.Info("offer for a caller not adopted yet: left to its lease")
		r.hangupOfferLeg(o)
		return true
	}
	if r.opt.Peers == nil {
		return false
	}
	ctx, cancel := r.cmdCtx()
	st, err := r.opt.ACD.Lookup(ctx, o.CallID)
	cancel()
	if err != nil {
		log.Warn("offer for a caller of unknown owner: left to its lease", zap.Error(err))
		r.hangupOfferLeg(o)
		return true
	}
	if r.holds(st) {
		return false
	}
	if o.LegID != "" {
		// Rung for this router, but another holds the caller now (a
		// takeover meanwhile): the leg's events would not reach it.
		log.Warn("offer rung for a caller another instance holds now: left to its lease", zap.String("app", st.App))
		r.hangupOfferLeg(o)
		return true
	}
	err = r.ringForPeer(st, o)
	switch {
	case errors.Is(err, ErrNoPeer):
		log.Info("offer for a caller of an application nobody runs now: trying again until a survivor takes it over", zap.String("app", st.App))
		r.spawn(func() { r.forwardLater(st, o) })
	case err != nil:
		log.Warn("forwarding an offer failed: left to its lease", zap.String("app", st.App), zap.Error(err))
	}
	return true
}

// ringForPeer rings o's operator for the router of st.App (dialForPeer),
// or forwards the offer as it is for that router to dial.
func (r *Router) ringForPeer(st CallerState, o Offer) error {
	if dialled, err := r.dialForPeer(st, o); dialled {
		return err
	}
	ctx, cancel := r.cmdCtx()
	defer cancel()
	return r.opt.Peers.Forward(ctx, st.App, o)
}

// hangupOfferLeg ends the leg another instance rang for an offer this
// router does not take on: it must not ring on with nobody to bridge it.
func (r *Router) hangupOfferLeg(o Offer) {
	if o.LegID != "" {
		r.hangupQuietly(context.Background(), o.LegID, "normal")
	}
}

// forwardCallbackTurn hands a callback's turn an adopter was offered to
// the instance running it, whose own router calls the citizen back.
func (r *Router) forwardCallbackTurn(o Offer) {
	ctx, cancel := r.cmdCtx()
	defer cancel()
	if err := r.opt.Peers.Forward(ctx, r.opt.HostApp, o); err != nil {
		r.log.Warn("handing a callback's turn to this instance's own router failed: left to its lease",
			zap.String("call_id", o.CallID), zap.String("agent", o.AgentID), zap.Error(err))
	}
}

// forwardLater tries ringForPeer every 100 ms until some process runs
// st.App, for forwardFor at most; after that the offer's lease is the net.
func (r *Router) forwardLater(st CallerState, o Offer) {
	r.mu.Lock()
	runCtx := r.runCtx
	r.mu.Unlock()
	if runCtx == nil {
		return
	}
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for deadline := r.now().Add(forwardFor); r.now().Before(deadline); {
		select {
		case <-runCtx.Done():
			return
		case <-t.C:
		}
		err := r.ringForPeer(st, o)
		if err == nil {
			return
		}
		if !errors.Is(err, ErrNoPeer) {
			r.log.Warn("forwarding an offer failed: left to its lease", zap.String("call_id", o.CallID), zap.String("app", st.App), zap.Error(err))
			return
		}
	}
	r.log.Warn("no instance took the application over in time: the offer is left to its lease", zap.String("call_id", o.CallID), zap.String("app", st.App))
}

// holds reports whether a call Redis knows is this router's to act on: its
// application's, or one of no application (written before instances had
// one each; a callback's turn no instance took yet).
func (r *Router) holds(st CallerState) bool {
	return st.App == "" || st.App == r.opt.App
}

// heldElsewhere reports whether Redis says another application's router
// holds callID: the reconciler leaves it alone.
func (r *Router) heldElsewhere(callID string) bool {
	ctx, cancel := r.cmdCtx()
	defer cancel()
	st, err := r.opt.ACD.Lookup(ctx, callID)
	return r.holdsElsewhere(st, err)
}

// holdsElsewhere reports whether Lookup's answer names another router as
// the call's holder; an error counts as held: the next pass looks again.
func (r *Router) holdsElsewhere(st CallerState, err error) bool {
	return err != nil || st.State != "" && !r.holds(st)
}

// Idle reports whether the router holds no call, callback attempt or leg.
func (r *Router) Idle() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls) == 0 && len(r.attempts) == 0 && len(r.legs) == 0
}
