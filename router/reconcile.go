package router

import (
	"context"
	"time"

	"go.uber.org/zap"

	"github.com/hotline-acd/hotline/pbx"
	"github.com/hotline-acd/hotline/records"
)

// Reconciliation compares what Redis holds with what the PBX holds, and
// repairs Redis (the PBX is the truth about channels). It runs after every
// re-sync with the PBX: at start-up and after every reconnect.
//
//   - A caller Redis holds a place for (waiting or offered) whose channel is
//     not in the application any more left while no router watched: the
//     entry leaves the queue (an operator it held is freed), the call gets
//     its record, and the callback it is owed.
//   - An offer whose ringing leg is gone (the router that rang it died) is
//     given back at once instead of after its lease (adopt).
//   - An operator on a call this router does not own is freed with a
//     record of what is known (freeOrphanedOperators).

// reconcile compares Redis with the channels in the application now and
// repairs it: the periodic and the after-Redis-outage run (a re-sync runs
// the same steps on the snapshot it brings).
func (r *Router) reconcile(ctx context.Context) {
	cctx, cancel := r.cmdCtx()
	chans, err := r.opt.PBX.Channels(cctx)
	cancel()
	if err != nil {
		r.log.Warn("reconcile: cannot list the PBX's channels", zap.Error(err))
		return
	}
	live := make(map[string]bool, len(chans))
	for _, ch := range chans {
		live[ch.ID] = true
	}
	r.reconcileHeld(ctx, live)
	r.freeOrphanedOperators()
	r.writeOwed(live)
	// A re-sync whose channel list failed left synced unset: this pass
	// has done what that one would have (the calls it missed are adopted
	// by the next re-sync; until then their offers wait out their lease).
	r.markSynced()
}

// OwedRecords is the outbox of call records owed (records.Stream.Owed):
// calls whose operator's turn ended in Redis but whose record was not
// written. A Recorder that has it lets the reconciler write the records a
// router that died owed.
type OwedRecords interface {
	Owed(ctx context.Context, before time.Time, offset, n int64) ([]records.Record, error)
}

// ArrivalRecords is the part of the record stream that notes a call's
// arrival in the outbox (records.Stream.Arrived), so that a call which
// ends while no router watches it still gets its record.
type ArrivalRecords interface {
	Arrived(ctx context.Context, callID, number string, at time.Time) error
}

// noteArrival puts a call that has just arrived in the record outbox, in
// the background and retried until it holds: its own record empties it.
func (r *Router) noteArrival(log *zap.Logger, rec records.Record) {
	a, ok := r.opt.Records.(ArrivalRecords)
	if !ok {
		return
	}
	r.spawn(func() {
		_ = r.persist(log, rec.CallID+"/arrived", "call arrival", func(ctx context.Context) error {
			return a.Arrived(ctx, rec.CallID, rec.CallerNumber, rec.Arrival)
		})
	})
}

// owedBatch is how many owed records one read takes. Every live call has
// an arrival in the outbox, so at peak hundreds of waiting callers come
// before a vanished one; a pass reads on past them, owedPages reads at
// most (a call of this router's own costs nothing to skip).
const (
	owedBatch = 1000
	owedPages = 20
)

// owedAge is how long a record may be owed before the reconciler writes
// it: a live router writes its own within milliseconds of the turn's end.
const owedAge = 30 * time.Second

