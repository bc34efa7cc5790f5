package router

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/records"
)

// Transfers of a citizen an operator is talking to, asked for from the
// operator's desktop. A request reaches the call's goroutine through its
// inbox, becomes the machine's evTransferRequest, and the machine's answer
// (cmdTransferReply) goes back to the requester; the call goroutine never
// waits for the requester.

// ErrNoCall: the operator is not in a conversation (the web layer answers
// 409).
var ErrNoCall = errors.New("router: operator not in a conversation")

// ErrTransferRefused: the call cannot be transferred now (a transfer is
// already in progress, no consultation to complete or cancel, the service
// has not answered yet, the topic is closed); the call stays as it was.
var ErrTransferRefused = errors.New("router: transfer refused")

// ErrUnknownTarget: no such service in the config's directory, or no such
// topic.
var ErrUnknownTarget = errors.New("router: unknown transfer target")

// defaultTransferWait bounds a request whose context has no deadline.
const defaultTransferWait = 10 * time.Second

// argServiceLeg marks a leg dialled to an outside service for a transfer;
// its channel id is <call id><svcSep><n>.
const (
	argServiceLeg = "service-leg"
	svcSep        = "-svc-"
)

// isServiceLeg tells a transfer's leg to an outside service from a
// citizen: a restarted router hangs such a leg up rather than adopt it
// as a caller (the transfer is not resumed).
func isServiceLeg(channelID string) bool { return strings.Contains(channelID, svcSep) }

// xferMsg is one transfer request on its way to the call.
type xferMsg struct {
	op     xferOp
	agent  string
	target string     // service id (blind, consult) or topic id
	reply  chan error // buffered: the call never blocks on it
}

// TransferToService hands the citizen agentID talks to to the outside
// service serviceID (blind): the operator is released into wrap-up, the
// citizen hears music while the service's number (from the config) rings
// through the trunk, and is bridged with it on answer. If it does not
// answer the citizen hears the apology and goes back to the head of their
// queue at their original queue time.
func (r *Router) TransferToService(ctx context.Context, agentID, serviceID string) error {
	if _, ok := r.Config().Service(serviceID); !ok {
		return fmt.Errorf("router: transfer by operator %s to service %q: %w", agentID, serviceID, ErrUnknownTarget)
	}
	return r.transferRequest(ctx, xferBlind, agentID, serviceID)
}

// TransferToTopic puts the citizen agentID talks to in topicID's queue at
// their original queue time; the operator goes to wrap-up. An unknown
// topic, the current one or a closed centre is refused and the call stays
// as it was.
func (r *Router) TransferToTopic(ctx context.Context, agentID, topicID string) error {
	if _, ok := r.Config().Topic(topicID); !ok {
		return fmt.Errorf("router: transfer by operator %s to topic %q: %w", agentID, topicID, ErrUnknownTarget)
	}
	return r.transferRequest(ctx, xferTopic, agentID, topicID)
}

// ConsultService starts an attended transfer: the citizen waits on hold
// (music, out of the operator's bridge) while serviceID is dialled and
// bridged with the operator once it answers.
func (r *Router) ConsultService(ctx context.Context, agentID, serviceID string) error {
	if _, ok := r.Config().Service(serviceID); !ok {
		return fmt.Errorf("router: consultation by operator %s with service %q: %w", agentID, serviceID, ErrUnknownTarget)
	}
	return r.transferRequest(ctx, xferConsult, agentID, serviceID)
}

// CompleteConsult joins the citizen with the consulted service (which
// must have answered) and releases the operator into wrap-up.
func (r *Router) CompleteConsult(ctx context.Context, agentID string) error {
	return r.transferRequest(ctx, xferComplete, agentID, "")
}

// CancelConsult hangs the consulted service up and gives the operator the
// citizen back.
func (r *Router) CancelConsult(ctx context.Context, agentID string) error {
	return r.transferRequest(ctx, xferCancel, agentID, "")
}

