package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/config"
	"github.com/hotline-acd/hotline/pbx"
)

// The operator's leg of an offer is originated by the instance that
// reserved the operator. When the caller is held by another instance, it
// is originated into the holder's application: Asterisk then sends the
// leg's events to the holder alone, which takes the leg on when the offer
// (naming it) is forwarded, so only one router ever acts on a call.

// operatorEndpoint is the phone an offer rings: the offer's, else the
// operator's configured one ("" when neither is known).
func operatorEndpoint(cfg *config.Config, o Offer) string {
	if o.Endpoint != "" {
		return o.Endpoint
	}
	if op, ok := cfg.OperatorByID(o.AgentID); ok {
		return op.Endpoint
	}
	return ""
}

// ringTimeout is how long a topic's offers ring.
func ringTimeout(t *config.Topic) time.Duration {
	if t != nil && t.RingTimeout.D() > 0 {
		return t.RingTimeout.D()
	}
	return 15 * time.Second
}

// operatorLeg is the originate of an operator's leg for callID, in topic
// t, into the originating router's own application.
func operatorLeg(legID, endpoint string, t *config.Topic, lang, number string) pbx.OriginateRequest {
	callID, _ := owningCall(legID)
	return pbx.OriginateRequest{
		ChannelID: legID,
		Endpoint:  endpoint,
		CallerID:  operatorCallerID(t, lang, number),
		Args:      []string{argOperatorLeg, callID},
		Timeout:   ringTimeout(t),
		Variables: map[string]string{"HOTLINE_CALL_ID": callID, "HOTLINE_TOPIC": t.ID},
	}
}

// operatorCallerID is what the operator's phone shows: the topic and the
// language as the name, the citizen's checked number as the number.
func operatorCallerID(t *config.Topic, lang, number string) string {
	name := t.Name
	if name == "" {
		name = t.ID
	}
	name = strings.Map(func(r rune) rune {
		if r == '"' || r == '<' || r == '>' || r == '\\' || r < ' ' {
			return -1
		}
		return r
	}, name)
	name = fmt.Sprintf("%s [%s]", name, lang)
	if number == "" {
		number = "anonymous"
	}
	return fmt.Sprintf("%q <%s>", name, number)
}

// observeHandover measures the hand-over of an offer made because its
// operator came free: from then until their phone is dialled.
func (r *Router) observeHandover(o Offer, now time.Time) {
	if o.FreedAt.IsZero() {
		return
	}
	if r.opt.OnHandover != nil {
		r.opt.OnHandover(now.Sub(o.FreedAt))
	}
	if r.opt.Metrics != nil {
		r.opt.Metrics.Handover.Observe(now.Sub(o.FreedAt).Seconds())
	}
}

// originateFailed handles an operator leg's originate that failed, and
// reports whether the phone is unreachable (Asterisk refuses an
// unregistered phone at once: only then is the endpoint asked, to tell an
// unregistered phone from an unknown one in the log). Any other failure
// may have gone through all the same (a timeout): the operator is given
// back, so the leg must not ring on.
func (r *Router) originateFailed(log *zap.Logger, req pbx.OriginateRequest, err error) (unreachable bool) {
	if errors.Is(err, pbx.ErrUnavailable) {
		cctx, cancel := r.cmdCtx()
		state, serr := r.opt.PBX.EndpointState(cctx, req.Endpoint)
		cancel()
		log.Info("operator's phone is not reachable; skipping", zap.String("endpoint", req.Endpoint), zap.String("state", state), zap.NamedError("state_error", serr), zap.Error(err))
		return true
	}
	log.Warn("originate to operator failed", zap.Error(err))
	r.hangupQuietly(context.Background(), req.ChannelID, "normal")
	return false
}

// offerFailed gives back an offer whose operator did not take it (or
// could not be rung): the caller keeps its place, the operator is made
// ready (offline when unreachable), and whoever that frees is matched.
func (r *Router) offerFailed(log *zap.Logger, o Offer, unreachable bool) {
	next := r.giveBack(log, o, unreachable)
	if r.opt.Metrics != nil {
		r.opt.Metrics.OffersFailed.Inc()
	}
	r.deliver(next, time.Time{})
}

// dialForPeer rings the operator o reserved for a caller the router of
// st.App holds: the leg is originated into that application, then the
// offer naming it is forwarded there. It reports false when the offer is
// to be forwarded as it is (the holder dials): the topic or the phone is
// not known here, e.g. right after a reload only the holder has seen.
// A refused originate is settled here, as the holder would have: the
// caller keeps its place, the operator is released (or set offline when
// unreachable) and whoever that frees is matched again.
func (r *Router) dialForPeer(st CallerState, o Offer) (bool, error) {
	log := r.log.With(zap.String("call_id", o.CallID), zap.String("agent", o.AgentID), zap.String("queue", st.Topic))
	cfg := r.Config()
	t, ok := cfg.Topic(st.Topic)
	endpoint := operatorEndpoint(cfg, o)
	if !ok || endpoint == "" {
		return false, nil
	}
	// Asked first so that a phone is not rung for an application nobody
	// runs (its instance died): the offer then waits for a survivor.
	cctx, cancel := r.cmdCtx()
	err := r.opt.Peers.Runs(cctx, st.App)
	cancel()
	if err != nil {
		return true, fmt.Errorf("router: offer of call %s to %s: %w", o.CallID, o.AgentID, err)
	}
	req := operatorLeg(o.CallID+legSep+r.uniq(), endpoint, t, st.Language, st.Number)
	req.App = st.App
	r.observeHandover(o, r.now())
	cctx, cancel = r.cmdCtx()
	_, err = r.opt.PBX.Originate(cctx, req)
	cancel()
	if err != nil {
		r.offerFailed(log, o, r.originateFailed(log, req, err))
		return true, nil
	}
	o.LegID = req.ChannelID
	log.Info("ringing operator for a caller another instance holds", zap.String("app", st.App), zap.String("endpoint", endpoint), zap.String("leg", o.LegID))
	cctx, cancel = r.cmdCtx()
	err = r.opt.Peers.Forward(cctx, st.App, o)
	cancel()
	if err != nil {
		// Nobody will take the leg on: it must not ring on. The offer is
		// rung again once a survivor runs the application (errors.Is
		// ErrNoPeer), or left to its lease.
		r.hangupQuietly(context.Background(), o.LegID, "normal")
		return true, fmt.Errorf("router: offer of call %s to %s: %w", o.CallID, o.AgentID, err)
	}
	return true, nil
}