// writeOwed writes the records owed for calls no router holds any more
// (the channel is gone and no call of this router owns it). A call that
// goes on after its operator's turn (transferred, requeued after an
// operator's line dropped) is still live, and is left to write its own.
func (r *Router) writeOwed(live map[string]bool) {
	o, ok := r.opt.Records.(OwedRecords)
	if !ok {
		return
	}
	before := r.now().Add(-owedAge)
	// A written record leaves the outbox: the next read starts past the
	// ones skipped only.
	var skipped int64
	for range owedPages {
		cctx, cancel := r.cmdCtx()
		owed, err := o.Owed(cctx, before, skipped, owedBatch)
		cancel()
		if err != nil {
			r.log.Warn("reconcile: cannot read the records owed", zap.Error(err))
			return
		}
		for _, rec := range owed {
			if r.owns(rec.CallID) || live[rec.CallID] || r.heldElsewhere(rec.CallID) || r.upElsewhere(rec.CallID) {
				skipped++
				continue
			}
			log := r.log.With(zap.String("call_id", rec.CallID), zap.String("agent", rec.Agent), zap.String("queue", rec.Topic))
			log.Info("reconcile: the call's record was owed by a router that stopped; written from Redis")
			r.writeRecord(log, rec)
		}
		if int64(len(owed)) < owedBatch {
			return
		}
	}
}

// upElsewhere reports whether the PBX still has the channel (another
// instance's call, in its menu); an error counts as up: the next pass
// looks again.
func (r *Router) upElsewhere(callID string) bool {
	ctx, cancel := r.cmdCtx()
	defer cancel()
	up, err := r.opt.PBX.ChannelExists(ctx, callID)
	return err != nil || up
}

// owns reports whether a call or a callback attempt of this router holds id.
func (r *Router) owns(id string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[id] != nil || r.attempts[id] != nil
}

// reconcileHeld removes the ghosts of callers who hung up while no router
// watched. present holds the channels in the application now.
func (r *Router) reconcileHeld(ctx context.Context, present map[string]bool) {
	cctx, cancel := r.cmdCtx()
	ids, err := r.opt.ACD.Held(cctx)
	cancel()
	if err != nil {
		r.log.Warn("reconcile: cannot list the callers Redis holds", zap.Error(err))
		return
	}
	for _, id := range ids {
		if isCallback(id) {
			continue // a callback's turn in the queue has no channel of its own
		}
		if r.owns(id) || present[id] {
			continue
		}
		r.ghost(ctx, id)
	}
}

// ghost ends, in Redis, a caller whose channel is gone: out of the queue,
// one record, and a callback when their wait reached the topic's minimum.
// The hang-up happened while no router was watching, so its moment is not
// known: the wait is counted to now, and a caller is rather called back
// once too often than lost.
func (r *Router) ghost(ctx context.Context, id string) {
	log := r.log.With(zap.String("call_id", id))
	cctx, cancel := r.cmdCtx()
	st, err := r.opt.ACD.Lookup(cctx, id)
	cancel()
	if err != nil || (st.State != "waiting" && st.State != "offered") || !r.holds(st) {
		return
	}
	log = log.With(zap.String("queue", st.Topic))
	now := r.now()
	var next []Offer
	if err := r.persist(log, id+"/gone-"+r.uniq(), "ghost caller out of the queue", func(ctx context.Context) error {
		var err error
		_, next, err = r.opt.ACD.Abandon(ctx, id, now)
		return err
	}); err != nil {
		log.Error("reconcile: ghost caller left in Redis", zap.Error(err))
		return
	}
	wait := now.Sub(st.QueueTime)
	if st.QueueTime.IsZero() {
		wait = 0
	}
	c := &call{r: r, id: id, log: log, cfg: r.Config(), number: st.Number, lang: st.Language,
		ch: pbx.Channel{ID: id, CallerNumber: st.Number}}
	c.rec = records.Record{CallID: id, CallerNumber: st.Number, Language: st.Language, Topic: st.Topic,
		IVRPath: st.IVRPath, EnqueuedAt: st.QueueTime, Arrival: st.QueueTime, Wait: wait,
		Note: "left while hotline was away; hang-up time unknown"}
	if t, ok := c.cfg.Topic(st.Topic); ok {
		c.topic = t
		if reason := abandonCallback(c.policy(), wait, 0); reason != "" {
			c.scheduleCallback(reason)
		}
	}
	log.Info("reconcile: caller left while hotline was away", zap.Duration("waited", wait), zap.String("callback", c.rec.Callback))
	c.finish(OutcomeAbandoned, "caller", 0)
	r.deliver(next, time.Time{})
}