// transferRequest finds the call agentID is in (Redis holds the operator's
// conversation), posts the request to it and waits for its answer.
func (r *Router) transferRequest(ctx context.Context, op xferOp, agentID, target string) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, defaultTransferWait)
		defer cancel()
	}
	onCall, err := r.opt.ACD.OnCall(ctx)
	if err != nil {
		return fmt.Errorf("router: %s by operator %s: finding their call: %w", op, agentID, err)
	}
	callID := onCall[agentID]
	r.mu.Lock()
	c := r.calls[callID]
	r.mu.Unlock()
	if callID == "" || c == nil {
		return fmt.Errorf("router: %s by operator %s: %w", op, agentID, ErrNoCall)
	}
	x := &xferMsg{op: op, agent: agentID, target: target, reply: make(chan error, 1)}
	if !c.inbox.post(msg{xfer: x}) {
		return fmt.Errorf("router: %s by operator %s on call %s: %w", op, agentID, callID, ErrNoCall)
	}
	select {
	case err := <-x.reply:
		return err
	case <-ctx.Done():
		return fmt.Errorf("router: %s by operator %s on call %s: no answer from the call: %w", op, agentID, callID, ctx.Err())
	}
}

// answer sends the call's answer to the requester; never blocks.
func (x *xferMsg) answer(err error) {
	select {
	case x.reply <- err:
	default:
	}
}

// kind is the transfer's kind in the record.
func (o xferOp) kind() string {
	switch o {
	case xferConsult:
		return "attended"
	case xferTopic:
		return "topic"
	}
	return "blind"
}

// transferRequest checks the target and feeds the request to the machine;
// a request the machine did not answer (the call ended meanwhile) gets
// ErrNoCall.
func (c *call) transferRequest(x *xferMsg) {
	if c.offer == nil || c.offer.AgentID != x.agent {
		x.answer(fmt.Errorf("router: %s by operator %s on call %s: %w", x.op, x.agent, c.id, ErrNoCall))
		return
	}
	unknown := func() {
		x.answer(fmt.Errorf("router: %s by operator %s on call %s to %q: %w", x.op, x.agent, c.id, x.target, ErrUnknownTarget))
	}
	ev := evTransferRequest{Op: x.op}
	cfg := c.r.Config()
	switch x.op {
	case xferBlind, xferConsult:
		svc, ok := cfg.Service(x.target)
		if !ok {
			unknown()
			return
		}
		if c.m.phase == phaseBridged {
			c.svcNumber = svc.Number
		}
	case xferTopic:
		t, ok := cfg.Topic(x.target)
		switch {
		case !ok:
			unknown()
			return
		case c.topic != nil && t.ID == c.topic.ID:
			ev.Invalid = "the citizen is in topic " + t.ID + " already"
		case len(cfg.Hours.Weekly) > 0 && !cfg.Hours.IsOpen(c.r.now()):
			ev.Invalid = "topic " + t.ID + " is closed now"
		default:
			c.xferTopic = t.ID
			if c.r.opt.Callbacks != nil && c.r.opt.Policy != nil {
				ev.Policy = c.r.opt.Policy(t.ID)
			}
		}
	}
	c.xferReq = x
	c.feed(ev)
	if c.xferReq != nil {
		c.xferReq = nil
		x.answer(fmt.Errorf("router: %s by operator %s on call %s: %w", x.op, x.agent, c.id, ErrNoCall))
	}
}

// transferReply answers the request being fed.
func (c *call) transferReply(refused string) {
	x := c.xferReq
	c.xferReq = nil
	if x == nil {
		return
	}
	log := c.log.With(zap.String("agent", x.agent), zap.String("transfer", x.op.String()), zap.String("target", x.target))
	if refused != "" {
		log.Info("transfer refused", zap.String("why", refused))
		x.answer(fmt.Errorf("router: %s by operator %s on call %s: %s: %w", x.op, x.agent, c.id, refused, ErrTransferRefused))
		return
	}
	switch x.op {
	case xferBlind, xferConsult, xferTopic:
		t := &records.Transfer{Kind: x.op.kind(), To: x.target, Agent: x.agent, At: c.r.now()}
		if x.op != xferTopic {
			t.Number = c.svcNumber
		}
		c.xfer = t
	}
	log.Info("transfer accepted")
	x.answer(nil)
}

