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

// Application arguments the dialplan passes with Stasis(hotline,<arg>).
const (
	featureLogin   = "agent-login"  // *11
	featureLogout  = "agent-logout" // *12
	featurePause   = "agent-pause"  // *13
	featureReady   = "agent-ready"  // *14: back from pause
	argOperatorLeg = "operator-leg" // an operator leg hotline originated
)

// ErrUnknownAgent: no operator with that id or endpoint in the config.
var ErrUnknownAgent = errors.New("router: unknown operator")

// endpointOf turns a channel name such as "PJSIP/1001-00000006" into the
// endpoint "PJSIP/1001".
func endpointOf(channelName string) string {
	if i := strings.LastIndexByte(channelName, '-'); i > 0 {
		return channelName[:i]
	}
	return channelName
}

func operatorByEndpoint(cfg *config.Config, endpoint string) (config.Operator, bool) {
	for _, op := range cfg.Operators {
		if strings.EqualFold(op.Endpoint, endpoint) {
			return op, true
		}
	}
	return config.Operator{}, false
}

// featureCode handles an operator dialling *11/*12/*13/*14: the operator is
// identified by the phone the call comes from, never by anything they key.
func (r *Router) featureCode(ctx context.Context, kind string, ev pbx.Event, inbox *mailbox[msg]) {
	log := r.log.With(zap.String("channel", ev.ChannelID), zap.String("feature", kind))
	op, ok := operatorByEndpoint(r.Config(), endpointOf(ev.Channel.Name))
	cctx, cancel := r.cmdCtx()
	defer cancel()
	_ = r.opt.PBX.Answer(cctx, ev.ChannelID)
	// Asterisk's core sounds carry these confirmations in every language pack.
	confirm := "sound:beeperr"
	if !ok {
		log.Warn("feature code from a phone that is not an operator", zap.String("endpoint", endpointOf(ev.Channel.Name)))
	} else {
		var err error
		switch kind {
		case featureLogin:
			err = r.Login(ctx, op.ID)
			confirm = "sound:agent-loginok"
		case featureLogout:
			err = r.Logout(ctx, op.ID)
			confirm = "sound:agent-loggedoff"
		case featurePause:
			err = r.Pause(ctx, op.ID, "break")
			confirm = "sound:beep"
		case featureReady:
			err = r.Ready(ctx, op.ID)
			confirm = "sound:beep"
		}
		if err != nil {
			log.Warn("feature code refused", zap.String("agent", op.ID), zap.Error(err))
			confirm = "sound:beeperr"
		} else {
			log.Info("feature code", zap.String("agent", op.ID))
		}
	}
	// Play the confirmation to its end, then hang up: a hang-up right
	// after the play request aborts the playback on Asterisk, and the
	// operator would hear nothing.
	id := r.nextID("fc-" + ev.ChannelID)
	if err := r.opt.PBX.Play(cctx, ev.ChannelID, id, confirm); err != nil {
		log.Warn("feature code confirmation", zap.Error(err))
	} else {
		r.awaitPlayback(ctx, inbox, id)
	}
	r.hangupQuietly(ctx, ev.ChannelID, "normal")
}

// confirmationLimit bounds the wait for a confirmation tone that never
// reports its end (a lost event): the channel is hung up regardless.
const confirmationLimit = 10 * time.Second

// awaitPlayback waits until playback id finishes or its channel goes away.
func (r *Router) awaitPlayback(ctx context.Context, inbox *mailbox[msg], id string) {
	limit := time.NewTimer(confirmationLimit)
	defer limit.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-limit.C:
			return
		case <-inbox.C():
			for _, m := range inbox.take() {
				switch m.ev.Type {
				case pbx.PlaybackFinished:
					if m.ev.PlaybackID == id {
						return
					}
				case pbx.StasisEnd, pbx.ChannelDestroyed, pbx.ChannelHangupRequest:
					return
				}
			}
		}
	}
}

func (r *Router) knownAgent(agentID string) error {
	if _, ok := r.Config().OperatorByID(agentID); !ok {
		return fmt.Errorf("%w: %q", ErrUnknownAgent, agentID)
	}
	return nil
}

// Login makes an operator ready and offers them a waiting caller at once.
func (r *Router) Login(ctx context.Context, agentID string) error {
	return r.ready(ctx, agentID, "login")
}

// Ready ends a pause (or wrap-up) and offers the operator a waiting caller.
func (r *Router) Ready(ctx context.Context, agentID string) error {
	return r.ready(ctx, agentID, "ready")
}

func (r *Router) ready(_ context.Context, agentID, what string) error {
	if err := r.knownAgent(agentID); err != nil {
		return err
	}
	at := r.now()
	ctx, cancel := r.cmdCtx()
	offers, err := r.opt.Agents.Ready(ctx, agentID, at)
	cancel()
	if err != nil {
		return fmt.Errorf("%s %s: %w", what, agentID, err)
	}
	r.deliver(offers, at)
	return nil
}

// Logout takes an operator offline.
func (r *Router) Logout(_ context.Context, agentID string) error {
	if err := r.knownAgent(agentID); err != nil {
		return err
	}
	ctx, cancel := r.cmdCtx()
	defer cancel()
	if err := r.opt.Agents.Logout(ctx, agentID, r.now()); err != nil {
		return fmt.Errorf("logout %s: %w", agentID, err)
	}
	return nil
}

// Pause takes an operator out of routing with a reason.
func (r *Router) Pause(_ context.Context, agentID, reason string) error {
	if err := r.knownAgent(agentID); err != nil {
		return err
	}
	ctx, cancel := r.cmdCtx()
	defer cancel()
	if err := r.opt.Agents.Pause(ctx, agentID, reason, r.now()); err != nil {
		return fmt.Errorf("pause %s: %w", agentID, err)
	}
	return nil
}
