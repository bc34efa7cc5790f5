package router

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/pbx"
	"github.com/hotline-acd/hotline/records"
)

// The steps every kind of call is built of — a leg dialled, two legs
// bridged, a reservation given back, an operator's turn ended, a record
// written — shared by the inbound call (call.go), the callback attempts
// (callback.go) and the outage read-back (outage.go), so each is done one
// way everywhere.

// dialLeg registers legID's events for inbox and originates it; a refused
// originate is unregistered again.
func (r *Router) dialLeg(inbox *mailbox[msg], req pbx.OriginateRequest) error {
	if inbox != nil {
		r.addLeg(req.ChannelID, inbox)
	}
	cctx, cancel := r.cmdCtx()
	_, err := r.opt.PBX.Originate(cctx, req)
	cancel()
	if err != nil {
		if inbox != nil {
			r.dropLeg(req.ChannelID)
		}
		return fmt.Errorf("originate %s: %w", req.ChannelID, err)
	}
	return nil
}

// bridgeLegs joins legs in a mixing bridge. dtmf_events keeps the
// caller's digits reaching hotline: a plain mixing bridge of two SIP legs
// goes native RTP and swallows them.
func (r *Router) bridgeLegs(bridgeID string, legs ...string) error {
	cctx, cancel := r.cmdCtx()
	defer cancel()
	if err := r.opt.PBX.CreateBridge(cctx, bridgeID, "mixing,dtmf_events"); err != nil {
		return fmt.Errorf("create bridge %s: %w", bridgeID, err)
	}
	if err := r.opt.PBX.AddToBridge(cctx, bridgeID, legs...); err != nil {
		return fmt.Errorf("add to bridge %s: %w", bridgeID, err)
	}
	return nil
}

// destroyBridge tears a bridge down; one already gone is no error.
func (r *Router) destroyBridge(log *zap.Logger, bridgeID string) {
	if bridgeID == "" {
		return
	}
	cctx, cancel := r.cmdCtx()
	defer cancel()
	if err := r.opt.PBX.DestroyBridge(cctx, bridgeID); err != nil && !errors.Is(err, pbx.ErrNotFound) {
		log.Warn("destroy bridge", zap.String("bridge", bridgeID), zap.Error(err))
	}
}

// giveBack returns a reservation the operator did not take: the entry
// keeps its place, the operator is made ready (or offline when
// unreachable, or paused after repeated no-answers), and the callers that
// freed are returned to be delivered.
func (r *Router) giveBack(log *zap.Logger, o Offer, unreachable bool) []Offer {
	cctx, cancel := r.cmdCtx()
	defer cancel()
	var next []Offer
	var err error
	paused := false
	if unreachable {
		next, err = r.opt.ACD.Unreachable(cctx, o, r.now())
	} else {
		paused, next, err = r.opt.ACD.NoAnswer(cctx, o, r.now())
	}
	if err != nil {
		log.Error("releasing an offer", zap.String("agent", o.AgentID), zap.Error(err))
	}
	if paused {
		log.Warn("operator paused after repeated no-answers", zap.String("agent", o.AgentID))
	}
	return next
}

// endOperatorTurn ends an operator's part in callID in Redis (into wrap-up
// for wrap > 0), under operation op. Retried until it holds: an operator
// left on_call after a Redis restart would never be offered a caller again.
func (r *Router) endOperatorTurn(log *zap.Logger, what, op, agent, callID string, wrap time.Duration, now time.Time) []Offer {
	var next []Offer
	if err := r.persist(log, op, what, func(ctx context.Context) error {
		var err error
		next, err = r.opt.ACD.Ended(ctx, agent, callID, wrap, now)
		return err
	}); err != nil {
		log.Error(what, zap.Error(err))
	}
	return next
}

// writeRecord writes a call's one record, retried until it holds (the
// store keeps one per call id whoever writes it).
func (r *Router) writeRecord(log *zap.Logger, rec records.Record) {
	if err := r.persist(log, rec.CallID+"/record", "call record", func(ctx context.Context) error {
		_, err := r.opt.Records.Append(ctx, rec)
		return err
	}); err != nil {
		log.Error("call record lost", zap.Error(err))
	}
	if r.opt.OnRecord != nil {
		r.opt.OnRecord(rec)
	}
}