// releaseOperator ends the operator's part of the call after a transfer;
// the citizen stays in the application.
func (c *call) releaseOperator() {
	if c.offer == nil {
		return
	}
	if c.legID != "" {
		leg := c.legID
		c.r.dropLeg(leg)
		c.legID = ""
		c.r.hangupQuietly(c.ctx, leg, "normal")
	}
	c.log.Info("operator released after a transfer", zap.String("agent", c.offer.AgentID))
	c.operatorTurnOver()
	c.offer = nil
	c.inBridge = [2]bool{}
}

// holdCitizen takes the citizen out of the conversation's bridge onto
// music on hold, for a consultation.
func (c *call) holdCitizen() {
	c.stopRecording()
	c.r.destroyBridge(c.log, c.bridgeID)
	c.bridgeID = ""
	c.inBridge = [2]bool{}
	c.startMOH()
}

// dialService dials the service's number through the trunk with the
// centre's caller ID; the number comes from the validated config.
func (c *call) dialService() callEvent {
	c.svcLegID = c.id + svcSep + c.r.uniq()
	req := citizenLeg(c.r, c.svcLegID, c.svcNumber, c.id)
	req.Args = []string{argServiceLeg, c.id}
	if err := c.r.dialLeg(c.inbox, req); err != nil {
		c.log.Warn("dialling the service failed", zap.String("number", c.svcNumber), zap.Error(err))
		c.svcLegID = ""
		return evServiceDialed{}
	}
	c.log.Info("dialling an outside service", zap.String("number", c.svcNumber), zap.String("leg", c.svcLegID))
	return evServiceDialed{OK: true}
}

// bridgeService joins the service's leg with the operator (a consult) or
// with the citizen; a consult's bridge is replaced by the citizen's.
func (c *call) bridgeService(withOperator bool) callEvent {
	c.r.destroyBridge(c.log, c.svcBridge)
	other, suffix := c.id, "-svc"
	if withOperator {
		other, suffix = c.legID, "-consult"
	}
	c.svcBridge = bridgePrefix + c.id + suffix
	if c.svcLegID == "" || other == "" {
		return evServiceBridged{}
	}
	if err := c.r.bridgeLegs(c.svcBridge, other, c.svcLegID); err != nil {
		c.log.Error("bridging the service", zap.Bool("with_operator", withOperator), zap.Error(err))
		return evServiceBridged{}
	}
	if withOperator {
		c.log.Info("the service answered the operator's consultation")
	} else {
		c.log.Info("citizen bridged with the outside service", zap.String("number", c.svcNumber))
	}
	return evServiceBridged{OK: true}
}

// endService hangs the service's leg up and destroys its bridge.
func (c *call) endService() {
	if c.svcLegID != "" {
		leg := c.svcLegID
		c.r.dropLeg(leg)
		c.svcLegID = ""
		c.r.hangupQuietly(c.ctx, leg, "normal")
	}
	c.r.destroyBridge(c.log, c.svcBridge)
	c.svcBridge = ""
}

// setTopic moves the call to the topic a transfer asked for; its priority
// keeps the caller's own part.
func (c *call) setTopic() {
	t, ok := c.r.Config().Topic(c.xferTopic)
	if !ok {
		return
	}
	if c.topic != nil {
		c.prio += t.Priority - c.topic.Priority
	} else {
		c.prio = t.Priority
	}
	c.topic = t
	c.rec.Topic = t.ID
	c.log = c.r.log.With(zap.String("call_id", c.id), zap.String("queue", t.ID))
	c.log.Info("transferred to another topic; the original queue time is kept", zap.Time("queue_time", c.rec.EnqueuedAt))
}

// transferDone adds the transfer in progress to the record.
func (c *call) transferDone(outcome string) {
	if c.xfer == nil {
		return
	}
	t := *c.xfer
	c.xfer = nil
	t.Outcome = outcome
	c.rec.Transfers = append(c.rec.Transfers, t)
	c.log.Info("transfer settled", zap.String("agent", t.Agent), zap.String("kind", t.Kind), zap.String("to", t.To), zap.String("outcome", outcome))
}
